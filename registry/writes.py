"""What the writer thread does with a batch of records, in one transaction.

A record is ``(kind, row)``. Plain inserts are grouped per table (one executemany each, which
SQLAlchemy sends as few multi-row statements); then updates, upserts and maintenance run in
the order they arrived, so an update always follows the insert it completes.
"""
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from registry import schema

INSERTS = {"status": schema.status_change, "log": schema.log_message,
           "variable": schema.variable, "install": schema.install,
           "audit": schema.control_call, "alarm": schema.alarm, "value": schema.value_raw,
           "force_change": schema.force_change}
MINUTE_MS = 60_000
ROWS_PER_STATEMENT = 5000   # multi-row VALUES: within both engines' limits on parameters


def _insert_ignoring_duplicates(connection, table, rows):
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[connection.dialect.name]
    return dialect.insert(table).values(rows).on_conflict_do_nothing()


def apply(connection, batch, skip_duplicate_values: bool = False) -> None:
    """``skip_duplicate_values``: a sample already stored (heard twice across a restart) is
    left out; much slower (both engines then write value rows statement by statement), so
    the writer asks for it only after a batch failed on a duplicate."""
    grouped = {}
    ordered = []
    for kind, row in batch:
        if kind in INSERTS:
            grouped.setdefault(kind, []).append(row)
        else:
            ordered.append((kind, row))
    for kind, rows in grouped.items():
        if kind == "value" and skip_duplicate_values:
            for first in range(0, len(rows), ROWS_PER_STATEMENT):
                connection.execute(_insert_ignoring_duplicates(
                    connection, INSERTS[kind], rows[first:first + ROWS_PER_STATEMENT]))
        else:
            connection.execute(insert(INSERTS[kind]), rows)
    for kind, row in ordered:
        UPDATES[kind](connection, row)


def _runtime(connection, row) -> None:
    table = schema.runtime
    values = {key: value for key, value in row.items() if key != "id"}
    if connection.execute(update(table).where(table.c.id == row["id"]).values(values)).rowcount == 0:
        connection.execute(insert(table).values(row))


def _updater(table, key: str):
    """An update of the row of ``table`` that the record's ``key`` names, with its other fields."""
    def run(connection, row) -> None:
        values = {name: value for name, value in row.items() if name != key}
        connection.execute(update(table).where(table.c[key] == row[key]).values(values))
    return run


def _install_deployment(connection, row) -> None:
    """Attach the newest install of ``md5`` on a runtime to the fleet deploy that made it."""
    table = schema.install
    newest = (select(func.max(table.c.seq)).where(table.c.runtime_id == row["runtime_id"],
                                                  table.c.md5 == row["md5"]).scalar_subquery())
    connection.execute(update(table).where(table.c.seq == newest)
                       .values(deployment=row["deployment"]))


def get_setting(connection, key, default=None):
    value = connection.execute(select(schema.setting.c.value)
                               .where(schema.setting.c.key == key)).scalar()
    return default if value is None else value


def set_setting(connection, key, value) -> None:
    table = schema.setting
    if connection.execute(update(table).where(table.c.key == key)
                          .values(value=str(value))).rowcount == 0:
        connection.execute(insert(table).values(key=key, value=str(value)))


def _maintain(connection, row) -> None:
    """Fold complete minutes of raw samples into 1-minute min/max/mean, then drop raw samples
    older than the raw window and aggregates older than theirs.

    ``until`` (a minute boundary) was taken when this record was queued: every sample stamped
    before it was queued earlier and is already written, so each minute is folded once.

    Each statement names one variable: the tables are keyed (var_id, time), so a condition on
    time alone would read the whole table (a day of every variable's samples) every minute,
    and the trend queries would wait for it.
    """
    raw, minute = schema.value_raw, schema.value_minute
    var_ids = connection.execute(select(schema.variable.c.var_id)).scalars().all()
    until = row["now_ms"] // MINUTE_MS * MINUTE_MS
    since = get_setting(connection, "aggregated_until")
    if since is None:
        firsts = [connection.execute(select(func.min(raw.c.ts)).where(raw.c.var_id == var_id))
                  .scalar() for var_id in var_ids]
        firsts = [first for first in firsts if first is not None]
        since = min(firsts) // MINUTE_MS * MINUTE_MS if firsts else until
    since = int(since)
    if since < until:
        bucket = (raw.c.ts // MINUTE_MS) * MINUTE_MS
        for var_id in var_ids:
            folded = (select(raw.c.var_id, bucket, func.min(raw.c.value), func.max(raw.c.value),
                             func.avg(raw.c.value), func.count())
                      .where(raw.c.var_id == var_id, raw.c.ts >= since, raw.c.ts < until)
                      .group_by(raw.c.var_id, bucket))
            connection.execute(insert(minute).from_select(
                ["var_id", "minute", "vmin", "vmax", "vmean", "count"], folded))
        set_setting(connection, "aggregated_until", until)
    if var_ids:
        each = [{"each_var": var_id} for var_id in var_ids]
        connection.execute(delete(raw).where(
            raw.c.var_id == bindparam("each_var"),
            raw.c.ts < row["now_ms"] - row["raw_window_ms"]), each)
        connection.execute(delete(minute).where(
            minute.c.var_id == bindparam("each_var"),
            minute.c.minute < row["now_ms"] - row["aggregate_window_ms"]), each)


UPDATES = {"runtime": _runtime, "variable_type": _updater(schema.variable, "var_id"),
           "audit_result": _updater(schema.control_call, "seq"),
           "alarm_update": _updater(schema.alarm, "seq"),
           "alive": _updater(schema.registry_run, "seq"), "maintain": _maintain,
           "install_deployment": _install_deployment}
