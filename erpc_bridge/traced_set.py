"""The bridge as an upstream runtime's one debugging client: it serves the force model's
procedures (docs/force-model.md) and every router session's SetTraceVariablesList from one
merged set (erpc_bridge/trace_merge.py), and keeps that set on the runtime.

Upstream rules it follows (protocol.md §9): a non-empty list replaces the runtime's whole set,
forces included (ResetDebugVariables), so a force is released by sending a non-empty list
without it, then the empty list only if nothing stays traced; the empty list answers -5
(DEBUG_SUSPENDED), which is success; every list, empty or not, gets a new token.
"""
import time
from collections import deque

from autobahn.wamp.exception import TransportLost
from autobahn.wamp.types import PublishOptions
from twisted.internet import defer, reactor, task
from twisted.logger import Logger

from erpc_bridge.trace_merge import MAX_BUFFERED_SAMPLES, MergedTrace, OrderError
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.methods import EINVAL, EIO
from plc_protocol.status import PLCStatus
from plc_protocol.trace_limits import DEBUG_SUSPENDED
from plc_protocol.wamp_conventions import (EVENT_FORCES, EVENT_TRACE, EVENT_VALUES,
                                           VALUES_PUBLISH_INTERVAL, topic)
from runtime_component.forces import raw_value

TRACE_POLL_INTERVAL = 0.1   # as often as a native runtime publishes its trace
CYCLE_WAIT = 3.0            # a Write waits this long at most for a cycle that applied it

log = Logger()


class TracedSet:
    def __init__(self, link, table):
        self.link = link
        self.merge = MergedTrace(table)
        self.applied = None         # revision of the merge the runtime has, None: unknown
        self.token = None           # upstream token of that list, None: nothing traced
        self.indexes = []           # upstream list, in order
        self.status = PLCStatus.STOPPED
        self._had_forces = False    # whether the list on the runtime carries forces
        self._sync_lock = defer.DeferredLock()
        self._poller = task.LoopingCall(self._poll)
        self._values_due = 0.0
        self._cycle = None          # fires at the next polled sample (Write, restore)
        self._published_forces = None
        dropped = self.merge.restore(link.state.forces)
        if link.state.forces:
            log.info("{name}: {count} force(s) kept by the bridge before it restarted, put back "
                     "on the runtime{dropped}", name=link.name,
                     count=len(link.state.forces) - len(dropped),
                     dropped=f"; dropped (not in the variables file): {dropped}" if dropped
                     else "")
        if self.merge.values_problem:
            log.warn("{name}: values not sampled: the variables file has {problem}",
                     name=link.name, problem=self.merge.values_problem)

    # --- the procedures -------------------------------------------------------------------

    async def set_list(self, caller, orders):
        key, by = caller
        if not orders:
            if self.merge.end(key):
                await self.sync()
            return DEBUG_SUSPENDED
        try:
            token = self.merge.set_list(key, by, orders)
        except OrderError as error:
            return error.code
        try:
            await self.sync()
        except (PLCObjectError, PLCUnreachable):
            self.merge.sessions.pop(key, None)  # no trace for this caller; put back at a poll
            raise
        return token

    def take(self, token):
        session = self.merge.session_of(token)
        if session is None:
            return PLCStatus.BROKEN, []
        samples = list(session.samples)
        session.samples.clear()
        return self.status, samples

    def entries(self):
        return self.merge.entries()

    async def force(self, caller, orders):
        self._force(self._orders(orders), caller[1])
        await self.sync()
        return self.entries()

    def _force(self, orders, by):
        try:
            self.merge.force(orders, by)
        except OrderError as error:
            raise PLCObjectError(EINVAL, str(error)) from None

    async def release(self, indexes, restore=False):
        if indexes is not None and (not isinstance(indexes, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in indexes)):
            raise PLCObjectError(EINVAL, "Release: indexes must be a list of integers or null")
        forces = {entry["index"]: entry for entry in self.merge.entries()}
        chosen = [i for i in (indexes if indexes is not None else forces) if i in forces]
        if restore:
            for by in {forces[i]["by"] for i in chosen}:   # the value before, for one cycle
                back = [(i, self.merge.encode_value(i, forces[i]["before"])) for i in chosen
                        if forces[i]["before"] is not None and forces[i]["by"] == by]
                if back:
                    self._force(back, by)
            await self.sync()
            await self._next_cycle()
        self.merge.release(chosen)
        await self.sync()
        return self.entries()

    async def write(self, caller, orders):
        orders = self._orders(orders)
        busy = [i for i, _ in orders if i in self.merge.forced()]
        if busy:
            names = ", ".join(self.merge.name(i) for i in busy)
            raise PLCObjectError(EINVAL, f"Write: {names} is forced; release it first, or "
                                 "force the new value")
        self._force(orders, caller[1])
        try:
            await self.sync()
            await self._next_cycle()
        finally:
            self.merge.release([i for i, _ in orders])
            await self.sync()

    def _orders(self, orders):
        """Force/Write orders (JSON) as ``[(index, raw)]``; EINVAL names what is wrong."""
        if not isinstance(orders, list) or not orders:
            raise PLCObjectError(EINVAL, "orders must be a non-empty list of "
                                 "{index, value} or {index, raw}")
        return [raw_value(order, self.merge.view) for order in orders]

    # --- the runtime's list -----------------------------------------------------------------

    async def sync(self):
        """Put the merged list on the runtime, if it changed (one sync at a time)."""
        await self._sync_lock.acquire()
        try:
            while self.applied != self.merge.revision:
                revision = self.merge.revision
                await self._send(self.merge.upstream_orders())
                self.applied = revision
        finally:
            self._sync_lock.release()
        self._publish_forces()

    async def _send(self, orders):
        if not orders and self._had_forces:
            # an empty list only suspends upstream's debugger: forces stay (protocol.md §9)
            await self._send_list([(index, b"") for index in self.indexes])
        if orders:
            await self._send_list(orders)
        else:
            answer = await self.link.call("SetTraceVariablesList", [])
            if answer not in (DEBUG_SUSPENDED,) and answer < 0:
                raise PLCObjectError(EIO, f"the runtime refused the empty list ({answer})")
            self.token, self.indexes, self._had_forces = None, [], False
        self._follow()

    async def _send_list(self, orders):
        answer = await self.link.call("SetTraceVariablesList", orders)
        if answer < 0:
            self.applied = None
            raise PLCObjectError(EIO, f"{self.link.name} refused the merged debug list "
                                 f"({answer}): " + ("no program is loaded" if answer ==
                                                    DEBUG_SUSPENDED else "see its log"))
        self.token, self.indexes = answer, [index for index, _ in orders]
        self._had_forces = any(force for _, force in orders)

    def lost(self):
        """The runtime went away or was replaced: its list is unknown until sent again."""
        self.applied, self.token = None, None
        self._follow()

    def program_changed(self, table):
        """A new program: upstream dropped its list; forces go (said in the log), traces end,
        and ``table`` is the new program's variable table."""
        for force in self.merge.entries():
            log.warn("{name}: new program installed: force of {variable} = {value} (by {by}) "
                     "dropped", name=self.link.name, variable=force["name"],
                     value=force["value"], by=force["by"])
        self.merge = MergedTrace(table)
        self.applied, self.token, self.indexes, self._had_forces = None, None, [], False
        self._follow()
        self._publish_forces()

    def set_status(self, status):
        self.status = status

    def session_left(self, key):
        if self.merge.end(key):
            return self.sync()
        return None

    # --- samples --------------------------------------------------------------------------

    def _follow(self):
        _poll_while(self._poller, self.token is not None, self.link)

    async def _poll(self):
        indexes = self.indexes
        polled = await _samples_of(self)
        if polled is None:
            return
        _, status, samples = polled
        if status == PLCStatus.BROKEN and not samples and self.link.status() != PLCStatus.BROKEN:
            self.applied = None  # replaced by someone else (a direct client): put ours back
            defer.ensureDeferred(self.sync()).addErrback(lambda _: None)
            return
        self.status = status
        per_session, values = self.merge.split(indexes, samples)
        for key, cut in per_session.items():
            if cut:
                _publish(self.link, topic(self.link.plc_id, EVENT_TRACE),
                              [self.merge.sessions[key].token, [[t, b] for t, b in cut]],
                              eligible=None if key is None else [key])
        if values is not None and time.monotonic() >= self._values_due:
            self._values_due = time.monotonic() + VALUES_PUBLISH_INTERVAL
            _publish(self.link, topic(self.link.plc_id, EVENT_VALUES), list(values))
        if samples and self._cycle is not None:
            cycle, self._cycle = self._cycle, None
            cycle.callback(None)

    async def _next_cycle(self):
        """Wait for a sample taken after the last list was set: a cycle has applied it."""
        if self.token is None:
            return
        self._cycle = cycle = defer.Deferred()
        timer = reactor.callLater(CYCLE_WAIT, lambda: cycle.called or cycle.callback(None))
        await cycle
        if timer.active():
            timer.cancel()

    def _publish_forces(self):
        entries = self.entries()
        if entries != self._published_forces:
            self._published_forces = entries
            self.link.state.keep(forces=entries)
            _publish(self.link, topic(self.link.plc_id, EVENT_FORCES), [entries], retain=True)
            self.link.forces_changed()

    def publish_current(self):
        self._published_forces = None
        self._publish_forces()


class PassThroughTrace:
    """A runtime without a variable table: lists pass through as they come (upstream's one
    set, last caller wins); the bridge follows the last one for ``<ID>.trace`` and answers
    GetTraceVariables for its token from what it polled."""

    def __init__(self, link):
        self.link = link
        self.token = None
        self.status = PLCStatus.STOPPED
        self.samples = deque(maxlen=MAX_BUFFERED_SAMPLES)
        self._poller = task.LoopingCall(self._poll)

    async def set_list(self, orders):
        answer = await self.link.call("SetTraceVariablesList", orders)
        self._follow(answer if answer > 0 and orders else None)
        return answer

    async def take(self, token):
        if self.token is None or token != self.token:
            return await self.link.call("GetTraceVariables", token)
        samples = list(self.samples)
        self.samples.clear()
        return self.status, samples

    def lost(self):
        self._follow(None)

    def _follow(self, token):
        self.token = token
        self.samples.clear()
        _poll_while(self._poller, token is not None, self.link)

    async def _poll(self):
        polled = await _samples_of(self)
        if polled is None:
            return
        token, status, samples = polled
        if status == PLCStatus.BROKEN and not samples:  # the set was replaced or the PLC broke
            self._follow(None)
            return
        self.status = status
        if samples:
            self.samples.extend(samples)
            _publish(self.link, topic(self.link.plc_id, EVENT_TRACE),
                     [token, [[tick, bytes(buffer)] for tick, buffer in samples]])


def _publish(link, name, args, eligible=None, retain=False):
    session = link.session
    if session is None:
        return
    try:
        session.publish(name, *args, options=PublishOptions(eligible=eligible, retain=retain))
    except TransportLost:
        pass


def _poll_while(poller, wanted, link):
    """Start or stop a trace poller; a bug in it is logged, not raised into the reactor."""
    if not wanted and poller.running:
        poller.stop()
    elif wanted and not poller.running:
        poller.start(TRACE_POLL_INTERVAL, now=False).addErrback(
            lambda failure: log.failure("{name}: trace poll failed", failure=failure,
                                        name=link.name))


async def _samples_of(follower):
    """GetTraceVariables for the follower's token: (token, status, samples); None when nothing
    is traced, the call failed (the link says why) or the token changed meanwhile."""
    token = follower.token
    if token is None or not follower.link.reachable:
        return None
    try:
        status, samples = await follower.link.call("GetTraceVariables", token)
    except (PLCUnreachable, PLCObjectError):
        return None
    return (token, status, samples) if token == follower.token else None
