"""Forces on record: what each runtime's retained ``<ID>.forces`` event (the whole force table
on every change, docs/force-model.md) says was forced and released, by whom and when, and a
notice (alarm kind ``force_age``) for a force held longer than ``max_age``: a valve held shut
for a repair is not meant to stay so for days.

The event names who forced (the entry's ``by``); a release names nobody, so it is put to the
control call that caused it, as the router's audit reported it (Release, or a trace, restart
or install that dropped forces, within RELEASE_WINDOW before), and to nobody known otherwise.
"""
import json
import time

from sqlalchemy import select
from twisted.internet import defer

from plc_protocol.wamp_conventions import split_name
from registry import schema

ALARM_KIND = "force_age"
CHECK_INTERVAL = 1.0
RELEASE_WINDOW = 10.0   # seconds a control call may take to show as released forces
# Control calls after which a runtime may drop forces (docs/force-model.md).
RELEASING_CALLS = ("Release", "SetTraceVariablesList", "NewPLC", "ReplacePLC", "RestartPLC",
                   "RepairPLC")


def changes(before: dict, entries: list) -> list:
    """(action, entry) between two force tables (index -> entry): a new or changed entry is a
    force, a vanished one a release (of its last known entry)."""
    after = {entry["index"]: entry for entry in entries}
    found = [("force", entry) for index, entry in after.items()
             if _identity(before.get(index)) != _identity(entry)]
    found += [("release", entry) for index, entry in before.items() if index not in after]
    return found


def _identity(entry):
    return None if entry is None else (entry.get("raw"), entry.get("value"), entry.get("by"),
                                       entry.get("since"))


def valid_entries(args) -> list | None:
    """The entries of a ``<ID>.forces`` event, or None for a malformed one (from the network)."""
    entries = args[0] if args else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("index"), int) for e in entries):
        return None
    return entries


def label(entry) -> str:
    return str(entry.get("name") or f"#{entry['index']}")


def shown_value(entry):
    """The value as recorded: the typed value, else the raw IEC bytes' hex."""
    value = entry.get("value")
    return value if value is not None else entry.get("raw")


class ForceRecords:
    """Owned by registry.live.Registry (``registry``): its writer, alarms and pending calls."""

    def __init__(self, registry, max_age: float = 8 * 3600.0):
        self.registry = registry
        self.max_age = max_age
        self.tables = {}   # runtime ID -> {index: entry}, as last heard
        self.releasers = {}  # runtime ID -> (authid, time) of its last releasing control call

    def on_forces(self, *args, details=None, **kwargs):
        name = split_name(getattr(details, "topic", None) or "")
        entries = valid_entries(args)
        if name is None or entries is None:
            return
        self.heard(name[0], entries, time.time())

    def on_status(self, plc_id, kwargs) -> None:
        """Copy the status event's ``forced`` and ``cause`` (when it has them: a testament does
        not) into the runtime's row; learn the table of forces made before the registry came."""
        row = self.registry.runtimes.get(plc_id)
        if row is None:
            return
        before = (row.get("forced"), row.get("cause"))
        if "forced" in kwargs:
            forced = kwargs["forced"]
            row["forced"] = forced if isinstance(forced, int) and not isinstance(forced, bool) else 0
        if "cause" in kwargs:
            row["cause"] = str(kwargs["cause"]) if kwargs["cause"] is not None else None
        if (row.get("forced"), row.get("cause")) != before:
            self.registry.dirty.add(plc_id)
            self.registry.announce("on_runtime", self.registry.document(plc_id))
        if row.get("forced"):
            defer.ensureDeferred(self.learn(plc_id))

    def heard(self, plc_id, entries, now, record=True) -> None:
        """``record`` False: a table learnt (after the registry's restart), not a change."""
        before = self.tables.get(plc_id, {})
        self.tables[plc_id] = {entry["index"]: entry for entry in entries}
        if not record:   # notices of forces released while the registry was away end now
            for plc, kind, source in list(self.registry.open_alarms):
                if (plc, kind) == (plc_id, ALARM_KIND) and int(source) not in self.tables[plc_id]:
                    self.registry.clear_alarm(plc_id, ALARM_KIND, source, now)
        for action, entry in changes(before, entries) if record else ():
            by = entry.get("by") if action == "force" else self.releaser(plc_id)
            self.registry.writer.put("force_change", {
                "runtime_id": plc_id, "time": now, "action": action, "idx": entry["index"],
                "name": entry.get("name"), "type": entry.get("type"),
                "value": json.dumps(shown_value(entry)), "by": by, "since": entry.get("since")})
            if action == "release":
                self.registry.clear_alarm(plc_id, ALARM_KIND, str(entry["index"]), now)
        self.check(now, plc_id)

    def control_call(self, plc_id, method, authid, now) -> None:
        """A control call the router's audit reported: who released what is released next."""
        if method in RELEASING_CALLS:
            self.releasers[plc_id] = (authid, now)

    def releaser(self, plc_id) -> str | None:
        authid, when = self.releasers.get(plc_id, (None, 0.0))
        return authid if time.time() - when < RELEASE_WINDOW else None

    def check(self, now=None, only=None) -> None:
        """Raise the notice for every force held longer than max_age."""
        now = time.time() if now is None else now
        for plc_id, table in self.tables.items():
            if only is not None and plc_id != only:
                continue
            for index, entry in table.items():
                since = entry.get("since")
                if isinstance(since, (int, float)) and now - since > self.max_age:
                    hours = (now - since) / 3600
                    self.registry.raise_alarm(
                        plc_id, ALARM_KIND, str(index),
                        f"{label(entry)} forced to {shown_value(entry)} by "
                        f"{entry.get('by') or 'unknown'} for {hours:.1f} h (notice)", now)

    def caught_up(self) -> None:
        """After (re)joining: the tables of runtimes that hold forces or a notice, anew."""
        self.tables.clear()
        noticed = {plc_id for plc_id, kind, _ in self.registry.open_alarms if kind == ALARM_KIND}
        for plc_id, row in self.registry.runtimes.items():
            if row["online"] and (row.get("forced") or plc_id in noticed):
                defer.ensureDeferred(self.learn(plc_id))

    async def learn(self, plc_id) -> None:
        """The table of a runtime whose status says it holds forces the registry has not heard
        of (it started after them): asked once, a reading call."""
        if plc_id in self.tables or self.registry.fleet is None:
            return
        self.tables[plc_id] = {}
        try:
            entries = await self.registry.fleet.session.call(f"{plc_id}.GetForces")
        except Exception:   # a runtime without a force table, or gone meanwhile
            return
        if isinstance(entries, list):
            self.heard(plc_id, entries, time.time(), record=False)


def force_history(connection, plc_id, limit=500) -> list:
    table = schema.force_change
    rows = connection.execute(
        select(table).where(table.c.runtime_id == plc_id)
        .order_by(table.c.time.desc(), table.c.seq.desc()).limit(limit))
    return [{"time": row.time, "action": row.action, "index": row.idx, "name": row.name,
             "type": row.type, "value": json.loads(row.value) if row.value else None,
             "by": row.by, "since": row.since} for row in rows]
