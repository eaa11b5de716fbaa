"""What the writer thread does with a batch of records, in one transaction.

A record is ``(kind, row)``. Plain inserts are grouped per table (one executemany each, which
both engines batch into few statements); then updates, upserts and maintenance run in the
order they arrived, so an update always follows the insert it completes.
"""
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from registry import schema

INSERTS = {"status": schema.status_change, "log": schema.log_message,
           "variable": schema.variable, "install": schema.install,
           "audit": schema.control_call, "alarm": schema.alarm}
# Samples may repeat after a restart (a retained value event heard twice): keep the first.
IDEMPOTENT_INSERTS = {"value": schema.value_raw}
MINUTE_MS = 60_000


def _insert_ignoring_duplicates(connection, table):
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(connection.dialect.name)
    if dialect is None:
        return insert(table)
    return dialect.insert(table).on_conflict_do_nothing()


def apply(connection, batch) -> None:
    grouped = {}
    ordered = []
    for kind, row in batch:
        if kind in INSERTS or kind in IDEMPOTENT_INSERTS:
            grouped.setdefault(kind, []).append(row)
        else:
            ordered.append((kind, row))
    for kind, rows in grouped.items():
        if kind in INSERTS:
            connection.execute(insert(INSERTS[kind]), rows)
        else:
            connection.execute(_insert_ignoring_duplicates(connection, IDEMPOTENT_INSERTS[kind]),
                               rows)
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
    """
    raw, minute = schema.value_raw, schema.value_minute
    until = row["now_ms"] // MINUTE_MS * MINUTE_MS
    since = get_setting(connection, "aggregated_until")
    if since is None:
        first = connection.execute(select(func.min(raw.c.ts))).scalar()
        since = until if first is None else first // MINUTE_MS * MINUTE_MS
    since = int(since)
    if since < until:
        bucket = (raw.c.ts // MINUTE_MS) * MINUTE_MS
        folded = (select(raw.c.var_id, bucket, func.min(raw.c.value), func.max(raw.c.value),
                         func.avg(raw.c.value), func.count())
                  .where(raw.c.ts >= since, raw.c.ts < until)
                  .group_by(raw.c.var_id, bucket))
        connection.execute(insert(minute).from_select(
            ["var_id", "minute", "vmin", "vmax", "vmean", "count"], folded))
        set_setting(connection, "aggregated_until", until)
    connection.execute(delete(raw).where(raw.c.ts < row["now_ms"] - row["raw_window_ms"]))
    connection.execute(delete(minute).where(
        minute.c.minute < row["now_ms"] - row["aggregate_window_ms"]))


UPDATES = {"runtime": _runtime, "variable_type": _updater(schema.variable, "var_id"),
           "audit_result": _updater(schema.control_call, "seq"),
           "alarm_update": _updater(schema.alarm, "seq"),
           "alive": _updater(schema.registry_run, "seq"), "maintain": _maintain,
           "install_deployment": _install_deployment}
