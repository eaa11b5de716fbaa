"""``/metrics`` of a long-running service, in Prometheus' text format (docs/metrics.md).

Served by the service's own Twisted reactor (prometheus_client's MetricsResource), never from a
thread of its own. Metric names start with ``plclink_`` and follow Prometheus' conventions
(base units, ``_total`` for counters); each service's metrics live beside it
(``<package>/metrics.py``).
"""
import argparse

PREFIX = "plclink_"
DEFAULT_HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser, default_port: int | None = None) -> None:
    parser.add_argument("--metrics-port", type=int, default=default_port, metavar="PORT",
                        help="serve Prometheus metrics on http://HOST:PORT/metrics "
                             + ("(default: off)" if default_port is None
                                else "(default %(default)s; 0: off)"))
    parser.add_argument("--metrics-host", default=DEFAULT_HOST,
                        help="address of the metrics endpoint (default %(default)s; 0.0.0.0 "
                             "for all, e.g. in a container)")


def serve(args, registry=None):
    """Listen for scrapes when ``--metrics-port`` asks for it; the listening port or None.
    Call with the reactor running or about to run."""
    if not args.metrics_port:
        return None
    from prometheus_client import REGISTRY
    from prometheus_client.twisted import MetricsResource
    from twisted.internet import reactor
    from twisted.logger import Logger
    from twisted.web.resource import Resource
    from twisted.web.server import Site
    root = Resource()
    root.putChild(b"metrics", MetricsResource(registry or REGISTRY))
    port = reactor.listenTCP(args.metrics_port, Site(root), interface=args.metrics_host)
    Logger().info("metrics on http://{host}:{port}/metrics", host=args.metrics_host,
                  port=args.metrics_port)
    return port
