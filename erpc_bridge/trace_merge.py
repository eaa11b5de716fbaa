"""Many router clients' traces and one force table, merged into an upstream runtime's one set.

An upstream Beremiz runtime has one traced-and-forced set (protocol.md §9): whoever sets a list
replaces everyone else's. The bridge is its one client, so it keeps what each router session
traces and the runtime's forces (docs/force-model.md) here, and sends the union as the single
upstream list: the variables of the bridge's ``variables`` file (sampled for ``<ID>.values``),
every session's traced variables and every forced one, in index order, each forced variable
carrying its force. Samples of that list are cut into each session's own samples, in the order
of the session's list.

Pure state, no I/O: the link sends :meth:`MergedTrace.upstream_orders` whenever
:meth:`MergedTrace.revision` changes, and feeds the samples it polls to :meth:`split`.
Cutting samples needs each variable's size, so merging needs the variable table; the link
passes lists through unmerged for a runtime without one.
"""
import time
from collections import deque
from dataclasses import dataclass, field

from plc_protocol.iec_types import STRING_MAX, decode, encode, iec_type
from runtime_component.forces import Caller, ForceTable
from plc_protocol.trace_limits import (FORCE_BUFFER_OVERFLOW, FORCE_LIST_OVERFLOW,
                                       INVALID_FORCE, MAX_FORCED, MAX_SAMPLE_BYTES, MAX_TRACED,
                                       TRACE_LIST_OVERFLOW)

MAX_BUFFERED_SAMPLES = 1000  # per session, for GetTraceVariables callers; older ones dropped


class OrderError(ValueError):
    """A list or force the runtime would refuse: ``code`` is upstream's answer (-1 … -4)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class TraceSession:
    """One router session's traced set, as upstream keeps one client's."""
    key: object             # the caller's WAMP session id; None: callers the router hides
    by: str
    token: int
    indexes: list
    samples: deque = field(default_factory=lambda: deque(maxlen=MAX_BUFFERED_SAMPLES))


class TableView:
    """A variables file's table as runtime_component/forces.py reads a program's."""

    def __init__(self, entries):
        self.declarations = entries

    def __len__(self):
        return len(self.declarations)


def sample_size(type_name: str) -> int:
    """Bytes one variable takes in a sample, at most (a STRING's length varies)."""
    return iec_type(type_name).size or 1 + STRING_MAX


class MergedTrace:
    def __init__(self, table=None):
        self.table = list(table or [])
        self.view = TableView(self.table)
        self.sessions = {}      # key -> TraceSession
        self.forces = ForceTable(self._now)  # the runtime's, as plclink's runtime keeps its own
        self._since = None          # the time a force being restored was made
        self.last_values = {}   # index -> last sampled value, for a force's "before"
        self.revision = 0       # bumped whenever the upstream list must change
        self._tokens = 0
        problem = self._fits([v.index for v in self.table], 0)
        self.values = [v.index for v in self.table] if problem is None else []
        self.values_problem = problem[1] if problem else None  # why values are not sampled

    # --- what upstream gets -----------------------------------------------------------------

    def forced(self) -> dict:
        """index -> force bytes."""
        return dict(self.forces.raw_items())

    def upstream_indexes(self) -> list:
        wanted = set(self.values) | set(self.forced())
        for session in self.sessions.values():
            wanted.update(session.indexes)
        return sorted(wanted)

    def upstream_orders(self, extra=()) -> list:
        """``[(index, force bytes or b"")]``; ``extra`` indexes are added unforced (releasing on
        upstream needs a non-empty list without the force)."""
        forced = self.forced()
        indexes = sorted(set(self.upstream_indexes()) | set(extra))
        return [(index, forced.get(index, b"")) for index in indexes]

    # --- sessions ---------------------------------------------------------------------------

    def set_list(self, key, by, orders) -> int:
        """A session's SetTraceVariablesList: its new set, and (upstream's ResetDebugVariables
        scoped to the session) the forces its earlier lists made replaced by this list's.
        Returns the session's token; raises OrderError, changing nothing, for a list upstream
        would refuse."""
        indexes, forced = [], {}
        for index, force in orders:
            self.check(index, force)
            indexes.append(index)
            if force:
                forced[index] = bytes(force)
        self._check_limits(set(self.forced()) | set(forced), key, indexes)
        self.forces.release_session(key)
        for index, raw in forced.items():
            self.forces.set(index, raw, Caller(key, by), self.last_values.get(index),
                            from_trace=True)
        self._tokens = self._tokens % 0x7FFFFFFF + 1
        self.sessions[key] = TraceSession(key, by, self._tokens, indexes)
        self.revision += 1
        return self._tokens

    def end(self, key) -> bool:
        """The session's trace ends (empty list, or the session left): no force changes."""
        if self.sessions.pop(key, None) is None:
            return False
        self.revision += 1
        return True

    def session_of(self, token):
        return next((s for s in self.sessions.values() if s.token == token), None)

    # --- forces -----------------------------------------------------------------------------

    def force(self, orders, by) -> None:
        """``orders``: ``[(index, raw)]``; all or nothing."""
        for index, raw in orders:
            self.check(index, raw)
            if not raw:
                raise OrderError(INVALID_FORCE, f"index {index}: empty force value")
        self._check_limits(set(self.forced()) | {index for index, _ in orders})
        for index, raw in orders:
            self.forces.set(index, bytes(raw), Caller(None, by), self.last_values.get(index))
        self.revision += 1

    def restore(self, entries) -> list:
        """Forces kept by an earlier bridge (force entries), back with their author and time;
        the entries that no longer fit the table are returned, not restored."""
        dropped = []
        for entry in entries:
            try:
                index, raw = entry["index"], bytes.fromhex(entry["raw"])
                self.check(index, raw)
                if not raw:
                    raise ValueError("empty force")
                self._since = float(entry["since"])
                self.forces.set(index, raw, Caller(None, str(entry["by"])), entry.get("before"))
            except (KeyError, TypeError, ValueError, OrderError):
                dropped.append(entry)
            finally:
                self._since = None
        self.revision += 1
        return dropped

    def _now(self) -> float:
        return self._since if self._since is not None else time.time()

    def release(self, indexes=None) -> list:
        """The forces released (all of them for ``None``); unknown indexes are ignored."""
        released = self.forces.release(indexes)
        if released:
            self.revision += 1
        return released

    def entries(self) -> list:
        return self.forces.entries(self.view)

    def encode_value(self, index, value) -> bytes:
        """A JSON scalar as the force bytes of the variable's type (EINVAL-worthy ValueError)."""
        variable = self._variable(index)
        try:
            return encode(variable.type, value, for_force=True)
        except ValueError as error:
            raise ValueError(f"{variable.name} ({variable.type}): {error}") from None

    # --- samples ----------------------------------------------------------------------------

    def split(self, indexes, samples) -> tuple:
        """Cut upstream samples of the list ``indexes`` into each session's:
        ``({session key: [(tick, buffer)]}, last values sample (tick, buffer) or None)``.
        A sample that does not parse (the list changed under it) is dropped."""
        per_session = {key: [] for key in self.sessions}
        values = None
        for tick, buffer in samples:
            parts = self._cut(indexes, bytes(buffer))
            if parts is None:
                continue
            for key, session in self.sessions.items():
                if all(i in parts for i in session.indexes):
                    cut = (tick, b"".join(parts[i] for i in session.indexes))
                    per_session[key].append(cut)
                    session.samples.append(cut)
            if self.values and all(i in parts for i in self.values):
                values = (tick, b"".join(parts[i] for i in self.values))
        return per_session, values

    def _cut(self, indexes, buffer):
        parts, offset, forced = {}, 0, self.forced()
        try:
            for index in indexes:
                variable = self.table[index]
                value, end = decode(variable.type, buffer, offset)
                parts[index] = buffer[offset:end]
                if index not in forced:
                    self.last_values[index] = value
                offset = end
        except (ValueError, IndexError):
            return None
        return parts if offset == len(buffer) else None

    # --- checks -----------------------------------------------------------------------------

    def _variable(self, index):
        if not isinstance(index, int) or isinstance(index, bool) or not \
                0 <= index < len(self.table):
            raise OrderError(INVALID_FORCE, f"index {index!r} is not in the variable table "
                             f"(0..{len(self.table) - 1})")
        return self.table[index]

    def name(self, index) -> str:
        return self.table[index].name if 0 <= index < len(self.table) else f"index {index}"

    def check(self, index, force):
        variable = self._variable(index)
        if force and len(force) != iec_type(variable.type).force_size:
            raise OrderError(FORCE_BUFFER_OVERFLOW,
                             f"{variable.name}: a {variable.type} force is "
                             f"{iec_type(variable.type).force_size} bytes, got {len(force)}")

    def _check_limits(self, forces, key=None, indexes=()):
        """The upstream list with ``forces`` (indexes) and session ``key`` tracing
        ``indexes``."""
        wanted = set(self.values) | set(forces) | set(indexes)
        for session in self.sessions.values():
            if session.key != key or not indexes:
                wanted.update(session.indexes)
        problem = self._fits(wanted, len(forces))
        if problem is not None:
            raise OrderError(*problem)

    def _fits(self, indexes, forced):
        if len(indexes) > MAX_TRACED:
            return TRACE_LIST_OVERFLOW, f"{len(indexes)} variables, at most {MAX_TRACED}"
        size = sum(sample_size(self.table[i].type) for i in indexes)
        if size > MAX_SAMPLE_BYTES:
            return TRACE_LIST_OVERFLOW, f"{size} bytes per sample, at most {MAX_SAMPLE_BYTES}"
        if forced > MAX_FORCED:
            return FORCE_LIST_OVERFLOW, f"{forced} forces, at most {MAX_FORCED}"
        return None
