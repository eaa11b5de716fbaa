"""``plclink certs`` and ``plclink secrets`` as commands, the compose file's per-service secrets
against what the secrets command writes, and the IDE over wss:// with the generated
credentials against a real router given the generated files (dashboard over https:// too)."""
import os
import ssl
import stat
import subprocess
import sys
import urllib.request

import pytest
import yaml
from cryptography import x509

from harness import free_port
from plclink.processes import Child, plclink_command
from router import certificates

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plclink(*args, env=None):
    result = subprocess.run([sys.executable, "-m", "plclink.cli", *args], cwd=ROOT, text=True,
                            capture_output=True, timeout=120, env=env)
    return result.returncode, result.stdout + result.stderr


def server_names(directory):
    with open(os.path.join(directory, "server.pem"), "rb") as handle:
        return certificates.certificate_names(x509.load_pem_x509_certificate(handle.read()))


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_certs_are_issued_again_for_new_names_by_the_same_ca(tmp_path):
    out = str(tmp_path / "tls")
    code, said = plclink("certs", "--out", out)
    assert code == 0 and "created a CA" in said
    assert server_names(out) == ("localhost", "127.0.0.1")
    assert "valid until" in said and "825 days left" in said
    ca = read(os.path.join(out, "ca.pem"))

    code, said = plclink("certs", "--out", out)
    assert code == 0 and "kept the existing" in said

    code, said = plclink("certs", "--out", out, "--host", "plc-router.example",
                         "--host", "192.168.1.10")
    assert code == 0 and "issued the server certificate again" in said, said
    assert server_names(out) == ("plc-router.example", "192.168.1.10")
    assert read(os.path.join(out, "ca.pem")) == ca, "clients keep trusting the same CA"
    assert "for plc-router.example, 192.168.1.10; valid until" in said

    code, said = plclink("certs", "--out", out)  # no --host: the names stay
    assert code == 0 and "kept" in said and server_names(out) == ("plc-router.example",
                                                                  "192.168.1.10")


def test_certs_refuse_bad_names_and_a_ca_without_its_key(tmp_path):
    code, said = plclink("certs", "--out", str(tmp_path / "tls"), "--host", "no such host")
    assert code == 2 and "'no such host' is not a host name or IP address" in said
    out = str(tmp_path / "tls")
    plclink("certs", "--out", out)
    os.remove(os.path.join(out, "ca.key"))
    code, said = plclink("certs", "--out", out, "--host", "other.example")
    assert code == 1 and "exists without its key" in said


def test_certs_renew_a_certificate_close_to_expiry(tmp_path):
    out = str(tmp_path / "tls")
    certificates.generate(out, days=10)
    paths, done = certificates.ensure(out)
    assert "expires within 30 days" in done
    assert "825 days left" in "\n".join(certificates.describe(out))


def compose_services():
    with open(os.path.join(ROOT, "docker-compose.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_secrets_layout_modes_and_credentials(tmp_path):
    out = tmp_path / "secrets"
    code, said = plclink("secrets", "--out", str(out), "--tls-host", "plc-router.example",
                         "--tls-host", "10.0.0.5")
    assert code == 0, said
    mode = lambda name: stat.S_IMODE(os.stat(out / name).st_mode)
    assert mode(".") == 0o700
    for name in ("principals.yaml", "plc-01.secret", "plc-02.secret", "bridge.secret",
                 "erpc-07.psk", "tls/server.pem", "tls/server.key"):
        assert mode(name) == 0o644, name  # a container's own user reads the one it mounts
    assert mode("tls/ca.key") == 0o600 and mode("credentials.yaml") == 0o600
    credentials = yaml.safe_load(read(out / "credentials.yaml"))
    assert credentials["router"] == "wss://plc-router.example:8443"
    assert credentials["ca_file"] == "tls/ca.pem"
    assert server_names(out / "tls") == ("plc-router.example", "10.0.0.5")

    # Adding a runtime keeps every existing secret, the router URL and the certificate.
    before = {name: read(out / name) for name in ("plc-01.secret", "tls/server.pem")}
    code, said = plclink("secrets", "--out", str(out), "--runtimes", "plc-01,plc-02,plc-03")
    assert code == 0, said
    assert {name: read(out / name) for name in before} == before
    assert mode("plc-03.secret") == 0o644
    assert yaml.safe_load(read(out / "credentials.yaml"))["router"] == \
        "wss://plc-router.example:8443"
    assert "plc-03" in yaml.safe_load(read(out / "principals.yaml"))["principals"]

    code, said = plclink("secrets", "--out", str(out), "--rotate", "plc-01")
    assert code == 0 and "rotated      plc-01" in said
    assert read(out / "plc-01.secret") != before["plc-01.secret"]
    assert mode("plc-01.secret") == 0o644 and mode("principals.yaml") == 0o644


def test_secrets_say_what_to_do_when_the_directory_is_not_writable(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere; the message is for a container's unprivileged user")
    out = tmp_path / "secrets"
    out.mkdir(mode=0o500)
    code, said = plclink("secrets", "--out", str(out))
    assert code == 1 and 'docker-compose run --rm -u "$(id -u):$(id -g)" secrets' in said


def test_each_compose_service_mounts_only_its_own_generated_secrets(tmp_path):
    out = tmp_path / "secrets"
    assert plclink("secrets", "--out", str(out))[0] == 0
    compose = compose_services()
    files = {name: entry["file"].replace("${PLCLINK_SECRETS:-./deploy/secrets}", str(out))
             for name, entry in compose["secrets"].items()}
    for name, path in files.items():
        assert os.path.isfile(path), f"secret {name}: {path} is not generated"
    assert not any(path.endswith(("ca.key", "credentials.yaml")) for path in files.values())
    mounted = {service: set(entry.get("secrets", []))
               for service, entry in compose["services"].items()}
    assert mounted == {"router": {"principals", "people", "router-cert", "router-key"},
                       "plc-01": {"plc-01"}, "plc-02": {"plc-02"}, "erpc-07": {"erpc-07-psk"},
                       "erpc-07-tls": {"erpc-07-psk"}, "bridge": {"bridge", "erpc-07-psk"},
                       "postgres": {"registry-pgpass"}, "registry": {"registry", "registry-pgpass"},
                       "opcua": {"opcua", "people", "opcua-users", "opcua-cert", "opcua-key"},
                       "secrets": set()}
    for service, entry in compose["services"].items():
        assert not any(str(volume).split(":")[0].endswith("secrets}")
                       for volume in entry.get("volumes", [])) or service == "secrets", service
    assert compose["services"]["secrets"]["profiles"] == ["tools"]


def test_every_compose_service_gets_the_common_limits():
    with open(os.path.join(ROOT, "deploy", "services.yml"), encoding="utf-8") as handle:
        templates = yaml.safe_load(handle)["services"]
    common = templates["hardened"]
    assert common["read_only"] and common["cap_drop"] == ["ALL"] and common["mem_limit"]
    assert common["security_opt"] == ["no-new-privileges:true"] and "cap_add" not in common
    assert common["restart"] == "unless-stopped"
    assert common["logging"]["options"]["max-size"] and common["logging"]["options"]["max-file"]
    assert templates["plclink"]["extends"] == {"service": "hardened"}
    assert templates["wamp-runtime"]["extends"] == {"service": "plclink"}
    for path in ("docker-compose.yml", "docker-compose.sites.yml"):
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            services = yaml.safe_load(handle)["services"]
        for service, entry in services.items():
            if service != "secrets":   # a tool, not a service
                assert entry["extends"]["file"] == "deploy/services.yml", (path, service)
                assert "cap_add" not in entry and "privileged" not in entry, (path, service)
                assert "healthcheck" in entry or entry["extends"]["service"] == "wamp-runtime"
    postgres = compose_services()["services"]["postgres"]
    assert postgres["extends"]["service"] == "hardened" and postgres["mem_limit"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]


@pytest.mark.slow
def test_ide_over_wss_with_generated_credentials_and_dashboard_over_https(tmp_path):
    out = tmp_path / "secrets"
    wss_port, web_port = free_port(), free_port()
    assert plclink("secrets", "--out", str(out),
                   "--router-url", f"wss://localhost:{wss_port}")[0] == 0
    router = Child("router", plclink_command(
        "router", "--state-dir", str(tmp_path / "state"), "--principals",
        str(out / "principals.yaml"), "--ws-port", str(free_port()), "--rawsocket-port",
        str(free_port()), "--web-port", str(web_port), "--tls-port", str(wss_port),
        "--tls-cert", str(out / "tls" / "server.pem"), "--tls-key", str(out / "tls" / "server.key"),
        "--web-tls"), quiet=True)
    try:
        assert router.wait_for_line("router ready", 90), "".join(router.lines[-30:])
        assert any(f"dashboard https://127.0.0.1:{web_port}/" in line for line in router.lines)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("PLCLINK_")}
        env["PLCLINK_CREDENTIALS"] = str(out / "credentials.yaml")
        code, said = plclink("fleet", "list", "--json", env=env)
        assert code == 0 and said.strip() == "[]", said  # joined over wss://, verified by the CA
        context = ssl.create_default_context(cafile=str(out / "tls" / "ca.pem"))
        with urllib.request.urlopen(f"https://localhost:{web_port}/", context=context,
                                    timeout=10) as page:
            assert b"<html" in page.read(4096).lower()
    finally:
        router.stop()


def test_web_tls_needs_a_certificate(tmp_path):
    code, said = plclink("router", "--state-dir", str(tmp_path), "--web-tls", "--ws-port",
                         str(free_port()), "--web-port", str(free_port()), "--rawsocket-port",
                         str(free_port()))
    assert code != 0 and "--web-tls serves the dashboard with the router's certificate" in said
