"""The cyclic task: calls the program body every period, in its own thread.

The cycle owns a thread so that neither network I/O nor a router outage can delay or stop it;
a watchdog thread checks that no cycle runs longer than allowed. Deadlines are absolute
(start + n × period), so jitter does not accumulate into drift; missed cycles are skipped and
counted as overruns rather than run in a burst.
"""
import os
import threading
import time
from collections import deque

from runtime_component.watchdog import WatchdogTimeout, interrupt_thread


REALTIME_PRIORITY = 10  # SCHED_FIFO, low among real-time tasks: above every normal process


def _realtime_priority() -> bool:
    """Give the calling (cycle) thread a real-time priority where the system allows it, as PLC
    runtimes do: under load, a normal thread may wait for a CPU for milliseconds after its
    deadline. Without the privilege (CAP_SYS_NICE) the cycle runs at normal priority."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        return True
    except (AttributeError, OSError):
        return False


class ScanCycle:
    def __init__(self, period: float, body, on_fault, watchdog: float, before=None, after=None):
        """``body(tick)`` runs each cycle; ``before()``/``after()`` once around them (start/stop
        hooks); ``on_fault(message)`` is called once from whichever thread saw the fault."""
        self.period = period
        self.watchdog = watchdog
        self._body, self._before, self._after = body, before, after
        self._on_fault = on_fault
        self._stop = threading.Event()
        self._busy_since = None
        self._faulted = False
        self._fault_lock = threading.Lock()
        self.tick = 0
        self.realtime = False
        self.overruns = 0
        self.lateness = deque(maxlen=10000)  # seconds each cycle started after its deadline
        self._thread = threading.Thread(target=self._run, name="plc-cycle", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="plc-watchdog", daemon=True)

    def start(self, first_tick: int = 0) -> None:
        self.tick = first_tick
        self._thread.start()
        self._watcher.start()

    def stop(self, timeout: float) -> bool:
        """Ask the cycle to end after the current one (and the stop hook); True if it did."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            self._fault(f"stop did not complete within {timeout:g} s")
            interrupt_thread(self._thread)
            return False
        return not self._faulted

    def stats(self) -> dict:
        """Timing of recent cycles, for operators and the jitter benchmark."""
        lateness = sorted(self.lateness)

        def percentile(fraction):
            return lateness[min(len(lateness) - 1, int(fraction * len(lateness)))] * 1000 \
                if lateness else None
        return {"period_ms": self.period * 1000, "tick": self.tick, "overruns": self.overruns,
                "realtime": self.realtime,
                "cycles_measured": len(lateness), "lateness_ms_p50": percentile(0.5),
                "lateness_ms_p99": percentile(0.99), "lateness_ms_max": percentile(1.0)}

    def _guarded(self, function, *args) -> bool:
        self._busy_since = time.monotonic()
        try:
            function(*args)
            return True
        except WatchdogTimeout:
            return False
        except Exception as error:
            self._fault(f"{getattr(function, '__name__', 'program')} raised "
                        f"{type(error).__name__}: {error}")
            return False
        finally:
            self._busy_since = None

    def _run(self) -> None:
        self.realtime = _realtime_priority()
        if self._before is not None and not self._guarded(self._before):
            return
        deadline = time.monotonic()
        while not self._stop.is_set():
            self.lateness.append(time.monotonic() - deadline)
            if not self._guarded(self._body, self.tick):
                return
            self.tick = (self.tick + 1) & 0xFFFFFFFF
            deadline += self.period
            delay = deadline - time.monotonic()
            if delay < 0:
                missed = int(-delay // self.period) + 1
                self.overruns += missed
                deadline += missed * self.period
                delay = deadline - time.monotonic()
            self._stop.wait(max(delay, 0))
        if self._after is not None:
            self._guarded(self._after)

    def _watch(self) -> None:
        interval = min(self.period, 0.05)
        while self._thread.is_alive() and not self._faulted:
            busy_since = self._busy_since
            if busy_since is not None and time.monotonic() - busy_since > self.watchdog:
                self._fault(f"watchdog: a cycle ran longer than {self.watchdog:g} s")
                interrupt_thread(self._thread)
                return
            time.sleep(interval)

    def _fault(self, message: str) -> None:
        with self._fault_lock:
            if self._faulted:
                return
            self._faulted = True
        self._stop.set()
        self._on_fault(message)
