"""The registry's database side without a router, on both engines: migrations, the writer's
batches, 1-minute aggregation and retention, trend queries, the program store; and the pure
parts (alarm rules, audit verdicts)."""
import time

import pytest
from sqlalchemy import func, select

from registry import database, queries, schema
from registry.audit import judge
from registry.rules import RuleWatch, parse_rule, parse_rules_file
from registry.writer import BatchWriter
from registry_fixtures import ENGINES, database_url, postgres  # noqa: F401
from postgres_cluster import PostgresCluster, binaries

MINUTE = 60_000


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    engine = database.open_engine(database_url(request.param, request, tmp_path))
    database.migrate(engine)
    database.migrate(engine)   # a second start finds the schema current
    yield engine
    engine.dispose()


def write(engine, *records):
    writer = BatchWriter(engine)
    writer.start()
    for kind, row in records:
        writer.put(kind, row)
    assert writer.flush(20)
    writer.stop()
    return writer


def count(engine, table):
    with engine.begin() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = database.open_engine(database.default_url(str(tmp_path)))
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert database.safe_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"


def test_aggregation_and_retention(engine):
    now = int(time.time() * 1000) // MINUTE * MINUTE
    base = now - 3 * MINUTE
    samples = [("value", {"var_id": 1, "ts": base + i * 500, "value": float(i % 10)})
               for i in range(3 * 120)]   # three minutes at 2 Hz
    old = [("value", {"var_id": 1, "ts": now - 3 * 86_400_000 + i, "value": 5.0})
           for i in range(3)]
    write(engine, ("variable", {"var_id": 1, "runtime_id": "plc-01", "name": "level",
                                "type": "REAL"}), *old, *samples,
          ("value", samples[0][1]),   # the same sample twice: kept once
          ("maintain", {"now_ms": now, "raw_window_ms": 86_400_000,
                        "aggregate_window_ms": 90 * 86_400_000}))
    with engine.begin() as connection:
        minutes = connection.execute(select(schema.value_minute).order_by(
            schema.value_minute.c.minute)).all()
    # raw older than the window is gone; its minute was folded first (old, then 3 minutes)
    assert count(engine, schema.value_raw) == len(samples)
    assert [m.count for m in minutes[-3:]] == [120, 120, 120]
    assert (minutes[-1].vmin, minutes[-1].vmax, minutes[-1].vmean) == (0.0, 9.0, 4.5)
    write(engine, ("maintain", {"now_ms": now, "raw_window_ms": 86_400_000,
                                "aggregate_window_ms": 2 * 86_400_000}))
    assert count(engine, schema.value_minute) == 3   # aggregates past their window dropped
    with engine.begin() as connection:
        bucket, points = queries.trend_series(connection, 1, base, now, True, 1000)
        assert bucket == 0 and len(points) == 360 and points[0] == [base / 1000, 0.0]
        bucket, points = queries.trend_series(connection, 1, base, now, True, 30)
        assert bucket == 6000 and len(points) == 30 and points[0][1:3] == [0.0, 9.0]
        bucket, points = queries.trend_series(connection, 1, base, now, False, 1000)
        assert bucket == MINUTE and [p[3] for p in points] == [4.5, 4.5, 4.5]
        # minute-long buckets within the raw window come from the aggregates, same figures
        bucket, points = queries.trend_series(connection, 1, base, now, True, 2)
        assert bucket == 2 * MINUTE and {tuple(p[1:]) for p in points} == {(0.0, 9.0, 4.5)}


def test_program_store_is_content_addressed(engine):
    with engine.begin() as connection:
        md5, stored = queries.store_program(connection, b"prog", [("b.csv", b"2"), ("a", b"1")],
                                            "ide")
        assert stored and queries.store_program(connection, b"prog", [("a", b"1"),
                                                                      ("b.csv", b"2")], "x") \
            == (md5, False)
        assert queries.program_files(connection, md5) == {"": b"prog", "a": b"1", "b.csv": b"2"}
        assert queries.file_sizes(connection, md5) == {"": 4, "a": 1, "b.csv": 1}
        assert queries.program_files(connection, "0" * 32) is None


def test_writer_keeps_records_through_a_database_outage(tmp_path):
    if binaries() is None:
        pytest.skip("PostgreSQL binaries not installed (Debian package 'postgresql')")
    cluster = PostgresCluster().start()
    try:
        engine = database.open_engine(cluster.create_database())
        database.migrate(engine)
        writer = BatchWriter(engine)
        writer.start()
        writer.put("log", {"runtime_id": "plc-01", "time": 1.0, "level": 2, "msg_id": 1,
                           "text": "before", "tick": 1})
        assert writer.flush(10)
        cluster.pause()
        for n in range(50):
            writer.put("log", {"runtime_id": "plc-01", "time": 2.0 + n, "level": 2,
                               "msg_id": n + 2, "text": "during", "tick": n})
        deadline = time.monotonic() + 20
        while writer.errors == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert writer.errors > 0 and writer.backlog == 50 and writer.failing_since
        cluster.resume()
        assert writer.flush(30), "the writer did not catch up after the database came back"
        assert writer.failing_since is None and writer.dropped == 0
        assert count(engine, schema.log_message) == 51
        writer.stop()
        engine.dispose()
    finally:
        cluster.stop()


def test_rules_parse_and_hold():
    rule = parse_rule("level > 90 for 5 s", "plc-*", 3)
    assert (rule.name, rule.op, rule.threshold, rule.hold) == ("level", ">", 90.0, 5.0)
    assert rule.text == "level > 90 for 5 s" and rule.applies_to("plc-07")
    assert not rule.applies_to("erpc-07")
    watch = RuleWatch(rule)
    assert [watch.sample(v, t) for v, t in ((95, 0), (96, 4.9), (97, 5.0), (98, 6), (80, 7))] \
        == [None, None, "raise", None, "clear"]
    assert parse_rule("pump == 1").hold == 0
    for text in ("level >> 3", "level > x", "> 3", "level > 3 for s"):
        with pytest.raises(ValueError, match="NAME OP NUMBER"):
            parse_rule(text)
    assert parse_rules_file({"rules": ["a < 1", {"id": "plc-0*", "rule": "b >= 2 for 3 s"}]}) \
        == [("*", "a < 1"), ("plc-0*", "b >= 2 for 3 s")]
    with pytest.raises(ValueError, match="rule 1"):
        parse_rules_file({"rules": [{"id": "x"}]})


@pytest.mark.parametrize("method, before, after, final, verdict", [
    ("StartPLC", "Stopped", "Started", False, "ok"),
    ("StartPLC", "Stopped", "Stopped", False, None),
    ("StartPLC", "Stopped", "Stopped", True, "failed"),
    ("StartPLC", "Stopped", "Broken", False, "failed"),
    ("StopPLC", "Started", "Stopped", False, "ok"),
    ("RepairPLC", "Broken", "Stopped", False, "ok"),
    ("RepairPLC", "Broken", "Broken", False, None),     # begins on Broken: not judged yet
    ("RestartPLC", "Broken", "Broken", False, None),
    ("RestartPLC", "Broken", "Started", False, "ok"),
    ("RestartPLC", "Stopped", "Broken", True, "failed"),
    ("SetTraceVariablesList", "Started", "Started", False, "unknown"),
])
def test_control_call_verdicts(method, before, after, final, verdict):
    row = {"status": after, "md5": "a"}
    result = judge(method, {"status": before, "md5": "a"}, row, final)
    assert (result[0] if result else None) == verdict


def test_new_plc_verdict_follows_the_md5():
    assert judge("NewPLC", {"md5": "a"}, {"status": "Stopped", "md5": "b"}, False)[0] == "ok"
    assert judge("NewPLC", {"md5": "a"}, {"status": "Stopped", "md5": "a"}, False) is None
    assert judge("NewPLC", {"md5": "a"}, {"status": "Empty", "md5": "a"}, True)[0] == "failed"
