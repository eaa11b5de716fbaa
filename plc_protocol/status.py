"""PLC status values (protocol.md §1).

Over WAMP a status travels as its name; over eRPC as an int32 in declaration order, so the
order of the members below is part of the wire format.
"""
from enum import Enum


class PLCStatus(str, Enum):
    EMPTY = "Empty"
    STOPPED = "Stopped"
    STARTED = "Started"
    BROKEN = "Broken"
    DISCONNECTED = "Disconnected"

    @property
    def wire_int(self) -> int:
        return list(PLCStatus).index(self)

    @classmethod
    def from_wire_int(cls, value: int) -> "PLCStatus":
        members = list(cls)
        if not 0 <= value < len(members):
            raise ValueError(f"status {value} is not one of 0..{len(members) - 1}")
        return members[value]

    @classmethod
    def parse(cls, value) -> "PLCStatus":
        """Accept a status as the WAMP name or the eRPC int, whichever arrives."""
        if isinstance(value, PLCStatus):
            return value
        if isinstance(value, int):
            return cls.from_wire_int(value)
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown PLC status {value!r}; expected one of "
                             f"{', '.join(s.value for s in cls)}") from None

