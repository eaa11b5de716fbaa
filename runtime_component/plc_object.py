"""The PLC object: every method of protocol.md §2 with its status machine.

Transport-free: the WAMP component and the eRPC server both call these methods in the reactor
thread and turn :class:`PLCObjectError` into their own error form. Program code runs only in
the cycle thread or under a deadline in a helper thread (see watchdog.py), so no method here
can be blocked for long by a program.
"""
import json
import platform
import threading

from plc_protocol.errors import PLCObjectError
from plc_protocol.iec_types import encode
from plc_protocol.log_levels import LogLevel
from plc_protocol.methods import EBUSY, EINVAL, EIO
from plc_protocol.status import PLCStatus
from runtime_component.blobs import BlobStore
from runtime_component.csv_functions import CSVFiles
from runtime_component.install import Installation, check_extra_file_name, check_md5
from runtime_component.log_buffer import LogBuffer
from runtime_component.program import ProgramContext, ProgramError, load_program
from runtime_component.scan_cycle import ScanCycle
from runtime_component.tracing import TraceState
from runtime_component.watchdog import run_with_deadline

HOOK_TIMEOUT = 5.0


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
                 psk: tuple | None = None, on_status=None, on_log=None):
        """``on_status()`` and ``on_log(message)`` may be called from any thread."""
        self.plc_id = plc_id
        self.period = period
        self.watchdog = watchdog if watchdog is not None else max(0.5, 50 * period)
        self.psk = psk
        self.on_status = on_status or (lambda: None)
        self.logs = LogBuffer(on_message=on_log)
        self.blobs = BlobStore()
        self.traces = TraceState()
        self.installation = Installation(workdir)
        self.status = PLCStatus.EMPTY
        self.program = None
        self.context = None
        self.csv = None
        self.cycle = None
        self._tick = 0
        self._lock = threading.RLock()  # reactor-side transitions; never held by program code

    # --- life cycle ---------------------------------------------------------------------------

    def boot(self, autostart: bool = False) -> None:
        """Come back as protocol.md §1 says: Stopped with a program (Started on autostart)."""
        self.installation.recover()
        if self.installation.directory() is not None:
            self._load()
            if autostart and self.status == PLCStatus.STOPPED:
                self.StartPLC()
        self.on_status()

    def shutdown(self) -> None:
        with self._lock:
            if self.status == PLCStatus.STARTED:
                self.StopPLC()
            self._unload()

    @property
    def tick(self) -> int:
        return self.cycle.tick if self.cycle is not None else self._tick

    def _set_status(self, status: PLCStatus) -> None:
        if status != self.status:
            self.status = status
            self.on_status()

    def _broken(self, message: str) -> None:
        self.logs.log(LogLevel.CRITICAL, message, self.tick)
        self._set_status(PLCStatus.BROKEN)

    def _load(self) -> None:
        """Load the installed program and run its init hook; Stopped, or Broken on failure."""
        path = self.installation.program_path()
        try:
            program = run_with_deadline(lambda: load_program(path), HOOK_TIMEOUT, "loading program.py")
            csv = CSVFiles(self.installation.directory())
            context = ProgramContext(program, self.logs.log, csv, self.period)
            self.program, self.context, self.csv = program, context, csv
            self.traces.reset()
            self._run_hook("init")
        except (ProgramError, TimeoutError) as error:
            self._broken(f"PLC program load failed: {error}")
            return
        except Exception as error:
            self._broken(f"PLC program init failed: {type(error).__name__}: {error}")
            return
        self._set_status(PLCStatus.STOPPED)

    def _run_hook(self, name: str) -> None:
        hook = self.program.hooks.get(name) if self.program else None
        if hook is not None:
            run_with_deadline(lambda: hook(self.context), HOOK_TIMEOUT, f"program {name}()")

    def _unload(self) -> None:
        if self.program is not None:
            try:
                self._run_hook("cleanup")
            except Exception as error:
                self.logs.log(LogLevel.WARNING, f"program cleanup() failed: {error}", self.tick)
            if self.csv is not None:
                self.csv.CSVReload()
        self.program = self.context = self.csv = None
        self.traces.reset()

    def _cycle_body(self, tick: int) -> None:
        context, values = self.context, self.program.table.values
        context.tick = tick
        self.traces.apply_forces(values)
        self.program.cycle(context)
        self.traces.apply_forces(values)
        self.traces.sample(tick, values)

    def _cycle_fault(self, message: str) -> None:
        self._broken(f"PLC program stopped: {message}")

    def housekeeping(self) -> None:
        """Periodic work outside the cycle: flush CSV writes once a burst of them has ended."""
        csv = self.csv
        if csv is not None and csv.flush_due():
            try:
                csv.flush()
            except OSError as error:
                self.logs.log(LogLevel.WARNING, f"CSV flush failed: {error}", self.tick)

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
        with self._lock:
            if self.status == PLCStatus.STARTED:
                raise PLCObjectError(EBUSY, "NewPLC refused: the PLC is Started; stop it first")
            md5sum = check_md5(md5sum)
            program = self.blobs.content(bytes(plcObjectBlobID))
            files = []
            for entry in extrafiles:
                name, blob_id = entry
                files.append((check_extra_file_name(name), (name, self.blobs.content(bytes(blob_id)))))
            self._unload()
            try:
                self.installation.install(md5sum, program, [data for _, data in files])
            except OSError as error:
                self._broken(f"NewPLC failed writing the program: {error}")
                raise PLCObjectError(EIO, f"cannot install the program: {error}") from None
            self.blobs.purge()
            self.logs.log(LogLevel.INFO, f"PLC program {md5sum} installed "
                          f"with {len(files)} extra file(s)", self.tick)
            self._load()
            return self.status == PLCStatus.STOPPED

    def StartPLC(self):
        with self._lock:
            if self.status != PLCStatus.STOPPED:
                self.logs.log(LogLevel.WARNING, f"StartPLC ignored: the PLC is {self.status.value}, "
                              "not Stopped", self.tick)
                return
            hooks = self.program.hooks
            start_hook, stop_hook = hooks.get("start"), hooks.get("stop")
            self.cycle = ScanCycle(
                self.period, self._cycle_body, self._cycle_fault, self.watchdog,
                before=(lambda: start_hook(self.context)) if start_hook else None,
                after=(lambda: stop_hook(self.context)) if stop_hook else None)
            self.cycle.start(self._tick)
            self._set_status(PLCStatus.STARTED)
            self.logs.log(LogLevel.INFO, "PLC started", self.tick)

    def StopPLC(self):
        with self._lock:
            if self.cycle is None:
                return self.status == PLCStatus.STOPPED
            cycle, self.cycle = self.cycle, None
            stopped = cycle.stop(timeout=max(1.0, 5 * self.period))
            self._tick = cycle.tick
            if stopped and self.status == PLCStatus.STARTED:
                self._set_status(PLCStatus.STOPPED)
                self.logs.log(LogLevel.INFO, "PLC stopped", self._tick)
            return self.status == PLCStatus.STOPPED

    def RepairPLC(self):
        with self._lock:
            if self.cycle is not None:
                self.StopPLC()
            self._unload()
            self.installation.remove()
            self.blobs.purge()
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

    # --- traces and forcing ---------------------------------------------------------------------

    def SetTraceVariablesList(self, orders):
        table = self.program.table if self.program is not None else None
        return self.traces.set_orders([(int(idx), bytes(force)) for idx, force in orders], table)

    def GetTraceVariables(self, debugToken):
        return self.traces.take(int(debugToken), self.status)

    # --- extensions -----------------------------------------------------------------------------

    def values_sample(self):
        """(tick, buffer) of every variable in table order, for watchers that cannot trace
        (read-only dashboards); None without a program."""
        program = self.program
        if program is None:
            return None
        table = program.table
        values = list(table.values)  # one snapshot: the cycle thread may assign meanwhile
        return self.tick, b"".join(encode(d.type, value)
                                   for d, value in zip(table.declarations, values))

    def variables(self) -> list:
        return self.program.table.describe() if self.program is not None else []

    def ExtendedCall(self, method, argument):
        if method == "GetVersions":
            return platform_string().encode()
        if method == "GetVariables":
            return json.dumps(self.variables()).encode()
        if method == "GetCycleStats":
            cycle = self.cycle
            return json.dumps(cycle.stats() if cycle is not None else {}).encode()
        raise PLCObjectError(EINVAL, f"unknown extended call {method!r}; "
                             "known: GetVersions, GetVariables, GetCycleStats")
