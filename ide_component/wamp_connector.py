"""The connector for ``WAMP://`` and ``WAMPS://``: PLC object calls through the router.

Every call carries a router-side timeout (``CallOptions(timeout=...)``), so a runtime that hangs
or drops mid-call ends as PLCUnreachable for that call alone; the router cancels it for us.
Many connectors may share one session (fleet operations); only the one that joined leaves.
"""
import math

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.exception import Error as WampError
from autobahn.wamp.types import CallOptions, SubscribeOptions
from twisted.internet import defer

from ide_component.connector import Connector
from ide_component.failures import OperationFailed
from ide_component.wamp_session import join, load_credentials
from plc_protocol.errors import PLCUnreachable, from_wamp_error
from plc_protocol.uris import ConnectionURI
from plc_protocol.wamp_conventions import (EVENT_STATUS, args_to_wamp, procedure,
                                           result_from_wamp, topic)

DEFAULT_CALL_TIMEOUT = 10
# Methods that load, stop or remove a program run hooks with a 5 s deadline each on the runtime.
SLOW_CALL_TIMEOUT = 30
SLOW_METHODS = frozenset({"NewPLC", "ReplacePLC", "StartPLC", "StopPLC", "RepairPLC",
                          "RestartPLC"})


class WampConnector(Connector):
    transport = "wamp"

    def __init__(self, uri: ConnectionURI, *, credentials: dict | None = None, session=None,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT):
        super().__init__(uri)
        self.credentials = credentials
        self.call_timeout = call_timeout
        self.session = session
        self._owns_session = session is None

    @property
    def where(self) -> str:
        return f"realm {self.uri.realm} at {self.uri.websocket_url}"

    async def connect(self) -> None:
        if self.session is None:
            credentials = self.credentials if self.credentials is not None else load_credentials()
            self.session = await join(self.uri.websocket_url, self.uri.realm, credentials)

    async def call(self, method: str, *args, timeout: float | None = None):
        if self.session is None:
            raise PLCUnreachable(f"{self.plc_id}: not connected; call connect() first")
        if timeout is None:
            timeout = SLOW_CALL_TIMEOUT if method in SLOW_METHODS else self.call_timeout
        name = procedure(self.plc_id, method)
        try:
            # The WAMP CALL option is whole seconds.
            answer = await self.session.call(name, *args_to_wamp(method, args),
                                             options=CallOptions(timeout=max(1, math.ceil(timeout))))
        except ApplicationError as error:
            raise self._translate(error, method, timeout) from None
        except WampError as error:
            raise PLCUnreachable(f"{self.plc_id}: lost the router ({self.where}) during "
                                 f"{method}: {error or 'the connection is closed'}") from None
        return result_from_wamp(method, answer)

    def _translate(self, error: ApplicationError, method: str, timeout: float) -> Exception:
        message = error.args[0] if error.args else ""
        mapped = from_wamp_error(error.error, str(message))
        if mapped is not None:
            return mapped
        if error.error == ApplicationError.NO_SUCH_PROCEDURE:
            return PLCUnreachable(f"no runtime {self.plc_id!r} on {self.where}: check the ID, "
                                  "or whether that runtime is running")
        if error.error == ApplicationError.CANCELED:
            if "timeout" in str(message):
                return PLCUnreachable(f"{self.plc_id}: no answer to {method} within {timeout:g} s")
            return PLCUnreachable(f"{self.plc_id}: the runtime disconnected during {method}")
        if error.error in (ApplicationError.NOT_AUTHORIZED, ApplicationError.AUTHORIZATION_FAILED):
            who = (self.credentials or {}).get("authid") or "this client"
            return OperationFailed(f"{self.plc_id}: the router does not allow {who} to call "
                                   f"{method}: {message}")
        if error.error.startswith("wamp.close."):
            return PLCUnreachable(f"{self.plc_id}: lost the router ({self.where}) during {method}")
        return OperationFailed(f"{self.plc_id}: {method} failed: {error.error}: {message}")

    def subscribe(self, event: str, handler):
        """A Deferred firing with the subscription; status comes with its retained value first."""
        options = SubscribeOptions(get_retained=True) if event == EVENT_STATUS else None
        return self.session.subscribe(handler, topic(self.plc_id, event), options=options)

    async def close(self) -> None:
        session, self.session = self.session, None
        if self._owns_session and session is not None and session.is_attached():
            closed = session.leave()
            if isinstance(closed, defer.Deferred):  # leave() answers True when already closed
                await closed
