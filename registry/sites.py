"""The registry at headquarters: runtimes of plant routers linked to its router (router/sites.py).

Their sessions and retained status events stay at the plant; what reaches HQ is the link's
registration of their procedures. So the registry learns a linked runtime from the
registration of its GetPLCstatus (``wamp.registration.on_create``, and the list at every
join), asks it its status then, and subscribes its events by exact URI, the only kind of
subscription a link forwards to the plant (the registry's wildcard handlers record them).
When the link goes, its registrations go: the runtime is recorded offline, and online again
when the link returns, so the gap stands in the registry's history.
"""
import time

from autobahn.wamp.exception import ApplicationError
from twisted.internet import defer
from twisted.logger import Logger

from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import EVENT_LOG, EVENT_STATUS, EVENT_VALUES, split_name, topic
from router.sites import MARKER_METHOD, SITE_ROLE

log = Logger()


def _ignore(*args, **kwargs):
    """The exact subscription only makes the link forward; the wildcard one records."""


class LinkedRuntimes:
    def __init__(self, registry, default_kind: str):
        self.registry = registry
        self.default_kind = default_kind   # until the runtime's first status event says
        self.registrations = {}   # registration number -> runtime ID
        self.sites = {}           # runtime ID -> site (kept while the registry runs)
        self.pulled = set()       # IDs whose events are subscribed by exact URI

    async def joined(self, session) -> None:
        self.pulled.clear()
        await session.subscribe(self.on_create, "wamp.registration.on_create")
        await session.subscribe(self.on_delete, "wamp.registration.on_delete")
        found = await self.registry.fleet.linked_registrations()
        await defer.gatherResults([defer.ensureDeferred(self.linked(*item)) for item in found])
        if found:
            log.info("registry: {count} runtime(s) linked from sites {sites}", count=len(found),
                     sites=", ".join(sorted({site for _, _, site in found})))

    def kind(self, plc_id):
        row = self.registry.runtimes.get(plc_id)
        return row["kind"] if row is not None else self.default_kind

    async def on_create(self, session_id, details):
        name = split_name(details.get("uri", ""))
        if name is None or name[1] != MARKER_METHOD or self.registry.session is None:
            return
        try:
            caller = await self.registry.session.call("wamp.session.get", session_id)
        except ApplicationError:
            return   # gone already
        if caller.get("authrole") == SITE_ROLE:
            await self.linked(details["id"], name[0], caller["authid"])

    def on_delete(self, session_id, number, *rest, **kwargs):
        plc_id = self.registrations.pop(number, None)
        row = self.registry.runtimes.get(plc_id)
        if row is not None and row["online"] and plc_id not in self.registrations.values():
            log.info("{id}: its site {site} is out of reach", id=plc_id, site=self.sites[plc_id])
            self.registry.link_lost(plc_id, self.sites[plc_id], time.time())
            self.registry.apply_status(plc_id, PLCStatus.DISCONNECTED, row["log_counts"],
                                       row["md5"], row["platform"], row["kind"], time.time())

    async def linked(self, number, plc_id, site) -> None:
        self.registrations[number] = plc_id
        self.sites[plc_id] = site
        session = self.registry.session
        if plc_id not in self.pulled:
            self.pulled.add(plc_id)
            for event in (EVENT_STATUS, EVENT_LOG, EVENT_VALUES):
                await session.subscribe(_ignore, topic(plc_id, event))
        try:
            state = await self.registry.fleet.client(plc_id).status()
        except Exception as error:   # the link went again meanwhile: its deletion says so
            log.debug("{id}: no status ({error})", id=plc_id, error=error)
            return
        row = self.registry.runtimes.get(plc_id)
        self.registry.apply_status(plc_id, state.status, state.log_counts,
                                   row["md5"] if row else None, row["platform"] if row else None,
                                   self.kind(plc_id), time.time())
        self.registry.link_back(plc_id, time.time())
