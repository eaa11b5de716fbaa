"""Runtime benchmark (the core, and the bridge): round trips, cycle jitter under load, transfer,
and the cost of running the program in a process of its own.

    .venv/bin/python bench/bench_runtime.py [--baseline-commit 95e2378]

Starts its own router and runtimes on free loopback ports and prints one table; each row
compares ours against a baseline measured in the same run. The split's cost is measured
against the thread model of ``--baseline-commit`` (the last commit that ran the program in a
thread of the runtime), extracted from git into a temporary directory and run in this session.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from twisted.internet import reactor, task  # noqa: E402

from harness import Router  # noqa: E402
from ide_component import reactor_thread  # noqa: E402
from plclink.processes import Child, plclink_command  # noqa: E402

ROUND_TRIPS = 2000
TRANSFER_BYTES = 5 * 1024 * 1024
LOAD_RATE = 200  # calls per second
LOAD_SECONDS = 10
FAST_SECONDS = 5  # per run at the 1 ms period
PROGRAM = os.path.join(ROOT, "tests", "programs", "all_types.py")
COUNTER_INDEX = 20  # all_types.py's counter: traced so that every cycle makes a sample
SPLIT_RUNS = 5
# Runs in a fresh interpreter on the tree given as argv[1]: NewPLC + StartPLC time (median, and
# the first after boot), the runtime's RSS growth with a loaded, started program, and the RSS
# of the program processes (the running one and the spare).
SPLIT_COST = r"""
import hashlib, json, statistics, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from runtime_component.plc_object import PLCObject

def rss(pid="self"):
    with open(f"/proc/{pid}/status") as handle:
        return next(int(l.split()[1]) for l in handle if l.startswith("VmRSS:")) / 1024

program = open(sys.argv[2], "rb").read()
md5 = hashlib.md5(program).hexdigest()
plc = PLCObject("bench", tempfile.mkdtemp(prefix="plclink-split-"))
plc.boot()
base = rss()
times, grown, child = [], [], []
for _ in range(int(sys.argv[3])):
    started = time.perf_counter()
    blob = plc.AppendChunkToBlob(program, plc.SeedBlob(md5.encode()))
    plc.NewPLC(md5, blob, [])
    plc.StartPLC()
    times.append(time.perf_counter() - started)
    time.sleep(1.0)  # transfers are seconds apart: time for the spare process to start
    grown.append(rss() - base)
    hosts = [getattr(plc, "host", None), getattr(plc, "_spare", None)]
    child.append(sum(rss(host.process.pid) for host in hosts if host is not None))
    plc.StopPLC()
    plc.RepairPLC()
plc.shutdown()
print(json.dumps({"start_ms": statistics.median(times) * 1000, "first_ms": times[0] * 1000,
                  "runtime_growth_mib":
                  statistics.median(grown), "program_mib": statistics.median(child)}))
"""


async def timed_calls(session, procedure, count):
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await session.call(procedure)
        samples.append(time.perf_counter() - started)
    return samples


def interleaved_medians(client, first: str, second: str, calls: int):
    """Median round trip (µs) of two procedures, called in alternating blocks so that drift of
    the machine hits both alike."""
    samples = {first: [], second: []}
    for _ in range(4):
        for procedure in (first, second):
            samples[procedure] += reactor_thread.blocking(timed_calls, client.session, procedure,
                                                          calls // 4, timeout=None)
    return statistics.median(samples[first]) * 1e6, statistics.median(samples[second]) * 1e6


def start_bridged_runtime(router, state, children):
    """erpc-07: an eRPC-only runtime carried onto the router by the bridge."""
    from erpc_harness import ErpcRuntime
    from plclink import local_setup
    erpc = ErpcRuntime(os.path.join(state, "erpc-07"), plc_id="erpc-07", program=None)
    children.append(erpc.child)
    config = os.path.join(state, "bridge.yaml")
    with open(config, "w") as handle:
        handle.write(f'runtimes:\n  - {{id: erpc-07, uri: "{erpc.uri}"}}\n')
    bridge = Child("bridge", plclink_command(
        "bridge", "--config", config, "--url", router.url, "--secret-file",
        local_setup.write_secret_file(state, "bridge")), quiet=True)
    children.append(bridge)
    if not bridge.wait_for_line("bridge joined realm", 30):
        raise SystemExit("bridge did not join:\n" + "".join(bridge.lines))


def cycle_stats(client, plc_id):
    return json.loads(client.call(f"{plc_id}.ExtendedCall", "GetCycleStats", b""))


def restart_plc(client, plc_id):
    client.call(f"{plc_id}.StopPLC")
    client.call(f"{plc_id}.StartPLC")


def jitter(client, plc_id, under_load: bool, seconds: float, traced=(COUNTER_INDEX,)):
    """Cycle lateness over ``seconds`` of a fresh start; under load: LOAD_RATE status calls/s
    and a subscriber to the trace events of ``traced`` (indexes), traced every cycle. Also
    returns the ticks the trace events carried, to check that none was lost or duplicated,
    and the samples themselves ("trace_events")."""
    restart_plc(client, plc_id)
    events = []
    if under_load:
        subscription = reactor_thread.blocking(
            client.session.subscribe, lambda token, samples: events.extend(samples),
            f"{plc_id}.trace")
        client.call(f"{plc_id}.SetTraceVariablesList", [[index, b""] for index in traced])

        def fire():
            client.session.call(f"{plc_id}.GetPLCstatus").addErrback(lambda failure: None)
        loop = task.LoopingCall(fire)
        reactor.callFromThread(loop.start, 1 / LOAD_RATE)
        time.sleep(seconds)
        reactor.callFromThread(loop.stop)
        stats = cycle_stats(client, plc_id)
        client.call(f"{plc_id}.SetTraceVariablesList", [])
        reactor_thread.blocking(subscription.unsubscribe)
    else:
        time.sleep(seconds)
        stats = cycle_stats(client, plc_id)
    ticks = [tick for tick, _ in events]
    stats["trace_gaps"] = sum(1 for a, b in zip(ticks, ticks[1:]) if b != a + 1)
    stats["trace_samples"] = len(ticks)
    stats["trace_events"] = events
    return stats


def split_cost(commit: str | None):
    """(ours, thread model at ``commit``) as dicts of SPLIT_COST's figures; the second is None
    when git cannot give that commit."""
    def measure(tree):
        out = subprocess.run([sys.executable, "-c", SPLIT_COST, tree, PROGRAM, str(SPLIT_RUNS)],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out.splitlines()[-1])
    ours = measure(ROOT)
    if not commit:
        return ours, None
    with tempfile.TemporaryDirectory(prefix="plclink-thread-model-") as tree:
        archive = subprocess.run(["git", "-C", ROOT, "archive", commit, "plc_protocol",
                                  "runtime_component"], capture_output=True)
        if archive.returncode != 0:
            return ours, None
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        return ours, measure(tree)


def process_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) / 1024


def transfer_times(router, workdir):
    """5 MiB over WAMP: our chunking (large chunks, a window of calls in flight) against
    Beremiz's (4095-byte chunks, one call at a time), to the same runtime."""
    from ide_component.blocking import connect
    program = os.path.join(workdir, "big_program.py")
    with open(PROGRAM, "rb") as source, open(program, "wb") as target:
        target.write(source.read())
        target.write(b"# padding\n" * (TRANSFER_BYTES // 10))
    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#plc-01"
    with connect(uri, credentials=router.credentials("ide")) as plc:
        started = time.perf_counter()
        plc.transfer(program, force=True)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        plc.transfer(program, force=True, chunk_size=4095, window=1)
        beremiz = time.perf_counter() - started
        plc.start()
    return ours, beremiz


def row(name, ours, baseline, unit, target, ok):
    ratio = ours / baseline if baseline else float("nan")
    return (f"| {name} | {ours:.3f} {unit} | {baseline:.3f} {unit} | {ratio:.2f} | {target} | "
            f"{'pass' if ok else 'FAIL'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-commit", default="95e2378",
                        help="commit of the thread model for the split's cost (default "
                             "%(default)s; empty: skip)")
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="plclink-bench-")
    router = Router(state).start()
    children = []
    try:
        runtime = router.start_runtime("plc-01", os.path.join(state, "plc-01"),
                                       program=PROGRAM, extras=(), autostart=True)
        children.append(runtime)
        children.append(router.start_runtime("plc-03", os.path.join(state, "plc-03"),
                                              "--period-ms", "1", program=PROGRAM, extras=()))
        echo = Child("echo", [sys.executable, os.path.join(ROOT, "bench", "echo_callee.py"),
                              router.url, router.realm, "plc-02", router.secret("plc-02")], quiet=True)
        children.append(echo)
        if not echo.wait_for_line("echo ready", 30):
            raise SystemExit("echo callee did not start:\n" + "".join(echo.lines))
        start_bridged_runtime(router, state, children)
        client = router.client("ide")
        client.call("plc-01.GetPLCstatus")
        client.call("erpc-07.GetPLCstatus")
        ours_us, echo_us = interleaved_medians(client, "plc-01.GetPLCstatus", "plc-02.Echo",
                                               ROUND_TRIPS)
        bridged_us, native_us = interleaved_medians(client, "erpc-07.GetPLCstatus",
                                                    "plc-01.GetPLCstatus", ROUND_TRIPS // 2)
        idle = jitter(client, "plc-01", False, LOAD_SECONDS)
        loaded = jitter(client, "plc-01", True, LOAD_SECONDS)
        runtime_rss = process_rss_mib(runtime.process.pid)
        program_rss = process_rss_mib(loaded["program_pid"])
        client.call("plc-01.StopPLC")  # one cycling program at a time
        fast_idle = jitter(client, "plc-03", False, FAST_SECONDS)
        fast_loaded = jitter(client, "plc-03", True, FAST_SECONDS)
        client.call("plc-03.StopPLC")
        transfer_ours, transfer_beremiz = transfer_times(router, state)
        client.close()
    finally:
        for child in children:
            child.stop()
        router.stop()
    split, thread_model = split_cost(args.baseline_commit)
    print(f"command: .venv/bin/python bench/bench_runtime.py    ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores)")
    print("| measure | ours | baseline | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    print(row("GetPLCstatus round trip (median) vs bare echo", ours_us / 1000, echo_us / 1000,
              "ms", "ratio ≤ 1.3", ours_us / echo_us <= 1.3))
    ratio = loaded["lateness_ms_p99"] / idle["lateness_ms_p99"]
    print(row(f"cycle lateness p99 at 10 ms, {LOAD_RATE} status calls/s + every-cycle trace "
              "subscriber vs idle", loaded["lateness_ms_p99"], idle["lateness_ms_p99"], "ms",
              "ratio ≤ 1.2", ratio <= 1.2))
    print(row("cycle lateness p50 at 1 ms, loaded vs idle", fast_loaded["lateness_ms_p50"],
              fast_idle["lateness_ms_p50"], "ms", "reported", True))
    print(row("cycle lateness p99 at 1 ms, loaded vs idle", fast_loaded["lateness_ms_p99"],
              fast_idle["lateness_ms_p99"], "ms", "reported", True))
    print(row("GetPLCstatus via router + bridge + eRPC vs a native WAMP runtime",
              bridged_us / 1000, native_us / 1000, "ms", "ratio ≤ 1.5",
              bridged_us / native_us <= 1.5))
    print(row("5 MiB transfer over WAMP, ours vs Beremiz's way (4095 B, 1 call at a time)",
              transfer_ours, transfer_beremiz, "s", "ratio ≤ 0.1 (10× faster)",
              transfer_beremiz / transfer_ours >= 10))
    if thread_model is not None:
        print(row(f"NewPLC + StartPLC (median of {SPLIT_RUNS}), program process vs thread model "
                  f"({args.baseline_commit})", split["start_ms"], thread_model["start_ms"], "ms",
                  "reported", True))
        print(row("first NewPLC + StartPLC after boot, program process vs thread model",
                  split["first_ms"], thread_model["first_ms"], "ms", "reported", True))
        print(row("runtime RSS growth with a started program, vs thread model",
                  split["runtime_growth_mib"], thread_model["runtime_growth_mib"], "MiB",
                  "reported", True))
    print(f"program processes' RSS (running + spare): {split['program_mib']:.1f} MiB; the running "
          f"one under plclink runtime: {program_rss:.1f} MiB (runtime process {runtime_rss:.1f} MiB)")
    for name, stats in (("10 ms", loaded), ("1 ms", fast_loaded)):
        print(f"(under load at {name}: {stats['cycles_measured']} cycles, max lateness "
              f"{stats['lateness_ms_max']:.3f} ms, overruns {stats['overruns']}, realtime "
              f"{stats['realtime']}; {stats['trace_samples']} samples in trace events, "
              f"{stats['trace_gaps']} gaps, {stats['trace_samples_lost']} lost at the boundary)")


if __name__ == "__main__":
    main()
