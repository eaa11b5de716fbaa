"""A Beremiz build runs in the runtime: the test PLC (tests/programs/beremiz_test_plc/, compiled
with gcc at test time into a build/ directory) is transferred as the IDE reads it, loaded in its
own program process, traced and forced by index, logs, runs its py_ext side, and every fault
ends in Broken with the runtime answering. PLC object in-process, real program processes."""
import json
import os
import shutil
import subprocess
import time

import pytest

from beremiz_test_build import LIBRARY_NAME, PREFIX, compile_library, make_build
from harness import wait_until
from ide_component.blob_plan import read_transfer
from plc_protocol import iec_types
from plc_protocol.status import PLCStatus
from plc_protocol.trace_limits import DEBUG_SUSPENDED
from runtime_component.plc_object import PLCObject
from test_plc_object import read, transfer

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None,
                                reason="gcc missing: scripts/setup-system.sh installs it")

NAMES = ["RESET", "COUNTER", "LEVEL", "TOTAL", "SPEED", "BYTEV", "BIG", "UPTIME", "LABEL",
         "LOG_BURST", "PY_CODE", "PY_TRIG", "PY_RESULT", "PY_ANSWERS", "CRASH", "LATE_US"]
INDEX = {name: index for index, name in enumerate(NAMES)}
PYVAR = len(NAMES)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return make_build(str(tmp_path_factory.mktemp("beremiz")))


@pytest.fixture
def plc(tmp_path):
    obj = PLCObject("plc-t", str(tmp_path / "work"), period=0.05, watchdog=0.5)
    obj.boot()
    yield obj
    obj.shutdown()


def send(plc, plan) -> bool:
    """The IDE's transfer of a plan (blob_plan.read_transfer) into the PLC object."""
    blobs = []
    for blob_plan in plan.blobs:
        blob = plc.SeedBlob(blob_plan.seed)
        for chunk in blob_plan.chunks:
            blob = plc.AppendChunkToBlob(chunk, blob)
        blobs.append(blob)
    return plc.NewPLC(plan.md5, blobs[-1],
                      [(extra.name, blob) for extra, blob in zip(plan.extras, blobs)])


def messages(plc, level=None) -> list:
    counts = plc.GetPLCstatus()[1]
    levels = range(4) if level is None else [level]
    return [plc.GetLogMessage(lvl, index)[0] for lvl in levels for index in range(counts[lvl])]


def force(name, value, type_name):
    return INDEX[name], iec_types.encode(type_name, value, for_force=True)


def trace(plc, orders, names):
    """Set the orders and return a function giving the values of ``names`` in new samples."""
    token = plc.SetTraceVariablesList(orders)
    assert token > 0
    types = [iec_types.iec_type(t).name for t in names]

    def samples():
        return [(tick, iec_types.decode_sample(types, data))
                for tick, data in plc.GetTraceVariables(token)[1]]
    return samples


def latest(samples_function, predicate, timeout=5.0, message="a matching sample"):
    found = []

    def check():
        for tick, values in samples_function():
            if predicate(values):
                found.append((tick, values))
        return found
    wait_until(check, timeout=timeout, message=message)
    return found[-1]


def test_build_loads_runs_traces_forces_and_stops(plc, build):
    plan = read_transfer(build)
    with open(os.path.join(build, "lastbuildPLC.md5")) as handle:
        assert plan.md5 == handle.read().strip()  # the build's own md5: the Beremiz IDE matches
    assert sorted(extra.name for extra in plan.extras) == [".plclink-program-name",
                                                           "VARIABLES.csv", "runtime_0.py"]
    assert send(plc, plan) and plc.status == PLCStatus.STOPPED
    assert plc.MatchMD5(plan.md5)
    table = json.loads(plc.ExtendedCall("GetVariables", b""))
    # FB instances and a variable of a derived type take no index (VARIABLES.csv has both)
    names = [PREFIX + name for name in NAMES] + ["CONFIG.PYVAR"]
    assert [entry["name"] for entry in table] == names
    assert [entry["index"] for entry in table] == list(range(len(NAMES) + 1))
    assert table[INDEX["UPTIME"]]["type"] == "TIME" and table[INDEX["LABEL"]]["type"] == "STRING"

    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED
    names = ["COUNTER", "LEVEL", "TOTAL", "SPEED", "BYTEV", "BIG", "UPTIME", "LABEL"]
    types = ["DINT", "REAL", "LREAL", "INT", "BYTE", "ULINT", "TIME", "STRING"]
    samples = trace(plc, [(INDEX[name], b"") for name in names], types)
    time.sleep(0.5)
    got = samples()
    assert len(got) >= 20
    ticks = [tick for tick, _ in got]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "a sample lost or doubled"
    for _, (counter, level, total, speed, byte, big, uptime, label) in got:
        assert level == pytest.approx(counter ** 0.5, rel=1e-6)
        assert total == counter * 0.25 and speed == -(counter % 1000) and byte == counter & 0xFF
        assert big == 10 ** 10 + counter and label == "hello"
        assert uptime == pytest.approx((counter - 1) * 0.01, abs=0.5)

    # forcing: the program's writes are ignored while forced; a STRING in its 127-byte form
    samples = trace(plc, [force("COUNTER", 1234, "DINT"), force("LABEL", "forced!", "STRING"),
                          (INDEX["LEVEL"], b"")], ["DINT", "STRING", "REAL"])
    _, values = latest(samples, lambda v: v[0] == 1234 and v[2] == pytest.approx(1234 ** 0.5))
    assert values[1] == "forced!"
    time.sleep(0.1)
    assert all(v[0] == 1234 and v[1] == "forced!" for _, v in samples())
    tick, snapshot = plc.values_sample()   # <ID>.values: every variable, table order
    decoded = iec_types.decode_sample([entry["type"] for entry in table], snapshot)
    assert decoded[INDEX["COUNTER"]] == 1234 and decoded[INDEX["LABEL"]] == "forced!"
    assert decoded[PYVAR] == 5 and tick > 0

    samples = trace(plc, [(INDEX["COUNTER"], b"")], ["DINT"])   # released: counts on from there
    latest(samples, lambda v: v[0] > 1240, message="COUNTER counting again")
    stats = json.loads(plc.ExtendedCall("GetCycleStats", b""))
    assert stats["cycles_measured"] > 10 and stats["lateness_ms_p50"] is not None
    assert stats["period_ms"] == 10.0   # the library's compiled period
    assert plc.StopPLC() is True and plc.status == PLCStatus.STOPPED
    stopped_at = plc.tick
    time.sleep(0.1)
    assert plc.tick == stopped_at   # the library's thread really stopped
    plc.StartPLC()   # restart on the same loaded library: variables back to their initial values
    samples = trace(plc, [(INDEX["COUNTER"], b"")], ["DINT"])
    _, (counter,) = latest(samples, lambda v: True)
    assert counter < 100
    assert plc.StopPLC() is True
    text = messages(plc)
    assert f"test PLC starting, PLC_ID {plan.md5}" in text   # PLC_ID set before startPLC
    assert f"PLC program {plan.md5} ({LIBRARY_NAME}) installed with 3 extra file(s)" in text


def test_logs_of_all_levels_arrive_in_order_none_lost_or_doubled(plc, build):
    assert send(plc, read_transfer(build))
    plc.StartPLC()
    trace(plc, [force("LOG_BURST", 8, "UINT")], ["UINT"])    # 2 per level every 10 ms cycle
    time.sleep(1.0)
    trace(plc, [(INDEX["LOG_BURST"], b"")], ["UINT"])
    time.sleep(0.2)
    assert plc.StopPLC()
    by_level = []
    for level in range(4):
        bursts = [text for text in messages(plc, level) if text.startswith("burst level")]
        numbers = [int(text.split()[-1]) for text in bursts]
        assert all(f"burst level {level} " in text for text in bursts)
        assert numbers == list(range(1, len(numbers) + 1)), f"level {level}: lost or doubled"
        by_level.append(len(numbers))
    assert min(by_level) > 100 and max(by_level) == min(by_level)
    assert not any("overwritten" in text for text in messages(plc))


def test_py_ext_hooks_commands_globals_and_csv(plc, tmp_path):
    build = make_build(str(tmp_path), extra_files={"data.csv": "a,b\n1,2\n3,4\n"})
    assert send(plc, read_transfer(build))
    plc.StartPLC()

    def evaluate(code, answers_before):
        trace(plc, [force("PY_TRIG", False, "BOOL")], ["BOOL"])
        time.sleep(0.05)
        samples = trace(plc, [force("PY_CODE", code, "STRING"), force("PY_TRIG", True, "BOOL"),
                              (INDEX["PY_RESULT"], b""), (INDEX["PY_ANSWERS"], b"")],
                        ["STRING", "BOOL", "STRING", "UDINT"])
        answered = latest(samples, lambda v: v[3] > answers_before, message=f"the answer to {code}")
        return answered[1][2]

    assert evaluate("MyPythonFunc(20)", 0) == "21"
    assert evaluate("PLCGlobals.PYVAR", 1) == "40"   # MyPythonFunc set the PLC global
    assert evaluate("Changes()", 2) == "1 40 40"      # OnChange
    assert evaluate("CSVRdInt('data.csv', 2, 1)", 3) == "4"
    assert evaluate("CSVWrInt('data.csv', 2, 1, 44)", 4) == "OK"
    assert evaluate("1/0", 5) == "#EXCEPTION : division by zero"
    assert evaluate("FBID != 0", 6) == "True"
    assert plc.StopPLC()
    data = os.path.join(plc.installation.directory(), "data.csv")
    wait_until(lambda: "3,44" in open(data).read(), message="the CSV write on disk")
    assert any('PyEval@0x' in text and 'Code="1/0"' in text and "division by zero" in text
               for text in messages(plc, 1))
    plc.RepairPLC()
    hooks = [text for text in messages(plc, 2) if text.startswith("py_ext")]
    assert hooks == ["py_ext init: PYVAR=0", "py_ext start", "py_ext stop", "py_ext cleanup"]


def criticals(plc) -> list:
    return messages(plc, 0)


def assert_recovers(plc, build):
    """Still answering, and the next transfer (the good build) works."""
    assert plc.GetPLCstatus()[0] == PLCStatus.BROKEN
    assert json.loads(plc.ExtendedCall("GetVariables", b"")) is not None
    assert send(plc, read_transfer(build)) and plc.status == PLCStatus.STOPPED
    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED
    assert plc.StopPLC() is True


@pytest.mark.parametrize("crash, cause", [
    (1, "killed by SIGSEGV"), (2, "killed by SIGABRT"),
    (3, "watchdog: a cycle ran longer than 0.5 s"),
])
def test_crash_in_the_cycle_ends_broken(plc, build, crash, cause):
    assert send(plc, read_transfer(build))
    plc.StartPLC()
    trace(plc, [force("CRASH", crash, "SINT")], ["SINT"])
    wait_until(lambda: plc.status == PLCStatus.BROKEN, timeout=10, message="Broken")
    assert cause in criticals(plc)[-1], criticals(plc)
    assert_recovers(plc, build)


@pytest.mark.parametrize("switch, content, cause", [
    ("crash_start", "segv", "killed by SIGSEGV"),
    ("crash_start", "abort", "killed by SIGABRT"),
    ("crash_start", "hang", "startPLC(), the py_ext start hooks and the first cycle did not "
                            "complete within"),
    ("crash_start", "fail", "startPLC returned error 7"),
    ("crash_stop", "hang", "stopping (stopPLC() and the py_ext stop hooks) did not complete "
                           "within 5 s"),
    ("crash_stop", "segv", "killed by SIGSEGV"),
])
def test_fault_in_start_or_stop_ends_broken(plc, build, tmp_path, switch, content, cause):
    faulty = make_build(str(tmp_path), extra_files={switch: content})
    assert send(plc, read_transfer(faulty))
    plc.StartPLC()
    if switch == "crash_stop":
        assert plc.status == PLCStatus.STARTED
        assert plc.StopPLC() is False
    wait_until(lambda: plc.status == PLCStatus.BROKEN, timeout=15, message="Broken")
    assert cause in criticals(plc)[-1], criticals(plc)
    assert_recovers(plc, build)


@pytest.mark.parametrize("hook, loading", [("init", True), ("start", False), ("stop", False)])
def test_python_side_raising_ends_broken(plc, build, tmp_path, hook, loading):
    raising = f"def _runtime_1_{hook}():\n    raise ValueError('no {hook} today')\n"
    faulty = make_build(str(tmp_path), extra_files={"runtime_1.py": raising})
    assert send(plc, read_transfer(faulty)) is not loading
    if not loading:
        plc.StartPLC()
        if hook == "stop":
            plc.StopPLC()
    wait_until(lambda: plc.status == PLCStatus.BROKEN, timeout=10, message="Broken")
    assert (f"_runtime_1_{hook}() in runtime_1.py raised ValueError: no {hook} today "
            "(runtime_1.py line 2)") in criticals(plc)[-1], criticals(plc)
    assert ("load failed" in criticals(plc)[-1]) is loading
    assert_recovers(plc, build)


def _bare_library(directory, source) -> bytes:
    path = os.path.join(directory, "bare.c")
    with open(path, "w") as handle:
        handle.write(source)
    compile_library(os.path.join(directory, "bare.so"), source=path)
    with open(os.path.join(directory, "bare.so"), "rb") as handle:
        return handle.read()


def test_a_library_that_is_no_beremiz_program_is_refused_and_the_previous_one_stays(
        plc, build, tmp_path):
    plan = read_transfer(build)
    assert send(plc, plan)
    pid = plc.host.process.pid
    plain = _bare_library(str(tmp_path), "int startPLC(int argc, char **argv) { return 0; }\n")
    wrong_machine = bytearray(plain)
    wrong_machine[18:20] = (183).to_bytes(2, "little")    # e_machine: AArch64
    crashing = _bare_library(str(tmp_path), "#include <signal.h>\n__attribute__((constructor)) "
                             "static void boom(void) { raise(SIGSEGV); }\n")
    for library, reason in [
            (plain, "not a Beremiz PLC program: it lacks stopPLC, ResetDebugVariables"),
            (bytes(wrong_machine), "built for AArch64 64-bit, this runtime runs on x86-64 64-bit"),
            (crashing, "killed by SIGSEGV")]:
        _, ok = transfer(plc, library)
        assert ok is False
        assert "NewPLC refused: program.so is not a PLC program this runtime can run: " in \
            criticals(plc)[-1] and reason in criticals(plc)[-1], criticals(plc)
        assert plc.status == PLCStatus.STOPPED and plc.MatchMD5(plan.md5)
        assert plc.host.process.pid == pid   # not even unloaded
    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED


def test_python_and_library_programs_replace_each_other(plc, build):
    assert send(plc, read_transfer(build))
    _, ok = transfer(plc, read("all_types.py"))
    assert ok and json.loads(plc.ExtendedCall("GetVariables", b""))[0]["name"] == "b"
    assert send(plc, read_transfer(build))
    assert json.loads(plc.ExtendedCall("GetVariables", b""))[0]["name"] == PREFIX + "RESET"
    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED


def test_a_library_without_variables_csv_is_debugged_by_index_as_upstream(plc, build):
    """The Beremiz IDE's Transfer sends no VARIABLES.csv: the library knows its indexes."""
    with open(os.path.join(build, "testplc.so"), "rb") as handle:
        library = handle.read()
    _, ok = transfer(plc, library)
    assert ok
    assert json.loads(plc.ExtendedCall("GetVariables", b"")) == []
    assert any("VARIABLES.csv was not transferred" in text for text in messages(plc, 2))
    plc.StartPLC()
    wait_until(lambda: plc.tick > 5, message="the library to cycle")
    samples = trace(plc, [force("COUNTER", 4321, "DINT"), (INDEX["LEVEL"], b"")],
                    ["DINT", "REAL"])
    latest(samples, lambda v: v[0] == 4321, message="COUNTER forced by index")
    assert [e["raw"] for e in plc.GetForces()] == [(4321).to_bytes(4, "little").hex()]
    assert plc.GetForces()[0]["name"] is None
    assert plc.SetTraceVariablesList([]) == DEBUG_SUSPENDED   # ends the trace, force stays
    assert len(plc.GetForces()) == 1
    plc.Release(None)
    plc.Force([{"index": INDEX["SPEED"], "raw": "0700"}])     # untraced: after the head
    samples = trace(plc, [(INDEX["COUNTER"], b"")], ["DINT"])   # its samples: COUNTER only
    latest(samples, lambda v: v[0] > 4330, message="COUNTER counting again")
    assert plc.StopPLC()


def test_gcc_builds_the_test_plc_without_libm(build):
    """The library leaves sqrtf undefined, as real builds do: the loader brings libm."""
    out = subprocess.run(["nm", "-D", "--undefined-only", os.path.join(build, "testplc.so")],
                         capture_output=True, text=True, check=True).stdout
    assert " sqrtf" in out


def test_a_python_eval_that_never_returns_makes_stop_end_broken(plc, build):
    assert send(plc, read_transfer(build))
    plc.StartPLC()
    trace(plc, [force("PY_CODE", "__import__('time').sleep(3600)", "STRING"),
                force("PY_TRIG", True, "BOOL")], ["STRING", "BOOL"])
    time.sleep(0.3)
    assert plc.StopPLC() is False
    wait_until(lambda: plc.status == PLCStatus.BROKEN, message="Broken")
    assert "its Python side (a python_eval command or a stop hook) did not end within 4 s " \
        "of stopPLC" in criticals(plc)[-1], criticals(plc)
    assert_recovers(plc, build)


def test_an_installed_library_comes_back_at_boot(tmp_path, build):
    workdir = str(tmp_path / "work")
    first = PLCObject("plc-t", workdir)
    first.boot()
    plan = read_transfer(build)
    assert send(first, plan)
    first.shutdown()
    booted = PLCObject("plc-t", workdir)
    booted.boot(autostart=True)
    try:
        assert booted.status == PLCStatus.STARTED and booted.MatchMD5(plan.md5)
        assert json.loads(booted.ExtendedCall("GetVariables", b""))[1]["name"] == PREFIX + "COUNTER"
        wait_until(lambda: booted.tick > 5, message="the library to cycle")
    finally:
        booted.shutdown()


def test_messages_the_log_ring_overwrote_are_counted_not_silently_skipped(plc, build):
    assert send(plc, read_transfer(build))
    plc.StartPLC()
    trace(plc, [force("LOG_BURST", 800, "UINT")], ["UINT"])   # 200 a level: past the ring's 128
    wait_until(lambda: any("overwritten in its log ring" in text for text in messages(plc, 1)),
               message="the overwritten messages reported")
    trace(plc, [(INDEX["LOG_BURST"], b"")], ["UINT"])
    time.sleep(0.2)
    assert plc.StopPLC()
    numbers = [int(text.split()[-1]) for text in messages(plc, 3) if text.startswith("burst")]
    assert numbers == sorted(set(numbers))   # in order, none doubled


def test_write_and_restore_on_a_library(plc, build):
    """A write is forced for one cycle through the library's debug list, then released: the
    program counts on from it; restore puts back the value from before a force."""
    assert send(plc, read_transfer(build))
    plc.StartPLC()
    counter = INDEX["COUNTER"]

    def value(name):
        table = plc.program.table
        return table.values[table.index_of[PREFIX + name]]
    wait_until(lambda: value("COUNTER") > 3, message="counting")
    assert plc.Write([{"index": counter, "value": 100000}]) is None
    assert plc.GetForces() == []
    wait_until(lambda: value("COUNTER") > 100000, message="counting on from the write")
    label = INDEX["LABEL"]
    plc.Force([{"index": label, "value": "held"}])
    wait_until(lambda: value("LABEL") == "held", message="LABEL forced")
    before = plc.GetForces()[0]["before"]
    plc.Release(None, True)
    wait_until(lambda: value("LABEL") == before, message="LABEL restored")
    assert plc.StopPLC()
