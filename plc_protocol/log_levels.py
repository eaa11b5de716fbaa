"""Log levels (protocol.md §3): index 0..3 is part of the wire format."""
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
