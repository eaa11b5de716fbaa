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
import hashlib
import traceback
import types

from plc_protocol.log_levels import LogLevel
from runtime_component.variables import VariablesView, VariableTable

HOOKS = ("init", "start", "stop", "cleanup")
DEFAULT_NAME = "program.py"  # the file name logs use when the IDE did not send the user's


class ProgramError(Exception):
    pass


class Program:
    def __init__(self, module, table: VariableTable):
        self.module = module
        self.table = table
        self.cycle = module.cycle
        self.hooks = {name: getattr(module, name, None) for name in HOOKS}


def compile_program(source: bytes, name: str = DEFAULT_NAME):
    """The program's code object, compiled under the user's file name so that tracebacks and
    logs point into the user's own file; ProgramError with file and line when it cannot be.
    Compiling runs none of the program's code (but may take much time and memory: it happens
    in a program process, never in the runtime's)."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProgramError(f"{name} is not UTF-8 text (byte {error.start})") from None
    try:
        return compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ProgramError(f"syntax error in {name} line {error.lineno}: {error.msg}") from None
    except MemoryError:
        raise ProgramError(f"{name} is too big to compile within the program process's memory "
                           "limit") from None
    except (ValueError, RecursionError) as error:
        raise ProgramError(f"{name} cannot be compiled: {type(error).__name__}: {error}") from None


def where(error: BaseException, name: str) -> str:
    """' (tank.py line 12)': the innermost line of the user's file in the error's traceback."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == name]
    return f" ({name} line {frames[-1].lineno})" if frames else ""


def describe_error(error: BaseException, name: str) -> str:
    return f"{type(error).__name__}: {error}{where(error, name)}"


def read_source(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ProgramError(f"cannot read the program: {error}") from None


def check_program(path: str, name: str, compiled: dict) -> None:
    """Compile the program at ``path`` into ``compiled`` (keyed by its content and name), so
    that loading the same program later does not compile it again; ProgramError if it cannot."""
    source = read_source(path)
    compiled[(hashlib.sha256(source).digest(), name)] = compile_program(source, name)


def load_program(path: str, name: str = DEFAULT_NAME, compiled: dict | None = None) -> Program:
    """Execute the program file's top level; every mistake becomes a ProgramError with a hint.
    ``compiled``: code objects check_program made."""
    source = read_source(path)
    code = (compiled or {}).get((hashlib.sha256(source).digest(), name)) \
        or compile_program(source, name)
    module = types.ModuleType("plc_program")
    module.__file__ = path
    try:
        exec(code, module.__dict__)
    except Exception as error:
        raise ProgramError(f"{name} raised while loading: {describe_error(error, name)}") from None
    if not callable(getattr(module, "cycle", None)):
        raise ProgramError(f"{name} defines no cycle(plc) function")
    for hook in HOOKS:
        if getattr(module, hook, None) is not None and not callable(getattr(module, hook)):
            raise ProgramError(f"{name}: {hook} must be a function")
    try:
        table = VariableTable(getattr(module, "VARIABLES", []))
    except ValueError as error:
        raise ProgramError(f"{name}: {error}") from None
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
