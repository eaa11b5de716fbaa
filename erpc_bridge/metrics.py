"""The bridge's Prometheus metrics, per carried runtime (label ``runtime``; docs/metrics.md)."""
from prometheus_client import Counter, Gauge, Histogram

from plc_protocol.metrics_endpoint import PREFIX

REACHABLE = Gauge(PREFIX + "bridge_runtime_reachable", "1 while the carried runtime answers "
                  "over eRPC", ["runtime"])
CALL_SECONDS = Histogram(PREFIX + "bridge_call_duration_seconds", "eRPC calls to the carried "
                         "runtime, from sending to its answer", ["runtime"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                  2.5, 5, 10))
ERRORS = Counter(PREFIX + "bridge_erpc_errors", "Links to the runtime lost, and eRPC calls "
                 "left without an answer", ["runtime"])
RECONNECTS = Counter(PREFIX + "bridge_reconnects", "Times the bridge connected to the runtime "
                     "again after losing it", ["runtime"])


def track(plc_id: str) -> None:
    """A carried runtime's series exist from the start (0), so rate() and alerts see its first
    error or reconnect."""
    for metric in (CALL_SECONDS, ERRORS, RECONNECTS):
        metric.labels(plc_id)
    REACHABLE.labels(plc_id).set(0)


def forget(plc_id: str) -> None:
    """A runtime taken out of the bridge file leaves the metrics too."""
    for metric in (REACHABLE, CALL_SECONDS, ERRORS, RECONNECTS):
        try:
            metric.remove(plc_id)
        except KeyError:
            pass
