"""Trace and force state (protocol.md §2, §4): debug tokens, limits, samples per cycle.

The reactor sets the traced set and takes samples; the cycle thread applies forces and records
samples. One small lock guards the exchange; no program code ever runs under it.
"""
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
        self._traced = []  # (index, type) in registration order
        self._forced = {}  # index -> value
        self._polled = deque(maxlen=KEEP_SAMPLES)
        self._published = deque(maxlen=KEEP_SAMPLES)
        self._last_poll = clock()

    def reset(self) -> None:
        """A new or removed program invalidates every index: drop traces and forces."""
        with self._lock:
            self._traced, self._forced = [], {}
            self._polled.clear()
            self._published.clear()

    def set_orders(self, orders, table) -> int:
        """Replace the traced set and the forces; the new token, or a negative error code."""
        if table is None:
            return DEBUG_SUSPENDED
        if len(orders) > MAX_TRACED:
            return TRACE_LIST_OVERFLOW
        traced, forced, sample_size = [], {}, 0
        for idx, force in orders:
            if not 0 <= idx < len(table):
                return INVALID_FORCE
            type_name = table.declarations[idx].type
            traced.append((idx, type_name))
            sample_size += len(encode(type_name, table.values[idx]))
            if force:
                if len(forced) >= MAX_FORCED:
                    return FORCE_LIST_OVERFLOW
                try:
                    forced[idx] = decode_force(type_name, bytes(force))
                except ValueError:
                    return FORCE_BUFFER_OVERFLOW
        if sample_size > MAX_SAMPLE_BYTES:
            return TRACE_LIST_OVERFLOW
        with self._lock:
            self.token = (self.token + 1) & 0x7FFFFFFF or 1
            self._traced, self._forced = traced, forced
            self._polled.clear()
            self._published.clear()
            self._last_poll = self._clock()
            return self.token

    def apply_forces(self, values: list) -> None:
        """Called by the cycle thread before and after the program body."""
        with self._lock:
            for index, value in self._forced.items():
                values[index] = value

    def sample(self, tick: int, values: list) -> None:
        """Called by the cycle thread after the body: one sample of the traced set."""
        with self._lock:
            if not self._traced:
                return
            buffer = b"".join(encode(type_name, values[index]) for index, type_name in self._traced)
            sample = (tick & 0xFFFFFFFF, buffer)
            if self._clock() - self._last_poll <= POLL_TIMEOUT:
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
