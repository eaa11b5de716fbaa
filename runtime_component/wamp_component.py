"""The runtime on the router: ``<ID>.<Method>`` procedures and ``<ID>.<event>`` events.

Reconnection is autobahn's Component, with the suite's back-off (``reconnect_options``: back
within 10 s of the router's return; wampconf's maxDelay may only shorten it); a join counts
only once every procedure is registered (plc_protocol/wamp_registration.py); the
``Disconnected`` announcement when we vanish is the router's, through a session testament.
The PLC keeps cycling in its own thread whatever happens here.
"""
from autobahn.twisted.component import Component
from autobahn.wamp.types import PublishOptions, RegisterOptions
from twisted.internet import reactor, task
from twisted.logger import Logger

from plc_protocol.errors import PLCObjectError
from plc_protocol.methods import METHODS
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (EVENT_FORCES, EVENT_LOG, EVENT_SCAN, EVENT_STATUS,
                                           EVENT_TRACE, EVENT_VALUES, SCAN_PUBLISH_INTERVAL,
                                           SERIALIZERS, VALUES_PUBLISH_INTERVAL,
                                           TESTAMENT_PROCEDURE, application_error,
                                           checked_args, procedure, result_to_wamp, topic)
from plc_protocol.wamp_registration import register_all
from plc_protocol.wamp_transport import left_reporter, reconnect_options, transport_config
from runtime_component.forces import Caller
from runtime_component.plc_object import SESSION_METHODS, PLCObject, platform_string
from runtime_component.wampconf import WampConf

STATUS_DEBOUNCE = 0.1
TRACE_PUBLISH_INTERVAL = 0.1
SESSION_LEAVE_TOPIC = "wamp.session.on_leave"  # a tracing session gone: its trace ends
log = Logger()


def wamp_caller(details) -> Caller:
    """The caller as the router disclosed it (principals.py discloses every known caller): its
    session keys its own trace, its authid signs its forces."""
    session = getattr(details, "caller", None)
    return Caller(("wamp", session),
                  getattr(details, "caller_authid", None) or f"wamp session {session}")


def wamp_procedure(plc: PLCObject, method_name: str):
    """Network-facing wrapper: checks arguments, maps errors to WAMP error URIs."""
    function = getattr(plc, method_name)
    with_caller = method_name in SESSION_METHODS

    def call(*args, details=None):
        checked = checked_args(method_name, args)
        try:
            result = function(*checked, caller=wamp_caller(details)) if with_caller \
                else function(*checked)
            return result_to_wamp(method_name, result)
        except PLCObjectError as error:
            raise application_error(method_name, error) from None
    call.__name__ = method_name
    return call


class RuntimePublisher:
    """Publishes the PLC's events; callable from any thread, sends from the reactor."""

    def __init__(self, plc: PLCObject, extra_status=None):
        self.plc = plc
        self.session = None
        self.extra_status = extra_status or {}
        self._status_call = None
        self._traces = task.LoopingCall(self._publish_traces)
        self._values = task.LoopingCall(self._publish_values)
        self._scan = task.LoopingCall(self._publish_scan)
        self._overruns = None   # (program process, overruns) at the last <ID>.scan event

    def start(self):
        self._traces.start(TRACE_PUBLISH_INTERVAL, now=False)
        self._values.start(VALUES_PUBLISH_INTERVAL, now=False)
        self._scan.start(SCAN_PUBLISH_INTERVAL, now=False)

    def status_changed(self):
        reactor.callFromThread(self._schedule_status)

    def log_added(self, message):
        reactor.callFromThread(self._publish_log, message)

    def status_payload(self, status=None):
        plc = self.plc
        md5 = plc.installation.md5()
        kwargs = {"md5": md5, "program": plc.installation.program_name() if md5 else None,
                  "bridged": False, "platform": platform_string(),
                  "tick": plc.tick, "forced": len(plc.forces),
                  "cause": plc.cause if (status or plc.status) == PLCStatus.BROKEN else None,
                  **self.extra_status}
        return [(status or plc.status).value, plc.logs.counts()], kwargs

    def _schedule_status(self):
        if self._status_call is None or not self._status_call.active():
            self._status_call = reactor.callLater(STATUS_DEBOUNCE, self.publish_status)

    def publish_status(self):
        if self.session is None:
            return
        args, kwargs = self.status_payload()
        self.session.publish(topic(self.plc.plc_id, EVENT_STATUS), *args,
                             options=PublishOptions(retain=True), **kwargs)

    def forces_changed(self):
        """The whole force table, retained, so a late subscriber sees the forces at once; the
        status event carries the count."""
        self.publish_forces()
        self._schedule_status()

    def publish_forces(self):
        if self.session is not None:
            self.session.publish(topic(self.plc.plc_id, EVENT_FORCES), self.plc.GetForces(),
                                 options=PublishOptions(retain=True))

    def _publish_log(self, message):
        self._schedule_status()  # log counts are part of the status event
        if self.session is None:
            return
        self.session.publish(topic(self.plc.plc_id, EVENT_LOG), int(message.level), message.msg_id,
                             message.text, message.tick, message.sec, message.nsec)

    def _publish_values(self):
        sample = self.plc.values_sample()
        if sample is not None and self.session is not None:
            self.session.publish(topic(self.plc.plc_id, EVENT_VALUES), *sample)

    def scan_payload(self) -> dict | None:
        """The scan cycle's health (docs/force-model.md, "Scan health"); None unless a program
        cycles. ``overruns_added``: since the previous event of the same program process."""
        host = self.plc.host
        if host is None or self.plc.status != PLCStatus.STARTED:
            return None
        stats = host.cycle_stats()
        before = self._overruns[1] if self._overruns and self._overruns[0] is host else 0
        self._overruns = (host, stats["overruns"])
        return {"period_ms": stats["period_ms"], "lateness_ms_p99": stats["lateness_ms_p99"],
                "lateness_ms_max": stats["lateness_ms_max"], "cycles": stats["cycles_measured"],
                "overruns": stats["overruns"], "overruns_added": stats["overruns"] - before}

    def _publish_scan(self):
        payload = self.scan_payload() if self.session is not None else None
        if payload is not None:
            self.session.publish(topic(self.plc.plc_id, EVENT_SCAN),
                                 options=PublishOptions(retain=True), **payload)

    def _publish_traces(self):
        """One event per tracing session: each subscriber keeps those of its own token."""
        for token, samples in self.plc.traces.take_published():
            if self.session is not None:
                self.session.publish(topic(self.plc.plc_id, EVENT_TRACE), token,
                                     [[tick, buffer] for tick, buffer in samples])


def make_component(plc: PLCObject, conf: WampConf, secret: str, publisher: RuntimePublisher,
                   ca_file: str | None = None, health=None):
    """``health``: the RuntimeHealth told when the runtime joins and leaves."""
    component = Component(
        transports=[transport_config(
            conf.url, SERIALIZERS, ca_file, **reconnect_options(conf.max_delay),
            options={"autoPingInterval": conf.auto_ping_interval,
                     "autoPingTimeout": conf.auto_ping_timeout})],
        realm=conf.realm,
        authentication={"wampcra": {"authid": conf.ID, "secret": secret}},
    )

    @component.on_join
    async def joined(session, details):
        try:
            await register_all(session, [
                (wamp_procedure(plc, method.name), procedure(plc.plc_id, method.name),
                 RegisterOptions(invoke="single", details=True)) for method in METHODS])
            await session.subscribe(
                lambda session_id, *_, **__: plc.end_session(("wamp", session_id)),
                SESSION_LEAVE_TOPIC)
            args, kwargs = publisher.status_payload(PLCStatus.DISCONNECTED)
            await session.call(TESTAMENT_PROCEDURE, topic(plc.plc_id, EVENT_STATUS), args,
                               kwargs, {"retain": True})
        except Exception as error:
            # joined without our procedures is worse than not joined: callers would be told
            # there is no such runtime for ever. Drop the link; the component joins again.
            log.error("{id}: could not register on the router ({error}); joining again",
                      id=plc.plc_id, error=getattr(error, "error", None) or error)
            session.disconnect()
            return
        publisher.session = session
        publisher.publish_status()
        publisher.publish_forces()
        if health is not None:
            health.set_joined(True)
        log.info("joined realm {realm} at {url} as {id}: {count} procedures registered",
                 realm=conf.realm, url=conf.url, id=plc.plc_id, count=len(METHODS))

    report_left = left_reporter(reactor)

    @component.on_leave
    def left(session, details):
        publisher.session = None
        if health is not None:
            health.set_joined(False)
        report_left(lambda: log.info("left the router: the runtime is stopping"),
                    lambda: log.warn("left the router ({reason}); the PLC keeps running, "
                                     "reconnecting", reason=details.reason))

    return component
