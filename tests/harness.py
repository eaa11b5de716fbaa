"""Real processes for the tests: a crossbar router started from the project's own config,
runtime processes, and a blocking WAMP client driving the one reactor thread."""
import os
import queue
import socket
import time

from ide_component import reactor_thread
from ide_component.wamp_session import join
from plclink import local_setup
from plclink.processes import Child, plclink_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_PROGRAM = os.path.join(ROOT, "runtime_component", "demo", "tank.py")
DEMO_CSV = os.path.join(ROOT, "runtime_component", "demo", "setpoint.csv")
TEST_RUNTIME_IDS = ([f"plc-{n:02d}" for n in range(1, 10)] + ["plc-a", "plc-b"]
                    + [f"ro-{n:02d}" for n in range(1, 9)])   # ro-: the rollout tests
BRIDGE_PATTERNS = ["erpc-*"]


_HANDED_OUT = set()   # ports given to this test process: the kernel may offer one twice


def free_port() -> int:
    """A port free now and not given out before in this process (two ports asked back to back,
    unbound yet, could otherwise be the same: a router's rawsocket on a runtime's eRPC port)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive free ports (plclink up's --metrics-port)."""
    for _ in range(100):
        first = free_port()
        rest = range(first + 1, first + count)
        if _HANDED_OUT.intersection(rest):
            continue
        try:
            for port in rest:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.update(rest)
        return first
    raise RuntimeError(f"no {count} consecutive free ports found")


def up_gateway_ports() -> list:
    """plclink up's OPC UA and metrics options on free ports (the defaults may be taken)."""
    return ["--opcua-port", str(free_port()), "--metrics-port", str(free_port_range(8))]


def wait_until(predicate, timeout=10.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class Router:
    """A running `plclink router` with a generated principals file."""

    def __init__(self, state_dir):
        self.state_dir = str(state_dir)
        self.realm = "Automation"
        self.principals = local_setup.ensure_principals(self.state_dir, TEST_RUNTIME_IDS,
                                                        BRIDGE_PATTERNS)
        self.ws_port, self.rawsocket_port, self.web_port = free_port(), free_port(), free_port()
        self.url = f"ws://127.0.0.1:{self.ws_port}"
        self.child = None

    def start(self, extra=()):
        self.child = Child("router", plclink_command(
            "router", "--state-dir", self.state_dir, "--principals", self.principals,
            "--ws-port", str(self.ws_port), "--rawsocket-port", str(self.rawsocket_port),
            "--web-port", str(self.web_port), *extra), quiet=True)
        if not self.child.wait_for_line("router ready", 90):
            raise RuntimeError("router did not start:\n" + "".join(self.child.lines[-40:]))
        return self

    def start_with_tls(self, tls_dir, extra=()):
        """Start with a WAMPS endpoint whose certificate a fresh local CA in ``tls_dir`` signs:
        ``tls_port``, ``wss_url``, ``ca_file`` and ``tls_paths`` (certificates.generate's)."""
        from router import certificates
        self.tls_paths = certificates.generate(str(tls_dir))
        self.tls_port = free_port()
        self.ca_file = self.tls_paths["ca.pem"]
        self.wss_url = f"wss://127.0.0.1:{self.tls_port}"
        return self.start(["--tls-cert", self.tls_paths["server.pem"], "--tls-key",
                           self.tls_paths["server.key"], "--tls-port", str(self.tls_port),
                           *extra])

    def stop(self):
        if self.child is not None:
            self.child.stop()

    def kill(self):
        import signal
        self.child.signal(signal.SIGKILL)
        self.child.process.wait()

    def secret(self, authid) -> str:
        return local_setup.principal_secret(self.state_dir, authid)

    def credentials(self, authid="ide") -> dict:
        value = self.secret(authid)
        kind = "ticket" if authid in ("operator", "viewer") else "secret"
        return {"authid": authid, kind: value}

    def client(self, authid="ide", serializers=("msgpack",)) -> "BlockingClient":
        return BlockingClient(self.url, self.realm, self.credentials(authid) if authid else {},
                              serializers)

    def start_runtime(self, plc_id, workdir, *extra_args, program=DEMO_PROGRAM, extras=(DEMO_CSV,),
                      autostart=False, wait_joined=True):
        workdir = str(workdir)
        local_setup.ensure_runtime_dir(self.state_dir, plc_id, self.url, self.realm)
        conf_dir = os.path.join(self.state_dir, "runtimes", plc_id)
        args = ["runtime", "--workdir", workdir, "--wampconf", os.path.join(conf_dir, "wampconf.json")]
        if program:
            args += ["--program", program] + [item for extra in extras for item in ("--extra", extra)]
        if autostart:
            args.append("--autostart")
        child = Child(plc_id, plclink_command(*args, *extra_args), quiet=True)
        if wait_joined and not child.wait_for_line("joined realm", 30):
            child.stop()
            raise RuntimeError(f"{plc_id} did not join:\n" + "".join(child.lines[-30:]))
        return child


class BlockingClient:
    """A WAMP session usable from test code: call, subscribe (events land in a queue)."""

    def __init__(self, url, realm, credentials, serializers=("msgpack",)):
        self.session = reactor_thread.blocking(join, url, realm, credentials, serializers)

    def call(self, procedure, *args, timeout=15, **kwargs):
        return reactor_thread.blocking(self.session.call, procedure, *args, timeout=timeout, **kwargs)

    def subscribe(self, topic, options=None) -> queue.Queue:
        events = queue.Queue()

        def handler(*args, **kwargs):
            events.put((args, kwargs))
        reactor_thread.blocking(self.session.subscribe, handler, topic, options=options)
        return events

    def close(self):
        if self.session.is_attached():
            reactor_thread.blocking(self.session.leave)


def next_event(events: queue.Queue, predicate=lambda args, kwargs: True, timeout=5.0):
    """The first event matching predicate within timeout (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching event within {timeout} s")
        try:
            args, kwargs = events.get(timeout=remaining)
        except queue.Empty:
            continue
        if predicate(args, kwargs):
            return args, kwargs

