"""WAMPS: the router's TLS endpoint with a locally generated CA, outside docker."""

import pytest

from harness import BlockingClient, Router, free_port
from plc_protocol.errors import PLCUnreachable
from router import certificates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_router(tmp_path_factory):
    base = tmp_path_factory.mktemp("wamps")
    paths = certificates.generate(str(base / "tls"))
    router = Router(base / "state")
    router.tls_port = free_port()
    router.start(["--tls-cert", paths["server.pem"], "--tls-key", paths["server.key"],
                  "--tls-port", str(router.tls_port)])
    router.ca_file = paths["ca.pem"]
    router.wss_url = f"wss://127.0.0.1:{router.tls_port}"
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
    assert any("CA file" in line and "not found" in line for line in runtime.lines)
