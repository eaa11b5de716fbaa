"""A person's writes go to the router in that person's own WAMP session.

A person who logs in over OPC UA with their router account (``--people``) is checked by the
gateway against the people file; their writes are then made by a session the gateway opens on
the router with the same name and password (WAMP ticket, as the CLI and the dashboard log in).
So the router itself decides with that person's role and scope (sites included, which the
gateway cannot know), counts a wrong password against that person's login throttle, audits the
write under their name, and the runtime records them as the writer. A session unused for
``IDLE_CLOSE`` s is closed; a password changed since the OPC UA login no longer opens one.
"""
import asyncio
import time

from twisted.internet import defer, task

from ide_component.wamp_session import join

IDLE_CLOSE = 300.0      # s without a write before a person's router session is closed


class PersonSessions:
    def __init__(self, url: str, realm: str, ca_file: str | None):
        self.url, self.realm, self.ca_file = url, realm, ca_file
        self.passwords = {}         # name -> the password of their last OPC UA login
        self.open = {}              # name -> [password, session, last use]
        self._reaper = task.LoopingCall(self.close_idle)
        self._reaper.start(IDLE_CLOSE / 5, now=False)

    def logged_in(self, name: str, password: str) -> None:
        self.passwords[name] = password

    async def session(self, name: str):
        """The person's joined session; PLCUnreachable with the router's reason if it refuses."""
        password = self.passwords.get(name, "")
        known = self.open.get(name)
        if known is not None and known[0] == password and known[1].is_attached():
            known[2] = time.monotonic()
            return known[1]
        self.close(name)
        session = await defer.ensureDeferred(join(
            self.url, self.realm, {"authid": name, "ticket": password}, ca_file=self.ca_file)
        ).asFuture(asyncio.get_event_loop())
        self.open[name] = [password, session, time.monotonic()]
        return session

    def close(self, name: str) -> None:
        known = self.open.pop(name, None)
        if known is not None and known[1].is_attached():
            known[1].leave()

    def close_idle(self) -> None:
        now = time.monotonic()
        for name in [name for name, known in self.open.items() if now - known[2] > IDLE_CLOSE]:
            self.close(name)
