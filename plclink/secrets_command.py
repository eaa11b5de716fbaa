"""``plclink secrets``: every secret a deployment needs, generated outside the image and git.

Used for the docker-compose stack (``deploy/secrets/``) and for any multi-machine install:
principals for the router, one WAMP-CRA secret file per runtime, for the bridge, the
registry and the OPC UA gateway, the OPC UA users (opcua-users.yaml) and the gateway's
certificate, the registry's PostgreSQL password (pgpass), IDE credentials (wss:// with the local
CA), PSK files for eRPC runtimes behind TLS-PSK, a local CA with the router's certificate and,
for a plant router, its node key. Existing secrets are kept; ``--rotate ID`` replaces one.

The directory is mode 700: it keeps other users of this machine out. The files a service
mounts (compose ``secrets:``, one per file) are mode 644, so the unprivileged user in the
container can read the one it is given; the CA key and the IDE credentials stay mode 600 and
are never mounted.
"""
import os
import sys


from plc_protocol.uris import validate_plc_id

MOUNTED_MODE = 0o644
CREDENTIALS_CA_FILE = os.path.join("tls", "ca.pem")  # relative to credentials.yaml
TLS_PORT = 8443


def add_arguments(parser) -> None:
    from plclink.commands import add_tls_host_argument
    parser.add_argument("--out", default=os.path.join("deploy", "secrets"),
                        help="directory to write (mode 700; default %(default)s)")
    parser.add_argument("--runtimes", default="plc-01,plc-02",
                        help="comma-separated WAMP runtime IDs (default %(default)s); IDs are "
                             "added, never removed")
    parser.add_argument("--bridged", default="erpc-07",
                        help="comma-separated IDs the bridge carries (default %(default)s)")
    parser.add_argument("--psk", default="erpc-07",
                        help="comma-separated eRPC runtime IDs that get a TLS-PSK file "
                             "(default %(default)s)")
    parser.add_argument("--router-url",
                        help="router URL written into the IDE credentials (default: the one "
                             f"there, else wss://FIRST-TLS-HOST:{TLS_PORT})")
    add_tls_host_argument(parser, "--tls-host")
    parser.add_argument("--node-key", action="store_true",
                        help="also a node key for a plant router linked to HQ: node.key (give "
                             "it to 'plclink router --node-key') and node.pub (for HQ)")
    parser.add_argument("--site", action="append", default=[], metavar="NAME=PATTERNS",
                        help="at HQ: accept plant NAME, which carries runtime IDs PATTERNS "
                             "(comma-separated IDs or 'prefix*'), its public key read from "
                             "../NAME/node.pub beside --out (repeatable)")
    parser.add_argument("--rotate", metavar="ID", action="append", default=[],
                        help="give this principal a new secret (repeatable); then restart the "
                             "service that uses it")


def _ids(text):
    return [validate_plc_id(item.strip()) for item in text.split(",") if item.strip()]


def _site(text):
    """``plant-a=a-*,x-07`` -> (name, [patterns])."""
    name, _, patterns = text.partition("=")
    carried = [item.strip() for item in patterns.split(",") if item.strip()]
    if not carried:
        raise ValueError(f"--site {text!r}: give NAME=PATTERNS, e.g. plant-a=a-*")
    return validate_plc_id(name.strip()), carried


def _router_url(args, credentials_path, server_names):
    if args.router_url:
        return args.router_url
    import yaml   # here: `plclink --help` registers this command without reading YAML
    try:
        with open(credentials_path, encoding="utf-8") as handle:
            kept = (yaml.safe_load(handle) or {}).get("router")
    except (OSError, yaml.YAMLError, AttributeError):
        kept = None
    host = server_names[0] if server_names else "localhost"
    return kept or f"wss://{'[' + host + ']' if ':' in host else host}:{TLS_PORT}"


def run(args) -> int:
    from router import certificates
    from runtime_component import psk
    try:
        runtimes, bridged, psk_ids = _ids(args.runtimes), _ids(args.bridged), _ids(args.psk)
        linked = dict(_site(text) for text in args.site)
    except ValueError as error:
        print(f"plclink secrets: {error}", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    try:
        return _write_all(args, out, runtimes, bridged, linked, psk_ids, certificates, psk)
    except PermissionError as error:
        print(f"plclink secrets: cannot write {error.filename}: {error.strerror}. In a "
              "container, run it as the owner of the directory: docker-compose run --rm "
              "-u \"$(id -u):$(id -g)\" secrets ...", file=sys.stderr)
        return 1
    except (certificates.CertificateError, psk.PSKError) as error:
        print(f"plclink secrets: {error}", file=sys.stderr)
        return 1


def _write_all(args, out, runtimes, bridged, linked, psk_ids, certificates, psk) -> int:
    from plclink import local_setup
    os.makedirs(out, mode=0o700, exist_ok=True)
    os.chmod(out, 0o700)
    principals = local_setup.ensure_principals(out, runtimes, bridged, linked)
    for authid in args.rotate:
        try:
            local_setup.rotate(out, authid)
        except KeyError as error:
            print(f"plclink secrets: {error.args[0]}", file=sys.stderr)
            return 2
        print(f"rotated      {authid}")
    mounted = [principals]
    mounted += [local_setup.write_secret_file(out, authid)
                for authid in [*runtimes, *([local_setup.BRIDGE_AUTHID] if bridged else []),
                               local_setup.REGISTRY_AUTHID, local_setup.OPCUA_AUTHID]]
    mounted.append(local_setup.ensure_opcua_users(out))
    mounted.append(local_setup.ensure_registry_pgpass(out))
    for plc_id in psk_ids:
        path = os.path.join(out, f"{plc_id}.psk")
        psk.ensure_secret_file(path, plc_id)
        mounted.append(path)
    if args.node_key:
        from router import sites
        path, public = sites.generate_node_key(out, os.path.basename(out))
        mounted.append(path)  # the plant router's own secret, mounted in its container alone
        print(f"node key     {path} (public key {public}, also in node.pub)")
    tls, done = certificates.ensure(os.path.join(out, "tls"), args.hosts)
    mounted += [tls[certificates.SERVER_CERT], tls[certificates.SERVER_KEY]]
    from opcua_gateway.options import APPLICATION_URI
    mounted += certificates.ensure_opcua(os.path.join(out, "tls"), APPLICATION_URI,
                                         certificates.certificate_names(certificates.load_certificate(
                                             tls[certificates.SERVER_CERT])))
    credentials = os.path.join(out, "credentials.yaml")
    server = certificates.certificate_names(certificates.load_certificate(
        tls[certificates.SERVER_CERT]))
    local_setup.write_ide_credentials(out, _router_url(args, credentials, server), "Automation",
                                      CREDENTIALS_CA_FILE)
    mounted.append(os.path.join(out, "people.yaml"))   # written with the first admin
    for path in mounted:
        os.chmod(path, MOUNTED_MODE)
    print(f"tls          {done}")
    for path in mounted:
        print(f"for service  {path}")
    print(f"login        {credentials} (PLCLINK_CREDENTIALS; its authid and ticket are the "
          "first admin's name and password, also for the dashboard)")
    print(f"CA           {tls[certificates.CA_CERT]} (clients); {tls[certificates.CA_KEY]} stays "
          "here, never mounted")
    print("\n".join(certificates.describe(os.path.join(out, "tls"))))
    return 0
