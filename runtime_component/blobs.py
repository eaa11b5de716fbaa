"""Blobs being uploaded (protocol.md §2): the id of a blob is the running MD5 of all it holds.

The client computes the same running digest and checks each returned id, so a lost or reordered
chunk is caught at the next call instead of producing a corrupt program.
"""
import hashlib

from plc_protocol.errors import PLCObjectError
from plc_protocol.methods import ENOENT

MAX_PENDING_BYTES = 512 * 1024 * 1024


class BlobStore:
    def __init__(self, max_bytes: int = MAX_PENDING_BYTES):
        self._blobs = {}  # id -> (running md5, list of chunks)
        self._max_bytes = max_bytes
        self._size = 0

    def seed(self, seed: bytes) -> bytes:
        digest = hashlib.md5(seed)
        blob_id = digest.digest()
        self._discard(blob_id)
        self._blobs[blob_id] = (digest, [])
        return blob_id

    def append(self, data: bytes, blob_id: bytes) -> bytes:
        entry = self._blobs.pop(bytes(blob_id), None)
        if entry is None:
            raise PLCObjectError(ENOENT, f"unknown blob {bytes(blob_id).hex()}: seed it first "
                                 "(it may have been purged, or a chunk was lost)")
        if self._size + len(data) > self._max_bytes:
            self._blobs[bytes(blob_id)] = entry
            raise PLCObjectError(ENOENT, f"pending blobs exceed {self._max_bytes} bytes; "
                                 "purge blobs before uploading more")
        digest, chunks = entry
        digest.update(data)
        chunks.append(bytes(data))
        self._size += len(data)
        new_id = digest.digest()
        self._discard(new_id)
        self._blobs[new_id] = (digest, chunks)
        return new_id

    def content(self, blob_id: bytes) -> bytes:
        """The blob's bytes; the seed only names the blob (as in Beremiz) and is not part of it."""
        entry = self._blobs.get(bytes(blob_id))
        if entry is None:
            raise PLCObjectError(ENOENT, f"unknown blob {bytes(blob_id).hex()}")
        return b"".join(entry[1])

    def purge(self) -> None:
        self._blobs.clear()
        self._size = 0

    def _discard(self, blob_id):
        entry = self._blobs.pop(blob_id, None)
        if entry is not None:
            self._size -= sum(len(chunk) for chunk in entry[1])
