"""vars/trace/force/release/forces/write from the command line, with exit code 0, on every kind
of runtime (issue 17, item 4): plclink's runtime over eRPC (the force procedures through
ExtendedCall), a Beremiz-like eRPC runtime reached directly and Beremiz's WAMP runtime on the
router (tests/beremiz_*_peer.py: upstream's single traced-and-forced set, where the library
falls back to upstream's rules). plclink's runtime on the router: test_cli_forcing.py."""
import pytest

from beremiz_erpc_peer import UpstreamDebugger
from beremiz_wamp_peer import start_peer
from erpc_harness import VARIABLES_CSV, BeremizPeer, ErpcRuntime
from harness import DEMO_CSV, DEMO_PROGRAM
from erpc_harness import PSKFront
from ide_fixtures import CLI, cli, ide_credentials  # noqa: F401
from plc_protocol.trace_limits import DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW
from plc_protocol.status import PLCStatus

pytestmark = pytest.mark.slow
PREFIX = "CONFIG.RESOURCE1.INSTANCE0."
MANUAL, COUNT, SETPOINT = PREFIX + "MANUAL", PREFIX + "COUNT", PREFIX + "SETPOINT"


# --- the reference debugger itself (upstream's rules, protocol.md §9) -----------------------

def test_the_reference_debugger_keeps_forces_until_a_new_non_empty_list():
    ticks = iter(range(1000))
    debugger = UpstreamDebugger(lambda: next(ticks))
    assert debugger.set_list([], loaded=True) == DEBUG_SUSPENDED          # also while Started
    token = debugger.set_list([(7, b"\x01"), (6, None)], loaded=True)
    assert token == 2 and debugger.forces == {7: b"\x01"}
    assert debugger.set_list([], loaded=True) == DEBUG_SUSPENDED
    assert debugger.forces == {7: b"\x01"}                                # suspended: kept
    assert debugger.samples(token, PLCStatus.STARTED) == (PLCStatus.BROKEN, [])
    assert debugger.set_list([(6, None)], loaded=True) == 4 and debugger.forces == {}
    assert debugger.set_list([(6, b"")], loaded=True) == FORCE_BUFFER_OVERFLOW   # 0-byte force
    assert debugger.set_list([(6, None)], loaded=False) == DEBUG_SUSPENDED    # no library


# --- the command line on each kind -------------------------------------------------------------

def run_ok(cli, *args, env=None):
    done = cli.run(*args, env=env)
    assert done.returncode == 0, f"plclink {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def exercise(cli, where, names, upstream, env=None):
    """The same session a technician would have, on any runtime; every command exits 0."""
    manual, count, setpoint = names
    run_ok(cli, "transfer", *where, DEMO_PROGRAM, DEMO_CSV, "--force", "--start", env=env)
    target = [*where, "--variables", VARIABLES_CSV] if upstream else where
    cli = CLI({**cli.env, **(env or {})})
    assert manual in run_ok(cli, "vars", *target)
    assert len(run_ok(cli, "trace", *target, count, "--count", "3").splitlines()) == 4
    assert f"{manual} = TRUE (forced)" in run_ok(cli, "force", *target, f"{manual}=TRUE")
    forces = run_ok(cli, "forces", *target)
    if upstream:
        assert "forces unknown" in forces
    else:
        assert manual in forces and "TRUE" in forces
    run_ok(cli, "trace", *target, count, "--count", "2")               # ends with -5: success
    out = run_ok(cli, "write", *target, f"{setpoint}=50")
    assert f"{setpoint} = " in out                       # read back (the program may rewrite it)
    assert f"{manual} = " in run_ok(cli, "release", *target, manual)
    run_ok(cli, "release", *target, "--all")
    restore = cli.run("release", *target, manual, "--restore")
    assert restore.returncode == (1 if upstream else 0), restore.stderr
    if upstream:
        assert "--restore cannot work there" in restore.stderr


def test_plclink_runtime_over_erpc(cli, tmp_path):
    runtime = ErpcRuntime(tmp_path / "work", plc_id="erpc-01")
    try:
        exercise(cli, ["--uri", runtime.uri], ("manual", "pump_starts", "setpoint"), False)
        assert cli.json("forces", "--uri", runtime.uri)[1]["forces"] == []
    finally:
        runtime.stop()


def test_beremiz_erpc_runtime_directly(cli):
    peer = BeremizPeer()
    try:
        exercise(cli, ["--uri", peer.uri], (MANUAL, COUNT, SETPOINT), True)
    finally:
        peer.stop()


def test_beremiz_erpc_runtime_over_tls_psk(cli, tmp_path):
    """ERPCS: the IDE pairs over ERPC (GetPLCID), then speaks through stunnel's TLS-PSK."""
    front = PSKFront(tmp_path, "beremiz-s1")
    peer = BeremizPeer("beremiz-s1", psk_file=front.psk_file)
    try:
        front.start(peer.port)
        env = {"PLCLINK_PSK_DIR": str(tmp_path / "psk")}
        run_ok(cli, "pair", peer.uri, "--tls-port", str(front.port), env=env)
        exercise(cli, ["--uri", front.uri], (MANUAL, COUNT, SETPOINT), True, env=env)
    finally:
        front.stop()
        peer.stop()


def test_beremiz_wamp_runtime_on_the_router(cli, router):
    peer = start_peer(router, "plc-b")
    try:
        exercise(cli, ["--id", "plc-b"], (MANUAL, COUNT, SETPOINT), True)
        code, state, _ = cli.json("status", "--id", "plc-b")
        assert code == 0 and state["forced"] is None and state["status"] == "Started"
    finally:
        peer.stop()
