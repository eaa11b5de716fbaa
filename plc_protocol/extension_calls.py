"""Extension methods over eRPC: ``ExtendedCall(name, JSON arguments)`` answering JSON.

Beremiz's IDL has one open door, ExtendedCall; the force model's methods (docs/force-model.md)
go through it with their positional arguments as a JSON array and their result as JSON, so an
eRPC client and our eRPC server agree without new method ids.
"""
import json

from plc_protocol.errors import PLCObjectError
from plc_protocol.methods import EINVAL, EIO, METHODS_BY_NAME

# ExtendedCall names plclink's runtime answers besides the JSON extensions (raw bytes answers):
VERSIONS_CALL = "GetVersions"          # the platform string: the probe for plclink extensions
VARIABLES_CALL = "GetVariables"        # the variable table (plc_protocol/beremiz_variables.py)
CYCLE_STATS_CALL = "GetCycleStats"     # scan-cycle figures as JSON (health gate, benchmarks)
PROGRAM_MD5_CALL = "GetProgramMD5"     # the installed program's md5, b"" without one: upstream
                                       # has no call for it, so a bridge asks this one


def is_json_extension(name: str) -> bool:
    method = METHODS_BY_NAME.get(name)
    return method is not None and method.erpc_id is None


def _binary(value):
    """JSON has no bytes: a blob id travels as {"hex": ...} (ReplacePLC)."""
    if isinstance(value, (bytes, bytearray)):
        return {"hex": bytes(value).hex()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _unbinary(document: dict):
    if set(document) == {"hex"} and isinstance(document["hex"], str):
        try:
            return bytes.fromhex(document["hex"])
        except ValueError:
            raise PLCObjectError(EINVAL, "a binary argument is not hex") from None
    return document


def encode_arguments(args) -> bytes:
    return json.dumps(list(args), separators=(",", ":"), default=_binary).encode()


def decode_arguments(name: str, argument: bytes) -> tuple:
    """The positional arguments of an ExtendedCall to ``name``, checked for shape only."""
    method = METHODS_BY_NAME[name]
    try:
        args = json.loads(bytes(argument).decode() or "[]", object_hook=_unbinary)
    except (UnicodeDecodeError, ValueError) as error:
        raise PLCObjectError(EINVAL, f"{name}: the argument is not JSON ({error})") from None
    if not isinstance(args, list):
        raise PLCObjectError(EINVAL, f"{name}: the argument must be a JSON array of arguments")
    required = sum(1 for param in method.inputs if not param.optional)
    if not required <= len(args) <= len(method.inputs):
        raise PLCObjectError(EINVAL, f"{name} takes {len(method.inputs)} argument(s) "
                             f"({', '.join(p.name for p in method.inputs) or 'none'}), "
                             f"got {len(args)}")
    return tuple(args)


def encode_answer(result) -> bytes:
    return json.dumps(result, separators=(",", ":")).encode()


def decode_answer(name: str, answer: bytes):
    try:
        return json.loads(bytes(answer).decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise PLCObjectError(EIO, f"{name}: the runtime's answer is not JSON ({error})") from None
