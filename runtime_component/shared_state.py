"""The memory the runtime process and its program process share (one memfd, mapped by both).

Why shared memory and not the command pipe: the cycle must never wait on the runtime process.
Every cycle the program process stores its tick, its busy mark (for the watchdog), its lateness
and its trace sample here, with plain stores and no lock; the runtime reads them whenever it
likes. A pipe would make a slow or stalled runtime push back on the cycle once its buffer filled.

Who writes what (exactly one writer per field, so no lock is ever shared):

* program process: tick, period_ns, realtime, busy_since, overruns, the lateness ring, the values
  snapshot, the trace sample ring's write position and sequence, write_done;
* runtime process: the trace configuration (traced union, forces, one-shot writes), the ring's
  read position.

Two patterns carry data bigger than one word:

* a *seqlock* (values snapshot, trace configuration): the writer makes the sequence odd, writes,
  makes it even; a reader that saw the same even sequence before and after its copy has a
  consistent copy, else it retries (the writer never waits);
* a *single-producer/single-consumer byte ring* (trace samples): the producer owns the write
  position, the consumer the read position, both only grow. Every sample carries a sequence
  number, also counted for samples dropped on a full ring, so the consumer can prove that none
  was lost or duplicated.

Ordering: the stores of one side reach the other side in program order on x86-64 (TSO), which is
what the patterns rely on; a weakly ordered CPU would need barriers that Python does not offer.
"""
import mmap
import os
import struct

from plc_protocol.trace_limits import MAX_SAMPLE_BYTES

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")

# name: (offset, layout) in the header
_FIELDS = {
    "tick": (0, _U32), "realtime": (4, _U32), "busy_since": (8, _U64), "overruns": (16, _U64),
    "lateness_count": (24, _U64),
    "config_seq": (32, _U64), "config_length": (40, _U32),
    "values_seq": (48, _U64), "values_length": (56, _U32), "values_tick": (60, _U32),
    "ring_write": (64, _U64), "ring_read": (72, _U64), "samples_dropped": (80, _U64),
    "sample_seq": (88, _U64),
    "period_ns": (96, _U64),   # the cycle's own period when not the runtime's (a library's)
    "write_done": (104, _U64),  # the serial of the last one-shot write the cycle applied
}
HEADER_SIZE = 128
LATENESS_SLOTS = 10000          # the cycles GetCycleStats summarises
CONFIG_SIZE = 512 * 1024        # the trace configuration (JSON): 1024 traced, 256 forced at most,
                                # pending writes
VALUES_SIZE = 1024 * 1024       # every variable's value, encoded as in a trace sample
RING_SIZE = 2 * 1024 * 1024     # trace samples: ≥ 0.5 s of 4 KiB samples at 1 ms

_LATENESS = HEADER_SIZE
_CONFIG = _LATENESS + 4 * LATENESS_SLOTS
_VALUES = _CONFIG + CONFIG_SIZE
_RING = _VALUES + VALUES_SIZE
SIZE = _RING + RING_SIZE

_RECORD = struct.Struct("<IIIIQ")  # length, generation (trace token), tick, unused, sequence
_PADDING = 0xFFFFFFFF              # length of the filler that sends the consumer to the start
_SEQLOCK_TRIES = 100


def _aligned(size: int) -> int:
    return (size + 7) & ~7


def create() -> int:
    """A new zeroed region; the descriptor is handed to the program process (pass_fds)."""
    fd = os.memfd_create("plclink-program", os.MFD_CLOEXEC)
    os.ftruncate(fd, SIZE)
    return fd


class SharedState:
    def __init__(self, fd: int):
        self._map = mmap.mmap(fd, SIZE)
        self._buf = memoryview(self._map)

    def close(self) -> None:
        self._buf.release()
        self._map.close()

    def get(self, name: str) -> int:
        offset, layout = _FIELDS[name]
        return layout.unpack_from(self._buf, offset)[0]

    def set(self, name: str, value: int) -> None:
        offset, layout = _FIELDS[name]
        layout.pack_into(self._buf, offset, value)

    # --- cycle timing (program process writes, runtime reads) --------------------------------

    def add_lateness(self, seconds: float) -> None:
        count = self.get("lateness_count")
        _F32.pack_into(self._buf, _LATENESS + 4 * (count % LATENESS_SLOTS), seconds)
        self.set("lateness_count", count + 1)

    def lateness(self) -> list:
        count = min(self.get("lateness_count"), LATENESS_SLOTS)
        return [value for (value,) in _F32.iter_unpack(self._buf[_LATENESS:_LATENESS + 4 * count])]

    # --- seqlocked blobs ------------------------------------------------------------------------

    def _seqlock_write(self, prefix: str, start: int, capacity: int, data: bytes) -> bool:
        if len(data) > capacity:
            return False
        sequence = self.get(prefix + "_seq")
        self.set(prefix + "_seq", sequence + 1)
        self._buf[start:start + len(data)] = data
        self.set(prefix + "_length", len(data))
        self.set(prefix + "_seq", sequence + 2)
        return True

    def _seqlock_read(self, prefix: str, start: int, capacity: int):
        """(sequence, bytes), or None while nothing consistent could be read."""
        for _ in range(_SEQLOCK_TRIES):
            before = self.get(prefix + "_seq")
            if before & 1:
                continue
            length = min(self.get(prefix + "_length"), capacity)
            data = bytes(self._buf[start:start + length])
            if self.get(prefix + "_seq") == before:
                return before, data
        return None

    def publish_values(self, tick: int, data: bytes) -> None:
        self.set("values_tick", tick)  # read with the snapshot: a torn tick is harmless
        self._seqlock_write("values", _VALUES, VALUES_SIZE, data)

    def values(self):
        """(tick, every variable encoded) as last published; None before the first."""
        read = self._seqlock_read("values", _VALUES, VALUES_SIZE)
        if read is None or read[0] == 0:
            return None
        return self.get("values_tick"), read[1]

    def write_config(self, data: bytes) -> bool:
        return self._seqlock_write("config", _CONFIG, CONFIG_SIZE, data)

    def config_sequence(self) -> int:
        return self.get("config_seq")

    def read_config(self):
        return self._seqlock_read("config", _CONFIG, CONFIG_SIZE)

    # --- trace sample ring ----------------------------------------------------------------------

    def put_sample(self, generation: int, tick: int, data: bytes) -> bool:
        """Producer side: False (and counted as dropped) when the consumer is too far behind."""
        sequence = self.get("sample_seq") + 1
        self.set("sample_seq", sequence)
        write, read = self.get("ring_write"), self.get("ring_read")
        need = _aligned(_RECORD.size + len(data))
        position = write % RING_SIZE
        tail = RING_SIZE - position
        wrap = tail if need > tail else 0
        if RING_SIZE - (write - read) < wrap + need:
            self.set("samples_dropped", self.get("samples_dropped") + 1)
            return False
        if wrap:
            _U32.pack_into(self._buf, _RING + position, _PADDING)
            write += wrap
            position = 0
        start = _RING + position
        _RECORD.pack_into(self._buf, start, len(data), generation, tick & 0xFFFFFFFF, 0, sequence)
        self._buf[start + _RECORD.size:start + _RECORD.size + len(data)] = data
        self.set("ring_write", write + need)
        return True

    def take_samples(self) -> list:
        """Consumer side: every sample written since the last call, as
        (sequence, generation, tick, data). A record that cannot be one the producer wrote
        ends the read and skips to the write position (the producer is then counted lost)."""
        read, write = self.get("ring_read"), self.get("ring_write")
        samples = []
        while read < write:
            position = read % RING_SIZE
            start = _RING + position
            (length,) = _U32.unpack_from(self._buf, start)
            if length == _PADDING:
                read += RING_SIZE - position
                continue
            if length > MAX_SAMPLE_BYTES or position + _RECORD.size + length > RING_SIZE:
                read = write
                break
            _, generation, tick, _, sequence = _RECORD.unpack_from(self._buf, start)
            data = bytes(self._buf[start + _RECORD.size:start + _RECORD.size + length])
            samples.append((sequence, generation, tick, data))
            read += _aligned(_RECORD.size + length)
        self.set("ring_read", read)
        return samples
