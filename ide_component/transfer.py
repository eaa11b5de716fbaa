"""Transfer, as protocol.md §2 describes it, over any connector, with every blob id checked.

Calls are pipelined: up to ``window`` of them are in flight on one runtime. That is safe because
calls on one link reach the runtime in order and every answer is known in advance (a blob id
is the running md5, see blob_plan): each AppendChunkToBlob names the id its predecessor will
produce, and each answer is checked when it arrives. The runtime sees exactly the sequential
protocol; ``window=1`` with 4095-byte chunks is the Beremiz IDE's way.
"""
from collections import deque
from dataclasses import dataclass

from twisted.internet import defer

from ide_component.blob_plan import DEFAULT_WINDOW, BlobPlan, TransferPlan
from ide_component.failures import DigestMismatch, OperationFailed
from plc_protocol.status import PLCStatus


_INSTALLED = (PLCStatus.STOPPED, PLCStatus.STARTED)   # a matching md5 means the program runs


@dataclass(frozen=True)
class TransferResult:
    md5: str
    skipped: bool     # the runtime already had this program (MatchMD5) and nothing was sent
    sent_bytes: int
    status: PLCStatus


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


class _InFlight:
    """Calls sent and not answered yet, oldest first, each with the check of its answer."""

    def __init__(self, window: int):
        self.window = window
        self.calls = deque()

    async def send(self, call, check) -> None:
        """Start ``call()`` once fewer than ``window`` calls are out; ``check(answer)`` later."""
        while len(self.calls) >= self.window:
            await self._settle_oldest()
        self.calls.append((defer.ensureDeferred(call()), check))

    async def _settle_oldest(self) -> None:
        call, check = self.calls.popleft()
        check(await call)

    async def drain(self) -> None:
        while self.calls:
            await self._settle_oldest()

    async def abandon(self) -> None:
        """After a failure the calls still out fail too (their blob ids are unknown to the
        runtime by then): wait for them so nothing outlives the transfer, drop their errors."""
        calls = [call for call, _ in self.calls]
        self.calls.clear()
        await defer.DeferredList(calls, consumeErrors=True)


async def transfer(connector, plan: TransferPlan, *, force: bool = False,
                   window: int = DEFAULT_WINDOW, progress=None) -> TransferResult:
    """Install ``plan`` on the runtime behind ``connector``.

    MatchMD5 comes before StopPLC (the reverse of the Beremiz order) so that a skipped transfer
    never stops a running PLC. Only a Stopped or Started runtime can skip: an Empty or Broken
    one is always sent the program, whatever MatchMD5 answers (Beremiz's answers true after a
    failed load, protocol.md §9). ``progress(stage, done_bytes, total_bytes)`` is called with
    stages "checking", "sending", "installing", then "done" or "skipped".
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 call, got {window}")
    report = progress or _no_progress
    name = connector.plc_id or "runtime"
    total = plan.size
    report("checking", 0, total)
    matched, (status, _) = await defer.gatherResults(
        [defer.ensureDeferred(connector.call("MatchMD5", plan.md5)),
         defer.ensureDeferred(connector.call("GetPLCstatus"))], consumeErrors=True)
    if matched and not force and status in _INSTALLED:
        report("skipped", total, total)
        return TransferResult(plan.md5, True, 0, status)
    if status == PLCStatus.STARTED and not await connector.call("StopPLC"):
        raise OperationFailed(f"{name}: StopPLC failed (the PLC did not stop in time and is "
                              "Broken); repair it, then transfer again")
    report("sending", 0, total)
    await _send_blobs(connector, plan, _InFlight(window), lambda done: report("sending", done, total))
    report("installing", total, total)
    if not await connector.call("NewPLC", plan.md5, plan.program.final_id,
                                [(blob.name, blob.final_id) for blob in plan.extras]):
        status, _ = await connector.call("GetPLCstatus")
        raise OperationFailed(f"{name}: the program {plan.md5} was transferred but did not load "
                              f"(status {status.value}); see `plclink logs` for the reason")
    report("done", total, total)
    return TransferResult(plan.md5, False, total, PLCStatus.STOPPED)


async def _send_blobs(connector, plan: TransferPlan, in_flight: _InFlight, on_progress) -> None:
    sent = 0

    def chunk_check(blob, index, expected):
        def check(answer):
            nonlocal sent
            _check(blob, index, answer, expected)
            sent += len(blob.chunks[index])
            on_progress(sent)
        return check

    try:
        await in_flight.send(lambda: connector.call("PurgeBlobs"), lambda answer: None)
        for blob in plan.blobs:
            await in_flight.send(lambda b=blob: connector.call("SeedBlob", b.seed),
                                 lambda answer, b=blob: _check(b, -1, answer, b.seed_id))
            previous = blob.seed_id
            for index, (chunk, expected) in enumerate(zip(blob.chunks, blob.ids)):
                await in_flight.send(
                    lambda c=chunk, p=previous: connector.call("AppendChunkToBlob", c, p),
                    chunk_check(blob, index, expected))
                previous = expected
        await in_flight.drain()
    except BaseException as error:
        await in_flight.abandon()
        if isinstance(error, DigestMismatch):
            try:
                await connector.call("PurgeBlobs")
            except Exception:
                pass  # the mismatch is the news; a failed clean-up must not hide it
        raise


def _check(blob: BlobPlan, index: int, answered: bytes, expected: bytes) -> None:
    if answered != expected:
        where = "seeding" if index < 0 else f"chunk {index + 1} of {len(blob.chunks)}"
        raise DigestMismatch(
            f"{blob.name}: blob id mismatch after {where}: the runtime answered "
            f"{bytes(answered).hex()}, the local running md5 is {expected.hex()}; the data was "
            "altered or lost on the way, nothing was installed; transfer again")
