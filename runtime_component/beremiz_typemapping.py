"""``runtime.typemapping`` for the extra files of a Beremiz build (py_ext), in the library's
program process.

The ``runtime_*.py`` files the Beremiz IDE generates import ``TypeTranslator`` from the Beremiz
runtime's own package to read and write PLC globals through the library's C accessors. This is
an equivalent module under that name (library_process installs it into ``sys.modules``): for each
IEC type, the ctypes type of its C storage, a function turning a value of that ctypes type into
Python, and a function ``pack(ctype, value)`` building the C value from Python.
"""
import ctypes
import datetime

from plc_protocol.iec_types import STRING_MAX


class IEC_STRING(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint8), ("body", ctypes.c_char * STRING_MAX)]


class IEC_TIME(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]


def _value(c_value):
    return c_value.value


def _plain(ctype, unpack=_value):
    return ctype, unpack, lambda c_type, value: c_type(value)


def _string_pack(c_type, value):
    body = value.encode() if isinstance(value, str) else bytes(value)
    body = body[:STRING_MAX]
    return c_type(len(body), body)


def _time_pack(c_type, value):
    if isinstance(value, datetime.timedelta):
        seconds = value.days * 86400 + value.seconds
        return c_type(seconds, value.microseconds * 1000)
    seconds = int(value // 1)
    return c_type(seconds, int(round((value - seconds) * 1e9)))


_TIME = (IEC_TIME,
         lambda c_value: datetime.timedelta(seconds=c_value.s, microseconds=c_value.ns / 1000),
         _time_pack)

TypeTranslator = {
    "BOOL": (ctypes.c_uint8, lambda c_value: c_value.value != 0,
             lambda c_type, value: c_type(1 if value else 0)),
    "STEP": _plain(ctypes.c_uint8), "TRANSITION": _plain(ctypes.c_uint8),
    "ACTION": _plain(ctypes.c_uint8),
    "SINT": _plain(ctypes.c_int8), "USINT": _plain(ctypes.c_uint8), "BYTE": _plain(ctypes.c_uint8),
    "INT": _plain(ctypes.c_int16), "UINT": _plain(ctypes.c_uint16), "WORD": _plain(ctypes.c_uint16),
    "DINT": _plain(ctypes.c_int32), "UDINT": _plain(ctypes.c_uint32),
    "DWORD": _plain(ctypes.c_uint32),
    "LINT": _plain(ctypes.c_int64), "ULINT": _plain(ctypes.c_uint64),
    "LWORD": _plain(ctypes.c_uint64),
    "REAL": _plain(ctypes.c_float), "LREAL": _plain(ctypes.c_double),
    "STRING": (IEC_STRING, lambda c_value: c_value.body[:c_value.len].decode(errors="replace"),
               _string_pack),
    "TIME": _TIME, "TOD": _TIME, "DATE": _TIME, "DT": _TIME,
}
