"""The router's audit journal: who did what, from where, to which runtime, and what it meant.

Written by the router worker itself (the one place that sees every login and every control
call with the person it authenticated), one JSON line per record, appended to a file per month
(``audit-YYYY-MM.jsonl``) and never rewritten. Each record carries the SHA-256 of the one before
(``prev``) and its own (``hash``, over the record without it), so a record edited, removed or
inserted later breaks the chain (``plclink audit --verify``). Whole months older than the
retention (default 400 days) are deleted; the first record kept then starts the chain check.
"""
import calendar
import glob
import hashlib
import json
import os
import time

DEFAULT_KEEP_DAYS = 400
QUERY_PROCEDURE = "plclink.audit.query"   # the router serves the journal under this name
FIELDS = ("seq", "time", "who", "role", "address", "id", "action", "what", "outcome")
GENESIS = "0" * 64


def record_hash(record: dict) -> str:
    body = {key: record.get(key) for key in (*FIELDS, "prev")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _month_files(directory) -> list:
    return sorted(glob.glob(os.path.join(directory, "audit-[0-9][0-9][0-9][0-9]-[0-9][0-9].jsonl")))


def _month_end(path) -> float:
    year, month = (int(part) for part in os.path.basename(path)[6:13].split("-"))
    return calendar.timegm((year, month, calendar.monthrange(year, month)[1], 23, 59, 59))


def read_records(directory):
    """Every kept record, oldest first (a torn last line, from a crash mid-write, is skipped)."""
    for path in _month_files(directory):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


class AuditJournal:
    def __init__(self, directory, keep_days: float = DEFAULT_KEEP_DAYS, clock=time.time):
        self.directory = os.path.abspath(directory)
        self.keep_days = keep_days
        self._clock = clock
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self._seq, self._last_hash = 0, GENESIS
        for record in read_records(self.directory):
            self._seq, self._last_hash = record.get("seq", self._seq), record.get("hash", GENESIS)
        self.prune()

    def prune(self) -> list:
        horizon = self._clock() - self.keep_days * 86400
        gone = [path for path in _month_files(self.directory) if _month_end(path) < horizon]
        for path in gone:
            os.remove(path)
        return gone

    def append(self, who, action, what, outcome="done", plc_id=None, role=None,
               address=None) -> dict:
        now = self._clock()
        self._seq += 1
        record = {"seq": self._seq, "time": round(now, 3), "who": who, "role": role,
                  "address": address, "id": plc_id, "action": action, "what": what,
                  "outcome": outcome, "prev": self._last_hash}
        record["hash"] = self._last_hash = record_hash(record)
        path = os.path.join(self.directory, time.strftime("audit-%Y-%m.jsonl", time.gmtime(now)))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        return record


def _newest_first(directory):
    """Records newest first, reading month files from the newest (a page rarely needs more
    than the current month)."""
    for path in reversed(_month_files(directory)):
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
        for line in reversed(lines):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def query(directory, plc_id=None, who=None, since=None, before_seq=None, limit=100) -> list:
    """Newest first: records matching every filter given; ``before_seq`` pages backwards."""
    found = []
    for record in _newest_first(directory):
        if since is not None and record.get("time", 0) < since:
            break   # older records only from here on
        if ((plc_id is None or record.get("id") == plc_id)
                and (who is None or record.get("who") == who)
                and (before_seq is None or record.get("seq", 0) < before_seq)):
            found.append(record)
            if len(found) >= limit:
                break
    return found


def verify(directory) -> tuple[int, str | None]:
    """(records checked, the first problem found or None)."""
    previous = None
    count = 0
    for record in read_records(directory):
        count += 1
        if record.get("hash") != record_hash(record):
            return count, f"record {record.get('seq')} was changed after it was written"
        if previous is not None and record.get("prev") != previous:
            return count, f"the chain breaks before record {record.get('seq')} " \
                          "(a record was removed or inserted)"
        previous = record.get("hash")
    return count, None
