"""IDE-side failures that are neither the runtime's refusal (PLCObjectError) nor a lost link
(PLCUnreachable): the command line maps each family to its own exit code."""
from plc_protocol.errors import PLCUnreachable


class OperationFailed(Exception):
    """The operation ran but did not achieve what was asked (refused by the router, a digest
    disagreed, the program did not load); the message says what and what to do."""


class DigestMismatch(OperationFailed):
    """A blob id answered by the runtime differs from the running md5 computed locally: a chunk
    was altered or lost on the way, so nothing must be installed from that blob."""


class UnsupportedTransport(ValueError):
    """The URI is well formed but its connector is not available in this installation."""


class TimedOut(PLCUnreachable):
    """A blocking call of the library got no result within its time-out: to the caller the
    runtime or the router is as good as unreachable (exit code 3)."""
