"""Many runtimes on one realm, through one router session (architecture.md, "Fleet").

Which runtimes exist is asked of the router, never kept by hand: the sessions joined with the
runtime role (their authid is the runtime ID) and the topics holding a retained status event
(every plclink runtime and bridge publishes one; the router's testament turns it into
Disconnected when a runtime vanishes). Beremiz's own WAMP runtime publishes no status: it is
found by its session and asked GetPLCstatus. Operations run concurrently, each runtime's
outcome on its own: one that is unreachable or drops mid-operation fails alone.

With a registry on the realm (``plclink registry``), list and status read its live table in one
call (kept current by the same events), and history, rollback and diff come from its store.

At headquarters, the runtimes of plant routers linked to this one (router/sites.py) are found
by the procedures their site's link registered here; their retained status events do not cross
the link, so each is asked GetPLCstatus.
"""
from dataclasses import dataclass, replace

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import SubscribeOptions
from twisted.internet import defer, reactor
from twisted.logger import Logger

from ide_component import blob_plan, registry_client
from ide_component.connectors import check_router_url, router_uri
from ide_component.failures import OperationFailed
from ide_component.plc_client import PLCClient, PLCState
from ide_component.transfer import transfer
from ide_component.wamp_connector import WampConnector
from ide_component.wamp_session import join, load_credentials
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.labels import EVENT_KWARG as LABELS_KWARG, check_labels, selects
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (DEFAULT_REALM, DEFAULT_URL, EVENT_STATUS, split_name,
                                           topic)
from router.sites import MARKER_METHOD, SITE_ROLE

RUNTIME_ROLE = "runtime"
RETAINED_WAIT = 2.0        # the retained event follows SUBSCRIBED at once; this is slack
DEFAULT_CONCURRENCY = 32   # transfers at once: bounds the data in flight, not the fleet size
log = Logger()


@dataclass(frozen=True)
class RuntimeInfo:
    """What the router knows of a runtime without asking it (its retained status event)."""
    plc_id: str
    status: PLCStatus
    log_counts: tuple = ()
    md5: str | None = None
    bridged: bool | None = None
    platform: str | None = None
    last_seen: float | None = None       # known only from a registry
    offline_since: float | None = None
    site: str | None = None              # the plant router it is linked from; None: this one
    forced: int | None = None            # how many variables are forced; None: unknown
    cause: str | None = None             # why it is Broken (its CRITICAL message)
    labels: dict | None = None           # plc_protocol/labels.py
    scan: dict | None = None             # its last <ID>.scan while Started, known from a registry

    def as_dict(self) -> dict:
        return {"id": self.plc_id, "status": self.status.value, "log_counts": list(self.log_counts),
                "md5": self.md5, "bridged": self.bridged, "platform": self.platform,
                "last_seen": self.last_seen, "offline_since": self.offline_since,
                "site": self.site, "forced": self.forced, "cause": self.cause,
                "problem": self.problem, "labels": self.labels or {}, "scan": self.scan}

    @property
    def problem(self) -> str | None:
        """What a person must look at: the Broken cause, or Disconnected."""
        if self.status == PLCStatus.BROKEN:
            return self.cause or "Broken (cause not reported)"
        if self.status == PLCStatus.DISCONNECTED:
            return "Disconnected"
        return None

    @classmethod
    def from_registry(cls, row: dict) -> "RuntimeInfo":
        """The registry's live-table row; ``forced``/``cause`` where the registry copies them
        from the status event (else asked of the runtime: Fleet.list)."""
        return cls(row["id"], PLCStatus.parse(row["status"]), tuple(row["log_counts"]),
                   row["md5"], None if row["kind"] == "beremiz" else row["kind"] == "bridged",
                   row["platform"], row["last_seen"], row["offline_since"], row.get("site"),
                   row.get("forced"), row.get("cause"), row.get("labels") or {},
                   row.get("scan"))


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
    """Run ``operation()`` and turn its failure, whatever it is, into this runtime's Outcome:
    one runtime's trouble never escapes to end the operation on the others."""
    try:
        return Outcome(plc_id, await operation())
    except defer.FirstError as error:   # concurrent calls: the first failure is the news
        return await outcome_of(plc_id, lambda: error.subFailure.raiseException())
    except (PLCUnreachable, defer.TimeoutError, defer.CancelledError) as error:
        return Outcome(plc_id, error=_message(error) or "no answer in time",
                       kind="unreachable")
    except (PLCObjectError, OperationFailed, ValueError) as error:
        return Outcome(plc_id, error=_message(error), kind="failed")
    except Exception as error:   # a bug or an unexpected answer: this runtime's failure alone
        log.failure("{id}: unexpected failure", id=plc_id)
        return Outcome(plc_id, error=f"{type(error).__name__}: {_message(error)}",
                       kind="failed")


def _message(error) -> str:
    return " ".join(str(error).split())


class Fleet:
    def __init__(self, session, router_url: str, realm: str):
        self.session = session
        self.router_url = router_url
        self.realm = realm
        self.sites = {}   # runtime ID -> site, as last discovered

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
        """IDs of every runtime on the realm, connected or announced Disconnected, or linked
        from a site, sorted."""
        joined, announced, linked = await self._discover()
        unsure = sorted(announced - joined - set(linked))
        found = await defer.gatherResults([defer.ensureDeferred(self._info(plc_id, False))
                                           for plc_id in unsure])
        return sorted(joined | set(linked) | {info.plc_id for info in found if info is not None})

    async def _discover(self) -> tuple:
        """(IDs of runtime sessions joined now, IDs whose status topic is subscribed,
        {ID: site} of the runtimes linked from sites)."""
        sessions, announced, linked = await defer.gatherResults([
            defer.ensureDeferred(self.runtime_sessions()),
            defer.ensureDeferred(self._announced()),
            defer.ensureDeferred(self.linked_runtimes())])
        return set(sessions.values()), announced, linked

    async def linked_runtimes(self) -> dict:
        """{runtime ID: site} of every runtime linked from a site."""
        linked = {plc_id: site for _, plc_id, site in await self.linked_registrations()}
        self.sites.update(linked)
        return linked

    async def linked_registrations(self) -> list:
        """(registration, runtime ID, site) of every GetPLCstatus a site's link registered
        here: the link's session is its callee, and that session's authid is the site."""
        links = await self.session.call("wamp.session.list", [SITE_ROLE])
        if not links:
            return []
        found = await defer.gatherResults([self._meta("wamp.session.get", number)
                                           for number in links])
        site_of_session = {details["session"]: details["authid"] for details in found if details}
        registrations = await self.session.call("wamp.registration.list")
        found = await defer.gatherResults([self._meta("wamp.registration.get", number)
                                           for number in registrations["exact"]])
        names = [(details["id"], split_name(details.get("uri", ""))) for details in found
                 if details]
        status = [(number, name[0]) for number, name in names
                  if name is not None and name[1] == MARKER_METHOD]
        callees = await defer.gatherResults([
            self._meta("wamp.registration.list_callees", number) for number, _ in status])
        return [(number, plc_id, site_of_session[session])
                for (number, plc_id), sessions in zip(status, callees)
                for session in sessions or () if session in site_of_session]

    async def runtime_sessions(self) -> dict:
        """{session number: runtime ID} of every session joined with the runtime role now."""
        numbers = await self.session.call("wamp.session.list", [RUNTIME_ROLE])
        found = await defer.gatherResults([self._meta("wamp.session.get", number)
                                           for number in numbers])
        return {details["session"]: details["authid"] for details in found if details}

    async def _announced(self) -> set:
        """IDs whose status topic is subscribed, or holds a retained event."""
        subscriptions = await self.session.call("wamp.subscription.list")
        found = await defer.gatherResults([self._meta("wamp.subscription.get", number)
                                           for number in subscriptions["exact"]])
        names = [split_name(details.get("uri", "")) for details in found if details]
        return {name[0] for name in names if name is not None and name[1] == EVENT_STATUS}

    def _meta(self, procedure: str, number: int):
        """Details of one session or subscription; None if it vanished since it was listed."""
        def gone(failure):
            failure.trap(ApplicationError)
            return None
        return self.session.call(procedure, number).addErrback(gone)

    async def registry_table(self) -> list | None:
        """The registry's live table (RuntimeInfo of every runtime it knows); None without a
        registry, or with one that fails to answer (the runtimes are asked instead)."""
        try:
            rows = await self.ask_registry("runtimes")
        except registry_client.NoRegistry:
            return None
        except OperationFailed as error:
            log.warn("{error}; asking the runtimes", error=error)
            return None
        return [RuntimeInfo.from_registry(row) for row in rows]

    async def list(self, ask_each: bool = False) -> list:
        """RuntimeInfo of every runtime: the registry's table in one call when there is one
        (unless ``ask_each``), else from retained status events; a runtime that publishes
        none (Beremiz's own WAMP runtime) is asked its status instead."""
        table = None if ask_each else await self.registry_table()
        if table is None:
            joined, announced, linked = await self._discover()
            found = await defer.gatherResults(
                [defer.ensureDeferred(self._asked_info(plc_id, linked[plc_id]) if plc_id in linked
                                      else self._info(plc_id, plc_id in joined))
                 for plc_id in sorted(joined | announced | set(linked))])
            table = [info for info in found if info is not None]
        return list(await defer.gatherResults(
            [defer.ensureDeferred(self._completed(info)) for info in table]))

    async def _completed(self, info: RuntimeInfo) -> RuntimeInfo:
        """Ask a runtime what its status event did not say: its force count (a runtime or a
        registry of before the force model, Beremiz's WAMP runtime), a Broken cause."""
        if info.status == PLCStatus.DISCONNECTED or (
                info.forced is not None and (info.status != PLCStatus.BROKEN or info.cause)):
            return info
        try:
            details = await self.client(info.plc_id).details()
        except (PLCUnreachable, PLCObjectError, OperationFailed):
            return info
        return replace(info, forced=info.forced if info.forced is not None else details["forced"],
                       cause=info.cause or details["cause"], md5=info.md5 or details["md5"])

    async def _info(self, plc_id: str, joined: bool) -> RuntimeInfo | None:
        """None: not a runtime. A status topic is also subscribed by whoever watches an ID (a
        dashboard, a CLI, before the runtime ever came): only a retained status (the runtime's
        own, or its testament), a runtime session or an answer to GetPLCstatus make one."""
        retained = defer.Deferred()

        def on_status(status, counts, **details):
            if retained.called:
                return
            status = PLCStatus.parse(status)
            # Disconnected while a runtime session holds the ID is an old testament (of a
            # runtime since replaced by one that publishes nothing): ask the one joined now.
            retained.callback(None if status == PLCStatus.DISCONNECTED and joined else RuntimeInfo(
                plc_id, status, tuple(counts), details.get("md5"), details.get("bridged"),
                details.get("platform"), forced=details.get("forced"),
                cause=details.get("cause"), labels=_published_labels(details)))
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
        asked = await self._asked_info(plc_id)
        return asked if joined or asked.status != PLCStatus.DISCONNECTED else None

    async def _asked_info(self, plc_id: str, site: str | None = None) -> RuntimeInfo:
        state = await outcome_of(plc_id, self.client(plc_id).status)
        if not state.ok:
            return RuntimeInfo(plc_id, PLCStatus.DISCONNECTED, site=site)
        return RuntimeInfo(plc_id, state.value.status, state.value.log_counts, site=site)

    async def _selected(self, ids) -> list:
        return list(ids) if ids else await self.discover()

    async def select(self, terms, ids=None) -> list:
        """IDs of the runtimes (among ``ids``, else all) whose labels match a selector
        (plc_protocol.labels.parse_selector): the registry's labels, else those the runtimes
        publish."""
        infos = await self.list()
        return [info.plc_id for info in infos if selects(terms, info.labels)
                and (ids is None or info.plc_id in ids)]

    # --- operations ----------------------------------------------------------------------------

    async def _each(self, ids, operation) -> list:
        """``operation(client)`` on every runtime at once; Outcomes in the order of ``ids``."""
        ids = await self._selected(ids)
        return list(await defer.gatherResults([
            defer.ensureDeferred(outcome_of(plc_id, lambda c=self.client(plc_id): operation(c)))
            for plc_id in ids]))

    async def status(self, ids=None, ask_each: bool = False) -> list:
        """Outcome per runtime with a PLCState (all runtimes if no ids): from the registry's
        live table when there is one (unless ``ask_each``), else asking every runtime at once;
        a runtime the registry does not know is asked."""
        table = None if ask_each else await self.registry_table()
        if table is None:
            return await self._each(ids, lambda client: client.status(with_cause=True))
        known = {info.plc_id: info for info in table}
        ids = list(ids) if ids else sorted(known)
        asked = {outcome.plc_id: outcome for outcome in await self._each(
            [plc_id for plc_id in ids if plc_id not in known or _needs_cause(known[plc_id])],
            lambda client: client.status(with_cause=True))}
        return [asked[plc_id] if plc_id in asked else _registry_outcome(known[plc_id])
                for plc_id in ids]

    async def forces(self, ids=None) -> list:
        """Outcome per runtime with its force entries (None: it cannot report them)."""
        return await self._each(ids, lambda client: client.forces())

    async def start(self, ids=None) -> list:
        return await self._each(ids, lambda client: client.start())

    async def stop(self, ids=None) -> list:
        return await self._each(ids, lambda client: client.stop())

    async def deploy(self, ids, program, extra_files=(), *, chunk_size: int =
                     blob_plan.DEFAULT_CHUNK_SIZE, **options) -> list:
        """The same transfer to many runtimes; Outcome values are TransferResults (see
        deploy_plan)."""
        plan = blob_plan.read_transfer(program, extra_files, chunk_size)
        outcomes = await self.deploy_plan(ids, plan, **options)
        installed = [o.plc_id for o in outcomes if o.ok and not o.value.skipped]
        if installed:   # the registry keeps the set once, for history and rollback
            await registry_client.keep_program(self.session, plan, installed)
        return outcomes

    async def deploy_plan(self, ids, plan, *, start: bool = False, force: bool = False,
                          window: int = blob_plan.DEFAULT_WINDOW, progress=None,
                          concurrency: int = DEFAULT_CONCURRENCY) -> list:
        """``plan`` to many runtimes; ``progress(plc_id, stage, done, total)``; stage "failed"
        ends a runtime that failed. With ``start`` a Started PLC keeps running (the runtime
        switches programs itself, transfer.py) and the others are started."""
        gate = defer.DeferredSemaphore(concurrency)
        report = progress or (lambda *args: None)

        async def one(client):
            async def run():
                try:
                    result = await transfer(client.connector, plan, force=force, window=window,
                                            progress=lambda *args: report(client.plc_id, *args),
                                            keep_running=start)
                    if start and result.status != PLCStatus.STARTED:
                        result = await _started(client, result)
                        report(client.plc_id, "started", plan.size, plan.size)
                except Exception:
                    report(client.plc_id, "failed", 0, plan.size)
                    raise
                return result
            return await gate.run(lambda: defer.ensureDeferred(run()))

        return await self._each(ids, one)

    # --- the registry's memory -----------------------------------------------------------------

    async def record_deployment(self, md5: str, outcomes) -> int | None:
        """Tell the registry which runtimes one deploy reached; its deployment number, or None
        without a registry."""
        results = {o.plc_id: ("failed" if not o.ok else "skipped" if o.value.skipped
                              else "deployed") for o in outcomes}
        try:
            answer = await self.ask_registry("record_deployment", md5, results)
        except registry_client.NoRegistry:
            return None
        return answer["deployment"]

    async def history(self, plc_id: str) -> list:
        return await self.ask_registry("lineage", plc_id)

    async def rollback_target(self, plc_id: str, md5: str | None = None) -> str:
        """The md5 to go back to: ``md5`` if the registry stores it, else the newest stored
        program installed on the runtime before its current one."""
        lineage = await self.history(plc_id)
        if md5 is not None:
            if not any(install["md5"] == md5 and install["stored"] for install in lineage):
                kept = [i["md5"] for i in lineage if i["stored"] and i["md5"] != lineage[0]["md5"]]
                raise ValueError(
                    f"{md5} was never installed on {plc_id} with its files kept by the registry; "
                    + (f"it can go back to {', '.join(dict.fromkeys(kept))} (KEPT yes in `plclink "
                       f"fleet history {plc_id}`)" if kept else "the registry keeps no earlier "
                       f"program of it") + "; or deploy that program with `plclink fleet "
                    f"deploy PROGRAM --ids {plc_id}` (`plclink fleet get MD5 --out DIR` fetches "
                    "any stored set)")
            return md5
        current = lineage[0]["md5"] if lineage else None
        for install in lineage:
            if install["md5"] != current and install["stored"]:
                return install["md5"]
        raise ValueError(f"the registry keeps no earlier program of {plc_id} to roll back to; "
                         f"see `plclink fleet history {plc_id}`")

    async def stored_plan(self, md5: str):
        """The TransferPlan of a program set the registry stores."""
        stored = await self.ask_registry("program", md5)
        plan = blob_plan.plan_transfer(bytes(stored["program"]),
                                       [(name, bytes(data)) for name, data in stored["extras"]])
        if plan.md5 != md5:
            raise OperationFailed(f"the registry's program set for {md5} has md5 {plan.md5}; "
                                  "not installed")
        return plan

    async def rollback(self, plc_id: str, md5: str, *, window: int = blob_plan.DEFAULT_WINDOW,
                       progress=None, keep_running: bool = False):
        """Re-install a stored program set through the normal transfer; a TransferResult."""
        plan = await self.stored_plan(md5)
        result = await transfer(self.client(plc_id).connector, plan, window=window,
                                progress=progress, keep_running=keep_running)
        if not result.skipped:
            await registry_client.keep_program(self.session, plan, [plc_id])
        return result

    async def ask_registry(self, short: str, *args, **kwargs):
        """Any registry procedure (registry/API.md); NoRegistry without one on the realm."""
        return await registry_client.ask(self.session, short, *args, **kwargs)


def _published_labels(details: dict) -> dict:
    """The labels a runtime publishes with its status; {} when absent or unusable."""
    try:
        return check_labels(details.get(LABELS_KWARG) or {})
    except ValueError:
        return {}


async def _started(client, result):
    """``result`` once the PLC is Started; a start that fails is this runtime's failure, saying
    the program was installed."""
    try:
        state = await client.start()
    except OperationFailed as error:
        raise OperationFailed(f"installed {result.md5} but it did not start: {error}; see "
                              f"`plclink logs --id {client.plc_id}`") from None
    return replace(result, status=state.status)


def _registry_outcome(info: RuntimeInfo) -> Outcome:
    """A runtime's status as the registry holds it, shaped like an answer from the runtime."""
    if info.status == PLCStatus.DISCONNECTED:
        return Outcome(info.plc_id, error=f"{info.plc_id} is offline (the registry last heard "
                       "it before it disconnected)", kind="unreachable")
    return Outcome(info.plc_id, PLCState(info.status, info.log_counts, info.cause))


def _needs_cause(info: RuntimeInfo) -> bool:
    return info.status == PLCStatus.BROKEN and not info.cause
