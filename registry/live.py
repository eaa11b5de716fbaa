"""The registry's live side, in the reactor: what it hears on the router becomes records for
the writer thread, rows of the live runtime table, audit results and alarms.

Each concern is a part of its own, mixed into one Registry that holds what they share (the
session, the writer, the record numbers): registry/runtime_table.py (status and sessions),
registry/installs.py, registry/logs_and_values.py, registry/alarms.py (and rules),
registry/audit.py, registry/labels.py, registry/store_fill.py; at headquarters the registrations of plant routers' links are
registry/sites.py.
"""
import json
import time

from autobahn.wamp.types import SubscribeOptions
from twisted.internet import task
from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from ide_component.fleet import Fleet
from plc_protocol import registry_names
from plc_protocol.wamp_conventions import (EVENT_FORCES, EVENT_LOG, EVENT_SCAN, EVENT_STATUS,
                                           EVENT_VALUES)
from registry import queries
from registry.alarms import Alarms
from registry.audit import Audit
from registry.forces import CHECK_INTERVAL, ForceRecords
from registry.installs import Installs
from registry.labels import Labels, load_labels
from registry.logs_and_values import LogsAndValues
from registry.rules import parse_rule
from registry.runtime_table import BEREMIZ_POLL, RuntimeTable
from registry.store_fill import StoreFill

FLUSH_INTERVAL = 1.0        # live rows to the database
ALIVE_INTERVAL = 10.0       # heartbeat: where a gap begins if the registry dies
MAINTAIN_INTERVAL = 60.0    # 1-minute aggregates and retention
log = Logger()


class Registry(RuntimeTable, Installs, LogsAndValues, Alarms, Audit, Labels, StoreFill):
    def __init__(self, engine, writer, raw_window: float, aggregate_window: float, url="",
                 realm=""):
        self.engine = engine
        self.writer = writer
        self.raw_window = raw_window
        self.aggregate_window = aggregate_window
        self.url, self.realm = url, realm
        self.started_at = time.time()
        self.session = None
        self.fleet = None
        self.numbers = {}           # next alarm and audit record numbers
        self.run_seq = None
        self.away_since = None      # when the registry last knew the fleet (gap, lost link)
        self._loops = []
        super().__init__()
        self.forces = ForceRecords(self)

    # --- database ------------------------------------------------------------------------------

    def db(self, function, *args):
        """``function(connection, *args)`` in a transaction, in a worker thread."""
        def run():
            with self.engine.begin() as connection:
                return function(connection, *args)
        return deferToThread(run)

    def load(self) -> None:
        """What the registry remembers, read once before it joins (blocking, at start)."""
        with self.engine.begin() as connection:
            for row in queries.load_runtimes(connection):
                self.runtimes[row["id"]] = row
            for row in queries.load_variables(connection):
                self.variables[(row["runtime_id"], row["name"])] = row
                self.next_var = max(self.next_var, row["var_id"] + 1)
            self.numbers = queries.next_numbers(connection)
            for row in queries.open_alarms(connection):
                self.open_alarms[(row["runtime_id"], row["kind"], row["source"])] = row
            self.rules = [parse_rule(rule["text"], rule["id"], rule["rule"])
                          for rule in queries.rules(connection)]
            self.away_since = queries.last_alive(connection)
            self.set_labels = load_labels(connection)
            self.run_seq = queries.start_run(connection, self.started_at)
        self.drop_orphans(time.time())

    def start_loops(self) -> None:
        for interval, function in ((FLUSH_INTERVAL, self.flush_rows),
                                   (ALIVE_INTERVAL, self.heartbeat),
                                   (MAINTAIN_INTERVAL, self.maintain),
                                   (BEREMIZ_POLL, self.poll_silent),
                                   (CHECK_INTERVAL, self.forces.check)):
            loop = task.LoopingCall(function)
            loop.start(interval, now=False).addErrback(
                lambda failure: log.failure("registry loop failed", failure=failure))
            self._loops.append(loop)

    def stop_loops(self) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self.flush_rows()
        self.heartbeat()

    def flush_rows(self) -> None:
        for plc_id in self.dirty:
            row = dict(self.runtimes[plc_id])
            row["log_counts"] = json.dumps(list(row["log_counts"]))
            self.writer.put("runtime", row)
        self.dirty.clear()

    def heartbeat(self) -> None:
        self.writer.put("alive", {"seq": self.run_seq, "alive_at": time.time()})

    def maintain(self) -> None:
        self.writer.put("maintain", {"now_ms": int(time.time() * 1000),
                                     "raw_window_ms": int(self.raw_window * 1000),
                                     "aggregate_window_ms": int(self.aggregate_window * 1000)})

    # --- joining the router --------------------------------------------------------------------

    async def joined(self, session) -> None:
        self.session = session
        self.fleet = Fleet(session, self.url, self.realm)
        wildcard = SubscribeOptions(match="wildcard", details=True)
        await session.subscribe(self.on_status, "." + EVENT_STATUS, options=wildcard)
        await session.subscribe(self.on_log, "." + EVENT_LOG, options=wildcard)
        await session.subscribe(self.on_values, "." + EVENT_VALUES, options=wildcard)
        await session.subscribe(self.forces.on_forces, "." + EVENT_FORCES, options=wildcard)
        await session.subscribe(self.on_scan, "." + EVENT_SCAN, options=wildcard)
        await session.subscribe(self.on_session_join, "wamp.session.on_join")
        await session.subscribe(self.on_session_leave, "wamp.session.on_leave")
        await session.subscribe(self.on_audit, registry_names.AUDIT_TOPIC,
                                options=SubscribeOptions(details=True))
        await self.registered.joined(session)
        await self.catch_up()
        self.forces.caught_up()
        await self.linked.joined(session)

    def left(self) -> None:
        self.session = None
        self.fleet = None
        self.away_since = time.time()

    # --- publishing -------------------------------------------------------------------------------

    def announce(self, topic: str, document) -> None:
        if self.session is not None and self.session.is_attached():
            self.session.publish(registry_names.name(topic), document)
