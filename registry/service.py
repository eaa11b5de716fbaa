"""``plclink registry``: the fleet's memory on the router (see registry/__init__.py, API.md).

Nothing depends on it: runtimes and the IDE work the same with the registry down. The router
link reconnects with back-off like every component; a database that cannot be reached at start
is retried (logged once a try), and one lost later is the writer's business (writer.py).
"""
import os
import sys
import time

import txaio
import yaml
from autobahn.twisted.component import Component
from autobahn.wamp.exception import ApplicationError
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from twisted.internet import reactor, task
from twisted.logger import Logger

from plc_protocol import health_file, metrics_endpoint, service_log
from plc_protocol.wamp_conventions import SERIALIZERS
from plc_protocol.wamp_transport import (TransportError, left_reporter, reconnect_options,
                                         transport_config)
from registry import database, metrics, queries
from registry.live import Registry
from registry.options import DAY
from registry.procedures import Procedures
from registry.alarm_management import kind_priorities
from registry.notifications import Notifier, read_notify_file
from registry.rules import parse_rules_file
from registry.writer import BatchWriter
from runtime_component.wampconf import ConfigError, read_secret

START_RETRY_DELAYS = (1, 2, 5, 10, 30)
DUPLICATE_WAIT = 15.0       # seconds another registry's registrations may take to go
log = Logger()


class StartError(ValueError):
    pass


def read_rules(path: str) -> tuple:
    """(rules, the alarm kinds' priorities) of the rules file."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        return parse_rules_file(document), kind_priorities(document)
    except OSError as error:
        raise StartError(f"cannot read rules file {path}: {error.strerror}") from None
    except (yaml.YAMLError, ValueError) as error:
        raise StartError(f"rules file {path}: {error}") from None


def open_database(url: str, rules):
    """Engine, migrated schema and file rules; waits for a database that is not up yet (a
    PostgreSQL service starting beside us) instead of exiting into a restart loop. A database
    nobody can use without acting (a damaged file, no rights) is a StartError saying what to
    do."""
    attempt = 0
    while True:
        try:
            engine = database.open_engine(url)
            database.migrate(engine)
            if rules is not None:
                with engine.begin() as connection:
                    queries.replace_file_rules(connection, rules)
            return engine
        except (DatabaseError, OSError) as error:
            advice = database.unusable(url, error)
            if advice is not None:
                raise StartError(advice) from None
            if not isinstance(error, OperationalError):
                raise
            delay = START_RETRY_DELAYS[min(attempt, len(START_RETRY_DELAYS) - 1)]
            print(f"plclink registry: database {database.safe_url(url)} not usable yet, "
                  f"retrying in {delay} s: {' '.join(str(error.orig).split())[:200]}",
                  file=sys.stderr, flush=True)
            time.sleep(delay)
            attempt += 1


def run(args) -> int:
    try:
        secret = read_secret(os.path.dirname(args.secret_file), args.authid, args.secret_file)
        rules, priorities = read_rules(args.rules) if args.rules else (None, None)
        notify = read_notify_file(args.notify) if args.notify else None
        transport = transport_config(
            args.url, SERIALIZERS, args.ca_file, **reconnect_options(),
            options={"autoPingInterval": 10, "autoPingTimeout": 5})
    except (StartError, ConfigError, TransportError, ValueError) as error:
        print(f"plclink registry: {error}", file=sys.stderr)
        return 2
    url = args.database or database.default_url(args.state_dir)
    txaio.use_twisted()
    try:
        engine = open_database(url, rules)
    except (ArgumentError, NoSuchModuleError) as error:
        try:
            shown = database.safe_url(url)   # never the password
        except ArgumentError:
            shown = "given"
        print(f"plclink registry: the --database URL {shown} is not usable ({error}); give "
              "sqlite:///PATH or postgresql://USER@HOST/DATABASE", file=sys.stderr)
        return 2
    except StartError as error:
        print(f"plclink registry: {error}", file=sys.stderr)
        return 2
    exit_code = []

    def fail(message: str) -> None:
        """End with exit code 2 (``plclink up`` then goes on without a registry)."""
        if not exit_code:
            print(f"plclink registry: {message}", file=sys.stderr, flush=True)
            exit_code.append(2)
            if reactor.running:
                reactor.stop()

    writer = BatchWriter(engine, args.max_backlog,
                         on_damaged=lambda advice: reactor.callFromThread(fail, advice))
    registry = Registry(engine, writer, args.raw_days * DAY, args.aggregate_days * DAY,
                        args.url, args.realm)
    registry.forces.max_age = args.force_age
    if priorities is not None:
        registry.kind_priority = priorities
    if notify is not None:
        registry.notifier = Notifier(notify, registry)
    try:
        registry.load()
    except DatabaseError as error:
        print(f"plclink registry: {database.unusable(url, error) or error}", file=sys.stderr)
        return 2
    writer.run_seq = registry.run_seq
    service_log.start_logging()
    writer.start()
    procedures = Procedures(registry)
    component = Component(transports=[transport], realm=args.realm,
                          authentication={"wampcra": {"authid": args.authid, "secret": secret}})

    @component.on_join
    async def joined(session, details):
        try:
            await procedures.register(session, DUPLICATE_WAIT)
        except ApplicationError as error:
            if error.error == ApplicationError.PROCEDURE_ALREADY_EXISTS:
                fail(f"another registry serves realm {args.realm} at {args.url} (its "
                     "procedures plclink.registry.* stay registered): stop it first, or give "
                     "this one another --realm")
            else:   # joined without its procedures helps nobody: join again
                log.error("could not register on the router ({error}); joining again",
                          error=error.error)
                session.disconnect()
            return
        await registry.joined(session)
        log.info("registry joined realm {realm} at {url}; database {db}", realm=args.realm,
                 url=args.url, db=database.safe_url(url))

    report_left = left_reporter(reactor)

    @component.on_leave
    def left(session, details):
        registry.left()
        if exit_code:
            return   # fail() said why
        report_left(lambda: log.info("registry left the router: the registry is stopping"),
                    lambda: log.warn("registry left the router ({reason}); reconnecting",
                                     reason=details.reason))

    def stop():
        registry.stop_loops()
        writer.stop(timeout=3.0)   # within plclink up's 3.5 s before SIGKILL

    health = HealthWriter(args.health_file)

    def write_health():
        health.write(health_file.registry_document(
            time.time(), registry.session is not None, writer.failing_since, writer.backlog))

    def start():
        registry.start_loops()
        if args.metrics_port:
            metrics.install(registry, writer)
            metrics_endpoint.serve(args)
        if args.health_file:
            task.LoopingCall(write_health).start(health_file.WRITE_INTERVAL)
        component.start(reactor)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    reactor.run()
    log.info("registry stopped")
    return exit_code[0] if exit_code else 0


class HealthWriter:
    """The health file, rewritten through write failures (a full disk): one log line when
    writing fails and one when it works again, never a stopped loop."""

    def __init__(self, path):
        self.path = path
        self.failing = False

    def write(self, document) -> None:
        try:
            health_file.write(self.path, document)
        except OSError as error:
            if not self.failing:
                log.error("cannot write the health file {path} ({error}); trying again every "
                          "{every:.0f} s", path=self.path, error=error.strerror or error,
                          every=health_file.WRITE_INTERVAL)
            self.failing = True
            return
        if self.failing:
            log.info("health file {path} written again", path=self.path)
            self.failing = False
