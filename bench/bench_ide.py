"""The IDE side's concurrency, against a real router and 100 real runtimes on loopback:

- ``fleet status`` over 100 runtimes (discovery on the router, then every runtime asked at
  once) against a sequential sweep, one GetPLCstatus call at a time;
- deploying a 1 MiB program to 20 runtimes at once against one after another;
- one 1 MiB transfer our way (256 KiB chunks, 4 calls in flight) against the Beremiz IDE's
  way (4095-byte chunks, one call at a time), for reference.

Runtimes are hosted several per process (bench/runtime_pool.py) to fit a small machine, and
the runtimes deployed to are taken one per process: a runtime installs a program in its
reactor (with fsync), so runtimes sharing a process would install one after another, which
real runtimes (a process or a machine each) do not. The router is the project's own
(tests/harness.Router) on free ports with a temporary state directory.

    .venv/bin/python bench/bench_ide.py [--runtimes 100] [--deploy-to 20] [--rounds 3]
"""
import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from harness import Router  # noqa: E402
from ide_component import reactor_thread  # noqa: E402
from ide_component.blob_plan import BEREMIZ_CHUNK_SIZE  # noqa: E402
from ide_component.blocking import open_fleet  # noqa: E402
from plclink.local_setup import ensure_principals  # noqa: E402
from plclink.processes import Child  # noqa: E402

POOL_SIZE = 5           # runtimes per process
PROGRAM_SIZE = 1 << 20


def write_program(path: str) -> str:
    body = "VARIABLES = [('count', 'DINT', 0)]\n\n\ndef cycle(plc):\n    plc.vars.count += 1\n"
    line = "# " + "padding " * 8 + "\n"
    with open(path, "w") as handle:
        handle.write(body + line * ((PROGRAM_SIZE - len(body)) // len(line)))
    return path


def start_pools(router: Router, ids: list, workdir: str, pools: list) -> None:
    """Start the pools into ``pools`` (so the caller stops them even if one fails to join)."""
    for first in range(0, len(ids), POOL_SIZE):
        chunk = ids[first:first + POOL_SIZE]
        pools.append(Child(f"pool-{first}", [
            sys.executable, os.path.join(ROOT, "bench", "runtime_pool.py"),
            "--state-dir", router.state_dir, "--url", router.url, "--realm", router.realm,
            "--workdir-root", workdir, *chunk], quiet=True))
    for pool in pools:
        if not pool.wait_for_line("pool ready", 120):
            raise RuntimeError("runtime pool did not join:\n" + "".join(pool.lines[-20:]))


def median_seconds(rounds: int, action) -> float:
    """The median of ``rounds`` timings, in seconds (the result of action must be all ok)."""
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        outcomes = action()
        timings.append(time.perf_counter() - start)
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} runtimes failed, e.g. {failed[0].error}")
    return statistics.median(timings)


def sequential(fleet, ids, operation) -> list:
    """One runtime at a time, each awaited before the next: the baseline sweep."""
    async def sweep():
        outcomes = []
        for plc_id in ids:
            outcomes.extend(await operation([plc_id]))
        return outcomes
    return reactor_thread.blocking(sweep, timeout=600)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", type=int, default=100, help="runtimes on the realm")
    parser.add_argument("--deploy-to", type=int, default=20, help="runtimes to deploy to")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per measurement")
    args = parser.parse_args(argv)
    print("$ " + shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-ide-") as scratch:
        ids = [f"bench-{n:03d}" for n in range(args.runtimes)]
        router = Router(os.path.join(scratch, "router"))
        ensure_principals(router.state_dir, ids)
        router.start()
        pools = []
        try:
            start_pools(router, ids, os.path.join(scratch, "runtimes"), pools)
            program = write_program(os.path.join(scratch, "program.py"))
            print(f"# {args.runtimes} runtimes in {len(pools)} processes joined in "
                  f"{time.monotonic() - started:.1f} s")
            rows = measure(router, ids, program, args)
        finally:
            for pool in pools:
                pool.stop()
            router.stop()
    print_table(rows)
    print(f"# total {time.monotonic() - started:.0f} s")
    return 0 if all(ratio >= target for _, _, _, ratio, target in rows) else 1


def measure(router, ids, program, args) -> list:
    with open_fleet(router.url, router.realm, router.credentials("ide")) as fleet:
        found = fleet.discover()
        assert set(ids) <= set(found), "not every runtime was discovered"
        baseline = median_seconds(args.rounds, lambda: sequential(
            fleet, ids, lambda one: fleet.fleet.status(one)))
        ours = median_seconds(args.rounds, lambda: fleet.status())
        rows = [(f"fleet status, {len(ids)} runtimes, with discovery", ours, baseline,
                 baseline / ours, 10)]
        ours = median_seconds(args.rounds, lambda: fleet.status(ids))
        rows.append((f"fleet status, {len(ids)} runtimes, IDs given", ours, baseline,
                     baseline / ours, 10))

        targets = ids[::max(1, len(ids) // args.deploy_to)][:args.deploy_to]
        deploy = dict(force=True, timeout=600)
        ours = median_seconds(args.rounds, lambda: fleet.deploy(targets, program, **deploy))
        baseline = median_seconds(args.rounds, lambda: sequential(
            fleet, targets, lambda one: fleet.fleet.deploy(one, program, force=True)))
        rows.append((f"deploy 1 MiB to {len(targets)} runtimes", ours, baseline,
                     baseline / ours, 4))

        one = ids[-1:]
        ours = median_seconds(args.rounds, lambda: fleet.deploy(one, program, **deploy))
        baseline = median_seconds(args.rounds, lambda: fleet.deploy(
            one, program, chunk_size=BEREMIZ_CHUNK_SIZE, window=1, **deploy))
        rows.append((f"transfer 1 MiB: ours vs {BEREMIZ_CHUNK_SIZE} B chunks, 1 call at a time",
                     ours, baseline, baseline / ours, 5))
    return rows


def print_table(rows) -> None:
    header = ("measurement", "ours", "baseline", "ratio", "target", "result")
    lines = [header] + [(name, f"{ours * 1000:.0f} ms", f"{baseline * 1000:.0f} ms",
                         f"{ratio:.1f}x", f">= {target}x", "pass" if ratio >= target else "FAIL")
                        for name, ours, baseline, ratio, target in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
