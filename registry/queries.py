"""What the registry's procedures read (and the few writes that answer with a result), each a
plain function of a connection, run in a worker thread."""
import json
import time

from sqlalchemy import and_, delete, func, insert, select

from plc_protocol.log_levels import LogLevel
from plc_protocol.program_signature import SIGNATURE_FILE, signer_of
from plc_protocol.program_identity import program_identity
from plc_protocol.python_program import PROGRAM_NAME_FILE, program_name
from registry import schema
from registry.alarm_management import DEFAULT_PRIORITIES, priority_rank
from registry.writes import MINUTE_MS, get_setting


def _rows(connection, query) -> list:
    return [dict(row._mapping) for row in connection.execute(query)]


def _between(column, start, end) -> list:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return conditions


# --- state loaded at start --------------------------------------------------------------------

def load_runtimes(connection) -> list:
    rows = _rows(connection, select(schema.runtime))
    for row in rows:
        row["log_counts"] = json.loads(row["log_counts"] or "[0, 0, 0, 0]")
    return rows


def load_variables(connection) -> list:
    return _rows(connection, select(schema.variable))


def next_numbers(connection) -> dict:
    """The next number the registry gives an alarm and a control call."""
    return {name: (connection.execute(select(func.max(table.c.seq))).scalar() or 0) + 1
            for name, table in (("alarm", schema.alarm), ("audit", schema.control_call))}


def open_alarms(connection) -> list:
    return _rows(connection, select(schema.alarm).where(schema.alarm.c.cleared_at.is_(None)))


def last_alive(connection) -> float | None:
    """When the previous registry run last kept a record (None: this is the first run)."""
    return connection.execute(select(func.max(schema.registry_run.c.alive_at))).scalar()


def start_run(connection, now: float) -> int:
    return connection.execute(insert(schema.registry_run).values(started_at=now, alive_at=now)
                              ).inserted_primary_key[0]


# --- history ----------------------------------------------------------------------------------

def status_history(connection, plc_id, start=None, end=None, limit=500) -> list:
    table = schema.status_change
    return _rows(connection, select(table.c.time, table.c.status, table.c.md5)
                 .where(table.c.runtime_id == plc_id, *_between(table.c.time, start, end))
                 .order_by(table.c.time.desc(), table.c.seq.desc()).limit(limit))


def logs(connection, plc_id, start=None, end=None, level=LogLevel.DEBUG, limit=500) -> list:
    table = schema.log_message
    rows = _rows(connection, select(table.c.time, table.c.level, table.c.msg_id, table.c.text,
                                    table.c.tick)
                 .where(table.c.runtime_id == plc_id, table.c.level <= int(level),
                        *_between(table.c.time, start, end))
                 .order_by(table.c.time.desc(), table.c.seq.desc()).limit(limit))
    for row in rows:
        row["level_name"] = LogLevel(row["level"]).name
    return rows


def alarm_document(row, now=None) -> dict:
    """An alarm as the procedures and ``on_alarm`` give it (registry/API.md)."""
    now = time.time() if now is None else now
    shelved = row.get("shelved_until") is not None and row["shelved_until"] > now \
        and row["cleared_at"] is None
    return {"alarm": row["seq"], "id": row["runtime_id"], "kind": row["kind"],
            "priority": row.get("priority") or DEFAULT_PRIORITIES.get(row["kind"], "medium"),
            "detail": row["detail"], "raised_at": row["raised_at"],
            "cleared_at": row["cleared_at"], "active": row["cleared_at"] is None,
            "acked_at": row["acked_at"], "acked_by": row["acked_by"],
            "ack_comment": row.get("ack_comment"), "shelved": shelved,
            "shelved_at": row.get("shelved_at") if shelved else None,
            "shelved_until": row.get("shelved_until") if shelved else None,
            "shelved_by": row.get("shelved_by") if shelved else None,
            "shelve_reason": row.get("shelve_reason") if shelved else None}


def alarm_order(document) -> tuple:
    """Active first, then by priority (critical first), then newest first."""
    return (not document["active"], priority_rank(document["priority"]), -document["alarm"])


def alarms(connection, active=False, plc_id=None, limit=500, shelved=None) -> list:
    """Newest ``limit`` alarms; ``shelved``: True only shelved ones, False none of them."""
    table = schema.alarm
    conditions = ([table.c.cleared_at.is_(None)] if active or shelved else []) + (
        [table.c.runtime_id == plc_id] if plc_id else [])
    now = time.time()
    found = [alarm_document(row, now) for row in _rows(
        connection, select(table).where(*conditions).order_by(table.c.seq.desc()).limit(limit))]
    if shelved is not None:
        found = [alarm for alarm in found if alarm["shelved"] == shelved]
    return found


def alarm(connection, number) -> dict | None:
    rows = _rows(connection, select(schema.alarm).where(schema.alarm.c.seq == number))
    return alarm_document(rows[0]) if rows else None


def lineage(connection, plc_id, limit=100) -> list:
    """Installs, newest first; the extra file names, the program's name and its signer come
    from the program store."""
    table, files = schema.install, schema.program_file
    rows = _rows(connection, select(table).where(table.c.runtime_id == plc_id)
                 .order_by(table.c.installed_at.desc(), table.c.seq.desc()).limit(limit))
    stored = {}
    md5s = {row["md5"] for row in rows}
    for md5, name in connection.execute(select(files.c.md5, files.c.name).where(
            files.c.md5.in_(md5s)).order_by(files.c.name)):
        stored.setdefault(md5, []).append(name)
    signers, names = {}, {}
    for md5, name, data in connection.execute(select(files.c.md5, files.c.name, files.c.data).where(
            files.c.md5.in_(md5s), files.c.name.in_((SIGNATURE_FILE, PROGRAM_NAME_FILE)))):
        if name == SIGNATURE_FILE:
            signers[md5] = signer_of([(SIGNATURE_FILE, data)])
        else:
            names[md5] = program_name(bytes(data), None)
    return [{"md5": row["md5"], "name": names.get(row["md5"]), "installed_at": row["installed_at"],
             "installed_by": row["installed_by"],
             "files": [name for name in stored.get(row["md5"], []) if name],
             "stored": row["md5"] in stored, "deployment": row["deployment"],
             "signed_by": signers.get(row["md5"])}
            for row in rows]


def audit(connection, plc_id=None, start=None, end=None, limit=500) -> list:
    table = schema.control_call
    rows = _rows(connection, select(table)
                 .where(*([table.c.runtime_id == plc_id] if plc_id else []),
                        *_between(table.c.time, start, end))
                 .order_by(table.c.time.desc(), table.c.seq.desc()).limit(limit))
    return [{"audit": row["seq"], "time": row["time"], "id": row["runtime_id"],
             "method": row["method"], "authid": row["authid"], "authrole": row["authrole"],
             "result": row["result"], "detail": row["detail"], "result_at": row["result_at"]}
            for row in rows]


def deployments(connection, limit=50) -> list:
    table = schema.deployment
    return [{"deployment": row["seq"], "time": row["time"], "by": row["by"], "md5": row["md5"],
             "runtimes": json.loads(row["runtimes"])}
            for row in _rows(connection, select(table).order_by(table.c.seq.desc()).limit(limit))]


def gaps(connection) -> list:
    """[from, to] of each time the registry was not running: from the last record a run kept
    (its ``alive_at``, moved by every commit) to the next run's start."""
    table = schema.registry_run
    runs = connection.execute(select(table.c.started_at, table.c.alive_at)
                              .order_by(table.c.seq)).all()
    return [[before.alive_at, after.started_at] for before, after in zip(runs, runs[1:])]


# --- program store ----------------------------------------------------------------------------

def store_program(connection, program: bytes, extras, by) -> tuple:
    """(md5, stored): the md5 is computed here, never taken from the caller."""
    extras = [(str(name), bytes(data)) for name, data in extras]
    md5 = program_identity(bytes(program), extras)
    if connection.execute(select(schema.program.c.md5).where(schema.program.c.md5 == md5)
                          ).first() is not None:
        return md5, False
    connection.execute(insert(schema.program).values(md5=md5, stored_at=time.time(),
                                                     stored_by=by))
    connection.execute(insert(schema.program_file), [
        {"md5": md5, "name": name, "size": len(data), "data": data}
        for name, data in [("", bytes(program)), *extras]])
    return md5, True


def program_files(connection, md5) -> dict | None:
    """{name: bytes} of a stored set ("" is the program); None if not stored."""
    rows = connection.execute(select(schema.program_file.c.name, schema.program_file.c.data)
                              .where(schema.program_file.c.md5 == md5)).all()
    return {row.name: bytes(row.data) for row in rows} or None


def file_sizes(connection, md5) -> dict | None:
    rows = connection.execute(select(schema.program_file.c.name, schema.program_file.c.size,
                                     func.length(schema.program_file.c.data).label("n"))
                              .where(schema.program_file.c.md5 == md5)).all()
    return {row.name: row.size for row in rows} or None


def add_deployment(connection, md5, runtimes: dict, by) -> int:
    return connection.execute(insert(schema.deployment).values(
        time=time.time(), by=by, md5=md5, runtimes=json.dumps(runtimes, sort_keys=True))
    ).inserted_primary_key[0]


# --- rules ------------------------------------------------------------------------------------

def rules(connection) -> list:
    table = schema.rule
    return [{"rule": row["seq"], "id": row["pattern"], "text": row["text"],
             "source": row["source"]}
            for row in _rows(connection, select(table).order_by(table.c.seq))]


def add_rule(connection, pattern, text, source) -> int:
    return connection.execute(insert(schema.rule).values(pattern=pattern, text=text,
                                                         source=source)).inserted_primary_key[0]


def remove_rule(connection, number) -> bool:
    return connection.execute(delete(schema.rule).where(schema.rule.c.seq == number)
                              ).rowcount > 0


def replace_file_rules(connection, entries) -> None:
    """The rules file is the truth for rules of source ``file``: replace them at start."""
    connection.execute(delete(schema.rule).where(schema.rule.c.source == "file"))
    if entries:
        connection.execute(insert(schema.rule), [
            {"pattern": pattern, "text": text, "source": "file"} for pattern, text in entries])


# --- trends -----------------------------------------------------------------------------------

def trend_series(connection, var_id: int, start_ms: int, end_ms: int, use_raw: bool,
                 max_points: int) -> tuple:
    """(bucket ms, points) of one variable: every raw sample while the range holds at most
    ``max_points``, else buckets of at most ``max_points`` per range ([t, min, max, mean]).

    Buckets of a minute or more are built from the 1-minute aggregates (and, within the raw
    window, the raw samples of the minutes not folded yet): the same min/max/mean for a
    fraction of the rows, which keeps a 24 h chart fast. Shorter buckets come from raw samples.
    """
    bucket = max(1, -(-(end_ms - start_ms) // max(1, max_points)))
    raw, minute = schema.value_raw, schema.value_minute
    if use_raw and bucket < MINUTE_MS:
        where = and_(raw.c.var_id == var_id, raw.c.ts >= start_ms, raw.c.ts <= end_ms)
        count = connection.execute(select(func.count()).select_from(raw).where(where)).scalar()
        if count <= max_points:
            return 0, _raw_points(connection, var_id, start_ms, end_ms)
        return bucket, _merge([_buckets(connection, raw, raw.c.ts, where, bucket)])
    bucket = -(-bucket // MINUTE_MS) * MINUTE_MS
    folded = int(get_setting(connection, "aggregated_until", start_ms)) if use_raw else end_ms + 1
    where = and_(minute.c.var_id == var_id, minute.c.minute >= start_ms,
                 minute.c.minute < min(folded, end_ms + 1))
    parts = [_buckets(connection, minute, minute.c.minute, where, bucket)]
    if use_raw and folded <= end_ms:
        parts.append(_buckets(connection, raw, raw.c.ts, and_(
            raw.c.var_id == var_id, raw.c.ts >= max(start_ms, folded), raw.c.ts <= end_ms),
            bucket))
    if use_raw and sum(n for part in parts for *_, n in part) <= max_points:
        return 0, _raw_points(connection, var_id, start_ms, end_ms)
    return bucket, _merge(parts)


def _raw_points(connection, var_id, start_ms, end_ms) -> list:
    raw = schema.value_raw
    return [[ts / 1000, value] for ts, value in connection.execute(
        select(raw.c.ts, raw.c.value).where(raw.c.var_id == var_id, raw.c.ts >= start_ms,
                                            raw.c.ts <= end_ms).order_by(raw.c.ts))]


def _buckets(connection, table, time_column, where, bucket) -> list:
    """[(bucket start, min, max, sum, count)] of raw samples or of 1-minute aggregates."""
    start_of = (time_column // bucket) * bucket
    if table is schema.value_raw:
        columns = (func.min(table.c.value), func.max(table.c.value), func.sum(table.c.value),
                   func.count())
    else:
        columns = (func.min(table.c.vmin), func.max(table.c.vmax),
                   func.sum(table.c.vmean * table.c.count), func.sum(table.c.count))
    return connection.execute(select(start_of, *columns).where(where).group_by(start_of)).all()


def _merge(parts) -> list:
    merged = {}
    for part in parts:
        for start, low, high, total, count in part:
            if not count:
                continue
            if start in merged:
                old = merged[start]
                merged[start] = (min(old[0], low), max(old[1], high), old[2] + total,
                                 old[3] + count)
            else:
                merged[start] = (low, high, float(total), int(count))
    return [[start / 1000, low, high, total / count]
            for start, (low, high, total, count) in sorted(merged.items())]
