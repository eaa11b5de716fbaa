"""Trace and force state (protocol.md §2, §4), runtime side: debug tokens, limits, samples.

The reactor validates and sets the traced set and takes samples; the program process applies
the forces and records a sample every cycle (program_process.py), tagged with the token of the
configuration it used, so samples of a replaced list are never handed out under the new token.
The host's threads add the samples they drain from shared memory; one small lock guards the
exchange.
"""
import json
import threading
import time
from collections import deque

from plc_protocol.iec_types import decode_force, encode
from plc_protocol.status import PLCStatus
from plc_protocol.trace_limits import (DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW, FORCE_LIST_OVERFLOW,
                                       INVALID_FORCE, MAX_FORCED, MAX_SAMPLE_BYTES, MAX_TRACED,
                                       POLL_TIMEOUT, TRACE_LIST_OVERFLOW)

KEEP_SAMPLES = 4096


class TraceState:
    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.token = 0
        self._config = {"token": 0, "traced": [], "forced": []}
        self._polled = deque(maxlen=KEEP_SAMPLES)
        self._published = deque(maxlen=KEEP_SAMPLES)
        self._last_poll = clock()

    def reset(self) -> None:
        """A new or removed program invalidates every index: drop traces and forces."""
        with self._lock:
            self._config = {"token": 0, "traced": [], "forced": []}
            self._polled.clear()
            self._published.clear()

    def set_orders(self, orders, table) -> int:
        """Replace the traced set and the forces; the new token, or a negative error code."""
        if table is None:
            return DEBUG_SUSPENDED
        if len(orders) > MAX_TRACED:
            return TRACE_LIST_OVERFLOW
        traced, forced, sample_size = [], [], 0
        values = table.values
        for idx, force in orders:
            if not 0 <= idx < len(table):
                return INVALID_FORCE
            type_name = table.declarations[idx].type
            traced.append(idx)
            sample_size += len(encode(type_name, values[idx]))
            if force:
                if len(forced) >= MAX_FORCED:
                    return FORCE_LIST_OVERFLOW
                try:
                    decode_force(type_name, bytes(force))
                except ValueError:
                    return FORCE_BUFFER_OVERFLOW
                forced.append((idx, bytes(force).hex()))
        if sample_size > MAX_SAMPLE_BYTES:
            return TRACE_LIST_OVERFLOW
        with self._lock:
            self.token = (self.token + 1) & 0x7FFFFFFF or 1
            self._config = {"token": self.token, "traced": traced, "forced": forced}
            self._polled.clear()
            self._published.clear()
            self._last_poll = self._clock()
            return self.token

    def config(self) -> bytes:
        """What the program process applies: the token, the traced indexes in order, and the
        forces as raw bytes (it decodes them with its own table)."""
        with self._lock:
            return json.dumps(self._config).encode()

    def add(self, samples) -> None:
        """Samples drained from the program process: (token, tick, buffer); those taken under
        a replaced configuration are dropped."""
        with self._lock:
            keep = self._clock() - self._last_poll <= POLL_TIMEOUT
            for token, tick, buffer in samples:
                if token != self.token:
                    continue
                sample = (tick & 0xFFFFFFFF, buffer)
                if keep:
                    self._polled.append(sample)
                self._published.append(sample)

    def take(self, token: int, status: PLCStatus):
        """GetTraceVariables: samples since the last call, then cleared; wrong token: Broken."""
        with self._lock:
            if token != self.token:
                return PLCStatus.BROKEN, []
            self._last_poll = self._clock()
            samples = list(self._polled)
            self._polled.clear()
            return status, samples

    def take_published(self):
        """Samples not yet published as events, with the token they belong to."""
        with self._lock:
            samples = list(self._published)
            self._published.clear()
            return self.token, samples
