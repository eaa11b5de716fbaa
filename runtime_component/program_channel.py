"""What both kinds of program process share (program_process.py for Python programs,
library_process.py for Beremiz builds): the socket to the runtime and the trace configuration
the runtime writes into the shared memory (tracing.TraceState.config)."""
import json
import os
import queue
import socket
import threading

VALUES_INTERVAL = 0.02   # the values snapshot is refreshed at most this often
CSV_FLUSH_INTERVAL = 0.05


class Channel:
    """The socket to the runtime: one sender thread, so no caller ever waits on the runtime."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._outgoing = queue.SimpleQueue()
        threading.Thread(target=self._send_all, name="plc-sender", daemon=True).start()

    def send(self, **message) -> None:
        self._outgoing.put(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def _send_all(self) -> None:
        while True:
            data = self._outgoing.get()
            try:
                self.sock.sendall(data)
            except OSError:
                os._exit(0)  # the runtime is gone: so are we

    def commands(self):
        for line in self.sock.makefile("rb"):
            yield json.loads(line)


class TraceConfig:
    """The traced set and forces the runtime wrote last (token 0: nothing traced)."""

    def __init__(self, token=0, traced=(), forced=()):
        self.token = token
        self.traced = list(traced)
        self.forced = list(forced)

    @classmethod
    def parse(cls, data: bytes, types: list) -> "TraceConfig":
        config = json.loads(data)
        return cls(config["token"], [(index, types[index]) for index in config["traced"]],
                   [(index, decode_force(types[index], bytes.fromhex(force)))
                    for index, force in config["forced"]])


class TraceConfig:
    """The traced union, the forces and the pending one-shot writes the runtime wrote last
    (token 0: nothing traced). Values stay raw IEC bytes: a Beremiz library takes them as they
    are; a Python program decodes them with its table (``decoded``)."""

    def __init__(self, token=0, traced=(), forced=(), writes=()):
        self.token = token
        self.traced = list(traced)      # indexes, in sample order
        self.forced = list(forced)      # (index, raw)
        self.writes = list(writes)      # (serial, index, raw), serials increasing

    @classmethod
    def parse(cls, data: bytes) -> "TraceConfig":
        if not data:
            return cls()
        config = json.loads(data)
        return cls(config["token"], config["traced"],
                   [(index, bytes.fromhex(raw)) for index, raw in config["forced"]],
                   [(serial, index, bytes.fromhex(raw))
                    for serial, index, raw in config.get("writes", ())])

    def writes_after(self, serial: int) -> list:
        return [write for write in self.writes if write[0] > serial]
