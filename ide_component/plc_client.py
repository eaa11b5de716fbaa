"""The asynchronous library API for one PLC (Twisted: every method returns a coroutine).

    client = await PLCClient.open("WAMP://127.0.0.1:8888#Automation#plc-01")
    await client.transfer("program.py", ["setpoint.csv"])
    await client.start()

Errors are exceptions whose message says what failed: PLCObjectError (the runtime refused),
PLCUnreachable (no answer, link lost), OperationFailed (e.g. a digest mismatch), ValueError
(bad input: URI, variable name, value). For scripts and notebooks see ide_component.blocking.
"""
from dataclasses import dataclass

from twisted.internet import defer, reactor, task

from ide_component import blob_plan, plc_logs, registry_client
from ide_component.connectors import LINK_CHECK_INTERVAL, connector_for
from ide_component.failures import OperationFailed
from ide_component.transfer import TransferResult, transfer
from ide_component.variable_trace import DebugSession, variables_from_file
from plc_protocol.log_levels import LogLevel
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import EVENT_STATUS

STATUS_POLL_INTERVAL = 0.5
RESTART_TIMEOUT = 60.0     # a fresh program process, the init hook, the first cycle
RETAINED_WAIT = 1.0        # a retained event arrives at once after subscribing, or never


@dataclass(frozen=True)
class PLCState:
    status: PLCStatus
    log_counts: tuple   # messages logged so far per level, CRITICAL..DEBUG
    cause: str | None = None   # why it is Broken, where asked (status(with_cause=True))

    def as_dict(self) -> dict:
        document = {"status": self.status.value,
                    "log_counts": {level.name: n for level, n in zip(LogLevel, self.log_counts)}}
        if self.cause is not None:
            document["cause"] = self.cause
        return document


class Handle:
    """What a live feed returns: ``stop()`` ends it."""

    def __init__(self, stop):
        self._stop = stop

    def stop(self):
        return self._stop()


class PLCClient:
    def __init__(self, connector, variables: list | None = None):
        """``variables``: the variable table (Variable list) when the runtime has none."""
        self.connector = connector
        self.debug = DebugSession(connector, variables)

    @classmethod
    async def open(cls, uri, variables: str | None = None, **connector_options) -> "PLCClient":
        """Connect to the runtime named by ``uri``; options go to connectors.connector_for.
        ``variables``: a Beremiz build's VARIABLES.csv, for a runtime without a variable table
        of its own (a Beremiz runtime): names are then the file's IEC paths."""
        table = variables_from_file(variables) if variables else None  # a bad file: no link
        connector = connector_for(uri, **connector_options)
        await connector.connect()
        return cls(connector, table)

    @property
    def plc_id(self) -> str | None:
        return self.connector.plc_id

    @property
    def uri(self) -> str:
        return str(self.connector.uri)

    async def close(self) -> None:
        await self.connector.close()

    # --- status and control ------------------------------------------------------------------

    async def status(self, with_cause: bool = False) -> PLCState:
        """``with_cause``: a Broken PLC's state says why (its last CRITICAL message)."""
        status, counts = await self.connector.call("GetPLCstatus")
        cause = await self._last_critical(counts) \
            if with_cause and status == PLCStatus.BROKEN else None
        return PLCState(status, tuple(counts), cause)

    async def _last_critical(self, counts) -> str | None:
        criticals = counts[LogLevel.CRITICAL]
        if not criticals:
            return None
        entry = await plc_logs.fetch_entry(self.connector, LogLevel.CRITICAL, criticals - 1)
        return entry.text if entry is not None else None

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
        once if the trace ends on its own. Forces this client set stay in effect.

        A trace begun on a Started PLC ends (OperationFailed) when the PLC leaves Started: a
        stopped PLC samples nothing, and a reader waiting for samples would wait for ever."""
        on_error = on_error or _ignore
        was_started = (await self.status()).status == PLCStatus.STARTED
        listener = watch = None  # either may end the trace before it is assigned
        ended = False

        def end(error):
            nonlocal ended
            if not ended:
                ended = True
                stop().addErrback(_ignore)  # the runtime forgets an unread trace by itself
                on_error(error)

        def stop():
            if watch is not None:  # after a lost link there is nothing left to unsubscribe
                defer.maybeDeferred(watch.stop).addErrback(_ignore)
            return defer.ensureDeferred(self.debug.unlisten(listener))

        def on_state(state, details):
            if state.status == PLCStatus.DISCONNECTED:
                # A retained testament may be an earlier runtime's under this ID (Beremiz's
                # WAMP runtime publishes none of its own): ask the one that answers now.
                defer.ensureDeferred(self.status()).addCallbacks(
                    check, lambda failure: end(failure.value))
            else:
                check(state)

        def check(state):
            if state.status != PLCStatus.STARTED:
                end(OperationFailed(f"{self.plc_id or self.uri}: the PLC is now "
                                    f"{state.status.value}; the trace ended"))
        listener = await self.debug.listen(names, on_sample, end)
        if was_started and not ended:
            watch = await self.watch_status(on_state, end)
        if ended:  # it ended while starting: undo what began after
            stop().addErrback(_ignore)
        return Handle(stop)

    async def force(self, values: dict) -> None:
        """Force ``{name: value}``: the runtime keeps them until released, whoever traces.
        Values are Python values or text, checked against each variable's IEC type. (An
        upstream Beremiz runtime keeps one set: there this client's forces replace others'.)"""
        await self.debug.force(values)

    async def release(self, names=None, restore: bool = False) -> None:
        """Lift the forces on ``names`` (all when None): the program takes over again;
        ``restore`` also puts back each value from before its force. (On an upstream Beremiz
        runtime any release lifts every force, and restore is refused.)"""
        await self.debug.release(names, restore)

    async def write(self, values: dict) -> None:
        """Set ``{name: value}`` once, before the next cycle; nothing stays forced."""
        await self.debug.write(values)

    async def forces(self) -> list | None:
        """The runtime's force entries (variable, value, who, since...), or None where the
        runtime cannot report them (an upstream Beremiz runtime)."""
        return await self.debug.forces()

    async def restart(self) -> PLCState:
        """Load the installed program again in a fresh program process and start it (from
        Broken or Stopped); the program is not removed (RepairPLC removes it)."""
        if not await self.debug.has_force_model():
            raise OperationFailed(f"{self.plc_id or self.uri}: this runtime (upstream Beremiz) "
                                  "cannot restart its program; transfer it again, then start")
        await self.connector.call("RestartPLC", timeout=RESTART_TIMEOUT)
        state = await self.status()
        if state.status != PLCStatus.STARTED:
            raise OperationFailed(f"{self.plc_id or self.uri}: the program did not start again: "
                                  f"the PLC is {state.status.value}" + _HINTS.get(state.status, ""))
        return state

    async def details(self) -> dict:
        """Status with what a plant needs to trust it: md5 of the installed program (where the
        runtime publishes it), how many variables are forced (None: unknown), and the cause
        of a Broken PLC (the status event's, else the last CRITICAL log message)."""
        state = await self.status()
        published = await self._published_status()
        if published.pop("status", None) == PLCStatus.DISCONNECTED.value:
            # a testament: of an earlier runtime under this ID (this one answered, and may
            # publish nothing: Beremiz's WAMP runtime), so its md5 and forces are not this one's
            published = {}
        forced = published.get("forced")
        if forced is None:
            forces = await self.debug.forces()
            forced = None if forces is None else len(forces)
        cause = published.get("cause")
        if state.status == PLCStatus.BROKEN and not cause:
            cause = await self._last_critical(state.log_counts)
        return {"state": state, "md5": published.get("md5"), "forced": forced,
                "cause": cause if state.status == PLCStatus.BROKEN else None}

    async def _published_status(self) -> dict:
        """The kwargs of the retained status event (WAMP) with its ``status``, {} without
        one."""
        got = defer.Deferred()
        subscription = self.connector.subscribe(
            EVENT_STATUS, lambda status=None, *args, **kwargs: got.called or got.callback(
                {**kwargs, "status": status}))
        if subscription is None:
            return {}
        subscription = await subscription
        try:
            return await got.addTimeout(RETAINED_WAIT, reactor)
        except defer.TimeoutError:
            return {}
        finally:
            if subscription.active:
                await subscription.unsubscribe()


def _ignore(error) -> None:
    pass


_HINTS = {
    PLCStatus.EMPTY: "; transfer a program first",
    PLCStatus.BROKEN: "; see `plclink logs`, then repair or transfer again",
}
