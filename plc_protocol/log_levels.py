"""Log levels (protocol.md §3): index 0..3 is part of the wire format; and a log message."""
import datetime
from dataclasses import dataclass
from enum import IntEnum


class LogLevel(IntEnum):
    CRITICAL = 0
    WARNING = 1
    INFO = 2
    DEBUG = 3

    @classmethod
    def parse(cls, value) -> "LogLevel":
        """A level given as index or (case-insensitive) name; a missing level is DEBUG."""
        if value is None:
            return cls.DEBUG
        if isinstance(value, LogLevel):
            return value
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            number = int(value)
            if 0 <= number < len(cls):
                return cls(number)
            raise ValueError(f"log level {number} is not one of 0..{len(cls) - 1}")
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"unknown log level {value!r}; expected one of "
                             f"{', '.join(level.name for level in cls)}") from None


LOG_LEVEL_COUNT = len(LogLevel)


@dataclass(frozen=True)
class LogMessage:
    """One message of a PLC's log, as the runtime keeps it and as clients show it."""

    level: LogLevel
    msg_id: int
    text: str
    tick: int
    sec: int
    nsec: int

    @property
    def time(self) -> float:
        return self.sec + self.nsec / 1e9

    def as_dict(self) -> dict:
        return {"level": self.level.name, "id": self.msg_id, "text": self.text, "tick": self.tick,
                "time": round(self.time, 6)}

    def __str__(self) -> str:
        stamp = datetime.datetime.fromtimestamp(self.time).isoformat(sep=" ", timespec="milliseconds")
        return f"{stamp} {self.level.name:<8} #{self.msg_id} tick {self.tick}: {self.text}"
