"""The program in its own process: hostile programs end in Broken, never in a dead runtime;
nothing is lost across the boundary. Real program processes, the PLC object in-process."""
import json
import os
import signal
import time

import pytest

from harness import wait_until
from plc_protocol import iec_types
from plc_protocol.python_program import PROGRAM_NAME_FILE
from plc_protocol.status import PLCStatus
from runtime_component.plc_object import BOOT_MARKER, PLCObject
from test_plc_object import read, transfer



def rss_kib(pid="self") -> int:
    with open(f"/proc/{pid}/status") as handle:
        line = next(line for line in handle if line.startswith("VmRSS:"))
    return int(line.split()[1])


def criticals(plc) -> list:
    return [plc.GetLogMessage(0, index)[0] for index in range(plc.GetPLCstatus()[1][0])]


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def plc(tmp_path):
    obj = PLCObject("plc-t", str(tmp_path / "work"), period=0.01, watchdog=0.5)
    obj.boot()
    yield obj
    obj.shutdown()


def assert_recovers(plc):
    """Still answering every kind of call, and the next transfer works."""
    assert plc.GetPLCstatus()[0] == PLCStatus.BROKEN
    assert json.loads(plc.ExtendedCall("GetVariables", b"")) is not None
    _, ok = transfer(plc, read("all_types.py"))
    assert ok and plc.status == PLCStatus.STOPPED
    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED
    wait_until(lambda: plc.tick > 3, message="the new program to cycle")
    assert plc.StopPLC() is True


@pytest.mark.parametrize("program, cause", [
    ("exit_in_cycle.py", "the program process exited with code 1"),
    ("raises.py", "cycle() raised RuntimeError: boom at cycle 20 (program.py line 7)"),
    ("never_returns.py", "watchdog: a cycle ran longer than 0.5 s"),
    ("sleeps_forever.py", "watchdog: a cycle ran longer than 0.5 s"),
    ("allocates.py", "the program reached its memory limit of 512 MiB"),
    ("forks.py", "the program called os.fork()"),
    ("segfault.py", "the program process was killed by SIGSEGV"),
])
def test_hostile_program_ends_broken_and_the_runtime_recovers(plc, program, cause):
    _, ok = transfer(plc, read(program))
    assert ok
    pid = plc.host.process.pid
    plc.StartPLC()
    wait_until(lambda: plc.status == PLCStatus.BROKEN, timeout=10, message="Broken")
    messages = criticals(plc)
    assert len(messages) == 1 and cause in messages[0], messages
    wait_until(lambda: group_gone(pid), timeout=5, message="the program's process group to be gone")
    assert_recovers(plc)


def test_exit_in_init_is_broken_at_transfer_and_at_boot(tmp_path):
    workdir = str(tmp_path / "work")
    first = PLCObject("plc-t", workdir)
    first.boot()
    _, ok = transfer(first, read("exit_in_init.py"))
    assert not ok and first.status == PLCStatus.BROKEN
    assert "the program process exited with code 3" in criticals(first)[0]
    first.shutdown()
    for _ in range(2):  # every boot: up, Broken, and told how to recover; never a crash loop
        booted = PLCObject("plc-t", workdir)
        booted.boot(autostart=True)
        assert booted.status == PLCStatus.BROKEN
        messages = criticals(booted)
        assert "exited with code 3" in messages[0]
        assert "RepairPLC" in messages[1] and "transfer" in messages[1]
        assert not os.path.exists(os.path.join(workdir, BOOT_MARKER))
        booted.shutdown()
    booted = PLCObject("plc-t", workdir)
    booted.boot()
    assert_recovers(booted)
    booted.shutdown()


def test_runtime_that_died_loading_at_boot_does_not_load_again(tmp_path):
    workdir = str(tmp_path / "work")
    first = PLCObject("plc-t", workdir)
    first.boot()
    md5, _ = transfer(first, read("all_types.py"))
    first.shutdown()
    open(os.path.join(workdir, BOOT_MARKER), "w").close()  # as a runtime killed mid-load leaves it
    booted = PLCObject("plc-t", workdir)
    booted.boot(autostart=True)
    assert booted.status == PLCStatus.BROKEN and booted.host is None
    assert "previous start" in criticals(booted)[0] and "RepairPLC" in criticals(booted)[0]
    assert booted.MatchMD5(md5)
    booted.RepairPLC()
    assert booted.status == PLCStatus.EMPTY
    _, ok = transfer(booted, read("all_types.py"))
    assert ok and booted.status == PLCStatus.STOPPED
    booted.shutdown()
    again = PLCObject("plc-t", workdir)  # the transfer ended the guard: the program loads
    again.boot(autostart=True)
    assert again.status == PLCStatus.STARTED
    again.shutdown()


def test_first_cycle_that_raises_never_reads_started(plc):
    transfer(plc, read("raises_first_cycle.py"))
    for _ in range(5):
        plc.StartPLC()
        assert plc.status == PLCStatus.BROKEN
        assert "no sensor on the first cycle (program.py line 6)" in criticals(plc)[-1]
        transfer(plc, read("raises_first_cycle.py"))


def test_syntax_error_is_refused_and_the_installed_program_kept(plc):
    md5, _ = transfer(plc, read("all_types.py"))
    pid = plc.host.process.pid
    _, ok = transfer(plc, b"VARIABLES = []\n\ndef cycle(plc)\n    pass\n",
                     [(PROGRAM_NAME_FILE, "tank.py\n".encode())])
    assert ok is False
    assert "syntax error in tank.py line 3" in criticals(plc)[0]
    assert plc.status == PLCStatus.STOPPED and plc.MatchMD5(md5)
    assert plc.host.process.pid == pid  # not even unloaded
    plc.StartPLC()
    assert plc.status == PLCStatus.STARTED


def test_runtime_exception_names_the_users_file_and_line(plc):
    transfer(plc, read("raises.py"), [(PROGRAM_NAME_FILE, "pump_station.py".encode())])
    plc.StartPLC()
    wait_until(lambda: plc.status == PLCStatus.BROKEN, message="Broken")
    assert "boom at cycle 20 (pump_station.py line 7)" in criticals(plc)[0]


def test_program_memory_leaves_with_the_program(plc):
    baseline = rss_kib()
    _, ok = transfer(plc, read("holds_memory.py"))
    assert ok
    assert rss_kib(plc.host.process.pid) > 200 * 1024
    assert rss_kib() < baseline + 30 * 1024
    plc.RepairPLC()
    assert rss_kib() < baseline + 30 * 1024


def test_memory_limit_is_configurable(tmp_path):
    plc = PLCObject("plc-t", str(tmp_path / "work"), memory_mb=150)
    plc.boot()
    _, ok = transfer(plc, read("holds_memory.py"))
    assert not ok and plc.status == PLCStatus.BROKEN
    assert "memory limit of 150 MiB" in criticals(plc)[0]
    plc.shutdown()


def _run_and_collect(plc, seconds):
    token = plc.SetTraceVariablesList([(0, b""), (1, iec_types.encode("DINT", -42, for_force=True))])
    assert token > 0
    plc.StartPLC()
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        samples += plc.GetTraceVariables(token)[1]
    plc.StopPLC()
    samples += plc.GetTraceVariables(token)[1]
    return token, samples


@pytest.mark.parametrize("period", [0.01, 0.001])
def test_no_trace_sample_lost_or_duplicated_and_forces_every_cycle(tmp_path, period):
    plc = PLCObject("plc-t", str(tmp_path / "work"), period=period)
    plc.boot()
    transfer(plc, read("logs_every_cycle.py"))
    token, samples = _run_and_collect(plc, 2.0)
    [(published_token, published)] = plc.traces.take_published()
    plc.shutdown()
    assert len(samples) >= 0.5 * 2.0 / period
    ticks = [tick for tick, _ in samples]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "a sample lost or duplicated"
    decoded = [iec_types.decode_sample(["UDINT", "DINT"], buffer) for _, buffer in samples]
    assert [n for n, _ in decoded] == [tick + 1 for tick in ticks]  # n counts with the tick
    assert all(held == -42 for _, held in decoded)  # forced before and after every cycle
    assert published_token == token and [tick for tick, _ in published] == ticks


def test_program_log_messages_arrive_in_order_none_lost(tmp_path):
    plc = PLCObject("plc-t", str(tmp_path / "work"), period=0.002)
    plc.boot()
    transfer(plc, read("logs_every_cycle.py"))
    plc.StartPLC()
    wait_until(lambda: plc.GetPLCstatus()[1][3] >= 600, timeout=20, message="600 log messages")
    plc.StopPLC()
    texts = [plc.GetLogMessage(3, index)[0] for index in range(600)]
    plc.shutdown()
    assert texts == [f"cycle {n}" for n in range(1, 601)]


def test_values_and_cycle_stats_come_from_the_program_process(plc):
    transfer(plc, read("all_types.py"))
    plc.StartPLC()
    wait_until(lambda: plc.tick > 10, message="ticks")
    stats = json.loads(plc.ExtendedCall("GetCycleStats", b""))
    assert stats["program_pid"] == plc.host.process.pid != os.getpid()
    assert stats["cycles_measured"] > 5 and stats["trace_samples_lost"] == 0
    table = json.loads(plc.ExtendedCall("GetVariables", b""))
    wait_until(lambda: iec_types.decode_sample([e["type"] for e in table],
                                               plc.values_sample()[1])[20] > 10,
               message="the counter in the values snapshot")


def test_runtime_death_takes_the_program_process_along(tmp_path):
    """The program process must not outlive its runtime (it would hold the I/O)."""
    import subprocess
    import sys
    script = ("import sys, time; sys.path.insert(0, 'tests');"
              "from test_plc_object import transfer, read;"
              "from runtime_component.plc_object import PLCObject;"
              f"p = PLCObject('x', {str(tmp_path)!r}); p.boot(); transfer(p, read('all_types.py'));"
              "p.StartPLC(); print(p.host.process.pid, flush=True); time.sleep(60)")
    runtime = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = int(runtime.stdout.readline())
    runtime.send_signal(signal.SIGKILL)
    runtime.wait()
    wait_until(lambda: group_gone(child), timeout=5, message="the orphaned program process to end")


# --- through the real runtime process and router ---------------------------------------------

@pytest.mark.slow
def test_runtime_process_survives_a_program_dying_at_boot_and_in_cycle(router, runtimes, ide):
    from test_router_runtime import raw_transfer
    programs = os.path.join(os.path.dirname(__file__), "programs")
    child = runtimes.start("plc-05", program=os.path.join(programs, "exit_in_init.py"), extras=(),
                           autostart=True)
    status, counts = ide.call("plc-05.GetPLCstatus")
    assert status == "Broken" and counts[0] == 1
    child.stop()
    child = runtimes.start("plc-05", workdir=child.workdir, program=None, autostart=True)
    status, counts = ide.call("plc-05.GetPLCstatus")  # the installed program dies at boot
    assert status == "Broken" and counts[0] == 2
    assert "exited with code 3" in ide.call("plc-05.GetLogMessage", 0, 0)[0]
    assert "RepairPLC" in ide.call("plc-05.GetLogMessage", 0, 1)[0]
    _, ok = raw_transfer(ide, "plc-05", read("exit_in_cycle.py"))
    assert ok is True
    ide.call("plc-05.StartPLC")
    # The program exits at its fifth cycle: its fault is the third CRITICAL message. (Status
    # events are debounced, and one published at boot may arrive late: ask the runtime.)
    wait_until(lambda: ide.call("plc-05.GetPLCstatus")[1][0] >= 3, timeout=10,
               message="the CRITICAL log of the program's exit")
    assert ide.call("plc-05.GetPLCstatus")[0] == "Broken"
    assert "exited with code 1" in ide.call("plc-05.GetLogMessage", 0, 2)[0]
    _, ok = raw_transfer(ide, "plc-05", read("all_types.py"))
    assert ok is True
    ide.call("plc-05.StartPLC")
    assert ide.call("plc-05.GetPLCstatus")[0] == "Started"
    assert child.process.poll() is None
    assert not any("Traceback" in line for line in child.lines)


def test_next_program_goes_to_the_spare_process_and_a_dead_spare_is_replaced(plc):
    transfer(plc, read("all_types.py"))
    spare = plc._spare.process.pid
    transfer(plc, read("raises.py"))
    assert plc.host.process.pid == spare
    os.kill(plc._spare.process.pid, signal.SIGKILL)
    wait_until(lambda: not plc._spare.usable, message="the spare's death to be seen")
    _, ok = transfer(plc, read("all_types.py"))
    assert ok and plc.status == PLCStatus.STOPPED
    assert plc.GetPLCstatus()[1][:2] == [0, 0]  # a spare's death is nobody's business


def test_a_program_too_big_to_compile_is_refused_without_growing_the_runtime(tmp_path):
    plc = PLCObject("plc-t", str(tmp_path / "work"), memory_mb=200)
    plc.boot()
    md5, _ = transfer(plc, read("all_types.py"))
    baseline = rss_kib()
    huge = b"VARIABLES = []\nTABLE = [" + b"1, " * 2_000_000 + b"]\ndef cycle(plc):\n    pass\n"
    _, ok = transfer(plc, huge, chunk=1 << 20)
    assert ok is False and plc.status == PLCStatus.STOPPED and plc.MatchMD5(md5)
    assert "too big to compile" in criticals(plc)[0]
    assert rss_kib() < baseline + 30 * 1024  # the blob itself (6 MiB) and little else
    plc.shutdown()
