"""The program of a program process that loaded a Beremiz-compiled PLC library.

The Beremiz IDE compiles a project (ST, ladder, FBD, SFC, IL through matiec and gcc) into one
shared library that runs its own cyclic thread and offers a small C interface
(docs/engineer/beremiz-builds.md). A program process (program_process.py, which checks and
loads the library when the runtime names the kind "beremiz") runs it, so that a segfault,
abort or deadlock in it ends that process, never the runtime; LibraryProgram implements the
same boundary as the Python kind's program: the same JSON-line commands and replies on the
socket, the same shared memory (tick, values snapshot, trace configuration and sample ring,
watchdog mark).

Threads here: the main thread serves the runtime's commands (the library's start/stop calls run
in it); a debug reader blocks in GetDebugData and hands samples over; the Python thread serves
the library's python_eval requests (PythonIterator) between the start and stop hooks; a
housekeeping thread drains the library's log ring, follows its tick for the watchdog and flushes
CSV writes.

Tracing: the library has one trace list, which also gives us the values snapshot (<ID>.values,
dashboards): the variables the runtime asked for are registered first, then every other
variable while the 1024-entry and 4096-byte limits allow. The first part of each sample goes to
the trace ring, the whole of it into the values snapshot. A new trace configuration is applied
while the reader holds a sample (between GetDebugData and FreeDebugData), when the library
cannot produce one, so every sample is read with the registration it was taken under. While
nothing is traced the reader holds each sample until the next values snapshot is due: the
library then skips its samples instead of waking this process every cycle.

Which files are Beremiz programs at all (architecture, symbols) is library_check.py's.
"""
import ctypes
import hashlib
import os
import sys
import threading
import time
import types

from plc_protocol.beremiz_variables import VariablesFileError, read_variables_csv
from plc_protocol.iec_types import decode, encode, iec_type
from plc_protocol.log_levels import LogLevel
from plc_protocol.trace_limits import MAX_SAMPLE_BYTES, MAX_TRACED
from runtime_component import beremiz_typemapping
from runtime_component.csv_functions import CSVFiles
from runtime_component.install import MD5_FILE
from runtime_component.library_check import LibraryError, load_library
from runtime_component.program import describe_error
from runtime_component.program_channel import (CSV_FLUSH_INTERVAL, VALUES_INTERVAL, Channel,
                                               TraceConfig)
from runtime_component.scan_cycle import normal_priority, realtime_priority
from runtime_component.shared_state import SharedState

VARIABLES_FILE = "VARIABLES.csv"
LOG_MESSAGE_MAX = 16383          # what Beremiz's runtime asks GetLogMessage for
HOUSEKEEPING_INTERVAL = 0.02
PYTHON_STOP_TIMEOUT = 4.0        # below the runtime's 5 s for the whole stop
REGISTER_ERRORS = {1: "trace list full", 2: "force list full",
                   3: "force size mismatch or force area full"}


class IECTime(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class Library:
    """The library's C interface, bound by name with its prototypes."""

    def __init__(self, path: str, loaded: dict):
        """``loaded``: what check_library loaded, reused for the same file."""
        self.dll = dll = loaded.get(_key(path)) or load_library(path)
        c = ctypes
        self._bind("startPLC", c.c_int, [c.c_int, c.POINTER(c.c_char_p)])
        self._bind("stopPLC", c.c_int, [])
        self._bind("ResetDebugVariables", None, [])
        self._bind("RegisterDebugVariable", c.c_int, [c.c_uint, c.c_void_p, c.c_size_t])
        self._bind("GetDebugData", c.c_int,
                   [c.POINTER(c.c_uint), c.POINTER(c.c_uint), c.POINTER(c.c_void_p)])
        self._bind("FreeDebugData", None, [])
        self._bind("suspendDebug", c.c_int, [c.c_int])
        self._bind("resumeDebug", None, [])
        self._bind("LogMessage", c.c_int, [c.c_uint8, c.c_char_p, c.c_uint32])
        self._bind("GetLogCount", c.c_uint32, [c.c_uint8])
        self._bind("GetLogMessage", c.c_uint32,
                   [c.c_uint8, c.c_uint32, c.c_char_p, c.c_uint32] + [c.POINTER(c.c_uint32)] * 3)
        try:
            self._bind("PythonIterator", c.c_char_p, [c.c_char_p, c.POINTER(c.c_void_p)])
        except AttributeError:
            self.PythonIterator = None  # no py_ext in this build
        self.tick_word = c.c_uint.in_dll(dll, "__tick")
        self.ticktime_ns = c.c_ulonglong.in_dll(dll, "common_ticktime__")
        try:
            self.current_time = IECTime.in_dll(dll, "__CURRENT_TIME")
        except ValueError:
            self.current_time = None
        self._plc_id = None

    def _bind(self, name, restype, argtypes):
        function = self.dll[name]
        function.restype, function.argtypes = restype, argtypes
        setattr(self, name, function)

    @property
    def tick(self) -> int:
        return self.tick_word.value

    @property
    def period(self) -> float:
        """The compiled base period (the library uses 1 ms when it says 0)."""
        return (self.ticktime_ns.value or 1_000_000) / 1e9

    def set_plc_id(self, md5: str) -> None:
        """The library keeps the pointer: the buffer lives as long as this object."""
        self._plc_id = ctypes.create_string_buffer(md5.encode("ascii"))
        ctypes.c_void_p.in_dll(self.dll, "PLC_ID").value = ctypes.addressof(self._plc_id)

    def log(self, level, text: str) -> None:
        data = str(text).encode("utf-8", "replace")
        self.LogMessage(int(LogLevel.parse(level)), data, len(data))


class LogDrain:
    """Moves the library's log ring into the runtime's log: every level, in order, each message
    once. The ring overwrites its oldest records; those we were too late for are counted and
    reported, never silently skipped."""

    def __init__(self, library: Library, send):
        self.library = library
        self.send = send
        self.next = [0] * len(LogLevel)
        self._buffer = ctypes.create_string_buffer(LOG_MESSAGE_MAX)
        self._lock = threading.Lock()

    def drain(self) -> None:
        library, buffer = self.library, self._buffer
        tick, sec, nsec = ctypes.c_uint32(), ctypes.c_uint32(), ctypes.c_uint32()
        with self._lock:
            messages = []
            for level in LogLevel:
                count = library.GetLogCount(level)
                start = min(self.next[level], count)
                lost = 0
                for index in range(start, count):
                    size = library.GetLogMessage(level, index, buffer, LOG_MESSAGE_MAX,
                                                 ctypes.byref(tick), ctypes.byref(sec),
                                                 ctypes.byref(nsec))
                    if size == 0:
                        lost += 1
                        continue
                    text = buffer.raw[:min(size, LOG_MESSAGE_MAX)].rstrip(b"\0")
                    messages.append((sec.value * 1_000_000_000 + nsec.value, level, index,
                                     text.decode("utf-8", "replace"), tick.value))
                self.next[level] = count
                if lost:
                    messages.append((time.time_ns(), LogLevel.WARNING, -1,
                                     f"{lost} {level.name} message(s) of the PLC program were "
                                     "overwritten in its log ring before the runtime read them",
                                     library.tick))
            for time_ns, level, _, text, tick_value in sorted(messages):
                self.send(log=[int(level), text, tick_value, time_ns])


class Registration:
    """What the library's trace list holds: the traced head (the union the runtime samples),
    the forced variables nobody traces, the one-shot writes (forced for one cycle), then the
    values tail. Without a variable table (no VARIABLES.csv) only the head is registered."""

    def __init__(self, config: TraceConfig, types: list, with_writes: bool = True):
        self.token = config.token
        forced = dict(config.forced)
        writes = {index: raw for _, index, raw in config.writes} if with_writes else {}
        self.write_serial = config.writes[-1][0] if writes else 0
        self.head = [(index, forced.get(index, writes.get(index))) for index in config.traced]
        head_indexes = {index for index, _ in self.head}
        self.forced = [(index, raw) for index, raw in {**writes, **forced}.items()
                       if index not in head_indexes and (not types or index < len(types))]
        self.head_types = [types[index] for index, _ in self.head] if types else None
        budget = MAX_SAMPLE_BYTES - sum(_max_size(t) for t in self.head_types or ())
        budget -= sum(_max_size(types[index]) for index, _ in self.forced) if types else 0
        taken = head_indexes | {index for index, _ in self.forced}
        self.tail = []
        for index, type_name in enumerate(types):
            if index in taken or len(taken) + len(self.tail) >= MAX_TRACED:
                continue
            size = _max_size(type_name)
            if size <= budget:
                self.tail.append(index)
                budget -= size
        fixed = [iec_type(t).size for t in self.head_types or ()]
        self.head_size = sum(fixed) if None not in fixed else None

    def registered(self) -> list:
        """(index, force raw or None) in registration order."""
        return self.head + self.forced + [(index, None) for index in self.tail]

    @property
    def indexes(self) -> list:
        return [index for index, _ in self.registered()]

    def split(self, data: bytes):
        """The traced part of one sample (its head): decoded only when it holds a STRING.
        Without types, the forced variables after the head take their force's size (true of
        every type but STRING, which a client forcing by raw index rarely sends)."""
        if self.head_types is None:
            return data[:len(data) - sum(len(raw) for _, raw in self.forced)]
        if self.head_size is not None:
            return data[:self.head_size]
        return data[:_walk(self.head_types, data)[1]]

    def values(self, data: bytes, types: list) -> dict:
        if not types:
            return {}
        indexes = self.indexes
        decoded, _ = _walk([types[index] for index in indexes], data)
        return dict(zip(indexes, decoded))


def _max_size(type_name: str) -> int:
    return iec_type(type_name).force_size


def _walk(type_names, data: bytes):
    """(values, end offset) of the values that are complete in data (the library leaves out
    those that would pass its buffer's end)."""
    values, offset = [], 0
    for type_name in type_names:
        try:
            value, offset = decode(type_name, data, offset)
        except ValueError:
            break
        values.append(value)
    return values, offset


class ExtensionGlobals:
    """``PLCGlobals``: attribute X reads or writes the PLC global X through the accessors the
    extra files bound (``_PySafeGetPLCGlob_X``, ``_X_ctype``, ``_X_unpack``, ``_X_pack``)."""

    def __init__(self, namespace: dict):
        object.__setattr__(self, "_namespace", namespace)

    def _parts(self, name, *parts):
        namespace = object.__getattribute__(self, "_namespace")
        try:
            return [namespace[part.format(name)] for part in parts]
        except KeyError:
            raise AttributeError(f"no PLC global {name!r} (PLCGlobalsDesc lists those the "
                                 "program shares with Python)") from None

    def __getattr__(self, name):
        c_type, unpack, get = self._parts(name, "_{}_ctype", "_{}_unpack", "_PySafeGetPLCGlob_{}")
        value = c_type()
        get(ctypes.byref(value))
        return unpack(value)

    def __setattr__(self, name, value):
        c_type, pack, set_ = self._parts(name, "_{}_ctype", "_{}_pack", "_PySafeSetPLCGlob_{}")
        set_(ctypes.byref(pack(c_type, value)))


class ExtensionChanges(ExtensionGlobals):
    """``OnChange``: attribute X gives X's change count and first and last changed values."""

    def __getattr__(self, name):
        unpack, count, first, last = self._parts(
            name, "_{}_unpack", "_PyOnChangeCount_{}", "_PyOnChangeFirst_{}", "_PyOnChangeLast_{}")
        return types.SimpleNamespace(count=count.value, first=unpack(first), last=unpack(last))


class PythonSide:
    """The extra files ``runtime_*.py`` in one namespace, their hooks, and the evaluator of
    the commands the library posts (python_eval / python_poll blocks)."""

    HOOKS = ("init", "start", "stop", "cleanup")

    def __init__(self, library: Library, runtime, csv: CSVFiles):
        self.library = library
        self.namespace = {
            "PLCBinary": library.dll, "PLCObject": runtime, "WorkingDir": os.getcwd(),
            "PLCGlobalsDesc": [], "FBID": None,
            "CSVRdInt": csv.CSVRdInt, "CSVRdStr": csv.CSVRdStr, "CSVWrInt": csv.CSVWrInt,
            "CSVWrStr": csv.CSVWrStr, "CSVReload": csv.CSVReload,
        }
        self.namespace["PLCGlobals"] = ExtensionGlobals(self.namespace)
        self.namespace["OnChange"] = ExtensionChanges(self.namespace)
        self.hooks = {hook: [] for hook in self.HOOKS}
        self._compiled = {}

    @staticmethod
    def files(directory: str) -> list:
        """Beremiz's rule: names that, upper-cased, start with RUNTIME and end in .PY."""
        return sorted(name for name in os.listdir(directory)
                      if name.upper().startswith("RUNTIME") and name.upper().endswith(".PY")
                      and os.path.isfile(os.path.join(directory, name)))

    def load(self) -> None:
        """Execute the files in name order; an error names the file (ProgramFault)."""
        _install_typemapping()
        for name in self.files(os.getcwd()):
            with open(name, "rb") as handle:
                source = handle.read()
            try:
                exec(compile(source, name, "exec", dont_inherit=True), self.namespace)
            except BaseException as error:
                raise ProgramFault(f"{name} raised while loading: {describe_error(error, name)}",
                                   loading=True) from None
            base = name[:-3]
            for hook in self.HOOKS:
                function = self.namespace.get(f"_{base}_{hook}")
                if callable(function):
                    self.hooks[hook].append((name, function))

    def run_hooks(self, hook: str) -> None:
        """All of them run (stop and cleanup in reverse order); the first error is raised
        afterwards, as a ProgramFault naming the hook and file."""
        functions = self.hooks[hook]
        failure = None
        for name, function in reversed(functions) if hook in ("stop", "cleanup") else functions:
            try:
                function()
            except BaseException as error:
                if failure is None:
                    failure = ProgramFault(f"{function.__name__}() in {name} raised "
                                           f"{describe_error(error, name)}",
                                           loading=hook == "init")
        if failure is not None:
            raise failure

    def serve(self, log) -> None:
        """The PythonIterator loop: until the library answers NULL (stopPLC)."""
        iterator, fbid = self.library.PythonIterator, ctypes.c_void_p()
        result = b"None"
        while True:
            command = iterator(result, ctypes.byref(fbid))
            if command is None:
                return
            result = self.evaluate(command, fbid.value or 0, log)

    def evaluate(self, command: bytes, fbid: int, log) -> bytes:
        text = command.decode("utf-8", "replace")
        namespace = self.namespace
        namespace["FBID"] = fbid
        try:
            code = self._compiled.get(text)
            if code is None:
                code = self._compiled[text] = compile(text, "python_eval", "eval")
            return str(eval(code, namespace)).encode("utf-8", "replace")
        except BaseException as error:
            log(LogLevel.WARNING, f'PyEval@0x{fbid:x}(Code="{text}") Exception "{error}"')
            return f"#EXCEPTION : {error}".encode("utf-8", "replace")
        finally:
            namespace["FBID"] = None


def _install_typemapping() -> None:
    """Make ``from runtime.typemapping import TypeTranslator`` work for the extra files."""
    if "runtime.typemapping" not in sys.modules:
        package = types.ModuleType("runtime")
        package.__path__ = []
        package.typemapping = beremiz_typemapping
        sys.modules["runtime"] = package
        sys.modules["runtime.typemapping"] = beremiz_typemapping


class ProgramFault(Exception):
    def __init__(self, message: str, loading: bool = False):
        super().__init__(message)
        self.loading = loading


class RuntimeFacade:
    """``PLCObject`` as the extra files see it: they log through it."""

    def __init__(self, library: Library):
        self._library = library

    def LogMessage(self, *args):
        level, text = (LogLevel.DEBUG, args[0]) if len(args) == 1 else args
        self._library.log(level, text)


class LibraryProgram:
    def __init__(self, args, channel: Channel, shared: SharedState):
        self.args = args
        self.channel = channel
        self.shared = shared
        self.library = None
        self.types = []
        self.names = []
        self.values = []
        self.python = None
        self.csv = None
        self.logs = None
        self.started = False
        self._stopping = False
        self._registration = None
        self._config_seq = 0
        self._write_done = 0                    # the serial of the last one-shot write applied
        self._debug_lock = threading.Lock()     # trace list changes: reader against stop
        self._watch_lock = threading.Lock()     # started and the watchdog mark change together
        self._reader = None
        self._python_failed = None              # the ProgramFault that ended the Python side
        self._python_started = threading.Event()
        self._python_done = threading.Event()
        self._stop_event = threading.Event()
        self._values_due = 0.0
        self._first_cycle_ns = float("inf")
        self._start_tick = 0
        self._last_tick = None

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> bool:
        try:
            self.library = Library(self.args.program, self.args.compiled)
        except LibraryError as error:
            self.channel.send(fault=f"PLC program load failed: {self.args.name}: {error}")
            return False
        self.library.set_plc_id(_installed_md5())
        self.logs = LogDrain(self.library, self.channel.send)
        self._load_table()
        self.csv = CSVFiles(os.getcwd())
        self.python = PythonSide(self.library, RuntimeFacade(self.library), self.csv)
        try:
            self.python.load()
            self.python.run_hooks("init")
        except ProgramFault as fault:
            self.logs.drain()
            self.channel.send(fault=f"PLC program load failed: {fault}")
            return False
        self.shared.set("tick", self.library.tick)
        self.shared.set("period_ns", int(self.library.period * 1e9))   # compiled in, not ours
        self._publish_values(force=True)
        self.logs.drain()
        self.channel.send(reply="ready", variables=[
            [name, type_name, value] for name, type_name, value in
            zip(self.names, self.types, self.values)])
        return True

    def _load_table(self) -> None:
        """The variable table comes from the build's VARIABLES.csv, sent as an extra file.
        Without it (the Beremiz IDE's own Transfer sends none) the library still knows its
        debug indexes, as upstream: clients that know them trace and force by index; only
        names, the values snapshot and several tracing clients at once need the table."""
        if not os.path.exists(VARIABLES_FILE):
            self.log(LogLevel.INFO, f"{VARIABLES_FILE} was not transferred with the program: "
                     "its variables are traced and forced by index only (as the Beremiz IDE "
                     "does), without names or a values snapshot")
            return
        try:
            entries = read_variables_csv(VARIABLES_FILE)
        except VariablesFileError as error:
            self.log(LogLevel.WARNING, f"{error}: variables cannot be traced or forced")
            return
        self.names = [entry.name for entry in entries]
        self.types = [entry.type for entry in entries]
        self.values = [iec_type(t).python_type() for t in self.types]

    def log(self, level, text) -> None:
        self.channel.send(log=[int(LogLevel.parse(level)), str(text),
                               (self.library.tick if self.library else 0) & 0xFFFFFFFF,
                               time.time_ns()])

    def fault(self, message: str) -> None:
        if self.logs is not None:
            self.logs.drain()
        self.channel.send(fault=message)

    # --- start and stop -----------------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        library = self.library
        self._stopping = False
        self._stop_event.clear()
        self._python_started.clear()
        self._python_done.clear()
        self.shared.set("lateness_count", 0)
        self.shared.set("overruns", 0)
        tick_before = library.tick
        self._start_tick, self._first_cycle_ns = tick_before, float("inf")
        argv = (ctypes.c_char_p * 1)()
        # The library's thread inherits this thread's scheduling: real-time where allowed, as
        # the Python kind's cycle; this thread goes back to normal once it exists.
        self.shared.set("realtime", int(realtime_priority()))
        try:
            result = library.startPLC(0, argv)
        finally:
            normal_priority()
        if result != 0:
            self.fault(f"PLC program stopped: startPLC returned error {result}")
            return
        self.started = True
        threading.Thread(target=self._python_main, name="plc-python", daemon=True).start()
        self._follow_config(force=True)
        self._reader = threading.Thread(target=self._guarded_reader, name="plc-debug-reader",
                                        daemon=True)
        self._reader.start()
        while library.tick == tick_before:  # the first cycle runs at once; the runtime bounds this
            time.sleep(0.001)
        self._python_started.wait()
        if self._python_failed is None:
            self.logs.drain()   # what the library logged while starting comes before "running"
            self.channel.send(reply="running")

    def stop(self) -> None:
        if self.started:
            with self._watch_lock:   # stopPLC is bounded by the runtime, not by the watchdog
                self.started = False
                self.shared.set("busy_since", 0)
            library = self.library
            with self._debug_lock:
                self._stopping = True
                # A forced VAR stays stuck across a restart if still forced at stopPLC.
                library.suspendDebug(0)
                library.ResetDebugVariables()
                library.resumeDebug()
            library.stopPLC()
            self._stop_event.set()
            self._reader.join()
            if not self._python_done.wait(PYTHON_STOP_TIMEOUT):
                self.fault("PLC program stopped: its Python side (a python_eval command or a "
                           f"stop hook) did not end within {PYTHON_STOP_TIMEOUT:g} s of stopPLC")
                return
            if self._python_failed is not None:
                return
            self.shared.set("tick", library.tick)
            self._publish_values(force=True)
            self._flush_csv()
            self.logs.drain()
        self.channel.send(reply="stopped")

    def unload(self) -> None:
        self.stop()
        try:
            self.python.run_hooks("cleanup")
        except ProgramFault as fault:
            self.fault(f"PLC program stopped: {fault}")
            return
        self.csv.CSVReload()
        self.logs.drain()
        self.channel.send(reply="unloaded")

    def _python_main(self) -> None:
        """Start hooks, the command loop, stop hooks: the Python thread of Beremiz's runtime."""
        python = self.python
        try:
            python.run_hooks("start")
        except ProgramFault as fault:
            self._python_fault(fault)
            self._python_done.set()
            return
        finally:
            self._python_started.set()
        try:
            if self.library.PythonIterator is not None:
                python.serve(self.log)
            else:
                self._stop_event.wait()
            python.run_hooks("stop")
        except ProgramFault as fault:
            self._python_fault(fault)
        finally:
            self._python_done.set()

    def _python_fault(self, fault: ProgramFault) -> None:
        self._python_failed = fault
        self.fault(f"PLC program stopped: {fault}")

    # --- traces and values --------------------------------------------------------------------

    def _follow_config(self, force: bool = False) -> None:
        """Register the trace list again if the runtime wrote a new configuration (or at
        start, where startPLC emptied the library's list), or once a one-shot write has been
        forced for one cycle."""
        sequence = self.shared.config_sequence()
        registration = self._registration
        if registration is not None and registration.write_serial:
            self._write_done = registration.write_serial
            self.shared.set("write_done", self._write_done)
            force = True
        if not force and (sequence == self._config_seq or sequence & 1):
            return
        read = self.shared.read_config()
        if read is None:
            return
        self._config_seq = read[0]
        config = TraceConfig.parse(read[1])
        config.writes = config.writes_after(self._write_done)
        registration = Registration(config, self.types)
        library = self.library
        with self._debug_lock:
            if self._stopping:
                return
            library.suspendDebug(0)
            library.ResetDebugVariables()
            error = 0
            for index, raw in registration.registered():
                if raw is None:
                    error = library.RegisterDebugVariable(index, None, 0)
                else:
                    error = library.RegisterDebugVariable(index, raw, len(raw))
                if error:
                    break
            if error:
                self.log(LogLevel.WARNING, "the PLC program refused the trace and force list: "
                         f"{REGISTER_ERRORS.get(error, f'error {error}')}; nothing is traced "
                         "or forced")
                library.ResetDebugVariables()
                registration = Registration(TraceConfig(), self.types)
                for index in registration.tail:
                    library.RegisterDebugVariable(index, None, 0)
            library.resumeDebug()
        self._registration = registration

    def _guarded_reader(self) -> None:
        """A reader that dies would leave traces, forces and writes silently stale: Broken."""
        try:
            self._read_samples()
        except Exception as error:
            self.fault(f"PLC program stopped: the runtime's debug reader failed: {error!r}")

    def _read_samples(self) -> None:
        """The library holds one sample at a time and skips cycles until it is freed, so this
        thread runs at real-time priority where allowed, as the library's own thread."""
        realtime_priority()
        library = self.library
        tick, size, pointer = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_void_p()
        while True:
            if library.GetDebugData(ctypes.byref(tick), ctypes.byref(size),
                                    ctypes.byref(pointer)) != 0:
                return

            if size.value == 0 and self._stopping:
                return   # released by stopPLC
            # An empty sample (nothing registered yet) must be freed like any other, or the
            # library never produces the next one.
            data = ctypes.string_at(pointer.value, size.value) if size.value else b""
            self._lateness(tick.value)
            registration = self._registration
            if not registration.head:
                # Nobody traces: only the values snapshot needs samples. Holding the buffer
                # until it is due spares a wake-up per cycle (the library skips its samples).
                time.sleep(max(0.0, self._values_due - time.monotonic()))
            self._follow_config()   # the library produces nothing while we hold its buffer
            library.FreeDebugData()
            if data:
                self._take(registration, tick.value, data)

    def _lateness(self, tick: int) -> None:
        """How late the cycle of this sample started, from the time the library stamps at each
        cycle start (__CURRENT_TIME), read while that cycle is still the current one."""
        library = self.library
        current = library.current_time
        if current is None or library.tick != tick:
            return
        started_ns = current.sec * 1_000_000_000 + current.nsec
        if library.tick != tick:
            return
        # The library's deadlines count from its first cycle's start: the earliest start seen,
        # brought back to cycle 1, estimates it (it is exact once cycle 1 itself was seen).
        offset = (tick - self._start_tick - 1) * library.period * 1e9
        self._first_cycle_ns = min(self._first_cycle_ns, started_ns - offset)
        self.shared.add_lateness((started_ns - offset - self._first_cycle_ns) / 1e9)

    def _take(self, registration: Registration, tick: int, data: bytes) -> None:
        if registration.token and registration.head:
            self.shared.put_sample(registration.token, tick, registration.split(data))
        if time.monotonic() >= self._values_due:
            for index, value in registration.values(data, self.types).items():
                self.values[index] = value
            self._publish_values()

    def _publish_values(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._values_due:
            return
        self._values_due = now + VALUES_INTERVAL
        self.shared.publish_values(self.library.tick, b"".join(
            encode(type_name, value) for type_name, value in zip(self.types, self.values)))

    # --- housekeeping -------------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Logs, the watchdog mark, CSV flushes. The watchdog mark is the time the next cycle
        was due after the last one seen: a library whose cycle is stuck (or overruns) lets it
        age until the runtime's watchdog kills this process."""
        csv_due = 0.0
        while True:
            time.sleep(HOUSEKEEPING_INTERVAL)
            self.logs.drain()
            with self._watch_lock:
                if self.started:
                    tick = self.library.tick
                    self.shared.set("tick", tick)
                    if tick != self._last_tick:
                        self._last_tick = tick
                        self.shared.set("busy_since",
                                        time.monotonic_ns() + int(self.library.period * 1e9))
            now = time.monotonic()
            if now >= csv_due:
                csv_due = now + CSV_FLUSH_INTERVAL
                if self.csv.flush_due():
                    self._flush_csv()

    def _flush_csv(self) -> None:
        try:
            self.csv.flush()
        except OSError as error:
            self.log(LogLevel.WARNING, f"CSV flush failed: {error}")


def _key(path: str):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).digest()


def check_library(path: str, loaded: dict) -> None:
    """For a "check" order: load the library (its code runs: only in a process that takes no
    other program) and keep it in ``loaded`` for the load; LibraryError (a ProgramError) if it
    is not a Beremiz PLC program."""
    loaded[_key(path)] = load_library(path)


def _installed_md5() -> str:
    """The md5 the runtime recorded at NewPLC, which the library keeps as PLC_ID."""
    try:
        with open(MD5_FILE, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""
