"""Sites benchmark: HQ and plants on a simulated WAN, and 1,000 runtimes on one router.

    .venv/bin/python bench/bench_sites.py [--skip-wan] [--skip-thousand]

WAN part (root: network namespaces, tests/wan.py): HQ and 3 plants, 40 ms each way and 1 %
emulated loss per plant link, 30 runtimes per plant. Measures HQ's fleet status over the 90
(concurrent vs one call at a time), a 1 MiB deploy to all 90, and how long HQ takes to see a
cut plant link and a restored one.

Thousand part (loopback): 1,000 runtimes in 4 pool processes on one router; the router's RSS
per runtime session, and after a router restart the time until all are back and callable,
with the router's CPU time meanwhile. Heavy: run it alone on the machine, once.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from twisted.internet import defer  # noqa: E402

from harness import DEMO_PROGRAM, Router, wait_until  # noqa: E402
from ide_component import blocking, reactor_thread  # noqa: E402
from plclink import local_setup  # noqa: E402
from plclink.processes import Child, stop_all  # noqa: E402

THOUSAND = 1000
POOLS = 4
DEPLOY_BYTES = 1024 * 1024
rows = []


def row(measure, value, baseline="", note=""):
    rows.append((measure, value, baseline, note))
    print(f"  {measure}: {value} {baseline} {note}", flush=True)


async def one_at_a_time(session, ids):
    for plc_id in ids:
        await session.call(f"{plc_id}.GetPLCstatus")


def bench_wan(work):
    from wan import Wan, answers
    wan = Wan(os.path.join(work, "wan")).build()
    try:
        started = time.monotonic()
        wan.start(registry=False)
        hq = wan.hq_client()
        wan.wait_linked(hq, timeout=180)
        print(f"  (topology up in {time.monotonic() - started:.0f} s)", flush=True)
        ids = [plc_id for plant in wan.plants for plc_id in plant.ids]
        with blocking.open_fleet(wan.hq_url, "Automation", wan.credentials()) as fleet:
            concurrent, serial = [], []
            for _ in range(3):
                begin = time.perf_counter()
                outcomes = fleet.status(None, True)
                concurrent.append(time.perf_counter() - begin)
                assert len(outcomes) == len(ids) and all(o.ok for o in outcomes)
                begin = time.perf_counter()
                reactor_thread.blocking(one_at_a_time, hq.session, ids, timeout=None)
                serial.append(time.perf_counter() - begin)
            fast, slow = statistics.median(concurrent), statistics.median(serial)
            row(f"HQ `fleet status` over {len(ids)} runtimes across the WAN (discovery included),"
                " vs one GetPLCstatus at a time", f"{fast * 1000:.0f} ms", f"{slow * 1000:.0f} ms",
                f"{slow / fast:.1f}× (median of 3)")
            extra = os.path.join(work, "blob.bin")
            with open(extra, "wb") as handle:
                handle.write(os.urandom(DEPLOY_BYTES))
            begin = time.perf_counter()
            outcomes = fleet.deploy(ids, DEMO_PROGRAM, [extra])
            took = time.perf_counter() - begin
            failed = [o.plc_id for o in outcomes if not o.ok]
            row(f"deploy 1 MiB (+ program) from HQ to all {len(ids)} runtimes", f"{took:.1f} s",
                "", f"{len(ids) - len(failed)} deployed" + (f", failed {failed}" if failed else ""))
            plant = wan.plants[0]
            wan.cut(plant)
            begin = time.monotonic()
            wait_until(lambda: not answers(hq, plant.ids[0], 1), 120, interval=0.2,
                       message="HQ's calls to fail")
            failing = time.monotonic() - begin
            wait_until(lambda: not set(plant.ids) & set(fleet.linked_runtimes()), 120,
                       interval=0.2, message="HQ to drop the plant's runtimes")
            row("cut one plant link (ip link down) → HQ's calls to it fail (1 s router-side "
                "timeout) / HQ lists its runtimes as gone", f"{failing:.1f} s / "
                f"{time.monotonic() - begin:.1f} s", "", "the link is dropped by WebSocket "
                "ping, 10 s + 5 s timeout")
            time.sleep(5)
            wan.restore(plant)
            begin = time.monotonic()
            wan.wait_linked(hq, [plant], timeout=180)
            row("restore it → all 30 of its runtimes callable at HQ again",
                f"{time.monotonic() - begin:.1f} s", "", "the plant's side notices by its own "
                "ping, then the link's back-off (≤ 10 s + 1 s jitter)")
        hq.close()
    finally:
        wan.close()


def process_tree(pid) -> list:
    """``pid`` and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as handle:
                todo += [int(child) for child in handle.read().split()]
        except OSError:
            pass
    return found


def tree_usage(pid) -> tuple:
    """(RSS bytes, CPU seconds) of the crossbar processes under the router launcher."""
    rss, cpu = 0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for member in process_tree(pid)[1:]:   # not the launcher itself
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            cpu += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            pass
    return rss, cpu


async def silent(session, ids) -> list:
    """The IDs of ``ids`` that do not answer GetPLCstatus (yet)."""
    results = await defer.DeferredList([session.call(f"{plc_id}.GetPLCstatus") for plc_id in ids],
                                       consumeErrors=True)
    return [plc_id for plc_id, (ok, _) in zip(ids, results) if not ok]


def bench_thousand(work):
    ids = [f"r-{n:04d}" for n in range(1, THOUSAND + 1)]
    router = Router(os.path.join(work, "thousand"))
    local_setup.ensure_principals(router.state_dir, ids)
    router.start()
    children = []
    try:
        rss_empty, _ = tree_usage(router.child.process.pid)
        share = len(ids) // POOLS
        for number in range(POOLS):
            children.append(Child(f"pool{number}", [
                sys.executable, os.path.join(ROOT, "bench", "runtime_pool.py"), "--state-dir",
                router.state_dir, "--url", router.url, "--workdir-root",
                os.path.join(work, "thousand-work"), *ids[number * share:(number + 1) * share]],
                quiet=True))
        client = router.client()
        begin = time.monotonic()
        wait_until(lambda: client.call("wamp.session.count", ["runtime"]) == len(ids), 900,
                   interval=2, message="1,000 runtimes joined")
        joined = time.monotonic() - begin
        wait_until(lambda: all(child.wait_for_line("pool ready", 1) for child in children), 300,
                   message="every pool ready")
        time.sleep(5)
        rss_full, _ = tree_usage(router.child.process.pid)
        row(f"{len(ids)} runtimes on one router: router RSS per runtime session",
            f"{(rss_full - rss_empty) / len(ids) / 1024:.0f} KiB",
            f"{rss_empty / 2**20:.0f} MiB empty", f"{rss_full / 2**20:.0f} MiB with "
            f"{len(ids)} (first start: all joined in {joined:.0f} s)")
        client.close()
        router.stop()
        stopped = time.monotonic()
        router.start()
        begin = time.monotonic()
        _, cpu_start = tree_usage(router.child.process.pid)
        client = router.client()
        wait_until(lambda: client.call("wamp.session.count", ["runtime"]) == len(ids), 900,
                   interval=1, message="1,000 runtimes back")
        back = time.monotonic() - begin
        waiting = ids   # a joined runtime may still be registering its procedures
        while waiting and time.monotonic() - begin < 900:
            waiting = reactor_thread.blocking(silent, client.session, waiting, timeout=None)
        callable_at = time.monotonic() - begin
        _, cpu_end = tree_usage(router.child.process.pid)
        row(f"router restart with {len(ids)} runtimes: all back (sessions) / all callable "
            "after it is ready", f"{back:.0f} s / {callable_at:.0f} s",
            f"router down {begin - stopped:.0f} s",
            f"{len(ids) - len(waiting)}/{len(ids)} answered; router CPU {cpu_end - cpu_start:.0f} s in that "
            f"time ({(cpu_end - cpu_start) / callable_at * 100:.0f} % of one core)")
        client.close()
    finally:
        stop_all(children)
        router.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-wan", action="store_true")
    parser.add_argument("--skip-thousand", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-sites-") as work:
        if not args.skip_wan:
            bench_wan(work)
        if not args.skip_thousand:
            bench_thousand(work)
    print("\n| measure | value | baseline | note |\n|---|---|---|---|")
    for measure, value, baseline, note in rows:
        print(f"| {measure} | {value} | {baseline} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
