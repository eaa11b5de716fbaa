"""Reading a runtime's log (protocol.md §3): the last messages, and following new ones.

Counts are the source of truth: a message id below a level's count exists (unless dropped by
the runtime's bounded buffer). Events only make following prompt; whenever a count runs ahead
of what was delivered (a lost event, a status event, a poll), the missing ids are fetched with
GetLogMessage, so nothing is skipped and nothing is shown twice.
"""
from twisted.internet import defer, task

from ide_component.connectors import LINK_CHECK_INTERVAL
from plc_protocol.log_levels import LOG_LEVEL_COUNT, LogLevel, LogMessage
from plc_protocol.wamp_conventions import EVENT_LOG, EVENT_STATUS

FOLLOW_POLL_INTERVAL = 0.5     # without events (eRPC)


def newest_ids(counts, count: int) -> list:
    """(level, id) of every message that may be among the ``count`` newest: the last ``count``
    of each level, since only their times tell which are the newest overall."""
    return [(LogLevel(level), msg_id) for level, total in enumerate(counts)
            for msg_id in range(max(0, total - count), total)]


async def fetch_entry(connector, level: LogLevel, msg_id: int) -> LogMessage | None:
    answer = await connector.call("GetLogMessage", int(level), msg_id)
    return None if answer is None else LogMessage(level, msg_id, *answer)


async def last_messages(connector, count: int = 10) -> list:
    """The ``count`` newest messages, oldest first."""
    if count <= 0:
        return []
    _, counts = await connector.call("GetPLCstatus")
    entries = await defer.gatherResults(
        [defer.ensureDeferred(fetch_entry(connector, level, msg_id))
         for level, msg_id in newest_ids(counts, count)], consumeErrors=True)
    found = sorted((e for e in entries if e is not None), key=lambda e: (e.time, e.level, e.msg_id))
    return found[-count:]


class LogFollower:
    """Calls ``handler(entry)`` for every message logged after :meth:`start`; ``done`` fires
    when stopped and fails with the error when the link is lost."""

    def __init__(self, connector, handler):
        self.connector = connector
        self.handler = handler
        self.done = defer.Deferred()
        self._delivered = None             # per level: the next id to deliver
        self._wanted = [0] * LOG_LEVEL_COUNT
        self._received = {}                # (level, id) -> entry that came as an event
        self._lock = defer.DeferredLock()
        self._subscriptions = []
        self._pending_events = []
        self._check = None

    async def start(self) -> "LogFollower":
        # Subscribe before reading the counts, so nothing logged in between is missed.
        log_sub = self.connector.subscribe(EVENT_LOG, self._on_log)
        if log_sub is not None:
            self._subscriptions.append(await log_sub)
            self._subscriptions.append(await self.connector.subscribe(EVENT_STATUS, self._on_status))
        _, counts = await self.connector.call("GetPLCstatus")
        self._delivered = list(counts)
        self._wanted = [max(w, c) for w, c in zip(self._wanted, counts)]
        for event in self._pending_events:
            self._on_log(*event)
        self._pending_events = []
        interval = LINK_CHECK_INTERVAL if self._subscriptions else FOLLOW_POLL_INTERVAL
        self._check = task.LoopingCall(self._poll)
        self._check.start(interval, now=False).addErrback(self._fail)
        return self

    def _on_log(self, level, msg_id, text, tick, sec, nsec, **_):
        if self._delivered is None:
            self._pending_events.append((level, msg_id, text, tick, sec, nsec))
            return
        level = LogLevel(level)
        if msg_id >= self._delivered[level]:
            self._received[(level, msg_id)] = LogMessage(level, msg_id, text, tick, sec, nsec)
            self._want(level, msg_id + 1)

    def _on_status(self, status, counts, **_):
        if self._delivered is not None:
            for level, count in enumerate(counts):
                self._want(LogLevel(level), count)

    async def _poll(self):
        _, counts = await self.connector.call("GetPLCstatus")
        for level, count in enumerate(counts):
            self._want(LogLevel(level), count)

    def _want(self, level: LogLevel, count: int) -> None:
        if count < self._delivered[level]:   # the counts were reset: ids start again from 0
            self._delivered[level] = self._wanted[level] = count
            return
        if count > self._wanted[level]:
            self._wanted[level] = count
        self._lock.run(self._catch_up).addErrback(self._fail)

    async def _catch_up(self):
        for level in LogLevel:
            while self._delivered[level] < self._wanted[level]:
                msg_id = self._delivered[level]
                entry = self._received.pop((level, msg_id), None)
                if entry is None:
                    entry = await fetch_entry(self.connector, level, msg_id)
                self._delivered[level] = msg_id + 1
                if entry is not None:   # None: dropped by the runtime's bounded buffer
                    self.handler(entry)

    def _fail(self, failure):
        if not self.done.called:
            self.done.errback(failure)
        self._halt()

    def _halt(self):
        if self._check is not None and self._check.running:
            self._check.stop()
        for subscription in self._subscriptions:
            if subscription.active:
                defer.maybeDeferred(subscription.unsubscribe).addErrback(lambda _: None)
        self._subscriptions = []

    def stop(self) -> None:
        self._halt()
        if not self.done.called:
            self.done.callback(None)
