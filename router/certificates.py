"""A local certificate authority and server certificate for the router's WAMPS endpoint.

For plants without a PKI: one CA (its key stays in the directory where it was made: it is never
mounted into a container or copied to a client), one server certificate for the names and
addresses clients use. Clients verify the router against ``ca.pem``.
"""
import datetime
import ipaddress
import os
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY = "ca.pem", "ca.key", "server.pem", "server.key"
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
VALID_DAYS = 825
RENEW_DAYS = 30


class CertificateError(ValueError):
    """Certificates that cannot be issued here; the message says why and what to do."""


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


_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def checked_host(text: str) -> str:
    """A DNS name or IP address for a certificate; ValueError saying what is wrong."""
    text = text.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if len(text) > 253 or not _HOST_NAME.match(text):
        raise ValueError(f"{text!r} is not a host name or IP address")
    return text


def _subject_names(hosts):
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _validity(now, days):
    return (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days))


def _server_certificate(ca_cert, ca_key, hosts, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = _validity(now, days)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (x509.CertificateBuilder()
                   .subject_name(_name(hosts[0])).issuer_name(ca_cert.subject)
                   .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    return server_cert, server_key


def _paths(out_dir):
    return {name: os.path.join(out_dir, name) for name in (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)}


def _write_server(paths, server_cert, server_key):
    _write(paths[SERVER_CERT], server_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths[SERVER_KEY], _key_pem(server_key), private=True)


def generate(out_dir: str, hosts=DEFAULT_HOSTS, days: int = VALID_DAYS) -> dict:
    """Write a new CA (ca.pem/ca.key) and server certificate (server.pem/server.key); the
    paths by name."""
    os.makedirs(out_dir, exist_ok=True)
    not_before, not_after = _validity(datetime.datetime.now(datetime.timezone.utc), days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(_name("plclink local CA")).issuer_name(_name("plclink local CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    paths = _paths(out_dir)
    _write(paths[CA_CERT], ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(paths[CA_KEY], _key_pem(ca_key), private=True)
    _write_server(paths, *_server_certificate(ca_cert, ca_key, tuple(hosts), days))
    return paths


def load_certificate(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def certificate_names(cert) -> tuple:
    """The DNS names and IP addresses a certificate is for, as given to generate()."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(name.value) for name in names)


def _days_left(cert) -> float:
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return left.total_seconds() / 86400


def ensure(out_dir: str, hosts=None) -> tuple[dict, str]:
    """Keep what is there unless it must change; (paths by name, what was done).

    The CA is made once (clients keep trusting it). The server certificate is issued again,
    by the same CA, when ``hosts`` (names and addresses clients use) differ from those it is
    for, or when it expires within RENEW_DAYS; ``hosts`` None keeps its names."""
    paths = _paths(out_dir)
    if not (os.path.exists(paths[CA_CERT]) and os.path.exists(paths[CA_KEY])):
        if os.path.exists(paths[CA_CERT]):
            raise CertificateError(f"{paths[CA_CERT]} exists without its key {paths[CA_KEY]}: "
                                   "issue certificates on the machine that holds the CA key")
        return generate(out_dir, tuple(hosts or DEFAULT_HOSTS)), "created a CA and a server certificate"
    server = load_certificate(paths[SERVER_CERT]) if os.path.exists(paths[SERVER_CERT]) else None
    current = certificate_names(server) if server is not None else ()
    wanted = tuple(hosts or current or DEFAULT_HOSTS)
    if server is None or not os.path.exists(paths[SERVER_KEY]):
        reason = "issued the server certificate (it was missing)"
    elif set(wanted) != set(current):
        reason = f"issued the server certificate again: names {', '.join(current)} -> {', '.join(wanted)}"
    elif _days_left(server) < RENEW_DAYS:
        reason = f"issued the server certificate again: it expired or expires within {RENEW_DAYS} days"
    else:
        return paths, "kept the existing CA and server certificate"
    with open(paths[CA_KEY], "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    _write_server(paths, *_server_certificate(load_certificate(paths[CA_CERT]), ca_key, wanted,
                                              VALID_DAYS))
    return paths, reason


def describe(out_dir: str) -> list[str]:
    """One line per certificate: what it is for and until when it is valid."""
    lines = []
    for name in (CA_CERT, SERVER_CERT):
        path = os.path.join(out_dir, name)
        if not os.path.exists(path):
            continue
        cert = load_certificate(path)
        left = _days_left(cert)
        state = f"{left:.0f} days left" if left >= 0 else "EXPIRED"
        subject = "CA" if name == CA_CERT else "for " + ", ".join(certificate_names(cert))
        lines.append(f"{name:11} {subject}; valid until "
                     f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC ({state})")
    return lines


OPCUA_CERT, OPCUA_KEY = "opcua.pem", "opcua-key.pem"   # .pem: what OPC UA tools expect


def ensure_opcua(out_dir: str, application_uri: str, hosts) -> tuple[str, str]:
    """The OPC UA server's application instance certificate, issued by the local CA (made if
    missing) when absent, for other names, or expiring within RENEW_DAYS; (cert, key) paths.

    OPC UA's Basic256Sha256 policy needs an RSA key (2048 bits) and the application URI in the
    subject alternative names, beside the names and addresses clients use."""
    paths = _paths(out_dir)
    if not os.path.exists(paths[CA_KEY]):
        ensure(out_dir, hosts)
    cert_path, key_path = os.path.join(out_dir, OPCUA_CERT), os.path.join(out_dir, OPCUA_KEY)
    wanted = {application_uri, *hosts}
    if os.path.exists(cert_path) and os.path.exists(key_path):
        current = load_certificate(cert_path)
        try:
            names = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(name.value) for name in names}
        except x509.ExtensionNotFound:
            have = set()
        if have == wanted and _days_left(current) >= RENEW_DAYS:
            return cert_path, key_path
    with open(paths[CA_KEY], "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    ca_cert = load_certificate(paths[CA_CERT])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    not_before, not_after = _validity(datetime.datetime.now(datetime.timezone.utc), VALID_DAYS)
    names = [x509.UniformResourceIdentifier(application_uri), *_subject_names(hosts)]
    cert = (x509.CertificateBuilder()
            .subject_name(_name("plclink OPC UA gateway")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=True, data_encipherment=True,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_path, _key_pem(key), private=True)
    return cert_path, key_path
