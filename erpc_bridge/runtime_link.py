"""One bridged eRPC runtime: the eRPC link to it and its names on the router.

On the router it looks like a native runtime (architecture.md "Naming"): procedures
``<ID>.<Method>``, a retained ``<ID>.status`` event, ``<ID>.log`` events, a testament that
announces Disconnected if the bridge vanishes. eRPC has no events, so the link polls
GetPLCstatus and fetches new log messages when the counts grow, as the Beremiz IDE does.

Calls reach the runtime one at a time and in order (polls included): an eRPC runtime, like the
reference one, handles one request after the other, and per-runtime ordering is what a transfer
relies on. Different runtimes are independent links, so they proceed at once.

The runtime may be Beremiz's (protocol.md §9): contact rests on its 14 methods alone. A call it
leaves unanswered is an error for that caller, not a lost runtime, except GetPLCstatus, which
every runtime answers. ExtendedCall is probed once per connection; a runtime that does not
serve it gets answers from the bridge: ENOSYS, or the variable table of its ``variables`` file.
While a traced set is in place, the bridge polls it and publishes ``<ID>.trace`` as a native
runtime does, and answers GetTraceVariables for that token from what it polled.
An AppendChunkToBlob larger than one eRPC frame is sent as several (the running md5 does not
depend on chunk boundaries), so IDEs transfer through the bridge with any chunk size.
"""
import time

from autobahn.wamp.exception import ApplicationError, TransportLost
from autobahn.wamp.types import PublishOptions, RegisterOptions
from twisted.internet import defer, reactor, task
from twisted.logger import Logger
from twisted.python.failure import Failure

from erpc_bridge import metrics
from erpc_bridge.config import BridgedRuntime, describe
from ide_component.erpc_connector import MAX_CHUNK_SIZE, ErpcConnector, NoAnswer, PSKRefused
from ide_component.psk_store import PSKStore, SecretFile
from plc_protocol.beremiz_variables import VariablesFileError, read_variables_csv, table_json
from plc_protocol.errors import UNREACHABLE_ERROR, PLCObjectError, PLCUnreachable
from plc_protocol.log_levels import LOG_LEVEL_COUNT
from plc_protocol.methods import EIO, ENOSYS, METHODS
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (EVENT_LOG, EVENT_STATUS, EVENT_TRACE,
                                           TESTAMENT_PROCEDURE,
                                           application_error, checked_args, procedure,
                                           result_to_wamp, topic)
from plc_protocol.wamp_registration import register_all

FIRST_CONTACT_LOGS = 10     # messages fetched per level on first contact, as the Beremiz IDE
MAX_LOGS_PER_POLL = 100     # per level: a burst beyond this is skipped, not queued forever
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 5.0
TRACE_POLL_INTERVAL = 0.1   # as often as a native runtime publishes its trace
MAX_BUFFERED_SAMPLES = 1000  # for GetTraceVariables callers; older samples are dropped
# Silence on this call means the runtime is gone; on any other, that it did not serve the call.
LINK_CHECK_METHOD = "GetPLCstatus"

log = Logger()


class RuntimeLink:
    def __init__(self, runtime: BridgedRuntime, psk_store: PSKStore | None = None):
        self.runtime = runtime
        self.plc_id = runtime.plc_id
        store = SecretFile(runtime.psk_file) if runtime.psk_file else psk_store
        self.connector = ErpcConnector(runtime.uri, psk_store=store)
        self.connector.when_lost(self._lost)
        self.session = None
        self.registrations = []
        self.lock = defer.DeferredLock()  # one call at a time on this runtime
        self.running = False
        self.reachable = False
        self.lost_once = False   # connected before: the next connection is a reconnect
        metrics.track(self.plc_id)
        self.problem = "not connected yet"
        self.platform = None
        self.extensions = False     # whether the runtime serves ExtendedCall (probed)
        self.last_status = None     # (PLCStatus, counts) last published
        self.log_counts = None      # per level: messages already published
        self._poller = task.LoopingCall(self._poll_safely)
        self._trace_token = None    # the traced set the bridge follows, if any
        self._trace_status = PLCStatus.STOPPED
        self._trace_samples = []
        self._trace_poller = task.LoopingCall(self._poll_trace)
        self._connecting = None
        self._sleep = None

    @property
    def name(self) -> str:
        return describe(self.runtime)

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        self._poller.start(self.runtime.poll_interval, now=False)
        self._reconnect()

    async def stop(self) -> None:
        self.running = False
        self._follow_trace(None)
        if self._poller.running:
            self._poller.stop()
        if self._sleep is not None and not self._sleep.called:
            self._sleep.cancel()
        await self.connector.close()

    async def remove(self) -> None:
        """Taken out of the configuration: its names leave the router, watchers see it go."""
        await self.stop()
        session, registrations = self.session, self.registrations
        self.session, self.registrations = None, []
        for registration in registrations:
            try:
                await registration.unregister()
            except Exception:  # the session may be gone already: nothing left to undo
                pass
        if session is not None:
            self._publish_status_on(session, PLCStatus.DISCONNECTED)
        metrics.forget(self.plc_id)
        log.info("{name}: removed from the bridge; its procedures are unregistered", name=self.name)

    # --- the router side ------------------------------------------------------------------------

    async def attach(self, session) -> None:
        """Register every method and the testament on a newly joined session."""
        self.session = None
        self.registrations = []
        try:
            registrations = await register_all(session, [
                (self._procedure(method.name), procedure(self.plc_id, method.name),
                 RegisterOptions(invoke="single")) for method in METHODS])
        except ApplicationError as error:
            log.error("{name}: the router refused to register {id}.* ({error}): is {id!r} among "
                      "the bridge principal's 'carries' patterns, and no other bridge or runtime "
                      "serving it?", name=self.name, error=error.error, id=self.plc_id)
            return
        await self.add_testament(session)
        self.session, self.registrations = session, registrations
        self._publish_current()

    async def add_testament(self, session) -> None:
        args, kwargs = self.status_payload(PLCStatus.DISCONNECTED)
        await session.call(TESTAMENT_PROCEDURE, topic(self.plc_id, EVENT_STATUS), args, kwargs,
                           {"retain": True})

    def detach(self) -> None:
        self.session, self.registrations = None, []

    def status_payload(self, status: PLCStatus, counts=None):
        """The native runtime's status event, marked as bridged and saying from where."""
        counts = counts if counts is not None else (
            self.last_status[1] if self.last_status else [0] * LOG_LEVEL_COUNT)
        kwargs = {"md5": None, "bridged": True, "uri": str(self.runtime.uri),
                  "platform": self.platform}
        return [status.value, list(counts)], kwargs

    def _publish_current(self):
        if not self.reachable or self.last_status is None:
            self._publish_status(PLCStatus.DISCONNECTED)
        else:
            self._publish_status(*self.last_status)

    def _publish_status(self, status, counts=None):
        if self.session is not None:
            self._publish_status_on(self.session, status, counts)

    def _publish_status_on(self, session, status, counts=None):
        args, kwargs = self.status_payload(status, counts)
        try:
            session.publish(topic(self.plc_id, EVENT_STATUS), *args,
                            options=PublishOptions(retain=True), **kwargs)
        except TransportLost:
            pass  # the testament speaks for us; on_join publishes again

    def _publish_log(self, level, msg_id, message):
        text, tick, sec, nsec = message
        if self.session is not None:
            try:
                self.session.publish(topic(self.plc_id, EVENT_LOG), level, msg_id, text, tick,
                                     sec, nsec)
            except TransportLost:
                pass

    def _procedure(self, method_name):
        async def call(*args):
            checked = checked_args(method_name, args)
            try:
                result = await self.serve(method_name, checked)
            except PLCObjectError as error:
                raise application_error(method_name, error) from None
            except PLCUnreachable:
                raise self.unreachable_error() from None
            return result_to_wamp(method_name, result)
        call.__name__ = method_name
        return call

    def unreachable_error(self) -> ApplicationError:
        return ApplicationError(UNREACHABLE_ERROR,
                                f"{self.name} is unreachable: {self.problem}")

    async def serve(self, method_name, args):
        """What a router caller gets for one method of this runtime."""
        if method_name == "ExtendedCall":
            return await self._extended_call(*args)
        if method_name == "AppendChunkToBlob":
            return await self._serialized(self._append_in_frames, *args)
        if (method_name == "GetTraceVariables" and self._trace_token is not None
                and args[0] == self._trace_token):
            samples, self._trace_samples = self._trace_samples, []
            return self._trace_status, samples
        result = await self.call(method_name, *args)
        if method_name == "SetTraceVariablesList":
            self._follow_trace(result if result > 0 and args[0] else None)
        return result

    # --- traces ---------------------------------------------------------------------------------

    def _follow_trace(self, token):
        self._trace_token, self._trace_samples = token, []
        if token is None and self._trace_poller.running:
            self._trace_poller.stop()
        elif token is not None and not self._trace_poller.running:
            self._trace_poller.start(TRACE_POLL_INTERVAL, now=False).addErrback(
                lambda failure: log.failure("{name}: trace poll failed", failure=failure,
                                            name=self.name))

    async def _poll_trace(self):
        token = self._trace_token
        if token is None or not self.reachable:
            return
        try:
            status, samples = await self.call("GetTraceVariables", token)
        except (PLCUnreachable, PLCObjectError):
            return
        if token != self._trace_token:
            return
        if status == PLCStatus.BROKEN and not samples:  # the set was replaced or the PLC broke
            self._follow_trace(None)
            return
        self._trace_status = status
        if samples:
            self._trace_samples = (self._trace_samples + samples)[-MAX_BUFFERED_SAMPLES:]
            if self.session is not None:
                try:
                    self.session.publish(topic(self.plc_id, EVENT_TRACE), token,
                                         [[tick, bytes(buffer)] for tick, buffer in samples])
                except TransportLost:
                    pass

    async def _extended_call(self, name, argument):
        if name == "GetVariables" and self.runtime.variables:
            try:
                return table_json(read_variables_csv(self.runtime.variables))
            except VariablesFileError as error:
                raise PLCObjectError(EIO, f"{self.plc_id}: {error}") from None
        if self.reachable and not self.extensions:
            raise PLCObjectError(ENOSYS, f"{self.name} does not serve ExtendedCall (a Beremiz "
                                 "runtime has no plclink extensions)"
                                 + ("; give the bridge entry a 'variables' file (the build's "
                                    "VARIABLES.csv) to trace by name"
                                    if name == "GetVariables" else ""))
        return await self.call("ExtendedCall", name, argument)

    async def _append_in_frames(self, data, blob_id):
        """One AppendChunkToBlob of any size, as consecutive calls none of which another call
        can come between (a pipelining IDE's next chunk names the blob id of the last piece)."""
        for start in range(0, max(len(data), 1), MAX_CHUNK_SIZE):
            blob_id = await self._erpc_call("AppendChunkToBlob",
                                            data[start:start + MAX_CHUNK_SIZE], blob_id)
        return blob_id

    # --- the eRPC side --------------------------------------------------------------------------

    async def call(self, method_name, *args):
        """One call, after the ones before it on this runtime."""
        return await self._serialized(self._erpc_call, method_name, *args)

    async def _serialized(self, function, *args):
        if not self.reachable:
            raise PLCUnreachable(self.problem)
        await self.lock.acquire()
        try:
            if not self.reachable:
                raise PLCUnreachable(self.problem)
            return await function(*args)
        finally:
            self.lock.release()

    async def _erpc_call(self, method_name, *args):
        started = time.monotonic()
        try:
            answer = await self.connector.call(method_name, *args)
            metrics.CALL_SECONDS.labels(self.plc_id).observe(time.monotonic() - started)
            return answer
        except PLCObjectError:
            metrics.CALL_SECONDS.labels(self.plc_id).observe(time.monotonic() - started)
            raise   # the runtime answered: a refusal, not an eRPC error
        except NoAnswer as error:
            if method_name == LINK_CHECK_METHOD:
                self._unreachable(str(error))
                raise
            metrics.ERRORS.labels(self.plc_id).inc()
            raise PLCObjectError(EIO, str(error)) from None
        except PLCUnreachable as error:
            self._unreachable(str(error))
            raise

    def _poll_safely(self):
        """A bug in one poll is logged; it must not end the polling of this runtime."""
        polled = defer.ensureDeferred(self._poll())
        polled.addErrback(lambda failure: log.failure("{name}: poll failed", failure=failure,
                                                      name=self.name))
        return polled

    async def _poll(self):
        if not self.reachable:
            return
        try:
            status, counts = await self.call("GetPLCstatus")
            await self._publish_new_logs(counts)
        except PLCUnreachable:
            return  # already reported by call()
        except PLCObjectError as error:
            log.warn("{name}: status poll failed: {error}", name=self.name, error=error.message)
            return
        if (status, counts) != self.last_status:
            self.last_status = (status, counts)
            self._publish_status(status, counts)

    async def _publish_new_logs(self, counts):
        known = self.log_counts or [max(0, count - FIRST_CONTACT_LOGS) for count in counts]
        for level, count in enumerate(counts):
            if count < known[level]:  # counts were reset (ResetLogCount, runtime restarted)
                known[level] = 0
            first = max(known[level], count - MAX_LOGS_PER_POLL)
            for msg_id in range(first, count):
                message = await self.call("GetLogMessage", level, msg_id)
                if message is not None:
                    self._publish_log(level, msg_id, message)
            known[level] = count
        self.log_counts = known

    def _lost(self, message):
        self._unreachable(message)

    def _unreachable(self, problem):
        was_reachable = self.reachable
        self.reachable = False
        self.problem = problem
        metrics.REACHABLE.labels(self.plc_id).set(0)
        if was_reachable:
            metrics.ERRORS.labels(self.plc_id).inc()   # the link was lost
            self.lost_once = True
            log.warn("{name} is unreachable: {problem}; reconnecting", name=self.name,
                     problem=problem)
            self._publish_status(PLCStatus.DISCONNECTED)
            self._reconnect()

    def _reconnect(self):
        if self.running and self._connecting is None:
            self._connecting = defer.ensureDeferred(self._connect_until_reachable())

            def done(result):
                self._connecting = None
                if isinstance(result, Failure) and \
                        not result.check(defer.CancelledError):
                    log.failure("{name}: reconnect loop failed", failure=result, name=self.name)
            self._connecting.addBoth(done)

    async def _connect_until_reachable(self):
        delay = INITIAL_RETRY_DELAY
        reported = None
        while self.running:
            try:
                await self.connector.close()  # a runtime that stopped answering may be connected
                await self.connector.connect()
                await self._first_contact()
                return
            except PLCUnreachable as error:
                self.problem = str(error)
                if self.problem != reported:  # one line per new reason, not one per attempt
                    reported = self.problem
                    log.warn("{name}: {problem}; retrying (every {delay} s at most)",
                             name=self.name, problem=self.problem, delay=f"{MAX_RETRY_DELAY:g}")
                if isinstance(error, PSKRefused):
                    delay = MAX_RETRY_DELAY  # a pairing problem: a person must act
            self._sleep = task.deferLater(reactor, delay, lambda: None)
            try:
                await self._sleep
            except defer.CancelledError:
                return
            delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _first_contact(self):
        """Reachable means answering GetPLCstatus, not just accepting a connection: stunnel
        accepts TLS even when the runtime behind it is down, then closes."""
        status, _ = await self.connector.call(LINK_CHECK_METHOD)
        try:
            versions = await self.connector.call("ExtendedCall", "GetVersions", b"")
            self.extensions, self.platform = True, versions.decode("utf-8", "replace")
        except PLCObjectError as error:  # ENOSYS: no extensions (a Beremiz runtime)
            self.extensions, self.platform = error.code != ENOSYS, None
        self.reachable, self.problem = True, ""
        metrics.REACHABLE.labels(self.plc_id).set(1)
        if self.lost_once:
            metrics.RECONNECTS.labels(self.plc_id).inc()
        log.info("{name} connected: {status} ({platform})", name=self.name, status=status.value,
                 platform=self.platform or "no plclink extensions")
        self.last_status, self.log_counts = None, None
        await self._poll()
