"""The library API for scripts and notebooks: plain calls, no Twisted in sight.

    from ide_component.blocking import connect
    with connect("WAMP://127.0.0.1:8888#Automation#plc-01") as plc:
        print(plc.status())
        plc.transfer("program.py", ["setpoint.csv"])
        plc.start()
        for tick, values in plc.trace(["level", "pump"], count=10):
            print(tick, values)

Each call runs the asynchronous API (plc_client, fleet) in the reactor thread and waits for it;
live feeds (logs, traces, status) are iterators. Exceptions are those of plc_client.
"""
import queue
import time

from ide_component import reactor_thread
from ide_component.blob_plan import DEFAULT_CHUNK_SIZE, DEFAULT_WINDOW
from ide_component.fleet import Fleet
from ide_component.plc_client import RESTART_TIMEOUT, PLCClient

CALL_TIMEOUT = 60
_END = object()


def connect(uri, *, timeout: float = CALL_TIMEOUT, variables: str | None = None,
            **connector_options) -> "PLC":
    """A connected PLC; ``variables``: a Beremiz build's VARIABLES.csv for a runtime without
    a variable table; ``connector_options`` as for connectors.connector_for. No call waits
    longer than ``timeout`` seconds (transfers: ten times that): it raises TimedOut."""
    return PLC(reactor_thread.blocking(PLCClient.open, uri, variables, timeout=timeout,
                                       **connector_options), timeout)


def open_fleet(router: str | None = None, realm: str | None = None, credentials=None,
               *, timeout: float = CALL_TIMEOUT) -> "BlockingFleet":
    """The runtimes on one realm; router and realm default to the credentials file's."""
    return BlockingFleet(reactor_thread.blocking(Fleet.open, router, realm, credentials,
                                                 timeout=timeout), timeout)


class Feed:
    """An iterator over a live feed, started at once (so nothing happening between the call
    and the first ``next()`` is missed); ends after ``count`` items or ``duration`` seconds,
    or on ``close()``; re-raises the error that ended the feed."""

    def __init__(self, start, count=None, duration=None, timeout=CALL_TIMEOUT):
        self._items = queue.Queue()
        self._timeout = timeout
        self._left = count
        self._deadline = None if duration is None else time.monotonic() + duration
        self._handle = reactor_thread.blocking(
            start, self._items.put, lambda error: self._items.put((_END, error)), timeout=timeout)

    def __iter__(self):
        return self

    def __next__(self):
        if self._handle is None or self._left == 0:
            self.close()
            raise StopIteration
        wait = None if self._deadline is None else self._deadline - time.monotonic()
        try:
            if wait is not None and wait <= 0:
                raise queue.Empty
            item = self._items.get(timeout=wait)
        except queue.Empty:
            self.close()
            raise StopIteration from None
        if isinstance(item, tuple) and item and item[0] is _END:
            self._handle = None   # the feed ended itself; nothing left to stop
            raise item[1]
        if self._left is not None:
            self._left -= 1
        return item

    def close(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            reactor_thread.blocking(lambda: handle.stop(), timeout=self._timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Blocking:
    """Runs the wrapped asynchronous object's methods in the reactor thread, and closes it on
    leaving a ``with`` block."""

    def __init__(self, timeout: float = CALL_TIMEOUT):
        self.timeout = timeout

    def _run(self, method, *args, timeout=None, **kwargs):
        return reactor_thread.blocking(method, *args, timeout=timeout or self.timeout, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PLC(_Blocking):
    def __init__(self, client: PLCClient, timeout: float = CALL_TIMEOUT):
        super().__init__(timeout)
        self.client = client

    def __repr__(self):
        return f"<PLC {self.client.uri}>"

    @property
    def plc_id(self):
        return self.client.plc_id

    def close(self):
        self._run(self.client.close)

    def status(self):
        return self._run(self.client.status)

    def start(self):
        return self._run(self.client.start)

    def stop(self):
        return self._run(self.client.stop)

    def repair(self):
        return self._run(self.client.repair)

    def psk_identity(self):
        return self._run(self.client.psk_identity)

    def transfer(self, program, extra_files=(), *, force=False, chunk_size=DEFAULT_CHUNK_SIZE,
                 window=DEFAULT_WINDOW, progress=None, timeout=None):
        """``progress(stage, done, total)`` is called in the reactor thread; keep it short."""
        return self._run(self.client.transfer, program, list(extra_files), force=force,
                         chunk_size=chunk_size, window=window, progress=progress,
                         timeout=timeout or 10 * self.timeout)

    def logs(self, count=10):
        return self._run(self.client.logs, count)

    def follow_logs(self, count=None, duration=None):
        """Iterate LogMessage for messages logged from now on (until count/duration, if given)."""
        async def start(put, fail):
            follower = await self.client.follow_logs(put)
            follower.done.addErrback(lambda failure: fail(failure.value))
            return follower
        return Feed(start, count, duration, self.timeout)

    def watch_status(self, count=None, duration=None):
        """Iterate (PLCState, details): the current state first, then each change."""
        async def start(put, fail):
            return await self.client.watch_status(lambda state, details: put((state, details)),
                                                  fail)
        return Feed(start, count, duration, self.timeout)

    def variables(self):
        return self._run(self.client.variables)

    def trace(self, names, count=None, duration=None):
        """Iterate (tick, {name: value}) for the named variables."""
        async def start(put, fail):
            return await self.client.trace(list(names), lambda tick, values: put((tick, values)),
                                           fail)
        return Feed(start, count, duration, self.timeout)

    def force(self, values=None, **more):
        """``plc.force({"pump": True})`` or ``plc.force(pump=True)``."""
        return self._run(self.client.force, {**(values or {}), **more})

    def release(self, *names, restore=False):
        """Lift the named forces, or all of them when no name is given; ``restore`` also puts
        back the values from before the forces."""
        return self._run(self.client.release, list(names) or None, restore)

    def write(self, values=None, **more):
        """``plc.write({"setpoint": 55.0})``: set once, nothing stays forced."""
        return self._run(self.client.write, {**(values or {}), **more})

    def forces(self):
        """The runtime's force entries, or None where it cannot report them."""
        return self._run(self.client.forces)

    def restart(self):
        return self._run(self.client.restart, timeout=max(self.timeout, RESTART_TIMEOUT))

    def details(self):
        return self._run(self.client.details)


class BlockingFleet(_Blocking):
    def __init__(self, fleet: Fleet, timeout: float = CALL_TIMEOUT):
        super().__init__(timeout)
        self.fleet = fleet

    def close(self):
        self._run(self.fleet.close)

    def discover(self):
        return self._run(self.fleet.discover)

    def linked_runtimes(self):
        return self._run(self.fleet.linked_runtimes)

    def list(self, ask_each=False):
        return self._run(self.fleet.list, ask_each)

    def status(self, ids=None, ask_each=False):
        return self._run(self.fleet.status, ids, ask_each)

    def forces(self, ids=None):
        return self._run(self.fleet.forces, ids)

    def start(self, ids):
        return self._run(self.fleet.start, ids)

    def stop(self, ids):
        return self._run(self.fleet.stop, ids)

    def deploy(self, ids, program, extra_files=(), *, start=False, force=False,
               chunk_size=DEFAULT_CHUNK_SIZE, window=DEFAULT_WINDOW, progress=None, timeout=None):
        return self._run(self.fleet.deploy, ids, program, list(extra_files), start=start,
                         force=force, chunk_size=chunk_size, window=window, progress=progress,
                         timeout=timeout or 10 * self.timeout)

    def record_deployment(self, md5, outcomes):
        return self._run(self.fleet.record_deployment, md5, outcomes)

    def history(self, plc_id):
        return self._run(self.fleet.history, plc_id)

    def rollback_target(self, plc_id, md5=None):
        return self._run(self.fleet.rollback_target, plc_id, md5)

    def rollback(self, plc_id, md5, *, window=DEFAULT_WINDOW, progress=None, timeout=None):
        return self._run(self.fleet.rollback, plc_id, md5, window=window, progress=progress,
                         timeout=timeout or 10 * self.timeout)

    def ask_registry(self, short, *args, **kwargs):
        return self._run(self.fleet.ask_registry, short, *args, **kwargs)

    def select(self, terms, ids=None):
        return self._run(self.fleet.select, terms, ids)

    def run(self, function, *args, timeout=None, **kwargs):
        """``await function(fleet, *args, **kwargs)`` in the reactor (a long operation such
        as a rollout: ``timeout`` bounds it)."""
        return self._run(function, self.fleet, *args, timeout=timeout, **kwargs)
