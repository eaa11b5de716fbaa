"""The program process of a Python PLC program (``python -m runtime_component.program_process``).

The runtime process starts one per loaded program (program_host.py) and kills it when the
program faults or is unloaded, so nothing a program does (exit, crash, hang, allocate, fork)
reaches the runtime. This process loads the program, runs its hooks and its cycle, owns the
variables, applies the forces and takes the trace samples every cycle, and runs the CSV
functions on the installed files.

Its half of the boundary, which the other program kind, a Beremiz shared library that runs its
own cyclic thread (library_process.py, started from here when a load names ``"kind":
"beremiz"``), implements the same way:

* commands from the runtime arrive on the socket as JSON lines, served by the main thread: any
  number of ``{"cmd": "check", "program", "name", "kind"}`` (compile a transferred program, or
  load a library, before the runtime touches the installed one), then ``{"cmd": "load",
  "program", "name", "directory", "period", "kind"}`` (the process may have been started ahead
  of need, as a spare; a program it checked is not compiled or loaded again), then
  ``{"cmd": "start"|"stop"|"unload"}``;
* replies, log messages and faults go back as JSON lines through one sender thread, in order,
  so the cycle never blocks on the socket: ``{"reply": "hello"}`` once started,
  ``{"reply": "checked", "error": null|message}``, ``{"reply": "ready", "variables": [[name,
  type, value], ...]}`` after the init hook, ``{"reply": "running"}`` after the first cycle,
  ``{"reply": "stopped"}``, ``{"reply": "unloaded"}`` (the runtime then closes the socket),
  ``{"log": [level, text, tick, time_ns]}`` and ``{"fault": message}`` (the runtime then
  kills this process);
* the runtime reads the cycle's state from the shared memory (shared_state.py) and writes the
  trace configuration there, which the cycle picks up at the start of its next cycle.
"""
import argparse
import ctypes
import os
import resource
import socket
import sys
import threading
import time
import types

from plc_protocol.iec_types import decode_force, encode
from plc_protocol.log_levels import LogLevel
from plc_protocol.trace_limits import MAX_SAMPLE_BYTES
from runtime_component.csv_functions import CSVFiles
from runtime_component.library_process import LibraryProgram, check_library
from runtime_component.program_channel import (CSV_FLUSH_INTERVAL, VALUES_INTERVAL, Channel,
                                               TraceConfig)
from runtime_component.program import (ProgramContext, ProgramError, check_program,
                                       describe_error, load_program)
from runtime_component.scan_cycle import ScanCycle
from runtime_component.shared_state import SharedState

FORKED_EXIT = 70
LOG_TEXT_LIMIT = 16 * 1024  # characters of one log message (Beremiz's ring holds 16 KiB)
_PR_SET_PDEATHSIG = 1


class PythonProgram:
    def __init__(self, args, channel: Channel, shared: SharedState):
        self.args = args
        self.name = args.name
        self.channel = channel
        self.shared = shared
        self.program = None
        self.context = None
        self.csv = None
        self.cycle = None
        self.trace = TraceConfig()
        self._forced = []       # (index, value) decoded from the trace configuration
        self._types = []
        self._write_done = 0    # the serial of the last one-shot write applied
        self._config_seq = 0
        self._values_due = 0.0
        self._forked = False

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> bool:
        try:
            self.program = load_program(self.args.program, self.name, self.args.compiled)
        except ProgramError as error:
            self.channel.send(fault=f"PLC program load failed: {error}")
            return False
        self.csv = CSVFiles(os.getcwd())
        self.context = ProgramContext(self.program, self.log, self.csv, self.args.period)
        self.context.tick = self.shared.get("tick")
        if not self._hook("init"):
            return False
        self.publish_values(force=True)
        table = self.program.table
        self._types = [d.type for d in table.declarations]
        self._write_done = self.shared.get("write_done")
        self.channel.send(reply="ready", variables=[
            [d.name, d.type, value] for d, value in zip(table.declarations, table.values)])
        return True

    def log(self, level, text, tick=0) -> None:
        text = str(text)
        if len(text) > LOG_TEXT_LIMIT:
            text = text[:LOG_TEXT_LIMIT] + " [truncated]"
        self.channel.send(log=[int(LogLevel.parse(level)), text, tick & 0xFFFFFFFF,
                               time.time_ns()])

    def fault(self, where: str, error: BaseException) -> None:
        if isinstance(error, MemoryError):
            limit = self.args.memory_mb
            cause = (f"MemoryError: the program reached its memory limit of {limit} MiB "
                     "(--program-memory-mb)" if limit else describe_error(error, self.name))
        else:
            cause = describe_error(error, self.name)
        what = "PLC program load failed" if where == "init" else "PLC program stopped"
        self.channel.send(fault=f"{what}: {where}() raised {cause}")

    def _hook(self, name: str) -> bool:
        hook = self.program.hooks.get(name)
        if hook is None:
            return True
        try:
            hook(self.context)
            return True
        except BaseException as error:
            self.fault(name, error)
            return False

    # --- the cycle ----------------------------------------------------------------------------

    def body(self, tick: int) -> None:
        self._follow_config()
        context, values = self.context, self.program.table.values
        context.tick = tick
        forced = self._forced
        writes = self.trace.writes_after(self._write_done)
        for _, index, raw in writes:
            values[index] = decode_force(self._types[index], raw)
        for index, value in forced:
            values[index] = value
        self.program.cycle(context)
        if self._forked:
            raise RuntimeError("the program called os.fork(), which PLC programs may not do "
                               "(the runtime could not supervise the child)")
        for index, value in forced:
            values[index] = value
        if writes:
            self._write_done = writes[-1][0]
            self.shared.set("write_done", self._write_done)
        self._sample(tick, values)
        self.publish_values()

    def _follow_config(self) -> None:
        """Pick up the trace configuration the runtime wrote since the last cycle."""
        sequence = self.shared.config_sequence()
        if sequence == self._config_seq or sequence & 1:
            return
        read = self.shared.read_config()
        if read is None:
            return
        self._config_seq = read[0]
        self.trace = TraceConfig.parse(read[1])
        self._forced = [(index, decode_force(self._types[index], raw))
                        for index, raw in self.trace.forced]

    def _sample(self, tick: int, values: list) -> None:
        """One sample of the traced set; values that would pass MAX_SAMPLE_BYTES (a STRING grown
        since the list was accepted) are left out, as Beremiz does."""
        trace = self.trace
        if not trace.traced:
            return
        parts, size = [], 0
        for index in trace.traced:
            part = encode(self._types[index], values[index])
            if size + len(part) > MAX_SAMPLE_BYTES:
                break
            parts.append(part)
            size += len(part)
        self.shared.put_sample(trace.token, tick, b"".join(parts))

    def publish_values(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._values_due:
            return
        self._values_due = now + VALUES_INTERVAL
        table = self.program.table
        self.shared.publish_values(self.context.tick, b"".join(
            encode(d.type, value) for d, value in zip(table.declarations, list(table.values))))

    # --- commands -----------------------------------------------------------------------------

    def start(self) -> None:
        if self.cycle is not None:
            return
        hooks = self.program.hooks
        start_hook, stop_hook = hooks.get("start"), hooks.get("stop")
        self.cycle = ScanCycle(
            self.args.period, self.shared, self.body, self.fault,
            before=(lambda: start_hook(self.context)) if start_hook else None,
            after=(lambda: stop_hook(self.context)) if stop_hook else None,
            on_running=lambda: self.channel.send(reply="running"))
        self.cycle.start()

    def stop(self) -> None:
        if self.cycle is not None:
            cycle, self.cycle = self.cycle, None
            cycle.stop()
            self.context.tick = cycle.tick
            self.publish_values(force=True)
            self._flush_csv()
        self.channel.send(reply="stopped")

    def unload(self) -> None:
        self.stop()
        self._hook("cleanup")
        self.csv.CSVReload()
        self.channel.send(reply="unloaded")

    def housekeeping(self) -> None:
        """CSV writes reach the disk once a burst of them has ended (csv_functions.py)."""
        while True:
            time.sleep(CSV_FLUSH_INTERVAL)
            if self.csv is not None and self.csv.flush_due():
                self._flush_csv()

    def _flush_csv(self) -> None:
        try:
            self.csv.flush()
        except OSError as error:
            self.log(LogLevel.WARNING, f"CSV flush failed: {error}", self.context.tick)

    def forked(self) -> None:
        self._forked = True


def _limit_memory(megabytes: int) -> None:
    """RLIMIT_AS: an allocation past the limit fails in this process (MemoryError) instead
    of growing until the system's OOM killer picks a victim, maybe the runtime."""
    if megabytes:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent() -> None:
    """The kernel kills this process when the runtime process dies, however it dies. (Strictly
    when the runtime *thread* that started it ends: the runtime starts program processes from
    its reactor thread, which lives as long as the runtime.)"""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, 9)
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket-fd", type=int, required=True)
    parser.add_argument("--shared-fd", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, default=0, help="RLIMIT_AS in MiB (0: none)")
    args = parser.parse_args(argv)
    _die_with_parent()
    # The cycle thread shares this process's GIL with the command and sender threads only;
    # the short switch interval bounds how long they can delay it.
    sys.setswitchinterval(0.0005)
    channel = Channel(socket.socket(fileno=args.socket_fd))
    channel.send(reply="hello")
    shared = SharedState(args.shared_fd)
    _limit_memory(args.memory_mb)
    commands = channel.commands()
    compiled = {}
    for order in commands:
        if order["cmd"] != "check":
            break
        try:
            if order.get("kind") == "beremiz":
                check_library(order["program"], compiled)
            else:
                check_program(order["program"], order["name"], compiled)
            channel.send(reply="checked", error=None)
        except ProgramError as error:
            channel.send(reply="checked", error=str(error))
    else:
        os._exit(0)  # a spare the runtime no longer needs
    if order["cmd"] != "load":
        os._exit(0)
    os.chdir(order["directory"])
    details = types.SimpleNamespace(**order, memory_mb=args.memory_mb, compiled=compiled)
    if order.get("kind") == "beremiz":
        program = LibraryProgram(details, channel, shared)
    else:
        program = PythonProgram(details, channel, shared)
        own_pid = os.getpid()
        os.register_at_fork(
            after_in_parent=program.forked,
            after_in_child=lambda: os.getpid() != own_pid and os._exit(FORKED_EXIT))
    if program.load():
        threading.Thread(target=program.housekeeping, name="plc-housekeeping",
                         daemon=True).start()
        handlers = {"start": program.start, "stop": program.stop, "unload": program.unload}
        for command in commands:
            handlers[command["cmd"]]()
    else:
        for _ in commands:
            pass  # after a fault the runtime kills us; its commands mean nothing any more
    os._exit(0)  # the runtime closed the socket: it is done with us (or gone)


if __name__ == "__main__":
    sys.exit(main())
