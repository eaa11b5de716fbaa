"""Many runtimes on one realm, through one router session (architecture.md, "Fleet").

Which runtimes exist is asked of the router, never kept by hand: the sessions joined with the
runtime role (their authid is the runtime ID) and the topics holding a retained status event
(every plclink runtime and bridge publishes one; the router's testament turns it into
Disconnected when a runtime vanishes). Beremiz's own WAMP runtime publishes no status: it is
found by its session and asked GetPLCstatus. Operations run concurrently, each runtime's
outcome on its own: one that is unreachable or drops mid-operation fails alone.
"""
from dataclasses import dataclass

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import SubscribeOptions
from twisted.internet import defer, reactor

from ide_component import blob_plan
from ide_component.connectors import check_router_url, router_uri
from ide_component.failures import OperationFailed
from ide_component.plc_client import PLCClient
from ide_component.transfer import transfer
from ide_component.wamp_connector import WampConnector
from ide_component.wamp_session import join, load_credentials
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (DEFAULT_REALM, DEFAULT_URL, EVENT_STATUS, split_name,
                                           topic)

RUNTIME_ROLE = "runtime"
RETAINED_WAIT = 2.0        # the retained event follows SUBSCRIBED at once; this is slack
DEFAULT_CONCURRENCY = 32   # transfers at once: bounds the data in flight, not the fleet size


@dataclass(frozen=True)
class RuntimeInfo:
    """What the router knows of a runtime without asking it (its retained status event)."""
    plc_id: str
    status: PLCStatus
    log_counts: tuple = ()
    md5: str | None = None
    bridged: bool | None = None
    platform: str | None = None

    def as_dict(self) -> dict:
        return {"id": self.plc_id, "status": self.status.value, "log_counts": list(self.log_counts),
                "md5": self.md5, "bridged": self.bridged, "platform": self.platform}


@dataclass(frozen=True)
class Outcome:
    """One runtime's result: ``value`` on success, else ``error`` and its ``kind``."""
    plc_id: str
    value: object = None
    error: str | None = None
    kind: str = "ok"   # ok, failed (refused or went wrong), unreachable

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


async def outcome_of(plc_id: str, operation) -> Outcome:
    """Run ``operation()`` and turn its failure into this runtime's Outcome."""
    try:
        return Outcome(plc_id, await operation())
    except PLCUnreachable as error:
        return Outcome(plc_id, error=str(error), kind="unreachable")
    except (PLCObjectError, OperationFailed, ValueError) as error:
        return Outcome(plc_id, error=str(error), kind="failed")


class Fleet:
    def __init__(self, session, router_url: str, realm: str):
        self.session = session
        self.router_url = router_url
        self.realm = realm

    @classmethod
    async def open(cls, router: str | None = None, realm: str | None = None,
                   credentials: dict | None = None) -> "Fleet":
        """Join the router; address, realm and identity default to the credentials file's."""
        credentials = load_credentials() if credentials is None else credentials
        url = check_router_url(router or credentials.get("router") or DEFAULT_URL)
        realm = realm or credentials.get("realm") or DEFAULT_REALM
        return cls(await join(url, realm, credentials), url, realm)

    async def close(self) -> None:
        if self.session.is_attached():
            closed = self.session.leave()
            if isinstance(closed, defer.Deferred):
                await closed

    def client(self, plc_id: str) -> PLCClient:
        """A client for one runtime, sharing this fleet's session."""
        return PLCClient(WampConnector(router_uri(self.router_url, self.realm, plc_id),
                                       session=self.session))

    # --- discovery -----------------------------------------------------------------------------

    async def discover(self) -> list:
        """IDs of every runtime on the realm, connected or announced Disconnected, sorted."""
        joined, announced = await self._discover()
        return sorted(joined | announced)

    async def _discover(self) -> tuple:
        """(IDs of runtime sessions joined now, IDs whose status topic is subscribed)."""
        sessions, subscriptions = await defer.gatherResults([
            self.session.call("wamp.session.list", [RUNTIME_ROLE]),
            self.session.call("wamp.subscription.list")])
        found = await defer.gatherResults(
            [self._meta("wamp.session.get", number) for number in sessions]
            + [self._meta("wamp.subscription.get", number) for number in subscriptions["exact"]])
        joined, announced = set(), set()
        for details in found:
            if details is None:
                continue
            if "authid" in details:
                joined.add(details["authid"])
            else:
                name = split_name(details.get("uri", ""))
                if name is not None and name[1] == EVENT_STATUS:
                    announced.add(name[0])
        return joined, announced

    def _meta(self, procedure: str, number: int):
        """Details of one session or subscription; None if it vanished since it was listed."""
        def gone(failure):
            failure.trap(ApplicationError)
            return None
        return self.session.call(procedure, number).addErrback(gone)

    async def list(self) -> list:
        """RuntimeInfo of every runtime, from retained status events; a runtime that publishes
        none (Beremiz's own WAMP runtime) is asked its status instead."""
        joined, announced = await self._discover()
        return list(await defer.gatherResults(
            [defer.ensureDeferred(self._info(plc_id, plc_id in joined))
             for plc_id in sorted(joined | announced)]))

    async def _info(self, plc_id: str, joined: bool) -> RuntimeInfo:
        retained = defer.Deferred()

        def on_status(status, counts, **details):
            if retained.called:
                return
            status = PLCStatus.parse(status)
            # Disconnected while a runtime session holds the ID is an old testament (of a
            # runtime since replaced by one that publishes nothing): ask the one joined now.
            retained.callback(None if status == PLCStatus.DISCONNECTED and joined else RuntimeInfo(
                plc_id, status, tuple(counts), details.get("md5"), details.get("bridged"),
                details.get("platform")))
        subscription = await self.session.subscribe(on_status, topic(plc_id, EVENT_STATUS),
                                                    options=SubscribeOptions(get_retained=True))
        retained.addTimeout(RETAINED_WAIT, reactor)
        try:
            info = await retained
        except defer.TimeoutError:
            info = None
        finally:
            await subscription.unsubscribe()
        if info is not None:
            return info
        state = await outcome_of(plc_id, self.client(plc_id).status)
        if not state.ok:
            return RuntimeInfo(plc_id, PLCStatus.DISCONNECTED)
        return RuntimeInfo(plc_id, state.value.status, state.value.log_counts)

    async def _selected(self, ids) -> list:
        return list(ids) if ids else await self.discover()

    # --- operations ----------------------------------------------------------------------------

    async def _each(self, ids, operation) -> list:
        """``operation(client)`` on every runtime at once; Outcomes in the order of ``ids``."""
        ids = await self._selected(ids)
        return list(await defer.gatherResults([
            defer.ensureDeferred(outcome_of(plc_id, lambda c=self.client(plc_id): operation(c)))
            for plc_id in ids]))

    async def status(self, ids=None) -> list:
        """Outcome per runtime with a PLCState, asking every runtime at once (all if no ids)."""
        return await self._each(ids, lambda client: client.status())

    async def start(self, ids=None) -> list:
        return await self._each(ids, lambda client: client.start())

    async def stop(self, ids=None) -> list:
        return await self._each(ids, lambda client: client.stop())

    async def deploy(self, ids, program, extra_files=(), *, start: bool = False,
                     force: bool = False, chunk_size: int = blob_plan.DEFAULT_CHUNK_SIZE,
                     window: int = blob_plan.DEFAULT_WINDOW, progress=None,
                     concurrency: int = DEFAULT_CONCURRENCY) -> list:
        """The same transfer to many runtimes; Outcome values are TransferResults.
        ``progress(plc_id, stage, done, total)``; stage "failed" ends a runtime that failed."""
        plan = blob_plan.read_transfer(program, extra_files, chunk_size)
        gate = defer.DeferredSemaphore(concurrency)
        report = progress or (lambda *args: None)

        async def one(client):
            async def run():
                try:
                    result = await transfer(client.connector, plan, force=force, window=window,
                                            progress=lambda *args: report(client.plc_id, *args))
                    if start:
                        await client.start()
                        report(client.plc_id, "started", plan.size, plan.size)
                except Exception:
                    report(client.plc_id, "failed", 0, plan.size)
                    raise
                return result
            return await gate.run(lambda: defer.ensureDeferred(run()))

        return await self._each(ids, one)
