"""The pure parts of alarm management: rules with on/off delays and deadband, priorities,
durations, the flood indicator, the notify file, and the alarm decisions of the registry's
Alarms part on a fake clock (no router: what it writes and announces is collected)."""
import pytest
from twisted.internet import task

from ide_component.cli_output import alarms_table, format_time
from plc_protocol.status import PLCStatus
from registry import alarm_management as am
from registry.alarms import CRASH_WINDOW, GRACE, Alarms
from registry.notifications import parse_notify
from registry.rules import RuleWatch, parse_rule


def test_rule_text_round_trips_with_delays_deadband_and_priority():
    rule = parse_rule("level > 90 for 5 s off 10 s deadband 2 priority HIGH")
    assert (rule.hold, rule.off, rule.deadband, rule.priority) == (5, 10, 2, "high")
    assert parse_rule(rule.text) == rule
    with pytest.raises(ValueError, match="priority 'urgent'"):
        parse_rule("level > 90 priority urgent")


def test_deadband_and_off_delay_keep_a_wandering_value_from_chattering():
    watch = RuleWatch(parse_rule("level > 90 off 3 s deadband 2"))
    assert watch.sample(91, 0) == "raise"
    assert watch.sample(89, 1) is None          # inside the deadband: still holds
    assert watch.sample(87, 2) is None          # past it, but the off-delay runs
    assert watch.sample(91, 3) is None          # back: the off-delay starts anew
    assert watch.sample(87, 4) is None
    assert watch.sample(87, 7) == "clear"
    on = RuleWatch(parse_rule("level > 90 for 5 s"))
    assert [on.sample(95, t) for t in (0, 4, 5)] == [None, None, "raise"]


def test_a_watch_of_an_alarm_open_before_a_restart_clears_it():
    watch = RuleWatch(parse_rule("level > 90"), raised=True)
    assert watch.sample(10, 0) == "clear"


def test_priorities_durations_and_suggestions():
    assert am.parse_duration("30m") == 1800 and am.parse_duration("90") == 90
    for wrong in ("0m", "soon", "8d"):
        with pytest.raises(ValueError):
            am.parse_duration(wrong)
    assert am.at_least("critical", "high") and not am.at_least("low", "medium")
    assert am.kind_priorities({"priorities": {"disconnected": "Low"}})["disconnected"] == "low"
    with pytest.raises(ValueError, match="no alarm kind"):
        am.kind_priorities({"priorities": {"fire": "high"}})
    assert "did you mean level" in am.suggest("levle", ["level", "pump", "setpoint"])


def test_flood_is_more_than_ten_alarms_in_ten_minutes():
    flood = am.FloodWatch()
    assert not any(flood.add(t) for t in range(10))
    assert flood.add(10) and flood.flooding(10)
    assert not flood.flooding(10 + am.FLOOD_WINDOW)


def test_notify_file_is_checked():
    config = parse_notify({"min_priority": "high", "webhooks": ["http://127.0.0.1:1/x"],
                           "email": {"host": "127.0.0.1", "port": 2525, "from": "a@b",
                                     "to": "ops@plant", "min_priority": "critical"}})
    assert [t["min_priority"] for t in config["targets"]] == ["high", "critical"]
    for wrong, message in (({}, "nothing would be notified"),
                           ({"webhooks": ["ftp://x"]}, "http"),
                           ({"email": {"host": "h", "from": "a@b", "to": []}}, "to"),
                           ({"min_priority": "loud", "webhooks": ["http://x"]}, "priority")):
        with pytest.raises(ValueError, match=message):
            parse_notify(wrong)


def test_times_are_iso_8601_with_the_zone_and_priorities_are_words():
    assert format_time(0).startswith("19") and format_time(0)[10] == "T"
    assert format_time(0)[-6] in "+-" and format_time(0)[-3] == ":"
    table = alarms_table([{"alarm": 1, "priority": "critical", "id": "p", "kind": "broken",
                           "raised_at": 0, "cleared_at": None, "acked_by": None,
                           "detail": "boom"}])
    assert "PRIORITY" in table.splitlines()[0] and "CRITICAL" in table


class Writer:
    def __init__(self):
        self.records = []

    def put(self, kind, record):
        self.records.append((kind, record))


class Host(Alarms):
    """The Alarms part with what the registry gives it."""

    def __init__(self, now):
        super().__init__()
        self.clock = task.Clock()
        self.clock.advance(now)
        self.started_at = now
        self.writer = Writer()
        self.numbers = {"alarm": 1, "audit": 1}
        self.runtimes = {}
        self.announced = []

    def announce(self, topic, document):
        self.announced.append(document)

    def status(self, plc_id, status, cause=None):
        before = dict(self.runtimes.get(plc_id) or {"status": None, "online": False})
        row = self.runtimes[plc_id] = {"status": status.value, "cause": cause,
                                       "online": status != PLCStatus.DISCONNECTED,
                                       "offline_since": self.clock.seconds()}
        self.status_alarms(plc_id, before, row, self.clock.seconds())

    def kinds(self):
        return sorted((key[0], key[1]) for key in self.open_alarms)


def test_a_crash_is_one_alarm_carrying_the_critical_message():
    host = Host(1000)
    host.status("p", PLCStatus.STARTED)
    host.critical_log("p", 3, "boom at cycle 20", host.clock.seconds())
    host.clock.advance(0.5)
    host.status("p", PLCStatus.BROKEN)
    host.clock.advance(CRASH_WINDOW * 2)
    assert host.kinds() == [("p", "broken")]
    assert host.open_alarms[("p", "broken", "")]["detail"] == "boom at cycle 20"
    assert host.open_alarms[("p", "broken", "")]["priority"] == "critical"
    # a CRITICAL log without a crash is an alarm of its own, after the window
    host.status("q", PLCStatus.STARTED)
    host.critical_log("q", 4, "sensor lost", host.clock.seconds())
    assert ("q", "critical_log") not in host.kinds()
    host.clock.advance(CRASH_WINDOW)
    assert ("q", "critical_log") in host.kinds()
    # every change went to the audit trail
    assert [r["method"] for kind, r in host.writer.records if kind == "audit"] == \
        ["alarm raised", "alarm raised"]


def test_no_disconnected_alarm_within_the_start_grace_period():
    host = Host(1000)
    host.status("erpc-07", PLCStatus.DISCONNECTED)   # the bridge at plclink up
    host.clock.advance(1)
    host.status("erpc-07", PLCStatus.STARTED)
    host.clock.advance(GRACE)
    assert host.kinds() == []
    host.status("erpc-07", PLCStatus.DISCONNECTED)   # later: a real loss
    assert host.kinds() == [("erpc-07", "disconnected")]
    host.status("late", PLCStatus.DISCONNECTED)      # new, and still gone after the grace
    assert ("late", "disconnected") not in host.kinds()
    host.clock.advance(GRACE)
    assert ("late", "disconnected") in host.kinds()


def test_a_critical_log_alarm_clears_once_the_runtime_is_seen_again_after_a_restart():
    host = Host(1000)
    host.open_alarms[("p", "critical_log", "3")] = {
        "seq": 7, "runtime_id": "p", "kind": "critical_log", "source": "3", "detail": "x",
        "raised_at": 10, "cleared_at": None, "acked_at": None, "acked_by": None,
        "priority": "high"}                           # loaded from the database
    host.status("p", PLCStatus.STARTED)               # first status heard since the restart
    assert host.kinds() == []


def test_a_runtime_behind_a_lost_link_folds_under_the_links_alarm():
    host = Host(0)
    host.clock.advance(GRACE * 2)
    for plc_id in ("a", "b"):
        host.status(plc_id, PLCStatus.STARTED)
        host.link_lost(plc_id, "plant-a", host.clock.seconds())
        host.status(plc_id, PLCStatus.DISCONNECTED)
    assert host.kinds() == [("plant-a", "link")]
    assert "2 runtime(s) out of reach (a, b)" in host.open_alarms[
        ("plant-a", "link", "plant-a")]["detail"]
    for plc_id in ("a", "b"):
        host.status(plc_id, PLCStatus.STARTED)
        host.link_back(plc_id, host.clock.seconds())
    assert host.kinds() == []


def test_shelving_ends_by_itself():
    host = Host(1000)
    host.clock.advance(GRACE)
    host.status("p", PLCStatus.BROKEN)
    number = host.open_alarms[("p", "broken", "")]["seq"]
    shelved = host.shelve(number, "olga", 60, "sensor replaced today")
    assert shelved["shelved"] and shelved["shelved_by"] == "olga"
    assert shelved["shelve_reason"] == "sensor replaced today"
    host.clock.advance(59)
    assert host.alarm_state()["shelved"] == 1 and host.alarm_state()["active"] == 0
    host.clock.advance(1)
    assert host.alarm_state()["shelved"] == 0 and host.alarm_state()["active"] == 1
    assert [r["method"] for kind, r in host.writer.records if kind == "audit"][-2:] == \
        ["alarm shelved", "alarm unshelved"]


def test_units_file_beside_the_program():
    from registry.units import parse_units
    text = "variable,unit\n# tank\nlevel,%\nflow, m3/h\nbroken line\n,x\n"
    assert parse_units(text.encode()) == {"level": "%", "flow": "m3/h"}
    assert parse_units(b"\xff\xfe") == {} and parse_units(None) == {}
