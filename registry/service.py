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
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from twisted.internet import reactor, task
from twisted.logger import Logger

from plc_protocol import health_file
from plc_protocol.wamp_conventions import SERIALIZERS
from plc_protocol.wamp_transport import (TransportError, left_reporter, reconnect_options,
                                         transport_config)
from registry import database, queries
from registry.live import Registry
from registry.options import DAY
from registry.procedures import Procedures
from registry.alarm_management import kind_priorities
from registry.notifications import Notifier, read_notify_file
from registry.rules import parse_rules_file
from registry.writer import BatchWriter
from runtime_component.wampconf import ConfigError, read_secret

START_RETRY_DELAYS = (1, 2, 5, 10, 30)
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
    PostgreSQL service starting beside us) instead of exiting into a restart loop."""
    engine = database.open_engine(url)
    attempt = 0
    while True:
        try:
            database.migrate(engine)
            if rules is not None:
                with engine.begin() as connection:
                    queries.replace_file_rules(connection, rules)
            return engine
        except OperationalError as error:
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
    txaio.start_logging(level="info")
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
    writer = BatchWriter(engine, args.max_backlog)
    registry = Registry(engine, writer, args.raw_days * DAY, args.aggregate_days * DAY,
                        args.url, args.realm)
    registry.forces.max_age = args.force_age
    if priorities is not None:
        registry.kind_priority = priorities
    if notify is not None:
        registry.notifier = Notifier(notify, registry)
    registry.load()
    writer.start()
    procedures = Procedures(registry)
    component = Component(transports=[transport], realm=args.realm,
                          authentication={"wampcra": {"authid": args.authid, "secret": secret}})

    @component.on_join
    async def joined(session, details):
        await procedures.register(session)
        await registry.joined(session)
        log.info("registry joined realm {realm} at {url}; database {db}", realm=args.realm,
                 url=args.url, db=database.safe_url(url))

    report_left = left_reporter(reactor)

    @component.on_leave
    def left(session, details):
        registry.left()
        report_left(lambda: log.info("registry left the router: the registry is stopping"),
                    lambda: log.warn("registry left the router ({reason}); reconnecting",
                                     reason=details.reason))

    def stop():
        registry.stop_loops()
        writer.stop(timeout=3.0)   # within plclink up's 3.5 s before SIGKILL

    def write_health():
        health_file.write(args.health_file, health_file.registry_document(
            time.time(), registry.session is not None, writer.failing_since, writer.backlog))

    def start():
        registry.start_loops()
        if args.health_file:
            task.LoopingCall(write_health).start(health_file.WRITE_INTERVAL)
        component.start(reactor)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    reactor.run()
    log.info("registry stopped")
    return 0
