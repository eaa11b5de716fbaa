"""Many runtimes' router traffic from one process, for the registry benchmark: for each ID the
events a running plclink runtime publishes (``<ID>.status`` retained, ``<ID>.values`` every
500 ms with 8 variables, an INFO ``<ID>.log`` every 10 s) and the reading procedures the
registry and ``fleet status`` call (GetPLCstatus, ExtendedCall GetVariables).

What the registry sees on the router is the same as with real runtimes; the PLCs behind are
left out so that 100 of them fit beside the router and the registry on a small machine (real
runtimes: bench_ide.py). It joins as the bridge principal, which may speak for the IDs its
``carries`` patterns match (harness.Router's: ``erpc-*``).

    python bench/simulated_fleet.py --url URL --secret-file FILE [--interval S] [--stamped N] ID [ID ...]

``--stamped N`` replaces the tank's variables by N LREALs, the first holding the wall-clock time
of the publication (a latency probe for gateways, bench_opcua.py), the others changing too.

Prints "fleet ready: N runtimes" once everything is registered and published.
"""
import argparse
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import txaio  # noqa: E402
from autobahn.twisted.component import Component  # noqa: E402
from autobahn.wamp.types import PublishOptions  # noqa: E402
from twisted.internet import reactor, task  # noqa: E402
from twisted.logger import Logger  # noqa: E402

from plc_protocol.iec_types import encode  # noqa: E402
from plc_protocol.wamp_conventions import (EVENT_LOG, EVENT_STATUS, EVENT_VALUES,  # noqa: E402
                                           SERIALIZERS, procedure, topic)
from plc_protocol.wamp_transport import transport_config  # noqa: E402

VARIABLES = [("level", "REAL"), ("flow", "REAL"), ("pressure", "LREAL"), ("temperature", "REAL"),
             ("speed", "DINT"), ("count", "UDINT"), ("pump", "BOOL"), ("valve", "BOOL")]
TABLE = json.dumps([{"index": i, "name": n, "type": t}
                    for i, (n, t) in enumerate(VARIABLES)]).encode()
VALUES_INTERVAL = 0.5
LOG_EVERY = 20          # values periods between two INFO logs
MD5 = "0123456789abcdef0123456789abcdef"
log = Logger()


def stamped_variables(count: int) -> list:
    return [("stamp", "LREAL")] + [(f"v{n}", "LREAL") for n in range(1, count)]


class SimulatedRuntime:
    variables = VARIABLES
    table = TABLE

    def __init__(self, plc_id: str, phase: float):
        self.plc_id = plc_id
        self.tick = int(phase * 1000)
        self.periods = 0
        self.logs = [0, 0, 0, 0]
        self.session = None

    def status(self):
        return ["Started", list(self.logs)]

    def sample(self) -> bytes:
        if self.variables is not VARIABLES:
            now = time.time()
            return b"".join(encode("LREAL", now if n == 0 else self.tick + n)
                            for n in range(len(self.variables)))
        t = self.tick / 100.0
        values = [50 + 40 * math.sin(t), 10 + math.cos(t), 1 + 0.1 * math.sin(t / 3),
                  20 + (self.tick % 50) / 10, self.tick % 1500, self.tick,
                  math.sin(t) < 0, self.tick % 20 < 10]
        return b"".join(encode(type_, value) for (_, type_), value in zip(VARIABLES, values))

    def publish(self):
        if self.session is None:
            return
        self.tick += 50
        self.periods += 1
        self.session.publish(topic(self.plc_id, EVENT_VALUES), self.tick, self.sample())
        if self.periods % LOG_EVERY == 0:
            self.logs[2] += 1
            self.session.publish(topic(self.plc_id, EVENT_LOG), 2, self.logs[2],
                                 f"cycle {self.tick}", self.tick, 0, 0)
            self.publish_status()

    def publish_status(self):
        self.session.publish(topic(self.plc_id, EVENT_STATUS), *self.status(),
                             options=PublishOptions(retain=True), md5=MD5, bridged=False,
                             platform="simulated")

    async def attach(self, session):
        await session.register(self.status, procedure(self.plc_id, "GetPLCstatus"))
        await session.register(lambda method, argument: self.table,
                               procedure(self.plc_id, "ExtendedCall"))
        self.session = session
        self.publish_status()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--realm", default="Automation")
    parser.add_argument("--secret-file", required=True, help="the bridge principal's secret")
    parser.add_argument("--interval", type=float, default=VALUES_INTERVAL,
                        help="seconds between two <ID>.values (default %(default)s)")
    parser.add_argument("--stamped", type=int, metavar="N",
                        help="N LREAL variables, the first the publication's wall-clock time")
    parser.add_argument("ids", nargs="+", metavar="ID")
    args = parser.parse_args(argv)
    with open(args.secret_file) as handle:
        secret = handle.read().strip()
    if args.stamped:
        SimulatedRuntime.variables = stamped_variables(args.stamped)
        SimulatedRuntime.table = json.dumps([{"index": i, "name": n, "type": t} for i, (n, t)
                                             in enumerate(SimulatedRuntime.variables)]).encode()
    txaio.use_twisted()
    txaio.start_logging(level="warn")
    runtimes = [SimulatedRuntime(plc_id, n / len(args.ids)) for n, plc_id in enumerate(args.ids)]
    component = Component(transports=[transport_config(args.url, SERIALIZERS)], realm=args.realm,
                          authentication={"wampcra": {"authid": "bridge", "secret": secret}})

    @component.on_join
    async def joined(session, details):
        for runtime in runtimes:
            await runtime.attach(session)
        for n, runtime in enumerate(runtimes):   # spread the publications over the period
            reactor.callLater(args.interval * n / len(runtimes),
                              lambda r=runtime: task.LoopingCall(r.publish).start(args.interval))
        log.warn("fleet ready: {count} runtimes", count=len(runtimes))

    component.start(reactor)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
