"""The PLC object: every method of protocol.md §2 with its status machine.

Transport-free: the WAMP component and the eRPC server both call these methods in the reactor
thread and turn :class:`PLCObjectError` into their own error form. Program code never runs in
this process: the loaded program lives in a program process (program_host.py), which the
methods here command with bounded waits, and whose faults end in Broken, never in a runtime
that stops answering.
"""
import json
import os
import platform
import threading
import time

from plc_protocol import program_signature
from plc_protocol.errors import PLCObjectError
from plc_protocol.extension_calls import (CYCLE_STATS_CALL, PROGRAM_MD5_CALL, VARIABLES_CALL,
                                         VERSIONS_CALL)
from plc_protocol.iec_types import decode_force, decode_sample
from plc_protocol.iec_types import encode as raw_encode
from plc_protocol.installation_files import ELF_MAGIC
from plc_protocol.log_levels import LogLevel
from plc_protocol.methods import EINVAL, EIO, ENOENT
from plc_protocol.program_files import EXTENDED_CALL as PROGRAM_FILES_CALL, encode_program_files
from plc_protocol.wamp_conventions import ROUTER_MESSAGE_LIMIT
from plc_protocol.python_program import PROGRAM_NAME_FILE
from plc_protocol.status import PLCStatus
from plc_protocol.trace_limits import DEBUG_SUSPENDED
from runtime_component import metrics
from runtime_component.blobs import BlobStore
from runtime_component.forces import NOBODY, Caller, ForceTable, raw_value
from runtime_component.install import (LIBRARY_FILE, PROGRAM_FILE, Installation,
                                       check_extra_file_name, check_md5, program_name)
from runtime_component.log_buffer import LogBuffer
from runtime_component.options import DEFAULT_MEMORY_MB
from runtime_component.program_host import ProgramHost, program_kind
from runtime_component.tracing import TraceState

BOOT_MARKER = "loading-at-boot"
CHECK_FILE = "program-to-check"  # a transferred program while a program process checks it
PROGRAM_FILES_LIMIT = ROUTER_MESSAGE_LIMIT - 1024 * 1024   # with the call's own framing
RECOVERY = "transfer a corrected program, or call RepairPLC to remove it"
# Methods that act for the caller's session or sign with its name (transports pass ``caller``).
SESSION_METHODS = frozenset({"SetTraceVariablesList", "GetTraceVariables", "Force", "Release",
                             "Write"})
WRITE_TIMEOUT_CYCLES = 50     # a write not applied within this many periods (at least 1 s) fails


def platform_string() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        ours = version("plclink")
    except PackageNotFoundError:
        ours = "dev"
    return (f"plclink {ours} Python {platform.python_version()} "
            f"{platform.system()}-{platform.machine()}")


class PLCObject:
    def __init__(self, plc_id: str, workdir: str, period: float = 0.01, watchdog: float | None = None,
                 psk: tuple | None = None, on_status=None, on_log=None, on_forces=None,
                 memory_mb: int = DEFAULT_MEMORY_MB):
        """``on_status()`` and ``on_log(message)`` may be called from any thread;
        ``on_forces()`` after every change of the force table (in the reactor thread).
        ``memory_mb`` bounds the program process's address space (0: no bound)."""
        self.plc_id = plc_id
        self.period = period
        self.watchdog = watchdog if watchdog is not None else max(0.5, 50 * period)
        self.memory_mb = memory_mb
        self.psk = psk
        self.trusted_keys = None   # {signer: key}: only programs they signed are installed
        self.on_status = on_status or (lambda: None)
        self.logs = LogBuffer(on_message=on_log)
        self.blobs = BlobStore()
        self.traces = TraceState()
        self.forces = ForceTable()
        self.on_forces = on_forces or (lambda: None)
        self.cause = None   # the CRITICAL message that made the PLC Broken
        self._writes = []   # (serial, index, raw) one-shot writes not yet applied
        self._write_serial = 0
        self.installation = Installation(workdir)
        self.status = PLCStatus.EMPTY
        self.host = None  # the program process of the loaded program
        self._spare = None  # a program process started ahead, for the next load
        self._tick = 0
        self._lock = threading.RLock()  # reactor-side transitions; never held by program code
        self._status_lock = threading.Lock()  # status against faults reported by host threads

    # --- life cycle ---------------------------------------------------------------------------

    def boot(self, autostart: bool = False) -> None:
        """Come back as protocol.md §1 says: Stopped with a program (Started on autostart).

        Crash-loop guard: a marker file lives while the installed program loads at boot. If
        it is still there at the next boot, the runtime died loading that program (something
        the program process cannot cause, but the system can, e.g. its OOM killer); the program
        is then not loaded again and the PLC is Broken until a transfer or RepairPLC."""
        self.installation.recover()
        leftover = os.path.join(self.installation.workdir, CHECK_FILE)
        if os.path.exists(leftover):
            os.unlink(leftover)  # a check interrupted by a kill
        if self.installation.directory() is not None:
            marker = os.path.join(self.installation.workdir, BOOT_MARKER)
            if os.path.exists(marker):
                self._broken("PLC program not loaded: the runtime stopped while loading it at "
                             f"the previous start; {RECOVERY}")
            else:
                with open(marker, "w", encoding="utf-8"):
                    pass
                self._load(at_boot=True)
                self._forget_boot_marker()
            if autostart and self.status == PLCStatus.STOPPED:
                self.StartPLC()
        self.on_status()

    def shutdown(self) -> None:
        with self._lock:
            if self.status == PLCStatus.STARTED:
                self.StopPLC()
            self._unload(spare_too=True)

    def _forget_boot_marker(self) -> None:
        """After a boot that survived the load, and once the program it names is replaced."""
        marker = os.path.join(self.installation.workdir, BOOT_MARKER)
        if os.path.exists(marker):
            os.unlink(marker)

    @property
    def tick(self) -> int:
        host = self.host
        return host.tick if host is not None else self._tick

    @property
    def program(self):
        """The loaded program as the runtime sees it (its variable table), or None."""
        host = self.host
        return host if host is not None and host.table is not None else None

    def _set_status(self, status: PLCStatus, cause: str | None = None) -> None:
        """``cause``: why it is Broken (status events and ``plclink status`` show it)."""
        if status != PLCStatus.BROKEN:
            cause = None
        if status != self.status or (cause is not None and cause != self.cause):
            self.status = status
            self.cause = cause
            self.on_status()

    def _broken(self, message: str) -> None:
        self.logs.log(LogLevel.CRITICAL, message, self.tick)
        with self._status_lock:
            self._set_status(PLCStatus.BROKEN, message)

    def _host_fault(self, host, message: str) -> None:
        """From a host thread: the program process faulted and was killed."""
        if host.table is None and host is not self.host:
            return  # a spare or a checker, never given a program: replaced when next needed
        if host is not self.host:  # a program being unloaded: its cleanup went wrong
            self.logs.log(LogLevel.WARNING, message, self.tick)
            return
        self.logs.log(LogLevel.CRITICAL, message, host.tick)
        with self._status_lock:
            self._set_status(PLCStatus.BROKEN, message)

    def _host_log(self, level, text, tick, time_ns) -> None:
        self.logs.log(level, text, tick, time_ns)

    def _load(self, at_boot: bool = False, host: ProgramHost | None = None) -> None:
        """Give the installed program to a program process (``host``: the one that checked
        it); Stopped once its init hook ran, or Broken (the host logged why). Then start the
        next process ahead: an interpreter's start is most of a load's time, and the next
        transfer need not wait for it."""
        directory = self.installation.directory()
        path = self.installation.program_path()
        with open(path, "rb") as handle:
            kind = program_kind(handle.read(len(ELF_MAGIC)))
        self.traces.reset()
        self._writes = []
        self.host = host or self._take_spare()
        metrics.PROGRAM_STARTS.inc()
        if self.host.load(path, self.installation.program_name(), directory, self.period,
                          self.watchdog, kind):
            self._configure()
            with self._status_lock:
                if self.host.fault is None:
                    self._set_status(PLCStatus.STOPPED)
        elif at_boot:
            message = ("PLC program failed while loading at boot; the runtime keeps running "
                       f"without it: {RECOVERY}")
            self.logs.log(LogLevel.CRITICAL, message, self.tick)
            if self.status == PLCStatus.BROKEN and self.cause is None:
                self.cause = message
        self._spare = self._take_spare()

    def _take_spare(self) -> ProgramHost:
        """The spare program process, or a new one when there is none fit for use."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.usable:
            return spare
        if spare is not None:
            spare.unload()
        return ProgramHost(self.memory_mb, self._host_fault, self._host_log, self.traces.add)

    def _check(self, checker: ProgramHost, program: bytes, name: str, kind: str):
        """Why the program cannot be loaded, or None: compiled (a library: loaded) by
        ``checker`` from a file beside the installations (the installed program is not
        touched)."""
        path = os.path.join(self.installation.workdir, CHECK_FILE)
        try:
            with open(path, "wb") as handle:
                handle.write(program)
            problem = checker.check(path, name, kind)
            if problem is not None and kind == "beremiz":
                problem = f"{name} is not a PLC program this runtime can run: {problem}"
            return problem
        except OSError as error:
            return f"cannot write the program to check it: {error}"
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def _unload(self, spare_too: bool = False) -> None:
        host, self.host = self.host, None
        if host is not None:
            self._tick = host.tick
            host.unload()
        self.traces.reset()
        if spare_too and self._spare is not None:
            spare, self._spare = self._spare, None
            spare.unload()

    # --- blobs ----------------------------------------------------------------------------------

    def SeedBlob(self, seed):
        return self.blobs.seed(bytes(seed))

    def AppendChunkToBlob(self, data, blobID):
        return self.blobs.append(bytes(data), bytes(blobID))

    def PurgeBlobs(self):
        self.blobs.purge()

    # --- program ------------------------------------------------------------------------------

    def MatchMD5(self, MD5):
        installed = self.installation.md5()
        return installed is not None and isinstance(MD5, str) and installed == MD5.strip().lower()

    def NewPLC(self, md5sum, plcObjectBlobID, extrafiles):
        """The new program is compiled (in a program process: compiling may take much time and
        memory) before anything of the installed one is touched: one that cannot be is refused
        (False, a CRITICAL log with file and line) and the installed program stays, loaded as it
        was (Broken if there was none, as after a failed load). On a Started PLC: False, as
        upstream (protocol.md §9)."""
        return self._new_plc(md5sum, plcObjectBlobID, extrafiles, replace=False)

    def ReplacePLC(self, md5sum, plcObjectBlobID, extrafiles):
        """NewPLC that also takes a Started PLC (plclink's extension): the install is then the
        runtime's own stop, install, start, so a client that dies after sending it can never
        leave the PLC Stopped, and the stop lasts only the switch. A program refused then raises
        (EINVAL, the old one never stopped); one that does not start gives way to the previous
        program, started again (EIO)."""
        return self._new_plc(md5sum, plcObjectBlobID, extrafiles, replace=True)

    def _new_plc(self, md5sum, plcObjectBlobID, extrafiles, replace: bool):
        with self._lock:
            running = replace and self.status == PLCStatus.STARTED
            if self.status == PLCStatus.STARTED and not replace:
                # upstream's answer: False, and a log line (ReplacePLC installs on a Started PLC)
                self.logs.log(LogLevel.WARNING, "NewPLC refused: the PLC is Started; stop it "
                              "first", self.tick)
                return False
            md5sum = check_md5(md5sum)
            program = self.blobs.content(bytes(plcObjectBlobID))
            files = []
            for entry in extrafiles:
                name, blob_id = entry
                files.append((check_extra_file_name(name), (name, self.blobs.content(bytes(blob_id)))))
            if not self._trusted(program, [pair for _, pair in files]):
                return False
            kind = program_kind(program)
            program_file = LIBRARY_FILE if kind == "beremiz" else PROGRAM_FILE
            name = program_name(dict((n, data) for n, (_, data) in files).get(PROGRAM_NAME_FILE),
                                program_file)
            checker = self._take_spare()
            problem = self._check(checker, program, name, kind)
            if problem is not None:
                if checker.usable:
                    self._spare = checker
                else:
                    checker.unload()
                message = f"NewPLC refused: {problem}; the installed program was kept"
                self.logs.log(LogLevel.CRITICAL, message, self.tick)
                if running:
                    raise PLCObjectError(EINVAL, f"ReplacePLC refused while Started: {problem}")
                if self.host is None:
                    with self._status_lock:
                        self._set_status(PLCStatus.BROKEN, message)
                return False
            if running and not self.StopPLC():
                checker.unload()
                raise PLCObjectError(EIO, "ReplacePLC: the running program did not stop in time "
                                     f"(Broken); nothing was installed: {RECOVERY}")
            previous = self.installation.directory() if running else None
            self._drop_forces("a new program was installed")
            self._unload()
            try:
                self.installation.install(md5sum, program, [data for _, data in files],
                                          program_file, keep_previous=previous is not None)
            except OSError as error:
                checker.unload()
                self._broken(f"NewPLC failed writing the program: {error}")
                raise PLCObjectError(EIO, f"cannot install the program: {error}") from None
            self.blobs.purge()
            self._forget_boot_marker()
            self.logs.log(LogLevel.INFO, f"PLC program {md5sum} ({name}) installed "
                          f"with {len(files)} extra file(s)", self.tick)
            self._load(host=checker)  # it checked this program: no second compile or dlopen
            if running:
                self._run_new_or_previous(md5sum, previous)
            return self.status in ((PLCStatus.STOPPED, PLCStatus.STARTED) if running
                                   else (PLCStatus.STOPPED,))

    def _run_new_or_previous(self, md5sum: str, previous: str | None) -> None:
        """After an install on a Started PLC: start the new program; one that fails to load or
        start gives way to the previous installation, started again (EIO says so)."""
        if self.status == PLCStatus.STOPPED:
            self.StartPLC()
        if self.status == PLCStatus.STARTED or previous is None:
            self.installation.recover()
            return
        self.logs.log(LogLevel.CRITICAL, f"PLC program {md5sum} did not start (status "
                      f"{self.status.value}); the previous program is restored and started",
                      self.tick)
        self._unload()
        self.installation.restore(previous)
        self._load()
        self.StartPLC()
        raise PLCObjectError(EIO, f"NewPLC: program {md5sum} was installed but did not start "
                             "(see the runtime's log); the previous program was restored")

    def _trusted(self, program, extras) -> bool:
        """With --trusted-keys, only a program signed by one of them is installed; a refused
        one is logged (CRITICAL, naming the signers expected) and the installed one stays."""
        if self.trusted_keys is None:
            return True
        try:
            signer = program_signature.verify(program, extras, self.trusted_keys)
        except program_signature.SignatureError as error:
            self.logs.log(LogLevel.CRITICAL, f"NewPLC refused: {error}; the installed program "
                          "was kept", self.tick)
            return False
        self.logs.log(LogLevel.INFO, f"program signed by {signer}", self.tick)
        return True

    def StartPLC(self):
        """Started only once the start hook and the first cycle completed: a program whose
        first cycle raises reads Broken, never Started."""
        with self._lock:
            if self.status != PLCStatus.STOPPED:
                self.logs.log(LogLevel.WARNING, f"StartPLC ignored: the PLC is {self.status.value}, "
                              "not Stopped", self.tick)
                return
            host = self.host
            if host.start():
                with self._status_lock:
                    if host.fault is None:
                        self._set_status(PLCStatus.STARTED)
                        self.logs.log(LogLevel.INFO, "PLC started", self.tick)

    def StopPLC(self):
        with self._lock:
            if self.status != PLCStatus.STARTED:
                return self.status == PLCStatus.STOPPED
            if self.host.stop():
                with self._status_lock:
                    if self.host.fault is None:
                        self._set_status(PLCStatus.STOPPED)
                        self.logs.log(LogLevel.INFO, "PLC stopped", self.tick)
            return self.status == PLCStatus.STOPPED

    def RepairPLC(self):
        with self._lock:
            if self.status == PLCStatus.STARTED:
                self.StopPLC()
            self._drop_forces("the program was removed (RepairPLC)")
            self._unload()
            self.installation.remove()
            self._forget_boot_marker()
            self.blobs.purge()
            with self._status_lock:
                self._set_status(PLCStatus.EMPTY)
            self.logs.log(LogLevel.INFO, "PLC repaired: program removed", self.tick)

    # --- status and logs ------------------------------------------------------------------------

    def GetPLCstatus(self):
        return self.status, self.logs.counts()

    def GetLogMessage(self, level, msgID):
        try:
            message = self.logs.get(level, int(msgID))
        except ValueError:
            return None
        if message is None:
            return None
        return message.text, message.tick, message.sec, message.nsec

    def ResetLogCount(self):
        self.logs.reset()
        self.on_status()

    def GetPLCID(self):
        return self.psk if self.psk else ("", "")

    # --- traces and forcing (docs/force-model.md) -------------------------------------------------

    def SetTraceVariablesList(self, orders, caller: Caller = NOBODY):
        """Upstream's meaning, for the caller's own session: a non-empty list replaces the
        session's traced list and the forces its earlier lists made (ResetDebugVariables,
        scoped); an empty list ends its trace (-5, forces stay)."""
        orders = [(int(idx), bytes(force) if force is not None else b"") for idx, force in orders]
        if not orders:
            if self.traces.end(caller.session):
                self._configure()
            return DEBUG_SUSPENDED
        table = self._table()
        code = self.traces.check_orders(orders, table)
        if code:
            return code
        token = self.traces.trace(caller.session, [idx for idx, _ in orders], table)
        if token < 0:
            return token
        released = self.forces.release_session(caller.session)
        before = self._current_values()
        for idx, force in orders:
            if force:
                self.forces.set(idx, force, caller, before.get(idx), from_trace=True)
        self._configure()
        if released or any(force for _, force in orders):
            self.on_forces()
        return token

    def GetTraceVariables(self, debugToken, caller: Caller = NOBODY):
        host = self.host
        if host is not None:
            host.drain()
        return self.traces.take(caller.session, int(debugToken), self.status)

    def end_session(self, session) -> None:
        """A client left (eRPC connection closed, WAMP session gone): its trace ends; the
        forces it made stay (they belong to the runtime)."""
        if self.traces.end(session):
            self._configure()

    def GetForces(self):
        return self.forces.entries(self._table())

    def Force(self, orders, caller: Caller = NOBODY):
        parsed = self._orders(orders, "Force")
        before = self._current_values()
        for index, raw in parsed:
            self.forces.set(index, raw, caller, before.get(index))
        self._configure()
        self._log_forces("forced", parsed, caller)
        self.on_forces()
        return self.GetForces()

    def Release(self, indexes, restore=False, caller: Caller = NOBODY):
        if indexes is not None and (not isinstance(indexes, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in indexes)):
            raise PLCObjectError(EINVAL, "Release takes a list of variable indexes, or null "
                                 "for all")
        released = self.forces.release(indexes)
        if restore and released:
            table = self._table()
            self._queue_writes([
                (force.index, raw_encode(table.declarations[force.index].type, force.before,
                                         for_force=True))
                for force in released if force.before is not None and table is not None
                and force.index < len(table)])
        self._configure()
        if released:
            self._log_forces("restored and released" if restore else "released",
                             [(f.index, f.raw) for f in released], caller)
            self.on_forces()
        return self.GetForces()

    def Write(self, orders, caller: Caller = NOBODY):
        """Sets values once, before the next cycle; answers once the cycle applied them."""
        parsed = self._orders(orders, "Write")
        if self.status != PLCStatus.STARTED:
            raise PLCObjectError(EINVAL, f"Write: the PLC is {self.status.value}; a write is "
                                 "applied by the next cycle, so it needs a Started PLC")
        serial = self._queue_writes(parsed)
        self._configure()
        self._log_forces("wrote", parsed, caller)
        host = self.host
        deadline = time.monotonic() + max(1.0, WRITE_TIMEOUT_CYCLES * self.period)
        while host.write_done() < serial:
            if time.monotonic() > deadline or self.host is not host or host.fault is not None:
                raise PLCObjectError(EIO, "Write: the program did not run a cycle to apply it "
                                     f"(the PLC is {self.status.value})")
            time.sleep(0.002)
        self._writes = [w for w in self._writes if w[0] > serial]

    def RestartPLC(self):
        """Load the installed program again in a fresh program process (init, then Started),
        from Broken or Stopped; forces stay (same program)."""
        with self._lock:
            if self.status not in (PLCStatus.BROKEN, PLCStatus.STOPPED):
                raise PLCObjectError(EINVAL, f"RestartPLC: the PLC is {self.status.value}; "
                                     "restart works from Broken or Stopped")
            if self.installation.directory() is None:
                raise PLCObjectError(EINVAL, "RestartPLC: no program is installed; transfer one")
            self.logs.log(LogLevel.INFO, "PLC program restarting in a fresh program process",
                          self.tick)
            self._unload()
            self._load()
            if self.status == PLCStatus.STOPPED:
                self.StartPLC()
            return self.status == PLCStatus.STARTED

    def _table(self):
        program = self.program
        return program.table if program is not None else None

    def _orders(self, orders, method):
        if not isinstance(orders, list) or not orders:
            raise PLCObjectError(EINVAL, f"{method} takes a non-empty list of orders")
        if self.program is None:
            raise PLCObjectError(EINVAL, f"{method}: no program is loaded")
        return [raw_value(order, self._table()) for order in orders]

    def _queue_writes(self, parsed) -> int:
        for index, raw in parsed:
            self._write_serial += 1
            self._writes.append((self._write_serial, index, raw))
        return self._write_serial

    def _current_values(self) -> dict:
        """{index: value} from the latest values snapshot (for "before"); empty when unknown."""
        table, sample = self._table(), self.values_sample()
        if table is None or not len(table) or sample is None:
            return {}
        try:
            return dict(enumerate(decode_sample([d.type for d in table.declarations],
                                                bytes(sample[1]))))
        except ValueError:
            return {}

    def _configure(self) -> None:
        """Hand the traced union, forces and pending writes to the program process."""
        host = self.host
        if host is not None:
            done = host.write_done()
            self._writes = [w for w in self._writes if w[0] > done]
            host.configure_traces(self.traces.config(self.forces.raw_items(), self._writes))

    def _drop_forces(self, why: str) -> None:
        dropped = self.forces.entries(self._table())
        self.forces.release()
        if dropped:
            self.logs.log(LogLevel.WARNING, f"{why}: forces dropped: " + ", ".join(
                f"{entry['name'] or '#%d' % entry['index']}="
                f"{entry['value'] if entry['value'] is not None else entry['raw']}"
                f" (by {entry['by']})" for entry in dropped), self.tick)
            self.on_forces()

    def _log_forces(self, verb: str, parsed, caller: Caller) -> None:
        table = self._table()
        names = []
        for index, raw in parsed:
            declaration = table.declarations[index] if table is not None and index < len(table) \
                else None
            try:
                names.append(f"{declaration.name}={decode_force(declaration.type, raw)}")
            except (AttributeError, ValueError):
                names.append(f"#{index}=0x{raw.hex()}")
        self.logs.log(LogLevel.INFO, f"{caller.by} {verb} {', '.join(names)}", self.tick)

    # --- extensions -----------------------------------------------------------------------------

    def values_sample(self):
        """(tick, buffer) of every variable in table order, for watchers that cannot trace
        (read-only dashboards); None without a program."""
        program = self.program
        if program is None:
            return None
        return program.values()

    def variables(self) -> list:
        program = self.program
        return program.table.describe() if program is not None else []

    def ExtendedCall(self, method, argument):
        if method == VERSIONS_CALL:
            return platform_string().encode()
        if method == VARIABLES_CALL:
            return json.dumps(self.variables()).encode()
        if method == PROGRAM_MD5_CALL:
            return (self.installation.md5() or "").encode()
        if method == CYCLE_STATS_CALL:
            host = self.host  # a Broken program's last figures stay readable
            ran = host is not None and self.status in (PLCStatus.STARTED, PLCStatus.BROKEN)
            return json.dumps(host.cycle_stats() if ran else {}).encode()
        if method == PROGRAM_FILES_CALL:
            return self._program_files()
        raise PLCObjectError(EINVAL, f"unknown extended call {method!r}; known: {VERSIONS_CALL}, "
                             f"{VARIABLES_CALL}, {PROGRAM_MD5_CALL}, {CYCLE_STATS_CALL}, "
                             f"{PROGRAM_FILES_CALL}")

    def _program_files(self) -> bytes:
        """The installed program set (plc_protocol/program_files.py), for the registry's store."""
        files = self.installation.files()
        if not files:
            raise PLCObjectError(ENOENT, "no program installed")
        if sum(len(data) for _, data in files) > PROGRAM_FILES_LIMIT:
            raise PLCObjectError(EINVAL, "the installed program set is larger than one router "
                                 "message may carry")
        return encode_program_files(self.installation.md5(), files)
