"""The eRPC messages of the Beremiz PLC object service (protocol.md §6), without I/O.

Every layout is derived from the parameter types in :mod:`plc_protocol.methods`; values go
through erpc's ``BasicCodec`` so the byte order and header packing are the reference ones. The
Python-side shapes are those of the methods module: struct → tuple, fixed array and list → list,
status → :class:`PLCStatus`, binary → ``bytes``.
"""
import struct
from dataclasses import dataclass
from functools import singledispatch
from typing import Callable, NamedTuple

from erpc.basic_codec import BasicCodec
from erpc.codec import CodecError, MessageInfo, MessageType

from .methods import (EBUSY, EINVAL, EIO, ENOENT, ENOSYS, METHODS_BY_ERPC_ID, METHODS_BY_NAME,
                      OK, UINT32, FixedArray, ListOf, Method, Scalar, Struct)
from .status import PLCStatus

SERVICE_ID = 1

_ERROR_NAMES = {
    OK: "OK",
    ENOENT: "ENOENT (no such blob or entry)",
    EIO: "EIO (input/output error)",
    EBUSY: "EBUSY (busy: not allowed in the current PLC status)",
    EINVAL: "EINVAL (invalid argument or token)",
    ENOSYS: "ENOSYS (not served by this runtime)",
}

_REQUEST_TYPES = (MessageType.kInvocationMessage, MessageType.kOnewayMessage)


class ErpcDecodeError(ValueError):
    """A message that does not match the service: the peer speaks another interface or is broken."""


class Request(NamedTuple):
    method: Method
    sequence: int
    args: tuple
    oneway: bool


def error_code_name(code: int) -> str:
    """Name a reply return code for log and error messages."""
    return _ERROR_NAMES.get(code, f"error code {code}")


# --- scalar kinds -------------------------------------------------------------------------------

def _expect(*types):
    """A check that lets a value through unchanged when Python-side it has one of ``types``."""
    def check(value):
        if not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise ValueError(f"expected {expected}, got {type(value).__name__} {value!r}")
        return value
    return check


def _status_from_wire(value):
    try:
        return PLCStatus.from_wire_int(value)
    except ValueError as error:
        raise ErpcDecodeError(f"bad PLC status: {error}") from None


@dataclass(frozen=True)
class _Kind:
    write: str  # BasicCodec method names
    read: str
    to_wire: Callable
    from_wire: Callable
    default: object


_KINDS = {
    "bool": _Kind("write_bool", "read_bool", _expect(bool), bool, False),
    "uint8": _Kind("write_uint8", "read_uint8", _expect(int), int, 0),
    "uint32": _Kind("write_uint32", "read_uint32", _expect(int), int, 0),
    "int32": _Kind("write_int32", "read_int32", _expect(int), int, 0),
    "str": _Kind("write_string", "read_string", _expect(str), str, ""),
    "bytes": _Kind("write_binary", "read_binary", _expect(bytes, bytearray, memoryview), bytes,
                   b""),
    "status": _Kind("write_int32", "read_int32", lambda value: PLCStatus.parse(value).wire_int,
                    _status_from_wire, PLCStatus.EMPTY),
}


# --- erpc codec with bounds checks --------------------------------------------------------------

class _Codec(BasicCodec):
    """BasicCodec that refuses to read past the end instead of returning short data."""

    def __init__(self, message=b""):
        super().__init__()
        self.buffer = bytes(message)

    @property
    def remaining(self):
        return len(self._buffer) - self._cursor

    def _read(self, fmt):
        if struct.calcsize(fmt) > self.remaining:
            raise ErpcDecodeError(f"message truncated: {self.remaining} bytes left, "
                                  f"{struct.calcsize(fmt)} needed")
        return super()._read(fmt)

    def read_binary(self):
        data = super().read_binary()
        if self._cursor > len(self._buffer):
            raise ErpcDecodeError(f"message truncated: a binary value lacks "
                                  f"{self._cursor - len(self._buffer)} bytes")
        return data

    def read_string(self):
        try:
            return super().read_string()
        except UnicodeDecodeError as error:
            raise ErpcDecodeError(f"string is not valid UTF-8: {error}") from None

    def finish(self):
        if self.remaining:
            raise ErpcDecodeError(f"{self.remaining} trailing bytes after the message")


# --- generic walk over the method types ---------------------------------------------------------

@singledispatch
def _write(type_, codec, value):
    raise TypeError(f"no eRPC layout for {type_!r}")


@_write.register
def _(type_: Scalar, codec, value):
    kind = _KINDS[type_.kind]
    try:
        getattr(codec, kind.write)(kind.to_wire(value))
    except struct.error as error:
        raise ValueError(f"{value!r} does not fit {type_.kind}: {error}") from None


@_write.register
def _(type_: Struct, codec, value):
    _check_length(value, len(type_.fields), f"struct {type_.name}")
    for field, item in zip(type_.fields, value):
        _write(field.type, codec, item)


@_write.register
def _(type_: FixedArray, codec, value):
    _check_length(value, type_.length, "fixed array")
    for item in value:
        _write(type_.element, codec, item)


@_write.register
def _(type_: ListOf, codec, value):
    codec.start_write_list(len(value))
    for item in value:
        _write(type_.element, codec, item)


def _check_length(value, length, what):
    if len(value) != length:
        raise ValueError(f"{what} needs {length} items, got {len(value)}: {value!r}")


@singledispatch
def _read(type_, codec):
    raise TypeError(f"no eRPC layout for {type_!r}")


@_read.register
def _(type_: Scalar, codec):
    kind = _KINDS[type_.kind]
    return kind.from_wire(getattr(codec, kind.read)())


@_read.register
def _(type_: Struct, codec):
    return tuple(_read(field.type, codec) for field in type_.fields)


@_read.register
def _(type_: FixedArray, codec):
    return [_read(type_.element, codec) for _ in range(type_.length)]


@_read.register
def _(type_: ListOf, codec):
    return [_read(type_.element, codec) for _ in range(codec.start_read_list())]


@singledispatch
def _default(type_):
    raise TypeError(f"no eRPC layout for {type_!r}")


@_default.register
def _(type_: Scalar):
    return _KINDS[type_.kind].default


@_default.register
def _(type_: Struct):
    return tuple(_default(field.type) for field in type_.fields)


@_default.register
def _(type_: FixedArray):
    return [_default(type_.element) for _ in range(type_.length)]


@_default.register
def _(type_: ListOf):
    return []


def _write_params(codec, method, params, values, direction):
    _check_length(values, len(params), f"{method.name} {direction}")
    for param, value in zip(params, values):
        try:
            _write(param.type, codec, value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{method.name} {direction} {param.name}: {error}") from None


# --- messages -----------------------------------------------------------------------------------

def _method(name):
    try:
        method = METHODS_BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown PLC object method {name!r}") from None
    if method.erpc_id is None:
        raise ValueError(f"{name} has no eRPC id: it is reached as ExtendedCall({name!r}, JSON)")
    return method


def _start(method, message_type, sequence):
    codec = _Codec()
    codec.start_write_message(MessageInfo(type=message_type, service=SERVICE_ID,
                                          request=method.erpc_id, sequence=sequence))
    return codec


def _read_header(codec):
    try:
        info = codec.start_read_message()
    except ErpcDecodeError:
        raise
    except CodecError as error:
        raise ErpcDecodeError(str(error)) from None
    except ValueError:  # MessageType() of an unknown type byte
        raise ErpcDecodeError("unknown eRPC message type") from None
    if info.service != SERVICE_ID:
        raise ErpcDecodeError(f"message for service {info.service}, expected {SERVICE_ID}")
    return info


def encode_request(method_name: str, args: tuple, sequence: int, oneway: bool = False) -> bytes:
    method = _method(method_name)
    message_type = MessageType.kOnewayMessage if oneway else MessageType.kInvocationMessage
    codec = _start(method, message_type, sequence)
    _write_params(codec, method, method.inputs, tuple(args), "arguments")
    return bytes(codec.buffer)


def decode_request(message: bytes) -> Request:
    codec = _Codec(message)
    info = _read_header(codec)
    if info.type not in _REQUEST_TYPES:
        raise ErpcDecodeError(f"expected a request, got a {info.type.name}")
    method = METHODS_BY_ERPC_ID.get(info.request)
    if method is None:
        raise ErpcDecodeError(f"unknown method id {info.request}")
    args = tuple(_read(param.type, codec) for param in method.inputs)
    codec.finish()
    return Request(method, info.sequence, args,
                   oneway=info.type is MessageType.kOnewayMessage)


def encode_reply(method_name: str, sequence: int, result, code: int = OK) -> bytes:
    """Encode a reply; a failed call (``code`` != OK) may pass ``result=None``.

    eRPC clients read the out-parameters before the return code, so even a failed call needs
    well-formed ones: zero/empty values stand in for the missing result.
    """
    method = _method(method_name)
    codec = _start(method, MessageType.kReplyMessage, sequence)
    _write_params(codec, method, method.outputs, _reply_values(method, result, code), "result")
    _write(UINT32, codec, code)
    return bytes(codec.buffer)


def _reply_values(method, result, code):
    if method.output is None:
        if result is not None:
            raise ValueError(f"{method.name} has no result, got {result!r}")
        return ()
    if result is None:
        if code == OK:
            raise ValueError(f"{method.name} succeeded without a result")
        return (_default(method.output.type),)
    return (result,)


def decode_reply(method_name: str, message: bytes, expected_sequence: int = None):
    """Return ``(sequence, result, code)``, checking the reply answers this call."""
    method = _method(method_name)
    codec = _Codec(message)
    info = _read_header(codec)
    if info.type is not MessageType.kReplyMessage:
        raise ErpcDecodeError(f"expected a reply, got a {info.type.name}")
    if info.request != method.erpc_id:
        raise ErpcDecodeError(f"reply for method id {info.request}, expected {method.erpc_id} "
                              f"({method.name})")
    if expected_sequence is not None and info.sequence != expected_sequence:
        raise ErpcDecodeError(f"reply sequence {info.sequence}, expected {expected_sequence}")
    values = [_read(param.type, codec) for param in method.outputs]
    code = _read(UINT32, codec)
    codec.finish()
    return info.sequence, (values[0] if values else None), code
