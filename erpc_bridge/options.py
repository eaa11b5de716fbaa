"""The command-line options of ``plclink bridge``, apart from the service so that building the
``plclink`` parser stays light."""
import argparse
import os

from plc_protocol import metrics_endpoint
from plc_protocol.wamp_conventions import DEFAULT_REALM, DEFAULT_URL
from plc_protocol.wamp_transport import MAX_RETRY_DELAY

SECRET_ENV = "PLCLINK_BRIDGE_SECRET"
DEFAULT_AUTHID = "bridge"


def default_state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return os.path.join(base, "plclink", "bridge")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True,
                        help="bridge file (YAML: runtimes with id, uri, psk_file, poll_interval); "
                             "watched, edits apply without a restart")
    parser.add_argument("--url", default=DEFAULT_URL, help="router WebSocket URL "
                                                           "(default %(default)s)")
    parser.add_argument("--realm", default=DEFAULT_REALM, help="realm (default %(default)s)")
    parser.add_argument("--authid", default=DEFAULT_AUTHID,
                        help="WAMP-CRA identity, a bridge principal on the router "
                             "(default %(default)s)")
    parser.add_argument("--secret-file", help=f"file holding the WAMP-CRA secret (default: "
                                              f"environment variable {SECRET_ENV})")
    parser.add_argument("--psk-dir", help="PSK store for ERPCS:// runtimes without psk_file "
                                          "(default: PLCLINK_PSK_DIR or ~/.config/plclink/psk)")
    parser.add_argument("--state-dir", default=default_state_dir(),
                        help="where the bridge remembers each runtime's installed program md5, "
                             "which a Beremiz runtime cannot report (default: %(default)s)")
    parser.add_argument("--ca-file", help="CA certificate of the router, for a wss:// url "
                                          "(default: PLCLINK_CA_FILE, else the system's CAs)")
    parser.add_argument("--health-file",
                        help="rewrite this JSON file every few seconds with the router link and "
                             "each carried runtime's link, for a container healthcheck "
                             "(python3 -m plclink.healthcheck bridge FILE)")
    parser.add_argument("--max-retry-delay", type=float, default=MAX_RETRY_DELAY,
                        help="longest wait between router reconnect attempts, s; at most "
                             "(and by default) %(default)s, so the bridge is back within 10 s "
                             "of the router's return")
    metrics_endpoint.add_arguments(parser)
