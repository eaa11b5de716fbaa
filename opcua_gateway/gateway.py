"""The router side of the OPC UA gateway: what the router carries, applied to the address space.

Imported only once Twisted runs on the asyncio reactor (service.py). WAMP handlers are called by
Twisted and only queue work; one asyncio task applies it to the address space in arrival order,
so asyncua's nodes are touched from one place. Values of a runtime are coalesced: when the
gateway falls behind, it shows the latest sample, never a backlog.
"""
import asyncio

from autobahn.wamp.exception import ApplicationError, TransportLost
from autobahn.wamp.types import SubscribeOptions
from twisted.internet.defer import CancelledError
from twisted.logger import Logger

from ide_component.failures import OperationFailed
from ide_component.fleet import Fleet
from ide_component.variable_trace import parse_variable_table
from opcua_gateway import writes
from opcua_gateway.address_space import AddressSpace
from plc_protocol.extension_calls import VARIABLES_CALL
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (EVENT_FORCES, EVENT_STATUS, EVENT_VALUES, procedure,
                                           split_name)

TABLE_RETRY = 5.0           # s between two asks of a runtime's table for the same program
QUALITY_INTERVAL = 0.5      # s between two checks for runtimes gone silent
log = Logger()


def _runtime_of(details) -> str | None:
    name = split_name(getattr(details, "topic", None) or "")
    return name[0] if name is not None else None


class Gateway:
    def __init__(self, users, url: str, realm: str, people_sessions=None):
        self.users = users
        self.url, self.realm = url, realm
        self.people_sessions = people_sessions
        self.session = None
        self.space: AddressSpace | None = None
        self.queue = asyncio.Queue()
        self.latest = {}            # ID -> newest values buffer not applied yet
        self.table_asked = {}       # ID -> (md5, loop time) of the last ask
        self.loop = asyncio.get_event_loop()

    def wait(self, deferred):
        return deferred.asFuture(self.loop)

    # --- the one task touching the address space ----------------------------------------------

    async def run(self, space: AddressSpace) -> None:
        self.space = space
        self.loop.create_task(self._quality_loop())
        while True:
            job = await self.queue.get()
            try:
                await job
            except Exception as error:   # one bad event must not stop the gateway
                log.error("OPC UA address space update failed: {error!r}", error=error)

    async def _quality_loop(self) -> None:
        while True:
            await asyncio.sleep(QUALITY_INTERVAL)
            self.queue.put_nowait(self.space.refresh_all())

    # --- the router ---------------------------------------------------------------------------

    async def joined(self, session) -> None:
        self.session = session
        wildcard = SubscribeOptions(match="wildcard", details=True)
        await session.subscribe(self.on_status, "." + EVENT_STATUS, options=wildcard)
        await session.subscribe(self.on_values, "." + EVENT_VALUES, options=wildcard)
        await session.subscribe(self.on_forces, "." + EVENT_FORCES, options=wildcard)
        for info in await Fleet(session, self.url, self.realm).list():
            self.queue.put_nowait(self._status(info.plc_id, info.status, info.md5))
        for plc_id in list(self.space.runtimes if self.space else ()):
            self._ask_forces(plc_id)

    def left(self) -> None:
        """Without the router nothing is known of any runtime: every value goes Bad."""
        self.session = None
        self.table_asked.clear()
        for plc_id in list(self.space.runtimes if self.space else ()):
            self.queue.put_nowait(self.space.set_status(plc_id, PLCStatus.DISCONNECTED, None))

    def on_status(self, status=None, *rest, details=None, **kwargs):
        plc_id = _runtime_of(details)
        try:
            status = PLCStatus.parse(status)
        except ValueError:
            return
        if plc_id is not None:
            md5 = kwargs.get("md5")
            self.queue.put_nowait(self._status(plc_id, status, md5 if isinstance(md5, str)
                                               else None))

    def on_values(self, tick=None, buffer=b"", *rest, details=None, **kwargs):
        plc_id = _runtime_of(details)
        if plc_id is None or not isinstance(buffer, (bytes, bytearray)):
            return
        pending = plc_id in self.latest
        self.latest[plc_id] = bytes(buffer)
        if not pending:
            self.queue.put_nowait(self._values(plc_id))

    def on_forces(self, entries=None, *rest, details=None, **kwargs):
        plc_id = _runtime_of(details)
        if plc_id is not None and isinstance(entries, list):
            self.queue.put_nowait(self.space.set_forces(plc_id, entries))

    async def _status(self, plc_id, status, md5) -> None:
        known = self.space.runtimes.get(plc_id)
        if known is None or known.status != status:
            log.info("{id}: {status}", id=plc_id, status=status.value)
        if await self.space.set_status(plc_id, status, md5):
            self._ask_table(plc_id, md5)

    async def _values(self, plc_id) -> None:
        buffer = self.latest.pop(plc_id, None)
        if buffer is not None and not await self.space.set_values(plc_id, buffer):
            runtime = self.space.runtimes.get(plc_id)
            self._ask_table(plc_id, runtime.md5 if runtime else None, again=True)

    def _ask_table(self, plc_id, md5, again=False) -> None:
        """Ask a runtime its variable table, once per program (again after TABLE_RETRY when
        samples do not fit the table it gave)."""
        asked = self.table_asked.get(plc_id)
        now = self.loop.time()
        if self.session is None or (asked is not None and asked[0] == md5 and (
                not again or now - asked[1] < TABLE_RETRY)):
            return
        self.table_asked[plc_id] = (md5, now)
        self.loop.create_task(self._read_table(plc_id, md5))

    async def _read_table(self, plc_id, md5) -> None:
        try:
            answer = await self.wait(self.session.call(procedure(plc_id, "ExtendedCall"),
                                                       VARIABLES_CALL, b""))
            variables = parse_variable_table(bytes(answer))
        except ApplicationError as error:
            log.warn("{id}: no variable table, its variables are not shown: {error}", id=plc_id,
                     error=error.error_message())
            return
        except OperationFailed as error:
            log.warn("{id}: {error}", id=plc_id, error=error)
            return
        except (TransportLost, CancelledError):
            return   # the router went away: asked again after the next join
        self.queue.put_nowait(self.space.set_table(plc_id, variables, md5))
        log.info("{id}: {count} variables in the address space", id=plc_id,
                 count=len(variables))
        self._ask_forces(plc_id)

    def _ask_forces(self, plc_id) -> None:
        """The force table of a runtime that has one (the retained ``<ID>.forces`` is only
        sent to new subscribers of that topic, not to a wildcard one)."""
        if self.session is None:
            return

        async def ask():
            try:
                entries = await self.wait(self.session.call(procedure(plc_id, "GetForces")))
            except Exception:
                return   # a runtime without forces (upstream's): nothing to show
            if isinstance(entries, list):
                self.queue.put_nowait(self.space.set_forces(plc_id, entries))
        self.loop.create_task(ask())

    # --- OPC UA writes --------------------------------------------------------------------------

    async def write_variable(self, user, runtime, variable, data_value) -> int:
        return await writes.write_variable(self._session_for, self.wait, self.users, user,
                                           runtime, variable, data_value, log)

    async def _session_for(self, name):
        """A person writes in their own router session, a machine user in the gateway's."""
        if self.session is None:
            return None    # the router is away: nobody's write can reach a runtime
        if self.people_sessions is not None and self.users.is_person(name):
            return await self.people_sessions.session(name)
        return self.session

