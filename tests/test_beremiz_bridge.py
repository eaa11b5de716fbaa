"""Beremiz eRPC runtimes on the router (protocol.md §9), against the real router, a real bridge
process and Beremiz-like peers built on erpc's own server (tests/beremiz_erpc_peer.py), beside
plclink's runtime: the bridge, the IDE commands by name (VARIABLES.csv), the Beremiz IDE's WAMP
debugging orders (None for "not forced") and transfers of any chunk size."""
import json
import os
import signal
import time
from types import SimpleNamespace

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import SubscribeOptions

from erpc_harness import (VARIABLES_CSV, BeremizPeer, Bridge, ErpcRuntime, OverRouter, PSKFront,
                          routed_status, transfer)
from harness import DEMO_CSV, DEMO_PROGRAM, Router, next_event, wait_until
from ide_fixtures import cli, ide_credentials  # noqa: F401
from plc_protocol.beremiz_variables import read_variables_csv
from plc_protocol.iec_types import decode_sample

pytestmark = pytest.mark.slow
PLAIN, SECURE, OURS = "erpc-bz1", "erpc-bz2", "erpc-bz3"
COUNT, LEVEL, MANUAL = (f"CONFIG.RESOURCE1.INSTANCE0.{name}" for name in ("COUNT", "LEVEL",
                                                                           "MANUAL"))
TABLE = [entry.as_dict() for entry in read_variables_csv(VARIABLES_CSV)]


@pytest.fixture(scope="module")
def stack(router, tmp_path_factory):
    directory = tmp_path_factory.mktemp("beremiz-bridge")
    front = PSKFront(directory, SECURE)
    started_processes = []
    try:
        plain = BeremizPeer(PLAIN)
        started_processes.append(plain)
        secure = BeremizPeer(SECURE, psk_file=front.psk_file)
        started_processes += [secure, front.start(secure.port)]
        ours = ErpcRuntime(directory / OURS, plc_id=OURS)
        started_processes.append(ours)
        bridge = Bridge(router, str(directory))
        started_processes.append(bridge)
        bridge.write(**{
            PLAIN: {"uri": plain.uri, "poll_interval": 0.2, "variables": VARIABLES_CSV},
            SECURE: {"uri": front.uri, "psk_file": front.psk_file, "variables": VARIABLES_CSV},
            OURS: {"uri": ours.uri},
        })
        ide = router.client("ide")   # msgpack, as the Beremiz IDE's WAMP connector
        bridge.start()
        for plc_id, status in ((PLAIN, "Empty"), (SECURE, "Empty"), (OURS, "Stopped")):
            wait_until(lambda: routed_status(ide, plc_id) == status, timeout=8,
                       message=f"{plc_id} attached")

        yield SimpleNamespace(plain=plain, secure=secure, ours=ours, front=front, bridge=bridge,
                              ide=ide)
        ide.close()
    finally:
        for process in reversed(started_processes):
            process.stop()


def test_bridge_attaches_to_beremiz_runtimes_on_the_14_methods(stack):
    """Before: the bridge probed ExtendedCall first, took the silence for unreachable and
    retried for ever. Now both peers (plain and TLS-PSK) are on the router within seconds."""
    events = stack.ide.subscribe(f"{PLAIN}.status", options=SubscribeOptions(get_retained=True))
    args, kwargs = next_event(events, timeout=5)
    assert args[0] == "Empty" and kwargs["bridged"] is True and kwargs["platform"] is None
    assert stack.bridge.child.wait_for_line(f"{PLAIN} ({stack.plain.uri}) connected: Empty "
                                            "(no plclink extensions)", 1)
    assert not any("retrying" in line or "reconnecting" in line
                   for line in stack.bridge.child.lines)
    # the fixture's calls before attachment were refused (unreachable): answers, not log lines
    assert not any("onUserError" in line for line in stack.bridge.child.lines)


def test_bridge_answers_extensions_for_a_runtime_without_them(stack):
    ide = stack.ide
    started = time.monotonic()
    with pytest.raises(ApplicationError) as not_served:
        ide.call(f"{PLAIN}.ExtendedCall", "GetVersions", b"")
    assert not_served.value.error == "plclink.error.ENOSYS"
    assert time.monotonic() - started < 2   # known since first contact: not asked again
    for plc_id in (PLAIN, SECURE):
        assert json.loads(ide.call(f"{plc_id}.ExtendedCall", "GetVariables", b"")) == TABLE
    assert ide.call(f"{OURS}.ExtendedCall", "GetVersions", b"").startswith(b"plclink")
    assert routed_status(ide, PLAIN) == "Empty"


def test_transfers_of_any_chunk_size_through_the_bridge(stack):
    """The IDE's default chunk (256 KiB) exceeds one eRPC frame: the bridge splits it."""
    program = open(DEMO_PROGRAM, "rb").read() + b"# " + b"x" * 600_000 + b"\n"
    extras = [("setpoint.csv", open(DEMO_CSV, "rb").read())]
    for plc_id in (PLAIN, OURS):
        plc = OverRouter(stack.ide, plc_id)
        md5 = transfer(plc, program, extras, chunk_size=256 * 1024)
        assert plc.MatchMD5(md5) is True and plc.GetPLCstatus()[0] == "Stopped"
    with pytest.raises(ApplicationError) as refused:
        stack.ide.call(f"{OURS}.AppendChunkToBlob", b"x" * 100_000, bytes(16))
    message = refused.value.args[0]
    assert refused.value.error == "plclink.error.ENOENT"
    assert message.count("AppendChunkToBlob") == 1, message


def test_a_failed_load_through_the_bridge_is_broken_yet_matches(stack):
    plc = OverRouter(stack.ide, SECURE)
    blob = plc.SeedBlob(b"f" * 32)
    blob = plc.AppendChunkToBlob(b"FAIL: this build does not load", blob)
    assert plc.NewPLC("f" * 32, blob, []) is False
    assert plc.GetPLCstatus()[0] == "Broken" and plc.MatchMD5("f" * 32) is True
    plc.RepairPLC()
    assert plc.GetPLCstatus()[0] == "Empty"


def test_a_call_the_runtime_leaves_unanswered_fails_alone(stack):
    """Beremiz's ResetLogCount raises on an empty runtime, so no reply comes: the caller gets
    an error, the runtime stays connected."""
    events = stack.ide.subscribe(f"{SECURE}.status")
    with pytest.raises(ApplicationError) as unanswered:
        stack.ide.call(f"{SECURE}.ResetLogCount", timeout=30)
    assert unanswered.value.error == "plclink.error.EIO"
    assert "no answer" in unanswered.value.args[0]
    assert routed_status(stack.ide, SECURE) == "Empty"
    seen = [events.get_nowait()[0][0] for _ in range(events.qsize())]
    assert "Disconnected" not in seen


def test_beremiz_ide_debug_orders_with_none_through_the_bridge(stack):
    """The Beremiz IDE's WAMP connector sends [[idx, None], ...] over msgpack."""
    ide = stack.ide
    plc = OverRouter(ide, PLAIN)
    if plc.GetPLCstatus()[0] == "Empty":
        transfer(plc, b"any build", [])
    plc.StartPLC()
    try:
        token = plc.SetTraceVariablesList([[6, None], [7, b"\x01"]])   # COUNT; MANUAL forced
        assert token > 0
        samples = wait_until(lambda: plc.GetTraceVariables(token)[1], message="samples")
        count, manual = decode_sample(["DINT", "BOOL"], samples[-1][1])
        assert manual is True and count > 0
    finally:
        plc.SetTraceVariablesList([])
        plc.StopPLC()


def test_beremiz_ide_debug_orders_with_none_on_our_runtime(runtimes, ide):
    runtimes.start("plc-09", autostart=True)
    token = ide.call("plc-09.SetTraceVariablesList", [[0, None], [1, None]])
    assert token > 0
    wait_until(lambda: ide.call("plc-09.GetTraceVariables", token)[1], message="samples")


def test_cli_works_by_name_on_a_bridged_beremiz_runtime(cli, stack):
    code, table, err = cli.json("vars", "--id", PLAIN)
    assert code == 0 and table == TABLE, err
    plc = OverRouter(stack.ide, PLAIN)
    if plc.GetPLCstatus()[0] == "Empty":
        transfer(plc, b"any build", [])
    plc.StartPLC()
    try:
        done = cli.run("trace", "--id", PLAIN, COUNT, LEVEL, "--count", "3", "--csv")
        assert done.returncode == 0, done.stderr
        rows = [line.split(",") for line in done.stdout.splitlines()]
        assert rows[0] == ["tick", COUNT, LEVEL] and len(rows) == 4
        code, forced, err = cli.json("force", "--id", PLAIN, f"{MANUAL}=TRUE")
        assert code == 0 and forced["values"] == {MANUAL: True}, err
        assert cli.run("release", "--id", PLAIN, "--all").returncode == 0
        done = cli.run("logs", "--id", PLAIN, "-n", "5")
        assert done.returncode == 0 and "PLC started" in done.stdout, done.stderr
    finally:
        plc.StopPLC()


def test_fleet_sees_and_deploys_to_bridged_beremiz_runtimes(cli, stack):
    code, status, err = cli.json("fleet", "status", "--ids", f"{PLAIN},{SECURE}")
    assert code == 0, err
    assert {entry["id"] for entry in status if entry["ok"]} == {PLAIN, SECURE}
    done = cli.run("fleet", "deploy", DEMO_PROGRAM, DEMO_CSV, "--ids", SECURE, "--start",
                   "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    assert routed_status(stack.ide, SECURE) == "Started"
    OverRouter(stack.ide, SECURE).StopPLC()


def test_a_runtime_that_stops_answering_status_is_disconnected_then_back(stack):
    """Silence on GetPLCstatus (the process frozen, its connection up) is unreachability."""
    events = stack.ide.subscribe(f"{PLAIN}.status", options=SubscribeOptions(get_retained=True))
    next_event(events, timeout=5)
    stack.plain.child.signal(signal.SIGSTOP)
    try:
        args, _ = next_event(events, lambda a, k: a[0] == "Disconnected", timeout=20)
    finally:
        stack.plain.child.signal(signal.SIGCONT)
    next_event(events, lambda a, k: a[0] != "Disconnected", timeout=30)
    assert routed_status(stack.ide, PLAIN) in ("Empty", "Stopped", "Started")


# --- the IDE straight to a Beremiz eRPC runtime (no router) ------------------------------------

@pytest.fixture
def lone_peer(tmp_path):
    front = PSKFront(tmp_path, "erpc-bz9")
    peer = BeremizPeer("erpc-bz9", psk_file=front.psk_file)
    try:
        peer.front = front.start(peer.port)
        yield peer
    finally:
        front.stop()
        peer.stop()


def test_vars_on_a_beremiz_runtime_asks_for_the_variables_file(cli, lone_peer):
    started = time.monotonic()
    done = cli.run("vars", "--uri", lone_peer.uri)
    assert done.returncode == 1 and time.monotonic() - started < 10
    assert "this runtime has no variable table" in done.stderr
    assert "give --variables FILE" in done.stderr
    code, table, err = cli.json("vars", "--uri", lone_peer.uri, "--variables", VARIABLES_CSV)
    assert code == 0 and table == TABLE, err
    done = cli.run("vars", "--uri", lone_peer.uri, "--variables", "/nonexistent/VARIABLES.csv")
    assert done.returncode == 2 and "cannot read variables file" in done.stderr


def test_pair_transfer_logs_and_trace_straight_to_a_beremiz_runtime(cli, lone_peer, tmp_path):
    psk_dir = str(tmp_path / "psk")
    code, paired, err = cli.json("pair", lone_peer.uri, "--psk-dir", psk_dir, "--tls-port",
                                 str(lone_peer.front.port))
    assert code == 0 and paired["uri"] == lone_peer.front.uri, err
    assert open(paired["secret_file"]).read() == open(lone_peer.front.psk_file).read().strip()
    over_tls = {"PLCLINK_URI": lone_peer.front.uri, "PLCLINK_PSK_DIR": psk_dir}
    done = cli.run("transfer", DEMO_PROGRAM, DEMO_CSV, "--start", "--json", env=over_tls)
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "Started", done.stderr
    done = cli.run("logs", "-n", "5", env=over_tls)
    assert done.returncode == 0 and "PLC started" in done.stdout, done.stderr
    done = cli.run("trace", COUNT, "--count", "2", "--csv", "--variables", VARIABLES_CSV,
                   env=over_tls)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 3, done.stderr


# --- 25 MiB to native and bridged runtimes, on a router of its own -----------------------------

def test_fleet_deploy_all_with_a_25_mib_extra_file(tmp_path, cli):  # noqa: F811
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(25 << 20))
    router = Router(tmp_path / "router")
    credentials = tmp_path / "credentials.yaml"
    started = [router]
    try:
        router.start()
        credentials.write_text(json.dumps({"router": router.url, "realm": router.realm,
                                           "authid": "ide", "secret": router.secret("ide")}))
        peer = BeremizPeer("erpc-big1")
        started.append(peer)
        ours = ErpcRuntime(tmp_path / "erpc-big2", plc_id="erpc-big2")
        started.append(ours)
        started.append(router.start_runtime("plc-01", tmp_path / "plc-01"))
        bridge = Bridge(router, str(tmp_path))
        bridge.write(**{"erpc-big1": {"uri": peer.uri}, "erpc-big2": {"uri": ours.uri}})
        started.append(bridge)
        bridge.start()
        ide = router.client("ide")
        for plc_id in ("erpc-big1", "erpc-big2", "plc-01"):
            wait_until(lambda: routed_status(ide, plc_id) is not None, timeout=10, message=plc_id)
        ide.close()
        done = cli.run("fleet", "deploy", DEMO_PROGRAM, DEMO_CSV, str(big), "--all", "--json",
                       timeout=600, env={"PLCLINK_CREDENTIALS": str(credentials)})
        assert done.returncode == 0, done.stdout + done.stderr
        deployed = {entry["id"] for entry in json.loads(done.stdout)["results"] if entry["ok"]}
        assert deployed == {"erpc-big1", "erpc-big2", "plc-01"}
    finally:
        for process in reversed(started):
            process.stop()

