"""The PLC's log (protocol.md §3): four levels, per-level ids and counts, bounded memory."""
import threading
import time
from collections import deque
from typing import Callable

from plc_protocol.log_levels import LOG_LEVEL_COUNT, LogLevel, LogMessage


class LogBuffer:
    """Thread-safe: the cycle thread logs, the reactor reads and publishes."""

    def __init__(self, keep_per_level: int = 1000, on_message: Callable | None = None):
        self._lock = threading.Lock()
        self._messages = [deque(maxlen=keep_per_level) for _ in range(LOG_LEVEL_COUNT)]
        self._counts = [0] * LOG_LEVEL_COUNT
        self.on_message = on_message

    def log(self, level, text: str, tick: int = 0, time_ns: int | None = None) -> LogMessage:
        """``time_ns``: when it happened, if not now (a message from the program process)."""
        level = LogLevel.parse(level)
        now = time.time_ns() if time_ns is None else time_ns
        with self._lock:
            message = LogMessage(level, self._counts[level], str(text), tick & 0xFFFFFFFF,
                                 now // 1_000_000_000, now % 1_000_000_000)
            self._messages[level].append(message)
            self._counts[level] += 1
        if self.on_message is not None:
            self.on_message(message)
        return message

    def counts(self) -> list:
        with self._lock:
            return list(self._counts)

    def get(self, level, msg_id: int) -> LogMessage | None:
        """A message by its per-level id; None when unknown or already dropped."""
        level = LogLevel.parse(level)
        with self._lock:
            messages = self._messages[level]
            if not messages:
                return None
            index = msg_id - messages[0].msg_id
            if 0 <= index < len(messages):
                return messages[index]
        return None

    def reset(self) -> None:
        with self._lock:
            for messages in self._messages:
                messages.clear()
            self._counts = [0] * LOG_LEVEL_COUNT
