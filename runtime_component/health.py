"""The runtime's health file (``WORKDIR/health.json``), rewritten every few seconds whatever
the router does, so that a container healthcheck sees a stuck runtime, one off the router, and
a Started PLC whose cycle stopped advancing (format: plc_protocol/health_file.py)."""
import time

from twisted.internet import task

from plc_protocol import health_file


class RuntimeHealth:
    def __init__(self, path: str, plc, wamp: bool):
        self.path = path
        self.plc = plc
        self.wamp = wamp
        self.joined = False
        self.cycling = False
        self._last_tick = None
        self._loop = task.LoopingCall(self._sample)

    def start(self) -> None:
        self._loop.start(health_file.WRITE_INTERVAL, now=False)
        self.write()

    def set_joined(self, joined: bool) -> None:
        self.joined = joined
        self.write()

    def _sample(self) -> None:
        tick = self.plc.tick
        self.cycling = self._last_tick is not None and tick != self._last_tick
        self._last_tick = tick
        self.write()

    def write(self) -> None:
        health_file.write(self.path, health_file.runtime_document(
            time.time(), self.wamp, self.joined, self.plc.status.value, self.plc.tick,
            self.cycling))
