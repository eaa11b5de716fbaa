"""The registry's live side, in the reactor: what it hears on the router becomes records for
the writer thread, rows of the live runtime table, audit results and alarms.

Sources: ``<ID>.status`` (retained: read again at every join, so a restarted registry catches
up), ``<ID>.log``, ``<ID>.values`` (decoded with the runtime's variable table, asked once per
program with ``ExtendedCall("GetVariables")``), the meta API (runtime sessions joining and
leaving; Beremiz's WAMP runtime publishes no status and is asked ``GetPLCstatus`` instead, as
the IDE's fleet does), ``plclink.audit`` from the router's authorizer, and at headquarters
the registrations of plant routers' links (registry/sites.py).
"""
import json
import time

from autobahn.wamp.types import SubscribeOptions
from twisted.internet import defer, reactor, task
from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from ide_component.fleet import Fleet
from ide_component.variable_trace import read_variables
from plc_protocol.iec_types import decode_sample
from plc_protocol.log_levels import LogLevel
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (EVENT_FORCES, EVENT_LOG, EVENT_STATUS, EVENT_VALUES,
                                           split_name)
from registry import api, queries
from registry.forces import CHECK_INTERVAL, ForceRecords
from registry.registrations import RegisteredRuntimes
from registry.rules import RuleWatch, parse_rule
from registry.sites import LinkedRuntimes

AUDIT_SETTLE = 10.0         # seconds a control call has to show its effect in the status
BEREMIZ_POLL = 5.0          # how often runtimes without status events are asked
FIRST_STATUS_WAIT = 2.0     # a runtime session silent this long after joining is polled
TABLE_RETRY = 5.0           # seconds between two asks for a variable table
FLUSH_INTERVAL = 1.0        # live rows to the database
ALIVE_INTERVAL = 10.0       # heartbeat: where a gap begins if the registry dies
MAINTAIN_INTERVAL = 60.0    # 1-minute aggregates and retention
KIND_NATIVE, KIND_BRIDGED, KIND_BEREMIZ = "native", "bridged", "beremiz"
NOT_TRENDED = ("STRING",)
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


def judge(method: str, before: dict, row: dict, final: bool) -> tuple | None:
    """(result, detail) of a control call from the runtime's status after it; None: not yet."""
    status = row["status"]
    detail = f"status {status}" + (f", md5 {row['md5']}" if method == "NewPLC" else "")
    if status == PLCStatus.BROKEN.value and method != "StopPLC":
        return "failed", detail
    expected = {"StartPLC": status == PLCStatus.STARTED.value,
                "StopPLC": status == PLCStatus.STOPPED.value,
                "RepairPLC": status != PLCStatus.BROKEN.value,
                "NewPLC": (row["md5"] != before["md5"] and status in (PLCStatus.STOPPED.value,
                                                                      PLCStatus.STARTED.value)),
                }.get(method)
    if expected is None:
        return "unknown", "no status effect to check"
    if expected:
        return "ok", detail
    if not final:
        return None
    if method == "NewPLC" and status in (PLCStatus.STOPPED.value, PLCStatus.STARTED.value):
        return "ok", detail + " (same md5 installed again)"
    return "failed", detail


class Registry:
    def __init__(self, engine, writer, raw_window: float, aggregate_window: float, url="",
                 realm=""):
        self.engine = engine
        self.writer = writer
        self.raw_window = raw_window
        self.aggregate_window = aggregate_window
        self.url, self.realm = url, realm
        self.started_at = time.time()
        self.session = None
        self.fleet = None
        self.runtimes = {}          # ID -> row (schema.runtime columns, log_counts a list)
        self.dirty = set()
        self.variables = {}         # (ID, name) -> {"var_id", "type"}
        self.next_var = 1
        self.tables = {}            # ID -> [(name, type, var_id or None)] in table order
        self.table_asked = {}       # ID -> when its table was last asked
        self.last_ms = {}           # var_id -> last sample time written
        self.numbers = {}
        self.open_alarms = {}       # (ID, kind, source) -> alarm row
        self.rules = []
        self.watches = {}           # (ID, rule number) -> RuleWatch
        self.pending = {}           # ID -> [control call awaiting its effect]
        self.sessions = {}          # runtime session number -> ID
        self.status_heard = set()   # IDs that publish status events
        self.deploying = {}         # ID -> (md5, deployment) until its install is seen
        self.run_seq = None
        self._loops = []
        self.linked = LinkedRuntimes(self, KIND_NATIVE)
        self.forces = ForceRecords(self)
        self.registered = RegisteredRuntimes(self, FIRST_STATUS_WAIT)

    # --- database ------------------------------------------------------------------------------

    def db(self, function, *args):
        """``function(connection, *args)`` in a transaction, in a worker thread."""
        def run():
            with self.engine.begin() as connection:
                return function(connection, *args)
        return deferToThread(run)

    def load(self) -> None:
        """What the registry remembers, read once before it joins (blocking, at start)."""
        with self.engine.begin() as connection:
            for row in queries.load_runtimes(connection):
                self.runtimes[row["id"]] = row
            for row in queries.load_variables(connection):
                self.variables[(row["runtime_id"], row["name"])] = row
                self.next_var = max(self.next_var, row["var_id"] + 1)
            self.numbers = queries.next_numbers(connection)
            for row in queries.open_alarms(connection):
                self.open_alarms[(row["runtime_id"], row["kind"], row["source"])] = row
            self.rules = [parse_rule(rule["text"], rule["id"], rule["rule"])
                          for rule in queries.rules(connection)]
            self.run_seq = queries.start_run(connection, self.started_at)

    def start_loops(self) -> None:
        for interval, function in ((FLUSH_INTERVAL, self.flush_rows),
                                   (ALIVE_INTERVAL, self.heartbeat),
                                   (MAINTAIN_INTERVAL, self.maintain),
                                   (BEREMIZ_POLL, self.poll_silent),
                                   (CHECK_INTERVAL, self.forces.check)):
            loop = task.LoopingCall(function)
            loop.start(interval, now=False).addErrback(
                lambda failure: log.failure("registry loop failed", failure=failure))
            self._loops.append(loop)

    def stop_loops(self) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self.flush_rows()
        self.heartbeat()

    def flush_rows(self) -> None:
        for plc_id in self.dirty:
            row = dict(self.runtimes[plc_id])
            row["log_counts"] = json.dumps(list(row["log_counts"]))
            self.writer.put("runtime", row)
        self.dirty.clear()

    def heartbeat(self) -> None:
        self.writer.put("alive", {"seq": self.run_seq, "alive_at": time.time()})

    def maintain(self) -> None:
        self.writer.put("maintain", {"now_ms": int(time.time() * 1000),
                                     "raw_window_ms": int(self.raw_window * 1000),
                                     "aggregate_window_ms": int(self.aggregate_window * 1000)})

    # --- joining the router --------------------------------------------------------------------

    async def joined(self, session) -> None:
        self.session = session
        self.fleet = Fleet(session, self.url, self.realm)
        wildcard = SubscribeOptions(match="wildcard", details=True)
        await session.subscribe(self.on_status, "." + EVENT_STATUS, options=wildcard)
        await session.subscribe(self.on_log, "." + EVENT_LOG, options=wildcard)
        await session.subscribe(self.on_values, "." + EVENT_VALUES, options=wildcard)
        await session.subscribe(self.forces.on_forces, "." + EVENT_FORCES, options=wildcard)
        await session.subscribe(self.on_session_join, "wamp.session.on_join")
        await session.subscribe(self.on_session_leave, "wamp.session.on_leave")
        await session.subscribe(self.on_audit, api.AUDIT_TOPIC,
                                options=SubscribeOptions(details=True))
        await self.registered.joined(session)
        await self.catch_up()
        await self.linked.joined(session)

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
            self.apply_status(info.plc_id, info.status, info.log_counts, info.md5, info.platform,
                              kind, now)
        for plc_id, row in self.runtimes.items():
            if plc_id not in seen and row["online"]:
                self.apply_status(plc_id, PLCStatus.DISCONNECTED, row["log_counts"], row["md5"],
                                  row["platform"], row["kind"], now)
        log.info("registry caught up: {count} runtime(s) on the realm, {known} known",
                 count=len(infos), known=len(self.runtimes))

    def left(self) -> None:
        self.session = None
        self.fleet = None

    # --- status ----------------------------------------------------------------------------------

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
        self.apply_status(plc_id, status, tuple(counts or (0, 0, 0, 0)), kwargs.get("md5"),
                          kwargs.get("platform"),
                          KIND_BRIDGED if kwargs.get("bridged") else KIND_NATIVE, time.time())
        self.forces.on_status(plc_id, kwargs)

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
        if online and row["md5"] and row["md5"] != before["md5"]:
            self.record_install(plc_id, row["md5"], now)
            self.tables.pop(plc_id, None)   # a new program: a new variable table
        self.check_pending(plc_id, final=False)
        self.status_alarms(plc_id, row, now)
        if any(before[key] != row[key] for key in ("status", "online", "md5", "kind")):
            self.announce_runtime(plc_id)

    def record_install(self, plc_id, md5, now) -> None:
        """An install: by whoever's NewPLC on this runtime is still awaiting its effect (the
        router's word); by nobody known when the registry only saw the result."""
        caller = next((call for call in self.pending.get(plc_id, ())
                       if call["method"] == "NewPLC"), None)
        deployment = self.deploying.pop(plc_id, (None, None))
        self.writer.put("install", {"runtime_id": plc_id, "md5": md5, "installed_at": now,
                                    "installed_by": caller["authid"] if caller else None,
                                    "deployment": deployment[1] if deployment[0] == md5 else None})

    async def confirm_installs(self, md5, ids) -> None:
        """Runtimes whose status events carry no md5 (bridged, Beremiz) show a stored program
        as installed once they say so themselves (MatchMD5, a reading call)."""
        for plc_id in ids:
            row = self.runtimes.get(plc_id)
            if row is None or row["kind"] == KIND_NATIVE or row["md5"] == md5 or not row["online"]:
                continue
            try:
                matched = await self.fleet.client(plc_id).connector.call("MatchMD5", md5)
            except Exception as error:
                log.warn("{id}: could not confirm program {md5}: {error}", id=plc_id, md5=md5,
                         error=error)
                continue
            if matched and self.runtimes[plc_id]["md5"] != md5:
                self.apply_status(plc_id, PLCStatus.parse(row["status"]), row["log_counts"], md5,
                                  row["platform"], row["kind"], time.time())

    def deployed(self, number, md5, ids) -> None:
        """A fleet deploy's runtimes: their installs (recorded already, or still to be heard)
        belong to deployment ``number``."""
        for plc_id in ids:
            self.writer.put("install_deployment", {"runtime_id": plc_id, "md5": md5,
                                                   "deployment": number})
            self.deploying[plc_id] = (md5, number)

    def status_alarms(self, plc_id, row, now) -> None:
        for kind, raised in (("broken", row["status"] == PLCStatus.BROKEN.value),
                             ("disconnected", not row["online"])):
            if raised:
                self.raise_alarm(plc_id, kind, "", f"status {row['status']}", now)
            else:
                self.clear_alarm(plc_id, kind, "", now)

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
        procedures whatever their role."""
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

    # --- logs --------------------------------------------------------------------------------------

    def on_log(self, level, msg_id=None, text="", tick=None, *rest, details=None, **kwargs):
        plc_id = event_runtime(details)
        try:
            level = LogLevel.parse(level)
        except ValueError:
            return
        if plc_id is None:
            return
        now = time.time()
        self.touch(plc_id, now)
        self.writer.put("log", {"runtime_id": plc_id, "time": now, "level": int(level),
                                "msg_id": msg_id, "text": str(text), "tick": tick})
        if level == LogLevel.CRITICAL:
            self.raise_alarm(plc_id, "critical_log", str(msg_id), str(text), now)

    # --- values -----------------------------------------------------------------------------------

    def on_values(self, tick, buffer=b"", *rest, details=None, **kwargs):
        plc_id = event_runtime(details)
        if plc_id is None:
            return
        now = time.time()
        self.touch(plc_id, now)
        table = self.tables.get(plc_id)
        if table is None:
            self.ask_table(plc_id, now)
            return
        try:
            values = decode_sample([type_ for _, type_, _ in table], bytes(buffer))
        except ValueError:
            self.tables.pop(plc_id, None)   # the program changed under us: ask again
            self.ask_table(plc_id, now)
            return
        stamp = int(now * 1000)
        named = {}
        for (var_name, _, var_id), value in zip(table, values):
            if var_id is None:
                continue
            ms = max(stamp, self.last_ms.get(var_id, 0) + 1)
            self.last_ms[var_id] = ms
            number = float(value)
            self.writer.put("value", {"var_id": var_id, "ts": ms, "value": number})
            named[var_name] = number
        self.evaluate_rules(plc_id, named, now)

    def ask_table(self, plc_id, now) -> None:
        if self.fleet is None or now - self.table_asked.get(plc_id, 0) < TABLE_RETRY:
            return
        self.table_asked[plc_id] = now

        async def ask():
            try:
                variables = await read_variables(self.fleet.client(plc_id).connector)
            except Exception as error:
                log.warn("{id}: variable table not available, values not recorded yet: {error}",
                         id=plc_id, error=error)
                return
            self.set_table(plc_id, [(v.name, v.type) for v in variables])
        defer.ensureDeferred(ask())

    def set_table(self, plc_id, variables) -> None:
        """Give each trended variable its number (new ones are written before any sample)."""
        table = []
        for var_name, type_ in variables:
            known = self.variables.get((plc_id, var_name))
            if type_ in NOT_TRENDED:
                table.append((var_name, type_, None))
                continue
            if known is None:
                known = self.variables[(plc_id, var_name)] = {
                    "var_id": self.next_var, "runtime_id": plc_id, "name": var_name,
                    "type": type_}
                self.next_var += 1
                self.writer.put("variable", dict(known))
            elif known["type"] != type_:
                known["type"] = type_
                self.writer.put("variable_type", {"var_id": known["var_id"], "type": type_})
            table.append((var_name, type_, known["var_id"]))
        self.tables[plc_id] = table

    # --- alarms -----------------------------------------------------------------------------------

    def evaluate_rules(self, plc_id, values: dict, now) -> None:
        for rule in self.rules:
            if rule.name not in values or not rule.applies_to(plc_id):
                continue
            watch = self.watches.get((plc_id, rule.number))
            if watch is None:
                watch = self.watches[(plc_id, rule.number)] = RuleWatch(rule)
            change = watch.sample(values[rule.name], now)
            if change == "raise":
                self.raise_alarm(plc_id, "rule", str(rule.number),
                                 f"{rule.text} (value {values[rule.name]:g})", now)
            elif change == "clear":
                self.clear_alarm(plc_id, "rule", str(rule.number), now)

    def raise_alarm(self, plc_id, kind, source, detail, now) -> None:
        key = (plc_id, kind, source)
        if key in self.open_alarms:
            return
        row = {"seq": self.numbers["alarm"], "runtime_id": plc_id, "kind": kind,
               "source": source, "detail": detail, "raised_at": now, "cleared_at": None,
               "acked_at": None, "acked_by": None}
        self.numbers["alarm"] += 1
        self.open_alarms[key] = row
        self.writer.put("alarm", dict(row))
        log.info("alarm {n} raised: {id} {kind} {detail}", n=row["seq"], id=plc_id, kind=kind,
                 detail=detail)
        self.announce("on_alarm", queries.alarm_document(row))

    def clear_alarm(self, plc_id, kind, source, now) -> None:
        row = self.open_alarms.pop((plc_id, kind, source), None)
        if row is None:
            return
        row["cleared_at"] = now
        self.writer.put("alarm_update", {"seq": row["seq"], "cleared_at": now})
        self.announce("on_alarm", queries.alarm_document(row))

    async def ack(self, number: int, authid: str) -> dict | None:
        """Acknowledge: who and when; a CRITICAL log's alarm ends with its acknowledgement."""
        now = time.time()
        await deferToThread(self.writer.flush)
        stored = await self.db(queries.alarm, number)
        if stored is None:
            return None
        if stored["acked_at"] is not None:
            return stored
        change = {"seq": number, "acked_at": now, "acked_by": authid}
        key = (stored["id"], stored["kind"], next(
            (k[2] for k, row in self.open_alarms.items() if row["seq"] == number), None))
        if stored["kind"] == "critical_log" and stored["cleared_at"] is None:
            change["cleared_at"] = now
            self.open_alarms.pop(key, None)
        elif key in self.open_alarms:
            self.open_alarms[key].update(acked_at=now, acked_by=authid)
        self.writer.put("alarm_update", change)
        await deferToThread(self.writer.flush)
        document = await self.db(queries.alarm, number)
        self.announce("on_alarm", document)
        return document

    def add_rule(self, rule) -> None:
        self.rules.append(rule)

    def remove_rule(self, number) -> None:
        self.rules = [rule for rule in self.rules if rule.number != number]
        for key in [key for key in self.watches if key[1] == number]:
            del self.watches[key]
        for key in [key for key in self.open_alarms if key[1] == "rule" and key[2] == str(number)]:
            self.clear_alarm(key[0], "rule", key[2], time.time())

    # --- audit ------------------------------------------------------------------------------------

    def on_audit(self, *args, details=None, **call):
        if details is None or details.publisher_authrole != "authorizer":
            log.warn("ignored an audit event not published by the router's authorizer "
                     "(publisher role {role})", role=getattr(details, "publisher_authrole", None))
            return
        plc_id, method = call.get("id"), call.get("method")
        if not isinstance(plc_id, str) or not isinstance(method, str):
            return
        now = float(call.get("time") or time.time())
        row = self.touch(plc_id, now) if plc_id in self.runtimes else None
        record = {"seq": self.numbers["audit"], "time": now, "runtime_id": plc_id,
                  "method": method, "authid": call.get("authid"),
                  "authrole": call.get("authrole"), "result": "pending", "detail": None,
                  "result_at": None}
        self.numbers["audit"] += 1
        self.writer.put("audit", dict(record))
        before = dict(row) if row is not None else {"md5": None, "status": None}
        pending = {"seq": record["seq"], "method": method, "authid": record["authid"],
                   "before": before}
        self.pending.setdefault(plc_id, []).append(pending)
        self.check_pending(plc_id, final=False)
        reactor.callLater(AUDIT_SETTLE, self._settle, plc_id, pending)

    def _settle(self, plc_id, pending) -> None:
        if pending in self.pending.get(plc_id, ()):
            self.check_pending(plc_id, final=True, only=pending)

    def check_pending(self, plc_id, final: bool, only=None) -> None:
        row = self.runtimes.get(plc_id)
        for pending in list(self.pending.get(plc_id, ())):
            if only is not None and pending is not only:
                continue
            verdict = (judge(pending["method"], pending["before"], row, final) if row is not None
                       else ("failed", "runtime never seen") if final else None)
            if verdict is None:
                continue
            self.pending[plc_id].remove(pending)
            self.writer.put("audit_result", {"seq": pending["seq"], "result": verdict[0],
                                             "detail": verdict[1], "result_at": time.time()})

    # --- publishing -------------------------------------------------------------------------------

    def announce(self, topic: str, document) -> None:
        if self.session is not None and self.session.is_attached():
            self.session.publish(api.name(topic), document)

    def announce_runtime(self, plc_id) -> None:
        self.announce("on_runtime", runtime_document(self.runtimes[plc_id],
                                                     self.linked.sites.get(plc_id)))

    def live_table(self) -> list:
        return [runtime_document(self.runtimes[plc_id], self.linked.sites.get(plc_id))
                for plc_id in sorted(self.runtimes)
                if self.runtimes[plc_id]["status"] is not None]
