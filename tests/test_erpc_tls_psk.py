"""TLS-PSK (protocol.md §5): the runtime behind a real stunnel, the IDE's PSK store, pairing."""
import base64
import json
import os
import stat
import subprocess
import sys

import pytest

from erpc_harness import ErpcRuntime, demo_files, erpc_client, transfer
from harness import free_port
from ide_component import reactor_thread
from ide_component.erpc_connector import MAX_CHUNK_SIZE, ErpcConnector, PSKRefused
from ide_component.psk_store import ENV_DIR, PSKStore, PSKStoreError
from plc_protocol.errors import PLCUnreachable
from plc_protocol.status import PLCStatus
from plclink.processes import plclink_command
from runtime_component.psk import (STUNNEL_CIPHERS, PSKError, ensure_secret_file,
                                   parse_secret_line, stunnel_config)

PLC_ID = "erpc-psk"


@pytest.fixture(scope="module")
def psk_runtime(tmp_path_factory):
    tls_port = free_port()
    running = ErpcRuntime(tmp_path_factory.mktemp("psk-runtime"), "--psk-stunnel-port",
                          str(tls_port), plc_id=PLC_ID)
    if not running.child.wait_for_line("TLS-PSK front ready", 15):
        running.stop()
        raise RuntimeError("stunnel did not start:\n" + "".join(running.child.lines[-20:]))
    running.tls_uri = f"ERPCS://127.0.0.1:{tls_port}#{PLC_ID}"
    yield running
    running.stop()


def connect_refused(uri, store):
    connector = ErpcConnector(uri, psk_store=store)
    with pytest.raises(PLCUnreachable) as refused:
        reactor_thread.blocking(connector.connect)
    return refused.value


# --- pure parts ----------------------------------------------------------------------------------

def test_stunnel_config_has_the_reference_section_with_forward_secret_aead_ciphers():
    """The reference section (§5) with its "PSK" narrowed to ephemeral key exchange and AEAD
    (docs/security.md): every suite is one the IDEs' "PSK" offers."""
    text = stunnel_config(4000, 3000, "/w/psk.txt")
    section = text[text.index("[ERPCPSK]"):].splitlines()
    assert section[:6] == ["[ERPCPSK]", "accept = 127.0.0.1:4000", "connect = 127.0.0.1:3000",
                           f"ciphers = {STUNNEL_CIPHERS}", "sslVersion = TLSv1.2",
                           "PSKsecrets = /w/psk.txt"]
    for suite in STUNNEL_CIPHERS.split(":"):
        assert suite.startswith(("ECDHE-PSK-", "DHE-PSK-")), suite
        assert suite.endswith(("-GCM-SHA256", "-GCM-SHA384", "-CHACHA20-POLY1305")), suite


def test_runtime_secret_file_is_generated_once_private_and_beremiz_shaped(tmp_path):
    path = str(tmp_path / "psk.txt")
    identity, secret = ensure_secret_file(path, "plc-01")
    assert identity == "plc-01"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert open(path).read().strip() == f"plc-01:{secret}"
    assert len(base64.b64decode(secret, validate=True)) == 192
    assert ensure_secret_file(path, "plc-01") == ("plc-01", secret)  # kept, not regenerated
    with pytest.raises(PSKError, match="is for 'plc-01', but this runtime is 'plc-02'"):
        ensure_secret_file(path, "plc-02")
    for bad in ("", "no colon", "plc-01:", "a:b\nc:d", "plc-01:short", "bad id!:" + "x" * 20):
        with pytest.raises(PSKError):
            parse_secret_line(bad, "test")


def test_psk_store_keeps_the_beremiz_layout(tmp_path, monkeypatch):
    store = PSKStore(str(tmp_path / "psk"))
    assert store.lookup("plc-01") is None
    with pytest.raises(PSKStoreError, match="plclink pair"):
        store.require("plc-01")
    path = store.store("plc-01", "s3cret-s3cret-s3cret", "ERPC://10.0.0.5:3000", "line 4")
    assert path == str(tmp_path / "psk" / "plc-01.secret")
    assert open(path).read() == "plc-01:s3cret-s3cret-s3cret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rows = json.loads((tmp_path / "psk" / "management.json").read_text())
    assert len(rows) == 1
    plc_id, uri, description, last = rows[0]
    assert (plc_id, uri, description) == ("plc-01", "ERPC://10.0.0.5:3000", "line 4") and last
    store.store("plc-01", "an0ther-s3cret-value", "ERPCS://10.0.0.5#plc-01")
    assert store.require("plc-01") == "an0ther-s3cret-value"
    assert store.entries()[0][:3] == ["plc-01", "ERPCS://10.0.0.5#plc-01", "line 4"]
    store.remove("plc-01")
    assert store.lookup("plc-01") is None and store.entries() == []

    monkeypatch.setenv(ENV_DIR, str(tmp_path / "elsewhere"))
    assert PSKStore().directory == str(tmp_path / "elsewhere")
    (tmp_path / "psk" / "management.json").write_text("{not json")
    with pytest.raises(PSKStoreError, match="not readable JSON"):
        store.store("plc-02", "s3cret-s3cret-s3cret", "ERPC://h")


# --- through a real stunnel -----------------------------------------------------------------------

@pytest.mark.slow
def test_runtime_options_are_checked_before_start(tmp_path):
    def run(*args, env=None):
        return subprocess.run(plclink_command("runtime", "--no-wamp", "--workdir", str(tmp_path),
                                              *args), capture_output=True, text=True, timeout=30,
                              env=env)
    without_erpc = run("--psk-stunnel-port", "4000")
    assert without_erpc.returncode == 2 and "add --erpc" in without_erpc.stderr
    no_stunnel = run("--erpc", "--psk-stunnel-port", "4000",
                     env={**os.environ, "PATH": os.path.dirname(sys.executable)})
    assert no_stunnel.returncode == 2
    assert "stunnel, which is not on PATH" in no_stunnel.stderr
    assert "apt-get install stunnel4" in no_stunnel.stderr


@pytest.mark.slow
def test_pairing_over_erpc_then_erpcs_works(psk_runtime, tmp_path):
    store = PSKStore(str(tmp_path / "ide-psk"))
    plain = erpc_client(psk_runtime.uri)
    try:
        plc_id, secret = plain.GetPLCID()
    finally:
        plain.close()
    assert plc_id == PLC_ID
    assert open(os.path.join(psk_runtime.workdir, "psk.txt")).read().strip() == f"{PLC_ID}:{secret}"
    store.store(plc_id, secret, psk_runtime.uri)

    secure = erpc_client(psk_runtime.tls_uri, psk_store=store)
    try:
        assert secure.GetPLCstatus()[0] == PLCStatus.STOPPED
        assert secure.GetPLCID() == (PLC_ID, secret)
        program, extras = demo_files()
        program += b"\n# padding to 1 MiB through TLS: " + b"x" * (1 << 20) + b"\n"
        md5 = transfer(secure, program, extras, chunk_size=MAX_CHUNK_SIZE)
        assert secure.MatchMD5(md5) is True
        assert secure.GetPLCstatus()[0] == PLCStatus.STOPPED
    finally:
        secure.close()
    assert store.entries()[0][1] == psk_runtime.tls_uri  # last connection recorded


@pytest.mark.slow
def test_wrong_psk_is_refused_with_a_clear_message(psk_runtime, tmp_path):
    store = PSKStore(str(tmp_path / "ide-psk"))
    store.store(PLC_ID, "not-the-secret-at-all", "ERPC://127.0.0.1")
    refused = connect_refused(psk_runtime.tls_uri, store)
    address = psk_runtime.tls_uri.split("//")[1].split("#")[0]
    assert isinstance(refused, PSKRefused)
    assert str(refused) == (f"TLS-PSK handshake refused by {address}: wrong PSK or unknown "
                            f"identity '{PLC_ID}' (re-pair with 'plclink pair')")


@pytest.mark.slow
def test_unknown_identity_and_missing_secret_are_refused(psk_runtime, tmp_path):
    store = PSKStore(str(tmp_path / "ide-psk"))
    with open(os.path.join(psk_runtime.workdir, "psk.txt")) as handle:
        secret = handle.read().strip().partition(":")[2]
    store.store("erpc-other", secret, "ERPC://127.0.0.1")
    other_uri = psk_runtime.tls_uri.replace(f"#{PLC_ID}", "#erpc-other")
    refused = connect_refused(other_uri, store)
    assert isinstance(refused, PSKRefused) and "unknown identity 'erpc-other'" in str(refused)

    missing = connect_refused(psk_runtime.tls_uri.replace(f"#{PLC_ID}", "#erpc-unpaired"), store)
    assert "no PSK secret for 'erpc-unpaired'" in str(missing) and "plclink pair" in str(missing)
    # the runtime's stunnel logged the refusals and kept serving
    assert psk_runtime.child.running
    assert any("psk identity not found" in line for line in psk_runtime.child.lines)


def openssl_psk(port, identity, secret, *options):
    """What ``openssl s_client`` negotiates with the PSK: its 'New, ...' line or its error."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-psk_identity", identity,
         "-psk", secret.encode().hex(), "-cipher", "ALL:@SECLEVEL=0", *options],
        input="", capture_output=True, text=True, timeout=60)
    said = done.stdout + done.stderr
    negotiated = [line for line in said.splitlines() if line.startswith("New, TLS")]
    return negotiated[0] if negotiated else said


@pytest.mark.slow
def test_the_psk_front_speaks_tls_1_2_with_forward_secret_aead_suites_only(psk_runtime):
    """openssl's client offers every PSK suite: the front picks one of the stated ones, and
    refuses plain-PSK and CBC suites, TLS 1.0 and 1.1 (docs/security.md)."""
    with open(os.path.join(psk_runtime.workdir, "psk.txt")) as handle:
        identity, _, secret = handle.read().strip().partition(":")
    port = int(psk_runtime.tls_uri.split(":")[2].split("#")[0])
    stated = STUNNEL_CIPHERS.split(":")
    for suite in stated[:3]:   # DHE-PSK-CHACHA20 is never preferred; one of each kind suffices
        assert openssl_psk(port, identity, secret, "-tls1_2", "-cipher", suite) == \
            f"New, TLSv1.2, Cipher is {suite}"
    assert openssl_psk(port, identity, secret, "-tls1_2").split()[-1] in stated
    for refused, alert in ((("-tls1_2", "-cipher", "PSK-AES128-GCM-SHA256"), "handshake failure"),
                           (("-tls1_2", "-cipher", "ECDHE-PSK-AES128-CBC-SHA256"),
                            "handshake failure"),
                           (("-tls1_1",), "protocol version"), (("-tls1",), "protocol version")):
        answer = openssl_psk(port, identity, secret, *refused)
        assert f"alert {alert}" in answer, (refused, answer)   # the front's refusal
