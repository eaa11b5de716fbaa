"""The runtime's side of one program process: start it, command it, watch it, end it.

A program runs in a process of its own (program_process.py for Python programs) so that what it
does cannot reach the runtime: its exit, crash, hang, memory or children end in a fault that
this class reports once (``on_fault``) after killing the program's whole process group; the
runtime stays up and answers. The program's memory lives and dies with that process, so
removing or replacing a program gives the memory back.

The boundary assumes nothing about how the cycle is driven: the program process reports
"running" once its first cycle completed, stores tick, busy mark and trace samples into the
shared memory, and sends log messages and faults on the socket. A Beremiz shared library,
whose own thread runs the cycle, fits the same boundary: the process is told the program's
``kind`` when it checks or loads one (program_process.py starts library_process.py's program
for a library).

Threads here: a reader (socket messages, process exit) and a supervisor (watchdog, trace ring
drain), both per program process; the PLC object's methods wait for replies with a time-out
and never hold a lock the two take.
"""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

from plc_protocol.iec_types import decode_sample
from plc_protocol.installation_files import is_library
from runtime_component import metrics
from runtime_component import shared_state
from runtime_component.variables import VariableTable

PROGRAM_PROCESS = "runtime_component.program_process"
# Per program kind (a Python program; a Beremiz build's shared library), what each command
# waits for, as time-out messages name it.
STEPS = {
    "python": {"load": "loading the program and its init()",
               "start": "start() and the first cycle",
               "stop": "stopping (stop())", "unload": "unloading (cleanup())"},
    "beremiz": {"load": "loading the library and the py_ext init hooks",
                "start": "startPLC(), the py_ext start hooks and the first cycle",
                "stop": "stopping (stopPLC() and the py_ext stop hooks)",
                "unload": "unloading (the py_ext cleanup hooks)"},
}
STARTUP_TIMEOUT = 30.0   # interpreter start and imports; generous, the machine may be loaded
HOOK_TIMEOUT = 5.0       # init/start/stop/cleanup hooks
SUPERVISE_INTERVAL = 0.02
MAX_MESSAGE = 16 * 1024 * 1024
_FAULTED = object()


class SharedTable(VariableTable):
    """The program's variable table as the runtime sees it: declarations sent by the program
    process, values read from its latest snapshot in shared memory."""

    @staticmethod
    def valid_name(name: str) -> bool:
        """Any name its program process sent: a Beremiz library's are IEC paths (A.B.C)."""
        return bool(name)

    def __init__(self, declarations, snapshot):
        self._snapshot = snapshot
        super().__init__(declarations)
        self._types = [d.type for d in self.declarations]

    @property
    def values(self):
        sample = self._snapshot()
        return self._initial if sample is None else decode_sample(self._types, sample[1])

    @values.setter
    def values(self, initial):
        self._initial = initial


def program_kind(program: bytes) -> str:
    """A Beremiz build's shared library or a Python program, by the blob's first bytes."""
    return "beremiz" if is_library(program) else "python"


def exit_cause(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = (" (by the runtime, the system's OOM killer, or someone else)"
                if returncode == -signal.SIGKILL else "")
        return f"the program process was killed by {name}{hint}"
    return f"the program process exited with code {returncode}"


class ProgramHost:
    def __init__(self, memory_mb: int, on_fault, on_log, on_samples):
        """Starts the program process at once, so that it can be started ahead of need (a
        spare: the interpreter's start is most of a load's time); ``check`` has it compile a
        program, ``load`` gives it one. ``memory_mb`` bounds its address space (0: no bound).

        ``on_fault(host, message)``, ``on_log(level, text, tick, time_ns)`` and
        ``on_samples(samples)`` are called from this host's threads."""
        self.on_fault, self.on_log, self.on_samples = on_fault, on_log, on_samples
        self.name = None
        self.period = None
        self.watchdog = None  # set by load
        self._steps = STEPS["python"]
        self.fault = None
        self.table = None  # set once loaded: from then on a fault stops a loaded program
        self.samples_lost = 0
        self._loading = False
        self._foreign = False   # a library was loaded to check it: only that one may follow
        self._hello = False
        self._closing = False
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._replies = queue.Queue()
        self._done = threading.Event()
        self._loaded = threading.Event()  # given a program (or ending): the supervisor starts
        self._last_sequence = 0
        fd = shared_state.create()
        self.shared = shared_state.SharedState(fd)
        ours, theirs = socket.socketpair()
        self._sock = ours
        env = dict(os.environ, MALLOC_ARENA_MAX="2")  # per-thread arenas would eat RLIMIT_AS
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", PROGRAM_PROCESS, "--socket-fd", str(theirs.fileno()),
                 "--shared-fd", str(fd), "--memory-mb", str(memory_mb)],
                env=env, pass_fds=(theirs.fileno(), fd), stdin=subprocess.DEVNULL,
                start_new_session=True)  # its own process group: its children die with it
        finally:
            theirs.close()
            os.close(fd)
        self._threads = [threading.Thread(target=self._read, name="plc-host-reader", daemon=True),
                         threading.Thread(target=self._supervise, name="plc-host-supervisor",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def usable(self) -> bool:
        """A spare that is still waiting for its program."""
        return (not self._loading and not self._foreign and self.fault is None
                and self.process.poll() is None)

    # --- commands (called by the PLC object, one at a time) -----------------------------------

    def check(self, program_path: str, name: str, kind: str = "python"):
        """Have the process compile a program (load a library: that runs the library's code,
        so a process that checked one takes no other program); None if it can run, else why
        not (a fault of the process included: a program too big to compile may kill it)."""
        if not self._started():
            return self.fault
        if kind != "python":
            self._foreign = True   # no longer a clean spare, whatever the answer
        reply = self._request("check", "checked", STARTUP_TIMEOUT, "checking the program",
                              program=program_path, name=name, kind=kind)
        return self.fault if reply is None else reply["error"]

    def load(self, program_path: str, name: str, directory: str, period: float,
             watchdog: float, kind: str = "python") -> bool:
        """Load the program (its directory becomes the process's current directory) and run
        its init hook; False on a fault."""
        self.name, self.period, self.watchdog = name, period, watchdog
        self._steps = STEPS[kind]
        self._loading = True
        self._loaded.set()
        if not self._started():
            return False
        return self._request("load", "ready", HOOK_TIMEOUT, self._steps["load"],
                             program=program_path, name=name, directory=directory,
                             period=period, kind=kind) is not None

    def _started(self) -> bool:
        """Wait (once) for the interpreter to have started."""
        if not self._hello:
            self._hello = self._wait("hello", STARTUP_TIMEOUT,
                                     "starting the program process") is not None
        return self._hello

    def start(self) -> bool:
        """True once the start hook and the first cycle completed without a fault."""
        return self._request("start", "running", HOOK_TIMEOUT + self.watchdog,
                             self._steps["start"]) is not None

    def stop(self) -> bool:
        return self._request("stop", "stopped", HOOK_TIMEOUT, self._steps["stop"]) is not None

    def unload(self) -> None:
        """Run the cleanup hook (bounded), then end the process and release everything."""
        if self.fault is None and self.table is not None:
            self._request("unload", "unloaded", HOOK_TIMEOUT, self._steps["unload"])
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected
        self._kill()
        self._done.set()
        self._loaded.set()
        for thread in self._threads:
            thread.join(STARTUP_TIMEOUT)
        self._sock.close()
        with self._drain_lock:
            self.shared.close()

    def configure_traces(self, payload: bytes) -> None:
        """The program process applies it at its next cycle (tracing.TraceState.config)."""
        self.shared.write_config(payload)

    # --- state read from the shared memory -------------------------------------------------------

    @property
    def tick(self) -> int:
        return self.shared.get("tick")

    def values(self):
        return self.shared.values()

    def write_done(self) -> int:
        """The serial of the last one-shot write the program process applied."""
        return 0 if self._done.is_set() else self.shared.get("write_done")

    def cycle_stats(self) -> dict:
        """Timing of recent cycles, for operators and the jitter benchmark."""
        shared = self.shared
        lateness = sorted(shared.lateness())

        def percentile(fraction):
            return lateness[min(len(lateness) - 1, int(fraction * len(lateness)))] * 1000 \
                if lateness else None
        period_ns = shared.get("period_ns")
        return {"period_ms": period_ns / 1e6 if period_ns else self.period * 1000,
                "tick": shared.get("tick"),
                "overruns": shared.get("overruns"), "realtime": bool(shared.get("realtime")),
                "cycles_measured": len(lateness), "lateness_ms_p50": percentile(0.5),
                "lateness_ms_p99": percentile(0.99), "lateness_ms_max": percentile(1.0),
                "trace_samples_lost": self.samples_lost + shared.get("samples_dropped"),
                "program_pid": self.process.pid}

    def drain(self) -> None:
        """Move the trace samples out of the ring (any thread; one at a time)."""
        with self._drain_lock:
            if self._done.is_set():
                return
            samples = self.shared.take_samples()
            if not samples:
                return
            for sequence, _, _, _ in samples:
                if sequence != self._last_sequence + 1:
                    self.samples_lost += max(0, sequence - self._last_sequence - 1)
                self._last_sequence = sequence
            self.on_samples([(generation, tick, data) for _, generation, tick, data in samples])

    # --- faults ----------------------------------------------------------------------------------

    def _fail(self, message: str) -> None:
        with self._lock:
            if self.fault is not None or self._closing:
                return
            self.fault = message
        self._kill()
        self._replies.put(_FAULTED)
        self.on_fault(self, message)

    def _failed(self) -> str:
        return "PLC program stopped" if self.table is not None else "PLC program load failed"

    def _kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _request(self, command: str, reply: str, timeout: float, what: str, **details):
        """The reply message, or None after a fault (reported by then)."""
        if self.fault is not None:
            return None
        try:
            self._sock.sendall(json.dumps({"cmd": command, **details}).encode() + b"\n")
        except OSError:
            pass  # the process is gone: the reader reports how
        return self._wait(reply, timeout, what)

    def _wait(self, reply: str, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while self.fault is None:
            try:
                item = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._fail(f"{self._failed()}: {what} did not complete within {timeout:g} s; "
                           "the program process was killed")
                break
            if item is not _FAULTED and item["reply"] == reply:
                return item
        return None

    # --- threads -------------------------------------------------------------------------------

    def _read(self) -> None:
        stream = self._sock.makefile("rb")
        try:
            for line in iter(lambda: stream.readline(MAX_MESSAGE), b""):
                self._dispatch(json.loads(line))
        except (ValueError, KeyError, TypeError, IndexError) as error:
            self._fail(f"{self._failed()}: the program process broke the protocol ({error})")
        except OSError:
            pass  # our own shutdown
        returncode = self.process.wait()
        self._fail(f"{self._failed()}: {exit_cause(returncode)}")

    def _dispatch(self, message: dict) -> None:
        if "log" in message:
            level, text, tick, time_ns = message["log"]
            self.on_log(level, text, tick, time_ns)
        elif "fault" in message:
            self._fail(str(message["fault"]))
        else:
            if message["reply"] == "ready":
                self.table = SharedTable(message["variables"], self.shared.values)
            self._replies.put(message)

    def _supervise(self) -> None:
        self._loaded.wait()  # a spare has nothing to watch: it costs the runtime no wake-ups
        while not self._done.wait(SUPERVISE_INTERVAL):
            self.drain()
            busy_since = self.shared.get("busy_since")
            if busy_since and time.monotonic_ns() - busy_since > self.watchdog * 1e9:
                if self.fault is None:
                    metrics.WATCHDOG_TRIPS.inc()   # once: the kill takes a moment
                self._fail(f"PLC program stopped: watchdog: a cycle ran longer than "
                           f"{self.watchdog:g} s; the program process was killed")
