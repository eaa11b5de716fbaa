"""OPC UA data types of IEC 61131-3 variables, and their values both ways (docs/opcua.md).

One table, beside iec_types.py, so that the gateway and anything else that speaks OPC UA agree.
Names are OPC UA's built-in data types (``asyncua.ua.VariantType`` members and ``ObjectIds``);
this module stays free of asyncua so that plc_protocol imports stay light.

IEC durations travel as OPC UA ``Duration`` (milliseconds as a Double); times of day as the
milliseconds since midnight (a Duration too: OPC UA has no time-of-day type); dates and date
and times as ``DateTime`` (UTC).
"""
import datetime

from plc_protocol.iec_types import coerce, iec_type

# IEC type -> (OPC UA DataType name, VariantType name carrying it)
OPCUA_TYPES = {
    "BOOL": ("Boolean", "Boolean"),
    "SINT": ("SByte", "SByte"), "USINT": ("Byte", "Byte"), "BYTE": ("Byte", "Byte"),
    "INT": ("Int16", "Int16"), "UINT": ("UInt16", "UInt16"), "WORD": ("UInt16", "UInt16"),
    "DINT": ("Int32", "Int32"), "UDINT": ("UInt32", "UInt32"), "DWORD": ("UInt32", "UInt32"),
    "LINT": ("Int64", "Int64"), "ULINT": ("UInt64", "UInt64"), "LWORD": ("UInt64", "UInt64"),
    "REAL": ("Float", "Float"), "LREAL": ("Double", "Double"),
    "STRING": ("String", "String"),
    "TIME": ("Duration", "Double"), "TOD": ("Duration", "Double"),
    "DATE": ("DateTime", "DateTime"), "DT": ("DateTime", "DateTime"),
}
_MILLISECOND_TYPES = ("TIME", "TOD")
_DATE_TYPES = ("DATE", "DT")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def opcua_type(type_name: str) -> tuple[str, str]:
    """(DataType, VariantType) names of an IEC type; ValueError for a type without one."""
    return OPCUA_TYPES[iec_type(type_name).name]


def to_opcua(type_name: str, value):
    """An IEC value (as iec_types.decode gives it) as the OPC UA value of its data type."""
    name = iec_type(type_name).name
    if name in _MILLISECOND_TYPES:
        return float(value) * 1000.0
    if name in _DATE_TYPES:
        return _EPOCH + datetime.timedelta(seconds=float(value))
    return value


def from_opcua(type_name: str, value):
    """What a client wrote, as the JSON scalar ``<ID>.Write`` takes for this IEC type
    (force-model.md: times in seconds); ValueError saying what does not fit."""
    name = iec_type(type_name).name
    if name in _MILLISECOND_TYPES:
        return coerce(name, value) / 1000.0
    if name in _DATE_TYPES:
        if not isinstance(value, datetime.datetime):
            raise ValueError(f"{value!r} is not a DateTime for {name}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return (value - _EPOCH).total_seconds()
    if name != "BOOL" and isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number for {name}")
    return coerce(name, value)
