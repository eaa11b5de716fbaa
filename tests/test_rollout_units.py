"""The pure parts of rollouts and labels: waves, the plan, labels and selectors, and the
registry's verdict on a NewPLC sent to a Broken PLC."""
import pytest

from ide_component.rollout_plan import (RolloutOptions, file_changes, make_plan, make_waves,
                                        plan_text, runtime_entry)
from plc_protocol.labels import parse_labels, parse_selector, selects
from registry.audit import judge

IDS = [f"p{n}" for n in range(1, 8)]


@pytest.mark.parametrize("canary, size, waves", [
    (1, 2, [["p1"], ["p2", "p3"], ["p4", "p5"], ["p6", "p7"]]),
    (2, 0, [["p1", "p2"], ["p3", "p4", "p5", "p6", "p7"]]),
    (0, 3, [["p1", "p2", "p3"], ["p4", "p5", "p6"], ["p7"]]),
    (9, 1, [IDS]),
])
def test_canaries_then_waves(canary, size, waves):
    assert make_waves(IDS, RolloutOptions(canary, size)) == waves


def test_the_plan_leaves_out_what_it_must_not_touch():
    def row(md5, online=True):
        return {"md5": md5, "online": online}
    stored = {"a" * 32}
    entries = [runtime_entry("p1", row("a" * 32), "n" * 32, stored, []),
               runtime_entry("p2", row("a" * 32, online=False), "n" * 32, stored, []),
               runtime_entry("p3", row("n" * 32), "n" * 32, stored, []),
               runtime_entry("p4", row("b" * 32), "n" * 32, stored, []),
               runtime_entry("p5", None, "n" * 32, stored, [])]
    assert [e["skip"] is None for e in entries] == [True, False, False, False, False]
    assert "offline" in entries[1]["skip"] and "already runs" in entries[2]["skip"]
    assert "not in the program store" in entries[3]["skip"]
    assert "unknown to the registry" in entries[4]["skip"]
    plan = make_plan(entries, "n" * 32, "tank.py", RolloutOptions(1, 2, 5), "line=2")
    assert [wave["ids"] for wave in plan["waves"]] == [["p1"]]
    text = plan_text(plan)
    assert "wave 1 (canary): p1" in text and "p4" in text and "selector line=2" in text


def test_file_changes():
    old = {"": b"a", "x.csv": b"1", "gone.csv": b"2"}
    new = {"": b"b", "x.csv": b"1", "new.csv": b"3"}
    assert file_changes(old, new) == [{"name": "", "change": "changed"},
                                      {"name": "gone.csv", "change": "removed"},
                                      {"name": "new.csv", "change": "added"}]
    assert file_changes(None, new) == []


def test_labels_and_selectors():
    assert parse_labels(["line=2,site=plant-a", "cell=7"]) == {
        "line": "2", "site": "plant-a", "cell": "7"}
    assert parse_labels("cell=", allow_removal=True) == {"cell": None}
    for bad in ("line", "2x=1", "a=b=c"):
        with pytest.raises(ValueError):
            parse_labels(bad)
    terms = parse_selector("line=2,site!=plant-b")
    assert selects(terms, {"line": "2", "site": "plant-a"})
    assert not selects(terms, {"line": "2", "site": "plant-b"})
    assert not selects(terms, {"site": "plant-a"}) and not selects(terms, None)


def test_a_newplc_sent_to_a_broken_plc_is_judged_by_what_follows():
    before = {"status": "Broken", "md5": "a" * 32}
    assert judge("NewPLC", before, {"status": "Broken", "md5": "a" * 32}, final=False) is None
    assert judge("NewPLC", before, {"status": "Stopped", "md5": "b" * 32}, False)[0] == "ok"
    assert judge("NewPLC", before, {"status": "Broken", "md5": "a" * 32}, True)[0] == "failed"
    assert judge("StartPLC", {"status": "Stopped", "md5": None},
                 {"status": "Broken", "md5": None}, False)[0] == "failed"
