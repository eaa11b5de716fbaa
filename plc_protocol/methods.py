"""The PLC object method table (protocol.md §2), the one description of every method.

The runtime's PLC object implements these names, the WAMP component registers them, the eRPC
codec derives its wire layout from the parameter types, and the IDE connectors call them.

Python-side shapes, shared by all transports:
- arguments are positional, in the order of ``inputs``;
- a method whose single output is a struct returns a tuple of the struct's fields, a single
  scalar output is returned as is, no output is ``None``;
- ``status`` values are :class:`PLCStatus` members (names over WAMP, ints over eRPC).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Scalar:
    """A leaf type: bool, uint8, uint32, int32, str, bytes or status (an int32 enum)."""
    kind: str


@dataclass(frozen=True)
class FixedArray:
    element: object
    length: int


@dataclass(frozen=True)
class ListOf:
    element: object


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple  # of Param


@dataclass(frozen=True)
class Param:
    name: str
    type: object
    none_is_empty: bool = False  # over WAMP, None stands for an empty binary
    optional: bool = False  # a trailing argument a caller may leave out (its default: None)


BOOL = Scalar("bool")
UINT8 = Scalar("uint8")
UINT32 = Scalar("uint32")
INT32 = Scalar("int32")
STRING = Scalar("str")
BINARY = Scalar("bytes")
STATUS = Scalar("status")
JSON = Scalar("json")  # any JSON value: what extension methods take and answer (checked by them)

PLC_STATUS_STRUCT = Struct("PLCstatus", (
    Param("PLCstatus", STATUS),
    Param("logcounts", FixedArray(UINT32, 4)),
))
PSK_ID_STRUCT = Struct("PSKID", (Param("ID", STRING), Param("PSK", STRING)))
LOG_MESSAGE_STRUCT = Struct("log_message", (
    Param("msg", STRING), Param("tick", UINT32), Param("sec", UINT32), Param("nsec", UINT32),
))
TRACE_SAMPLE_STRUCT = Struct("trace_sample", (Param("tick", UINT32), Param("TraceBuffer", BINARY)))
TRACE_VARIABLES_STRUCT = Struct("TraceVariables", (
    Param("PLCstatus", STATUS),
    Param("traces", ListOf(TRACE_SAMPLE_STRUCT)),
))
EXTRA_FILE_STRUCT = Struct("extra_file", (Param("fname", STRING), Param("blobID", BINARY)))
TRACE_ORDER_STRUCT = Struct("trace_order", (Param("idx", UINT32),
                                            Param("force", BINARY, none_is_empty=True)))


@dataclass(frozen=True)
class Method:
    """``erpc_id`` None: an extension reached over eRPC as ``ExtendedCall(name, JSON)``."""
    name: str
    erpc_id: int | None
    inputs: tuple = ()
    outputs: tuple = ()  # eRPC out-parameters; at most one here
    controls: bool = False  # changes the PLC (refused to read-only roles)
    extension: bool = False  # plclink's own, absent from Beremiz's IDL (protocol.md §9)

    @property
    def output(self):
        return self.outputs[0] if self.outputs else None


METHODS = (
    Method("AppendChunkToBlob", 1, (Param("data", BINARY), Param("blobID", BINARY)),
           (Param("newBlobID", BINARY),), controls=True),
    Method("GetLogMessage", 2, (Param("level", UINT8), Param("msgID", UINT32)),
           (Param("message", LOG_MESSAGE_STRUCT),)),
    Method("GetPLCID", 3, (), (Param("plcID", PSK_ID_STRUCT),), controls=True),
    Method("GetPLCstatus", 4, (), (Param("status", PLC_STATUS_STRUCT),)),
    Method("GetTraceVariables", 5, (Param("debugToken", UINT32),),
           (Param("traces", TRACE_VARIABLES_STRUCT),)),
    Method("MatchMD5", 6, (Param("MD5", STRING),), (Param("match", BOOL),)),
    Method("NewPLC", 7, (Param("md5sum", STRING), Param("plcObjectBlobID", BINARY),
                         Param("extrafiles", ListOf(EXTRA_FILE_STRUCT))),
           (Param("success", BOOL),), controls=True),
    Method("PurgeBlobs", 8, controls=True),
    Method("RepairPLC", 9, controls=True),
    Method("ResetLogCount", 10, controls=True),
    Method("SeedBlob", 11, (Param("seed", BINARY),), (Param("blobID", BINARY),), controls=True),
    Method("SetTraceVariablesList", 12, (Param("orders", ListOf(TRACE_ORDER_STRUCT)),),
           (Param("debugtoken", INT32),), controls=True),
    Method("StartPLC", 13, controls=True),
    Method("StopPLC", 14, (), (Param("success", BOOL),), controls=True),
    Method("ExtendedCall", 15, (Param("method", STRING), Param("argument", BINARY)),
           (Param("answer", BINARY),), extension=True),
    # The force model (docs/force-model.md): forces belong to the runtime, not to a trace.
    Method("GetForces", None, (), (Param("forces", JSON),), extension=True),
    Method("Force", None, (Param("orders", JSON),), (Param("forces", JSON),), controls=True,
           extension=True),
    Method("Release", None, (Param("indexes", JSON), Param("restore", BOOL, optional=True)),
           (Param("forces", JSON),), controls=True, extension=True),
    Method("Write", None, (Param("orders", JSON),), (Param("done", JSON),), controls=True,
           extension=True),
    Method("RestartPLC", None, (), (Param("started", BOOL),), controls=True, extension=True),
    # NewPLC that also takes a Started PLC: the runtime's own stop, install, start (rollouts)
    Method("ReplacePLC", None, (Param("md5sum", STRING), Param("plcObjectBlobID", BINARY),
                                Param("extrafiles", ListOf(EXTRA_FILE_STRUCT))),
           (Param("success", BOOL),), controls=True, extension=True),
)

METHODS_BY_NAME = {m.name: m for m in METHODS}
METHODS_BY_ERPC_ID = {m.erpc_id: m for m in METHODS if m.erpc_id is not None}
# Extensions an eRPC peer reaches through ExtendedCall(name, JSON arguments) -> JSON answer.
JSON_EXTENSIONS = tuple(m for m in METHODS if m.erpc_id is None)

# What every Beremiz runtime serves: first contact rests on these alone. A Beremiz eRPC server
# does not answer a method it lacks, so an extension's silence means "not served".
BEREMIZ_METHODS = tuple(m for m in METHODS if not m.extension)

# Read-only roles may call these and nothing else of the PLC object.
READING_METHODS = tuple(m.name for m in METHODS if not m.controls)
# Control calls the router's authorizer reports for the audit trail (who did what to a PLC);
# the blob calls of a transfer are summed up by its NewPLC.
AUDITED_METHODS = ("StartPLC", "StopPLC", "RepairPLC", "NewPLC", "SetTraceVariablesList",
                   "ResetLogCount", "Force", "Release", "Write", "RestartPLC", "ReplacePLC")
# What installs a program (the registry's install records and audit verdicts).
INSTALL_METHODS = ("NewPLC", "ReplacePLC")

# Errno-like return codes for eRPC replies (protocol.md §2).
OK = 0
ENOENT = 2
EIO = 5
EBUSY = 16
EINVAL = 22
ENOSYS = 38  # a method (an extension) the runtime does not serve
