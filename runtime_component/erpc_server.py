"""The runtime's eRPC server: service 1 (the PLC object) over the framed TCP transport.

Unlike the reference server (protocol.md §6 "pitfalls") it serves many clients at once inside
the runtime's reactor and answers every request: a handler failure becomes a return code, never
a missing reply that would hang the client. A peer that breaks the framing or sends something
that is not a request of our service loses its connection (the stream can no longer be trusted),
and only that peer: everyone else keeps being served.
"""
import re

from twisted.internet import reactor
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from plc_protocol.erpc_codec import ErpcDecodeError, Request, decode_request, encode_reply
from plc_protocol.erpc_framing import HEADER_LEN, FrameDecoder, FrameError, frame
from plc_protocol.errors import PLCObjectError
from plc_protocol.extension_calls import decode_arguments, encode_answer, is_json_extension
from plc_protocol.methods import EINVAL, EIO, ENOENT, OK
from runtime_component.forces import NOBODY, Caller
from runtime_component.plc_object import SESSION_METHODS

# Logged once the port is open; whoever starts a runtime with --erpc-port 0 reads the port here.
LISTENING_LINE = "eRPC server listening on {host}:{port}"
_LISTENING_PATTERN = re.compile(r"eRPC server listening on (?P<host>[^\s]+):(?P<port>\d+)")

log = Logger()


class ErpcListenError(RuntimeError):
    """The eRPC port cannot be opened; the message says which and what to do."""


def answer(plc, request: Request, caller: Caller = NOBODY) -> bytes:
    """Run one request on the PLC object and encode its reply, whatever happens.

    A method with a result that answers None has nothing to give (GetLogMessage for an unknown
    or dropped id): over eRPC that is ENOENT with empty out-parameters.
    """
    method = request.method
    try:
        result = _run(plc, method.name, request.args, caller)
    except PLCObjectError as error:
        return encode_reply(method.name, request.sequence, None, error.code)
    except (TypeError, ValueError) as error:
        log.info("eRPC {method}: bad arguments: {error}", method=method.name, error=error)
        return encode_reply(method.name, request.sequence, None, EINVAL)
    except Exception as error:  # a runtime bug must still answer, or the client hangs
        log.failure("eRPC {method} failed: {error}", method=method.name, error=repr(error))
        return encode_reply(method.name, request.sequence, None, EIO)
    if result is None and method.output is not None:
        return encode_reply(method.name, request.sequence, None, ENOENT)
    try:
        return encode_reply(method.name, request.sequence, result, OK)
    except (TypeError, ValueError) as error:
        log.error("eRPC {method}: the PLC object answered {result}, which eRPC cannot "
                  "carry: {error}", method=method.name, result=repr(result)[:80], error=error)
        return encode_reply(method.name, request.sequence, None, EIO)


def _run(plc, name, args, caller):
    """A force-model extension arrives as ExtendedCall(name, JSON) and answers JSON; each
    connection is its own trace session (a Beremiz IDE's, as on an upstream runtime)."""
    if name == "ExtendedCall" and is_json_extension(args[0]):
        name, args = args[0], decode_arguments(args[0], args[1])
        return encode_answer(_run(plc, name, args, caller))
    if name in SESSION_METHODS:
        return getattr(plc, name)(*args, caller=caller)
    return getattr(plc, name)(*args)


class ErpcServerProtocol(Protocol):
    """One client connection: frames in, replies out, in request order."""

    def connectionMade(self):
        self.transport.setTcpNoDelay(True)  # one small reply per request: send it now
        self.decoder = FrameDecoder()
        self.peer = _address(self.transport.getPeer())
        self.caller = Caller(("erpc", self.peer), f"erpc:{self.peer}")
        self.buffered = 0  # bytes of an unfinished frame, to tell a truncated one at close
        self.dropped = False
        self.factory.clients.add(self)
        log.info("eRPC client {peer} connected ({count} open)", peer=self.peer,
                 count=len(self.factory.clients))

    def dataReceived(self, data):
        if self.dropped:
            return
        try:
            messages = self.decoder.feed(data)
        except FrameError as error:
            return self._drop(f"bad frame: {error}")
        self.buffered += len(data) - sum(HEADER_LEN + len(message) for message in messages)
        for message in messages:
            try:
                request = decode_request(message)
            except ErpcDecodeError as error:
                return self._drop(f"undecodable request: {error}")
            reply = answer(self.factory.plc, request, self.caller)
            if not request.oneway:
                self.transport.write(frame(reply))

    def _drop(self, problem):
        self.dropped = True
        log.warn("eRPC client {peer}: {problem}; connection closed", peer=self.peer,
                 problem=problem)
        self.transport.abortConnection()

    def connectionLost(self, reason):
        self.factory.clients.discard(self)
        self.factory.plc.end_session(self.caller.session)
        if self.dropped:
            return
        if self.buffered:
            log.warn("eRPC client {peer}: connection closed in the middle of a frame "
                     "({count} bytes of it received)", peer=self.peer, count=self.buffered)
        else:
            log.info("eRPC client {peer} disconnected", peer=self.peer)


class ErpcServerFactory(Factory):
    protocol = ErpcServerProtocol
    noisy = False  # our own lines say what matters

    def __init__(self, plc):
        self.plc = plc
        self.clients = set()


def _address(address) -> str:
    host = getattr(address, "host", str(address))
    port = getattr(address, "port", None)
    return f"{host}:{port}" if port is not None else host


def listen(plc, host: str, port: int):
    """Open the eRPC port (port 0: any free one); the listening port, ``getHost().port`` tells
    which. Raises ErpcListenError with the reason and a way out."""
    try:
        listening = reactor.listenTCP(port, ErpcServerFactory(plc), interface=host)
    except CannotListenError as error:
        raise ErpcListenError(
            f"cannot serve eRPC on {host}:{port}: {error.socketError}; choose another "
            "--erpc-port/--erpc-host or stop whatever holds it") from None
    bound = listening.getHost()
    log.info(LISTENING_LINE + " (ERPC://{host}:{port})", host=bound.host, port=bound.port)
    return listening


def listening_port(line: str) -> int | None:
    """The eRPC port announced by a runtime's log line, None for any other line."""
    match = _LISTENING_PATTERN.search(line)
    return int(match["port"]) if match else None


def _reachable(host: str) -> str:
    """Where a local process reaches a server bound to ``host`` (a wildcard: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def serve(args, plc) -> None:
    """Start what the runtime's eRPC options ask for: the eRPC port, and the stunnel front
    when ``--psk-stunnel-port`` is given (``args.psk_file`` is then its secret file)."""
    if not args.erpc:
        return
    listening = listen(plc, args.erpc_host, args.erpc_port)
    if args.announce:
        from runtime_component.announce import Announcer
        announcer = Announcer(plc.plc_id, args.erpc_host, listening.getHost().port)
        reactor.callWhenRunning(announcer.start)
        reactor.addSystemEventTrigger("before", "shutdown", announcer.stop)
    if args.psk_stunnel_port is not None:
        from runtime_component.psk import StunnelFront
        bound = listening.getHost()
        front = StunnelFront(args.workdir, args.psk_stunnel_port, bound.port, args.psk_file,
                             plc.plc_id, erpc_host=_reachable(bound.host))
        reactor.callWhenRunning(front.start)
