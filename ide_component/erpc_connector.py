"""ERPC:// and ERPCS:// connectors: the PLC object over eRPC, plain or TLS-PSK (protocol.md §5).

Calls are pipelined on one connection and matched to replies by sequence number, so a slow
answer never blocks the others and a late one (after its timeout) is recognised and dropped.
Every call ends: with its result, PLCObjectError (the runtime's return code), or PLCUnreachable
(connection lost, not connected) or its kind NoAnswer (this request timed out).

An eRPC server sends no reply at all to a method it does not have or whose handler raised
(protocol.md §9: Beremiz's), and the connection stays usable: so a timeout ends that one
request, never the connection. An extension (ExtendedCall, absent from Beremiz's IDL) gets a
short timeout, and its silence is the answer "not served" (ENOSYS), not unreachability.
"""
from dataclasses import dataclass

from erpc.basic_codec import BasicCodec
from twisted.internet import defer, reactor
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from zope.interface import implementer

from ide_component.connector import Connector
from ide_component.psk_store import PSKStore, PSKStoreError
from ide_component.tls_psk import PSKClientConnectionCreator, is_psk_refusal
from ide_component.wamp_connector import SLOW_CALL_TIMEOUT, SLOW_METHODS
from plc_protocol.erpc_codec import ErpcDecodeError, decode_reply, encode_request, error_code_name
from plc_protocol.erpc_framing import MAX_MESSAGE, FrameDecoder, FrameError, frame
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.extension_calls import decode_answer, encode_arguments, is_json_extension
from plc_protocol.methods import EINVAL, ENOSYS, METHODS_BY_NAME, OK
from plc_protocol.uris import ConnectionURI, parse_uri

DEFAULT_TIMEOUT = 10.0
EXTENSION_TIMEOUT = 3.0   # plclink's runtime answers at once; a Beremiz one never does
# The largest AppendChunkToBlob data that fits one eRPC frame: plan transfers with it.
MAX_CHUNK_SIZE = MAX_MESSAGE - len(encode_request("AppendChunkToBlob", (b"", bytes(16)), 1))
_MAX_SEQUENCE = 0xFFFFFFFF
# Its non-zero return code only says "no such message": that is an answer, not an error.
_NONE_ON_ERROR = ("GetLogMessage",)


class PSKRefused(PLCUnreachable):
    """The TLS-PSK server refused our identity or key: pairing is needed, not a retry."""


class NoAnswer(PLCUnreachable):
    """One request went unanswered within its timeout; the connection is still up. For
    GetPLCstatus that means unreachable; for other calls, the runtime did not serve it."""

    def __init__(self, message: str, timeout: float):
        super().__init__(message)
        self.timeout = timeout


@dataclass
class _Pending:
    method: str
    deferred: defer.Deferred
    timer: object


def _reply_sequence(message: bytes) -> int:
    """The sequence number of a reply, read by erpc's own codec before we know its method."""
    codec = BasicCodec()
    codec.buffer = message
    try:
        return codec.start_read_message().sequence
    except Exception as error:  # erpc raises struct.error, ValueError or CodecError here
        raise ErpcDecodeError(f"unreadable reply header: {error}") from None


@implementer(IHandshakeListener)
class _ErpcClientProtocol(Protocol):
    def __init__(self, connector):
        self.connector = connector
        self.decoder = FrameDecoder()
        self.ready = defer.Deferred()  # fires once requests may flow (after TLS, if any)
        self.closed = defer.Deferred()
        self.tls = False

    def connectionMade(self):
        no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if no_delay is not None:
            no_delay(True)  # pipelined small requests: never wait for an ACK to send
        if not self.tls:
            self.ready.callback(None)

    def handshakeCompleted(self):
        if not self.ready.called:
            self.ready.callback(None)

    def dataReceived(self, data):
        try:
            messages = self.decoder.feed(data)
        except FrameError as error:
            return self.connector._broken(self, f"sent a bad frame ({error})")
        for message in messages:
            self.connector._reply(self, message)

    def connectionLost(self, reason):
        if not self.ready.called:
            self.ready.errback(reason)
        self.connector._lost(self, reason)
        self.closed.callback(None)


class ErpcConnector(Connector):
    transport = "erpc"
    max_chunk_size = MAX_CHUNK_SIZE

    def __init__(self, uri, psk_store: PSKStore | None = None, timeout: float = DEFAULT_TIMEOUT):
        uri = parse_uri(uri) if isinstance(uri, str) else uri
        if not isinstance(uri, ConnectionURI) or not uri.is_erpc:
            raise ValueError(f"{uri} is not an ERPC:// or ERPCS:// URI")
        super().__init__(uri)
        self.psk_store = psk_store
        self.timeout = timeout
        self._protocol = None
        self._pending = {}
        self._sequence = 0
        self._closing = False
        self._lost_callbacks = []

    @property
    def address(self) -> str:
        host = f"[{self.uri.host}]" if ":" in self.uri.host else self.uri.host
        return f"{host}:{self.uri.port}"

    @property
    def connected(self) -> bool:
        return self._protocol is not None

    def when_lost(self, callback) -> None:
        """``callback(message)`` runs each time an established connection goes away."""
        self._lost_callbacks.append(callback)

    # --- connection -----------------------------------------------------------------------------

    def _endpoint(self):
        endpoint = HostnameEndpoint(reactor, self.uri.host, self.uri.port, timeout=self.timeout)
        if self.uri.scheme != "ERPCS":
            return endpoint
        store = self.psk_store or PSKStore()
        try:
            secret = store.require(self.uri.plc_id)
        except PSKStoreError as error:
            raise PLCUnreachable(f"cannot connect to {self.uri}: {error}") from None
        return wrapClientTLS(PSKClientConnectionCreator(self.uri.plc_id, secret), endpoint)

    async def connect(self) -> None:
        if self._protocol is not None:
            return
        self._closing = False
        protocol = _ErpcClientProtocol(self)
        protocol.tls = self.uri.scheme == "ERPCS"
        endpoint = self._endpoint()
        try:
            await endpoint.connect(_OneConnection(protocol))
        except (ConnectError, OSError) as error:  # OSError: DNSLookupError among others
            raise PLCUnreachable(f"cannot connect to {self.uri} ({self.address}): "
                                 f"{_describe(error)}") from None
        timer = reactor.callLater(self.timeout, _abort, protocol)
        try:
            await protocol.ready
        except Exception as error:
            if is_psk_refusal(error):
                raise PSKRefused(
                    f"TLS-PSK handshake refused by {self.address}: wrong PSK or unknown "
                    f"identity {self.uri.plc_id!r} (re-pair with 'plclink pair')") from None
            raise PLCUnreachable(f"cannot connect to {self.uri} ({self.address}): "
                                 f"{_describe(error)}") from None
        finally:
            if timer.active():
                timer.cancel()
        self._protocol = protocol
        if self.uri.scheme == "ERPCS" and self.psk_store is not None:
            self.psk_store.touch(self.uri.plc_id, str(self.uri))

    async def close(self) -> None:
        self._closing = True
        protocol, self._protocol = self._protocol, None
        self._fail_all(f"{self.uri}: connection closed by this side")
        if protocol is not None and not protocol.closed.called:
            protocol.transport.loseConnection()
            timer = reactor.callLater(2, protocol.transport.abortConnection)
            await protocol.closed
            if timer.active():
                timer.cancel()

    # --- calls ----------------------------------------------------------------------------------

    async def call(self, method: str, *args, timeout: float | None = None):
        """``timeout`` defaults to the connector's, longer for methods that run program hooks,
        shorter for extensions."""
        if is_json_extension(method):
            answer = await self.call("ExtendedCall", method, encode_arguments(args),
                                     timeout=timeout)
            return decode_answer(method, answer)
        extension = getattr(METHODS_BY_NAME.get(method), "extension", False)
        if timeout is None and extension:
            timeout = min(self.timeout, EXTENSION_TIMEOUT)
        try:
            return await self._call(method, args, timeout)
        except NoAnswer as error:
            if not extension:
                raise
            raise PLCObjectError(ENOSYS, f"{method} is not served by {self.uri} (no answer "
                                 f"within {error.timeout:g} s: a Beremiz runtime has no "
                                 "plclink extensions)") from None

    async def _call(self, method, args, timeout):
        protocol = self._protocol
        if protocol is None:
            raise PLCUnreachable(f"{method}: not connected to {self.uri}")
        sequence = self._next_sequence()
        try:
            data = frame(encode_request(method, args, sequence))
        except ValueError as error:  # FrameError (too big) is a ValueError too
            raise PLCObjectError(EINVAL, f"{method}: bad arguments: {error}") from None
        if timeout is None:
            timeout = max(self.timeout, SLOW_CALL_TIMEOUT) if method in SLOW_METHODS \
                else self.timeout
        deferred = defer.Deferred()
        timer = reactor.callLater(timeout, self._timed_out, sequence, timeout)
        self._pending[sequence] = _Pending(method, deferred, timer)
        protocol.transport.write(data)
        result, code = await deferred
        if code == OK:
            return result
        if method in _NONE_ON_ERROR:
            return None
        raise PLCObjectError(code, f"{method} refused by {self.uri}: {error_code_name(code)}")

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _timed_out(self, sequence, timeout):
        pending = self._pending.pop(sequence, None)
        if pending is not None:
            pending.deferred.errback(NoAnswer(
                f"{pending.method}: no answer from {self.uri} within {timeout:g} s (the "
                "connection is up: the runtime did not serve this call)", timeout))

    def _reply(self, protocol, message):
        if protocol is not self._protocol:
            return
        try:
            sequence = _reply_sequence(message)
            pending = self._pending.get(sequence)
            if pending is None:
                return  # the answer to a call that already timed out
            _, result, code = decode_reply(pending.method, message, sequence)
        except ErpcDecodeError as error:
            return self._broken(protocol, f"sent an undecodable reply ({error})")
        del self._pending[sequence]
        pending.timer.cancel()
        pending.deferred.callback((result, code))

    def _broken(self, protocol, problem):
        """The peer broke the stream: no later reply can be trusted, so the link goes."""
        if protocol is self._protocol:
            self._protocol = None
            self._fail_all(f"{self.uri} {problem}; connection dropped")
            self._notify(f"{self.uri} {problem}")
        protocol.transport.abortConnection()

    def _lost(self, protocol, reason):
        if protocol is not self._protocol:
            return
        self._protocol = None
        message = f"connection to {self.uri} lost ({_describe(reason.value)})"
        self._fail_all(message)
        self._notify(message)

    def _fail_all(self, message):
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            entry.timer.cancel()
            entry.deferred.errback(PLCUnreachable(f"{entry.method}: {message}"))

    def _notify(self, message):
        if not self._closing:
            for callback in list(self._lost_callbacks):
                callback(message)


class _OneConnection(Factory):
    """connectProtocol's factory without its two log lines per attempt (a bridge retries)."""
    noisy = False

    def __init__(self, protocol):
        self.protocol_instance = protocol

    def buildProtocol(self, address):
        return self.protocol_instance


def _abort(protocol):
    if protocol.transport is not None:
        protocol.transport.abortConnection()


def _describe(error) -> str:
    if isinstance(error, ConnectionDone):
        return "closed by the other side"
    if isinstance(error, ConnectionLost):
        return "lost without a clean close"
    return (str(error) or type(error).__name__).rstrip(".")
