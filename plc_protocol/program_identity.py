"""The md5 that identifies one installation: the program and every extra file.

NewPLC records it and MatchMD5 compares against it, and a transfer is skipped when they agree,
so it must change whenever anything that would be installed changes: a data file as much as
the program (a Beremiz md5 likewise identifies one build of the whole project). The IDE and the
runtime's own ``--program`` install compute it here, so equal files give equal md5s everywhere.

Definition: the hex md5 of the concatenation, in this order, of

    field("") field(program)                         the program (its name is the empty string)
    field(name) field(contents)   for each extra file, sorted by the UTF-8 bytes of its name

where ``field(b)`` is the length of ``b`` as an 8-byte big-endian unsigned integer followed by
``b`` itself, and names are UTF-8. Length prefixes make the encoding reversible, so no two
different sets of files (moving bytes between a name and a content, or between two files)
produce the same input; sorting makes the md5 independent of the order files are given in.
"""
import hashlib
import struct


def program_identity(program: bytes, extra_files=()) -> str:
    """The installation md5 (hex) of ``program`` with ``extra_files`` ((name, bytes) pairs,
    names distinct: two files of one name cannot both be installed)."""
    named = sorted(((name.encode("utf-8"), data) for name, data in extra_files),
                   key=lambda item: item[0])
    names = [name for name, _ in named]
    if len(set(names)) != len(names):
        raise ValueError("two extra files have the same name; the runtime keeps one per name")
    digest = hashlib.md5()
    for field in (b"", program, *(part for item in named for part in item)):
        digest.update(struct.pack(">Q", len(field)))   # fields are never copied: files are big
        digest.update(field)
    return digest.hexdigest()
