"""The command-line options of ``plclink runtime``, kept apart from the service so that
building the ``plclink`` parser does not import the reactor."""
import argparse

from plc_protocol import metrics_endpoint
from plc_protocol.uris import DEFAULT_PORTS

DEFAULT_MEMORY_MB = 512   # the program process's address space (RLIMIT_AS)
MIN_MEMORY_MB = 128       # below this a Python program process cannot even start


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", required=True,
                        help="working directory: installed program, extra files, wampconf.json, "
                             "wamp.secret (created if missing)")
    parser.add_argument("--wampconf", help="WAMP configuration file (default: WORKDIR/wampconf.json)")
    parser.add_argument("--id", help="runtime ID (overrides wampconf's ID; also the WAMP-CRA authid)")
    parser.add_argument("--url", help="router WebSocket URL, e.g. ws://127.0.0.1:8888 "
                                      "(overrides wampconf's url and turns WAMP on)")
    parser.add_argument("--realm", help="realm (overrides wampconf's realm)")
    parser.add_argument("--secret-file", help="WAMP-CRA secret file (default: wamp.secret beside "
                                              "wampconf.json, or PLCLINK_WAMP_SECRET)")
    parser.add_argument("--no-wamp", action="store_true", help="do not connect to a router")
    parser.add_argument("--ca-file", help="CA certificate that signed the router's certificate, "
                                          "for a wss:// url (default: PLCLINK_CA_FILE, else the "
                                          "system's CAs)")
    parser.add_argument("--period-ms", type=float, default=10.0,
                        help="cycle period in milliseconds (default 10)")
    parser.add_argument("--watchdog-ms", type=float,
                        help="longest a cycle may run before the program process is killed "
                             "and the PLC goes Broken (default: 50 periods, at least 500 ms)")
    parser.add_argument("--program-memory-mb", type=int, default=DEFAULT_MEMORY_MB,
                        help="address space the program process may use, in MiB; past it the "
                             "program's allocations fail and the PLC goes Broken "
                             "(default %(default)s; 0: no limit)")
    parser.add_argument("--autostart", action="store_true",
                        help="start the installed program when the runtime starts")
    parser.add_argument("--program", help="initial program: installed at start when the runtime "
                                          "has no program yet (a transferred program is kept)")
    parser.add_argument("--extra", action="append", default=[], metavar="FILE",
                        help="extra file to install with --program (repeatable)")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE[,...]",
                        help="a label of this runtime (site, line, cell, product, ...), "
                             "published with its status for `--selector` (repeatable)")
    parser.add_argument("--psk-file", help="PSK file holding 'ID:secret' for GetPLCID pairing")
    parser.add_argument("--trusted-keys", metavar="DIR",
                        help="install only programs signed by a key whose NAME.pub is in DIR "
                             "('plclink keys new'); others are refused and the installed "
                             "program is kept")
    add_erpc_arguments(parser)
    metrics_endpoint.add_arguments(parser)


def add_erpc_arguments(parser) -> None:
    """The runtime's eRPC options (``plclink runtime``)."""
    parser.add_argument("--erpc", action="store_true",
                        help="serve the PLC object over eRPC (Beremiz ERPC:// URIs)")
    parser.add_argument("--erpc-host", default="127.0.0.1",
                        help="address the eRPC server listens on (default %(default)s; "
                             "eRPC is unauthenticated: expose it only behind --psk-stunnel-port)")
    parser.add_argument("--erpc-port", type=int, default=DEFAULT_PORTS["ERPC"],
                        help="eRPC TCP port (default %(default)s; 0 picks a free one)")
    parser.add_argument("--announce", action="store_true",
                        help="announce the eRPC server on the LAN by zeroconf "
                             "(_Beremiz._tcp.local., as Beremiz's -n does), so the Beremiz IDE, "
                             "'plclink discover' and a bridge with 'discover:' find it; needs "
                             "--erpc and an --erpc-host other than 127.0.0.1")
    parser.add_argument("--psk-stunnel-port", type=int, metavar="PORT",
                        help="also serve ERPCS:// (TLS-PSK) on 127.0.0.1:PORT through a stunnel "
                             "child process (needs --erpc; the PSK file is --psk-file, created "
                             "if missing, default WORKDIR/psk.txt)")
