"""The asynchronous library API for one PLC (Twisted: every method returns a coroutine).

    client = await PLCClient.open("WAMP://127.0.0.1:8888#Automation#plc-01")
    await client.transfer("program.py", ["setpoint.csv"])
    await client.start()

Errors are exceptions whose message says what failed: PLCObjectError (the runtime refused),
PLCUnreachable (no answer, link lost), OperationFailed (e.g. a digest mismatch), ValueError
(bad input: URI, variable name, value). For scripts and notebooks see ide_component.blocking.
"""
from dataclasses import dataclass

from twisted.internet import defer, task

from ide_component import blob_plan, plc_logs, registry_client
from ide_component.connectors import LINK_CHECK_INTERVAL, connector_for
from ide_component.failures import OperationFailed
from ide_component.transfer import TransferResult, transfer
from ide_component.variable_trace import DebugSession
from plc_protocol.log_levels import LogLevel
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import EVENT_STATUS

STATUS_POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class PLCState:
    status: PLCStatus
    log_counts: tuple   # messages logged so far per level, CRITICAL..DEBUG

    def as_dict(self) -> dict:
        return {"status": self.status.value,
                "log_counts": {level.name: n for level, n in zip(LogLevel, self.log_counts)}}


class Handle:
    """What a live feed returns: ``stop()`` ends it."""

    def __init__(self, stop):
        self._stop = stop

    def stop(self):
        return self._stop()


class PLCClient:
    def __init__(self, connector):
        self.connector = connector
        self.debug = DebugSession(connector)

    @classmethod
    async def open(cls, uri, **connector_options) -> "PLCClient":
        """Connect to the runtime named by ``uri``; options go to connectors.connector_for."""
        connector = connector_for(uri, **connector_options)
        await connector.connect()
        return cls(connector)

    @property
    def plc_id(self) -> str | None:
        return self.connector.plc_id

    @property
    def uri(self) -> str:
        return str(self.connector.uri)

    async def close(self) -> None:
        await self.connector.close()

    # --- status and control ------------------------------------------------------------------

    async def status(self) -> PLCState:
        status, counts = await self.connector.call("GetPLCstatus")
        return PLCState(status, tuple(counts))

    async def start(self) -> PLCState:
        state = await self.status()
        if state.status == PLCStatus.STOPPED:
            await self.connector.call("StartPLC")
            state = await self.status()
        if state.status != PLCStatus.STARTED:
            raise OperationFailed(f"{self.plc_id}: cannot start: the PLC is {state.status.value}"
                                  + _HINTS.get(state.status, ""))
        return state

    async def stop(self) -> PLCState:
        if not await self.connector.call("StopPLC"):
            state = await self.status()
            raise OperationFailed(f"{self.plc_id}: StopPLC failed: the PLC is {state.status.value}"
                                  + _HINTS.get(state.status, ""))
        return await self.status()

    async def psk_identity(self) -> tuple:
        """(ID, secret) for TLS-PSK pairing; ("", "") when the runtime has no PSK configured.
        Ask only over a link you trust: the secret travels as is."""
        return tuple(await self.connector.call("GetPLCID"))

    async def repair(self) -> PLCState:
        await self.connector.call("RepairPLC")
        return await self.status()

    async def transfer(self, program, extra_files=(), *, force: bool = False,
                       chunk_size: int = blob_plan.DEFAULT_CHUNK_SIZE,
                       window: int = blob_plan.DEFAULT_WINDOW, progress=None) -> TransferResult:
        """Install a program file and its extra files (paths); skipped when the runtime already
        has this program, unless ``force``. ``progress(stage, done, total)``: see transfer."""
        limit = getattr(self.connector, "max_chunk_size", None)
        plan = blob_plan.read_transfer(program, extra_files, min(chunk_size, limit or chunk_size))
        result = await transfer(self.connector, plan, force=force, window=window,
                                progress=progress)
        session = getattr(self.connector, "session", None)
        if not result.skipped and session is not None:
            await registry_client.keep_program(session, plan, [self.plc_id])  # for rollback
        return result

    # --- logs and events -----------------------------------------------------------------------

    async def logs(self, count: int = 10) -> list:
        """The ``count`` newest log messages (LogMessage), oldest first."""
        return await plc_logs.last_messages(self.connector, count)

    async def follow_logs(self, handler) -> plc_logs.LogFollower:
        """``handler(entry)`` for each message logged from now on; ``.stop()``, ``.done``."""
        return await plc_logs.LogFollower(self.connector, handler).start()

    async def watch_status(self, handler, on_error=None) -> Handle:
        """``handler(PLCState, details)`` now and at each change; details has md5, bridged...
        where the transport publishes them (WAMP), else it is empty and status is polled.
        ``on_error(exception)`` once if the link is lost."""
        subscription = self.connector.subscribe(
            EVENT_STATUS, lambda status, counts, **details: handler(
                PLCState(PLCStatus.parse(status), tuple(counts)), details))
        last = None

        async def poll():
            nonlocal last
            state = await self.status()
            if state != last:
                last = state
                handler(state, {})
        if subscription is not None:
            subscription = await subscription
            loop = task.LoopingCall(self.status)
            started = loop.start(LINK_CHECK_INTERVAL, now=False)
        else:
            loop = task.LoopingCall(poll)
            started = loop.start(STATUS_POLL_INTERVAL)
        started.addErrback(lambda failure: (on_error or _ignore)(failure.value))

        def stop():
            if loop.running:
                loop.stop()
            if subscription is not None and subscription.active:
                return defer.maybeDeferred(subscription.unsubscribe)
        return Handle(stop)

    # --- variables ------------------------------------------------------------------------------

    async def variables(self) -> list:
        """The program's debuggable variables (Variable: index, name, type), in index order."""
        return list(await self.debug.table())

    async def trace(self, names, on_sample, on_error=None) -> Handle:
        """``on_sample(tick, {name: value})`` for each cycle sampled; ``on_error(exception)``
        once if the trace ends on its own. Forces this client set stay in effect."""
        listener = await self.debug.listen(names, on_sample, on_error or _ignore)
        return Handle(lambda: defer.ensureDeferred(self.debug.unlisten(listener)))

    async def force(self, values: dict) -> None:
        """Force ``{name: value}`` (merged with this client's earlier forces); values are Python
        values or text, checked against each variable's IEC type."""
        await self.debug.force(values)

    async def release(self, names=None) -> None:
        """Lift this client's forces on ``names`` (all when None). The runtime keeps one forced
        set and this client sends it whole: forces made elsewhere are lifted as well."""
        await self.debug.release(names)


def _ignore(error) -> None:
    pass


_HINTS = {
    PLCStatus.EMPTY: "; transfer a program first",
    PLCStatus.BROKEN: "; see `plclink logs`, then repair or transfer again",
}
