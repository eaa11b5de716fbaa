"""The runtime's Prometheus metrics (docs/metrics.md).

Most are read from the PLC object when Prometheus scrapes (status, overruns, log counts, trace
samples lost, the program process's memory): the runtime keeps these counts anyway, and a
scrape costs the scan cycle nothing. The scan-cycle lateness histogram takes, at each scrape,
the cycles measured since the last one (the shared ring holds the last 10,000). Watchdog trips
and program process starts are counted where they happen.
"""
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from plc_protocol.log_levels import LogLevel
from plc_protocol.metrics_endpoint import PREFIX
from plc_protocol.status import PLCStatus
from runtime_component.shared_state import LATENESS_SLOTS

WATCHDOG_TRIPS = Counter(PREFIX + "runtime_watchdog_trips", "Cycles that overran the "
                         "watchdog (the program process was killed)")
PROGRAM_STARTS = Counter(PREFIX + "runtime_program_process_starts", "Program processes a "
                         "program was loaded into (more than one: restarts)")
LATENESS = Histogram(PREFIX + "runtime_scan_lateness_seconds", "How late each scan cycle "
                     "started after its deadline",
                     buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5))


def _program_rss(pid) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class RuntimeCollector:
    def __init__(self, plc):
        self.plc = plc
        self.lateness_seen = {}     # program host -> lateness samples already observed

    def collect(self):
        plc = self.plc
        status = GaugeMetricFamily(PREFIX + "runtime_status", "1 for the PLC's current status",
                                   labels=["runtime", "status"])
        for member in PLCStatus:
            status.add_metric([plc.plc_id, member.value], 1 if plc.status == member else 0)
        yield status
        logs = CounterMetricFamily(PREFIX + "runtime_log_messages", "Log messages by level "
                                   "(ResetLogCount starts them again)", labels=["level"])
        for level, count in zip(LogLevel, plc.logs.counts()):
            logs.add_metric([level.name.lower()], count)
        yield logs
        host = plc.host
        stats = host.cycle_stats() if host is not None else {}
        self._observe_lateness(host)
        yield CounterMetricFamily(PREFIX + "runtime_overruns", "Scan cycles missed because "
                                  "one ran past its period (per program process)",
                                  value=stats.get("overruns") or 0)
        yield CounterMetricFamily(PREFIX + "runtime_trace_samples_lost", "Trace samples the "
                                  "program produced that no client received (per program "
                                  "process)", value=stats.get("trace_samples_lost") or 0)
        rss = _program_rss(stats.get("program_pid")) if stats else None
        memory = GaugeMetricFamily(PREFIX + "runtime_program_resident_memory_bytes",
                                   "Resident memory of the program process")
        if rss is not None:
            memory.add_metric([], rss)
        yield memory

    def _observe_lateness(self, host) -> None:
        if host is None:
            return
        count = host.shared.get("lateness_count")
        seen = self.lateness_seen.get(id(host), 0)
        if count <= seen:
            return
        ring = host.shared.lateness()     # slot n % LATENESS_SLOTS holds cycle n
        for cycle in range(count - min(count - seen, LATENESS_SLOTS), count):
            LATENESS.observe(max(0.0, ring[cycle % LATENESS_SLOTS]))
        self.lateness_seen = {id(host): count}   # a new program process starts again at 0


def install(plc) -> None:
    REGISTRY.register(RuntimeCollector(plc))
