"""eRPC throughput: our runtime's server against the ``erpc`` package's own server, and a
5 MiB program transfer over ERPC://. Loopback only, bounded run time (well under a minute).

Both servers run in their own process and answer with the same bytes: the reference one is
``erpc.simple_server.SimpleServer`` on ``erpc.transport.TCPTransport`` (a thread per accept,
one client at a time) whose service decodes and answers with our codec and a real PLC object.
The client is one blocking loop over a socket with our framing, the same for both.

    .venv/bin/python bench/bench_erpc.py [--calls 3000] [--mib 5]
"""
import argparse
import hashlib
import os
import shlex
import socket
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from plc_protocol.erpc_codec import decode_reply, decode_request, encode_request  # noqa: E402
from plc_protocol.erpc_framing import FrameDecoder, frame  # noqa: E402
from plc_protocol.methods import METHODS  # noqa: E402
from plclink.processes import Child, plclink_command  # noqa: E402

DEMO_PROGRAM = os.path.join(ROOT, "runtime_component", "demo", "tank.py")
TIME_CAP = 15.0  # seconds of calls per server, whatever --calls says
ROUNDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the reference server (run as a child: --reference-server PORT WORKDIR) -------------------

def serve_reference(port: int, workdir: str) -> None:
    from erpc.basic_codec import BasicCodec
    from erpc.server import Service
    from erpc.simple_server import SimpleServer
    from erpc.transport import TCPTransport

    from runtime_component.erpc_server import answer
    from runtime_component.plc_object import PLCObject

    plc = PLCObject("bench-ref", workdir)
    plc.boot()

    class PLCObjectService(Service):
        """Service 1 for erpc's server, answering through our codec and PLC object."""

        def __init__(self):
            super().__init__(1)
            self._methods = {method.erpc_id: self._handle for method in METHODS}

        def _handle(self, sequence, codec):
            reply = answer(plc, decode_request(bytes(codec.buffer)))
            codec.buffer = reply

    server = SimpleServer(TCPTransport("127.0.0.1", port, True), BasicCodec)
    server.add_service(PLCObjectService())
    print("reference server ready", flush=True)
    server.run()


# --- the client ---------------------------------------------------------------------------------

class BlockingClient:
    def __init__(self, port):
        # Retry instead of probing: the reference server dies when a probe disconnects.
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = FrameDecoder()
        self.pending = []
        self.sequence = 0

    def call(self, method, *args):
        self.sequence += 1
        self.sock.sendall(frame(encode_request(method, args, self.sequence)))
        while not self.pending:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            self.pending.extend(self.decoder.feed(data))
        _, result, code = decode_reply(method, self.pending.pop(0), self.sequence)
        if code:
            raise RuntimeError(f"{method} answered code {code}")
        return result

    def close(self):
        self.sock.close()


def calls_per_second(client, calls) -> float:
    started = time.perf_counter()
    done = 0
    while done < calls and time.perf_counter() - started < TIME_CAP / ROUNDS:
        client.call("GetPLCstatus")
        done += 1
    return done / (time.perf_counter() - started)


def pin(pid: int, cpu: int) -> bool:
    """Client on one core, servers on the other: each server then gets the same, undisturbed
    core, instead of whatever the scheduler hands out on a 2-core machine."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    for task in os.listdir(f"/proc/{pid}/task") if pid else [0]:
        os.sched_setaffinity(int(task), {cpu})
    return True


def compare(ports: dict, calls: int) -> dict:
    """Median calls/s per server over rounds taken in turn, so that a slow moment of the
    machine (2 cores shared by client and server) weighs on both alike."""
    clients = {name: BlockingClient(port) for name, port in ports.items()}
    try:
        for client in clients.values():
            for _ in range(200):  # warm-up
                client.call("GetPLCstatus")
        rates = {name: [] for name in clients}
        for _ in range(ROUNDS):
            for name, client in clients.items():
                rates[name].append(calls_per_second(client, calls // ROUNDS))
        return {name: statistics.median(values) for name, values in rates.items()}
    finally:
        for client in clients.values():
            client.close()


def transfer_time(port, mib) -> tuple[float, float, int]:
    """(seconds sending chunks, seconds in total with NewPLC, program bytes)."""
    from ide_component.erpc_connector import MAX_CHUNK_SIZE
    with open(DEMO_PROGRAM, "rb") as handle:
        program = handle.read()
    program += b"\n# " + b"p" * (mib * (1 << 20) - len(program) - 4) + b"\n"
    md5 = hashlib.md5(program).hexdigest()
    client = BlockingClient(port)
    try:
        started = time.perf_counter()
        client.call("PurgeBlobs")
        blob = client.call("SeedBlob", md5.encode())
        for start in range(0, len(program), MAX_CHUNK_SIZE):
            blob = client.call("AppendChunkToBlob", program[start:start + MAX_CHUNK_SIZE], blob)
        sent = time.perf_counter() - started
        assert blob == hashlib.md5(md5.encode() + program).digest()
        assert client.call("NewPLC", md5, blob, []) is True
        return sent, time.perf_counter() - started, len(program)
    finally:
        client.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--mib", type=int, default=5)
    parser.add_argument("--reference-server", nargs=2, metavar=("PORT", "WORKDIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference_server:
        serve_reference(int(args.reference_server[0]), args.reference_server[1])
        return 0

    print("$ " + shlex.join([os.path.relpath(sys.executable, ROOT), "bench/bench_erpc.py",
                             *(argv if argv is not None else sys.argv[1:])]))
    print(f"# {os.cpu_count()} cores, loopback 127.0.0.1; {args.calls} sequential GetPLCstatus "
          f"calls per server in {ROUNDS} alternating rounds (median; at most {TIME_CAP:g} s), "
          f"then a {args.mib} MiB transfer")
    children = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            ours = Child("ours", plclink_command(
                "runtime", "--no-wamp", "--erpc", "--erpc-port", "0",
                "--workdir", os.path.join(tmp, "ours")), quiet=True)
            children.append(ours)
            if not ours.wait_for_line("ready:", 30):
                raise RuntimeError("our runtime did not start:\n" + "".join(ours.lines[-20:]))
            from runtime_component.erpc_server import listening_port
            our_port = next(port for port in map(listening_port, ours.lines) if port)

            reference_port = free_port()
            os.makedirs(os.path.join(tmp, "reference"))
            reference = Child("reference", [sys.executable, os.path.abspath(__file__),
                                            "--reference-server", str(reference_port),
                                            os.path.join(tmp, "reference")], quiet=True)
            children.append(reference)
            if not reference.wait_for_line("reference server ready", 30):
                raise RuntimeError("reference server did not start:\n"
                                   + "".join(reference.lines[-20:]))

            pinned = all([pin(ours.process.pid, 1), pin(reference.process.pid, 1), pin(0, 0)])
            rates = compare({"ours": our_port, "erpc": reference_port}, args.calls)
            ours_rate, reference_rate = rates["ours"], rates["erpc"]
            sent, total, size = transfer_time(our_port, args.mib)
        finally:
            for child in children:
                child.stop()
    print(f"# client pinned to CPU 0, both servers to CPU 1: {'yes' if pinned else 'no'}")
    print()
    print(f"{'measure':<44} {'value':>12}  unit")
    print(f"{'-' * 44} {'-' * 12}  {'-' * 8}")
    print(f"{'GetPLCstatus, plclink runtime eRPC server':<44} {ours_rate:>12,.0f}  calls/s")
    print(f"{'GetPLCstatus, erpc SimpleServer (TCPTransport)':<44} {reference_rate:>12,.0f}  "
          f"calls/s")
    print(f"{'ratio ours / erpc (target >= 1)':<44} {ours_rate / reference_rate:>12.2f}  x")
    mib = size / (1 << 20)
    print(f"{f'transfer {mib:.0f} MiB over ERPC: chunks sent':<44} {sent:>12.2f}  s"
          f"  ({mib / sent:.1f} MiB/s)")
    print(f"{f'transfer {mib:.0f} MiB over ERPC: with NewPLC':<44} {total:>12.2f}  s"
          f"  ({mib / total:.1f} MiB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
