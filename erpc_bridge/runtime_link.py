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
every runtime answers. ExtendedCall is probed once per runtime and program (not at every
reconnect); a runtime that does not serve it gets answers from the bridge: ENOSYS, or the
variable table of its ``variables`` file. With that table the bridge is the runtime's one
debugging client (erpc_bridge/traced_set.py): it merges every router session's traces and the
force table into the runtime's single set, serves the force model's procedures and publishes
``<ID>.values``. Without it, lists pass through as they come (upstream's one set, last caller
wins) and the bridge follows the last one for ``<ID>.trace`` and GetTraceVariables.

A Beremiz runtime serves one eRPC client at a time (protocol.md §9): a direct client that
connects takes the server over, and the bridge's calls go unanswered. The bridge then says so
once, reconnects with back-off and sends its merged set again, so it is back within seconds of
the direct client leaving. The installed program's md5, which upstream cannot report, is the
one the bridge last relayed with a NewPLC, remembered in its state directory and confirmed
with MatchMD5 at every contact; unknown (None) otherwise. A plclink runtime says both itself
(ExtendedCall GetProgramMD5 and GetVariables), so it needs no ``variables`` file for merged
traces, ``<ID>.values`` and forces.
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
from erpc_bridge.state import RuntimeState
from erpc_bridge.traced_set import PassThroughTrace, TracedSet
from ide_component.erpc_connector import MAX_CHUNK_SIZE, ErpcConnector, NoAnswer, PSKRefused
from ide_component.psk_store import PSKStore, SecretFile
from ide_component.failures import OperationFailed
from ide_component.variable_trace import parse_variable_table
from plc_protocol.beremiz_variables import VariablesFileError, read_variables_csv, table_json
from plc_protocol.errors import UNREACHABLE_ERROR, PLCObjectError, PLCUnreachable
from plc_protocol.extension_calls import PROGRAM_MD5_CALL, VARIABLES_CALL, VERSIONS_CALL
from plc_protocol.log_levels import LOG_LEVEL_COUNT
from plc_protocol.methods import EINVAL, EIO, ENOSYS, METHODS
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import (EVENT_LOG, EVENT_STATUS, TESTAMENT_PROCEDURE,
                                           application_error, checked_args, procedure,
                                           result_to_wamp, topic)
from plc_protocol.wamp_registration import register_all

FIRST_CONTACT_LOGS = 10     # messages fetched per level on first contact, as the Beremiz IDE
MAX_LOGS_PER_POLL = 100     # per level: a burst beyond this is skipped, not queued forever
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 5.0
# Silence on this call means the runtime is gone (or another client took its one connection
# over); on any other, that it did not serve the call.
LINK_CHECK_METHOD = "GetPLCstatus"
LINK_CHECK_TIMEOUT = 3.0    # a Beremiz runtime answers status at once
# Calls every runtime answers at once, so their silence is the link's too: the bridge hangs up
# with one request pending, not a queue of them (a frozen Beremiz runtime that resumes and
# answers two requests on a closed connection dies of the broken pipe).
ALWAYS_ANSWERED = (LINK_CHECK_METHOD, "GetTraceVariables")
CRITICAL = 0                # log level of a Broken PLC's cause
FORCE_METHODS = ("GetForces", "Force", "Release", "Write", "RestartPLC")
RESTART_WAIT = 10.0         # s for a restarted program to report Started
# What silence or a reset on a healthy link most often means with a Beremiz runtime (§9).
TAKEOVER_HINT = ("another eRPC client may have connected to the runtime directly and taken its "
                 "one connection over (a Beremiz runtime serves one client at a time: let other "
                 "tools go through the router)")

log = Logger()


class RuntimeLink:
    def __init__(self, runtime: BridgedRuntime, psk_store: PSKStore | None = None,
                 state_dir: str | None = None):
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
        self._probed_for = _NOT_PROBED  # the md5 the probe was made for
        self.state = RuntimeState(state_dir, self.plc_id)
        self.last_status = None     # (PLCStatus, counts) last published
        self.log_counts = None      # per level: messages already published
        self.cause = None           # the last CRITICAL message: why a PLC is Broken
        self.taken_over = False     # the last loss looked like a direct client's takeover
        self._poller = task.LoopingCall(self._poll_safely)
        self.traced = self._traced_set()
        self._passing = PassThroughTrace(self) if self.traced is None else None
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

    def _traced_set(self):
        """The merged set, if the runtime's variable table is known (its ``variables`` file)."""
        if not self.runtime.variables:
            return None
        try:
            return TracedSet(self, read_variables_csv(self.runtime.variables))
        except VariablesFileError as error:
            log.error("{name}: {error}; traces pass through unmerged and forces are not "
                      "served", name=self.name, error=error)
            return None

    async def stop(self) -> None:
        self.running = False
        (self.traced or self._passing).lost()
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
                 RegisterOptions(invoke="single", details_arg="details")) for method in METHODS])
        except ApplicationError as error:
            log.error("{name}: the router refused to register {id}.* ({error}): is {id!r} among "
                      "the bridge principal's 'carries' patterns, and no other bridge or runtime "
                      "serving it?", name=self.name, error=error.error, id=self.plc_id)
            return
        await self.add_testament(session)
        self.session, self.registrations = session, registrations
        self._publish_current()
        if self.traced is not None:
            self.traced.publish_current()

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
        kwargs = {"md5": self.state.md5, "bridged": True, "uri": str(self.runtime.uri),
                  "platform": self.platform,
                  "forced": len(self.traced.merge.forces) if self.traced else 0,
                  "cause": self.cause if status == PLCStatus.BROKEN else None}
        return [status.value, list(counts)], kwargs

    def status(self):
        return self.last_status[0] if self.last_status else None

    def forces_changed(self):
        if self.reachable and self.last_status is not None:
            self._publish_status(*self.last_status)

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
        async def call(*args, details=None):
            checked = checked_args(method_name, args)
            caller = (getattr(details, "caller", None),
                      getattr(details, "caller_authid", None) or "unknown")
            try:
                result = await self.serve(method_name, checked, caller)
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

    async def serve(self, method_name, args, caller=(None, "unknown")):
        """What a router caller gets for one method of this runtime; ``caller`` is its
        (WAMP session id, authid) as the router disclosed them."""
        if method_name == "ExtendedCall":
            return await self._extended_call(*args)
        if method_name == "AppendChunkToBlob":
            return await self._serialized(self._append_in_frames, *args)
        if method_name in FORCE_METHODS:
            return await self._force_method(method_name, args, caller)
        traced = self.traced
        if method_name == "SetTraceVariablesList":
            if traced is None:
                return await self._passing.set_list(args[0])
            return await traced.set_list(caller, args[0])
        if method_name == "GetTraceVariables":
            if traced is None:
                return await self._passing.take(args[0])
            return traced.take(args[0])
        if method_name == "ReplacePLC":
            return await self._replace(*args)
        result = await self.call(method_name, *args)
        if method_name == "NewPLC" and result:
            self._new_program(args[0])
        return result

    async def _replace(self, md5sum, program_blob, extra_files):
        """ReplacePLC for an upstream runtime, which has none: its stop, install and start made
        from here, next to the runtime, so an IDE that dies meanwhile cannot leave it Stopped."""
        started = self.status() == PLCStatus.STARTED
        if started and not await self.call("StopPLC"):
            raise PLCObjectError(EIO, f"ReplacePLC: {self.plc_id} did not stop in time; nothing "
                                 "was installed")
        installed = await self.serve("NewPLC", (md5sum, program_blob, extra_files))
        if installed and started:
            await self.call("StartPLC")
        return installed

    async def _force_method(self, method_name, args, caller):
        if method_name == "RestartPLC":
            return await self._restart()
        if self.traced is None:
            raise PLCObjectError(ENOSYS, f"{method_name}: the bridge serves forces for "
                                 f"{self.plc_id} only with its variable table: give its entry "
                                 "a 'variables' file (the build's VARIABLES.csv)")
        if not self.reachable:
            raise PLCUnreachable(self.problem)
        if method_name == "GetForces":
            return self.traced.entries()
        if method_name == "Force":
            return await self.traced.force(caller, args[0])
        if method_name == "Release":
            return await self.traced.release(args[0], bool(args[1]) if len(args) > 1 else False)
        return await self.traced.write(caller, args[0])

    async def _restart(self):
        """From Stopped (or Started): start the installed program again. An upstream runtime
        cannot reload a Broken program without a transfer."""
        status = self.status()
        if status not in (PLCStatus.STOPPED, PLCStatus.STARTED):
            state = status.value if status else "not reachable"
            raise PLCObjectError(EINVAL, f"RestartPLC: {self.plc_id} is {state}; an upstream "
                                 "Beremiz runtime cannot start again without a new transfer "
                                 "(deploy the program again)")
        if status == PLCStatus.STARTED:
            await self.call("StopPLC")
        await self.call("StartPLC")
        deadline = reactor.seconds() + RESTART_WAIT
        while reactor.seconds() < deadline:
            status, _ = await self.call("GetPLCstatus")
            if status == PLCStatus.STARTED:
                return True
            if status == PLCStatus.BROKEN:
                break
            await task.deferLater(reactor, 0.1, lambda: None)
        raise PLCObjectError(EIO, f"RestartPLC: {self.plc_id} is {status.value} after "
                             "StartPLC; see its log")

    def _new_program(self, md5):
        """A NewPLC the runtime accepted: its md5 is the installed one; upstream dropped its
        debug set (and forces) with the old program."""
        self.state.keep(md5=md5)
        self._probed_for = _NOT_PROBED
        if self.extensions and not self.runtime.variables:
            defer.ensureDeferred(self._adopt_runtime_table(self.call, new_program=True))
        elif self.traced is not None:
            try:  # the file is read again: a rebuild goes with the new program
                self.traced.program_changed(read_variables_csv(self.runtime.variables))
            except VariablesFileError as error:
                log.error("{name}: {error}; keeping the variable table read before",
                          name=self.name, error=error)
                self.traced.program_changed(self.traced.merge.table)
        self._publish_current()

    async def _extended_call(self, name, argument):
        if name == VARIABLES_CALL and self.runtime.variables:
            try:
                return table_json(read_variables_csv(self.runtime.variables))
            except VariablesFileError as error:
                raise PLCObjectError(EIO, f"{self.plc_id}: {error}") from None
        if self.reachable and not self.extensions:
            raise PLCObjectError(ENOSYS, f"{self.name} does not serve ExtendedCall (a Beremiz "
                                 "runtime has no plclink extensions)"
                                 + ("; give the bridge entry a 'variables' file (the build's "
                                    "VARIABLES.csv) to trace by name"
                                    if name == VARIABLES_CALL else ""))
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
            answer = await self.connector.call(
                method_name, *args,
                timeout=LINK_CHECK_TIMEOUT if method_name in ALWAYS_ANSWERED else None)
            metrics.CALL_SECONDS.labels(self.plc_id).observe(time.monotonic() - started)
            return answer
        except PLCObjectError:
            metrics.CALL_SECONDS.labels(self.plc_id).observe(time.monotonic() - started)
            raise   # the runtime answered: a refusal, not an eRPC error
        except NoAnswer as error:
            if method_name in ALWAYS_ANSWERED:
                self._unreachable(
                    f"no answer to {method_name} within {error.timeout:g} s on an open "
                    f"connection: the runtime is frozen, or {TAKEOVER_HINT}", taken_over=True)
                raise
            metrics.ERRORS.labels(self.plc_id).inc()
            raise PLCObjectError(EIO, str(error)) from None
        except PLCUnreachable as error:
            self._lost(str(error))
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
        if self.traced is not None:
            self.traced.set_status(status)
            if self.traced.applied is None and status in (PLCStatus.STOPPED, PLCStatus.STARTED):
                await self._resync()

    async def _resync(self):
        """Put the merged set back on a runtime that lost it (reconnected, replaced by a
        direct client); a runtime that refuses it now is asked again at the next poll."""
        try:
            await self.traced.sync()
        except (PLCObjectError, PLCUnreachable) as error:
            log.warn("{name}: debug set not restored yet: {error}", name=self.name,
                     error=getattr(error, "message", str(error)))

    async def _publish_new_logs(self, counts):
        known = self.log_counts or [max(0, count - FIRST_CONTACT_LOGS) for count in counts]
        for level, count in enumerate(counts):
            if count < known[level]:  # counts were reset (ResetLogCount, runtime restarted)
                known[level] = 0
            first = max(known[level], count - MAX_LOGS_PER_POLL)
            for msg_id in range(first, count):
                message = await self.call("GetLogMessage", level, msg_id)
                if message is not None:
                    if level == CRITICAL:
                        self.cause = message[0]
                    self._publish_log(level, msg_id, message)
            known[level] = count
        self.log_counts = known

    def _lost(self, message):
        self._unreachable(f"{message}; if the runtime did not restart, {TAKEOVER_HINT}",
                          taken_over=True)

    def _unreachable(self, problem, taken_over=False):
        was_reachable = self.reachable
        self.reachable = False
        self.problem = problem
        metrics.REACHABLE.labels(self.plc_id).set(0)
        if was_reachable:
            metrics.ERRORS.labels(self.plc_id).inc()   # the link was lost
            self.lost_once = True
            log.warn("{name} is unreachable: {problem}; reconnecting", name=self.name,
                     problem=problem)
            self.taken_over = taken_over
            (self.traced or self._passing).lost()
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
        reported = self.problem  # said when the link was lost
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
        accepts TLS even when the runtime behind it is down, then closes. The md5 the bridge
        remembers is confirmed (another client may have transferred meanwhile), and the
        ExtendedCall probe, which a Beremiz runtime makes wait, is made again only for
        another program."""
        try:
            status, _ = await self.connector.call(LINK_CHECK_METHOD, timeout=LINK_CHECK_TIMEOUT)
        except NoAnswer as error:
            raise PLCUnreachable(f"connection accepted but {LINK_CHECK_METHOD} unanswered within "
                                 f"{error.timeout:g} s: the runtime is frozen, or another eRPC "
                                 "client holds its one connection") from None
        md5 = self.state.md5
        if md5 is not None and not await self.connector.call("MatchMD5", md5):
            log.warn("{name}: the installed program is no longer {md5} (transferred by "
                     "another client?); its md5 is unknown", name=self.name, md5=md5)
            self.state.keep(md5=None)
            if self.traced is not None:
                self.traced.program_changed(self.traced.merge.table)
        if self._probed_for != self.state.md5:
            try:
                versions = await self.connector.call("ExtendedCall", VERSIONS_CALL, b"")
                self.extensions, self.platform = True, versions.decode("utf-8", "replace")
            except PLCObjectError as error:  # ENOSYS: no extensions (a Beremiz runtime)
                self.extensions, self.platform = error.code != ENOSYS, None
            self._probed_for = self.state.md5
        if self.extensions:
            await self._ask_md5()
            await self._adopt_runtime_table(self.connector.call)
        self.reachable, self.problem = True, ""
        metrics.REACHABLE.labels(self.plc_id).set(1)
        if self.lost_once:
            metrics.RECONNECTS.labels(self.plc_id).inc()
        log.info("{name} connected{again}: {status} ({platform})", name=self.name,
                 again=" again (answering after its silence)" if self.taken_over else "",
                 status=status.value, platform=self.platform or "no plclink extensions")
        self.taken_over = False
        self.last_status, self.log_counts = None, None
        await self._poll()

    async def _ask_md5(self):
        """A plclink runtime says which program it holds, also one installed before the
        bridge knew it (by ``plclink up``, or by a client of its own eRPC port)."""
        try:
            answer = await self.connector.call("ExtendedCall", PROGRAM_MD5_CALL, b"")
        except PLCObjectError:
            return   # an older plclink runtime: the md5 stays what the bridge remembers
        md5 = bytes(answer).decode("ascii", "replace").strip().lower() or None
        if md5 != self.state.md5:
            self.state.keep(md5=md5)
            self._probed_for = md5
            if self.traced is not None:
                self.traced.program_changed(self.traced.merge.table)

    async def _adopt_runtime_table(self, call, new_program=False):
        """A plclink runtime carried without a ``variables`` file gives its own table: the
        bridge merges traces, samples ``<ID>.values`` and serves forces with it, as with a
        Beremiz build's VARIABLES.csv (a runtime with no program gives an empty table)."""
        if self.runtime.variables:
            return
        try:
            table = parse_variable_table(bytes(await call("ExtendedCall", VARIABLES_CALL, b"")))
        except (PLCObjectError, PLCUnreachable, OperationFailed) as error:
            log.warn("{name}: its variable table is not usable ({error}); traces pass through "
                     "unmerged and forces are not served", name=self.name, error=error)
            return
        if self.traced is None:
            self.traced, self._passing = TracedSet(self, table), None
            if self.session is not None:
                self.traced.publish_current()
        elif new_program or table != self.traced.merge.table:
            self.traced.program_changed(table)

    def session_left(self, session_id):
        """A router session left: its trace ends (its forces stay)."""
        if self.traced is not None and self.reachable:
            left = self.traced.session_left(session_id)
            if left is not None:
                defer.ensureDeferred(left).addErrback(lambda failure: log.warn(
                    "{name}: trace of a session that left not ended yet: {error}",
                    name=self.name, error=failure.getErrorMessage()))
        elif self.traced is not None:
            self.traced.merge.end(session_id)


_NOT_PROBED = object()  # the md5 of no program
