"""What the IDE does to a Python program before sending it, and the file that names it.

A syntax error is found by compiling the source locally, so a broken program is refused before
anything is sent and the running one is never stopped for it. The runtime installs a program
under a name of its own; ``PROGRAM_NAME_FILE``, an extra file holding the user's base name
(``tank.py``), lets it show that name in tracebacks and logs. Being an extra file, it is part of
the installation's identity (program_identity) like any other.
"""
import os

PROGRAM_NAME_FILE = ".plclink-program-name"
PYTHON_SUFFIX = ".py"


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


def installation_extras(program_path: str, program: bytes, extra_files) -> list:
    """The extra files to install with the program read from ``program_path``: ``extra_files``
    ((name, bytes) pairs) and, for a Python program, checked first, PROGRAM_NAME_FILE."""
    extras = list(extra_files)
    if is_python_program(program_path):
        check_syntax(program, program_path)
        extras.append((PROGRAM_NAME_FILE, os.path.basename(program_path).encode("utf-8")))
    return extras
