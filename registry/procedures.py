"""The registry's procedures (``plclink.registry.*``, shapes in API.md): arguments from the
network are checked here, the database is read in worker threads, and "who" is always the
caller the router disclosed, never an argument."""
import fnmatch
import time

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions
from sqlalchemy.exc import OperationalError
from twisted.internet.threads import deferToThread

from plc_protocol import registry_names as api
from plc_protocol.log_levels import LogLevel
from plc_protocol.uris import validate_plc_id
from plc_protocol.wamp_registration import register_all
from registry import queries
from registry import rollouts as rollout_records
from registry.alarm_management import MAX_SHELVE, parse_priority, suggest
from registry.forces import force_history
from registry.labels import checked_changes
from registry.metrics import QUERY_SECONDS
from registry.rules import parse_rule
from registry.units import UNITS_FILE, parse_units

MAX_LIMIT = 10_000
MAX_POINTS = 20_000
DEPLOY_RESULTS = ("deployed", "skipped", "failed")


def invalid(message: str) -> ApplicationError:
    return ApplicationError(api.ERROR_INVALID, message)


def not_found(message: str) -> ApplicationError:
    return ApplicationError(api.ERROR_NOT_FOUND, message)


def _plc_id(value) -> str:
    try:
        return validate_plc_id(value)
    except ValueError as error:
        raise invalid(str(error)) from None


def _time(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"{name} must be seconds since the epoch (a number), got {value!r:.40}")
    return float(value)


def _count(value, name, highest) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= highest:
        raise invalid(f"{name} must be an integer from 1 to {highest}, got {value!r:.40}")
    return value


def _md5(value) -> str:
    if not isinstance(value, str) or len(value) != 32 or any(c not in "0123456789abcdef"
                                                             for c in value):
        raise invalid(f"{value!r:.40} is not an md5 (32 lowercase hex digits)")
    return value


def _text(value, name, longest=1000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > longest:
        raise invalid(f"{name} must be a text of at most {longest} characters")
    return value.strip() or None


def _priority(value) -> str | None:
    try:
        return None if value is None else parse_priority(value)
    except ValueError as error:
        raise invalid(str(error)) from None


def _caller(details) -> str:
    authid = getattr(details, "caller_authid", None)
    if not authid:
        raise ApplicationError("wamp.error.not_authorized",
                               "the router did not disclose who is calling (role ide required)")
    return authid


class Procedures:
    def __init__(self, registry):
        self.registry = registry

    async def register(self, session, wait: float) -> None:
        """Every procedure, or none and ApplicationError (procedure_already_exists: another
        registry holds them for longer than ``wait`` seconds)."""
        await register_all(session, [
            (self._guarded(getattr(self, short)), api.name(short), RegisterOptions(details=True))
            for short in api.READING + api.WRITING], wait)

    @staticmethod
    def _guarded(method):
        timer = QUERY_SECONDS.labels(method.__name__)

        async def call(*args, **kwargs):
            started = time.monotonic()
            try:
                return await method(*args, **kwargs)
            except OperationalError:
                raise ApplicationError(api.ERROR_UNAVAILABLE, "the registry's database is not "
                                       "answering right now; try again") from None
            finally:
                timer.observe(time.monotonic() - started)
        return call

    def _row(self, plc_id):
        row = self.registry.runtimes.get(_plc_id(plc_id))
        if row is None or row["status"] is None:
            raise not_found(f"the registry has never seen a runtime {plc_id!r}")
        return row

    # --- reading ---------------------------------------------------------------------------------

    async def runtimes(self, details=None):
        return self.registry.live_table()

    async def runtime(self, id, details=None):
        return self.registry.document(self._row(id)["id"])

    async def variables(self, id, details=None):
        """Recorded variables; ``unit`` where the installed program set has a units.csv."""
        plc_id = _plc_id(id)
        row = self.registry.runtimes.get(plc_id)
        files = await self.registry.db(queries.program_files, row["md5"]) \
            if row is not None and row["md5"] else None
        units = parse_units((files or {}).get(UNITS_FILE))
        return [{"name": name, "type": row["type"], **({"unit": units[name]} if name in units
                                                        else {})}
                for (owner, name), row in sorted(self.registry.variables.items())
                if owner == plc_id]

    async def trend(self, id, names, start, end=None, max_points=1000, details=None):
        plc_id = _plc_id(id)
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise invalid("names must be a list of variable names")
        now = time.time()
        start, end = _time(start, "start"), _time(end, "end") or now
        if start is None or start >= end:
            raise invalid("start must be a time before end")
        max_points = _count(max_points, "max_points", MAX_POINTS)
        known = {name: self.registry.variables.get((plc_id, name)) for name in names}
        missing = [name for name, row in known.items() if row is None]
        if missing:
            have = [name for owner, name in self.registry.variables if owner == plc_id]
            raise invalid(f"no recorded variable {', '.join(missing)} for {plc_id}; recorded: "
                          f"{', '.join(sorted(have)) or 'none'}")
        use_raw = start >= now - self.registry.raw_window
        series, bucket = {}, 0
        for name, row in known.items():
            bucket, points = await self.registry.db(
                queries.trend_series, row["var_id"], int(start * 1000), int(end * 1000),
                use_raw, max_points)
            series[name] = {"type": row["type"], "points": points}
        return {"id": plc_id, "start": start, "end": end, "source": "raw" if use_raw else "minute",
                "bucket": bucket / 1000, "raw_window": self.registry.raw_window,
                "series": series}

    async def status_history(self, id, start=None, end=None, limit=500, details=None):
        return await self.registry.db(queries.status_history, _plc_id(id), _time(start, "start"),
                                      _time(end, "end"), _count(limit, "limit", MAX_LIMIT))

    async def logs(self, id, start=None, end=None, level=3, limit=500, details=None):
        try:
            level = LogLevel.parse(level)
        except ValueError as error:
            raise invalid(str(error)) from None
        return await self.registry.db(queries.logs, _plc_id(id), _time(start, "start"),
                                      _time(end, "end"), level, _count(limit, "limit", MAX_LIMIT))

    async def alarms(self, active=False, id=None, limit=500, shelved=None, details=None):
        if shelved is not None and not isinstance(shelved, bool):
            raise invalid("shelved must be true (only shelved alarms), false (none) or null")
        found = await self.registry.db(queries.alarms, bool(active),
                                       _plc_id(id) if id is not None else None,
                                       _count(limit, "limit", MAX_LIMIT), shelved)
        return sorted(found, key=queries.alarm_order)

    async def alarm_state(self, details=None):
        return self.registry.alarm_state()

    async def notifications(self, details=None):
        notifier = self.registry.notifier
        return notifier.describe() if notifier is not None else {"configured": False}

    async def force_history(self, id, limit=500, details=None):
        return await self.registry.db(force_history, _plc_id(id), _count(limit, "limit", MAX_LIMIT))

    async def rules(self, details=None):
        return await self.registry.db(queries.rules)

    async def lineage(self, id, limit=100, details=None):
        return await self.registry.db(queries.lineage, _plc_id(id),
                                      _count(limit, "limit", MAX_LIMIT))

    async def audit(self, id=None, start=None, end=None, limit=500, details=None):
        return await self.registry.db(queries.audit, _plc_id(id) if id is not None else None,
                                      _time(start, "start"), _time(end, "end"),
                                      _count(limit, "limit", MAX_LIMIT))

    async def program(self, md5, details=None):
        files = await self.registry.db(queries.program_files, _md5(md5))
        if files is None:
            raise not_found(f"no program {md5} in the store")
        return {"md5": md5, "program": files.pop(""), "extras": sorted(
            [name, data] for name, data in files.items())}

    async def diff(self, a, b, details=None):
        sizes_a = await self.registry.db(queries.file_sizes, _md5(a))
        sizes_b = await self.registry.db(queries.file_sizes, _md5(b))
        for md5, sizes in ((a, sizes_a), (b, sizes_b)):
            if sizes is None:
                raise not_found(f"no program {md5} in the store")
        files_a = await self.registry.db(queries.program_files, a)
        files_b = await self.registry.db(queries.program_files, b)
        rows = []
        for name in sorted(set(files_a) | set(files_b)):
            change = ("added" if name not in files_a else "removed" if name not in files_b else
                      "same" if files_a[name] == files_b[name] else "changed")
            rows.append({"name": name, "size_a": sizes_a.get(name), "size_b": sizes_b.get(name),
                         "change": change})
        return {"a": a, "b": b, "files": rows}

    async def deployments(self, limit=50, details=None):
        return await self.registry.db(queries.deployments, _count(limit, "limit", MAX_LIMIT))

    async def stats(self, details=None):
        writer = self.registry.writer
        return {"engine": self.registry.engine.dialect.name, "backlog": writer.backlog,
                "written": writer.written, "dropped": writer.dropped, "errors": writer.errors,
                "started_at": self.registry.started_at,
                "gaps": await self.registry.db(queries.gaps)}

    # --- writing (role ide) ----------------------------------------------------------------------

    async def ack(self, alarm, comment=None, details=None):
        """The alarm; ``already``: it was acknowledged before (by ``acked_by``, unchanged)."""
        who = _caller(details)
        document = await self.registry.ack(_count(alarm, "alarm", 2 ** 62), who,
                                           _text(comment, "comment"))
        if document is None:
            raise not_found(f"no alarm {alarm}")
        return document

    async def ack_all(self, comment=None, id=None, priority=None, details=None):
        who = _caller(details)
        return await self.registry.ack_all(who, _text(comment, "comment"),
                                           _plc_id(id) if id is not None else None,
                                           _priority(priority))

    async def shelve(self, alarm, seconds, reason, details=None):
        who = _caller(details)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
                not 0 < seconds <= MAX_SHELVE:
            raise invalid(f"seconds must be a number from 1 to {MAX_SHELVE:g} (7 days)")
        reason = _text(reason, "reason")
        if not reason:
            raise invalid("say why the alarm is shelved (reason)")
        document = self.registry.shelve(_count(alarm, "alarm", 2 ** 62), who, float(seconds),
                                        reason)
        if document is None:
            raise invalid(f"alarm {alarm} is not active: only an active alarm can be shelved")
        await deferToThread(self.registry.writer.flush)   # listed as shelved from now on
        return document

    async def unshelve(self, alarm, details=None):
        who = _caller(details)
        document = self.registry.unshelve(_count(alarm, "alarm", 2 ** 62), who)
        if document is None:
            raise invalid(f"alarm {alarm} is not shelved")
        await deferToThread(self.registry.writer.flush)
        return document

    async def store_program(self, program, extras=(), ids=(), details=None):
        who = _caller(details)
        if not isinstance(ids, (list, tuple)):
            raise invalid("ids must be a list of runtime IDs")
        ids = [_plc_id(plc_id) for plc_id in ids]
        if not isinstance(program, (bytes, bytearray)):
            raise invalid("program must be bytes")
        if not isinstance(extras, (list, tuple)) or not all(
                isinstance(e, (list, tuple)) and len(e) == 2 and isinstance(e[0], str)
                and isinstance(e[1], (bytes, bytearray)) for e in extras):
            raise invalid("extras must be a list of [file name, bytes]")
        try:
            md5, stored = await self.registry.db(queries.store_program, bytes(program),
                                                 [(n, bytes(d)) for n, d in extras], who)
        except ValueError as error:
            raise invalid(str(error)) from None
        await self.registry.confirm_installs(md5, ids)
        return {"md5": md5, "stored": stored}

    async def record_deployment(self, md5, runtimes, details=None):
        who = _caller(details)
        if not isinstance(runtimes, dict) or not all(
                result in DEPLOY_RESULTS for result in runtimes.values()):
            raise invalid(f"runtimes must map IDs to one of {', '.join(DEPLOY_RESULTS)}")
        results = {_plc_id(plc_id): result for plc_id, result in runtimes.items()}
        number = await self.registry.db(queries.add_deployment, _md5(md5), results, who)
        self.registry.deployed(number, md5, [plc_id for plc_id, result in results.items()
                                             if result == "deployed"])
        return {"deployment": number}

    async def set_labels(self, id, labels, details=None):
        who = _caller(details)
        plc_id = self._row(id)["id"]
        try:
            changes = checked_changes(labels)
        except ValueError as error:
            raise invalid(str(error)) from None
        await self.registry.change_labels(plc_id, changes, who)
        return self.registry.document(plc_id)

    # --- rollouts (registry/rollouts.py) ---------------------------------------------------------

    async def rollouts(self, limit=50, details=None):
        return await self.registry.db(rollout_records.list_rollouts,
                                      _count(limit, "limit", MAX_LIMIT))

    async def rollout(self, rollout, details=None):
        record = await self.registry.db(rollout_records.get_rollout,
                                        _count(rollout, "rollout", 2 ** 62))
        if record is None:
            raise not_found(f"no rollout {rollout}")
        return record

    async def rollout_begin(self, plan, details=None):
        who = _caller(details)
        try:
            plan = rollout_records.check_plan(plan)
            _md5(plan["md5"])
            record = await self.registry.db(rollout_records.add_rollout, plan, who, time.time())
        except ValueError as error:
            raise invalid(str(error)) from None
        self.registry.announce("on_rollout", record)
        return record

    async def rollout_update(self, rollout, state, waves, note=None, details=None):
        _caller(details)
        try:
            state, note = rollout_records.checked_update(state, note)
            record = await self.registry.db(rollout_records.update_rollout,
                                            _count(rollout, "rollout", 2 ** 62), state,
                                            rollout_records.check_waves(waves), note, time.time())
        except ValueError as error:
            raise invalid(str(error)) from None
        if record is None:
            raise not_found(f"no rollout {rollout}")
        self.registry.announce("on_rollout", record)
        return record

    async def add_rule(self, text, id="*", details=None):
        _caller(details)
        try:
            rule = parse_rule(text, id)
        except ValueError as error:
            raise invalid(str(error)) from None
        known = {name for (owner, name) in self.registry.variables
                 if fnmatch.fnmatchcase(owner, rule.pattern)}
        if known and rule.name not in known:
            raise invalid(suggest(rule.name, known))
        number = await self.registry.db(queries.add_rule, rule.pattern, rule.text, "cli")
        self.registry.add_rule(parse_rule(rule.text, rule.pattern, number))
        answer = {"rule": number, "id": rule.pattern, "text": rule.text, "source": "cli"}
        if not known:
            answer["warning"] = (f"no runtime matching {rule.pattern!r} has told the registry "
                                 f"its variables yet: {rule.name!r} could not be checked")
        return answer

    async def remove_rule(self, rule, details=None):
        _caller(details)
        number = _count(rule, "rule", 2 ** 62)
        if not await self.registry.db(queries.remove_rule, number):
            raise not_found(f"no rule {number}")
        self.registry.remove_rule(number)
        return True
