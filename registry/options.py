"""The command-line options of ``plclink registry`` (kept apart from the service so building
the ``plclink`` parser stays light)."""
import argparse

from plc_protocol import metrics_endpoint
from plc_protocol.wamp_conventions import DEFAULT_REALM, DEFAULT_URL

DEFAULT_AUTHID = "registry"
DAY = 86400.0
FORCE_AGE = 8 * 3600.0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", default=".plclink",
                        help="where the default SQLite database lives (default %(default)s)")
    parser.add_argument("--database", metavar="URL",
                        help="SQLAlchemy database URL, e.g. postgresql://user:pass@host/plclink "
                             "(default: sqlite in STATE_DIR/registry.sqlite)")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help="router WebSocket URL (default %(default)s)")
    parser.add_argument("--realm", default=DEFAULT_REALM, help="realm (default %(default)s)")
    parser.add_argument("--authid", default=DEFAULT_AUTHID,
                        help="WAMP-CRA identity, a principal with role registry "
                             "(default %(default)s)")
    parser.add_argument("--secret-file", required=True,
                        help="file holding the WAMP-CRA secret (mode 600)")
    parser.add_argument("--ca-file", help="CA certificate of the router, for a wss:// url")
    parser.add_argument("--raw-days", type=_positive, default=1.0, metavar="DAYS",
                        help="keep every value sample this long (default %(default)s)")
    parser.add_argument("--aggregate-days", type=_positive, default=90.0, metavar="DAYS",
                        help="keep 1-minute min/max/mean this long (default %(default)s)")
    parser.add_argument("--rules", metavar="FILE",
                        help="alarm rules (YAML: rules: [{id: 'plc-*', rule: 'level > 90 for "
                             "5 s'}, ...]); replaces the rules read from a file before")
    parser.add_argument("--notify", metavar="FILE",
                        help="alarm notifications (YAML: webhooks and e-mail by priority; see "
                             "docs/alarms.md); 'plclink alarms notifications' shows them")
    parser.add_argument("--force-age", type=_positive, default=FORCE_AGE, metavar="SECONDS",
                        help="a force held longer raises a force_age notice (an alarm of low "
                             "priority, cleared on release; default %(default)g s = 8 h)")
    parser.add_argument("--max-backlog", type=int, default=1_000_000, metavar="RECORDS",
                        help="records kept in memory while the database is unavailable; "
                             "beyond, new value samples are dropped (default %(default)s)")
    parser.add_argument("--health-file",
                        help="rewrite this JSON file every few seconds with the router link and "
                             "the database's state, for a container healthcheck "
                             "(python3 -m plclink.healthcheck registry FILE)")
    metrics_endpoint.add_arguments(parser)
