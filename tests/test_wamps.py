"""WAMPS: the router's TLS endpoint with a locally generated CA, outside docker."""
import json
import os

import pytest

from harness import BlockingClient, Router
from ide_fixtures import CLI
from plc_protocol.errors import PLCUnreachable
from router import certificates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_router(tmp_path_factory):
    base = tmp_path_factory.mktemp("wamps")
    router = Router(base / "state").start_with_tls(base / "tls")
    yield router
    router.stop()


def test_client_and_runtime_over_wamps(tls_router, tmp_path):
    runtime = tls_router.start_runtime("plc-07", tmp_path / "plc-07", "--url", tls_router.wss_url,
                                       "--ca-file", tls_router.ca_file, autostart=True)
    try:
        client = BlockingClient(tls_router.wss_url, tls_router.realm,
                                {**tls_router.credentials("ide"), "ca_file": tls_router.ca_file})
        assert client.call("plc-07.GetPLCstatus")[0] == "Started"
        client.close()
    finally:
        runtime.stop()


def test_wrong_ca_is_refused_with_a_clear_message(tls_router, tmp_path):
    other_ca = certificates.generate(str(tmp_path / "other"))["ca.pem"]
    with pytest.raises(PLCUnreachable) as error:
        BlockingClient(tls_router.wss_url, tls_router.realm,
                       {**tls_router.credentials("ide"), "ca_file": other_ca})
    assert "does not trust" in str(error.value) and other_ca in str(error.value)


def test_runtime_with_wrong_ca_never_joins(tls_router, tmp_path):
    other_ca = certificates.generate(str(tmp_path / "other"))["ca.pem"]
    runtime = tls_router.start_runtime("plc-08", tmp_path / "plc-08", "--url", tls_router.wss_url,
                                       "--ca-file", other_ca, wait_joined=False)
    try:
        assert not runtime.wait_for_line("joined realm", 4)
        assert any("certificate verify failed" in line or "TLS failure" in line
                   for line in runtime.lines), "".join(runtime.lines[-10:])
    finally:
        runtime.stop()


def test_missing_ca_file_is_a_startup_error(tls_router, tmp_path):
    runtime = tls_router.start_runtime("plc-08", tmp_path / "plc-08", "--url", tls_router.wss_url,
                                       "--ca-file", str(tmp_path / "nope.pem"), wait_joined=False)
    assert runtime.process.wait(30) == 2
    assert any("CA file" in line and "nope.pem cannot be read" in line for line in runtime.lines)


@pytest.mark.parametrize("case, code, message", [
    ("missing", 2, "cannot be read"),
    ("not PEM", 2, "holds no PEM certificate"),
    ("not a CA", 2, "holds no CA certificate"),
    ("another CA", 3, "does not trust"),
])
def test_a_wrong_ca_file_is_named_in_the_error(tls_router, tmp_path, case, code, message):
    other = certificates.generate(str(tmp_path / "other"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    ca_file = {"missing": str(tmp_path / "nope.pem"), "not PEM": str(garbage),
               "not a CA": other["server.pem"], "another CA": other["ca.pem"]}[case]
    cli = CLI({**{k: v for k, v in os.environ.items() if not k.startswith("PLCLINK_")},
               "PLCLINK_AUTHID": "ide", "PLCLINK_SECRET": tls_router.secret("ide"),
               "PLCLINK_CA_FILE": ca_file})
    uri = f"WAMPS://127.0.0.1:{tls_router.tls_port}#{tls_router.realm}#plc-01"
    done = cli.run("status", "--uri", uri, "--json")
    assert done.returncode == code, done.stderr
    assert message in done.stderr and ca_file in done.stderr
    assert json.loads(done.stdout) == {"error": done.stderr.split(": error: ", 1)[1].strip(),
                                       "exit_code": code}
