"""IEC 61131-3 value encoding for traces and forcing (protocol.md §4).

Little-endian raw values as Beremiz's C runtime lays them out on x86-64 Linux. A trace sample is
the concatenation of these encodings in registration order; a force value is one encoding
(STRING in its full 127-byte form).
"""
import struct
from dataclasses import dataclass

STRING_MAX = 126  # body bytes of an IEC STRING in Beremiz's runtime


@dataclass(frozen=True)
class IECType:
    name: str
    fmt: str | None  # struct format of fixed-size types; None for STRING
    python_type: type

    @property
    def size(self) -> int | None:
        return struct.calcsize(self.fmt) if self.fmt else None

    @property
    def force_size(self) -> int:
        return self.size if self.fmt else 1 + STRING_MAX


def _types():
    table = [
        ("BOOL", "<?", bool),
        ("SINT", "<b", int), ("USINT", "<B", int), ("BYTE", "<B", int),
        ("INT", "<h", int), ("UINT", "<H", int), ("WORD", "<H", int),
        ("DINT", "<i", int), ("UDINT", "<I", int), ("DWORD", "<I", int),
        ("LINT", "<q", int), ("ULINT", "<Q", int), ("LWORD", "<Q", int),
        ("REAL", "<f", float), ("LREAL", "<d", float),
        ("STRING", None, str),
        # seconds, nanoseconds as two native longs; Python value: float seconds
        ("TIME", "<qq", float), ("TOD", "<qq", float), ("DATE", "<qq", float), ("DT", "<qq", float),
    ]
    return {name: IECType(name, fmt, py) for name, fmt, py in table}


IEC_TYPES = _types()
TIME_TYPES = ("TIME", "TOD", "DATE", "DT")


def iec_type(name: str) -> IECType:
    try:
        return IEC_TYPES[name.upper()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown IEC type {name!r}; known types: {', '.join(IEC_TYPES)}") from None


def _integer_range(t: IECType):
    bits = t.size * 8
    if t.fmt[-1].islower():
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def coerce(type_name: str, value):
    """Check and convert a Python value for a variable of this type (errors say what fits)."""
    t = iec_type(type_name)
    if t.name == "BOOL":
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "on", "yes"):
                return True
            if lowered in ("0", "false", "off", "no"):
                return False
            raise ValueError(f"{value!r} is not a BOOL (use TRUE/FALSE or 1/0)")
        return bool(value)
    if t.name == "STRING":
        text = str(value)
        if len(text.encode()) > STRING_MAX:
            raise ValueError(f"STRING holds at most {STRING_MAX} bytes, got {len(text.encode())}")
        return text
    if t.python_type is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number for {t.name}") from None
    try:
        number = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not an integer for {t.name}") from None
    low, high = _integer_range(t)
    if not low <= number <= high:
        raise ValueError(f"{number} is out of range for {t.name} ({low}..{high})")
    return number


def encode(type_name: str, value, *, for_force: bool = False) -> bytes:
    """Raw bytes of a value; STRING is length + body (padded to the full form when forcing)."""
    t = iec_type(type_name)
    value = coerce(t.name, value)
    if t.name == "STRING":
        body = value.encode()
        raw = bytes([len(body)]) + body
        return raw.ljust(1 + STRING_MAX, b"\0") if for_force else raw
    if t.name in TIME_TYPES:
        seconds = int(value // 1)
        return struct.pack(t.fmt, seconds, int(round((value - seconds) * 1e9)))
    return struct.pack(t.fmt, value)


def decode(type_name: str, data: bytes, offset: int = 0):
    """(value, next offset) of one raw value read at offset; raises ValueError when short."""
    t = iec_type(type_name)
    if t.name == "STRING":
        if offset >= len(data):
            raise ValueError("STRING value is truncated")
        length = data[offset]
        end = offset + 1 + length
        if end > len(data) or length > STRING_MAX:
            raise ValueError("STRING value is truncated or too long")
        return data[offset + 1:end].decode(errors="replace"), end
    end = offset + t.size
    if end > len(data):
        raise ValueError(f"{t.name} value is truncated ({len(data) - offset} of {t.size} bytes)")
    fields = struct.unpack_from(t.fmt, data, offset)
    if t.name in TIME_TYPES:
        return fields[0] + fields[1] / 1e9, end
    return fields[0], end


def decode_force(type_name: str, data: bytes):
    """Value of a force buffer; its size must be exactly the type's force size."""
    t = iec_type(type_name)
    if len(data) != t.force_size:
        raise ValueError(f"force value for {t.name} must be {t.force_size} bytes, got {len(data)}")
    return decode(t.name, data)[0]


def decode_sample(type_names, buffer: bytes) -> list:
    """Values of one trace sample, given the traced variables' types in registration order."""
    values, offset = [], 0
    for name in type_names:
        value, offset = decode(name, buffer, offset)
        values.append(value)
    if offset != len(buffer):
        raise ValueError(f"trace sample has {len(buffer) - offset} unexpected trailing bytes")
    return values
