"""The live runtime table: one row per runtime (status, online, md5, log counts, when seen),
kept from the runtimes' retained ``<ID>.status`` events, the meta API's session joins and leaves
and, for Beremiz's WAMP runtime that publishes no status, answers to ``GetPLCstatus``.

A mixin of registry.live.Registry: it uses the writer, the fleet, the installs, audit and alarm
parts through ``self``.
"""
import time

from twisted.internet import defer, reactor
from twisted.logger import Logger

from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import split_name
from registry.registrations import RegisteredRuntimes
from registry.sites import LinkedRuntimes

BEREMIZ_POLL = 5.0          # how often runtimes without status events are asked
FIRST_STATUS_WAIT = 2.0     # a runtime session silent this long after joining is polled
KIND_NATIVE, KIND_BRIDGED, KIND_BEREMIZ = "native", "bridged", "beremiz"
log = Logger()


def event_runtime(details) -> str | None:
    """The runtime ID an event of a wildcard subscription (``<ID>.<event>``) is about."""
    name = split_name(getattr(details, "topic", None) or "")
    return name[0] if name is not None else None


def runtime_document(row: dict, site: str | None = None) -> dict:
    """``site``: the plant router a runtime is linked from (registry/sites.py), None here."""
    return {**{key: row[key] for key in (
        "id", "kind", "status", "online", "log_counts", "md5", "platform", "first_seen",
        "last_seen", "connected_since", "offline_since", "forced", "cause")}, "site": site}


class RuntimeTable:
    def __init__(self):
        self.runtimes = {}          # ID -> row (schema.runtime columns, log_counts a list)
        self.ticks = {}             # ID -> its PLC tick, as last heard (<ID>.values)
        self.scans = {}             # ID -> its last <ID>.scan kwargs (kept in memory only)
        self.dirty = set()
        self.sessions = {}          # runtime session number -> ID
        self.status_heard = set()   # IDs that publish status events
        self.linked = LinkedRuntimes(self, KIND_NATIVE)
        self.registered = RegisteredRuntimes(self, FIRST_STATUS_WAIT)
        super().__init__()

    async def catch_up(self) -> None:
        """The fleet as it is now: runtime sessions, and every retained status (or, for a
        runtime without one, its answer), so what changed while the registry was away is
        recorded; a runtime it had online and that is gone now is marked offline."""
        self.sessions = await self.fleet.runtime_sessions()
        infos = await self.fleet.list(ask_each=True)
        now = time.time()
        seen = set()
        for info in infos:
            seen.add(info.plc_id)
            if info.site is not None:
                continue   # linked from a site: self.linked asks it as it finds the link
            kind = (KIND_BEREMIZ if info.bridged is None else
                    KIND_BRIDGED if info.bridged else KIND_NATIVE)
            if kind != KIND_BEREMIZ:
                self.status_heard.add(info.plc_id)
            when = (self.last_known(info.plc_id, now) if info.status == PLCStatus.DISCONNECTED
                    else now)
            self.published_labels[info.plc_id] = info.labels or {}
            self.apply_status(info.plc_id, info.status, info.log_counts, info.md5, info.platform,
                              kind, when)
        for plc_id, row in self.runtimes.items():
            if plc_id not in seen and row["online"]:
                self.apply_status(plc_id, PLCStatus.DISCONNECTED, row["log_counts"], row["md5"],
                                  row["platform"], row["kind"], self.last_known(plc_id, now))
        log.info("registry caught up: {count} runtime(s) on the realm, {known} known",
                 count=len(infos), known=len(self.runtimes))

    def last_known(self, plc_id, now) -> float:
        """When a runtime found gone after the registry was away was last known online: its
        last event, or the moment the registry lost sight of the fleet if it was online then
        (the registry would have heard it leave otherwise)."""
        row = self.runtimes.get(plc_id)
        if row is None or not row["online"]:
            return now
        return min(now, max(row["last_seen"], self.away_since or row["last_seen"]))

    def on_status(self, status, counts=(0, 0, 0, 0), *rest, details=None, **kwargs):
        plc_id = event_runtime(details)
        try:
            status = PLCStatus.parse(status)
        except ValueError:
            log.warn("{topic}: unusable status {status!r}", topic=details.topic, status=status)
            return
        if plc_id is None:
            return
        self.status_heard.add(plc_id)
        if self.heard_labels(plc_id, kwargs) and plc_id in self.runtimes:
            self.announce("on_runtime", self.document(plc_id))
        self.apply_status(plc_id, status, tuple(counts or (0, 0, 0, 0)), kwargs.get("md5"),
                          kwargs.get("platform"),
                          KIND_BRIDGED if kwargs.get("bridged") else KIND_NATIVE, time.time())
        self.forces.on_status(plc_id, kwargs)
        self.broken_cause(plc_id)

    def touch(self, plc_id: str, now: float, kind: str = KIND_NATIVE, heard=True) -> dict:
        """The runtime's row (created when new); ``heard``: something came from the runtime
        itself now (a Disconnected status is the router's testament, not the runtime)."""
        row = self.runtimes.get(plc_id)
        if row is None:
            row = self.runtimes[plc_id] = {
                "id": plc_id, "kind": kind, "platform": None, "status": None, "md5": None,
                "log_counts": [0, 0, 0, 0], "online": False, "first_seen": now,
                "last_seen": now, "connected_since": None, "offline_since": None, "forced": 0,
                "cause": None}
            log.info("new runtime {id} ({kind})", id=plc_id, kind=kind)
        if heard:
            row["last_seen"] = max(row["last_seen"], now)
        self.dirty.add(plc_id)
        return row

    def apply_status(self, plc_id, status: PLCStatus, counts, md5, platform, kind, now) -> None:
        online = status != PLCStatus.DISCONNECTED
        row = self.touch(plc_id, now, kind, heard=online)
        before = dict(row)
        if online:
            row["kind"] = kind
            row["platform"] = platform or row["platform"]
            row["md5"] = md5 if md5 is not None else row["md5"]
        row["status"] = status.value
        row["log_counts"] = list(counts)
        row["online"] = online
        if online and not before["online"]:
            row["connected_since"], row["offline_since"] = now, None
        elif not online and (before["online"] or row["offline_since"] is None):
            row["connected_since"], row["offline_since"] = None, now
        if before["status"] != row["status"] or before["md5"] != row["md5"]:
            self.writer.put("status", {"runtime_id": plc_id, "time": now,
                                       "status": row["status"], "md5": row["md5"]})
        if online and row["md5"] and kind == KIND_NATIVE:
            self.program_seen(plc_id, row["md5"])
        if online and row["md5"] and row["md5"] != before["md5"]:
            self.record_install(plc_id, row["md5"], now)
            self.tables.pop(plc_id, None)   # a new program: a new variable table
        self.check_pending(plc_id, final=False)
        self.status_alarms(plc_id, before, row, now)
        if any(before[key] != row[key] for key in ("status", "online", "md5", "kind")):
            self.announce("on_runtime", self.document(plc_id))

    # --- runtime sessions (the meta API) -------------------------------------------------------

    def on_session_join(self, details):
        if details.get("authrole") != "runtime":
            return
        plc_id = details.get("authid")
        self.sessions[details.get("session")] = plc_id
        # A new session speaks for itself: an ID that published before (an old testament, a
        # plclink runtime replaced by Beremiz's) is asked unless this one publishes.
        self.status_heard.discard(plc_id)
        reactor.callLater(FIRST_STATUS_WAIT, self._poll_if_silent, plc_id)

    def on_session_leave(self, session_id, *rest, **kwargs):
        plc_id = self.sessions.pop(session_id, None)
        if plc_id is None or plc_id in self.sessions.values():
            return
        row = self.runtimes.get(plc_id)
        if row is not None and row["kind"] == KIND_BEREMIZ:
            # no testament announces a runtime that never published a status
            self.apply_status(plc_id, PLCStatus.DISCONNECTED, row["log_counts"], row["md5"],
                              row["platform"], KIND_BEREMIZ, time.time())

    def _poll_if_silent(self, plc_id):
        if plc_id not in self.status_heard and plc_id in self.runtime_ids():
            return self.poll(plc_id)

    def poll_silent(self):
        return defer.DeferredList([self.poll(plc_id) for plc_id in self.runtime_ids()
                                   if plc_id not in self.status_heard])

    def runtime_ids(self) -> set:
        """Runtimes connected now: runtime sessions, and sessions that registered a runtime's
        procedures whatever their role (registry/registrations.py)."""
        return set(self.sessions.values()) | self.registered.registered()

    def poll(self, plc_id):
        if self.fleet is None:
            return None

        async def ask():
            try:
                state = await self.fleet.client(plc_id).status()
            except Exception as error:   # gone meanwhile, or not a PLC: asked again later
                log.debug("{id}: no status ({error})", id=plc_id, error=error)
                return
            row = self.runtimes.get(plc_id)
            self.apply_status(plc_id, state.status, state.log_counts,
                              row["md5"] if row else None, row["platform"] if row else None,
                              KIND_BEREMIZ, time.time())
        return defer.ensureDeferred(ask())
    def document(self, plc_id: str) -> dict:
        """A runtime's row as the API shows it (registry/API.md, ``Runtime``)."""
        row = self.runtimes[plc_id]
        return {**runtime_document(row, self.linked.sites.get(plc_id)),
                "labels": self.labels(plc_id), "tick": self.ticks.get(plc_id),
                "scan": self.scans.get(plc_id) if row["status"] == PLCStatus.STARTED.value
                else None}

    def on_scan(self, *args, details=None, **kwargs):
        """A runtime's scan health (<ID>.scan), shown with its row while it is Started; not
        announced on its own (it comes every few seconds): the next row change carries it."""
        plc_id = event_runtime(details)
        if plc_id is not None:
            self.scans[plc_id] = kwargs

    def live_table(self) -> list:
        return [self.document(plc_id) for plc_id in sorted(self.runtimes)
                if self.runtimes[plc_id]["status"] is not None]
