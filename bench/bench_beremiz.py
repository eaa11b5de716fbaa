"""Beremiz IDE builds in the runtime: load + start time, and the library's own cycle under load.

    .venv/bin/python bench/bench_beremiz.py

Compiles the test PLC (tests/programs/beremiz_test_plc/, gcc) as Beremiz-like builds at 10 ms
and 1 ms, starts its own router and runtimes on free loopback ports and prints one table; each
row compares against a baseline measured in the same run:

* NewPLC + StartPLC of the library (loaded by its program process, first cycle done) against a
  Python program (tests/programs/all_types.py), the PLC object in this process;
* the lateness of the library's own cyclic thread at its compiled period, with the runtime
  serving LOAD_RATE status calls/s and a subscriber to an every-cycle trace, against idle
  (GetCycleStats: the cycle start the library stamps, against its deadline), and against a
  Python program under the same load; and the library's own measure of its lateness (the test
  PLC's LATE_US, read from the trace events).
"""
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_runtime import (LOAD_RATE, LOAD_SECONDS, FAST_SECONDS, PROGRAM, jitter,  # noqa: E402
                           row)
from beremiz_test_build import make_build  # noqa: E402
from harness import Router  # noqa: E402
from ide_component.blob_plan import read_transfer  # noqa: E402
from plc_protocol.iec_types import decode_sample  # noqa: E402
from runtime_component.plc_object import PLCObject  # noqa: E402
from test_beremiz_library import send  # noqa: E402  (the IDE's transfer into a PLC object)

START_RUNS = 5
COUNTER, LATE_US = 1, 15   # the test PLC's trace indexes


def install_and_start(plc, plan) -> float:
    """Seconds from the first blob call to Started."""
    started = time.perf_counter()
    send(plc, plan)
    plc.StartPLC()
    elapsed = time.perf_counter() - started
    if plc.status.value != "Started":
        raise SystemExit(f"the program did not start: {plc.status.value}")
    return elapsed


def start_times(plan, workdir) -> list:
    plc = PLCObject("bench", workdir)
    plc.boot()
    times = []
    try:
        for _ in range(START_RUNS):
            times.append(install_and_start(plc, plan))
            time.sleep(0.2)
            plc.StopPLC()
            plc.RepairPLC()
    finally:
        plc.shutdown()
    return times


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else float("nan")


def own_lateness_ms(stats) -> list:
    """LATE_US of every sample the trace subscriber got (traced: COUNTER, LATE_US)."""
    return [decode_sample(["DINT", "DINT"], bytes(data))[1] / 1000
            for _, data in stats["trace_events"]]


def main():
    state = tempfile.mkdtemp(prefix="plclink-bench-beremiz-")
    build_10 = make_build(os.path.join(state, "b10"), ticktime_ns=10_000_000)
    build_1 = make_build(os.path.join(state, "b1"), ticktime_ns=1_000_000)
    python_plan = read_transfer(PROGRAM)
    library_starts = start_times(read_transfer(build_10), os.path.join(state, "start-lib"))
    python_starts = start_times(python_plan, os.path.join(state, "start-py"))

    router = Router(state).start()
    children = []
    try:
        for plc_id, program in (("plc-01", build_10), ("plc-02", build_1), ("plc-03", PROGRAM)):
            children.append(router.start_runtime(plc_id, os.path.join(state, plc_id),
                                                 program=program, extras=(), autostart=True))
        client = router.client("ide")
        results = {}
        for plc_id, seconds in (("plc-01", LOAD_SECONDS), ("plc-02", FAST_SECONDS),
                                ("plc-03", LOAD_SECONDS)):
            traced = (COUNTER, LATE_US) if plc_id != "plc-03" else (20,)
            idle = jitter(client, plc_id, False, seconds, traced)
            loaded = jitter(client, plc_id, True, seconds, traced)
            client.call(f"{plc_id}.StopPLC")   # one cycling program at a time
            results[plc_id] = idle, loaded
        client.close()
    finally:
        for child in children:
            child.stop()
        router.stop()

    print(f"command: .venv/bin/python bench/bench_beremiz.py    ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores)")
    print("| measure | ours | baseline | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    lib_ms = statistics.median(library_starts) * 1000
    py_ms = statistics.median(python_starts) * 1000
    print(row(f"NewPLC + StartPLC (median of {START_RUNS}): Beremiz library vs Python program",
              lib_ms, py_ms, "ms", "reported", True))
    for plc_id, period in (("plc-01", "10 ms"), ("plc-02", "1 ms")):
        idle, loaded = results[plc_id]
        for key in ("lateness_ms_p50", "lateness_ms_p99"):
            print(row(f"library cycle lateness {key[-3:]} at {period}, {LOAD_RATE} status calls/s "
                      "+ every-cycle trace subscriber vs idle", loaded[key], idle[key], "ms",
                      "reported", True))
    python_loaded = results["plc-03"][1]
    print(row("cycle lateness p99 at 10 ms under load: library vs Python program",
              results["plc-01"][1]["lateness_ms_p99"], python_loaded["lateness_ms_p99"], "ms",
              "reported", True))
    for plc_id, period in (("plc-01", "10 ms"), ("plc-02", "1 ms")):
        loaded = results[plc_id][1]
        own = own_lateness_ms(loaded)
        print(f"(library at {period} under load: {loaded['cycles_measured']} cycles measured, "
              f"its own LATE_US p50 {percentile(own, 0.5):.3f} ms p99 {percentile(own, 0.99):.3f} "
              f"ms max {max(own, default=float('nan')):.3f} ms over {len(own)} samples; "
              f"{loaded['trace_samples']} samples in trace events, {loaded['trace_gaps']} gaps)")
    print(f"(start times, library: {', '.join(f'{t * 1000:.0f}' for t in library_starts)} ms; "
          f"Python: {', '.join(f'{t * 1000:.0f}' for t in python_starts)} ms)")


if __name__ == "__main__":
    main()
