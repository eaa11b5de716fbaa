"""The one exception every transport turns a PLC object failure into, and back.

The runtime raises :class:`PLCObjectError` with an errno-like code (protocol.md §2); over eRPC
the code is the reply's return code, over WAMP it is the last part of the error URI. Connectors
re-raise the same class, so code above them handles one exception whatever the transport.
"""
from plc_protocol.methods import EBUSY, EINVAL, EIO, ENOENT, ENOSYS

WAMP_ERROR_PREFIX = "plclink.error."
# A bridge answers this for an eRPC runtime it cannot reach: callers see PLCUnreachable.
UNREACHABLE_ERROR = WAMP_ERROR_PREFIX + "unreachable"
_CODE_NAMES = {ENOENT: "ENOENT", EIO: "EIO", EBUSY: "EBUSY", EINVAL: "EINVAL",
               ENOSYS: "ENOSYS"}
_NAME_CODES = {name: code for code, name in _CODE_NAMES.items()}


class PLCObjectError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def wamp_uri(self) -> str:
        return WAMP_ERROR_PREFIX + _CODE_NAMES.get(self.code, str(self.code))


class PLCUnreachable(Exception):
    """The runtime could not be reached or the link dropped: the caller reports Disconnected."""


def from_wamp_error(uri: str, message: str):
    """The PLCObjectError or PLCUnreachable a WAMP error URI stands for, None when it is not
    one of ours."""
    if uri == UNREACHABLE_ERROR:
        return PLCUnreachable(message)
    if not uri.startswith(WAMP_ERROR_PREFIX):
        return None
    suffix = uri[len(WAMP_ERROR_PREFIX):]
    code = _NAME_CODES.get(suffix)
    if code is None and suffix.isdigit():
        code = int(suffix)
    return None if code is None else PLCObjectError(code, message)
