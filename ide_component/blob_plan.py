"""What a transfer will send, computed before anything is sent (protocol.md §2).

Each blob's id after every chunk is the running md5 of its seed and the chunks so far, so the
client knows every id the runtime must answer: it can check each one, and it can send the next
chunk (naming the id the previous one will produce) before that answer arrives.
"""
import hashlib
import os
from dataclasses import dataclass


DEFAULT_CHUNK_SIZE = 256 * 1024   # well under crossbar's 16 MiB WebSocket message limit
DEFAULT_WINDOW = 4                # AppendChunkToBlob calls in flight on one runtime
BEREMIZ_CHUNK_SIZE = 4095         # what the Beremiz IDE sends, one call at a time


@dataclass(frozen=True)
class BlobPlan:
    name: str            # the program or extra file, for messages
    seed: bytes
    chunks: tuple        # of bytes
    ids: tuple           # the id expected after each chunk

    @property
    def seed_id(self) -> bytes:
        return hashlib.md5(self.seed).digest()

    @property
    def final_id(self) -> bytes:
        return self.ids[-1] if self.ids else self.seed_id

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


def plan_blob(name: str, seed: bytes, data: bytes, chunk_size: int) -> BlobPlan:
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1 byte, got {chunk_size}")
    digest = hashlib.md5(seed)
    chunks, ids = [], []
    for start in range(0, len(data), chunk_size):
        chunk = data[start:start + chunk_size]
        digest.update(chunk)
        chunks.append(chunk)
        ids.append(digest.digest())
    return BlobPlan(name, seed, tuple(chunks), tuple(ids))


@dataclass(frozen=True)
class TransferPlan:
    md5: str              # the installation md5 (program_identity of the program and every
                          # extra file): NewPLC's md5sum, MatchMD5's question, the program's seed
    program: BlobPlan
    extras: tuple         # of BlobPlan, seeded and installed under their file names

    @property
    def blobs(self) -> tuple:
        """In the order the IDE sends them: extra files first, then the program."""
        return (*self.extras, self.program)

    @property
    def size(self) -> int:
        return sum(blob.size for blob in self.blobs)


def plan_transfer(program: bytes, extras=(), chunk_size: int = DEFAULT_CHUNK_SIZE,
                  md5: str | None = None) -> TransferPlan:
    """``extras`` are (file name, bytes); names must be plain and distinct, as the runtime
    installs them side by side in its working directory. ``md5``: the installation's, when
    it is not program_identity's (a Beremiz build's own, installation_files.py)."""
    extras = list(extras)
    seen = set()
    extra_plans = []
    for name, data in extras:
        if not name or name != os.path.basename(name) or name in (".", ".."):
            raise ValueError(f"extra file name {name!r} must be a plain file name")
        if name in seen:
            raise ValueError(f"two extra files are named {name!r}; the runtime keeps one per name")
        seen.add(name)
        extra_plans.append(plan_blob(name, name.encode(), data, chunk_size))
    from plc_protocol.program_identity import program_identity   # not on `plclink --help`'s path
    md5 = md5 or program_identity(program, extras)
    return TransferPlan(md5, plan_blob("program", md5.encode(), program, chunk_size),
                        tuple(extra_plans))


def read_transfer(program_path: str, extra_paths=(), chunk_size: int = DEFAULT_CHUNK_SIZE
                  ) -> TransferPlan:
    """The plan for files on disk (installation_files.read_installation: a Python program, a
    Beremiz build directory or library); extra files are named by their base names. A Python
    program is compiled first (a syntax error raises ProgramSyntaxError, a ValueError naming
    the file and line)."""
    from plc_protocol.installation_files import read_installation
    files = read_installation(program_path, extra_paths)
    return plan_transfer(files.program, files.extras, chunk_size, files.md5)
