"""Runtime benchmark (the core, and the bridge): round trips, cycle jitter under load, transfer.

    .venv/bin/python bench/bench_runtime.py

Starts its own router and runtime on free loopback ports and prints one table; each row
compares ours against a baseline measured in the same run.
"""
import json
import os
import statistics
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
PROGRAM = os.path.join(ROOT, "tests", "programs", "all_types.py")


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


def cycle_stats(client):
    return json.loads(client.call("plc-01.ExtendedCall", "GetCycleStats", b""))


def restart_plc(client):
    client.call("plc-01.StopPLC")
    client.call("plc-01.StartPLC")


def jitter(client, under_load: bool):
    restart_plc(client)
    if under_load:
        def fire():
            client.session.call("plc-01.GetPLCstatus").addErrback(lambda failure: None)
        loop = task.LoopingCall(fire)
        reactor.callFromThread(loop.start, 1 / LOAD_RATE)
        time.sleep(LOAD_SECONDS)
        reactor.callFromThread(loop.stop)
    else:
        time.sleep(LOAD_SECONDS)
    return cycle_stats(client)


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
    state = tempfile.mkdtemp(prefix="plclink-bench-")
    router = Router(state).start()
    children = []
    try:
        children.append(router.start_runtime("plc-01", os.path.join(state, "plc-01"),
                                             program=PROGRAM, extras=(), autostart=True))
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
        idle = jitter(client, under_load=False)
        loaded = jitter(client, under_load=True)
        transfer_ours, transfer_beremiz = transfer_times(router, state)
        print(f"command: .venv/bin/python bench/bench_runtime.py    ({time.strftime('%Y-%m-%d')}, "
              f"{os.cpu_count()} cores)")
        print("| measure | ours | baseline | ratio | target | result |")
        print("|---|---|---|---|---|---|")
        print(row("GetPLCstatus round trip (median) vs bare echo", ours_us / 1000, echo_us / 1000,
                  "ms", "ratio ≤ 1.3", ours_us / echo_us <= 1.3))
        print(row(f"cycle lateness p99 at 10 ms, {LOAD_RATE} status calls/s vs idle",
                  loaded["lateness_ms_p99"], idle["lateness_ms_p99"], "ms", "ours ≤ 1 ms",
                  loaded["lateness_ms_p99"] <= 1.0))
        print(row("GetPLCstatus via router + bridge + eRPC vs a native WAMP runtime",
                  bridged_us / 1000, native_us / 1000, "ms", "ratio ≤ 1.5",
                  bridged_us / native_us <= 1.5))
        print(row("5 MiB transfer over WAMP, ours vs Beremiz's way (4095 B, 1 call at a time)",
                  transfer_ours, transfer_beremiz, "s", "ratio ≤ 0.1 (10× faster)",
                  transfer_beremiz / transfer_ours >= 10))
        print(f"(under load: {loaded['cycles_measured']} cycles, max lateness "
              f"{loaded['lateness_ms_max']:.3f} ms, overruns {loaded['overruns']})")
        client.close()
    finally:
        for child in children:
            child.stop()
        router.stop()


if __name__ == "__main__":
    main()
