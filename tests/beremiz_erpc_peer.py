"""A reference eRPC peer for the tests that behaves like the Beremiz runtime (protocol.md §9).

It is built on the ``erpc`` package's own server, as Beremiz's ``runtime/eRPCServer.py`` is:
``erpc.simple_server.SimpleServer`` over ``erpc.transport.TCPTransport`` in server mode with
``BasicCodec``, serving service 1 with the 14 methods of Beremiz's IDL only. So, like Beremiz:

- an unknown method id (ExtendedCall, 15) gets no reply at all, and the connection stays usable;
- a handler that raises gets no reply (ResetLogCount on an empty runtime, an unknown blob id,
  GetLogMessage of a message that does not exist);
- one client at a time: a new connection takes the server over as erpc's transport does it
  (the previous client's next request is read half from each socket, then it is reset);
- MatchMD5 answers true after a failed load (the md5 is recorded, the status is Broken);
- NewPLC while Started answers False (rc 0), not an error;
- one traced-and-forced list (UpstreamDebugger): -5 for an empty list, forces kept until a
  new non-empty list;
- GetPLCID answers (ID, secret) for pairing.

The PLC is an in-memory state machine: blobs, NewPLC (a program blob starting with ``FAIL``
fails to load: Broken), Start/Stop, logs per level, and a trace of a fixed set of variables,
the one ``tests/data/VARIABLES.csv`` describes. Run it as a process:

    python tests/beremiz_erpc_peer.py --id beremiz-01 [--port 0] [--psk-file psk.txt]

It prints ``beremiz peer listening on HOST:PORT`` once the port is open.
"""
import argparse
import hashlib
import os
import socket
import sys
import time

from erpc.basic_codec import BasicCodec
from erpc.server import Service
from erpc.simple_server import SimpleServer
from erpc.transport import ConnectionClosed, TCPTransport

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plc_protocol.erpc_codec import SERVICE_ID, decode_request, encode_reply  # noqa: E402
from plc_protocol.erpc_framing import CRC16  # noqa: E402
from plc_protocol.iec_types import decode_force, encode, iec_type  # noqa: E402
from plc_protocol.log_levels import LOG_LEVEL_COUNT  # noqa: E402
from plc_protocol.methods import BEREMIZ_METHODS  # noqa: E402
from plc_protocol.status import PLCStatus  # noqa: E402
from plc_protocol.trace_limits import DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW  # noqa: E402

LISTENING = "beremiz peer listening on {host}:{port}"
FAILING_PROGRAM = b"FAIL"   # a program blob starting with this fails to load
CRITICAL, WARNING, INFO, DEBUG = range(LOG_LEVEL_COUNT)
MAX_SAMPLES = 100           # per GetTraceVariables: older cycles are dropped
_I = "CONFIG.RESOURCE1.INSTANCE0."

# The built program's debuggable variables, in trace index order (see tests/data/VARIABLES.csv),
# each with its value at a given tick.
VARIABLES = (
    (_I + "LEVEL", "REAL", lambda tick: 40.0 + (tick % 100) / 10),
    (_I + "PUMP", "BOOL", lambda tick: (tick // 50) % 2 == 0),
    (_I + "TON0.IN", "BOOL", lambda tick: (tick // 50) % 2 == 0),
    (_I + "TON0.PT", "TIME", lambda tick: 5.0),
    (_I + "TON0.Q", "BOOL", lambda tick: False),
    (_I + "TON0.ET", "TIME", lambda tick: (tick % 50) * 0.02),
    (_I + "COUNT", "DINT", lambda tick: tick),
    (_I + "MANUAL", "BOOL", lambda tick: False),
    (_I + "SETPOINT", "REAL", lambda tick: 45.0),
    (_I + "LABEL", "STRING", lambda tick: "tank"),
    ("CONFIG.RESOURCE1.INSTANCE0.ALARM", "BOOL", lambda tick: False),
)


class UpstreamDebugger:
    """Beremiz's debugger as runtime/PLCObject.py and targets/plc_debug.c run it: ONE
    traced-and-forced list per runtime, shared by both peers (the WAMP one has no samples).

    - every SetTraceVariablesList counts the token up, so an older token reads Broken;
    - an empty list, or any list while no library is loaded (its suspendDebug stub answers -1),
      only suspends the debugger: -5 (DEBUG_SUSPENDED), and **forces stay in effect**;
    - a non-empty list first calls ResetDebugVariables (every force lifted), then registers each
      entry; a force whose size is not the type's (also a 0-byte one: b"" as Beremiz's WAMP
      runtime receives it) fails with -3 after resetting everything; an index past the table is
      ignored (plc_debug.c registers nothing and answers 0).

    Orders carry None for "not forced" (Beremiz's eRPC server turns an empty force into None).
    """

    def __init__(self, tick):
        self.tick = tick
        self.token = 0
        self.traced = []            # indexes, in registration order
        self.forces = {}            # index -> raw force
        self.last_tick = tick()

    def set_list(self, orders, loaded: bool) -> int:
        self.token += 1
        if not orders or not loaded:
            self.traced = []
            return DEBUG_SUSPENDED
        self.traced, self.forces = [], {}
        for index, force in orders:
            if index >= len(VARIABLES):
                continue
            if force is not None:
                if len(force) != iec_type(VARIABLES[index][1]).force_size:
                    self.traced, self.forces = [], {}
                    return FORCE_BUFFER_OVERFLOW
                self.forces[index] = bytes(force)
            self.traced.append(index)
        self.last_tick = self.tick()
        return self.token

    def value(self, index, tick):
        _, type_name, value = VARIABLES[index]
        force = self.forces.get(index)
        return decode_force(type_name, force) if force is not None else value(tick)

    def samples(self, token, status):
        if token != self.token:
            return PLCStatus.BROKEN, []
        now = self.tick()
        first = max(self.last_tick + 1, now - MAX_SAMPLES + 1)
        self.last_tick = now
        if status != PLCStatus.STARTED or not self.traced:
            return status, []
        return status, [(tick & 0xFFFFFFFF, b"".join(
            encode(VARIABLES[index][1], self.value(index, tick)) for index in self.traced))
            for tick in range(first, now + 1)]


class BeremizLikePLC:
    """Beremiz's PLCObject as seen over eRPC, in memory. Handlers raise where Beremiz's do."""

    def __init__(self, plc_id: str, secret: str, tick_seconds: float):
        self.plc_id, self.secret = plc_id, secret
        self.tick_seconds = tick_seconds
        self.booted = time.monotonic()
        self.status = PLCStatus.EMPTY
        self.md5 = None
        self.program = None
        self.extra_files = {}
        self.blobs = {}             # id -> running md5 object
        self.logs = [[] for _ in range(LOG_LEVEL_COUNT)]
        self.debugger = UpstreamDebugger(self.tick)
        self.log(INFO, "Beremiz-like peer booted")

    def tick(self) -> int:
        return int((time.monotonic() - self.booted) / self.tick_seconds)

    def log(self, level: int, text: str) -> None:
        now = time.time()
        self.logs[level].append((text, self.tick() & 0xFFFFFFFF, int(now),
                                 int((now % 1) * 1e9)))

    # --- the 14 methods --------------------------------------------------------------------------

    def AppendChunkToBlob(self, data, blob_id):
        digest = self.blobs.pop(blob_id)   # unknown id: KeyError, so no reply (as Beremiz)
        digest.update(data)
        self.blobs[digest.digest()] = digest
        return digest.digest()

    def GetLogMessage(self, level, msg_id):
        return self.logs[level][msg_id]    # unknown: IndexError, no reply (Beremiz: None → raise)

    def GetPLCID(self):
        return self.plc_id, self.secret

    def GetPLCstatus(self):
        return self.status, [len(messages) for messages in self.logs]

    def GetTraceVariables(self, token):
        return self.debugger.samples(token, self.status)

    def MatchMD5(self, md5):
        return md5 == self.md5             # true after a failed load too, as Beremiz

    def NewPLC(self, md5, program_blob, extra_files):
        if self.status not in (PLCStatus.EMPTY, PLCStatus.STOPPED, PLCStatus.BROKEN):
            return False                   # while Started: False, no error (as Beremiz)
        program = self.blob_data(program_blob)
        files = {name: self.blob_data(blob) for name, blob in extra_files}
        self.md5, self.program, self.extra_files = md5, program, files
        self.debugger = UpstreamDebugger(self.tick)   # a new library: a new debugger
        if program.startswith(FAILING_PROGRAM):
            self.status = PLCStatus.BROKEN
            self.log(CRITICAL, f"PLC program {md5} failed to load")
            return False
        self.status = PLCStatus.STOPPED
        self.log(INFO, f"PLC program {md5} loaded")
        return True

    def blob_data(self, blob_id) -> bytes:
        return self.blobs[blob_id].data

    def PurgeBlobs(self):
        self.blobs.clear()

    def RepairPLC(self):
        self.status, self.md5, self.program, self.extra_files = PLCStatus.EMPTY, None, None, {}
        self.log(WARNING, "PLC repaired: program removed")

    def ResetLogCount(self):
        if self.status == PLCStatus.EMPTY:
            raise RuntimeError("no PLC loaded: nothing to reset")  # Beremiz raises here too
        self.logs = [[] for _ in range(LOG_LEVEL_COUNT)]

    def SeedBlob(self, seed):
        digest = _Blob(seed)
        self.blobs[digest.digest()] = digest
        return digest.digest()

    def SetTraceVariablesList(self, orders):
        # Beremiz's eRPCServer.py: an empty force is None ("not forced").
        return self.debugger.set_list([(index, force or None) for index, force in orders],
                                      self.status in (PLCStatus.STOPPED, PLCStatus.STARTED))

    def StartPLC(self):
        if self.status != PLCStatus.STOPPED:
            self.log(CRITICAL, f"cannot start: PLC is {self.status.value}")
            return
        self.status = PLCStatus.STARTED
        self.log(INFO, "PLC started")

    def StopPLC(self):
        if self.status != PLCStatus.STARTED:
            return False
        self.status = PLCStatus.STOPPED
        self.log(INFO, "PLC stopped")
        return True


class _Blob:
    """A blob's running md5 and its data (hashlib objects keep no data)."""

    def __init__(self, seed):
        self._md5 = hashlib.md5(seed)
        self._chunks = []

    @property
    def data(self) -> bytes:
        return b"".join(self._chunks)

    def update(self, chunk):
        self._md5.update(chunk)
        self._chunks.append(chunk)

    def digest(self):
        return self._md5.digest()


class BeremizService(Service):
    """Service 1 as erpc's generated server code does it: read the request from the codec,
    call the handler, write the reply into the codec. Only Beremiz's 14 methods."""

    def __init__(self, plc):
        super().__init__(SERVICE_ID)
        self.plc = plc
        self._methods = {method.erpc_id: self._handler(method.name) for method in BEREMIZ_METHODS}

    def _handler(self, name):
        def handle(sequence, codec):
            request = decode_request(bytes(codec.buffer))
            result = getattr(self.plc, name)(*request.args)
            codec.buffer = bytearray(encode_reply(name, sequence, result))
        return handle


class UpstreamTransport(TCPTransport):
    """erpc's TCP server transport as Beremiz runs it, only with its listening socket bound
    first (port 0 works). The rest is erpc's own, so a new client takes over as on upstream:
    the accept thread replaces the socket the server reads from, even between a request's
    header and its body (header from the old client, body from the new: "invalid message
    CRC"); the old socket is dropped, so reset, once nothing reads it; a client that leaves
    makes the server close the current socket (docs/bridge.md)."""

    def __init__(self, host, port):
        self._listener = socket.create_server((host, port))
        self.port = self._listener.getsockname()[1]
        super().__init__(host, self.port, True)

    def _serve(self):
        while True:
            self._sock, _ = self._listener.accept()
            self._serverSockEventStart.set()


def serve(plc, host="127.0.0.1", port=0) -> None:
    transport = UpstreamTransport(host, port)
    transport._Crc16 = CRC16  # erpc's CRC computed in C: same values, transfers at full speed
    server = SimpleServer(transport, BasicCodec)
    server.add_service(BeremizService(plc))
    print(LISTENING.format(host=host, port=transport.port), flush=True)
    while True:  # erpc ≥ 1.13 ends run() when the client goes; Beremiz serves the next one
        try:
            server.run()
        except ConnectionClosed:
            print("eRPC client disconnected", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--id", required=True, help="PSK identity answered by GetPLCID")
    parser.add_argument("--psk-file", help="'ID:secret' file; the secret GetPLCID answers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tick-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    secret = ""
    if args.psk_file:
        with open(args.psk_file, encoding="utf-8") as handle:
            secret = handle.read().strip().partition(":")[2]
    serve(BeremizLikePLC(args.id, secret, args.tick_ms / 1000), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
