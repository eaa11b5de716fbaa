"""A local certificate authority and server certificate for the router's WAMPS endpoint.

For plants without a PKI: one CA (its key stays in the state directory), one server certificate
for the names and addresses clients use. Clients verify the router against ``ca.pem``.
"""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY = "ca.pem", "ca.key", "server.pem", "server.key"


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "plclink local"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path, data: bytes, private=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _subject_names(hosts):
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def generate(out_dir: str, hosts=("localhost", "127.0.0.1"), days: int = 825) -> dict:
    """Write ca.pem/ca.key and server.pem/server.key; the paths by name."""
    os.makedirs(out_dir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(_name("plclink local CA")).issuer_name(_name("plclink local CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (x509.CertificateBuilder()
                   .subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
                   .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=days))
                   .add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    paths = {name: os.path.join(out_dir, name) for name in (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)}
    _write(paths[CA_CERT], ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths[CA_KEY], _key_pem(ca_key), private=True)
    _write(paths[SERVER_CERT], server_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths[SERVER_KEY], _key_pem(server_key), private=True)
    return paths


def ensure(out_dir: str, hosts=("localhost", "127.0.0.1")) -> dict:
    """Generate once; later calls reuse what is there (clients keep trusting the same CA)."""
    paths = {name: os.path.join(out_dir, name) for name in (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)}
    if all(os.path.exists(path) for path in paths.values()):
        return paths
    return generate(out_dir, hosts)
