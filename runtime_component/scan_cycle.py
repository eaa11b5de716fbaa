"""The cyclic task of a Python program: calls the body every period, in the program process.

It runs in its own thread of the program process (the process's main thread serves the
runtime's commands), at real-time priority where the system allows it. Deadlines are absolute
(start + n × period), so jitter does not accumulate into drift; missed cycles are skipped and
counted as overruns rather than run in a burst.

Everything the runtime needs to see of the cycle (tick, lateness, the busy mark its watchdog
reads) is stored into the shared memory without waiting on anyone; the watchdog itself runs in
the runtime process, which kills the whole program process when a cycle overruns it, so a cycle
stuck in a loop or a C call is ended for good.
"""
import os
import threading
import time

REALTIME_PRIORITY = 10  # SCHED_FIFO, low among real-time tasks: above every normal process


def realtime_priority() -> bool:
    """Give the calling (cycle) thread a real-time priority where the system allows it, as PLC
    runtimes do: under load, a normal thread may wait for a CPU for milliseconds after its
    deadline. Without the privilege (CAP_SYS_NICE) the cycle runs at normal priority."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        return True
    except (AttributeError, OSError):
        return False


def normal_priority() -> None:
    """Back to the normal scheduling policy (the thread that started a library's cycle)."""
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError):
        pass


class ScanCycle:
    def __init__(self, period: float, shared, body, on_fault, before=None, after=None,
                 on_running=None):
        """``body(tick)`` runs each cycle; ``before()``/``after()`` once around them (start/stop
        hooks); ``on_running()`` once the first cycle completed (the PLC is then Started);
        ``on_fault(name, error)`` when program code raised: the cycle ends."""
        self.period = period
        self.shared = shared
        self._body, self._before, self._after = body, before, after
        self._on_fault, self._on_running = on_fault, on_running
        self._stop = threading.Event()
        self.tick = shared.get("tick")
        self._thread = threading.Thread(target=self._run, name="plc-cycle", daemon=True)

    def start(self) -> None:
        self.shared.set("lateness_count", 0)
        self.shared.set("overruns", 0)
        self._thread.start()

    def stop(self) -> None:
        """End after the current cycle and the stop hook (the runtime bounds the wait)."""
        self._stop.set()
        self._thread.join()

    def _guarded(self, name, function, *args) -> bool:
        shared = self.shared
        shared.set("busy_since", time.monotonic_ns())
        try:
            function(*args)
            return True
        except BaseException as error:  # SystemExit too: the program must not end its host
            self._on_fault(name, error)
            return False
        finally:
            shared.set("busy_since", 0)

    def _run(self) -> None:
        shared = self.shared
        shared.set("realtime", int(realtime_priority()))
        if self._before is not None and not self._guarded("start", self._before):
            return
        deadline = time.monotonic()
        running = False
        while not self._stop.is_set():
            shared.add_lateness(time.monotonic() - deadline)
            if not self._guarded("cycle", self._body, self.tick):
                return
            self.tick = (self.tick + 1) & 0xFFFFFFFF
            shared.set("tick", self.tick)
            if not running:
                running = True
                if self._on_running is not None:
                    self._on_running()
            deadline += self.period
            delay = deadline - time.monotonic()
            if delay < 0:
                missed = int(-delay // self.period) + 1
                shared.set("overruns", shared.get("overruns") + missed)
                deadline += missed * self.period
                delay = deadline - time.monotonic()
            self._stop.wait(max(delay, 0))
        if self._after is not None:
            self._guarded("stop", self._after)
