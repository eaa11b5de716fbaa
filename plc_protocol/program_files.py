"""A program set in one byte string: the answer of a plclink runtime's
``ExtendedCall("GetProgramFiles")`` (its installed program, so that the registry can keep
programs it never saw transferred: ``plclink up``'s demo, ``runtime --program``).

Layout: a JSON line ``{"md5": ..., "files": [[name, size], ...]}`` then the files' bytes in that
order; name ``""`` is the program itself, as in the registry's store.
"""
import json

EXTENDED_CALL = "GetProgramFiles"


def encode_program_files(md5: str, files) -> bytes:
    files = list(files)
    header = {"md5": md5, "files": [[name, len(data)] for name, data in files]}
    return json.dumps(header).encode() + b"\n" + b"".join(data for _, data in files)


def decode_program_files(blob: bytes) -> tuple:
    """(md5, program bytes, [(name, bytes)] of the extras); ValueError if malformed."""
    blob = bytes(blob)
    line, newline, rest = blob.partition(b"\n")
    try:
        header = json.loads(line) if newline else None
        md5, files = header["md5"], header["files"]
        sizes = [(str(name), int(size)) for name, size in files]
    except (ValueError, KeyError, TypeError):
        raise ValueError("not a program set (GetProgramFiles answer)") from None
    if sum(size for _, size in sizes) != len(rest) or [n for n, _ in sizes].count("") != 1:
        raise ValueError("a program set whose sizes do not add up, or without its program")
    found, offset = {}, 0
    for name, size in sizes:
        found[name] = rest[offset:offset + size]
        offset += size
    program = found.pop("")
    return md5, program, list(found.items())
