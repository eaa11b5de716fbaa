"""``plclink up``: the whole suite on localhost, for trying it out and for development."""
import os
import signal
import sys
import time

from plclink import local_setup
from plclink.processes import Child, plclink_command, stop_all

DEMO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "runtime_component", "demo")
DEMO_PROGRAM = os.path.join(DEMO_DIR, "tank.py")
DEMO_EXTRA = os.path.join(DEMO_DIR, "setpoint.csv")
ERPC_ID = "erpc-07"  # the demo eRPC runtime, carried onto the router by the bridge
# What each child prints once it is ready (WAMP runtimes: "joined realm").
READY_LINES = {ERPC_ID: "ready:", "bridge": "bridge joined realm",
               "registry": "registry caught up"}


def start_bridged_demo(state, args, router_url) -> list:
    """An eRPC-only runtime running the demo, and the bridge that puts it on the router."""
    workdir = os.path.join(state, "runtimes", ERPC_ID)
    erpc = Child(ERPC_ID, plclink_command(
        "runtime", "--workdir", workdir, "--id", ERPC_ID, "--no-wamp", "--erpc",
        "--erpc-port", str(args.erpc_port), "--program", DEMO_PROGRAM, "--extra", DEMO_EXTRA,
        "--autostart"))
    config = os.path.join(state, "bridge.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("# written by plclink up: the demo eRPC runtime\nruntimes:\n"
                     f'  - {{id: {ERPC_ID}, uri: "ERPC://127.0.0.1:{args.erpc_port}"}}\n')
    bridge = Child("bridge", plclink_command(
        "bridge", "--config", config, "--url", router_url, "--realm", args.realm,
        "--secret-file", local_setup.write_secret_file(state, local_setup.BRIDGE_AUTHID)))
    return [erpc, bridge]


def start_registry(state, args, router_url) -> Child:
    """The fleet's memory, SQLite in the state directory (``plclink registry``)."""
    return Child("registry", plclink_command(
        "registry", "--state-dir", state, "--url", router_url, "--realm", args.realm,
        "--secret-file", local_setup.write_secret_file(state, local_setup.REGISTRY_AUTHID)))


def run_suite(args) -> int:
    state = os.path.abspath(args.state_dir)
    url = f"ws://127.0.0.1:{args.ws_port}"
    runtime_ids = [f"plc-{n:02d}" for n in range(1, args.runtimes + 1)]
    principals = local_setup.ensure_principals(state, runtime_ids, [ERPC_ID])
    credentials = local_setup.write_ide_credentials(state, url, args.realm)
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
            "--web-port", str(args.web_port), "--realm", args.realm))
        children.append(router)
        if not router.wait_for_line("router ready", 90, abort=lambda: bool(stopping)):
            if stopping:
                return 0
            print("plclink up: the router did not start; see its messages above", file=sys.stderr)
            return 1
        children.append(start_registry(state, args, url))
        for plc_id in runtime_ids:
            workdir = local_setup.ensure_runtime_dir(state, plc_id, url, args.realm)
            children.append(Child(plc_id, plclink_command(
                "runtime", "--workdir", workdir, "--program", DEMO_PROGRAM,
                "--extra", DEMO_EXTRA, "--autostart")))
        children += start_bridged_demo(state, args, url)
        for child in children[1:]:
            if not child.wait_for_line(READY_LINES.get(child.name, "joined realm"), 30,
                                       abort=lambda: bool(stopping)):
                if stopping:
                    return 0
                print(f"plclink up: {child.name} did not join the router; see its messages above",
                      file=sys.stderr)
                return 1
        print(summary(args, state, runtime_ids, credentials), flush=True)
        while not stopping:
            dead = [child for child in children if not child.running]
            if dead:
                print(f"plclink up: {dead[0].name} exited with code {dead[0].process.returncode}; "
                      "stopping the suite", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        print("plclink up: stopping", flush=True)
        stop_all(children)


def summary(args, state, runtime_ids, credentials) -> str:
    host = "127.0.0.1"
    lines = [
        "",
        "plclink suite is up (Ctrl-C stops everything):",
        f"  router      ws://{host}:{args.ws_port}  rawsocket {host}:{args.rawsocket_port}  "
        f"realm {args.realm}",
        f"  dashboard   http://{host}:{args.web_port}/",
    ]
    for plc_id in runtime_ids:
        lines.append(f"  runtime     {plc_id}: demo tank program, started; "
                     f"workdir {os.path.join(state, 'runtimes', plc_id)}")
    lines.append(f"  eRPC        {ERPC_ID}: demo tank program on ERPC://127.0.0.1:{args.erpc_port}, "
                 f"on the router through the bridge ({os.path.join(state, 'bridge.yaml')})")
    lines += [
        f"  registry    history, alarms, rollback: {os.path.join(state, 'registry.sqlite')} "
        "(plclink fleet history ID, plclink alarms)",
        f"  secrets     {os.path.join(state, 'principals.yaml')} (generated, mode 600)",
        f"  IDE         export PLCLINK_CREDENTIALS={credentials}",
        "",
    ]
    return "\n".join(lines)
