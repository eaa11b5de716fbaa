"""The OPC UA gateway's Prometheus metrics (docs/metrics.md)."""
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily

from plc_protocol.metrics_endpoint import PREFIX

WRITES = Counter(PREFIX + "opcua_writes", "Variable writes by OPC UA clients, by result "
                 "(an OPC UA status code name)", ["result"])


class GatewayCollector:
    def __init__(self, gateway):
        self.gateway = gateway

    def collect(self):
        space = self.gateway.space
        runtimes = space.runtimes.values() if space is not None else ()
        yield GaugeMetricFamily(PREFIX + "opcua_runtimes", "Runtimes in the address space",
                                value=len(runtimes))
        yield GaugeMetricFamily(PREFIX + "opcua_variables", "Variable nodes in the address "
                                "space", value=sum(len(nodes.order) for nodes in runtimes))
        yield GaugeMetricFamily(PREFIX + "opcua_updates_queued", "Address space updates "
                                "waiting (grows when the gateway falls behind)",
                                value=self.gateway.queue.qsize())
        yield GaugeMetricFamily(PREFIX + "opcua_router_connected", "1 while the gateway is "
                                "joined to the router", value=int(self.gateway.session is not None))


def install(gateway) -> None:
    REGISTRY.register(GatewayCollector(gateway))
