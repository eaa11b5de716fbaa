"""Many runtimes in one process, for benchmarks: each one a real PLCObject with its own WAMP
session (runtime_component.wamp_component), exactly what ``plclink runtime`` runs, minus a
process per runtime, so that 100 runtimes fit on a small machine.

    python bench/runtime_pool.py --state-dir STATE --url ws://127.0.0.1:8888 \\
        --workdir-root DIR ID [ID ...]

The IDs must be principals of the router (local_setup.ensure_principals); each gets its
wampconf.json and wamp.secret under STATE the way the test harness prepares a runtime. Prints
"pool ready: N joined" once every runtime has joined; SIGTERM stops them all.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import txaio  # noqa: E402
from twisted.internet import reactor  # noqa: E402
from twisted.logger import Logger  # noqa: E402

from plclink.local_setup import ensure_runtime_dir  # noqa: E402
from runtime_component.plc_object import PLCObject  # noqa: E402
from runtime_component.wamp_component import RuntimePublisher, make_component  # noqa: E402
from runtime_component.wampconf import load_wampconf, read_secret  # noqa: E402

log = Logger()


def host(plc_id: str, args, on_join) -> PLCObject:
    """One runtime as runtime_component.service assembles it."""
    conf_dir = ensure_runtime_dir(args.state_dir, plc_id, args.url, args.realm)
    conf = load_wampconf(os.path.join(conf_dir, "wampconf.json"))
    workdir = os.path.join(args.workdir_root, plc_id)
    os.makedirs(workdir, exist_ok=True)
    plc = PLCObject(plc_id, workdir)
    publisher = RuntimePublisher(plc)
    plc.on_status = publisher.status_changed
    plc.logs.on_message = publisher.log_added
    plc.boot()
    publisher.start()
    component = make_component(plc, conf, read_secret(conf_dir, plc_id), publisher)
    component.on("join", on_join)
    component.start(reactor)
    return plc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", required=True, help="the router's state directory")
    parser.add_argument("--url", required=True, help="router WebSocket URL")
    parser.add_argument("--realm", default="Automation", help="realm (default %(default)s)")
    parser.add_argument("--workdir-root", required=True, help="runtimes' working directories")
    parser.add_argument("ids", nargs="+", metavar="ID", help="runtime IDs to host")
    args = parser.parse_args(argv)
    txaio.use_twisted()
    txaio.start_logging(level="warn")
    joined = set()
    plcs = []

    def on_join(session, details):
        joined.add(details.authid)
        if len(joined) == len(args.ids):
            log.warn("pool ready: {count} joined", count=len(joined))  # stdout is the log

    def start():
        plcs.extend(host(plc_id, args, on_join) for plc_id in args.ids)
    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: [plc.shutdown() for plc in plcs])
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
