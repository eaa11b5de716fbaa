"""What every connector offers, whatever the transport (protocol.md §5).

Code above connectors (transfer, CLI, fleet, bridge) only sees this interface, so ERPC, ERPCS,
LOCAL, WAMP and WAMPS are interchangeable. Everything is asynchronous (Twisted Deferreds or
coroutines driven by the one reactor of the process).

``call(method, *args)`` takes and returns the Python-side shapes of plc_protocol.methods and
raises PLCObjectError (the runtime refused) or PLCUnreachable (no answer, link lost).
"""
from abc import ABC, abstractmethod

from plc_protocol.uris import ConnectionURI


class Connector(ABC):
    #: "wamp" or "erpc": informational only, callers never branch on it
    transport = ""

    def __init__(self, uri: ConnectionURI):
        self.uri = uri

    @property
    def plc_id(self) -> str | None:
        return self.uri.plc_id

    @abstractmethod
    async def connect(self) -> None:
        """Open the link; raises PLCUnreachable with a message naming the address."""

    @abstractmethod
    async def call(self, method: str, *args):
        """One PLC object method; see the module docstring for shapes and errors."""

    @abstractmethod
    async def close(self) -> None:
        """Release the link (and whatever the connector started, e.g. a LOCAL runtime)."""

    def subscribe(self, event: str, handler):
        """Live events (status, log, trace) where the transport has them; eRPC has none and
        returns None, so callers fall back to polling."""
        return None
