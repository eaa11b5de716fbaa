"""LOCAL://: a runtime started for this connection, on 127.0.0.1, reached over eRPC.

The runtime is a child process (``plclink runtime --no-wamp --erpc``), so a PLC program that
misbehaves cannot take the IDE down with it. It asks the system for a free port (port 0) and
announces the one it got, so two local runtimes never race for a port. Its working directory
persists between connections (as Beremiz's local runtime does), so the installed program
survives a reconnect; close() stops the process.
"""
import os
import time

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from ide_component.connector import Connector
from ide_component.erpc_connector import DEFAULT_TIMEOUT, ErpcConnector
from plc_protocol.errors import PLCUnreachable
from plc_protocol.uris import ConnectionURI, parse_uri
from plclink.processes import Child, plclink_command
from runtime_component.erpc_server import listening_port

DEFAULT_WORKDIR = os.path.join("~", ".local", "share", "plclink", "local-runtime")
START_TIMEOUT = 30.0
_POLL = 0.05


class LocalConnector(Connector):
    transport = "erpc"

    max_chunk_size = ErpcConnector.max_chunk_size  # the calls go over eRPC: one frame a chunk

    def __init__(self, uri="LOCAL://", workdir: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 runtime_args: tuple = ()):
        """``runtime_args``: more ``plclink runtime`` options (e.g. ``--autostart``)."""
        uri = parse_uri(uri) if isinstance(uri, str) else uri
        if not isinstance(uri, ConnectionURI) or uri.scheme != "LOCAL":
            raise ValueError(f"{uri} is not LOCAL://")
        super().__init__(uri)
        self.workdir = os.path.abspath(os.path.expanduser(workdir or DEFAULT_WORKDIR))
        self.timeout = timeout
        self.runtime_args = tuple(runtime_args)
        self.process = None
        self.erpc = None

    @property
    def pid(self) -> int | None:
        return self.process.process.pid if self.process is not None else None

    async def connect(self) -> None:
        if self.erpc is not None and self.erpc.connected:
            return
        os.makedirs(self.workdir, exist_ok=True)
        self.process = Child("local-runtime", plclink_command(
            "runtime", "--no-wamp", "--erpc", "--erpc-host", "127.0.0.1", "--erpc-port", "0",
            "--workdir", self.workdir, *self.runtime_args), quiet=True)
        try:
            port = await self._announced_port()
            self.erpc = ErpcConnector(ConnectionURI("ERPC", "127.0.0.1", port),
                                      timeout=self.timeout)
            await self.erpc.connect()
        except BaseException:
            await self._stop_process()
            raise

    async def _announced_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        seen = 0
        while True:
            lines = self.process.lines
            for line in lines[seen:]:
                port = listening_port(line)
                if port is not None:
                    return port
            seen = len(lines)
            if not self.process.running:
                await deferLater(reactor, 0.1, lambda: None)  # let the reader drain
                raise PLCUnreachable(f"the local runtime exited with code "
                                     f"{self.process.process.returncode}: {self._last_words()}")
            if time.monotonic() > deadline:
                raise PLCUnreachable(f"the local runtime did not open its eRPC port within "
                                     f"{START_TIMEOUT:g} s: {self._last_words()}")
            await deferLater(reactor, _POLL, lambda: None)

    def _last_words(self) -> str:
        lines = [line.strip() for line in self.process.lines if line.strip()]
        return " | ".join(lines[-3:]) or "no output"

    async def call(self, method: str, *args, timeout: float | None = None):
        if self.erpc is None:
            raise PLCUnreachable(f"{method}: the local runtime is not started (connect first)")
        return await self.erpc.call(method, *args, timeout=timeout)

    async def close(self) -> None:
        if self.erpc is not None:
            await self.erpc.close()
            self.erpc = None
        await self._stop_process()

    async def _stop_process(self):
        process, self.process = self.process, None
        if process is not None:
            await deferToThread(process.stop)
