"""The bridge carrying the REAL upstream Beremiz runtime (``Beremiz_service.py`` of the tree
``BEREMIZ_SRC`` names, run by ``BEREMIZ_PYTHON``, default ``BEREMIZ_SRC/../venv``) with the
test C program built as tests/beremiz_test_build.py does: merged traces, forces that outlive
traces and really release, values, the md5 across a bridge restart, and a direct eRPC
client's takeover.

    BEREMIZ_SRC=/work/upstream/beremiz .venv/bin/python -m pytest tests/test_bridge_upstream.py
"""
import os
import time
from types import SimpleNamespace

import pytest
from autobahn.wamp.types import SubscribeOptions

from beremiz_test_build import build_files, make_build
from erpc_harness import (Bridge, OverRouter, erpc_client, latest_values, routed_status,
                          transfer)
from harness import free_port, next_event, wait_until
from plc_protocol.beremiz_variables import read_variables_csv
from plc_protocol.iec_types import decode_sample
from plc_protocol.trace_limits import DEBUG_SUSPENDED
from plclink.processes import Child
from test_real_beremiz_forcing import beremiz_python

SOURCE = os.environ.get("BEREMIZ_SRC")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not SOURCE or not os.path.isfile(os.path.join(SOURCE or "", "Beremiz_service.py")),
    reason="set BEREMIZ_SRC to an upstream Beremiz tree to run its runtime")]
PLC = "erpc-up1"


@pytest.fixture(scope="module")
def stack(router, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("bridge-upstream"))
    build = make_build(directory, py_ext=False)
    table = read_variables_csv(os.path.join(build, "VARIABLES.csv"))
    port = free_port()
    work = os.path.join(directory, "beremiz-work")
    os.makedirs(work)
    beremiz = Child("beremiz", [beremiz_python(),
                                os.path.join(SOURCE, "Beremiz_service.py"), "-x", "0", "-t", "0",
                                "-w", "off", "-i", "127.0.0.1", "-p", str(port), work],
                    env={**os.environ, "PYTHONUNBUFFERED": "1"}, quiet=True, cwd=SOURCE)
    bridge = Bridge(router, directory)
    alice, bob = router.client("ide"), router.client("ide")
    try:
        assert beremiz.wait_for_line("eRPC port", 30), "".join(beremiz.lines[-20:])
        bridge.write(**{PLC: {"uri": f"ERPC://127.0.0.1:{port}", "poll_interval": 0.2,
                              "variables": os.path.join(build, "VARIABLES.csv")}})
        bridge.start()
        wait_until(lambda: routed_status(alice, PLC) == "Empty", timeout=20, message="attached")
        library, extras, _ = build_files(build)
        md5 = transfer(OverRouter(alice, PLC), library, extras)
        OverRouter(alice, PLC).StartPLC()
        wait_until(lambda: routed_status(alice, PLC) == "Started", timeout=20, message="started")
        index = {entry.name.rsplit(".", 1)[-1]: entry.index for entry in table}
        yield SimpleNamespace(beremiz=beremiz, bridge=bridge, alice=alice, bob=bob, md5=md5,
                              table=table, index=index, port=port)
    finally:
        for client in (alice, bob):
            client.close()
        bridge.stop()
        beremiz.stop()


def test_two_sessions_and_a_force_on_upstream(stack):
    alice, bob, i = stack.alice, stack.bob, stack.index
    mine = alice.call(f"{PLC}.SetTraceVariablesList", [[i["LEVEL"], None]])
    theirs = bob.call(f"{PLC}.SetTraceVariablesList", [[i["COUNTER"], None]])
    assert latest_values(alice, PLC, mine, ["REAL"])[0] > 0
    assert latest_values(bob, PLC, theirs, ["DINT"])[0] > 0
    alice.call(f"{PLC}.Force", [{"index": i["COUNTER"], "value": 5}])
    assert alice.call(f"{PLC}.SetTraceVariablesList", []) == DEBUG_SUSPENDED
    bob.call(f"{PLC}.GetTraceVariables", theirs)
    time.sleep(0.5)
    assert latest_values(bob, PLC, theirs, ["DINT"]) == [5]   # the force stays in effect
    assert [e["index"] for e in bob.call(f"{PLC}.GetForces")] == [i["COUNTER"]]
    assert bob.call(f"{PLC}.Release", [i["COUNTER"]]) == []
    bob.call(f"{PLC}.GetTraceVariables", theirs)
    wait_until(lambda: latest_values(bob, PLC, theirs, ["DINT"])[0] > 10, timeout=10,
               message="the program counting COUNTER again after the release")
    assert bob.call(f"{PLC}.SetTraceVariablesList", []) == DEBUG_SUSPENDED


def test_values_and_md5_of_an_upstream_runtime(stack):
    values = stack.bob.subscribe(f"{PLC}.values")
    (tick, buffer), _ = next_event(values, timeout=10)
    decoded = decode_sample([entry.type for entry in stack.table], bytes(buffer))
    assert decoded[stack.index["COUNTER"]] > 0
    status = stack.bob.subscribe(f"{PLC}.status", options=SubscribeOptions(get_retained=True))
    args, kwargs = next_event(status, lambda a, k: a[0] == "Started", timeout=10)
    assert kwargs["md5"] == stack.md5 and kwargs["forced"] == 0
    counter = stack.index["COUNTER"]
    stack.alice.call(f"{PLC}.Force", [{"index": counter, "value": 5}])
    stack.bridge.stop()     # the md5 and the forces outlive a bridge restart (its state directory)
    stack.bridge.start()
    wait_until(lambda: routed_status(stack.bob, PLC) == "Started", timeout=20, message="back")
    args, kwargs = next_event(status, lambda a, k: a[0] == "Started" and k["md5"], timeout=10)
    assert kwargs["md5"] == stack.md5
    [entry] = stack.bob.call(f"{PLC}.GetForces")
    assert entry["index"] == counter and entry["value"] == 5 and entry["by"] == "ide"
    token = stack.bob.call(f"{PLC}.SetTraceVariablesList", [[counter, None]])
    assert latest_values(stack.bob, PLC, token, ["DINT"]) == [5]
    stack.bob.call(f"{PLC}.Release", None)
    stack.bob.call(f"{PLC}.SetTraceVariablesList", [])


def test_a_direct_client_takes_upstream_over_and_both_recover(stack):
    alice, i = stack.alice, stack.index
    alice.call(f"{PLC}.Force", [{"index": i["RESET"], "value": True}])
    direct = erpc_client(f"ERPC://127.0.0.1:{stack.port}")
    try:
        try:
            direct.call("GetPLCstatus", timeout=5)
        except Exception:
            pass  # upstream may leave it unanswered: the bridge's frames interleave with it
        assert stack.bridge.child.wait_for_line("another eRPC client", 20), \
            "".join(stack.bridge.child.lines[-10:] + stack.beremiz.lines[-10:])
    finally:
        direct.close()
    left = time.monotonic()
    wait_until(lambda: routed_status(alice, PLC) == "Started", timeout=10,
               message="the bridge answering within 10 s of the direct client leaving")
    token = alice.call(f"{PLC}.SetTraceVariablesList", [[i["RESET"], None]])
    assert latest_values(alice, PLC, token, ["BOOL"]) == [True]   # its force is back on upstream
    print(f"bridge back {time.monotonic() - left:.1f} s after the direct client left; bridge:\n"
          + "".join(line for line in stack.bridge.child.lines if PLC in line)
          + "Beremiz:\n" + "".join(stack.beremiz.lines[-8:]))
    alice.call(f"{PLC}.Release", None)
    alice.call(f"{PLC}.SetTraceVariablesList", [])
