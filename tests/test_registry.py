"""The registry against the real router, real runtimes and both database engines: what it
records, what it answers, who it says did what, and how it survives being killed."""
import time

import pytest

from harness import next_event, wait_until
from registry_fixtures import (ENGINES, RegistryProcess, database_url, registry_call,  # noqa: F401
                               postgres, rules_file, wait_for)

pytestmark = pytest.mark.slow


@pytest.fixture(params=ENGINES)
def registry(request, router, tmp_path):
    process = RegistryProcess(router, database_url(request.param, request, tmp_path), tmp_path,
                              "--rules", rules_file(tmp_path / "rules.yaml",
                                                    ("plc-0*", "level > 0 for 1 s")))
    process.start()
    yield process
    process.stop()


def test_records_status_values_logs_audit_and_alarms(registry, runtimes, router, ide):
    runtimes.start("plc-03", autostart=False)
    operator = router.client("operator")
    try:
        row = wait_for(ide, "runtime", lambda r: r["status"] == "Stopped", "plc-03")
        assert row["kind"] == "native" and row["online"] and row["md5"]
        assert row["connected_since"] and row["offline_since"] is None
        operator.call("plc-03.StartPLC")
        audit = wait_for(ide, "audit", lambda rows: rows and rows[0]["result"] == "ok",
                         id="plc-03")
        assert audit[0]["method"] == "StartPLC" and audit[0]["authid"] == "operator"
        assert audit[0]["authrole"] == "ide" and audit[0]["detail"] == "status Started"
        history = wait_for(ide, "status_history", lambda rows: len(rows) >= 2, "plc-03")
        assert [r["status"] for r in history[:2]] == ["Started", "Stopped"]
        logs = wait_for(ide, "logs", lambda rows: any("started" in r["text"] for r in rows),
                        "plc-03")
        assert logs[0]["level_name"] in ("INFO", "DEBUG", "WARNING", "CRITICAL")
        variables = wait_for(ide, "variables", lambda rows: rows, "plc-03")
        assert {"name": "level", "type": "REAL"} in variables
        assert all(v["type"] != "STRING" for v in variables)
        trend = wait_for(ide, "trend", lambda t: len(t["series"]["level"]["points"]) >= 3,
                         "plc-03", ["level", "pump"], time.time() - 60)
        assert trend["source"] == "raw" and trend["bucket"] == 0
        assert trend["series"]["pump"]["type"] == "BOOL"
        assert all(v in (0.0, 1.0) for _, v in trend["series"]["pump"]["points"])
        # the rule file's rule: level > 0 held for a second
        alarms = wait_for(ide, "alarms", lambda rows: any(a["kind"] == "rule" for a in rows),
                          active=True, id="plc-03")
        rule_alarm = next(a for a in alarms if a["kind"] == "rule")
        assert rule_alarm["detail"].startswith("level > 0 for 1 s")
        acked = operator.call("plclink.registry.ack", rule_alarm["alarm"])
        assert acked["acked_by"] == "operator" and acked["acked_at"] and acked["active"]
    finally:
        operator.close()


def test_fleet_table_marks_offline_and_kill_9_loses_nothing(registry, runtimes, ide):
    child = runtimes.start("plc-04", autostart=True)
    wait_for(ide, "runtime", lambda r: r["status"] == "Started", "plc-04")
    wait_for(ide, "variables", lambda rows: rows, "plc-04")
    wait_for(ide, "trend", lambda t: len(t["series"]["level"]["points"]) >= 4, "plc-04",
             ["level"], time.time() - 60)
    registry.kill()
    before_restart = time.time()
    child.stop()                 # gone while the registry is down: its testament says so
    registry.start()
    row = wait_for(ide, "runtime", lambda r: not r["online"], "plc-04")
    # offline since it was last seen (before the kill), not since the registry came back
    assert row["status"] == "Disconnected" and row["offline_since"] < before_restart
    assert row["connected_since"] is None
    # (raised once the registry's start grace period is over)
    wait_for(ide, "alarms", lambda rows: any(a["kind"] == "disconnected" for a in rows),
             active=True, id="plc-04", timeout=40)
    stats = registry_call(ide, "stats")
    assert stats["gaps"] and stats["gaps"][-1][1] >= before_restart
    # everything committed before the kill is still there
    trend = registry_call(ide, "trend", "plc-04", ["level"], time.time() - 120)
    assert len(trend["series"]["level"]["points"]) >= 4
