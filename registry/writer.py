"""The registry's one writer: a thread that commits queued records in batches, so the reactor
never waits for the database and thousands of samples a second cost a few transactions.

A database that cannot take a batch (disk full, connection lost, server restarting) is logged
once per outage and retried with back-off, keeping the batch and queueing new records; past
``max_backlog`` records new value samples are dropped (counted) so memory stays bounded, while
status, logs, installs, audit and alarms are always kept. A batch the database rejects for
good (a bug, not an outage) is logged and dropped rather than retried forever; a database file
found damaged is reported once to ``on_damaged`` and nothing more is written.

Every committed batch also moves the registry run's ``alive_at`` to when its newest record
arrived, in the same transaction: if the registry dies, its gap starts at the last record
actually kept.
"""
import queue
import threading
import time

from sqlalchemy.exc import (DBAPIError, DisconnectionError, IntegrityError, InterfaceError,
                            OperationalError)
from twisted.logger import Logger

from registry import database, writes

BATCH_MAX = 20_000          # records per transaction
BATCH_WAIT = 0.25           # seconds to gather a batch
RETRY_DELAYS = (0.5, 1, 2, 5, 10)   # back-off while the database is unavailable
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError)
log = Logger()


class BatchWriter:
    def __init__(self, engine, max_backlog: int = 1_000_000, on_damaged=None):
        self.engine = engine
        self.on_damaged = on_damaged  # (advice) from the writer thread
        self.damaged = None
        self.run_seq = None           # registry_run row whose alive_at each commit moves
        self.max_backlog = max_backlog
        self._queue = queue.SimpleQueue()
        self._pending = 0            # queued or being committed
        self._lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.failing_since = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Records accepted and not committed yet."""
        return self._pending

    def put(self, kind: str, row: dict) -> None:
        """Queue one record (any thread)."""
        if kind == "value" and self.backlog >= self.max_backlog:
            with self._lock:
                self.dropped += 1
            return
        with self._lock:
            self._pending += 1
        self._queue.put((kind, row, time.time()))

    def stop(self, timeout: float = 5.0) -> None:
        """Commit what is queued (within ``timeout``), then end the thread."""
        self._stop.set()
        self._thread.join(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        while self.backlog and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.backlog

    def _take(self) -> list:
        batch = []
        try:
            batch.append(self._queue.get(timeout=BATCH_WAIT))
        except queue.Empty:
            return batch
        deadline = time.monotonic() + BATCH_WAIT
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()) and self.damaged is None:
            batch = self._take()
            if not batch:
                continue
            self._commit(batch)
            with self._lock:
                self._pending -= len(batch)

    def _commit(self, received) -> None:
        batch = [(kind, row) for kind, row, _ in received]
        if self.run_seq is not None:
            batch.append(("alive", {"seq": self.run_seq, "alive_at": received[-1][2]}))
        attempt = 0
        careful = False
        while True:
            try:
                with self.engine.begin() as connection:
                    writes.apply(connection, batch, skip_duplicate_values=careful)
            except IntegrityError:
                if careful:
                    self._refused(received, "a record conflicts with a stored one")
                    return
                careful = True   # a sample heard twice (a restart): leave duplicates out
                continue
            except TRANSIENT as error:
                self.errors += 1
                if self.failing_since is None:
                    self.failing_since = time.time()
                    log.error("database unavailable, keeping {count} records and retrying: "
                              "{error}", count=self.backlog, error=_one_line(error))
                if self._stop.is_set() and attempt >= len(RETRY_DELAYS):
                    log.error("stopping with {count} records not written", count=self.backlog)
                    return
                time.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                attempt += 1
                continue
            except DBAPIError as error:
                url = str(self.engine.url)
                advice = database.sqlite_file(url) and database.unusable(url, error)
                if advice:
                    self.damaged = advice
                    if self.on_damaged is not None:
                        self.on_damaged(advice)
                    else:
                        log.error("{advice}", advice=advice)
                    return
                self._refused(received, _one_line(error))
                return
            if self.failing_since is not None:
                log.info("database available again after {seconds:.0f} s",
                         seconds=time.time() - self.failing_since)
                self.failing_since = None
            self.written += len(received)
            return

    def _refused(self, batch, reason) -> None:
        self.errors += 1
        self.dropped += len(batch)
        log.error("database refused a batch of {count} records, dropped: {reason}",
                  count=len(batch), reason=reason)


def _one_line(error) -> str:
    return " ".join(str(getattr(error, "orig", error)).split())[:300]
