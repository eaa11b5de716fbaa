"""What the IDE does to a Python program before sending it, and the file that names it.

A syntax error is found by compiling the source locally, so a broken program is refused before
anything is sent and the running one is never stopped for it. The runtime installs a program
under a name of its own; ``PROGRAM_NAME_FILE``, an extra file holding the user's base name
(``tank.py``), lets it show that name in tracebacks and logs. Being an extra file, it is part of
the installation's identity (program_identity) like any other.
"""
import ast
import os
import re

PROGRAM_NAME_FILE = ".plclink-program-name"
PYTHON_SUFFIX = ".py"
NAME_LIMIT = 200


def program_name(data: bytes | None, default: str | None) -> str | None:
    """The user's program file name from PROGRAM_NAME_FILE's content (the runtime names its
    program with it, the registry its lineage): its first line, as a plain file name;
    ``default`` when absent or unusable."""
    if data is None:
        return default
    lines = data.decode("utf-8", "replace").splitlines()
    name = re.split(r"[\\/]", lines[0].strip())[-1] if lines else ""
    if not name or len(name) > NAME_LIMIT or not name.isprintable():
        return default
    return name


class ProgramSyntaxError(ValueError):
    """The program does not compile; the message names the user's file and line."""


def is_python_program(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIX)


def check_syntax(source: bytes, path: str) -> None:
    """Raise ProgramSyntaxError, naming ``path`` and the line, if ``source`` does not compile."""
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        where = f"{path}, line {error.lineno}" if error.lineno else path
        text = f": {error.text.strip()}" if error.text and error.text.strip() else ""
        raise ProgramSyntaxError(f"{where}: {error.msg}{text}; fix the program, nothing was "
                                 "sent") from None
    except ValueError as error:   # e.g. a NUL byte in the source
        raise ProgramSyntaxError(f"{path}: {error}; fix the program, nothing was sent") from None


def _bound_at_top(body) -> set:
    """Names a module's top level binds (descending into if/try/with blocks, which run there
    too); "*" when a star import may bind anything."""
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef,
                                                                  ast.AsyncFunctionDef,
                                                                  ast.ClassDef)):
                names |= _bound_at_top(inner)
    return names


def check_program_source(source: bytes, path: str) -> None:
    """Refuse, naming ``path``, what cannot be a PLC program: empty, not compiling, or never
    defining ``cycle`` (the runtime would load it and go Broken)."""
    if not source.strip():
        raise ProgramSyntaxError(f"{path} is empty: give the PLC program (a Python file defining "
                                 "cycle(plc)); nothing was sent")
    check_syntax(source, path)
    names = _bound_at_top(ast.parse(source, path).body)
    if "cycle" not in names and "*" not in names:
        raise ProgramSyntaxError(f"{path} defines no cycle(plc) function, so it is not a PLC "
                                 "program: add `def cycle(plc): ...`; nothing was sent")


def installation_extras(program_path: str, program: bytes, extra_files) -> list:
    """The extra files to install with the program read from ``program_path``: ``extra_files``
    ((name, bytes) pairs) and, for a Python program, checked first, PROGRAM_NAME_FILE."""
    extras = list(extra_files)
    if is_python_program(program_path):
        check_program_source(program, program_path)
        extras.append((PROGRAM_NAME_FILE, os.path.basename(program_path).encode("utf-8")))
    return extras
