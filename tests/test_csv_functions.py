import os
import threading
import time

import pytest

from runtime_component import csv_functions
from runtime_component.csv_functions import CSVFiles

TABLE = "id,temp,pressure\nr1,20,1.5\nr2,21,1.6\n"
SECOND = 1_700_000_000 * 10**9


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def csvf(tmp_path, clock):
    return CSVFiles(tmp_path, flush_delay=0.1, clock=clock)


def put(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def content(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


@pytest.fixture
def table(tmp_path):
    put(tmp_path / "t.csv", TABLE)
    return tmp_path / "t.csv"


@pytest.fixture
def loads(monkeypatch):
    """Counts file parses, to tell a cache hit from a reload."""
    calls = []
    real = csv_functions._load

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(csv_functions, "_load", counting)
    return calls


# --- reads -------------------------------------------------------------------------------

def test_rd_int_answers_the_cell_as_a_string(csvf, table):
    assert csvf.CSVRdInt("t.csv", 0, 0) == "id"
    assert csvf.CSVRdInt("t.csv", 2, 1) == "21"


@pytest.mark.parametrize("row, col, answer", [
    (3, 0, "#ROW_NOT_FOUND"),
    (0, 3, "#COL_NOT_FOUND"),
    (-1, 0, "#INVALID_ROW"),
    (4, 0, "#INVALID_ROW"),
    (0, -1, "#INVALID_COLUMN"),
    (0, 4, "#INVALID_COLUMN"),
])
def test_rd_int_errors(csvf, table, row, col, answer):
    assert csvf.CSVRdInt("t.csv", row, col) == answer


def test_rd_str_answers_the_cell_at_row_and_column_names(csvf, table):
    assert csvf.CSVRdStr("t.csv", "r2", "pressure") == "1.6"
    assert csvf.CSVRdStr("t.csv", "r1", "temp") == "20"


@pytest.mark.parametrize("rowname, colname, answer", [
    ("r9", "temp", "#ROW_NOT_FOUND"),
    ("r1", "volume", "#COL_NOT_FOUND"),
    ("id", "temp", "#ROW_NOT_FOUND"),
    ("", "temp", "#INVALID_ROW"),
    ("r1", "", "#INVALID_COLUMN"),
])
def test_rd_str_errors(csvf, table, rowname, colname, answer):
    assert csvf.CSVRdStr("t.csv", rowname, colname) == answer


def test_ragged_rows_read_as_empty_cells(csvf, tmp_path):
    put(tmp_path / "r.csv", '"a","b","c"\n1,2,3\n4,5\n')
    assert csvf.CSVRdInt("r.csv", 2, 2) == ""
    assert csvf.CSVRdInt("r.csv", 2, 3) == "#COL_NOT_FOUND"


def test_single_column_file_falls_back_to_comma(csvf, tmp_path):
    put(tmp_path / "one.csv", "alpha\nbeta gamma\n")
    assert csvf.CSVRdInt("one.csv", 1, 0) == "beta gamma"
    assert csvf.CSVWrInt("one.csv", 2, 0, "delta") == "OK"
    csvf.flush()
    assert content(tmp_path / "one.csv") == "alpha\nbeta gamma\ndelta\n"


@pytest.mark.parametrize("raw", [
    b"a,b,c\n1,2,3\nx\n",        # no consistent delimiter
    b"a,b\n\xff\xfe,1\n",         # not UTF-8
])
def test_unreadable_file_answers_csv_error(csvf, tmp_path, raw):
    (tmp_path / "bad.csv").write_bytes(raw)
    assert csvf.CSVRdInt("bad.csv", 0, 0) == "#CSV_ERROR"
    assert csvf.CSVRdStr("bad.csv", "a", "b") == "#CSV_ERROR"
    assert csvf.CSVWrInt("bad.csv", 0, 0, "v") == "#CSV_ERROR"


def test_missing_file_is_not_found_and_never_created(csvf, tmp_path):
    assert csvf.CSVRdInt("nope.csv", 0, 0) == "#FILE_NOT_FOUND"
    assert csvf.CSVRdStr("nope.csv", "r", "c") == "#FILE_NOT_FOUND"
    assert csvf.CSVWrInt("nope.csv", 0, 0, "v") == "#FILE_NOT_FOUND"
    assert csvf.CSVWrStr("nope.csv", "r", "c", "v") == "#FILE_NOT_FOUND"
    assert not csvf.flush_due()
    csvf.flush()
    assert os.listdir(tmp_path) == []


def test_deleted_file_is_not_found(csvf, table):
    assert csvf.CSVRdInt("t.csv", 0, 0) == "id"
    table.unlink()
    assert csvf.CSVRdInt("t.csv", 0, 0) == "#FILE_NOT_FOUND"


# --- writes ------------------------------------------------------------------------------

def test_wr_int_updates_and_grows_by_one(csvf, table):
    assert csvf.CSVWrInt("t.csv", 1, 1, 25) == "OK"
    assert csvf.CSVWrInt("t.csv", 3, 0, "r3") == "OK"
    assert csvf.CSVWrInt("t.csv", 0, 3, "flow") == "OK"
    assert csvf.CSVRdInt("t.csv", 1, 1) == "25"
    csvf.flush()
    assert content(table) == ("id,temp,pressure,flow\nr1,25,1.5,\nr2,21,1.6,\n"
                              "r3,,,\n")


@pytest.mark.parametrize("row, col, answer", [
    (-1, 0, "#INVALID_ROW"),
    (4, 0, "#INVALID_ROW"),
    (0, -1, "#INVALID_COLUMN"),
    (3, 4, "#INVALID_COLUMN"),
])
def test_wr_int_errors_change_nothing(csvf, table, row, col, answer):
    assert csvf.CSVWrInt("t.csv", row, col, "x") == answer
    assert csvf.CSVRdInt("t.csv", 3, 0) == "#ROW_NOT_FOUND"
    assert not csvf.flush_due()


def test_wr_str_updates_and_creates_rows_and_columns(csvf, table):
    assert csvf.CSVWrStr("t.csv", "r1", "temp", "19") == "OK"
    assert csvf.CSVWrStr("t.csv", "r3", "flow", "7") == "OK"
    assert csvf.CSVRdStr("t.csv", "r3", "flow") == "7"
    csvf.flush()
    assert content(table) == ("id,temp,pressure,flow\nr1,19,1.5,\nr2,21,1.6,\n"
                              "r3,,,7\n")


@pytest.mark.parametrize("rowname, colname, answer", [
    ("", "temp", "#INVALID_ROW"),
    ("r1", "", "#INVALID_COLUMN"),
])
def test_wr_str_errors(csvf, table, rowname, colname, answer):
    assert csvf.CSVWrStr("t.csv", rowname, colname, "x") == answer
    assert not csvf.flush_due()


def test_wr_str_into_empty_file_creates_the_header(csvf, tmp_path):
    put(tmp_path / "e.csv", "")
    assert csvf.CSVWrStr("e.csv", "r1", "c1", "v") == "OK"
    csvf.flush()
    assert content(tmp_path / "e.csv") == ",c1\nr1,v\n"
    assert CSVFiles(tmp_path).CSVRdStr("e.csv", "r1", "c1") == "v"


def test_index_and_name_functions_share_one_table(csvf, table):
    csvf.CSVWrStr("t.csv", "r2", "temp", "30")
    assert csvf.CSVRdInt("t.csv", 2, 1) == "30"
    csvf.CSVWrInt("t.csv", 0, 1, "celsius")
    assert csvf.CSVRdStr("t.csv", "r2", "celsius") == "30"


# --- dialect -----------------------------------------------------------------------------

def test_semicolon_and_full_quoting_are_detected_and_kept(csvf, tmp_path):
    put(tmp_path / "q.csv", '"name";"value"\r\n"a;b";"1"\r\n"c";"say ""hi"""\r\n')
    assert csvf.CSVRdStr("q.csv", "a;b", "value") == "1"
    assert csvf.CSVRdStr("q.csv", "c", "value") == 'say "hi"'
    csvf.CSVWrStr("q.csv", "a;b", "value", "2")
    csvf.flush()
    assert content(tmp_path / "q.csv") == \
        '"name";"value"\r\n"a;b";"2"\r\n"c";"say ""hi"""\r\n'


def test_minimal_quoting_is_kept(csvf, tmp_path):
    put(tmp_path / "m.csv", 'key;value\n"x;y";1,5\n')
    assert csvf.CSVRdInt("m.csv", 1, 0) == "x;y"
    csvf.CSVWrInt("m.csv", 1, 1, 'a "b"')
    csvf.flush()
    assert content(tmp_path / "m.csv") == 'key;value\n"x;y";"a ""b"""\n'


def test_bom_and_file_mode_are_kept(csvf, tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xef\xbb\xbfk,v\nx,1\n")
    path.chmod(0o640)
    assert csvf.CSVRdInt("b.csv", 0, 0) == "k"
    csvf.CSVWrInt("b.csv", 1, 1, "2")
    csvf.flush()
    assert path.read_bytes() == b"\xef\xbb\xbfk,v\nx,2\n"
    assert path.stat().st_mode & 0o777 == 0o640


# --- external edits ----------------------------------------------------------------------

def test_every_external_edit_is_seen(csvf, tmp_path):
    path = tmp_path / "x.csv"
    put(path, "k,v\na,1\n")
    os.utime(path, ns=(SECOND + 100, SECOND + 100))
    assert csvf.CSVRdInt("x.csv", 1, 1) == "1"

    put(path, "k,v\na,22\n")  # in place, size changes
    assert csvf.CSVRdInt("x.csv", 1, 1) == "22"

    put(path, "k,v\na,33\n")  # in place, same size, same second
    os.utime(path, ns=(SECOND + 200, SECOND + 200))
    assert csvf.CSVRdInt("x.csv", 1, 1) == "33"

    put(tmp_path / "new", "k,v\na,44\n")  # by rename, only the inode differs
    os.utime(tmp_path / "new", ns=(SECOND + 200, SECOND + 200))
    os.replace(tmp_path / "new", path)
    assert csvf.CSVRdInt("x.csv", 1, 1) == "44"


def test_unchanged_file_is_parsed_once(csvf, table, loads):
    for _ in range(3):
        csvf.CSVRdInt("t.csv", 1, 1)
        csvf.CSVRdStr("t.csv", "r1", "temp")
    assert len(loads) == 1


def test_own_flush_is_not_taken_for_an_external_edit(csvf, table, loads):
    csvf.CSVWrInt("t.csv", 1, 1, "5")
    csvf.flush()
    assert csvf.CSVRdInt("t.csv", 1, 1) == "5"
    assert len(loads) == 1


def test_pending_writes_win_then_disk_is_seen_again(csvf, table):
    csvf.CSVWrStr("t.csv", "r1", "temp", "99")
    put(table, "id,temp\nr1,0\n")
    assert csvf.CSVRdStr("t.csv", "r1", "temp") == "99"
    csvf.flush()
    assert content(table) == "id,temp,pressure\nr1,99,1.5\nr2,21,1.6\n"
    put(table, "id,temp\nr1,7\n")
    assert csvf.CSVRdStr("t.csv", "r1", "temp") == "7"


def test_write_after_external_edit_applies_to_the_new_content(csvf, table):
    assert csvf.CSVRdInt("t.csv", 0, 0) == "id"
    put(table, "id,temp\nr1,0\n")
    csvf.CSVWrStr("t.csv", "r1", "temp", "1")
    csvf.flush()
    assert content(table) == "id,temp\nr1,1\n"


# --- flushing ----------------------------------------------------------------------------

def test_every_burst_of_writes_is_flushed(csvf, table, clock):
    for burst in range(3):
        for cycle in range(5):
            csvf.CSVWrInt("t.csv", 1, 1, f"{burst}.{cycle}")
            clock.now += 0.05
            assert not csvf.flush_due()
        clock.now += 0.06
        assert csvf.flush_due()
        csvf.flush()
        assert not csvf.flush_due()
        assert content(table).splitlines()[1] == f"r1,{burst}.4,1.5"


def test_writes_every_cycle_without_pause_are_still_flushed(csvf, table, clock):
    for cycle in range(25):
        csvf.CSVWrInt("t.csv", 1, 1, str(cycle))
        clock.now += 0.05
    assert csvf.flush_due()  # 1.25 s of writes with no quiet period
    csvf.flush()
    assert content(table).splitlines()[1].startswith("r1,24")


def test_reads_do_not_make_a_flush_due(csvf, table, clock):
    csvf.CSVRdInt("t.csv", 0, 0)
    clock.now += 1
    assert not csvf.flush_due()


def test_failed_flush_keeps_changes_for_the_next_one(csvf, table, monkeypatch):
    csvf.CSVWrInt("t.csv", 1, 1, "8")
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(OSError("full")))
        with pytest.raises(OSError):
            csvf.flush()
    assert content(table) == TABLE
    assert sorted(os.listdir(table.parent)) == ["t.csv"]
    csvf.flush()
    assert content(table).splitlines()[1] == "r1,8,1.5"


def test_reload_flushes_and_forgets(csvf, table, loads):
    csvf.CSVWrInt("t.csv", 1, 1, "3")
    csvf.CSVReload()
    assert content(table).splitlines()[1] == "r1,3,1.5"
    assert not csvf.flush_due()
    assert csvf.CSVRdInt("t.csv", 1, 1) == "3"
    assert len(loads) == 2


# --- paths -------------------------------------------------------------------------------

@pytest.mark.parametrize("fname", [
    "../outside.csv", "sub/../../outside.csv", "..\\outside.csv", "", "a\0b", None,
])
def test_names_leaving_the_workdir_are_refused(tmp_path, fname):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    put(tmp_path / "outside.csv", TABLE)
    csvf = CSVFiles(work)
    assert csvf.CSVRdInt(fname, 0, 0) == "#FILE_NOT_FOUND"
    assert csvf.CSVWrInt(fname, 0, 0, "x") == "#FILE_NOT_FOUND"


def test_absolute_path_and_outward_symlink_are_refused(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    put(tmp_path / "outside.csv", TABLE)
    os.symlink(tmp_path / "outside.csv", work / "link.csv")
    csvf = CSVFiles(work)
    assert csvf.CSVRdInt(str(tmp_path / "outside.csv"), 0, 0) == "#FILE_NOT_FOUND"
    assert csvf.CSVRdInt("link.csv", 0, 0) == "#FILE_NOT_FOUND"


def test_subdirectory_files_are_reachable(tmp_path):
    (tmp_path / "sub").mkdir()
    put(tmp_path / "sub" / "t.csv", TABLE)
    csvf = CSVFiles(tmp_path)
    assert csvf.CSVRdInt("sub/t.csv", 1, 0) == "r1"
    assert csvf.CSVRdInt("./sub/t.csv", 1, 0) == "r1"


# --- threads -----------------------------------------------------------------------------

def test_writer_and_flusher_threads(tmp_path, table):
    csvf = CSVFiles(tmp_path, flush_delay=0.005)
    stop = threading.Event()
    errors, flushes = [], []
    last = {}

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            for row in (1, 2):
                assert csvf.CSVWrInt("t.csv", row, 1, str(i)) == "OK"
                assert csvf.CSVRdInt("t.csv", row, 1) == str(i)
            last["value"] = str(i)
            if i % 50 == 0:
                time.sleep(0.01)  # a quiet period, so flushes interleave with writes

    def flusher():
        while not stop.is_set():
            if csvf.flush_due():
                csvf.flush()
                flushes.append(1)
            time.sleep(0.001)

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=guarded, args=(f,)) for f in (writer, flusher)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    assert not errors
    assert len(flushes) > 1
    csvf.flush()
    lines = content(table).splitlines()
    assert lines[1:] == [f"r1,{last['value']},1.5", f"r2,{last['value']},1.6"]
