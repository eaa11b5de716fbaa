"""Hostile programs against the runtime: what each one does to the PLC and to the runtime.

    .venv/bin/python bench/bench_hostile.py

For each program of tests/programs/ written as a careless user would (exit, raise, busy loop,
sleep forever, 2 GiB allocation, fork of 100 children, a crash by signal, exit in init) it
transfers the program to a PLC object in this process (the runtime's side: the program runs in
its own program process as under ``plclink runtime``), starts it, and prints one row: the
outcome (status and the CRITICAL log), the time from StartPLC (NewPLC for init) to Broken, and
this process's RSS after RepairPLC against its RSS before the transfer.
"""
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from plc_protocol.status import PLCStatus  # noqa: E402
from runtime_component.plc_object import PLCObject  # noqa: E402
from test_plc_object import read, transfer  # noqa: E402

CASES = [  # (what it does, program, fails at)
    ("os._exit(1) in cycle", "exit_in_cycle.py", "start"),
    ("os._exit(3) in init", "exit_in_init.py", "load"),
    ("raises in cycle 20", "raises.py", "start"),
    ("raises in the first cycle", "raises_first_cycle.py", "start"),
    ("busy loop in cycle", "never_returns.py", "start"),
    ("sleeps forever in cycle", "sleeps_forever.py", "start"),
    ("2 GiB allocation", "allocates.py", "start"),
    ("fork of 100 children", "forks.py", "start"),
    ("NULL read in C (SIGSEGV)", "segfault.py", "start"),
]
PERIOD, WATCHDOG = 0.01, 0.5


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) / 1024


def wait_broken(plc, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if plc.status == PLCStatus.BROKEN:
            return True
        time.sleep(0.002)
    return False


def run_case(workdir, program, fails_at):
    plc = PLCObject("bench", workdir, period=PERIOD, watchdog=WATCHDOG)
    plc.boot()
    before = rss_mib()
    started = time.monotonic()
    transfer(plc, read(program))
    if fails_at == "start":
        started = time.monotonic()
        plc.StartPLC()
    broken = wait_broken(plc)
    elapsed = time.monotonic() - started
    counts = plc.GetPLCstatus()[1]
    message = plc.GetLogMessage(0, counts[0] - 1)[0] if counts[0] else "(no CRITICAL log)"
    plc.RepairPLC()
    after = rss_mib()
    answering = plc.GetPLCstatus()[0] == PLCStatus.EMPTY
    plc.shutdown()
    return broken and answering, elapsed, before, after, message


def main():
    print(f"command: .venv/bin/python bench/bench_hostile.py    ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores; period {PERIOD * 1000:g} ms, watchdog {WATCHDOG:g} s, "
          "memory limit 512 MiB)")
    print("| program | outcome | time to Broken | runtime RSS before → after repair | "
          "CRITICAL log |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="plclink-hostile-") as root:
        for number, (what, program, fails_at) in enumerate(CASES):
            ok, elapsed, before, after, message = run_case(
                os.path.join(root, str(number)), program, fails_at)
            outcome = "Broken, runtime answering" if ok else "FAIL"
            print(f"| {what} | {outcome} | {elapsed * 1000:.0f} ms | {before:.1f} → {after:.1f} MiB "
                  f"| {message[:110]} |")


if __name__ == "__main__":
    main()
