"""A program's IEC-typed variables: declaration order is the trace/force index table."""
from typing import NamedTuple

from plc_protocol.iec_types import coerce, iec_type


class Declaration(NamedTuple):
    index: int
    name: str
    type: str
    initial: object


class VariableTable:
    @staticmethod
    def valid_name(name: str) -> bool:
        """A Python program's variables are attributes of ``plc.vars``."""
        return name.isidentifier()

    def __init__(self, declarations):
        self.declarations = []
        self.index_of = {}
        for number, item in enumerate(declarations):
            if not (isinstance(item, (tuple, list)) and len(item) in (2, 3)):
                raise ValueError(f"VARIABLES[{number}] must be (name, IEC type[, initial value])")
            name, type_name = item[0], item[1]
            if not isinstance(name, str) or not self.valid_name(name):
                raise ValueError(f"VARIABLES[{number}]: {name!r} is not a valid variable name")
            if name in self.index_of:
                raise ValueError(f"VARIABLES[{number}]: {name!r} is declared twice")
            type_name = iec_type(type_name).name
            initial = coerce(type_name, item[2] if len(item) == 3 else iec_type(type_name).python_type())
            self.index_of[name] = number
            self.declarations.append(Declaration(number, name, type_name, initial))
        self.values = [d.initial for d in self.declarations]

    def __len__(self):
        return len(self.declarations)

    def set(self, index: int, value) -> None:
        self.values[index] = coerce(self.declarations[index].type, value)

    def describe(self) -> list:
        """The table clients trace by name with (ExtendedCall GetVariables)."""
        return [{"index": d.index, "name": d.name, "type": d.type} for d in self.declarations]


class VariablesView:
    """What a program sees as ``plc.vars``: attribute access, IEC type checked on assignment."""

    __slots__ = ("_table",)

    def __init__(self, table: VariableTable):
        object.__setattr__(self, "_table", table)

    def __getattr__(self, name):
        table = object.__getattribute__(self, "_table")
        try:
            return table.values[table.index_of[name]]
        except KeyError:
            raise AttributeError(f"no PLC variable {name!r}; declare it in VARIABLES") from None

    def __setattr__(self, name, value):
        table = object.__getattribute__(self, "_table")
        try:
            index = table.index_of[name]
        except KeyError:
            raise AttributeError(f"no PLC variable {name!r}; declare it in VARIABLES") from None
        table.set(index, value)
