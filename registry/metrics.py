"""The registry's Prometheus metrics (docs/metrics.md): what it writes, what it answers, and
the router as the registry sees it (its runtime sessions; the realm's sessions and
registrations, asked of the meta API every ROUTER_POLL seconds)."""
import time

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from twisted.internet import task
from twisted.logger import Logger

from plc_protocol.metrics_endpoint import PREFIX

ROUTER_POLL = 15.0
QUERY_SECONDS = Histogram(PREFIX + "registry_query_duration_seconds", "Calls to the registry's "
                          "procedures, from arrival to answer", ["procedure"],
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                   2.5, 5, 10))
log = Logger()


class RegistryCollector:
    def __init__(self, registry, writer):
        self.registry, self.writer = registry, writer
        self.router_sessions = self.router_registrations = None

    def collect(self):
        writer = self.writer
        yield CounterMetricFamily(PREFIX + "registry_records_written", "Records committed to the "
                                  "database (rate(): records per second)", value=writer.written)
        yield CounterMetricFamily(PREFIX + "registry_records_dropped", "Records given up: value "
                                  "samples over --max-backlog, batches the database refused",
                                  value=writer.dropped)
        yield GaugeMetricFamily(PREFIX + "registry_backlog_records", "Records accepted and not "
                                "committed yet", value=writer.backlog)
        yield CounterMetricFamily(PREFIX + "registry_database_errors", "Failed commits "
                                  "(unavailable database, refused batch)", value=writer.errors)
        failing = writer.failing_since
        yield GaugeMetricFamily(PREFIX + "registry_database_failing_seconds", "For how long the "
                                "database has been unavailable (0: it is available)",
                                value=time.time() - failing if failing else 0)
        yield GaugeMetricFamily(PREFIX + "registry_router_connected", "1 while the registry is "
                                "joined to the router", value=int(self.registry.session is not None))
        yield GaugeMetricFamily(PREFIX + "registry_runtime_sessions", "Runtime sessions the "
                                "registry sees on the router",
                                value=len(set(self.registry.sessions.values())))
        for name, value, text in (
                ("router_sessions", self.router_sessions, "Sessions on the realm (meta API)"),
                ("router_registrations", self.router_registrations,
                 "Procedures registered on the realm (meta API)")):
            family = GaugeMetricFamily(PREFIX + name, text)
            if value is not None:
                family.add_metric([], value)
            yield family

    async def poll_router(self):
        session = self.registry.session
        if session is None:
            self.router_sessions = self.router_registrations = None
            return
        try:
            self.router_sessions = await session.call("wamp.session.count")
            listed = await session.call("wamp.registration.list")
            self.router_registrations = sum(len(ids) for ids in listed.values())
        except Exception as error:
            log.warn("metrics: the router's meta API did not answer: {error}", error=error)


def install(registry, writer) -> None:
    collector = RegistryCollector(registry, writer)
    REGISTRY.register(collector)
    task.LoopingCall(collector.poll_router).start(ROUTER_POLL, now=False)
