"""CSV extension functions for PLC programs (protocol doc §8), after Beremiz py_ext.

Upstream armed its idle-time flush once and never again, so only a program's first change
reached the file, and it never noticed a file edited on disk after the first load. Here every
burst of writes is flushed, and every read checks the file's (mtime_ns, size, inode) so each
external edit, in-place or by rename, is seen by the next read.

One cache entry per file serves both the index (Int) and the name (Str) functions, so a change
made through one is seen by the other. The table is kept rectangular (short rows padded with
empty cells) because csv.Sniffer cannot detect the delimiter of ragged files, and we must be
able to read back what we write.
"""
import csv
import functools
import io
import os
import stat
import tempfile
import threading
import time
from dataclasses import dataclass

FILE_NOT_FOUND = "#FILE_NOT_FOUND"
CSV_ERROR = "#CSV_ERROR"
ROW_NOT_FOUND = "#ROW_NOT_FOUND"
COL_NOT_FOUND = "#COL_NOT_FOUND"
INVALID_ROW = "#INVALID_ROW"
INVALID_COLUMN = "#INVALID_COLUMN"
OK = "OK"

# Letters and spaces are left out: the Sniffer would otherwise split single-column text on them.
_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 8192
_UTF8_BOM = b"\xef\xbb\xbf"


class _Answer(Exception):
    """Unwinds to the public method, which returns the text: programs get answers, not raises."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text


@dataclass(eq=False)
class _File:
    rows: list
    fmt: dict
    encoding: str
    mode: int
    sig: tuple
    dirty: bool = False
    version: int = 0


def _signature(st):
    """Seconds-resolution mtime misses two edits in one second; the inode catches a rename."""
    return st.st_mtime_ns, st.st_size, st.st_ino


def _answering(method):
    @functools.wraps(method)
    def wrapper(self, *args):
        with self._lock:
            try:
                return method(self, *args)
            except _Answer as answer:
                return answer.text
    return wrapper


class CSVFiles:
    """The cached CSV files of one runtime working directory.

    The PLC cycle thread calls the CSV functions while the reactor thread polls flush_due()
    and calls flush(); a single lock guards the cache and is released during disk writes.
    If a file was changed on disk while we hold unflushed writes to it, our pending writes win
    on flush, but the next read after the flush sees disk again.
    """

    def __init__(self, workdir, flush_delay=0.1, clock=time.monotonic, max_flush_delay=1.0):
        self._workdir = os.path.realpath(workdir)
        self._flush_delay = flush_delay
        self._max_flush_delay = max_flush_delay
        self._first_unflushed = None
        self._clock = clock
        self._lock = threading.Condition(threading.Lock())
        self._files = {}
        self._last_write = None
        self._flushing = False

    @_answering
    def CSVRdInt(self, fname, row, col):
        rows = self._file(fname).rows
        row, col = _indexes(rows, row, col)
        if row == len(rows):
            raise _Answer(ROW_NOT_FOUND)
        if col == _width(rows):
            raise _Answer(COL_NOT_FOUND)
        return rows[row][col]

    @_answering
    def CSVRdStr(self, fname, rowname, colname):
        _check_names(rowname, colname)
        rows = self._file(fname).rows
        row = _row_named(rows, rowname)
        if row is None:
            raise _Answer(ROW_NOT_FOUND)
        col = _col_named(rows, colname)
        if col is None:
            raise _Answer(COL_NOT_FOUND)
        return rows[row][col]

    @_answering
    def CSVWrInt(self, fname, row, col, value):
        entry = self._file(fname)
        rows = entry.rows
        row, col = _indexes(rows, row, col)
        if row == len(rows):
            rows.append([""] * _width(rows))
        if col == _width(rows):
            _add_column(rows)
        rows[row][col] = str(value)
        self._touch(entry)
        return OK

    @_answering
    def CSVWrStr(self, fname, rowname, colname, value):
        _check_names(rowname, colname)
        entry = self._file(fname)
        rows = entry.rows
        if not rows:
            rows.append([""])
        col = _col_named(rows, colname)
        if col is None:
            col = _add_column(rows)
            rows[0][col] = colname
        row = _row_named(rows, rowname)
        if row is None:
            row = len(rows)
            rows.append([rowname] + [""] * (_width(rows) - 1))
        rows[row][col] = str(value)
        self._touch(entry)
        return OK

    def CSVReload(self):
        """A file whose flush failed stays cached, so its changes survive until a later flush
        (the reactor's, which reports the error) writes them."""
        try:
            self.flush()
        except (OSError, ValueError):
            pass
        with self._lock:
            self._files = {path: entry for path, entry in self._files.items() if entry.dirty}

    def flush_due(self):
        """Waiting for a quiet period writes a burst of per-cycle writes to disk once; a
        program that writes every cycle without pause is still flushed every max_flush_delay."""
        with self._lock:
            if not any(entry.dirty for entry in self._files.values()):
                return False
            now = self._clock()
            return (now - self._last_write >= self._flush_delay
                    or now - self._first_unflushed >= self._max_flush_delay)

    def flush(self):
        """A failed file stays dirty for the next flush; the first error is raised after all
        files were tried, so one bad file does not hold back the others."""
        jobs = self._start_flush()
        written, error = [], None
        try:
            for path, entry, version, rows in jobs:
                try:
                    sig = _write_atomically(path, _serialize(rows, entry.fmt), entry.encoding,
                                            entry.mode)
                except (OSError, ValueError) as exc:
                    error = error or exc
                else:
                    written.append((entry, version, sig))
        finally:
            self._end_flush(written)
        if error is not None:
            raise error

    def _start_flush(self):
        """Concurrent flushes could record the stat of a file the other one replaced."""
        with self._lock:
            self._lock.wait_for(lambda: not self._flushing)
            self._flushing = True
            self._first_unflushed = None
            return [(path, entry, entry.version, [list(row) for row in entry.rows])
                    for path, entry in self._files.items() if entry.dirty]

    def _end_flush(self, written):
        """Recording our own file's stat keeps our write from looking like an external edit;
        a write made during the flush keeps the file dirty for the next one."""
        with self._lock:
            for entry, version, sig in written:
                entry.sig = sig
                entry.dirty = entry.version != version
            if self._first_unflushed is None and any(e.dirty for e in self._files.values()):
                self._first_unflushed = self._clock()  # a failed file is retried in time
            self._flushing = False
            self._lock.notify_all()

    def _touch(self, entry):
        entry.dirty = True
        entry.version += 1
        self._last_write = self._clock()
        if self._first_unflushed is None:
            self._first_unflushed = self._last_write

    def _file(self, fname):
        """Pending writes are served from the cache; otherwise the cache is used only while
        the file on disk is still the one it was loaded from."""
        path = self._resolve(fname)
        entry = self._files.get(path)
        if entry is not None and entry.dirty:
            return entry
        try:
            sig = _signature(os.stat(path))
        except OSError:
            self._files.pop(path, None)
            raise _Answer(FILE_NOT_FOUND) from None
        if entry is None or entry.sig != sig:
            entry = self._files[path] = _load(path)
        return entry

    def _resolve(self, fname):
        """Programs may only reach files installed in the working directory; the realpath
        check also stops symlinks leading out of it."""
        if (not isinstance(fname, str) or not fname or "\0" in fname or os.path.isabs(fname)
                or ".." in fname.replace("\\", "/").split("/")):
            raise _Answer(FILE_NOT_FOUND)
        path = os.path.realpath(os.path.join(self._workdir, fname))
        if os.path.commonpath((self._workdir, path)) != self._workdir:
            raise _Answer(FILE_NOT_FOUND)
        return path


def _load(path):
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read()
    except OSError:
        raise _Answer(FILE_NOT_FOUND) from None
    encoding = "utf-8-sig" if raw.startswith(_UTF8_BOM) else "utf-8"
    try:
        rows, fmt = _parse(raw.decode(encoding))
    except (UnicodeDecodeError, csv.Error):
        raise _Answer(CSV_ERROR) from None
    return _File(rows, fmt, encoding, stat.S_IMODE(st.st_mode), _signature(st))


def _parse(text):
    """Returns the rows (rectangular, trailing blank lines dropped) and the writer format that
    reproduces the file's delimiter, quote character, quoting and line ending."""
    try:
        fmt = _dialect_format(csv.Sniffer().sniff(_sniff_sample(text), _DELIMITERS))
        single_column = False
    except csv.Error:
        fmt, single_column = _dialect_format(csv.excel), True
    rows = list(csv.reader(io.StringIO(text, newline=""), **fmt))
    if single_column and any(len(row) > 1 for row in rows):
        raise csv.Error("could not determine the delimiter")
    while rows and not rows[-1]:
        rows.pop()
    width = _width(rows)
    for row in rows:
        row.extend([""] * (width - len(row)))
    fmt["lineterminator"] = "\r\n" if "\r\n" in text else "\n"
    fmt["quoting"] = csv.QUOTE_ALL if _all_quoted(rows, fmt, text) else csv.QUOTE_MINIMAL
    return rows, fmt


def _dialect_format(dialect):
    """doublequote is left at its default: the Sniffer reports False whenever the sample has
    no doubled quote, and the writer would then fail on a value containing a quote."""
    return {"delimiter": dialect.delimiter, "quotechar": dialect.quotechar,
            "skipinitialspace": dialect.skipinitialspace}


def _sniff_sample(text):
    """A line cut in the middle would make the Sniffer see inconsistent delimiter counts."""
    if len(text) <= _SNIFF_CHARS:
        return text
    sample = text[:_SNIFF_CHARS]
    return sample[:sample.rfind("\n") + 1] or sample


def _all_quoted(rows, fmt, text):
    if not (rows and text.startswith(fmt["quotechar"])):
        return False
    quoted = _serialize(rows, dict(fmt, quoting=csv.QUOTE_ALL))
    return quoted.rstrip("\r\n") == text.rstrip("\r\n")


def _serialize(rows, fmt):
    out = io.StringIO(newline="")
    csv.writer(out, **fmt).writerows(rows)
    return out.getvalue()


def _write_atomically(path, text, encoding, mode):
    """Readers of the file never see it half written; returns the new file's signature."""
    directory, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            os.chmod(tmp, mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
            sig = _signature(os.fstat(f.fileno()))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return sig


def _width(rows):
    return len(rows[0]) if rows else 0


def _add_column(rows):
    for row in rows:
        row.append("")
    return _width(rows) - 1


def _indexes(rows, row, col):
    """One past the end is a valid address (a write creates it, a read does not find it)."""
    return (_index(row, len(rows), INVALID_ROW),
            _index(col, _width(rows), INVALID_COLUMN))


def _index(value, end, invalid):
    if not isinstance(value, int) or not 0 <= value <= end:
        raise _Answer(invalid)
    return value


def _check_names(rowname, colname):
    if not isinstance(rowname, str) or not rowname:
        raise _Answer(INVALID_ROW)
    if not isinstance(colname, str) or not colname:
        raise _Answer(INVALID_COLUMN)


def _row_named(rows, name):
    return next((index for index in range(1, len(rows)) if rows[index][0] == name), None)


def _col_named(rows, name):
    try:
        return rows[0].index(name, 1) if rows else None
    except ValueError:
        return None
