"""A fleet of sites on a simulated WAN, for the slow tests and bench/bench_sites.py.

Network namespaces (root only): one for HQ, one per plant, each plant joined to HQ by a veth
pair (10.77.N.2 -> 10.77.N.1). In each plant: a plant router (``plclink router --site pN
--uplink``) whose link goes through a latency relay (tests/wan_relay.py: delay and emulated
loss, because ``tc netem`` is missing here) over the veth, and a pool of runtimes
(bench/runtime_pool.py). In HQ: the HQ router and, optionally, the registry. The test, in the
root namespace, reaches each router through a relay without delay on 127.0.0.1. Cutting a
plant's link is ``ip link set down`` on its veth. ``close()`` removes every process and
namespace, also after a failure.
"""
import os
import subprocess
import sys
import uuid

from autobahn.wamp.types import CallOptions

from harness import BlockingClient, ROOT, free_port, wait_until
from plclink import local_setup
from plclink.processes import Child, plclink_command, stop_all
from router import sites

ROUTER_PORT = 8888        # inside each namespace: ports there are private
UPLINK_PORT = 9000        # the plant's end of its latency relay
RELAY = os.path.join(ROOT, "tests", "wan_relay.py")
POOL = os.path.join(ROOT, "bench", "runtime_pool.py")


def answers(client, plc_id, seconds=3) -> bool:
    """Whether ``plc_id`` answers GetPLCstatus within ``seconds``. The router times the call
    out (a client that gives up first gets the router's late answer as a protocol error, and
    autobahn drops its session for it)."""
    try:
        client.call(f"{plc_id}.GetPLCstatus", options=CallOptions(timeout=seconds),
                    timeout=seconds + 30)
        return True
    except Exception:
        return False


class WanUnavailable(RuntimeError):
    pass


def _ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def check_available() -> None:
    """Raise WanUnavailable (with the reason) where namespaces cannot be made."""
    if os.geteuid() != 0:
        raise WanUnavailable("network namespaces need root (the test creates its own)")
    name = f"plk-probe-{uuid.uuid4().hex[:8]}"
    try:
        result = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    except FileNotFoundError:
        raise WanUnavailable("the 'ip' command (iproute2) is not installed") from None
    if result.returncode != 0:
        raise WanUnavailable(f"cannot create a network namespace: {result.stderr.strip()}")
    _ip("netns", "del", name, check=False)


class Plant:
    def __init__(self, wan, number: int, runtimes: int):
        self.name = f"p{number}"
        self.number = number
        self.netns = f"{wan.tag}-{self.name}"
        self.dir = os.path.join(wan.root, self.name)
        self.ids = [f"{self.name}-{n:02d}" for n in range(1, runtimes + 1)]
        self.hq_side, self.plant_side = f"{wan.tag}h{number}", f"{wan.tag}p{number}"
        self.hq_address = f"10.77.{number}.1"
        self.router = self.pool = self.relay = self.door = None
        self.url = None   # from the root namespace, through the door


class Wan:
    def __init__(self, root: str, plants: int = 3, runtimes: int = 30, delay: float = 0.04,
                 loss: float = 0.01):
        check_available()
        self.root = str(root)
        self.tag = f"w{os.getpid() % 100000}"   # interface names stay within 15 characters
        self.hq_netns = f"{self.tag}-hq"
        self.hq_dir = os.path.join(self.root, "hq")
        self.delay, self.loss = delay, loss
        self.plants = [Plant(self, number, runtimes) for number in range(1, plants + 1)]
        self.children = []
        self.namespaces = []
        self.hq_router = self.registry = self.hq_door = None
        self.hq_url = None

    # --- topology ------------------------------------------------------------------------------

    def build(self) -> "Wan":
        try:
            self._add_netns(self.hq_netns)
            for plant in self.plants:
                self._add_netns(plant.netns)
                _ip("link", "add", plant.hq_side, "type", "veth", "peer", "name", plant.plant_side)
                _ip("link", "set", plant.hq_side, "netns", self.hq_netns)
                _ip("link", "set", plant.plant_side, "netns", plant.netns)
                _ip("-n", self.hq_netns, "addr", "add", f"{plant.hq_address}/30", "dev",
                    plant.hq_side)
                _ip("-n", plant.netns, "addr", "add", f"10.77.{plant.number}.2/30", "dev",
                    plant.plant_side)
                _ip("-n", self.hq_netns, "link", "set", plant.hq_side, "up")
                _ip("-n", plant.netns, "link", "set", plant.plant_side, "up")
            self._secrets()
        except Exception:
            self.close()
            raise
        return self

    def _add_netns(self, name):
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def _secrets(self):
        for plant in self.plants:
            local_setup.ensure_principals(plant.dir, plant.ids)
            sites.generate_node_key(plant.dir, plant.name)
        local_setup.ensure_principals(self.hq_dir, [], linked_sites={
            plant.name: [f"{plant.name}-*"] for plant in self.plants})
        local_setup.write_secret_file(self.hq_dir, local_setup.REGISTRY_AUTHID)

    def cut(self, plant: Plant) -> None:
        _ip("-n", self.hq_netns, "link", "set", plant.hq_side, "down")

    def restore(self, plant: Plant) -> None:
        _ip("-n", self.hq_netns, "link", "set", plant.hq_side, "up")

    # --- processes -----------------------------------------------------------------------------

    def _child(self, name, netns, command, ready, timeout):
        child = Child(name, ["ip", "netns", "exec", netns, *command] if netns else command,
                      quiet=True)
        self.children.append(child)
        if not child.wait_for_line(ready, timeout):
            raise RuntimeError(f"{name} not ready:\n" + "".join(child.lines[-30:]))
        return child

    def _door(self, name, netns) -> str:
        """A relay from 127.0.0.1 here to the router in ``netns``; its URL."""
        port = free_port()
        self._child(f"{name}-door", None, [
            sys.executable, RELAY, "--listen", f"127.0.0.1:{port}",
            "--target", f"127.0.0.1:{ROUTER_PORT}", "--target-netns", netns], "relay ready", 20)
        return f"ws://127.0.0.1:{port}"

    def _router(self, name, netns, state_dir, host, *extra):
        return self._child(name, netns, plclink_command(
            "router", "--state-dir", state_dir, "--host", host, "--ws-port", str(ROUTER_PORT),
            *extra), "router ready", 120)

    def start_hq(self, registry: bool = False) -> None:
        self.hq_router = self._router("hq", self.hq_netns, self.hq_dir, "0.0.0.0")
        if self.hq_door is None:
            self.hq_url = self._door("hq", self.hq_netns)
            self.hq_door = True
        if registry:
            self.start_registry()

    def start_registry(self) -> None:
        self.registry = self._child("registry", self.hq_netns, plclink_command(
            "registry", "--state-dir", self.hq_dir, "--url", f"ws://127.0.0.1:{ROUTER_PORT}",
            "--secret-file", os.path.join(self.hq_dir, "registry.secret")),
            "registry caught up", 120)

    def stop_hq(self) -> None:
        self.hq_router.stop()

    def start_plant(self, plant: Plant) -> None:
        plant.relay = self._child(f"{plant.name}-relay", plant.netns, [
            sys.executable, RELAY, "--listen", f"127.0.0.1:{UPLINK_PORT}",
            "--target", f"{plant.hq_address}:{ROUTER_PORT}", "--delay", str(self.delay),
            "--loss", str(self.loss)], "relay ready", 20)
        plant.router = self._router(plant.name, plant.netns, plant.dir, "127.0.0.1",
                                    "--site", plant.name, "--uplink",
                                    f"ws://127.0.0.1:{UPLINK_PORT}")
        plant.url = self._door(plant.name, plant.netns)
        plant.pool = self._child(f"{plant.name}-pool", plant.netns, [
            sys.executable, POOL, "--state-dir", plant.dir, "--url",
            f"ws://127.0.0.1:{ROUTER_PORT}", "--workdir-root", os.path.join(plant.dir, "work"),
            *plant.ids], "pool ready", 180)

    def start(self, registry: bool = False) -> "Wan":
        self.start_hq(registry)
        for plant in self.plants:
            self.start_plant(plant)
        return self

    # --- clients -------------------------------------------------------------------------------

    def credentials(self, state_dir=None) -> dict:
        return {"authid": "ide", "secret": local_setup.principal_secret(
            state_dir or self.hq_dir, local_setup.IDE_AUTHID)}

    def hq_client(self) -> BlockingClient:
        return BlockingClient(self.hq_url, "Automation", self.credentials())

    def plant_client(self, plant: Plant) -> BlockingClient:
        return BlockingClient(plant.url, "Automation", self.credentials(plant.dir))

    def wait_linked(self, client, plants=None, timeout=90.0) -> None:
        """Until every runtime of ``plants`` (default all) answers at HQ."""
        ids = [plc_id for plant in (plants or self.plants) for plc_id in plant.ids]
        wait_until(lambda: all(answers(client, plc_id) for plc_id in ids), timeout,
                   interval=0.5, message="every plant runtime callable at HQ")

    def close(self) -> None:
        stop_all(self.children)
        for name in reversed(self.namespaces):
            _ip("netns", "del", name, check=False)   # its veth ends go with it
        self.namespaces = []
