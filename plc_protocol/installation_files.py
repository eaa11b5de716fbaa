"""What one installation is made of, read from disk: the program, its extra files, its md5.

Two kinds of program travel the same way (protocol.md §2):

* a Python program file (``tank.py``): its extra files are the data files given with it, plus
  the file naming it (python_program.py); the md5 covers every file (program_identity.py);
* a Beremiz build (the IDE's ``build/`` directory, or the library in it with extra files): the
  program blob is the shared library, the extra files are ``extra_files/`` (the py_ext files
  among them), ``VARIABLES.csv`` (the variable table the runtime answers GetVariables from) and
  the file naming the library (python_program.py), and the md5 is the build's own, ``lastbuildPLC.md5``, so that the Beremiz IDE, connected
  later, finds that the runtime runs its latest build.

This module is the one place that decides which md5 an installation gets; the IDE's transfer
and the runtime's ``--program`` install both read programs through it.
"""
import os
import re
import struct
import sys
from typing import NamedTuple

from plc_protocol.program_identity import program_identity
from plc_protocol.python_program import PROGRAM_NAME_FILE, installation_extras

ELF_MAGIC = b"\x7fELF"            # a shared library: a Beremiz build's program
BUILD_MD5_FILE = "lastbuildPLC.md5"
VARIABLES_FILE = "VARIABLES.csv"
EXTRA_FILES_DIR = "extra_files"
LIBRARY_SUFFIXES = (".so",)
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


class InstallationFiles(NamedTuple):
    program: bytes
    extras: list        # of (name, bytes), names as installed
    md5: str
    program_path: str   # the file the program blob was read from


class BuildError(ValueError):
    """Not a usable program or Beremiz build; the message says what to do."""


def is_library(data: bytes) -> bool:
    return data[:len(ELF_MAGIC)] == ELF_MAGIC


ET_DYN = 3   # e_type of a shared library


def _elf_identity(header: bytes) -> tuple | None:
    """(class, byte order, e_type, e_machine) of an ELF header, None if it is not one."""
    if len(header) < 20 or not is_library(header) or header[5] not in (1, 2):
        return None
    order = "<" if header[5] == 1 else ">"
    e_type, e_machine = struct.unpack(order + "HH", header[16:20])
    return header[4], header[5], e_type, e_machine


def _this_machine() -> tuple | None:
    """(class, byte order, machine) of this Python's own executable, None off ELF systems."""
    try:
        with open(sys.executable, "rb") as handle:
            identity = _elf_identity(handle.read(20))
    except OSError:
        return None
    return None if identity is None else (identity[0], identity[1], identity[3])


def check_library(path: str, data: bytes) -> None:
    """Refuse, naming ``path``, what is not an ELF shared library this machine can load, before
    anything is sent (a runtime given one would be left without a program)."""
    identity = _elf_identity(data[:20])
    if identity is None:
        raise BuildError(f"{path} is not an ELF shared library: give the library the Beremiz "
                         "IDE built (build/*.so) or a Python program (.py); nothing was sent")
    if identity[2] != ET_DYN:
        raise BuildError(f"{path} is an ELF file but not a shared library (e_type "
                         f"{identity[2]}): give the .so the Beremiz IDE built; nothing was sent")
    machine = _this_machine()
    if machine is not None and (identity[0], identity[1], identity[3]) != machine:
        raise BuildError(f"{path} is a shared library for another machine (ELF class "
                         f"{identity[0]}, machine {identity[3]}; this one: class {machine[0]}, "
                         f"machine {machine[2]}): build it for this machine; nothing was sent")


def check_program_file(path: str, data: bytes) -> None:
    """What a program file must be before it is sent: not empty; a library named .so (or
    starting like one) must be a shared library for this machine."""
    if not data:
        raise BuildError(f"{path} is empty: give the PLC program (a .py file or the Beremiz "
                         "build's .so); nothing was sent")
    if is_library(data) or path.endswith(LIBRARY_SUFFIXES):
        check_library(path, data)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise FileNotFoundError(f"cannot read {path}: {error.strerror}") from None


def _build_md5(directory: str) -> str | None:
    path = os.path.join(directory, BUILD_MD5_FILE)
    if not os.path.isfile(path):
        return None
    text = _read(path).decode("ascii", "replace").strip()
    if not _MD5.fullmatch(text):
        raise BuildError(f"{path} does not hold an md5 (32 hexadecimal digits): rebuild the "
                         "project in the Beremiz IDE")
    return text.lower()


def find_library(build: str) -> str:
    """The one shared library directly in a build directory."""
    libraries = sorted(name for name in os.listdir(build) if name.endswith(LIBRARY_SUFFIXES)
                       and os.path.isfile(os.path.join(build, name)))
    if not libraries:
        raise BuildError(f"{build} holds no compiled PLC library (*.so): build the project in "
                         "the Beremiz IDE first, or name the library file")
    if len(libraries) > 1:
        raise BuildError(f"{build} holds several libraries ({', '.join(libraries)}): name the "
                         "one to transfer")
    return os.path.join(build, libraries[0])


def _build_extras(build: str) -> list:
    directory = os.path.join(build, EXTRA_FILES_DIR)
    if not os.path.isdir(directory):
        return []
    return [os.path.join(directory, name) for name in sorted(os.listdir(directory))
            if os.path.isfile(os.path.join(directory, name))]


def read_installation(program_path: str, extra_paths=()) -> InstallationFiles:
    """The installation of ``program_path`` (a Python file, a Beremiz build directory or a
    library) with the extra files at ``extra_paths``, installed under their base names."""
    extra_paths = list(extra_paths)
    if os.path.isdir(program_path):
        md5 = _build_md5(program_path)
        if md5 is None:
            raise BuildError(f"{program_path} is a directory without {BUILD_MD5_FILE}: give a "
                             "Beremiz project's build directory (built by the IDE) or a "
                             "program file")
        build, library = program_path, find_library(program_path)
        extra_paths = _build_extras(build) + extra_paths
    else:
        library = program_path
        build, md5 = os.path.dirname(os.path.abspath(program_path)), None
    program = _read(library)
    check_program_file(library, program)
    extras = [(os.path.basename(path), _read(path)) for path in extra_paths]
    if not is_library(program):
        extras = installation_extras(library, program, extras)
        return InstallationFiles(program, extras, program_identity(program, extras), library)
    md5 = md5 or _build_md5(build)
    variables = os.path.join(build, VARIABLES_FILE)
    if os.path.isfile(variables) and VARIABLES_FILE not in (name for name, _ in extras):
        extras.append((VARIABLES_FILE, _read(variables)))
    extras.append((PROGRAM_NAME_FILE, os.path.basename(library).encode("utf-8")))  # for logs
    return InstallationFiles(program, extras, md5 or program_identity(program, extras), library)
