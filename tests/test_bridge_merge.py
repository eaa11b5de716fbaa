"""The bridge's merge of many sessions' traces and one force table into an upstream runtime's
single set (erpc_bridge/trace_merge.py), without I/O."""
import pytest

from erpc_bridge.trace_merge import MergedTrace, OrderError
from erpc_harness import VARIABLES_CSV
from plc_protocol.beremiz_variables import read_variables_csv
from plc_protocol.iec_types import encode
from plc_protocol.trace_limits import FORCE_BUFFER_OVERFLOW, INVALID_FORCE

TABLE = read_variables_csv(VARIABLES_CSV)
INDEX = {entry.name.rsplit(".", 1)[-1]: entry.index for entry in TABLE}
LEVEL, PUMP, COUNT, MANUAL = INDEX["LEVEL"], INDEX["PUMP"], INDEX["COUNT"], INDEX["MANUAL"]


def sample(merge, indexes, values):
    """One upstream sample of ``indexes`` holding ``values`` (by index)."""
    return b"".join(encode(merge.table[i].type, values[i]) for i in indexes)


def test_each_session_gets_its_own_samples_and_values_get_every_variable():
    merge = MergedTrace(TABLE)
    first = merge.set_list(1, "alice", [(LEVEL, b"")])
    second = merge.set_list(2, "bob", [(COUNT, b""), (PUMP, b"")])
    assert first != second
    indexes = merge.upstream_indexes()
    assert indexes == [entry.index for entry in TABLE]  # the values set holds them all
    values = {entry.index: "x" if entry.type == "STRING" else 1 for entry in TABLE}
    values.update({LEVEL: 42.5, COUNT: 7, PUMP: True})
    per_session, latest = merge.split(indexes, [(5, sample(merge, indexes, values))])
    assert per_session[1] == [(5, encode("REAL", 42.5))]
    assert per_session[2] == [(5, encode("DINT", 7) + encode("BOOL", True))]
    assert latest == (5, sample(merge, indexes, values))


def test_a_force_stays_whatever_anyone_traces_or_ends():
    merge = MergedTrace(TABLE)
    merge.force([(PUMP, b"\x01")], "alice")
    merge.set_list(2, "bob", [(LEVEL, b"")])
    merge.end(2)
    assert dict(merge.upstream_orders())[PUMP] == b"\x01"
    [entry] = merge.entries()
    assert entry["value"] is True and entry["by"] == "alice" and entry["raw"] == "01"


def test_a_sessions_next_list_releases_only_the_forces_its_lists_made():
    merge = MergedTrace(TABLE)
    merge.force([(MANUAL, b"\x01")], "alice")
    merge.set_list(3, "ide", [(PUMP, b"\x00"), (LEVEL, b"")])
    assert set(merge.forced()) == {MANUAL, PUMP}
    merge.set_list(3, "ide", [(LEVEL, b"")])
    assert set(merge.forced()) == {MANUAL}
    merge.end(3)
    assert set(merge.forced()) == {MANUAL}


def test_lists_upstream_would_refuse_change_nothing():
    merge = MergedTrace(TABLE)
    merge.set_list(1, "alice", [(LEVEL, b"")])
    revision = merge.revision
    with pytest.raises(OrderError) as refused:
        merge.set_list(1, "alice", [(len(TABLE), b"")])
    assert refused.value.code == INVALID_FORCE
    with pytest.raises(OrderError) as refused:
        merge.set_list(1, "alice", [(PUMP, b"\x01\x00")])
    assert refused.value.code == FORCE_BUFFER_OVERFLOW
    assert merge.revision == revision and merge.sessions[1].indexes == [LEVEL]


def test_release_leaves_a_list_without_the_force():
    merge = MergedTrace(TABLE)
    merge.force([(PUMP, b"\x01"), (MANUAL, b"\x01")], "alice")
    released = merge.release([PUMP])
    assert [force.index for force in released] == [PUMP]
    orders = dict(merge.upstream_orders())
    assert orders[PUMP] == b"" and orders[MANUAL] == b"\x01"


def test_forces_kept_by_an_earlier_bridge_come_back_with_their_author_and_time():
    earlier = MergedTrace(TABLE)
    earlier.force([(PUMP, b"\x01")], "alice")
    entries = earlier.entries()
    merge = MergedTrace(TABLE)
    dropped = merge.restore(entries + [dict(entries[0], index=len(TABLE))])
    assert merge.entries() == entries and [e["index"] for e in dropped] == [len(TABLE)]
    assert dict(merge.upstream_orders())[PUMP] == b"\x01"
