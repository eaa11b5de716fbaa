"""Names and value shapes on the router (protocol.md §7, architecture.md "Naming").

Procedures are ``<ID>.<Method>``; events are ``<ID>.<event>``. Arguments and results are
positional, tuples become lists, status travels as its name, bytes stay binary (autobahn carries
them through json, msgpack and cbor).
"""
from functools import singledispatch


from plc_protocol.errors import PLCObjectError
from plc_protocol.methods import EINVAL, METHODS_BY_NAME, FixedArray, ListOf, Scalar, Struct
from plc_protocol.status import PLCStatus
from plc_protocol.uris import DEFAULT_PORTS, validate_plc_id

DEFAULT_REALM = "Automation"
DEFAULT_URL = f"ws://127.0.0.1:{DEFAULT_PORTS['WAMP']}"  # Beremiz's wampconf default
SERIALIZERS = ("msgpack", "cbor", "json")
# crossbar's default max_message_size: a router closes the connection of a client sending more
ROUTER_MESSAGE_LIMIT = 16 * 1024 * 1024

EVENT_STATUS = "status"  # retained: [status, logcounts], kwargs: md5, bridged, platform ...
EVENT_LOG = "log"        # [level, msg_id, text, tick, sec, nsec]
EVENT_TRACE = "trace"    # [debug token, [[tick, buffer], ...]]
EVENT_VALUES = "values"  # [tick, buffer]: every variable in table order, encoded as a trace sample
EVENT_FORCES = "forces"  # retained: [[force entry, ...]] (docs/force-model.md)
EVENT_SCAN = "scan"      # retained, while Started: kwargs period_ms, lateness_ms_p99 ... (same)
RUNTIME_EVENTS = (EVENT_STATUS, EVENT_LOG, EVENT_TRACE, EVENT_VALUES, EVENT_FORCES, EVENT_SCAN)
VALUES_PUBLISH_INTERVAL = 0.5  # s between <ID>.values events
SCAN_PUBLISH_INTERVAL = 5.0    # s between <ID>.scan events
TESTAMENT_PROCEDURE = "wamp.session.add_testament"


def procedure(plc_id: str, method: str) -> str:
    return f"{validate_plc_id(plc_id)}.{method}"


def topic(plc_id: str, event: str) -> str:
    return f"{validate_plc_id(plc_id)}.{event}"


def split_name(uri: str) -> tuple[str, str] | None:
    """(ID, suffix) of a name under a runtime's prefix, None for any other URI."""
    plc_id, dot, suffix = uri.partition(".")
    if not dot or "." in suffix or not suffix:
        return None
    try:
        return validate_plc_id(plc_id), suffix
    except ValueError:
        return None


@singledispatch
def _to_wamp(type_, value):
    raise TypeError(type_)


@_to_wamp.register
def _(type_: Scalar, value):
    if type_.kind == "status":
        return PLCStatus.parse(value).value
    if type_.kind == "bytes":
        return bytes(value)
    return value


@_to_wamp.register
def _(type_: Struct, value):
    return [None if item is None and field.none_is_empty else _to_wamp(field.type, item)
            for field, item in zip(type_.fields, value)]


@_to_wamp.register(FixedArray)
@_to_wamp.register(ListOf)
def _(type_, value):
    return [_to_wamp(type_.element, item) for item in value]


@singledispatch
def _from_wamp(type_, value):
    raise TypeError(type_)


_SCALAR_TYPES = {"bool": (bool,), "uint8": (int,), "uint32": (int,), "int32": (int,),
                 "str": (str,), "bytes": (bytes, bytearray)}


@_from_wamp.register
def _(type_: Scalar, value):
    if type_.kind == "status":
        return PLCStatus.parse(value)
    if type_.kind == "json":  # the extension method checks what it takes
        return value
    expected = _SCALAR_TYPES[type_.kind]
    if not isinstance(value, expected) or (type_.kind != "bool" and isinstance(value, bool)):
        raise ValueError(f"expected {type_.kind}, got {type(value).__name__} {value!r:.40}")
    return bytes(value) if type_.kind == "bytes" else value


@_from_wamp.register
def _(type_: Struct, value):
    if len(value) != len(type_.fields):
        raise ValueError(f"{type_.name} needs {len(type_.fields)} fields, got {len(value)}")
    return tuple(_field_from_wamp(field, item) for field, item in zip(type_.fields, value))


def _field_from_wamp(field, item):
    """The Beremiz IDE's WAMP connector sends None for an empty force ("not forced"), where
    eRPC carries an empty binary (protocol.md §9): both mean the same."""
    if item is None and field.none_is_empty:
        return b""
    return _from_wamp(field.type, item)


@_from_wamp.register(FixedArray)
@_from_wamp.register(ListOf)
def _(type_, value):
    return [_from_wamp(type_.element, item) for item in value]


def result_to_wamp(method_name: str, result):
    output = METHODS_BY_NAME[method_name].output
    if output is None or result is None:
        return None
    return _to_wamp(output.type, result)


def result_from_wamp(method_name: str, value):
    output = METHODS_BY_NAME[method_name].output
    if output is None or value is None:
        return None
    return _from_wamp(output.type, value)


def args_to_wamp(method_name: str, args) -> list:
    method = METHODS_BY_NAME[method_name]
    return [_to_wamp(param.type, arg) for param, arg in zip(method.inputs, args)]


def args_from_wamp(method_name: str, args) -> tuple:
    """Arguments as they arrived from the network, checked against the method table."""
    method = METHODS_BY_NAME[method_name]
    required = sum(1 for param in method.inputs if not param.optional)
    if not required <= len(args) <= len(method.inputs):
        raise ValueError(f"{method_name} takes {len(method.inputs)} argument(s) "
                         f"({', '.join(p.name for p in method.inputs) or 'none'}), got {len(args)}")
    return tuple(_from_wamp(param.type, arg) for param, arg in zip(method.inputs, args))


def checked_args(method_name: str, args) -> tuple:
    """What a procedure (native or bridged) does first with its arguments: check them, or
    answer the caller with an error that says what is wrong."""
    from autobahn.wamp.exception import ApplicationError   # not on `plclink --help`'s path
    try:
        return args_from_wamp(method_name, args)
    except (TypeError, ValueError) as error:
        raise ApplicationError(PLCObjectError(EINVAL, "").wamp_uri,
                               f"{method_name}: bad arguments: {error}") from None


def application_error(method_name: str, error: PLCObjectError) -> "ApplicationError":  # noqa: F821
    """A runtime's refusal as the WAMP error a caller receives (the URI carries the code); the
    message names the method once (a connector's message may name it already)."""
    from autobahn.wamp.exception import ApplicationError
    message = error.message
    if not message.startswith(method_name):
        message = f"{method_name}: {message}"
    return ApplicationError(error.wamp_uri, message)
