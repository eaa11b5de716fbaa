"""The eRPC bridge against a real router, real eRPC runtimes (plain and behind stunnel) and a
real bridge process: bridged runtimes must look like native ones on the router."""
import json
import os
import signal
import time

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import SubscribeOptions

from erpc_harness import (Bridge, ErpcRuntime, OverRouter, demo_files, routed_status,
                          transfer)
from harness import free_port, next_event, wait_until

pytestmark = pytest.mark.slow
PLAIN, SECURE, ADDED = "erpc-b1", "erpc-b2", "erpc-b3"


@pytest.fixture(scope="module")
def stack(router, tmp_path_factory):
    directory = tmp_path_factory.mktemp("bridge")
    plain_port, tls_port = free_port(), free_port()
    plain = ErpcRuntime(directory / PLAIN, plc_id=PLAIN, port=plain_port)
    secure = ErpcRuntime(directory / SECURE, "--psk-stunnel-port", str(tls_port), plc_id=SECURE)
    assert secure.child.wait_for_line("TLS-PSK front ready", 15)
    bridge = Bridge(router, str(directory))
    bridge.write(**{
        PLAIN: {"uri": f"ERPC://127.0.0.1:{plain_port}", "poll_interval": 0.2},
        SECURE: {"uri": f"ERPCS://127.0.0.1:{tls_port}#{SECURE}",
                 "psk_file": os.path.join(secure.workdir, "psk.txt"), "poll_interval": 0.2},
    })
    bridge.start()
    ide = router.client("ide")
    wait_until(lambda: routed_status(ide, SECURE) == "Stopped", timeout=10,
               message="ERPCS via bridge")

    class Stack:
        pass
    stack = Stack()
    stack.plain, stack.secure, stack.bridge, stack.ide = plain, secure, bridge, ide
    stack.plain_port, stack.directory = plain_port, directory
    yield stack
    ide.close()
    bridge.stop()
    for runtime in (stack.plain, secure):
        runtime.stop()


def _subscribe_status(ide, plc_id):
    return ide.subscribe(f"{plc_id}.status", options=SubscribeOptions(get_retained=True))


def _is(status):
    return lambda args, kwargs: args[0] == status


def test_calls_through_router_bridge_and_erpc(stack):
    ide = stack.ide
    status, counts = ide.call(f"{PLAIN}.GetPLCstatus")
    assert status == "Stopped" and len(counts) == 4
    assert ide.call(f"{SECURE}.GetPLCstatus")[0] == "Stopped"  # through stunnel, TLS-PSK

    program, extras = demo_files()
    plc = OverRouter(ide, PLAIN)
    md5 = transfer(plc, program + b"\n# transferred through the bridge\n", extras,
                   chunk_size=16384)
    assert ide.call(f"{PLAIN}.MatchMD5", md5) is True
    ide.call(f"{PLAIN}.StartPLC")
    assert ide.call(f"{PLAIN}.GetPLCstatus")[0] == "Started"
    token = ide.call(f"{PLAIN}.SetTraceVariablesList", [[0, b""], [3, b""]])
    assert token > 0
    samples = wait_until(lambda: ide.call(f"{PLAIN}.GetTraceVariables", token)[1],
                         message="trace samples through the bridge")
    tick, buffer = samples[0]
    assert isinstance(buffer, bytes) and len(buffer) == 5
    assert ide.call(f"{PLAIN}.StopPLC") is True
    assert ide.call(f"{PLAIN}.GetPLCstatus")[0] == "Stopped"

    with pytest.raises(ApplicationError) as refused:
        ide.call(f"{PLAIN}.AppendChunkToBlob", b"x", bytes(16))
    assert refused.value.error == "plclink.error.ENOENT"
    with pytest.raises(ApplicationError) as bad_arguments:
        ide.call(f"{PLAIN}.SeedBlob", "not bytes")
    assert bad_arguments.value.error == "plclink.error.EINVAL"


def test_status_and_log_events_look_native_and_say_bridged(stack):
    ide = stack.ide
    statuses = _subscribe_status(ide, PLAIN)
    logs = ide.subscribe(f"{PLAIN}.log")
    args, kwargs = next_event(statuses, timeout=5)  # the retained one, at once
    assert args[0] in ("Stopped", "Started") and len(args[1]) == 4
    assert kwargs["bridged"] is True
    assert kwargs["uri"] == f"ERPC://127.0.0.1:{stack.plain_port}"
    assert kwargs["platform"].startswith("plclink")

    ide.call(f"{PLAIN}.StartPLC")
    try:
        next_event(statuses, _is("Started"), timeout=5)
        level, msg_id, text, tick, sec, nsec = next_event(
            logs, lambda a, k: "started" in a[2], timeout=5)[0]
        assert level == 2 and isinstance(msg_id, int) and sec > 1_600_000_000
        assert ide.call(f"{PLAIN}.GetLogMessage", level, msg_id)[0] == text
    finally:
        ide.call(f"{PLAIN}.StopPLC")


def test_a_plclink_runtime_needs_no_variables_file_for_md5_values_and_forces(stack):
    """The bridge asks a plclink runtime for its program's md5 and its variable table (the
    plain runtime's entry has no variables file), so it publishes <ID>.values and serves
    forces attributed to the router caller, as for a Beremiz build with its VARIABLES.csv."""
    ide = stack.ide
    program, extras = demo_files()
    md5 = transfer(OverRouter(ide, PLAIN), program + b"\n# no variables file\n", extras)
    statuses = _subscribe_status(ide, PLAIN)
    values = ide.subscribe(f"{PLAIN}.values")
    ide.call(f"{PLAIN}.StartPLC")
    try:
        table = json.loads(ide.call(f"{PLAIN}.ExtendedCall", "GetVariables", b""))
        index = {entry["name"]: entry["index"] for entry in table}["manual"]
        next_event(values, timeout=10)                      # sampled without anyone tracing
        assert ide.call(f"{PLAIN}.GetForces") == []         # served, not ENOSYS
        entries = ide.call(f"{PLAIN}.Force", [{"index": index, "value": True}])
        assert [(e["name"], e["value"], e["by"]) for e in entries] == [("manual", True, "ide")]
        args, kwargs = next_event(statuses, lambda a, k: k.get("forced") == 1, timeout=10)
        assert kwargs["md5"] == md5
        assert ide.call(f"{PLAIN}.Release", [index]) == []
    finally:
        ide.call(f"{PLAIN}.StopPLC")


def test_killed_runtime_is_disconnected_then_back(stack):
    ide = stack.ide
    statuses = _subscribe_status(ide, PLAIN)
    next_event(statuses, timeout=5)
    stack.plain.child.signal(signal.SIGKILL)
    killed = time.monotonic()
    args, kwargs = next_event(statuses, _is("Disconnected"), timeout=2)
    assert time.monotonic() - killed < 2 and kwargs["bridged"] is True
    with pytest.raises(ApplicationError) as unreachable:
        ide.call(f"{PLAIN}.GetPLCstatus")
    assert unreachable.value.error == "plclink.error.unreachable"
    assert str(unreachable.value.args[0]).startswith(
        f"{PLAIN} (ERPC://127.0.0.1:{stack.plain_port}) is unreachable: ")

    stack.plain.child.stop()
    stack.plain = ErpcRuntime(stack.directory / PLAIN, plc_id=PLAIN, port=stack.plain_port,
                              program=None)
    next_event(statuses, _is("Stopped"), timeout=10)
    assert ide.call(f"{PLAIN}.GetPLCstatus")[0] == "Stopped"
    assert ide.call(f"{PLAIN}.ExtendedCall", "GetVersions", b"").startswith(b"plclink")


def test_bridge_death_is_announced_and_a_restart_brings_all_back(stack):
    ide = stack.ide
    plain, secure = _subscribe_status(ide, PLAIN), _subscribe_status(ide, SECURE)
    next_event(plain, timeout=5)
    next_event(secure, timeout=5)
    stack.bridge.child.signal(signal.SIGKILL)  # no goodbye: only the testament speaks
    for events in (plain, secure):
        args, kwargs = next_event(events, _is("Disconnected"), timeout=10)
        assert kwargs["bridged"] is True
    stack.bridge.child.stop()
    stack.bridge.start()
    next_event(plain, _is("Stopped"), timeout=10)
    next_event(secure, _is("Stopped"), timeout=10)
    assert ide.call(f"{SECURE}.GetPLCstatus")[0] == "Stopped"


def test_runtimes_added_and_removed_in_the_file_without_restart(stack):
    ide = stack.ide
    added = ErpcRuntime(stack.directory / ADDED, plc_id=ADDED, program=None)
    try:
        events = _subscribe_status(ide, ADDED)
        stack.bridge.write(**stack.bridge.entries,
                           **{ADDED: {"uri": f"ERPC://127.0.0.1:{added.port}"}})
        next_event(events, _is("Empty"), timeout=10)
        assert ide.call(f"{ADDED}.GetPLCstatus")[0] == "Empty"

        entries = dict(stack.bridge.entries)
        del entries[ADDED]
        stack.bridge.write(**entries)
        next_event(events, _is("Disconnected"), timeout=10)
        with pytest.raises(ApplicationError) as gone:
            ide.call(f"{ADDED}.GetPLCstatus")
        assert gone.value.error == ApplicationError.NO_SUCH_PROCEDURE
        assert ide.call(f"{PLAIN}.GetPLCstatus")[0] == "Stopped"  # the others untouched
        assert stack.bridge.child.running
    finally:
        added.stop()


def test_router_restart_gets_everything_registered_again(tmp_path):
    """With a router of its own: the shared one must not go down under other tests."""
    from harness import Router
    router = Router(tmp_path / "router").start()
    runtime = ErpcRuntime(tmp_path / "erpc-r1", plc_id="erpc-r1", program=None)
    bridge = Bridge(router, str(tmp_path))
    bridge.write(**{"erpc-r1": {"uri": f"ERPC://127.0.0.1:{runtime.port}"}})
    try:
        bridge.start()
        ide = router.client("ide")
        assert ide.call("erpc-r1.GetPLCstatus")[0] == "Empty"
        ide.close()
        joins = len(bridge.child.lines)
        _kill_router(router)
        assert bridge.child.wait_for_line("bridge left the router", 5)
        router.start()
        wait_until(lambda: any("bridge joined realm" in line
                               for line in bridge.child.lines[joins:]), timeout=20,
                   message="the bridge joining the restarted router")
        ide = router.client("ide")
        events = _subscribe_status(ide, "erpc-r1")
        assert next_event(events, timeout=5)[0][0] == "Empty"
        assert ide.call("erpc-r1.GetPLCstatus")[0] == "Empty"
        ide.close()
    finally:
        bridge.stop()
        runtime.stop()
        _kill_router(router)


def _kill_router(router):
    """Kill the router outright, crossbar included: crossbar's controller runs in a session of
    its own (its workers share its group), so killing the launcher's group misses it."""
    state = os.path.realpath(router.state_dir)
    controllers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                name = handle.read().split(b"\0")[0]
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if name.startswith(b"crossbar-controller") and cwd.startswith(state):
            controllers.append(int(pid))
    router.kill()
    for pid in controllers:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") and _running(pid)
                               for pid in controllers), timeout=5, message="crossbar to die")


def _running(pid) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False
