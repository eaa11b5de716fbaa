"""A Beremiz build's ``VARIABLES.csv``: the variable table a Beremiz runtime cannot report.

A Beremiz runtime has no GetVariables: the IDE knows the names from its own build. The file
(protocol.md §9) is made of sections, each opened by a line starting with ``//``: programs,
variables (``num;vartype;IEC_path;C_path;type;derived;retain``), tick time. A variable's trace
index is its position among the variable lines that are not function block instances
(vartype ``FB``) and whose type can be traced; the ``num`` column is not the index (Beremiz
ignores it too). Names are the IEC paths, as the Beremiz IDE shows them.
"""
import json
from typing import NamedTuple

from plc_protocol.iec_types import IEC_TYPES

VARIABLES_SECTION = 2   # 1: programs, 2: variables, 3: tick time
_VARIABLE_COLUMNS = ("num", "vartype", "IEC_path", "C_path", "type", "derived", "retain")
_MIN_COLUMNS = 5        # up to type; older builds have no derived/retain columns
# SFC flags: traceable, one byte holding 0 or 1 in a sample, so shown and decoded as BOOL.
_SFC_TYPES = {"STEP": "BOOL", "TRANSITION": "BOOL", "ACTION": "BOOL"}


class VariablesFileError(ValueError):
    """A file that is not a Beremiz VARIABLES.csv; the message names the line."""


class TableEntry(NamedTuple):
    index: int
    name: str
    type: str

    def as_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "type": self.type}


def parse_variables_csv(text: str, source: str = "VARIABLES.csv") -> list:
    """The traceable variables, as TableEntry in index order."""
    section, seen_variables, entries = 0, False, []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("//"):
            section += 1
            seen_variables = seen_variables or section == VARIABLES_SECTION
            continue
        if section != VARIABLES_SECTION or not line:
            continue
        fields = [field.strip() for field in line.split(";")]
        if len(fields) < _MIN_COLUMNS:
            raise VariablesFileError(
                f"{source}, line {number}: a variable line needs at least {_MIN_COLUMNS} "
                f"';'-separated columns ({';'.join(_VARIABLE_COLUMNS)}), got {line!r}")
        vartype, iec_path, type_name = fields[1], fields[2], fields[4].upper()
        type_name = _SFC_TYPES.get(type_name, type_name)
        if not iec_path:
            raise VariablesFileError(f"{source}, line {number}: empty IEC path in {line!r}")
        if vartype != "FB" and type_name in IEC_TYPES:
            entries.append(TableEntry(len(entries), iec_path, type_name))
    if not seen_variables:
        raise VariablesFileError(
            f"{source}: no variables section (expected lines starting with '//' opening the "
            "programs, then the variables section: is this a Beremiz build's VARIABLES.csv?)")
    return entries


def read_variables_csv(path: str) -> list:
    """parse_variables_csv of a file; OSError and decoding problems become VariablesFileError."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise VariablesFileError(f"cannot read variables file {path}: "
                                 f"{error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise VariablesFileError(f"variables file {path} is not text: {error}") from None
    return parse_variables_csv(text, path)


def table_json(entries) -> bytes:
    """The answer of ``ExtendedCall("GetVariables")``, as plclink's runtime gives it."""
    return json.dumps([entry.as_dict() for entry in entries]).encode()
