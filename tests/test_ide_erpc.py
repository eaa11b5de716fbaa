"""The same commands over eRPC (the connector chosen by the URI): pairing over a plain link,
then everything over TLS-PSK through a real stunnel, with polling where WAMP has events."""
import json
import os

import pytest

from erpc_harness import ErpcRuntime, erpc_client
from harness import DEMO_CSV, free_port
from ide_fixtures import cli, ide_credentials, write_big_program  # noqa: F401

pytestmark = pytest.mark.slow
PLC_ID = "erpc-ide"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    tls_port = free_port()
    running = ErpcRuntime(tmp_path_factory.mktemp(PLC_ID), "--psk-stunnel-port", str(tls_port),
                          "--autostart", plc_id=PLC_ID)
    if not running.child.wait_for_line("TLS-PSK front ready", 15):
        running.stop()
        raise RuntimeError("stunnel did not start:\n" + "".join(running.child.lines[-20:]))
    running.tls_port = tls_port
    yield running
    running.stop()


def test_pair_then_work_over_tls_psk(cli, runtime, tmp_path):
    psk_dir = str(tmp_path / "psk")
    code, paired, err = cli.json("pair", runtime.uri, "--psk-dir", psk_dir,
                                 "--tls-port", str(runtime.tls_port), "--description", "bench")
    secure = f"ERPCS://127.0.0.1:{runtime.tls_port}#{PLC_ID}"
    assert code == 0, err
    assert paired == {"id": PLC_ID, "secret_file": os.path.join(psk_dir, f"{PLC_ID}.secret"),
                      "uri": secure}
    secret = open(os.path.join(runtime.workdir, "psk.txt")).read().strip()
    assert open(paired["secret_file"]).read() == secret
    assert secret.partition(":")[2] not in json.dumps(paired) + err   # never printed
    assert json.load(open(os.path.join(psk_dir, "management.json")))[0][:3] == \
        [PLC_ID, secure, "bench"]

    over_tls = {"PLCLINK_URI": secure, "PLCLINK_PSK_DIR": psk_dir}
    done = cli.run("status", env=over_tls)
    assert done.returncode == 0 and done.stdout.startswith(f"{PLC_ID}: Started"), done.stderr
    # 256 KiB chunks do not fit an eRPC frame: the transfer plans with the connector's limit.
    program = write_big_program(tmp_path / "big.py", 600_000)
    done = cli.run("transfer", program, DEMO_CSV, "--start", "--json", env=over_tls)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Started"
    done = cli.run("trace", "count", "--count", "3", "--csv", env=over_tls)
    ticks = [int(line.split(",")[0]) for line in done.stdout.splitlines()[1:]]
    assert done.returncode == 0 and len(ticks) == 3 and ticks == sorted(ticks)


def test_logs_follow_polls_over_erpc(cli, runtime):
    follow = cli.start("logs", "--uri", runtime.uri, "--follow", "-n", "0")
    try:
        follow.wait_for(follow.stderr, lambda line: line.startswith("following"), what="follow")
        plain = erpc_client(runtime.uri)
        try:
            plain.StopPLC()
            plain.StartPLC()
        finally:
            plain.close()
        follow.wait_for(follow.stdout, lambda line: "PLC started" in line, what="PLC started")
    finally:
        follow.stop()
    assert any("PLC stopped" in line for line in follow.stdout), follow.stdout


def test_pairing_a_runtime_without_psk_fails_clearly(cli, tmp_path):
    plain = ErpcRuntime(tmp_path / "nopsk", plc_id="erpc-nopsk")
    try:
        done = cli.run("pair", plain.uri, "--psk-dir", str(tmp_path / "psk"))
    finally:
        plain.stop()
    assert done.returncode == 1 and "has no PSK identity configured" in done.stderr
    assert not os.path.exists(tmp_path / "psk")
