"""The force model in our runtime (docs/force-model.md), on the PLC object itself: forces
belong to the runtime, traces to sessions, writes are one-shot, restart keeps the program."""
import json
import time

import pytest

from harness import wait_until
from plc_protocol import iec_types
from plc_protocol.errors import PLCObjectError
from plc_protocol.log_levels import LogLevel
from plc_protocol.methods import EINVAL
from plc_protocol.status import PLCStatus
from plc_protocol.trace_limits import DEBUG_SUSPENDED
from runtime_component.forces import Caller
from runtime_component.plc_object import PLCObject
from test_plc_object import read, transfer

ALICE = Caller(("wamp", 1), "alice")
BOB = Caller(("wamp", 2), "bob")
IDE = Caller(("erpc", "127.0.0.1:5000"), "erpc:127.0.0.1:5000")
pytestmark = pytest.mark.slow


@pytest.fixture
def plc(tmp_path):
    changes = []
    obj = PLCObject("plc-f", str(tmp_path), period=0.005, on_forces=lambda: changes.append(1))
    obj.boot()
    obj.force_changes = changes
    transfer(obj, read("all_types.py"))
    yield obj
    obj.shutdown()


def index(plc, name):
    return [v["name"] for v in json.loads(plc.ExtendedCall("GetVariables", b""))].index(name)


def value(plc, name):
    table = plc.program.table
    return table.values[table.index_of[name]]


def samples_of(plc, caller, token, type_names):
    _, samples = plc.GetTraceVariables(token, caller=caller)
    return [iec_types.decode_sample(type_names, bytes(buffer)) for _, buffer in samples]


def test_a_force_survives_other_traces_and_their_end(plc):
    counter, b, i = index(plc, "counter"), index(plc, "b"), index(plc, "i")
    plc.StartPLC()
    entries = plc.Force([{"index": counter, "value": 7}], caller=ALICE)
    assert [(e["name"], e["value"], e["by"]) for e in entries] == [("counter", 7, "alice")]
    assert entries[0]["before"] is not None and entries[0]["raw"] == "07000000"
    token_b = plc.SetTraceVariablesList([(b, b""), (counter, b"")], caller=BOB)
    token_i = plc.SetTraceVariablesList([(i, b"")], caller=IDE)
    assert token_b > 0 and token_i > 0 and token_b != token_i
    wait_until(lambda: samples_of(plc, BOB, token_b, ["BOOL", "DINT"]), message="bob's samples")
    time.sleep(0.05)
    bob = samples_of(plc, BOB, token_b, ["BOOL", "DINT"])
    ide = samples_of(plc, IDE, token_i, ["INT"])
    assert bob and all(sample[1] == 7 for sample in bob)    # the force holds in every cycle
    assert ide and all(len(sample) == 1 for sample in ide)  # each session: its own list only
    assert plc.SetTraceVariablesList([], caller=BOB) == DEBUG_SUSPENDED
    assert plc.GetTraceVariables(token_b, caller=BOB) == (PLCStatus.BROKEN, [])
    time.sleep(0.05)
    assert samples_of(plc, IDE, token_i, ["INT"])           # the other trace goes on
    assert [e["index"] for e in plc.GetForces()] == [counter]   # and the force stays
    assert value(plc, "counter") == 7


def test_trace_list_forces_are_scoped_to_their_session(plc):
    counter, b = index(plc, "counter"), index(plc, "b")
    plc.StartPLC()
    plc.Force([{"index": b, "value": True}], caller=ALICE)
    forced = iec_types.encode("DINT", 3, for_force=True)
    assert plc.SetTraceVariablesList([(counter, forced)], caller=IDE) > 0
    assert {e["name"]: e["by"] for e in plc.GetForces()} == {"b": "alice",
                                                             "counter": "erpc:127.0.0.1:5000"}
    assert plc.SetTraceVariablesList([(counter, b"")], caller=IDE) > 0   # ResetDebugVariables
    assert [e["name"] for e in plc.GetForces()] == ["b"]                 # alice's stays
    wait_until(lambda: value(plc, "counter") > 3, message="counter counting again")


def test_release_restore_and_write(plc):
    counter, b, s = index(plc, "counter"), index(plc, "b"), index(plc, "s")
    plc.StartPLC()
    wait_until(lambda: value(plc, "counter") > 10, message="counting")
    plc.Force([{"index": b, "value": True}, {"index": s, "value": "held"}], caller=ALICE)
    wait_until(lambda: value(plc, "s") == "held", message="forced string")
    assert plc.Release([b, s], True, caller=BOB) == []
    wait_until(lambda: value(plc, "s") == "hello" and value(plc, "b") is False,
               message="values from before the forces")
    assert plc.Write([{"index": counter, "value": -1000}], caller=ALICE) is None
    assert -1000 <= value(plc, "counter") < 0 or value(plc, "counter") < 1000
    assert plc.GetForces() == []
    wait_until(lambda: value(plc, "counter") > -990, message="the program goes on from the write")
    with pytest.raises(PLCObjectError) as bad:
        plc.Force([{"index": b, "value": "maybe"}], caller=ALICE)
    assert bad.value.code == EINVAL and "b (BOOL)" in bad.value.message
    with pytest.raises(PLCObjectError):
        plc.Force([{"index": 999, "value": 1}], caller=ALICE)
    plc.StopPLC()
    with pytest.raises(PLCObjectError, match="Started"):
        plc.Write([{"index": counter, "value": 1}], caller=ALICE)


def test_new_program_drops_forces_with_a_warning(plc):
    plc.Force([{"index": index(plc, "counter"), "value": 5}], caller=ALICE)
    before = len(plc.force_changes)
    transfer(plc, read("raises.py"))
    assert plc.GetForces() == [] and len(plc.force_changes) > before
    warnings = [plc.GetLogMessage(LogLevel.WARNING, n)[0]
                for n in range(plc.logs.counts()[LogLevel.WARNING])]
    assert any("forces dropped: counter=5 (by alice)" in text for text in warnings)


def test_restart_from_broken_keeps_program_and_cause_is_known(plc):
    transfer(plc, read("raises.py"))
    plc.StartPLC()
    wait_until(lambda: plc.status == PLCStatus.BROKEN, message="Broken at cycle 20")
    assert "boom at cycle 20" in plc.cause
    assert plc.RestartPLC() is True or plc.status == PLCStatus.BROKEN
    assert plc.MatchMD5(plc.installation.md5())
    plc.RepairPLC()
    assert plc.status == PLCStatus.EMPTY and plc.cause is None
    with pytest.raises(PLCObjectError, match="Empty"):
        plc.RestartPLC()
