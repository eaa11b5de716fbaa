"""Real eRPC runtimes for the tests: ``plclink runtime --no-wamp --erpc`` processes, and blocking
wrappers that drive connectors in the one reactor thread."""
import hashlib
import os
import re
import socket
import sys

from harness import DEMO_CSV, DEMO_PROGRAM, free_port, wait_until
from ide_component import reactor_thread
from ide_component.erpc_connector import ErpcConnector
from plc_protocol.iec_types import decode_sample
from plclink.processes import Child, plclink_command
from runtime_component.erpc_server import listening_port


class ErpcRuntime:
    """A runtime serving eRPC on a port the system picked (no race for a free port)."""

    def __init__(self, workdir, *extra_args, plc_id="erpc-01", program=DEMO_PROGRAM,
                 extras=(DEMO_CSV,), port=0, name=None):
        self.workdir = str(workdir)
        self.plc_id = plc_id
        args = ["runtime", "--no-wamp", "--erpc", "--erpc-port", str(port), "--id", plc_id,
                "--workdir", self.workdir]
        if program:
            args += ["--program", program] + [arg for extra in extras for arg in ("--extra", extra)]
        self.child = Child(name or plc_id, plclink_command(*args, *extra_args), quiet=True)
        if not self.child.wait_for_line("ready:", 30):
            self.child.stop()
            raise RuntimeError(f"{plc_id} did not start:\n" + "".join(self.child.lines[-30:]))
        self.port = next(port for port in map(listening_port, self.child.lines) if port)
        self.uri = f"ERPC://127.0.0.1:{self.port}"

    def lines(self, needle) -> list:
        return [line for line in self.child.lines if needle in line]

    def stop(self):
        self.child.stop()


PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "beremiz_erpc_peer.py")
VARIABLES_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "VARIABLES.csv")


class BeremizPeer:
    """tests/beremiz_erpc_peer.py as a process: an eRPC runtime that behaves like Beremiz's."""

    def __init__(self, plc_id="beremiz-01", psk_file=None, port=0):
        self.plc_id = plc_id
        command = [sys.executable, PEER_SCRIPT, "--id", plc_id, "--port", str(port)]
        if psk_file:
            command += ["--psk-file", str(psk_file)]
        self.child = Child(plc_id, command, quiet=True)
        if not self.child.wait_for_line("beremiz peer listening", 30):
            self.child.stop()
            raise RuntimeError(f"{plc_id} did not start:\n" + "".join(self.child.lines[-30:]))
        self.port = int(next(re.search(r":(\d+)$", line.strip())[1] for line in self.child.lines
                             if "beremiz peer listening" in line))
        self.uri = f"ERPC://127.0.0.1:{self.port}"

    def stop(self):
        self.child.stop()


class PSKFront:
    """A real stunnel in front of an eRPC port (protocol.md §5), with its PSK file."""

    def __init__(self, directory, plc_id):
        from runtime_component.psk import ensure_secret_file
        self.directory, self.plc_id = str(directory), plc_id
        self.psk_file = os.path.join(self.directory, f"{plc_id}.psk")
        ensure_secret_file(self.psk_file, plc_id)
        self.port = free_port()
        self.uri = f"ERPCS://127.0.0.1:{self.port}#{plc_id}"
        self.child = None

    def start(self, erpc_port):
        from runtime_component.psk import find_stunnel, stunnel_config
        config = os.path.join(self.directory, f"{self.plc_id}-stunnel.conf")
        with open(config, "w") as handle:
            handle.write(stunnel_config(self.port, erpc_port, self.psk_file))
        self.child = Child("stunnel", [find_stunnel(), config], quiet=True)
        wait_until(lambda: _accepts(self.port), timeout=15, message="stunnel listening")
        return self

    def stop(self):
        if self.child is not None:
            self.child.stop()


def _accepts(port) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Blocking:
    """A connector driven from test code: ``client.GetPLCstatus()`` blocks for the answer."""

    def __init__(self, connector):
        self.connector = connector

    def connect(self):
        reactor_thread.blocking(self.connector.connect)
        return self

    def call(self, method, *args, timeout=30):
        return reactor_thread.blocking(self.connector.call, method, *args, timeout=timeout)

    def __getattr__(self, method):
        return lambda *args: self.call(method, *args)

    def close(self):
        reactor_thread.blocking(self.connector.close)


def erpc_client(uri, **kwargs) -> Blocking:
    return Blocking(ErpcConnector(uri, **kwargs)).connect()


def transfer(client, program: bytes, extras=(), chunk_size=4095) -> str:
    """The IDE's transfer sequence (protocol.md §2), checking every blob id on the way."""
    md5 = hashlib.md5(program).hexdigest()
    client.PurgeBlobs()

    def send(seed: bytes, data: bytes) -> bytes:
        digest = hashlib.md5(seed)
        blob = client.SeedBlob(seed)
        assert blob == digest.digest()
        for start in range(0, len(data), chunk_size):
            chunk = data[start:start + chunk_size]
            digest.update(chunk)
            blob = client.AppendChunkToBlob(chunk, blob)
            assert blob == digest.digest()
        return blob

    files = [(name, send(name.encode(), data)) for name, data in extras]
    assert client.NewPLC(md5, send(md5.encode(), program), files) is True
    return md5


class Bridge:
    """``plclink bridge`` with its YAML file; restartable, the file editable while it runs."""

    def __init__(self, router, directory):
        self.router = router
        self.config = os.path.join(directory, "bridge.yaml")
        self.secret_file = os.path.join(directory, "bridge.secret")
        with open(self.secret_file, "w") as handle:
            handle.write(router.secret("bridge"))
        self.entries = {}
        self.child = None

    def write(self, **entries):
        """Replace the file: entries are ID -> dict of the entry's other keys."""
        self.entries = entries
        lines = ["runtimes:"]
        for plc_id, entry in entries.items():
            lines.append(f"  - id: {plc_id}")
            lines += [f"    {key}: {value}" for key, value in entry.items()]
        with open(self.config + ".tmp", "w") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(self.config + ".tmp", self.config)

    def start(self, *extra):
        self.child = Child("bridge", plclink_command(
            "bridge", "--config", self.config, "--url", self.router.url, "--realm",
            self.router.realm, "--secret-file", self.secret_file, "--state-dir",
            os.path.join(os.path.dirname(self.config), "bridge-state"), *extra), quiet=True)
        if not self.child.wait_for_line("bridge joined realm", 30):
            self.stop()
            raise RuntimeError("bridge did not join:\n" + "".join(self.child.lines[-30:]))

    def stop(self):
        if self.child is not None:
            self.child.stop()


def routed_status(ide, plc_id):
    """The status name a runtime answers through the router; None while it does not answer
    (not on the router yet, or unreachable behind the bridge)."""
    from autobahn.wamp.exception import ApplicationError
    try:
        return ide.call(f"{plc_id}.GetPLCstatus")[0]
    except ApplicationError:
        return None


class OverRouter:
    """PLC object calls through the router, shaped like erpc_harness.Blocking for transfer()."""

    def __init__(self, ide, plc_id):
        self.ide, self.plc_id = ide, plc_id

    def __getattr__(self, method):
        return lambda *args: self.ide.call(f"{self.plc_id}.{method}", *args)


def demo_files():
    with open(DEMO_PROGRAM, "rb") as handle:
        program = handle.read()
    with open(DEMO_CSV, "rb") as handle:
        csv = handle.read()
    return program, [(os.path.basename(DEMO_CSV), csv)]


def latest_values(client, plc_id, token, types, timeout=10):
    """The decoded newest sample a router client gets for its trace ``token`` (waiting for
    one)."""
    samples = wait_until(lambda: client.call(f"{plc_id}.GetTraceVariables", token)[1],
                         timeout=timeout, message=f"samples of token {token}")
    return decode_sample(types, samples[-1][1])


__all__ = ["ErpcRuntime", "routed_status", "PSKFront", "Bridge", "OverRouter", "BeremizPeer", "VARIABLES_CSV", "Blocking", "erpc_client", "transfer", "demo_files", "wait_until",
           "latest_values"]
