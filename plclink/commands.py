"""Subcommand registration: each adds its parser and a handler; imports stay lazy so that
``plclink --help`` and IDE commands start fast."""
import argparse
import importlib
import os
import sys

from plc_protocol.uris import DEFAULT_PORTS

DEFAULT_STATE_DIR = ".plclink"


def lazy_handler(module: str, function: str):
    """A handler that imports its service only when that command runs."""
    def handler(args):
        return getattr(importlib.import_module(module), function)(args)
    return handler


def add_router_options(parser, with_state=True):
    from router import tls_policy   # constants only: no crossbar import
    if with_state:
        parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR,
                            help="where generated files live: principals, node config "
                                 "(default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the router listens on (default %(default)s; 0.0.0.0 for all)")
    parser.add_argument("--ws-port", type=int, default=DEFAULT_PORTS["WAMP"],
                        help="WebSocket port for runtimes and tools (default %(default)s)")
    parser.add_argument("--rawsocket-port", type=int, default=8889,
                        help="rawsocket port (default %(default)s)")
    parser.add_argument("--web-port", type=int, default=8080,
                        help="dashboard port, with its WebSocket at /ws (default %(default)s)")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) for a WAMPS (wss://) "
                                           "endpoint ('plclink certs' makes a local one)")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--tls-port", type=int, default=8443,
                        help="WAMPS (wss://) port, used with --tls-cert/--tls-key "
                             "(default %(default)s)")
    parser.add_argument("--tls-min-version", choices=tls_policy.MIN_VERSIONS,
                        default=tls_policy.DEFAULT_MIN_VERSION,
                        help="oldest TLS version the wss:// and https:// endpoints accept "
                             "(default %(default)s: 1.2 with AEAD ciphers and forward secrecy, "
                             "and 1.3; docs/security.md)")
    parser.add_argument("--allowed-origin", action="append", default=[], metavar="URL",
                        help="a web page origin (https://HOST[:PORT]) besides the router's own "
                             "dashboard allowed to open a WebSocket to the router; repeatable")
    parser.add_argument("--realm", default="Automation", help="realm name (default %(default)s)")


def register_router(subparsers):
    from router.roles import ANONYMOUS_ROLES
    parser = subparsers.add_parser(
        "router", help="run the preconfigured crossbar router",
        description="Render router/node.yaml and run crossbar with it. Identities and secrets "
                    "come from the principals file (YAML), re-read whenever it changes.")
    add_router_options(parser)
    parser.add_argument("--principals",
                        help="principals file (default: STATE_DIR/principals.yaml)")
    parser.add_argument("--dev", action="store_true",
                        help="local development only: also accept anonymous clients as role ide "
                             "(from --anonymous-from; default this machine only)")
    parser.add_argument("--anonymous-role", choices=ANONYMOUS_ROLES,
                        help="also accept anonymous clients, as this role: for tools that cannot "
                             "authenticate, such as the Beremiz IDE's WAMP connector (ide: full "
                             "control, dashboard: read-only); only from --anonymous-from, "
                             "never from a web page")
    parser.add_argument("--anonymous-from", action="append", default=[], metavar="CIDR",
                        help="address or network (e.g. 10.1.2.0/24) anonymous clients may "
                             "connect from; repeatable; default: this machine (loopback) only")
    parser.add_argument("--site", help="this plant's name at headquarters (a principal with "
                                       "role site in HQ's principals file); with --uplink")
    parser.add_argument("--uplink", metavar="URL",
                        help="HQ's router (ws://HOST:PORT or wss://HOST:PORT): link this plant "
                             "to it; the plant keeps working when HQ is away")
    parser.add_argument("--node-key", help="this plant's node key (default: "
                                           "STATE_DIR/node.key; make it with 'plclink secrets "
                                           "--node-key')")
    parser.add_argument("--uplink-ca", help="CA file for a wss:// uplink (default: the system's)")
    parser.add_argument("--web-tls", action="store_true",
                        help="serve the dashboard over https:// (its WebSocket over wss://) with "
                             "--tls-cert, on --web-port")
    parser.add_argument("--people", help="named accounts (default: people.yaml beside the "
                                         "principals file; 'plclink users' writes it)")
    parser.add_argument("--audit-dir", help="the audit journal (default: STATE_DIR/audit)")
    parser.add_argument("--audit-keep-days", type=float, default=400,
                        help="keep audit records this long (default %(default)g days)")
    parser.add_argument("--login-max-failures", type=int, default=5,
                        help="failed logins in a row of one account from one address before "
                             "that account is locked out there (default %(default)s)")
    parser.add_argument("--login-address-max-failures", type=int, default=20,
                        help="failed logins in a row of any accounts from one address before "
                             "the address is locked out (default %(default)s)")
    parser.add_argument("--login-lockout", type=float, default=300, metavar="SECONDS",
                        help="how long a lockout lasts (default %(default)g s)")

    def handler(args):
        from router.launcher import run
        from router.node_config import RouterSettings
        if min(args.login_max_failures, args.login_address_max_failures) < 1 or \
                args.login_lockout < 0 or args.audit_keep_days <= 0:
            print("plclink router: --login-max-failures and --login-address-max-failures must "
                  "be at least 1, --login-lockout at least 0, --audit-keep-days positive",
                  file=sys.stderr)
            return 2
        settings = RouterSettings(
            principals=args.principals or os.path.join(args.state_dir, "principals.yaml"),
            realm=args.realm, host=args.host, websocket_port=args.ws_port,
            rawsocket_port=args.rawsocket_port, web_port=args.web_port, dev=args.dev,
            anonymous_role=args.anonymous_role,
            tls_cert=args.tls_cert, tls_key=args.tls_key, tls_port=args.tls_port,
            site=args.site, uplink=args.uplink, uplink_ca=args.uplink_ca,
            node_key=args.node_key or os.path.join(args.state_dir, "node.key"),
            web_tls=args.web_tls, allowed_origins=tuple(args.allowed_origin),
            anonymous_from=tuple(args.anonymous_from), tls_min_version=args.tls_min_version,
            people=args.people, audit_dir=args.audit_dir or os.path.join(args.state_dir, "audit"),
            audit_keep_days=args.audit_keep_days, login_max_failures=args.login_max_failures,
            login_address_max_failures=args.login_address_max_failures,
            login_lockout_s=args.login_lockout)
        return run(settings, os.path.abspath(os.path.join(args.state_dir, "router")))
    parser.set_defaults(handler=handler)


def register_runtime(subparsers):
    from runtime_component import options
    parser = subparsers.add_parser(
        "runtime", help="run a PLC runtime",
        description="Run a PLC runtime: the PLC object, its cyclic task, and its WAMP component "
                    "(procedures <ID>.<Method>, events <ID>.status/log/trace).")
    options.add_arguments(parser)

    parser.set_defaults(handler=lazy_handler("runtime_component.service", "run"))


def register_up(subparsers):
    parser = subparsers.add_parser(
        "up", help="run the whole suite on localhost (router, runtimes, bridge, dashboard)",
        description="Start the router (with the dashboard), demo WAMP runtimes, a demo eRPC "
                    "runtime and the bridge carrying it, all on 127.0.0.1, generating local "
                    "secrets in STATE_DIR on first use; Ctrl-C stops everything.")
    add_router_options(parser)
    parser.add_argument("--runtimes", type=int, default=2,
                        help="number of demo WAMP runtimes plc-01, plc-02, ... (default %(default)s)")
    parser.add_argument("--erpc-port", type=int, default=DEFAULT_PORTS["ERPC"],
                        help="eRPC port of the demo eRPC runtime erpc-07, which the bridge "
                             "carries onto the router (default %(default)s)")
    parser.add_argument("--opcua-port", type=int, default=4840,
                        help="OPC UA port of the gateway (default %(default)s; 0: no gateway)")
    parser.add_argument("--metrics-port", type=int, default=9300,
                        help="first of the services' Prometheus ports: registry, bridge, "
                             "erpc-07, each runtime, the OPC UA gateway (default %(default)s; "
                             "0: no metrics)")
    parser.add_argument("--rules", metavar="FILE",
                        help="the registry's alarm rules and priorities (docs/alarms.md)")
    parser.add_argument("--notify", metavar="FILE",
                        help="the registry's alarm notifications: webhooks, e-mail "
                             "(docs/alarms.md)")

    parser.set_defaults(handler=lazy_handler("plclink.suite", "run_suite"))


def register_secrets(subparsers):
    from plclink import secrets_command
    parser = subparsers.add_parser(
        "secrets", help="generate a deployment's secrets (principals, secret files, PSK, TLS)",
        description=secrets_command.__doc__)
    secrets_command.add_arguments(parser)
    parser.set_defaults(handler=secrets_command.run)


def register_ide(subparsers):
    from ide_component.cli_parsers import register_plc_commands
    register_plc_commands(subparsers)


def register_fleet(subparsers):
    from ide_component.cli_parsers import register_fleet_command
    register_fleet_command(subparsers)


def register_certs(subparsers):
    parser = subparsers.add_parser(
        "certs", help="a local CA and a router certificate for WAMPS; shows their expiry",
        description="Write ca.pem/ca.key and server.pem/server.key into a directory, or keep "
                    "them: the server certificate is issued again (by the same CA) when --host "
                    "names differ from those it is for, or when it expires within 30 days. "
                    "Prints what each certificate is for and until when. Start the router with "
                    "--tls-cert DIR/server.pem --tls-key DIR/server.key; the IDE verifies it with "
                    "PLCLINK_CA_FILE=DIR/ca.pem, runtimes, the bridge, the registry and the OPC "
                    "UA gateway with --ca-file DIR/ca.pem. ca.key stays where it was made.")
    parser.add_argument("--out", default=os.path.join(DEFAULT_STATE_DIR, "tls"),
                        help="output directory (default %(default)s)")
    add_tls_host_argument(parser, "--host")
    parser.add_argument("--force", action="store_true", help="replace everything, CA included")

    def handler(args):
        from router import certificates
        try:
            if args.force:
                paths, done = certificates.generate(args.out, args.hosts or
                                                    certificates.DEFAULT_HOSTS), "created anew"
            else:
                paths, done = certificates.ensure(args.out, args.hosts)
        except (certificates.CertificateError, OSError) as error:
            print(f"plclink certs: {error}", file=sys.stderr)
            return 1
        print(done)
        for name, path in paths.items():
            print(f"{name:11} {path}")
        print("\n".join(certificates.describe(args.out)))
        return 0
    parser.set_defaults(handler=handler)


def add_tls_host_argument(parser, option: str) -> None:
    """Names and addresses of the router in its certificate (``plclink certs``, ``secrets``)."""
    def host(text):
        from router.certificates import checked_host
        try:
            return checked_host(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parser.add_argument(option, action="append", dest="hosts", type=host,
                        help="name or address clients use to reach the router (repeatable; "
                             "default localhost and 127.0.0.1 for a new certificate; when given "
                             "and different, the certificate is issued again)")


def _register_service(subparsers, name, package, help_text, description):
    """A long-running service: its options from ``<package>.options``, run by
    ``<package>.service.run``."""
    options = importlib.import_module(f"{package}.options")
    parser = subparsers.add_parser(name, help=help_text, description=description)
    options.add_arguments(parser)
    parser.set_defaults(handler=lazy_handler(f"{package}.service", "run"))


def register_bridge(subparsers):
    _register_service(
        subparsers, "bridge", "erpc_bridge", "carry eRPC runtimes onto the router",
        "Connect to eRPC runtimes (ERPC://, ERPCS://) listed in a YAML file and make each "
        "appear on the router like a native runtime: procedures <ID>.<Method>, events "
        "<ID>.status and <ID>.log.")


def register_registry(subparsers):
    _register_service(
        subparsers, "registry", "registry",
        "remember the fleet: runtimes, values, installs, control calls, alarms",
        "Record every runtime, status change, log message, value, install and control call on "
        "the realm in a database (SQLite in STATE_DIR by default, PostgreSQL with --database), "
        "keep installed programs for rollback, raise alarms, and answer plclink.registry.* "
        "(fleet list/status/history, alarms, the dashboard).")


def register_opcua(subparsers):
    _register_service(
        subparsers, "opcua", "opcua_gateway",
        "serve the realm's runtimes to SCADA and HMI over OPC UA",
        "An OPC UA server (Basic256Sha256, user names and passwords) whose address space is "
        "Objects/<runtime ID>/<variable name>, kept current from what the router carries; "
        "writing a variable sets it once through <ID>.Write. See docs/opcua.md.")


def register_discover(subparsers):
    parser = subparsers.add_parser(
        "discover", help="list the eRPC runtimes announced on the LAN (zeroconf)",
        description="Browse the LAN for _Beremiz._tcp.local. announcements (plclink runtimes "
                    "with --announce, Beremiz runtimes started with -n NAME) and list each "
                    "with the URI the Beremiz IDE would connect to. See docs/discovery.md.")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="how long to listen (default %(default)s)")
    parser.add_argument("--interface", action="append", default=[], metavar="ADDRESS",
                        help="browse on the interface with this address only (repeatable; "
                             "default: all)")
    parser.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    parser.set_defaults(handler=lazy_handler("ide_component.discovery", "run_discover"))


def register_alarms(subparsers):
    from ide_component.cli_parsers import register_alarms_command
    register_alarms_command(subparsers)


def register_people(subparsers):
    """users, audit, sessions, keys, sign (docs/people.md)."""
    from plclink import people_commands, signing_commands, users_command
    users_command.register(subparsers)
    people_commands.register_audit(subparsers)
    people_commands.register_sessions(subparsers)
    signing_commands.register(subparsers)


REGISTRARS = [register_up, register_router, register_runtime, register_bridge, register_registry,
              register_opcua, register_certs, register_secrets, register_people, register_ide,
              register_fleet, register_alarms, register_discover]
