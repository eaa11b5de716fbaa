"""eRPC framed-transport frames (protocol.md §6), without sockets.

The CRC and header logic is erpc's own ``FramedTransport``, run over an in-memory buffer, so our
frames are byte-for-byte what the reference client and server exchange. Callers own the I/O:
they pass received bytes to :class:`FrameDecoder` and write :func:`frame` results out.
"""
import binascii
import threading

from erpc.client import RequestError
from erpc.crc16 import Crc16
from erpc.transport import FramedTransport

HEADER_LEN = FramedTransport.HEADER_LEN
MAX_MESSAGE = 65535  # the header's length field is 16 bits

# erpc reports CRC failures as RequestError with these texts; ours name the part that is wrong.
_ERPC_ERRORS = {
    "invalid header CRC": "bad header CRC",
    "invalid message CRC": "bad body CRC",
}


class FrameError(ValueError):
    """A frame that cannot be trusted: the stream is out of step, so the connection must go."""


class _Incomplete(Exception):
    """More bytes are needed before erpc can go on reading the frame."""


class _CCittCrc16(Crc16):
    """erpc's CRC16 (poly 0x1021, MSB first, init 0xEF4A) computed by binascii in C: the same
    function (the golden frames check it), ~200× faster than erpc's pure-Python table loop,
    which otherwise bounds a transfer at a few MiB/s."""

    def computeCRC16(self, data):
        return binascii.crc_hqx(bytes(data), self._crcStart)


CRC16 = _CCittCrc16()  # give it to erpc's transports too: FramedTransport._Crc16


class _BufferTransport(FramedTransport):
    """erpc's framing with a byte buffer in place of the socket."""

    def __init__(self, max_message=MAX_MESSAGE):
        super().__init__()
        self._Crc16 = CRC16
        self.max_message = max_message
        self.received = bytearray()
        self.position = 0
        self.sent = b""

    def _base_send(self, data):
        self.sent = bytes(data)

    def _base_receive(self, count):
        # erpc reads the header first, then the body right after it: that second read is the
        # one whose length comes from the peer, so it is where the limit applies.
        if self.position == HEADER_LEN and count > self.max_message:
            raise FrameError(f"message of {count} bytes exceeds the limit of {self.max_message}")
        end = self.position + count
        if end > len(self.received):
            raise _Incomplete
        chunk = bytes(self.received[self.position:end])
        self.position = end
        return chunk


def frame(message: bytes) -> bytes:
    """Prefix ``message`` with the framed-transport header."""
    if len(message) > MAX_MESSAGE:
        raise FrameError(f"message of {len(message)} bytes exceeds the eRPC frame limit "
                         f"of {MAX_MESSAGE}")
    with _sender_lock:
        _sender.send(bytes(message))
        return _sender.sent


_sender = _BufferTransport()  # one framer for every frame(): building erpc's CRC table is slow
_sender_lock = threading.Lock()


class FrameDecoder:
    """Cuts a received byte stream into CRC-checked messages, whatever the chunking.

    At most one frame (header plus ``max_message`` bytes) stays buffered between calls. After a
    :class:`FrameError` the stream position is lost, so every later call fails too.
    """

    def __init__(self, max_message: int = MAX_MESSAGE):
        self._transport = _BufferTransport(max_message)
        self._error = None

    def feed(self, data: bytes) -> list:
        if self._error is not None:
            raise FrameError(f"stream already broken: {self._error}")
        self._transport.received += data
        messages = []
        while (message := self._next_message()) is not None:
            messages.append(message)
        return messages

    def _next_message(self):
        transport = self._transport
        transport.position = 0
        try:
            message = transport.receive()
        except _Incomplete:
            return None
        except RequestError as error:
            raise self._broken(FrameError(_ERPC_ERRORS.get(str(error), str(error)))) from None
        except FrameError as error:
            raise self._broken(error)
        del transport.received[:transport.position]
        return bytes(message)

    def _broken(self, error):
        self._error = error
        self._transport.received.clear()
        return error
