"""The registry's reading of ``<ID>.forces`` tables (registry/forces.py), without a router: which
changes are forces and releases, who they are put to, and the force_age notice."""
import time

from registry.forces import ALARM_KIND, ForceRecords, changes


def entry(index, value, by="alice", since=1000.0, name="pump"):
    return {"index": index, "name": name, "type": "BOOL", "value": value,
            "raw": "01" if value else "00", "before": False, "by": by, "since": since}


class Writer:
    def __init__(self):
        self.records = []

    def put(self, kind, row):
        self.records.append((kind, row))


class RegistryParts:
    """What ForceRecords uses of registry.live.Registry: the writer, alarms, rows."""

    def __init__(self):
        self.writer = Writer()
        self.open_alarms = {}
        self.runtimes = {}

    def raise_alarm(self, plc_id, kind, source, detail, now):
        self.open_alarms.setdefault((plc_id, kind, source), detail)

    def clear_alarm(self, plc_id, kind, source, now):
        self.open_alarms.pop((plc_id, kind, source), None)


def test_new_and_changed_entries_are_forces_vanished_ones_releases():
    before = {3: entry(3, True), 5: entry(5, True, name="manual")}
    after = [entry(3, False, by="bob", since=2000.0), entry(7, True, name="valve")]
    found = {(action, e["index"], e["value"]) for action, e in changes(before, after)}
    assert found == {("force", 3, False), ("force", 7, True), ("release", 5, True)}
    assert changes(before, list(before.values())) == []


def test_releases_are_put_to_the_last_releasing_call_and_end_the_notice():
    parts = RegistryParts()
    records = ForceRecords(parts, max_age=60)
    records.heard("plc-01", [entry(3, True, since=0.0)], now=100.0)
    assert ("plc-01", ALARM_KIND, "3") in parts.open_alarms
    assert "pump forced to True by alice" in parts.open_alarms[("plc-01", ALARM_KIND, "3")]
    records.control_call("plc-01", "StartPLC", "carol", now=time.time())   # releases nothing
    records.control_call("plc-01", "Release", "bob", now=time.time())
    records.heard("plc-01", [], now=200.0)
    kinds = [(row["action"], row["by"], row["idx"]) for kind, row in parts.writer.records]
    assert kinds == [("force", "alice", 3), ("release", "bob", 3)]
    assert parts.open_alarms == {}


def test_a_table_learnt_after_a_restart_records_nothing_and_ends_stale_notices():
    parts = RegistryParts()
    parts.open_alarms[("plc-01", ALARM_KIND, "5")] = "manual forced …"
    records = ForceRecords(parts, max_age=3600)
    records.heard("plc-01", [entry(3, True, since=0.0)], now=100.0, record=False)
    assert parts.writer.records == []
    assert parts.open_alarms == {}   # index 5 is no longer forced; index 3 is not old yet
