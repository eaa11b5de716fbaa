"""Whether a file is a Beremiz PLC program this runtime can run, found by loading it.

NewPLC must refuse a library that is not a Beremiz program before it unloads the installed one,
and loading a library runs its code: a program process does it (a "check" order), and then
takes no other program than that one.
"""
import ctypes
import os
import struct
import sys

from runtime_component.program import ProgramError

REQUIRED_FUNCTIONS = ("startPLC", "stopPLC", "ResetDebugVariables", "RegisterDebugVariable",
                      "GetDebugData", "FreeDebugData", "suspendDebug", "resumeDebug",
                      "LogMessage", "GetLogCount", "GetLogMessage", "ResetLogCount")
REQUIRED_DATA = ("PLC_ID", "__tick", "common_ticktime__")
_ELF_MACHINES = {3: "x86 (32-bit)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC 64", 40: "ARM",
                 62: "x86-64", 183: "AArch64", 243: "RISC-V"}
_ELF_CLASSES = {1: "32-bit", 2: "64-bit"}
_ET_DYN = 3


class LibraryError(ProgramError):
    """The file cannot be run as a Beremiz PLC program; the message says why."""


def _elf_header(path: str):
    """(class, byte order, type, machine) of an ELF file, None if it is not one."""
    with open(path, "rb") as handle:
        head = handle.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    order = "<" if head[5] == 1 else ">"
    file_type, machine = struct.unpack_from(order + "HH", head, 16)
    return head[4], head[5], file_type, machine


def _describe(header) -> str:
    return (f"{_ELF_MACHINES.get(header[3], f'machine {header[3]}')} "
            f"{_ELF_CLASSES.get(header[0], '')}").strip()


def check_elf(path: str) -> None:
    """Refuse, with the reason, what dlopen would refuse with a cryptic message."""
    theirs = _elf_header(path)
    if theirs is None:
        raise LibraryError("not an ELF shared library")
    if theirs[2] != _ET_DYN:
        raise LibraryError("an ELF file but not a shared library (build it with -shared)")
    ours = _elf_header(os.path.realpath(sys.executable))
    if ours is not None and (theirs[0], theirs[1], theirs[3]) != (ours[0], ours[1], ours[3]):
        raise LibraryError(f"built for {_describe(theirs)}, this runtime runs on "
                           f"{_describe(ours)}: build the project for this target")


def load_library(path: str) -> ctypes.CDLL:
    """dlopen (RTLD_NOW: every symbol resolved now; libm is already global in Python, which
    Beremiz builds rely on) and check that it has what the runtime binds."""
    check_elf(path)
    try:
        dll = ctypes.CDLL(os.path.abspath(path), mode=os.RTLD_NOW)
    except OSError as error:
        raise LibraryError(f"the system cannot load it: {error}") from None
    missing = []
    for symbol in REQUIRED_FUNCTIONS + REQUIRED_DATA:
        try:
            dll[symbol]
        except AttributeError:
            missing.append(symbol)
    if missing:
        raise LibraryError(f"not a Beremiz PLC program: it lacks {', '.join(missing)}")
    return dll
