"""``plclink up``: the whole suite on localhost, for trying it out and for development."""
import os
import signal
import sys
import time

from plclink import local_setup
from plclink.processes import Child, plclink_command, stop_all
from router.people import FILE_NAME as PEOPLE_FILE
from runtime_component.install import Installation

DEMO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "runtime_component", "demo")
DEMO_PROGRAM = os.path.join(DEMO_DIR, "tank.py")
DEMO_EXTRA = os.path.join(DEMO_DIR, "setpoint.csv")
ERPC_ID = "erpc-07"  # the demo eRPC runtime, carried onto the router by the bridge
# What each child prints once it is ready (WAMP runtimes: "joined realm").
READY_LINES = {ERPC_ID: "ready:", "bridge": "bridge joined realm",
               "registry": "registry caught up", "opcua": "OPC UA gateway joined"}
# /metrics of each service, in this order from --metrics-port upwards (docs/metrics.md)
METRICS_ORDER = ("registry", "bridge", ERPC_ID)


def metrics_ports(args, runtime_ids) -> dict:
    """{service name: its metrics port}; empty with --metrics-port 0."""
    if not args.metrics_port:
        return {}
    names = [*METRICS_ORDER, *runtime_ids, *(["opcua"] if args.opcua_port else [])]
    return {name: args.metrics_port + n for n, name in enumerate(names)}


def metrics_option(ports: dict, name: str) -> list:
    return ["--metrics-port", str(ports[name])] if name in ports else []


def write_prometheus_targets(state, ports: dict) -> str:
    """A scrape configuration for Prometheus (``prometheus --config.file=...``)."""
    path = os.path.join(state, "prometheus.yml")
    jobs = "".join(
        f"  - job_name: {name}\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        for name, port in ports.items())
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# written by plclink up: its services' /metrics\n"
                     f"global: {{scrape_interval: 5s}}\nscrape_configs:\n{jobs}")
    return path


def start_opcua(state, args, router_url, ports) -> Child:
    """The OPC UA gateway: people log in with their accounts (STATE/people.yaml), machines as
    the users of STATE/opcua-users.yaml (made once); certificate issued by the suite's CA in
    STATE/tls."""
    return Child("opcua", plclink_command(
        "opcua", "--url", router_url, "--realm", args.realm, "--port", str(args.opcua_port),
        "--people", os.path.join(state, PEOPLE_FILE),
        "--users", local_setup.ensure_opcua_users(state),
        "--tls-dir", os.path.join(state, "tls"), *metrics_option(ports, "opcua"),
        "--secret-file", local_setup.write_secret_file(state, local_setup.OPCUA_AUTHID)))


def start_bridged_demo(state, args, router_url, children: list, abort, ports) -> None:
    """An eRPC-only runtime running the demo, and, once it listens, the bridge that puts it on
    the router (started together, the bridge logs a refused connection first). Each child
    joins ``children`` as soon as it exists, so a stop meanwhile stops it too."""
    workdir = os.path.join(state, "runtimes", ERPC_ID)
    erpc = Child(ERPC_ID, plclink_command(
        "runtime", "--workdir", workdir, "--id", ERPC_ID, "--no-wamp", "--erpc",
        "--erpc-port", str(args.erpc_port), "--program", DEMO_PROGRAM, "--extra", DEMO_EXTRA,
        "--autostart", *metrics_option(ports, ERPC_ID)))
    children.append(erpc)
    erpc.wait_for_line(READY_LINES[ERPC_ID], 30, abort)  # if it fails, its check below says so
    if abort():
        return
    config = os.path.join(state, "bridge.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("# written by plclink up: the demo eRPC runtime\nruntimes:\n"
                     f'  - {{id: {ERPC_ID}, uri: "ERPC://127.0.0.1:{args.erpc_port}"}}\n')
    children.append(Child("bridge", plclink_command(
        "bridge", "--config", config, "--url", router_url, "--realm", args.realm,
        *metrics_option(ports, "bridge"),
        "--secret-file", local_setup.write_secret_file(state, local_setup.BRIDGE_AUTHID),
        "--state-dir", os.path.join(state, "bridge-state"))))


def tls_options(args) -> list:
    """The router's WAMPS options, the files made absolute (the router runs elsewhere)."""
    if not (args.tls_cert or args.tls_key):
        return []
    return ["--tls-cert", os.path.abspath(args.tls_cert or ""),
            "--tls-key", os.path.abspath(args.tls_key or ""), "--tls-port", str(args.tls_port),
            "--tls-min-version", args.tls_min_version]


def origin_options(args) -> list:
    """The web pages besides the dashboard that may open a WebSocket (docs/security.md)."""
    return [item for url in args.allowed_origin for item in ("--allowed-origin", url)]


REGISTRY_RESTART_DELAY = 5.0   # at most one restart of a failing registry per this many seconds
REGISTRY_TRIES = 3             # starts in a row that end before it is ready: then go on without


def start_registry(state, args, router_url, ports) -> Child:
    """The fleet's memory, SQLite in the state directory (``plclink registry``)."""
    return Child("registry", plclink_command(
        "registry", "--state-dir", state, "--url", router_url, "--realm", args.realm,
        *metrics_option(ports, "registry"),
        *[item for option in ("rules", "notify") if getattr(args, option, None)
          for item in (f"--{option}", os.path.abspath(getattr(args, option)))],
        "--secret-file", local_setup.write_secret_file(state, local_setup.REGISTRY_AUTHID)))


class RegistrySupervisor:
    """The fleet's memory is not on the runtimes' path: the suite never stops for it. One that
    exits is started again (at most every REGISTRY_RESTART_DELAY s), unless it said it cannot
    run (exit 2: a damaged database, another registry on the realm) or failed REGISTRY_TRIES
    starts in a row; then the suite goes on without a registry and says so once."""

    def __init__(self, start):
        self._start = start
        self.child = None
        self.started_at = 0.0
        self.failed_starts = 0
        self.is_ready = False
        self.given_up = False
        self._judged = None      # the child whose exit was counted

    def start(self) -> Child:
        self.child = self._start()
        self.started_at = time.monotonic()
        self.is_ready = False
        return self.child

    def ready(self) -> None:
        self.is_ready = True
        self.failed_starts = 0

    def not_ready(self) -> None:
        if self.child.running:   # one that exited is reported by exited()
            print("plclink up: the registry is not ready yet; the suite starts without it",
                  file=sys.stderr, flush=True)

    def exited(self) -> Child | None:
        """A replacement child to watch, or None (not yet, or never again)."""
        if self._judged is not self.child:
            self._judged = self.child
            self._judge(self.child.process.returncode)
        if self.given_up:
            return None
        if time.monotonic() - self.started_at < REGISTRY_RESTART_DELAY:
            return None
        print(f"plclink up: the registry exited with code {self.child.process.returncode}; "
              "starting it again (runtimes and the IDE go on without it)", file=sys.stderr,
              flush=True)
        return self.start()

    def _judge(self, code) -> None:
        if not self.is_ready and any(READY_LINES["registry"] in line for line in self.child.lines):
            self.ready()
        if not self.is_ready:
            self.failed_starts += 1
        if code == 2 or self.failed_starts >= REGISTRY_TRIES:
            self.given_up = True
            why = ("it cannot run (see its message above)" if code == 2 else
                   f"it failed {self.failed_starts} starts in a row")
            print(f"plclink up: the registry exited with code {code}; {why}. The suite runs "
                  "without a registry: runtimes, the IDE and the dashboard work, but no history, "
                  "alarms or rollback until you fix it and restart plclink up",
                  file=sys.stderr, flush=True)


def run_suite(args) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        print("plclink up: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    state = os.path.abspath(args.state_dir)
    url = f"ws://127.0.0.1:{args.ws_port}"
    runtime_ids = [f"plc-{n:02d}" for n in range(1, args.runtimes + 1)]
    principals = local_setup.ensure_principals(state, runtime_ids, [ERPC_ID])
    credentials = local_setup.write_ide_credentials(state, url, args.realm)
    ports = metrics_ports(args, runtime_ids)
    if ports:
        write_prometheus_targets(state, ports)
    children = []
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        router = Child("router", plclink_command(
            "router", "--state-dir", state, "--principals", principals, "--host", args.host,
            "--ws-port", str(args.ws_port), "--rawsocket-port", str(args.rawsocket_port),
            "--web-port", str(args.web_port), "--realm", args.realm, *tls_options(args),
            *origin_options(args)))
        children.append(router)
        if not router.wait_for_line("router ready", 90, abort=lambda: bool(stopping)):
            if stopping:
                return 0
            print("plclink up: the router did not start; see its messages above", file=sys.stderr)
            return 1
        registry = RegistrySupervisor(lambda: start_registry(state, args, url, ports))
        children.append(registry.start())
        for plc_id in runtime_ids:
            workdir = local_setup.ensure_runtime_dir(state, plc_id, url, args.realm)
            children.append(Child(plc_id, plclink_command(
                "runtime", "--workdir", workdir, "--program", DEMO_PROGRAM,
                "--extra", DEMO_EXTRA, "--autostart", *metrics_option(ports, plc_id))))
        if args.opcua_port:
            children.append(start_opcua(state, args, url, ports))
        start_bridged_demo(state, args, url, children, abort=lambda: bool(stopping),
                           ports=ports)
        for child in children[1:]:
            if not child.wait_for_line(READY_LINES.get(child.name, "joined realm"), 30,
                                       abort=lambda: bool(stopping)):
                if stopping:
                    return 0
                if child is registry.child:
                    registry.not_ready()
                    continue
                print(f"plclink up: {child.name} did not join the router; see its messages above",
                      file=sys.stderr)
                return 1
            if child is registry.child:
                registry.ready()
        print(summary(args, state, runtime_ids, credentials, ports), flush=True)
        while not stopping:
            for child in [child for child in children if not child.running]:
                if child is not registry.child:
                    print(f"plclink up: {child.name} exited with code "
                          f"{child.process.returncode}; stopping the suite", file=sys.stderr)
                    return 1
                replacement = registry.exited()
                if replacement is not None:
                    children[children.index(child)] = replacement
                elif registry.given_up:
                    children.remove(child)
            time.sleep(0.2)
        return 0
    finally:
        print("plclink up: stopping", flush=True)
        stop_all(children)
        print("plclink up: stopped", flush=True)


def installed(workdir: str) -> str:
    """What a runtime of the suite has installed: the demo at the first start, whatever was
    transferred since at a later one (--program installs only into an empty runtime)."""
    installation = Installation(workdir)
    md5 = installation.md5()
    if md5 is None:
        return "no program installed"
    return f"program {installation.program_name()} ({md5[:8]})"


def shown(path: str) -> str:
    """A path as the user can type it from where they are: relative below the current
    directory (the README's ``.plclink/...``), absolute elsewhere."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def summary(args, state, runtime_ids, credentials, ports=None) -> str:
    host = "127.0.0.1"
    state = shown(state)
    lines = [
        "",
        "plclink suite is up (Ctrl-C stops everything):",
        f"  router      ws://{host}:{args.ws_port}  rawsocket {host}:{args.rawsocket_port}  "
        f"realm {args.realm}",
    ]
    if args.tls_cert:
        # 'plclink certs' writes the CA beside the certificate
        ca_file = os.path.join(os.path.dirname(args.tls_cert), "ca.pem")
        ca_file = ca_file if os.path.isfile(ca_file) else "<the CA that signed it>"
        lines.append(f"  WAMPS       wss://{host}:{args.tls_port}  certificate {args.tls_cert}; "
                     f"clients: export PLCLINK_CA_FILE={ca_file}")
    lines.append(f"  dashboard   http://{host}:{args.web_port}/  log in as the user and password "
                 f"(authid, ticket) in {shown(credentials)}")
    for plc_id in runtime_ids:
        workdir = os.path.join(state, "runtimes", plc_id)
        lines.append(f"  runtime     {plc_id}: {installed(workdir)}; workdir {workdir}")
    lines.append(f"  eRPC        {ERPC_ID}: {installed(os.path.join(state, 'runtimes', ERPC_ID))} "
                 f"on ERPC://127.0.0.1:{args.erpc_port}, on the router through the bridge "
                 f"({os.path.join(state, 'bridge.yaml')})")
    lines += [
        f"  registry    history, alarms, rollback: {os.path.join(state, 'registry.sqlite')} "
        "(plclink fleet history ID, plclink alarms)",
        *([f"  OPC UA      opc.tcp://{host}:{args.opcua_port}/plclink  Basic256Sha256, people "
           f"of {os.path.join(state, PEOPLE_FILE)} and machines of "
           f"{os.path.join(state, 'opcua-users.yaml')}"] if args.opcua_port else []),
        *([f"  metrics     http://{host}:{min(ports.values())}-{max(ports.values())}/metrics; "
           f"Prometheus: {os.path.join(state, 'prometheus.yml')}"] if ports else []),
        f"  secrets     {os.path.join(state, 'principals.yaml')} (generated, mode 600)",
        f"  IDE         export PLCLINK_CREDENTIALS={shown(credentials)}  (more people: "
        f"plclink users add NAME --role ROLE --people {os.path.join(state, PEOPLE_FILE)})",
        "",
    ]
    return "\n".join(lines)
