"""The runtime's force table: the one place that knows what is forced, by whom, since when.

A force belongs to the runtime, not to a trace (docs/force-model.md): it stays until someone
releases it or a new program is installed. Callers reach it through the Force/Release methods,
or through SetTraceVariablesList, whose forced entries become forces of the caller's session
(upstream's ResetDebugVariables then releases, at that session's next non-empty list, only what
that session's lists forced). Writes are one-shot values the program process applies before one
cycle; they never enter the table.

Pure: the PLC object validates orders against the program's variable table here, keeps the
table, and hands ``raw_items()`` to the program process.
"""
import time
from dataclasses import dataclass
from typing import NamedTuple

from plc_protocol.errors import PLCObjectError
from plc_protocol.iec_types import decode_force, encode
from plc_protocol.methods import EINVAL
from plc_protocol.trace_limits import MAX_FORCED


class Caller(NamedTuple):
    """Who calls: ``session`` keys the caller's own trace (a WAMP session, an eRPC connection),
    ``by`` is what force entries show (an authid, ``erpc:<address>``, ``program``)."""
    session: object
    by: str


NOBODY = Caller(None, "program")


@dataclass
class Force:
    index: int
    raw: bytes
    by: str
    since: float
    before: object = None     # the value just before the force (None: unknown)
    from_trace: bool = False  # made by a SetTraceVariablesList of ``session``
    session: object = None


def raw_value(order, table) -> tuple:
    """(index, raw bytes) of one Force/Write order ``{"index", "value"|"raw"}``; EINVAL names
    the variable and what is wrong. ``table``: the program's variable table, None if it has
    none (a Beremiz build without VARIABLES.csv: only ``raw`` is possible then)."""
    if not isinstance(order, dict) or not isinstance(order.get("index"), int) \
            or isinstance(order.get("index"), bool) or ("value" in order) == ("raw" in order):
        raise PLCObjectError(EINVAL, f"a force order is {{\"index\": int, \"value\": scalar}} or "
                             f"{{\"index\": int, \"raw\": hex}}, got {order!r:.80}")
    index = order["index"]
    known = table is not None and len(table) > 0
    if index < 0 or (known and index >= len(table)):
        raise PLCObjectError(EINVAL, f"variable index {index} is not in the program's table")
    declaration = table.declarations[index] if known else None
    what = f"{declaration.name} ({declaration.type})" if declaration else f"index {index}"
    if "raw" in order:
        raw = order["raw"]
        try:
            raw = bytes.fromhex(raw) if isinstance(raw, str) else bytes(raw)
        except (TypeError, ValueError):
            raise PLCObjectError(EINVAL, f"{what}: raw must be hex text or bytes") from None
        if declaration is not None:
            try:
                decode_force(declaration.type, raw)
            except ValueError as error:
                raise PLCObjectError(EINVAL, f"{what}: {error}") from None
        elif not raw:
            raise PLCObjectError(EINVAL, f"{what}: an empty raw value forces nothing")
        return index, raw
    if declaration is None:
        raise PLCObjectError(EINVAL, f"{what}: the runtime has no variable table for this "
                             "program (no VARIABLES.csv), so give the IEC bytes as \"raw\"")
    try:
        return index, encode(declaration.type, order["value"], for_force=True)
    except ValueError as error:
        raise PLCObjectError(EINVAL, f"cannot set {what}: {error}") from None


class ForceTable:
    def __init__(self, clock=time.time):
        self._clock = clock
        self._forces = {}   # index -> Force

    def __len__(self):
        return len(self._forces)

    def set(self, index: int, raw: bytes, caller: Caller, before=None, from_trace=False) -> None:
        """Force (or force again: the new value, caller and time replace the old ones; the
        value before the first force is kept for restore)."""
        old = self._forces.get(index)
        if old is None and len(self._forces) >= MAX_FORCED:
            raise PLCObjectError(EINVAL, f"at most {MAX_FORCED} variables can be forced")
        self._forces[index] = Force(index, raw, caller.by, self._clock(),
                                    old.before if old is not None else before,
                                    from_trace, caller.session)

    def release(self, indexes=None) -> list:
        """The released forces (all when ``indexes`` is None); unknown indexes are no error."""
        chosen = list(self._forces) if indexes is None else [i for i in indexes if i in self._forces]
        return [self._forces.pop(index) for index in chosen]

    def release_session(self, session) -> list:
        """What a session's trace lists forced (its next non-empty list replaces them)."""
        return self.release([f.index for f in self._forces.values()
                             if f.from_trace and f.session == session])

    def raw_items(self) -> list:
        return [(index, force.raw) for index, force in sorted(self._forces.items())]

    def entries(self, table) -> list:
        """The force entries of docs/force-model.md, in index order."""
        declarations = table.declarations if table is not None else []
        result = []
        for index, force in sorted(self._forces.items()):
            declaration = declarations[index] if index < len(declarations) else None
            value = None
            if declaration is not None:
                try:
                    value = decode_force(declaration.type, force.raw)
                except ValueError:
                    pass
            result.append({"index": index,
                           "name": declaration.name if declaration else None,
                           "type": declaration.type if declaration else None,
                           "value": value, "raw": force.raw.hex(),
                           "before": force.before if declaration else None,
                           "by": force.by, "since": force.since})
        return result
