"""What per-session traces cost the runtime process: cutting union samples for each session.

    .venv/bin/python bench/bench_tracing.py

Since issue 17 the program process samples the union of every session's traced list and the
runtime cuts each session's own sample out of it (runtime_component/tracing.py). This measures
TraceState.add for one cycle's sample, by number of sessions each tracing 8 different
variables, with fixed-size types only (slices computed once per layout) or with STRINGs (each
sample walked). Prints one table with the time per sample and the ratio to one session, whose
sample needs no cutting (the cost before per-session traces; the baseline, same run). Figures
on a loaded machine are noisy.
"""
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from plc_protocol.iec_types import encode  # noqa: E402
from runtime_component.tracing import TraceState  # noqa: E402
from runtime_component.variables import VariableTable  # noqa: E402

SAMPLES = 2_000
ROUNDS = 5
FIXED = ["BOOL", "SINT", "INT", "DINT", "LINT", "REAL", "LREAL", "UDINT"]
WITH_STRING = FIXED[:-1] + ["STRING"]


def table(count: int, types) -> VariableTable:
    return VariableTable([(f"v{n}", types[n % len(types)]) for n in range(count)])


def per_sample(sessions: int, per_session: int, types=FIXED) -> float:
    variables = table(sessions * per_session, types)
    traces = TraceState()
    traces.reset()
    for session in range(sessions):
        traces.trace(session, list(range(session * per_session, (session + 1) * per_session)),
                     variables)
    layout = traces._layout
    buffer = b"".join(encode(d.type, value) for d, value in
                      zip(variables.declarations, variables.values))
    batch = [(layout, tick, buffer) for tick in range(SAMPLES)]
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        traces.add(batch)
        times.append((time.perf_counter() - start) / SAMPLES)
        traces.take_published()
    return statistics.median(times)


def main() -> int:
    cases = [("1 session x 8 (baseline: no cutting)", 1, 8, FIXED),
             ("1 session x 64", 1, 64, FIXED),
             ("2 sessions x 8, fixed-size types", 2, 8, FIXED),
             ("8 sessions x 8, fixed-size types", 8, 8, FIXED),
             ("2 sessions x 8, with STRINGs", 2, 8, WITH_STRING),
             ("8 sessions x 8, with STRINGs", 8, 8, WITH_STRING)]
    results = [(label, per_sample(sessions, count, types))
               for label, sessions, count, types in cases]
    baseline = results[0][1]
    print(f"{'case':40} {'per sample':>12} {'ratio':>7}")
    for label, seconds in results:
        print(f"{label:40} {seconds * 1e6:>9.1f} us {seconds / baseline:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
