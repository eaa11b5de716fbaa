"""Loading a PLC program written in Python (architecture.md, "Program model").

A program is one Python file, delivered as the NewPLC program blob::

    VARIABLES = [("level", "REAL", 50.0), ("pump", "BOOL")]   # the trace/force index table

    def init(plc): ...      # optional: after loading (like Beremiz's runtime extension init)
    def start(plc): ...     # optional: when the PLC starts
    def cycle(plc): ...     # required: the cycle body, called every period
    def stop(plc): ...      # optional: when the PLC stops
    def cleanup(plc): ...   # optional: before the program is replaced or removed

``plc`` is a :class:`ProgramContext`: ``plc.vars.<name>``, ``plc.tick``, ``plc.period``,
``plc.log_info(...)`` (and the other levels) and the CSV functions ``plc.CSVRdInt(...)`` etc.
"""
import types

from plc_protocol.log_levels import LogLevel
from runtime_component.variables import VariablesView, VariableTable

HOOKS = ("init", "start", "stop", "cleanup")


class ProgramError(Exception):
    pass


class Program:
    def __init__(self, module, table: VariableTable):
        self.module = module
        self.table = table
        self.cycle = module.cycle
        self.hooks = {name: getattr(module, name, None) for name in HOOKS}


def load_program(path: str) -> Program:
    """Execute the program file's top level; every mistake becomes a ProgramError with a hint."""
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ProgramError(f"cannot read the program: {error}") from None
    module = types.ModuleType("plc_program")
    module.__file__ = path
    try:
        exec(compile(source, "program.py", "exec"), module.__dict__)
    except SyntaxError as error:
        raise ProgramError(f"syntax error in program.py line {error.lineno}: {error.msg}") from None
    except Exception as error:
        raise ProgramError(f"program.py raised while loading: {type(error).__name__}: {error}") from None
    if not callable(getattr(module, "cycle", None)):
        raise ProgramError("program.py defines no cycle(plc) function")
    for hook in HOOKS:
        if getattr(module, hook, None) is not None and not callable(getattr(module, hook)):
            raise ProgramError(f"program.py: {hook} must be a function")
    try:
        table = VariableTable(getattr(module, "VARIABLES", []))
    except ValueError as error:
        raise ProgramError(f"program.py: {error}") from None
    return Program(module, table)


class ProgramContext:
    """The ``plc`` argument of program functions."""

    def __init__(self, program: Program, log, csv_files, period: float):
        self.vars = VariablesView(program.table)
        self.tick = 0
        self.period = period
        self._log = log
        csv = csv_files
        self.CSVRdInt, self.CSVRdStr = csv.CSVRdInt, csv.CSVRdStr
        self.CSVWrInt, self.CSVWrStr, self.CSVReload = csv.CSVWrInt, csv.CSVWrStr, csv.CSVReload

    def log(self, text, level=LogLevel.DEBUG):
        self._log(level, text, self.tick)

    def log_critical(self, text):
        self.log(text, LogLevel.CRITICAL)

    def log_warning(self, text):
        self.log(text, LogLevel.WARNING)

    def log_info(self, text):
        self.log(text, LogLevel.INFO)

    def log_debug(self, text):
        self.log(text, LogLevel.DEBUG)
