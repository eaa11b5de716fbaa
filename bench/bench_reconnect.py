"""Every runtime comes back: N runtimes (bench/runtime_pool.py processes) on one router, the
router killed with SIGKILL and started again, then every runtime asked GetPLCstatus over and
over until all answer or the deadline passes. Reports, from the moment the restarted router
is ready, when the sessions were all back, when 50 %, 99 % and all were callable, and which
never were. Baseline: the first start (every runtime joining an idle router).

    .venv/bin/python bench/bench_reconnect.py [--runtimes 1000] [--pools 4] [--deadline 120]

Target (issue 18): all callable within 30 s of the router being ready, at 1,000. Heavy: at
1,000 run it alone on the machine.
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "bench")]

from bench_sites import silent  # noqa: E402
from harness import Router, wait_until  # noqa: E402
from ide_component import reactor_thread  # noqa: E402
from plclink import local_setup  # noqa: E402
from plclink.processes import Child, stop_all  # noqa: E402

TARGET = 30.0


def until_all_callable(router, ids, deadline: float, begin: float) -> tuple:
    """({fraction: seconds since ``begin``}, IDs never callable by ``begin + deadline``),
    asking the silent ones again and again."""
    client = None
    while client is None:
        try:
            client = router.client()
        except Exception:
            if time.monotonic() - begin > deadline:
                raise
            time.sleep(0.2)
    reached, waiting = {}, list(ids)
    try:
        while waiting and time.monotonic() - begin < deadline:
            waiting = reactor_thread.blocking(silent, client.session, waiting, timeout=None)
            answered = (len(ids) - len(waiting)) / len(ids)
            for fraction in (0.5, 0.99, 1.0):
                if answered >= fraction and fraction not in reached:
                    reached[fraction] = time.monotonic() - begin
            if waiting:
                time.sleep(0.5)
    finally:
        client.close()
    return reached, waiting


def sessions_back(router, count: int, deadline: float, begin: float) -> float:
    """Seconds from ``begin`` until ``count`` runtime sessions are on the router (nan: never)."""
    client = router.client()
    try:
        wait_until(lambda: client.call("wamp.session.count", ["runtime"]) >= count, deadline,
                   interval=0.5, message=f"{count} runtime sessions")
    except AssertionError:
        return float("nan")
    finally:
        client.close()
    return time.monotonic() - begin


def start_again(router, within: float = 60.0) -> None:
    """Start the killed router on the same ports; they may take a moment to be free again
    (its workers dying after the launcher). Returns once its ports answer: "ready"."""
    deadline = time.monotonic() + within
    while True:
        time.sleep(2)
        try:
            router.start()
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", type=int, default=1000)
    parser.add_argument("--pools", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=120.0,
                        help="seconds to keep asking after the restart (default %(default)s)")
    args = parser.parse_args(argv)
    ids = [f"r-{n:04d}" for n in range(1, args.runtimes + 1)]
    one, five, _ = os.getloadavg()
    print(f"{args.runtimes} runtimes in {args.pools} pools; load average {one:.1f} / {five:.1f} "
          f"on {os.cpu_count()} cores at start", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-reconnect-") as work:
        router = Router(os.path.join(work, "router"))
        local_setup.ensure_principals(router.state_dir, ids)
        router.start()
        share = -(-len(ids) // args.pools)
        children = []
        try:
            for number in range(args.pools):
                chunk = ids[number * share:(number + 1) * share]
                if chunk:
                    children.append(Child(f"pool{number}", [
                        sys.executable, os.path.join(ROOT, "bench", "runtime_pool.py"),
                        "--state-dir", router.state_dir, "--url", router.url,
                        "--workdir-root", os.path.join(work, "runtimes"), *chunk], quiet=True))
            first, _ = until_all_callable(router, ids, 900, time.monotonic())
            print(f"first start: all callable after {first.get(1.0, float('nan')):.0f} s",
                  flush=True)
            router.kill()
            killed = time.monotonic()
            start_again(router)
            ready = time.monotonic()
            down = ready - killed
            back = sessions_back(router, len(ids), args.deadline, ready)
            reached, never = until_all_callable(router, ids, args.deadline, ready)
        finally:
            stop_all(children)
            router.stop()
    one, five, _ = os.getloadavg()
    print("\n| measure | value |\n|---|---|")
    print(f"| runtimes / pools | {args.runtimes} / {args.pools} |")
    print(f"| first start (idle router): all callable | {first.get(1.0, float('nan')):.0f} s |")
    print(f"| router down (kill -9 to ready) | {down:.0f} s |")
    print(f"| after restart: all sessions back | {back:.0f} s |")
    for fraction, label in ((0.5, "50 %"), (0.99, "99 %"), (1.0, "all")):
        value = reached.get(fraction)
        print(f"| after restart: {label} callable | "
              f"{f'{value:.0f} s' if value is not None else 'never'} |")
    print(f"| never callable within {args.deadline:.0f} s | {len(never)} "
          f"{' '.join(never[:10])} |")
    print(f"| target: all within {TARGET:.0f} s | "
          f"{'pass' if reached.get(1.0, 1e9) <= TARGET else 'FAIL'} |")
    print(f"\nload average {one:.1f} / {five:.1f} at the end (1 / 5 min): a loaded machine "
          "stretches every figure")
    return 0 if not never else 1


if __name__ == "__main__":
    sys.exit(main())
