"""Installing a transferred program into the working directory, atomically and durably.

Layout of the working directory::

    programs/<md5>.<n>/            one complete installation
        program.py                 the program blob (program.so for a Beremiz build's library)
        <extra files>              data files the program reads (CSV ...)
        lasttransferedPLC.md5      its md5 (Beremiz's file name)
        extra_files.txt            the extra file names, one a line
    current -> programs/<md5>.<n>  the installed program: switched with one rename

An installation is written and fsynced in a temporary directory, then ``current`` is replaced by
a rename, so a runtime killed at any point restarts with either the previous or the new program,
complete, never a mixture. Leftovers of an interrupted install are removed at the next start.
"""
import os
import re
import shutil

from plc_protocol.errors import PLCObjectError
from plc_protocol.methods import EINVAL
from plc_protocol.python_program import NAME_LIMIT, PROGRAM_NAME_FILE, program_name
from runtime_component.program import DEFAULT_NAME

PROGRAM_FILE = DEFAULT_NAME  # installed under the name logs use by default
LIBRARY_FILE = "program.so"  # a Beremiz build's shared library
MD5_FILE = "lasttransferedPLC.md5"
EXTRA_FILES_LIST = "extra_files.txt"
RESERVED = {PROGRAM_FILE, LIBRARY_FILE, MD5_FILE, EXTRA_FILES_LIST}
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def check_md5(md5sum: str) -> str:
    if not isinstance(md5sum, str) or not _MD5.fullmatch(md5sum):
        raise PLCObjectError(EINVAL, f"md5sum {md5sum!r} is not 32 hexadecimal digits")
    return md5sum.lower()


def check_extra_file_name(name: str) -> str:
    """Beremiz writes extra files wherever their name points; we keep them in the install."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise PLCObjectError(EINVAL, f"extra file name {name!r} is empty or invalid")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise PLCObjectError(EINVAL, f"extra file name {name!r} is absolute; use a plain file name")
    parts = re.split(r"[\\/]", name)
    if any(part in ("", ".", "..") for part in parts):
        raise PLCObjectError(EINVAL, f"extra file name {name!r} contains '..', '.' or an empty "
                             "path component; use a plain relative name")
    if name in RESERVED:
        raise PLCObjectError(EINVAL, f"extra file name {name!r} is reserved by the runtime")
    return "/".join(parts)


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class Installation:
    def __init__(self, workdir: str):
        self.workdir = os.path.abspath(workdir)
        self.programs = os.path.join(self.workdir, "programs")
        self.current = os.path.join(self.workdir, "current")

    def recover(self) -> None:
        """Remove what an interrupted install or repair left behind."""
        os.makedirs(self.programs, exist_ok=True)
        for leftover in (self.current + ".new",):
            if os.path.lexists(leftover):
                os.unlink(leftover)
        keep = self.directory()
        for name in os.listdir(self.programs):
            path = os.path.join(self.programs, name)
            if path != keep:
                shutil.rmtree(path, ignore_errors=True)

    def directory(self) -> str | None:
        """The installed program's directory (the program's working directory), if any."""
        if not os.path.islink(self.current):
            return None
        target = os.path.join(self.workdir, os.readlink(self.current))
        return target if os.path.isfile(os.path.join(target, MD5_FILE)) else None

    def md5(self) -> str | None:
        directory = self.directory()
        if directory is None:
            return None
        with open(os.path.join(directory, MD5_FILE), encoding="ascii") as handle:
            return handle.read().strip()

    def program_name(self) -> str:
        directory = self.directory()
        path = self.program_path()
        default = os.path.basename(path) if path else DEFAULT_NAME
        try:
            with open(os.path.join(directory, PROGRAM_NAME_FILE), "rb") as handle:
                return program_name(handle.read(NAME_LIMIT * 4), default)
        except (OSError, TypeError):
            return default

    def files(self) -> list:
        """[(name, bytes)] of the installed program set, ``""`` the program, extras in their
        transferred order; [] when nothing is installed."""
        directory, path = self.directory(), self.program_path()
        if directory is None:
            return []
        with open(path, "rb") as handle:
            files = [("", handle.read())]
        with open(os.path.join(directory, EXTRA_FILES_LIST), encoding="utf-8") as handle:
            for name in handle.read().splitlines():
                with open(os.path.join(directory, name), "rb") as extra:
                    files.append((name, extra.read()))
        return files

    def program_path(self) -> str | None:
        directory = self.directory()
        if directory is None:
            return None
        library = os.path.join(directory, LIBRARY_FILE)
        return library if os.path.exists(library) else os.path.join(directory, PROGRAM_FILE)

    def install(self, md5sum: str, program: bytes, extra_files: list,
                program_file: str = PROGRAM_FILE, keep_previous: bool = False) -> str:
        """Write a complete installation, then switch ``current`` to it in one rename;
        ``program_file`` is PROGRAM_FILE or LIBRARY_FILE. ``keep_previous``: the installation
        replaced stays on disk until ``recover()`` (so ``restore`` can switch back to it)."""
        md5sum = check_md5(md5sum)
        names = [check_extra_file_name(name) for name, _ in extra_files]
        if len(set(names)) != len(names):
            raise PLCObjectError(EINVAL, "extra file names must be unique")
        os.makedirs(self.programs, exist_ok=True)
        number = 0
        while os.path.exists(os.path.join(self.programs, f"{md5sum}.{number}")):
            number += 1
        final = os.path.join(self.programs, f"{md5sum}.{number}")
        staging = final + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        _write_file(os.path.join(staging, program_file), program)
        for name, (_, data) in zip(names, extra_files):
            _write_file(os.path.join(staging, name), data)
        _write_file(os.path.join(staging, EXTRA_FILES_LIST), "".join(n + "\n" for n in names).encode())
        _write_file(os.path.join(staging, MD5_FILE), md5sum.encode("ascii"))
        _fsync_dir(staging)
        os.rename(staging, final)
        _fsync_dir(self.programs)
        self._point_current_to(os.path.relpath(final, self.workdir))
        if not keep_previous:
            self.recover()
        return final

    def restore(self, directory: str) -> None:
        """Switch ``current`` back to an installation kept by ``install(keep_previous=True)``,
        and forget the one that replaced it."""
        self._point_current_to(os.path.relpath(directory, self.workdir))
        self.recover()

    def remove(self) -> None:
        """RepairPLC: forget the installed program (unlinking ``current`` is the atomic step)."""
        if os.path.lexists(self.current):
            os.unlink(self.current)
            _fsync_dir(self.workdir)
        self.recover()

    def _point_current_to(self, relative_target: str) -> None:
        temporary = self.current + ".new"
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.symlink(relative_target, temporary)
        os.replace(temporary, self.current)
        _fsync_dir(self.workdir)
