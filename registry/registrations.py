"""Runtimes known by their procedures: a session that registers ``<ID>.GetPLCstatus`` is a
runtime, whatever role it joined with (Beremiz's WAMP runtime joins anonymously on a router
run with --dev), and the deletion of that registration (the router deletes it when the session
leaves, is killed or drops) marks a runtime that publishes no status Disconnected, kept in the
table. A runtime that publishes its status has a testament for that, and a site's link is
registry/sites.py's.
"""
import time

from autobahn.wamp.exception import ApplicationError
from twisted.internet import defer, reactor

from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import split_name
from router.sites import MARKER_METHOD, SITE_ROLE


class RegisteredRuntimes:
    def __init__(self, registry, first_status_wait: float):
        self.registry = registry
        self.first_status_wait = first_status_wait
        self.registrations = {}   # registration number -> runtime ID

    async def joined(self, session) -> None:
        self.registrations.clear()
        await session.subscribe(self.on_create, "wamp.registration.on_create")
        await session.subscribe(self.on_delete, "wamp.registration.on_delete")
        listed = await session.call("wamp.registration.list")
        found = await defer.gatherResults([self._get(session, number) for number in listed["exact"]])
        for details in found:
            name = split_name((details or {}).get("uri", ""))
            if name is None or name[1] != MARKER_METHOD:
                continue
            callees = await self._callees(session, details["id"])
            for session_id in callees:
                await self.on_create(session_id, details, poll=False)

    @staticmethod
    def _get(session, number):
        return session.call("wamp.registration.get", number).addErrback(
            lambda failure: failure.trap(ApplicationError) and None)

    @staticmethod
    async def _callees(session, number) -> list:
        try:
            return await session.call("wamp.registration.list_callees", number) or []
        except ApplicationError:
            return []

    async def on_create(self, session_id, details, poll=True):
        name = split_name(details.get("uri", ""))
        session = self.registry.session
        if name is None or name[1] != MARKER_METHOD or session is None:
            return
        try:
            caller = await session.call("wamp.session.get", session_id)
        except ApplicationError:
            return   # gone already: its deletion follows
        if caller.get("authrole") == SITE_ROLE:
            return
        plc_id = name[0]
        self.registrations[details["id"]] = plc_id
        if poll:
            reactor.callLater(self.first_status_wait, self.registry._poll_if_silent, plc_id)

    def on_delete(self, session_id, number, *rest, **kwargs):
        plc_id = self.registrations.pop(number, None)
        if plc_id is None or plc_id in self.registrations.values():
            return
        row = self.registry.runtimes.get(plc_id)
        if row is not None and row["online"] and plc_id not in self.registry.status_heard:
            self.registry.apply_status(plc_id, PLCStatus.DISCONNECTED, row["log_counts"],
                                       row["md5"], row["platform"], row["kind"], time.time())

    def registered(self) -> set:
        """IDs whose GetPLCstatus is registered now (not through a site's link)."""
        return set(self.registrations.values())
