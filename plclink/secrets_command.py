"""``plclink secrets``: every secret a deployment needs, generated outside the image and git.

Used for the docker-compose stack (``deploy/secrets/``) and for any multi-machine install:
principals for the router, one WAMP-CRA secret file per runtime, for the bridge and for the
registry, the registry's PostgreSQL password (pgpass), IDE credentials, PSK files for eRPC
runtimes behind TLS-PSK, and a local CA with the router's certificate. Existing secrets are kept; ``--rotate ID`` replaces one.
"""
import os
import sys

from plc_protocol.uris import validate_plc_id


def add_arguments(parser) -> None:
    parser.add_argument("--out", default=os.path.join("deploy", "secrets"),
                        help="directory to write (mode 700; default %(default)s)")
    parser.add_argument("--runtimes", default="plc-01,plc-02",
                        help="comma-separated WAMP runtime IDs (default %(default)s)")
    parser.add_argument("--bridged", default="erpc-07",
                        help="comma-separated IDs the bridge carries (default %(default)s)")
    parser.add_argument("--psk", default="erpc-07",
                        help="comma-separated eRPC runtime IDs that get a TLS-PSK file "
                             "(default %(default)s)")
    parser.add_argument("--router-url", default="ws://127.0.0.1:8888",
                        help="router URL written into the IDE credentials (default %(default)s)")
    parser.add_argument("--tls-host", action="append", dest="tls_hosts",
                        help="name or address of the router in its certificate (repeatable; "
                             "default localhost and 127.0.0.1)")
    parser.add_argument("--node-key", action="store_true",
                        help="also a node key for a plant router linked to HQ: node.key (give "
                             "it to 'plclink router --node-key') and node.pub (for HQ)")
    parser.add_argument("--site", action="append", default=[], metavar="NAME=PATTERNS",
                        help="at HQ: accept plant NAME, which carries runtime IDs PATTERNS "
                             "(comma-separated IDs or 'prefix*'), its public key read from "
                             "../NAME/node.pub beside --out (repeatable)")
    parser.add_argument("--rotate", metavar="ID", action="append", default=[],
                        help="give this principal a new secret (repeatable); restart nothing, "
                             "but give the service its new secret file")


def _ids(text):
    return [validate_plc_id(item.strip()) for item in text.split(",") if item.strip()]


def _site(text):
    """``plant-a=a-*,x-07`` -> (name, [patterns])."""
    name, _, patterns = text.partition("=")
    carried = [item.strip() for item in patterns.split(",") if item.strip()]
    if not carried:
        raise ValueError(f"--site {text!r}: give NAME=PATTERNS, e.g. plant-a=a-*")
    return validate_plc_id(name.strip()), carried


def run(args) -> int:
    from plclink import local_setup
    from router import certificates
    from runtime_component import psk
    try:
        runtimes, bridged, psk_ids = _ids(args.runtimes), _ids(args.bridged), _ids(args.psk)
        linked = dict(_site(text) for text in args.site)
    except ValueError as error:
        print(f"plclink secrets: {error}", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    os.makedirs(out, mode=0o700, exist_ok=True)
    local_setup.ensure_principals(out, runtimes, bridged, linked)
    for authid in args.rotate:
        try:
            local_setup.rotate(out, authid)
        except KeyError as error:
            print(f"plclink secrets: {error.args[0]}", file=sys.stderr)
            return 2
        print(f"rotated      {authid}")
    files = [local_setup.write_secret_file(out, authid)
             for authid in [*runtimes, *([local_setup.BRIDGE_AUTHID] if bridged else []),
                            local_setup.REGISTRY_AUTHID]]
    files.append(local_setup.write_ide_credentials(out, args.router_url, "Automation"))
    files.append(local_setup.ensure_registry_pgpass(out))
    for plc_id in psk_ids:
        path = os.path.join(out, f"{plc_id}.psk")
        psk.ensure_secret_file(path, plc_id)
        files.append(path)
    if args.node_key:
        from router import sites
        path, public = sites.generate_node_key(out, os.path.basename(out))
        files.append(path)
        print(f"node key     {path} (public key {public}, also in node.pub)")
    hosts = tuple(args.tls_hosts or ("localhost", "127.0.0.1"))
    files += list(certificates.ensure(os.path.join(out, "tls"), hosts).values())
    print(f"principals   {os.path.join(out, 'principals.yaml')}")
    for path in files:
        print(f"secret       {path}")
    return 0
