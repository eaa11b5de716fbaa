"""The registry's tables (SQLAlchemy Core), as migrations/versions/ build them.

Times are wall-clock seconds (float, UTC epoch); value samples use integer milliseconds so a
minute bucket is an integer division on both engines, and the raw table is clustered on
(variable, time) (SQLite: WITHOUT ROWID), the one order every trend query reads in.
"""
from sqlalchemy import (BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text)

metadata = MetaData()

runtime = Table(
    "runtime", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),          # native, bridged, beremiz
    Column("platform", Text),
    Column("status", String(16), nullable=False),
    Column("md5", String(32)),
    Column("log_counts", Text),                           # JSON list of 4 counts
    Column("online", Boolean, nullable=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("connected_since", Float),
    Column("offline_since", Float),
    Column("forced", Integer, nullable=False, server_default="0"),  # status kwarg: forces held
    Column("cause", Text),                                # status kwarg: why it is Broken
)

# Every force and release a runtime's `<ID>.forces` event showed (docs/force-model.md).
force_change = Table(
    "force_change", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("runtime_id", String(64), nullable=False),
    Column("time", Float, nullable=False),
    Column("action", String(16), nullable=False),        # force, release
    Column("idx", Integer, nullable=False),
    Column("name", String(255)),
    Column("type", String(16)),
    Column("value", Text),                                # JSON of the entry's value (or raw hex)
    Column("by", String(255)),                            # who forced, or who released
    Column("since", Float),                               # when the force began
    Index("ix_force_change_runtime_time", "runtime_id", "time"),
)

status_change = Table(
    "status_change", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("runtime_id", String(64), nullable=False),
    Column("time", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("md5", String(32)),
    Index("ix_status_change_runtime_time", "runtime_id", "time"),
)

log_message = Table(
    "log_message", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("runtime_id", String(64), nullable=False),
    Column("time", Float, nullable=False),
    Column("level", Integer, nullable=False),
    Column("msg_id", BigInteger),
    Column("text", Text, nullable=False),
    Column("tick", BigInteger),
    Index("ix_log_message_runtime_time", "runtime_id", "time"),
)

variable = Table(
    "variable", metadata,
    Column("var_id", Integer, primary_key=True, autoincrement=False),  # the registry assigns
    Column("runtime_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Index("ux_variable_runtime_name", "runtime_id", "name", unique=True),
)

value_raw = Table(
    "value_raw", metadata,
    Column("var_id", Integer, primary_key=True, autoincrement=False),
    Column("ts", BigInteger, primary_key=True, autoincrement=False),   # milliseconds
    Column("value", Float, nullable=False),
    sqlite_with_rowid=False,
)

value_minute = Table(
    "value_minute", metadata,
    Column("var_id", Integer, primary_key=True, autoincrement=False),
    Column("minute", BigInteger, primary_key=True, autoincrement=False),  # ms, bucket start
    Column("vmin", Float, nullable=False),
    Column("vmax", Float, nullable=False),
    Column("vmean", Float, nullable=False),
    Column("count", Integer, nullable=False),
    sqlite_with_rowid=False,
)

program = Table(
    "program", metadata,
    Column("md5", String(32), primary_key=True),
    Column("stored_at", Float, nullable=False),
    Column("stored_by", String(255)),
)

program_file = Table(
    "program_file", metadata,
    Column("md5", String(32), primary_key=True),
    Column("name", String(255), primary_key=True),     # "" is the program itself
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

install = Table(
    "install", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("runtime_id", String(64), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("installed_at", Float, nullable=False),
    Column("installed_by", String(255)),
    Column("deployment", Integer),
    Index("ix_install_runtime_time", "runtime_id", "installed_at"),
)

control_call = Table(
    "control_call", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the registry assigns
    Column("time", Float, nullable=False),
    Column("runtime_id", String(64), nullable=False),
    Column("method", String(64), nullable=False),
    Column("authid", String(255)),
    Column("authrole", String(64)),
    Column("result", String(16), nullable=False),
    Column("detail", Text),
    Column("result_at", Float),
    Index("ix_control_call_runtime_time", "runtime_id", "time"),
)

alarm = Table(
    "alarm", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the registry assigns
    Column("runtime_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", String(64), nullable=False),      # which condition: "", rule number
    Column("detail", Text),
    Column("raised_at", Float, nullable=False),
    Column("cleared_at", Float),
    Column("acked_at", Float),
    Column("acked_by", String(255)),
    Column("priority", String(8)),                      # registry/alarm_management.py
    Column("ack_comment", Text),
    Column("shelved_at", Float),                        # shelved: hidden from the active list
    Column("shelved_until", Float),                     # and from notifications until then
    Column("shelved_by", String(255)),
    Column("shelve_reason", Text),
    Index("ix_alarm_open", "cleared_at"),
)

rule = Table(
    "rule", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("pattern", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("source", String(16), nullable=False),       # file, cli
)

deployment = Table(
    "deployment", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("by", String(255)),
    Column("md5", String(32), nullable=False),
    Column("runtimes", Text, nullable=False),           # JSON {id: result}
)

registry_run = Table(
    "registry_run", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("started_at", Float, nullable=False),
    Column("alive_at", Float, nullable=False),          # heartbeat: a gap starts after it
)

setting = Table(
    "setting", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runtime_label = Table(
    "runtime_label", metadata,
    Column("runtime_id", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("set_at", Float, nullable=False),
    Column("set_by", String(255)),
)

rollout = Table(
    "rollout", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("by", String(255)),
    Column("md5", String(32), nullable=False),
    Column("state", String(16), nullable=False),        # running, passed, failed, aborted
    Column("note", Text),
    Column("plan", Text, nullable=False),               # JSON: the plan, waves and results
)
