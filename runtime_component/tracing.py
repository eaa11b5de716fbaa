"""Traces per session (docs/force-model.md), runtime side: tokens, limits, samples.

Each session (a WAMP caller's session, an eRPC connection) has its own traced list and token,
as if it were alone on an upstream runtime. The program process samples the union of every
session's list (plus the forces and one-shot writes of forces.py) once per cycle, tagged with
the layout it used; this module cuts each union sample into every session's own sample, so a
session ending its trace changes no other trace.

Cutting needs the size of each traced value, which the variable table's types give. A Beremiz
build transferred without VARIABLES.csv has no table: its indexes are accepted as upstream does
(the library knows them), and then one session traces at a time.

The reactor validates and sets the lists and takes samples; the host's threads add the samples
they drain from shared memory; one small lock guards the exchange.
"""
import itertools
import json
import threading
import time
from collections import deque

from plc_protocol.iec_types import decode, decode_force, encode, iec_type
from plc_protocol.status import PLCStatus
from plc_protocol.trace_limits import (DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW, FORCE_LIST_OVERFLOW,
                                       INVALID_FORCE, MAX_FORCED, MAX_SAMPLE_BYTES, MAX_TRACED,
                                       POLL_TIMEOUT, TRACE_LIST_OVERFLOW)

KEEP_SAMPLES = 4096


class _Session:
    def __init__(self, token, indexes):
        self.token = token
        self.indexes = indexes
        self.polled = deque(maxlen=KEEP_SAMPLES)
        self.published = deque(maxlen=KEEP_SAMPLES)
        self.last_poll = None


class TraceState:
    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._tokens = itertools.count(1)      # the sessions' tokens, as upstream counts them
        self._layouts = itertools.count(1)     # the union's layouts, tagging its samples
        self._sessions = {}        # session key -> _Session
        self._layout = 0           # the token the program process tags union samples with
        self._union = []           # traced indexes, in sample order
        self._types = None         # the table's types (None: a library without VARIABLES.csv)
        self._slices = None        # {index: (start, end)} when every traced type has one size
        self._last_token = 0

    @property
    def token(self) -> int:
        """The last token handed out (tests, logs)."""
        return self._last_token

    def reset(self) -> None:
        """A new or removed program invalidates every index: every trace ends."""
        with self._lock:
            self._sessions.clear()
            self._union, self._types, self._slices = [], None, None
            self._layout = next(self._layouts)

    def _next_token(self) -> int:
        return next(self._tokens) & 0x7FFFFFFF or next(self._tokens)

    def check_orders(self, orders, table):
        """0, or the negative code upstream answers for this list (protocol.md §2)."""
        if table is None:
            return DEBUG_SUSPENDED
        if len(orders) > MAX_TRACED:
            return TRACE_LIST_OVERFLOW
        typed = len(table) > 0
        size, forced = 0, 0
        values = table.values if typed else None
        for idx, force in orders:
            if idx < 0 or (typed and idx >= len(table)):
                return INVALID_FORCE
            if typed:
                type_name = table.declarations[idx].type
                size += len(encode(type_name, values[idx]))
            if force:
                forced += 1
                if forced > MAX_FORCED:
                    return FORCE_LIST_OVERFLOW
                if typed:
                    try:
                        decode_force(type_name, bytes(force))
                    except ValueError:
                        return FORCE_BUFFER_OVERFLOW
        if size > MAX_SAMPLE_BYTES:
            return TRACE_LIST_OVERFLOW
        return 0

    def trace(self, session, indexes, table) -> int:
        """Set ``session``'s traced list (checked by check_orders); its new token, or a
        negative code when the union would not fit or could not be cut."""
        typed = len(table) > 0
        with self._lock:
            sessions = dict(self._sessions)
            sessions[session] = _Session(self._next_token(), list(indexes))
            union = _union(sessions)
            if len(union) > MAX_TRACED:
                return TRACE_LIST_OVERFLOW
            if typed:
                values = table.values
                if sum(len(encode(table.declarations[i].type, values[i]))
                       for i in union) > MAX_SAMPLE_BYTES:
                    return TRACE_LIST_OVERFLOW
            elif any(s.indexes != union for s in sessions.values()):
                return TRACE_LIST_OVERFLOW   # cannot cut samples without the types
            self._types = [d.type for d in table.declarations] if typed else None
            self._install(sessions)
            state = sessions[session]
            state.last_poll = self._clock()
            self._last_token = state.token
            return state.token

    def end(self, session) -> bool:
        """End ``session``'s trace (an empty list, a closed connection, a WAMP session gone);
        whether it traced. Other sessions keep their tokens and samples."""
        with self._lock:
            if session not in self._sessions:
                return False
            sessions = dict(self._sessions)
            del sessions[session]
            self._install(sessions)
            return True

    def _install(self, sessions) -> None:
        union = _union(sessions)
        if union != self._union:
            self._layout = next(self._layouts)
        self._sessions, self._union = sessions, union
        self._slices = _fixed_slices(union, self._types)

    def sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def config(self, forces, writes) -> bytes:
        """What the program process applies: the layout token, the union in sample order, the
        forces and the pending writes as raw bytes (it decodes them with its own table)."""
        with self._lock:
            return json.dumps({
                "token": self._layout, "traced": self._union,
                "forced": [[index, raw.hex()] for index, raw in forces],
                "writes": [[serial, index, raw.hex()] for serial, index, raw in writes],
            }).encode()

    def add(self, samples) -> None:
        """Union samples drained from the program process: (layout token, tick, buffer); those
        of a replaced layout are dropped, the others cut for each session."""
        with self._lock:
            now = self._clock()
            for layout, tick, buffer in samples:
                if layout != self._layout or not self._sessions:
                    continue
                parts = None
                for session in self._sessions.values():
                    if session.indexes == self._union or self._types is None:
                        data = buffer
                    else:
                        parts = parts or self._cut(buffer)
                        data = b"".join(parts[i] for i in session.indexes if i in parts)
                    sample = (tick & 0xFFFFFFFF, data)
                    if now - session.last_poll <= POLL_TIMEOUT:
                        session.polled.append(sample)
                    session.published.append(sample)

    def _cut(self, buffer) -> dict:
        """{index: its bytes} of a union sample (with types)."""
        if self._slices is not None:
            return {index: buffer[start:end] for index, (start, end) in self._slices.items()}
        parts, offset = {}, 0
        for index in self._union:
            try:
                _, end = decode(self._types[index], buffer, offset)
            except ValueError:
                break   # left out past the sample limit, as Beremiz does
            parts[index] = buffer[offset:end]
            offset = end
        return parts

    def take(self, session, token: int, status: PLCStatus):
        """GetTraceVariables: this session's samples since its last call; a token that is not
        the session's current one: Broken, no samples (upstream's answer)."""
        with self._lock:
            state = self._sessions.get(session)
            if state is None or state.token != token:
                state = next((s for s in self._sessions.values() if s.token == token), None)
            if state is None:
                return PLCStatus.BROKEN, []
            state.last_poll = self._clock()
            samples = list(state.polled)
            state.polled.clear()
            return status, samples

    def take_published(self):
        """[(token, samples)] not yet published as events, one entry per session."""
        with self._lock:
            result = []
            for state in self._sessions.values():
                if state.published:
                    result.append((state.token, list(state.published)))
                    state.published.clear()
            return result


def _union(sessions) -> list:
    return list(dict.fromkeys(i for s in sessions.values() for i in s.indexes))


def _fixed_slices(union, types):
    """Where each traced value lies in a union sample, when none is a STRING (whose size
    varies): computed once per layout instead of walking every sample."""
    if types is None:
        return None
    slices, offset = {}, 0
    for index in union:
        size = iec_type(types[index]).size
        if size is None:
            return None
        slices[index] = (offset, offset + size)
        offset += size
    return slices
