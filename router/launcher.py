"""Start crossbar with the rendered node config and tell the operator when it is ready.

Crossbar runs as a child process (it manages its own worker processes); this launcher renders
the config, waits until every listening port answers (crossbar opens transports only after the
authorizer component has joined, so open ports mean the realm is usable) and stops crossbar on
Ctrl-C or SIGTERM.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from router import anonymous, sites
from router.node_config import RouterSettings, render
from router.origins import OriginError
from router.principals import PrincipalsError, PrincipalsFile


# Crossbar lines that tell an operator nothing: an empty warning at every start, a
# complaint about detaching sessions already gone at every shutdown, and one line per failed
# WAMP-CRA login, with the expected signature, derived from the secret (router/login_guard.py
# logs one line per burst instead, without it).
_NOISE = re.compile(r"\] *$|cannot detach session .* not currently attached"
                    r"|WAMP-CRA client signature is invalid")


class RouterStartError(RuntimeError):
    pass


def _relay_output(stream) -> None:
    for line in stream:
        if not _NOISE.search(line.rstrip("\n")):
            sys.stdout.write(line)
            sys.stdout.flush()


def crossbar_executable() -> str:
    beside_python = os.path.join(os.path.dirname(sys.executable), "crossbar")
    found = beside_python if os.path.exists(beside_python) else shutil.which("crossbar")
    if not found:
        raise RouterStartError("crossbar is not installed in this environment; run the README's "
                               "quick start (scripts/setup.sh installs crossbar into .venv)")
    return found


def write_node_config(settings: RouterSettings, node_dir: str) -> str:
    for path in (settings.tls_cert, settings.tls_key) if settings.tls else ():
        if not os.path.isfile(path):
            raise RouterStartError(f"TLS file {path} not found (generate a local CA and "
                                   "certificate with 'plclink certs')")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise RouterStartError("give both --tls-cert and --tls-key, or neither")
    if settings.web_tls and not settings.tls:
        raise RouterStartError("--web-tls serves the dashboard with the router's certificate: "
                               "give --tls-cert and --tls-key too")
    if not os.path.exists(settings.principals):
        raise RouterStartError(
            f"no principals file at {settings.principals}: write one (see "
            "docs/administrator/router.md) or run 'plclink up', which generates a local one")
    try:
        PrincipalsFile(settings.principals).principals()
    except (PrincipalsError, OSError, ValueError) as error:
        raise RouterStartError(f"principals file {settings.principals}: {error}") from None
    os.makedirs(node_dir, exist_ok=True)
    if settings.uplink:
        install_node_key(settings, node_dir)
    try:
        config = render(settings)
    except (OriginError, anonymous.AnonymousError) as error:
        raise RouterStartError(str(error)) from None
    path = os.path.join(node_dir, "config.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    return path


def install_node_key(settings: RouterSettings, node_dir: str) -> None:
    """Crossbar signs the link's login with the key in its node directory: put the site's
    there (crossbar re-creates key.pub from it)."""
    if not settings.site:
        raise RouterStartError("--uplink needs --site NAME: the name HQ's principals file "
                               "gives this plant (role site)")
    if not settings.node_key or not os.path.isfile(settings.node_key):
        raise RouterStartError(f"no node key at {settings.node_key}: make one with 'plclink "
                               "secrets --node-key --out DIR' and give --node-key DIR/node.key; "
                               "HQ's principals file lists DIR/node.pub for this site")
    try:
        sites.read_node_key(settings.node_key)
        sites.uplink_transport(settings.uplink, settings.uplink_ca)
    except sites.SiteError as error:
        raise RouterStartError(str(error)) from None
    if settings.uplink_ca and not os.path.isfile(settings.uplink_ca):
        raise RouterStartError(f"--uplink-ca {settings.uplink_ca} not found")
    for name in ("key.priv", "key.pub"):
        if os.path.lexists(os.path.join(node_dir, name)):
            os.remove(os.path.join(node_dir, name))
    with open(settings.node_key, encoding="utf-8") as source:
        text = source.read()
    fd = os.open(os.path.join(node_dir, "key.priv"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as target:
        target.write(text)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def listening_ports(settings: RouterSettings) -> dict:
    ports = {"--ws-port": settings.websocket_port, "--rawsocket-port": settings.rawsocket_port,
             "--web-port": settings.web_port}
    if settings.tls:
        ports["--tls-port"] = settings.tls_port
    return ports


def check_ports_free(settings: RouterSettings) -> None:
    """Refuse to start when a port is taken: otherwise the readiness check would see the
    other listener (often another router) and report this one ready."""
    for option, port in listening_ports(settings).items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((settings.host, port))
            except OSError as error:
                raise RouterStartError(f"port {port} on {settings.host} is not available "
                                       f"({error.strerror}): another router may be running; "
                                       f"stop it or choose another {option}") from None


def start_crossbar(settings: RouterSettings, node_dir: str, loglevel: str = "warn"):
    """Spawn crossbar; returns the Popen. Its output is relayed to ours, minus known noise."""
    check_ports_free(settings)
    config = write_node_config(settings, node_dir)
    command = [crossbar_executable(), "start", "--cbdir", node_dir, "--config", config,
               "--loglevel", loglevel, "--color", "false"]
    process = subprocess.Popen(command, cwd=node_dir, text=True, preexec_fn=_die_with_parent,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    threading.Thread(target=_relay_output, args=(process.stdout,), daemon=True).start()
    return process


def wait_ready(process, settings: RouterSettings, timeout: float = 180.0,
               stopping=lambda: False) -> bool:
    """True once every port answers; False when ``stopping()`` turns true first. The timeout is
    generous: on a loaded 2-core host crossbar was seen to need more than 60 s."""
    connect_host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    ports = tuple(listening_ports(settings).values())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopping():
            return False
        if process.poll() is not None:
            raise RouterStartError(f"crossbar exited with code {process.returncode} before it was "
                                   "ready (its messages are above; a port in use is the usual cause)")
        if all(port_open(connect_host, port) for port in ports):
            return True
        time.sleep(0.1)
    raise RouterStartError(f"crossbar did not open ports {ports} within {timeout:.0f} s")


def _die_with_parent() -> None:
    """Crossbar gets a process group of its own, so that a signal to ours (Ctrl-C, a
    supervisor) reaches the launcher alone and crossbar is stopped once, by it (twice, crossbar
    prints a traceback); and it gets SIGTERM if the launcher dies without stopping it, so no
    router outlives its launcher."""
    import ctypes
    os.setpgid(0, 0)
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_crossbar(process, timeout: float = 3.5) -> None:
    """SIGTERM, then SIGKILL after ``timeout``: the whole stop stays within 5 s, and crossbar's
    workers follow their controller (they end when its pipes close)."""
    if process.poll() is not None:
        return
    process.terminate()  # crossbar's controller stops its workers
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def describe(settings: RouterSettings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    mode = " (DEV MODE: anonymous access allowed as role ide)" if settings.dev else (
        f" (anonymous access allowed as role {settings.anonymous_role})"
        if settings.anonymous_role else "")
    tls = f", wss://{host}:{settings.tls_port} (WAMPS)" if settings.tls else ""
    site = (f", site {settings.site} linked to {settings.uplink} (the link comes and goes "
            "on its own)" if settings.uplink else "")
    return (f"router ready: realm {settings.realm}, ws://{host}:{settings.websocket_port} "
            f"(WebSocket){tls}, rawsocket tcp://{host}:{settings.rawsocket_port}, "
            f"dashboard {'https' if settings.web_tls else 'http'}://{host}:{settings.web_port}/"
            f"{mode}{site}")


def run(settings: RouterSettings, node_dir: str) -> int:
    """Foreground service: start, report ready, wait for a signal or for crossbar to end.

    The signal handler only records the signal: waiting on crossbar happens in the main loop
    alone (a handler that waits too blocks on the lock the interrupted wait holds)."""
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        process = start_crossbar(settings, node_dir)
    except RouterStartError as error:
        print(f"plclink router: {error}", file=sys.stderr)
        return 2
    try:
        if wait_ready(process, settings, stopping=lambda: bool(stopping)):
            print(describe(settings), flush=True)
            if settings.anonymous:
                print(anonymous.describe(settings.anonymous,
                                         anonymous.networks(settings.anonymous_from)), flush=True)
        while not stopping and process.poll() is None:
            time.sleep(0.1)
    except RouterStartError as error:
        print(f"plclink router: {error}", file=sys.stderr)
        return 1
    finally:
        stop_crossbar(process)
    return 0 if stopping else process.returncode
