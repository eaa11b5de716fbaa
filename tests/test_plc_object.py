"""The PLC object in-process: status machine, blobs, install, logs, traces (fast, no router)."""
import hashlib
import json
import os
import time

import pytest

from harness import wait_until
from plc_protocol import iec_types
from plc_protocol.errors import PLCObjectError
from plc_protocol.log_levels import LogLevel
from plc_protocol.methods import EINVAL, ENOENT
from plc_protocol.status import PLCStatus
from runtime_component.plc_object import PLCObject
from plc_protocol.trace_limits import (DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW, INVALID_FORCE,
                                       TRACE_LIST_OVERFLOW)

PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")


def read(name):
    with open(os.path.join(PROGRAMS, name), "rb") as handle:
        return handle.read()


def transfer(plc, program: bytes, extras=(), chunk=7, replace=False):
    """``replace``: ReplacePLC (takes a Started PLC) instead of NewPLC."""
    md5 = hashlib.md5(program).hexdigest()
    blobs = []
    for name, data in [*extras, (md5, program)]:
        blob = plc.SeedBlob(name.encode())
        for start in range(0, len(data), chunk):
            blob = plc.AppendChunkToBlob(data[start:start + chunk], blob)
        blobs.append(blob)
    install = plc.ReplacePLC if replace else plc.NewPLC
    return md5, install(md5, blobs[-1], [(name, blob) for (name, _), blob in zip(extras, blobs)])


@pytest.fixture
def plc(tmp_path):
    obj = PLCObject("plc-t", str(tmp_path), period=0.005)
    obj.boot()
    yield obj
    obj.shutdown()


def test_blob_ids_are_running_md5(plc):
    blob = plc.SeedBlob(b"seed")
    assert blob == hashlib.md5(b"seed").digest()
    assert plc.AppendChunkToBlob(b"abc", blob) == hashlib.md5(b"seedabc").digest()


def test_unknown_blob_is_an_error_not_a_hang(plc):
    with pytest.raises(PLCObjectError) as error:
        plc.AppendChunkToBlob(b"x", b"\0" * 16)
    assert error.value.code == ENOENT


def test_purged_blob_is_unknown(plc):
    blob = plc.SeedBlob(b"s")
    plc.PurgeBlobs()
    with pytest.raises(PLCObjectError):
        plc.AppendChunkToBlob(b"x", blob)


def test_status_machine_through_transfer_start_stop_repair(plc, tmp_path):
    assert plc.GetPLCstatus()[0] == PLCStatus.EMPTY
    plc.StartPLC()  # not Stopped: logged, ignored
    assert plc.status == PLCStatus.EMPTY
    md5, ok = transfer(plc, read("all_types.py"), [("data.csv", b"a,b\n1,2\n")])
    assert ok and plc.status == PLCStatus.STOPPED
    assert plc.MatchMD5(md5) and plc.MatchMD5(md5.upper()) and not plc.MatchMD5("0" * 32)
    assert open(tmp_path / "current" / "data.csv", "rb").read() == b"a,b\n1,2\n"
    assert open(tmp_path / "current" / "lasttransferedPLC.md5").read() == md5
    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED
    wait_until(lambda: plc.tick > 5, message="ticks")
    assert transfer(plc, read("raises.py"))[1] is False   # upstream: False, and a log line
    assert "NewPLC refused: the PLC is Started" in plc.GetLogMessage(LogLevel.WARNING, 1)[0]
    with pytest.raises(PLCObjectError) as error:   # ReplacePLC refused: never stopped
        transfer(plc, b"def cycle(plc):\n    1/\n", replace=True)
    assert error.value.code == EINVAL and "refused while Started" in str(error.value)
    assert plc.status == PLCStatus.STARTED and plc.MatchMD5(md5)
    new_md5, ok = transfer(plc, b"def cycle(plc):\n    pass\n", replace=True)  # installed by the
    assert ok and plc.status == PLCStatus.STARTED and plc.MatchMD5(new_md5)  # runtime's stop/start
    assert plc.StopPLC() is True and plc.status == PLCStatus.STOPPED
    plc.RepairPLC()
    assert plc.status == PLCStatus.EMPTY and not plc.MatchMD5(md5)
    assert not os.path.exists(tmp_path / "current")


def test_restart_comes_back_stopped_with_program(tmp_path):
    first = PLCObject("plc-t", str(tmp_path))
    first.boot()
    md5, _ = transfer(first, read("all_types.py"))
    first.shutdown()
    second = PLCObject("plc-t", str(tmp_path))
    second.boot()
    assert second.status == PLCStatus.STOPPED and second.MatchMD5(md5)
    second.shutdown()
    third = PLCObject("plc-t", str(tmp_path))
    third.boot(autostart=True)
    assert third.status == PLCStatus.STARTED
    third.shutdown()


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape.csv", "a/../../b", "", "C:\\x",
                                  "lasttransferedPLC.md5"])
def test_extra_file_names_are_sanitised(plc, tmp_path, name):
    with pytest.raises(PLCObjectError) as error:
        transfer(plc, read("all_types.py"), [(name, b"x")])
    assert error.value.code == EINVAL
    assert plc.status == PLCStatus.EMPTY
    assert not os.path.exists(tmp_path.parent / "escape.csv")


def test_program_that_fails_to_load_is_broken(plc):
    _, ok = transfer(plc, b"def cycle(plc):\n  return (\n")
    assert not ok and plc.status == PLCStatus.BROKEN
    counts = plc.GetPLCstatus()[1]
    assert counts[0] == 1
    assert "syntax error" in plc.GetLogMessage(0, 0)[0]


def test_program_that_raises_goes_broken_runtime_answers(plc):
    transfer(plc, read("raises.py"))
    plc.StartPLC()
    wait_until(lambda: plc.status == PLCStatus.BROKEN, message="Broken")
    message = plc.GetLogMessage(0, plc.GetPLCstatus()[1][0] - 1)[0]
    assert "boom at cycle 20" in message
    plc.RepairPLC()
    assert plc.status == PLCStatus.EMPTY


def test_program_that_never_returns_trips_the_watchdog(tmp_path):
    plc = PLCObject("plc-t", str(tmp_path), period=0.005, watchdog=0.2)
    plc.boot()
    transfer(plc, read("never_returns.py"))
    plc.StartPLC()
    wait_until(lambda: plc.status == PLCStatus.BROKEN, timeout=5, message="watchdog")
    assert "watchdog" in plc.GetLogMessage(0, 0)[0]
    assert plc.GetPLCstatus()[0] == PLCStatus.BROKEN  # still answering
    plc.RepairPLC()
    plc.shutdown()


def test_logs_per_level_ids_counts_and_reset(plc):
    for level in (0, 1, 2, 3, 3):
        plc.logs.log(level, f"message {level}")
    assert plc.GetPLCstatus()[1] == [1, 1, 1, 2]
    assert plc.GetLogMessage(3, 1)[0] == "message 3"
    assert plc.GetLogMessage(3, 2) is None and plc.GetLogMessage(9, 0) is None
    plc.ResetLogCount()
    assert plc.GetPLCstatus()[1] == [0, 0, 0, 0]


def test_trace_each_iec_type_and_force(plc):
    transfer(plc, read("all_types.py"))
    table = json.loads(plc.ExtendedCall("GetVariables", b""))
    names = [entry["name"] for entry in table]
    types = [entry["type"] for entry in table]
    forced = {"si": -100, "r": 3.5, "s": "forced!", "counter": 7, "b": True, "t": 2.5}
    orders = [(index, iec_types.encode(types[index], forced[name], for_force=True)
               if name in forced else b"") for index, name in enumerate(names)]
    token = plc.SetTraceVariablesList(orders)
    assert token > 0
    plc.StartPLC()
    wait_until(lambda: plc.tick > 5, message="ticks")
    status, samples = plc.GetTraceVariables(token)
    assert status == PLCStatus.STARTED and samples
    values = iec_types.decode_sample(types, samples[-1][1])
    decoded = dict(zip(names, values))
    for name, value in forced.items():
        assert decoded[name] == pytest.approx(value), name
    assert decoded["lw"] == 2**63 and decoded["ui"] == 300 and decoded["dt"] == pytest.approx(1e9)
    assert plc.GetTraceVariables(token + 1) == (PLCStatus.BROKEN, [])
    # release: a new list without forces lets the program count again
    token2 = plc.SetTraceVariablesList([(names.index("counter"), b"")])
    assert token2 == token + 1
    time.sleep(0.1)
    _, samples = plc.GetTraceVariables(token2)
    counters = [iec_types.decode("DINT", buffer)[0] for _, buffer in samples]
    assert counters[-1] > counters[0] > 7


def test_trace_error_codes(plc):
    assert plc.SetTraceVariablesList([(0, b"")]) == DEBUG_SUSPENDED  # no program
    transfer(plc, read("all_types.py"))
    assert plc.SetTraceVariablesList([(999, b"")]) == INVALID_FORCE
    assert plc.SetTraceVariablesList([(0, b"\x01\x02")]) == FORCE_BUFFER_OVERFLOW
    assert plc.SetTraceVariablesList([(0, b"")] * 1025) == TRACE_LIST_OVERFLOW


def test_extended_calls(plc):
    assert plc.ExtendedCall("GetVersions", b"").startswith(b"plclink")
    with pytest.raises(PLCObjectError):
        plc.ExtendedCall("Nope", b"")
    assert plc.GetPLCID() == ("", "")
    assert json.loads(plc.ExtendedCall("GetCycleStats", b"")) == {}


def test_values_sample_holds_every_variable(plc):
    assert plc.values_sample() is None
    transfer(plc, read("all_types.py"))
    table = json.loads(plc.ExtendedCall("GetVariables", b""))
    tick, buffer = plc.values_sample()
    values = iec_types.decode_sample([entry["type"] for entry in table], buffer)
    assert values == pytest.approx(plc.program.table.values)


def test_the_installed_program_set_can_be_read_back_for_the_store(plc):
    from plc_protocol.program_files import decode_program_files
    with pytest.raises(PLCObjectError):
        plc.ExtendedCall("GetProgramFiles", b"")
    program = b"def cycle(plc):\n    pass\n"
    md5, ok = transfer(plc, program, [("data.csv", b"a,b\n"), ("x.txt", b"")])
    assert ok
    assert decode_program_files(plc.ExtendedCall("GetProgramFiles", b"")) == (
        md5, program, [("data.csv", b"a,b\n"), ("x.txt", b"")])
