"""The command-line options of ``plclink opcua`` (apart from the service, so that building the
``plclink`` parser stays light)."""
import argparse

from plc_protocol import metrics_endpoint
from plc_protocol.wamp_conventions import DEFAULT_REALM, DEFAULT_URL

DEFAULT_AUTHID = "opcua"
DEFAULT_PORT = 4840          # OPC UA's registered port
APPLICATION_URI = "urn:plclink:opcua-gateway"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=DEFAULT_URL,
                        help="router WebSocket URL (default %(default)s)")
    parser.add_argument("--realm", default=DEFAULT_REALM, help="realm (default %(default)s)")
    parser.add_argument("--authid", default=DEFAULT_AUTHID,
                        help="WAMP-CRA identity, a principal with role opcua (default %(default)s)")
    parser.add_argument("--secret-file", required=True,
                        help="file holding the WAMP-CRA secret (mode 600)")
    parser.add_argument("--ca-file", help="CA certificate of the router, for a wss:// url")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the OPC UA server listens on (default %(default)s; "
                             "0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="OPC UA port (default %(default)s)")
    parser.add_argument("--hostname", action="append", dest="hostnames",
                        help="name or address clients use to reach this server, for its "
                             "endpoint URL and certificate (repeatable; default: --host, "
                             "and localhost)")
    parser.add_argument("--people",
                        help="the router's people file (plclink users): each person logs in "
                             "with their own name and password; viewers read, operators and "
                             "above write within their runtimes scope")
    parser.add_argument("--users",
                        help="OPC UA users file for machines (YAML: users: {NAME: {role: "
                             "ide|dashboard, password_file: FILE}}); ide writes, dashboard reads")
    parser.add_argument("--anonymous-read", action="store_true",
                        help="also admit anonymous clients, read-only")
    parser.add_argument("--tls-dir", default=".plclink/tls",
                        help="the suite's CA directory (plclink certs): the server's certificate "
                             "opcua.pem/opcua-key.pem is issued there by ca.key when missing "
                             "(default %(default)s)")
    parser.add_argument("--certificate", help="the server's certificate (PEM, RSA 2048), "
                                              "instead of one issued in --tls-dir")
    parser.add_argument("--private-key", help="the private key of --certificate (PEM)")
    metrics_endpoint.add_arguments(parser)
