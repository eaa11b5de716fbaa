"""``plclink bridge``: eRPC runtimes on the router, looking like native runtimes.

The router link is autobahn's Component (reconnect with back-off; everything is registered
again on every join, so a router restart heals by itself). The bridge file is watched: adding,
changing or removing a runtime takes effect within a second or two, without a restart, and a
file with a mistake is reported and ignored (the running configuration stays).
"""
import argparse
import os
import sys
import time

import txaio
from autobahn.twisted.component import Component
from autobahn.twisted.wamp import Session
from autobahn.wamp.exception import ApplicationError
from twisted.internet import defer, reactor, task, threads
from twisted.logger import Logger

from erpc_bridge.options import SECRET_ENV, add_arguments
from erpc_bridge.config import BridgeConfigError, BridgedRuntime, describe, parse_file
from erpc_bridge.runtime_link import RuntimeLink
from ide_component.discovery import Browser
from ide_component.psk_store import PSKStore
from plc_protocol import health_file, metrics_endpoint, service_log
from plc_protocol.methods import METHODS
from plc_protocol.uris import URIError, parse_uri, validate_plc_id
from plc_protocol.wamp_conventions import SERIALIZERS
from plc_protocol.wamp_transport import (TransportError, left_reporter, reconnect_options,
                                         transport_config)

CONFIG_CHECK_INTERVAL = 1.0
FLUSH_TESTAMENTS = "wamp.session.flush_testaments"

log = Logger()


class Bridge:
    def __init__(self, config_path: str, psk_store: PSKStore | None = None,
                 state_dir: str | None = None):
        self.config_path = os.path.abspath(config_path)
        self.psk_store = psk_store
        self.state_dir = state_dir
        self.links = {}
        self.configured = {}        # ID -> BridgedRuntime from the file's runtimes
        self.discovered = {}        # ID -> BridgedRuntime announced and admitted by the rule
        self.rule = None            # the file's discover: rule
        self.browser = None
        self.session = None
        self._stamp = None
        self._changes = defer.DeferredLock()  # joins and reloads, one at a time

    # --- configuration --------------------------------------------------------------------------

    def _file_stamp(self):
        stat = os.stat(self.config_path)
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def read_config(self) -> tuple:
        """The bridge file, parsed: (runtimes, discover rule); raises BridgeConfigError or
        OSError with the reason."""
        stamp = self._file_stamp()
        with open(self.config_path, encoding="utf-8") as handle:
            text = handle.read()
        config = parse_file(text, os.path.dirname(self.config_path), self.config_path)
        self._stamp = stamp
        return config

    def use(self, config: tuple):
        """Carry what a (re)read file asks for: its runtimes, and what its rule admits."""
        self.configured, rule = config
        if rule != self.rule:
            self._browse(rule)
        return self._update()

    def _update(self):
        carried = {**self.discovered, **self.configured}   # the file's entries win
        return self._changes.run(lambda: defer.ensureDeferred(self.apply(carried)))

    def _browse(self, rule) -> None:
        if self.browser is not None:
            browser, self.browser = self.browser, None
            threads.deferToThread(browser.close)
        self.rule, self.discovered = rule, {}
        if rule is not None:
            self.browser = Browser(on_change=lambda name, found: reactor.callFromThread(
                self._announced, name, found))
            log.info("bridge: carrying runtimes announced on the LAN whose name matches "
                     "{ids}, allowed by {allow}", ids=", ".join(rule.ids),
                     allow=", ".join([*rule.allow_names, *map(str, rule.allow_networks)]))

    def _announced(self, name, found) -> None:
        """An announcement came, changed or went (from the browser's thread, via the
        reactor)."""
        if self.rule is None:
            return
        plc_id = name.split(".")[0]
        runtime = None
        if found is not None and self.rule.admits(found):
            try:
                runtime = BridgedRuntime(validate_plc_id(found.name), parse_uri(found.uri))
            except URIError as error:
                log.warn("bridge: announced runtime {name} not carried: {error}", name=name,
                         error=error)
        elif found is not None and plc_id not in self.discovered:
            log.info("bridge: {name} at {uri} is announced but the file's discover: does not "
                     "admit it; not carried", name=found.name, uri=found.uri)
        if runtime is None and plc_id not in self.discovered:
            return
        if runtime is None:
            del self.discovered[plc_id]
        elif self.discovered.get(plc_id) == runtime:
            return
        else:
            self.discovered[plc_id] = runtime
        self._update()

    def start(self, config: tuple) -> None:
        self.use(config).addErrback(
            lambda failure: log.failure("bridge config not applied", failure=failure))
        task.LoopingCall(self._check_config_safely).start(CONFIG_CHECK_INTERVAL, now=False)

    def _check_config_safely(self):
        """A failed reload is logged; watching the file must go on."""
        applied = self.check_config()
        if applied is not None:
            applied.addErrback(lambda failure: log.failure("bridge config reload failed",
                                                           failure=failure))
        return applied

    def check_config(self):
        try:
            if self._file_stamp() == self._stamp:
                return None
            config = self.read_config()
        except (BridgeConfigError, OSError) as error:
            stamp = self._stamp_or_none()
            if stamp != self._stamp:  # report a broken file once, not every second
                self._stamp = stamp
                log.error("bridge config not applied, keeping the running one: {error}",
                          error=error)
            return None
        return self.use(config)

    def _stamp_or_none(self):
        try:
            return self._file_stamp()
        except OSError:
            return None

    async def apply(self, runtimes: dict) -> None:
        removed = [plc_id for plc_id, link in self.links.items()
                   if runtimes.get(plc_id) != link.runtime]
        added = [plc_id for plc_id, runtime in runtimes.items()
                 if plc_id not in self.links or plc_id in removed]
        if not removed and not added:
            return
        for plc_id in removed:
            await self.links.pop(plc_id).remove()
        if removed and self.session is not None:
            await self._renew_testaments()
        for plc_id in added:
            link = self.links[plc_id] = RuntimeLink(runtimes[plc_id], self.psk_store,
                                                         self.state_dir)
            link.start()
            if self.session is not None:
                await link.attach(self.session)
        log.info("bridge config {path}: {count} runtime(s); added {added}; removed {removed}",
                 path=self.config_path, count=len(self.links),
                 added=", ".join(describe(runtimes[i]) for i in added) or "none",
                 removed=", ".join(removed) or "none")

    async def _renew_testaments(self):
        """Testaments are per session: drop them all and add back those still carried."""
        await self.session.call(FLUSH_TESTAMENTS)
        for link in self.links.values():
            if link.session is not None:
                await link.add_testament(self.session)

    # --- router session -------------------------------------------------------------------------

    async def joined(self, session, url, realm):
        async def attach_all():
            self.session = session
            for link in list(self.links.values()):
                await link.attach(session)
            # a session that leaves ends its traces on every runtime (never its forces)
            await session.subscribe(self.session_left, "wamp.session.on_leave")
        await self._changes.run(lambda: defer.ensureDeferred(attach_all()))
        carried = [link for link in self.links.values() if link.session is not None]
        log.info("bridge joined realm {realm} at {url}: {count} runtime(s) on the router "
                 "({names}), {methods} procedures each", realm=realm, url=url, count=len(carried),
                 names=", ".join(link.plc_id for link in carried) or "none",
                 methods=len(METHODS))

    def session_left(self, session_id, *args, **kwargs):
        for link in self.links.values():
            link.session_left(session_id)

    def left(self, reason, report_left):
        self.session = None
        for link in self.links.values():
            link.detach()
        report_left(lambda: log.info("bridge left the router: the bridge is stopping"),
                    lambda: log.warn("bridge left the router ({reason}); eRPC links stay up, "
                                     "reconnecting", reason=reason))

    def write_health(self, path: str) -> None:
        health_file.write(path, health_file.bridge_document(time.time(), self.session is not None, {
            plc_id: {"reachable": link.reachable, "on_router": link.session is not None,
                     "problem": link.problem}
            for plc_id, link in self.links.items()}))

    async def stop(self):
        if self.browser is not None:
            browser, self.browser = self.browser, None
            await threads.deferToThread(browser.close)
        await defer.gatherResults([defer.ensureDeferred(link.stop())
                                   for link in self.links.values()])


class _BridgeSession(Session):
    def onUserError(self, fail, msg):
        """A runtime's refusal or an unreachable runtime is the caller's answer (an error
        reply), not an event for the bridge's log: one line per refused call would drown the
        lines that matter. Anything else is still logged with its traceback."""
        if not isinstance(getattr(fail, "value", None), ApplicationError):
            super().onUserError(fail, msg)


def read_bridge_secret(path: str | None, authid: str) -> str:
    """The WAMP-CRA secret: ``--secret-file`` (``secret`` or ``authid:secret``), else the
    environment; never the command line, which other users can read."""
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read().strip()
        except OSError as error:
            raise BridgeConfigError(f"cannot read secret file {path}: {error.strerror}") from None
        if not text:
            raise BridgeConfigError(f"secret file {path} is empty")
        return text.split(":", 1)[1] if text.startswith(f"{authid}:") else text
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    raise BridgeConfigError(f"no WAMP-CRA secret for {authid!r}: give --secret-file FILE "
                            f"(mode 600) or set {SECRET_ENV}")


def run(args) -> int:
    bridge = Bridge(args.config, PSKStore(args.psk_dir) if args.psk_dir else None,
                    args.state_dir)
    try:
        secret = read_bridge_secret(args.secret_file, args.authid)
        config = bridge.read_config()
    except (BridgeConfigError, OSError) as error:
        print(f"plclink bridge: {error}", file=sys.stderr)
        return 2
    if args.max_retry_delay <= 0:
        print("plclink bridge: --max-retry-delay must be positive", file=sys.stderr)
        return 2

    try:
        transport = transport_config(
            args.url, SERIALIZERS, args.ca_file, **reconnect_options(args.max_retry_delay),
            options={"autoPingInterval": 10, "autoPingTimeout": 5})
    except TransportError as error:
        print(f"plclink bridge: {error}", file=sys.stderr)
        return 2
    txaio.use_twisted()
    service_log.start_logging()
    component = Component(
        transports=[transport],
        realm=args.realm,
        authentication={"wampcra": {"authid": args.authid, "secret": secret}},
        session_factory=_BridgeSession,
    )

    @component.on_join
    async def joined(session, details):
        await bridge.joined(session, args.url, args.realm)

    report_left = left_reporter(reactor)

    @component.on_leave
    def left(session, details):
        bridge.left(details.reason, report_left)

    def start():
        bridge.start(config)
        if args.health_file:
            task.LoopingCall(bridge.write_health, args.health_file).start(
                health_file.WRITE_INTERVAL)
        metrics_endpoint.serve(args)
        component.start(reactor)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", lambda: defer.ensureDeferred(bridge.stop()))
    reactor.run()
    log.info("bridge stopped")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="plclink bridge", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
