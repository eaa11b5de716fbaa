"""What one trace sample costs the cycle at the process boundary, by transport.

    .venv/bin/python bench/bench_boundary.py

The cycle hands one sample per cycle to the runtime process. This measures the producer's side
(what the cycle pays) for the ring in a memfd mapping that the runtime uses
(runtime_component/shared_state.py), for the same ring in a multiprocessing.shared_memory
block, and for a socket pair (the command pipe), each with a consumer process draining every
10 ms as the runtime does, one sample per millisecond (the shortest period). Prints one table; the
baseline is the socket pair. The two mappings cost the same; the memfd is chosen because it
has no name to leak when the runtime is killed (shared_memory's blocks live in /dev/shm until
unlinked, and need its resource tracker process) and passes to the child as a descriptor.
"""
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import time
from multiprocessing import shared_memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from runtime_component import shared_state  # noqa: E402
from runtime_component.shared_state import SharedState  # noqa: E402

SAMPLES = 5_000
SIZES = (16, 4096)
DRAIN_INTERVAL = 0.01
PACE = 0.001  # one sample every 1 ms: the shortest period


class _MappedState(SharedState):
    """The same ring over a multiprocessing.shared_memory block instead of a memfd."""

    def __init__(self, block):
        self._block = block  # the mapping lives as long as the block object
        self._buf = block.buf


def _drain_ring(make_state, stop):
    state = make_state()
    while not stop.is_set():
        state.take_samples()
        time.sleep(DRAIN_INTERVAL)


def _drain_socket(sock, stop):
    sock.setblocking(False)
    while not stop.is_set():
        try:
            while sock.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
        time.sleep(DRAIN_INTERVAL)


def _timed(put, data):
    times = []
    deadline = time.perf_counter()
    for tick in range(SAMPLES):
        started = time.perf_counter_ns()
        put(tick, data)
        times.append(time.perf_counter_ns() - started)
        deadline += PACE
        while time.perf_counter() < deadline:
            pass
    times.sort()
    return statistics.median(times) / 1000, times[int(0.99 * len(times))] / 1000, times[-1] / 1000


def memfd_ring(data):
    fd = shared_state.create()
    stop = multiprocessing.Event()
    consumer = multiprocessing.Process(target=_drain_ring, args=(lambda: SharedState(fd), stop))
    consumer.start()
    state = SharedState(fd)
    try:
        return _timed(lambda tick, payload: state.put_sample(1, tick, payload), data) + (
            state.get("samples_dropped"),)
    finally:
        stop.set()
        consumer.join()
        state.close()
        os.close(fd)


def shm_ring(data):
    block = shared_memory.SharedMemory(create=True, size=shared_state.SIZE)
    stop = multiprocessing.Event()
    name = block.name
    consumer = multiprocessing.Process(
        target=_drain_ring,
        args=(lambda: _MappedState(shared_memory.SharedMemory(name=name)), stop))
    consumer.start()
    state = _MappedState(block)
    try:
        return _timed(lambda tick, payload: state.put_sample(1, tick, payload), data) + (
            state.get("samples_dropped"),)
    finally:
        stop.set()
        consumer.join()
        del state
        block.close()
        block.unlink()


def socket_pair(data):
    ours, theirs = socket.socketpair()
    stop = multiprocessing.Event()
    consumer = multiprocessing.Process(target=_drain_socket, args=(theirs, stop))
    consumer.start()
    header = struct.Struct("<III")
    try:
        return _timed(lambda tick, payload: ours.sendall(
            header.pack(len(payload), 1, tick) + payload), data) + (0,)
    finally:
        stop.set()
        consumer.join()
        ours.close()
        theirs.close()


def main():
    multiprocessing.set_start_method("fork")
    print(f"command: .venv/bin/python bench/bench_boundary.py    ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores; {SAMPLES} samples each, consumer draining every "
          f"{DRAIN_INTERVAL * 1000:g} ms)")
    print("| sample | transport | median µs | p99 µs | max µs | median vs socket pair | dropped |")
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        data = os.urandom(size)
        base = socket_pair(data)
        for name, measure in (("ring in a memfd (ours)", memfd_ring),
                              ("ring in multiprocessing.shared_memory", shm_ring)):
            median, p99, worst, dropped = measure(data)
            print(f"| {size} B | {name} | {median:.2f} | {p99:.2f} | {worst:.0f} | "
                  f"{median / base[0]:.2f} | {dropped} |")
        print(f"| {size} B | socket pair | {base[0]:.2f} | {base[1]:.2f} | {base[2]:.0f} | 1.00 | "
              "(blocks instead) |")


if __name__ == "__main__":
    main()
