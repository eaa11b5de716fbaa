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
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.methods import ENOSYS
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
                   window: int = DEFAULT_WINDOW, progress=None,
                   keep_running: bool = False) -> TransferResult:
    """Install ``plan`` on the runtime behind ``connector``.

    MatchMD5 comes before StopPLC (the reverse of the Beremiz order) so that a skipped transfer
    never stops a running PLC. Only a Stopped or Started runtime can skip: an Empty or Broken
    one is always sent the program, whatever MatchMD5 answers (Beremiz's answers true after a
    failed load, protocol.md §9). ``progress(stage, done_bytes, total_bytes)`` is called with
    stages "checking", "sending", "installing", then "done" or "skipped".

    A PLC that was Started and fails to install after being stopped is started again on its
    old program (the error says so). ``keep_running``: a Started PLC is sent the program while
    it runs and keeps running, on the new program: a plclink runtime installs it on NewPLC by
    its own stop, install, start on ReplacePLC (nothing the IDE does after sending it can leave
    it Stopped); a Beremiz runtime, which serves no ReplacePLC and refuses NewPLC while Started,
    gets StopPLC, NewPLC, StartPLC back to back, the program already sent.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 call, got {window}")
    report = progress or _no_progress
    name = connector.plc_id or "runtime"
    total = plan.size
    report("checking", 0, total)
    matched, (status, _) = await _both(connector.call("MatchMD5", plan.md5),
                                       connector.call("GetPLCstatus"))
    if matched and not force and status in _INSTALLED:
        report("skipped", total, total)
        return TransferResult(plan.md5, True, 0, status)
    was_started = status == PLCStatus.STARTED
    sent = False
    if was_started and keep_running:
        await _send(connector, plan, window, report)
        sent = True
        result = await _install_while_running(connector, plan, name, report)
        if result is not None:
            return result
    if was_started and not await connector.call("StopPLC"):
        raise OperationFailed(f"{name}: StopPLC failed (the PLC did not stop in time and is "
                              "Broken); repair it, then transfer again")
    try:
        if not sent:
            await _send(connector, plan, window, report)
        report("installing", total, total)
        installed = await connector.call("NewPLC", plan.md5, plan.program.final_id,
                                         [(blob.name, blob.final_id) for blob in plan.extras])
    except Exception as error:
        raise await _restarted(connector, name, was_started, error) from None
    if not installed:
        status, _ = await connector.call("GetPLCstatus")
        raise await _restarted(connector, name, was_started, OperationFailed(
            f"{name}: the program {plan.md5} was transferred but did not load (status "
            f"{status.value}); see `plclink logs` for the reason"))
    status = PLCStatus.STOPPED
    if was_started and keep_running and await _start(connector):
        status = PLCStatus.STARTED
    report("done", total, total)
    return TransferResult(plan.md5, False, total, status)


async def _both(first, second) -> list:
    """Two calls at once; the first failure itself (not gatherResults' FirstError wrapper, which
    no caller expects: an unknown runtime must read as unreachable)."""
    try:
        return await defer.gatherResults([defer.ensureDeferred(first),
                                          defer.ensureDeferred(second)], consumeErrors=True)
    except defer.FirstError as error:
        error.subFailure.raiseException()


async def _send(connector, plan: TransferPlan, window: int, report) -> None:
    report("sending", 0, plan.size)
    await _send_blobs(connector, plan, _InFlight(window),
                      lambda done: report("sending", done, plan.size))


async def _install_while_running(connector, plan, name, report) -> TransferResult | None:
    """ReplacePLC on a Started PLC; None when the runtime does not serve it (Beremiz), after
    which the caller stops, installs and starts."""
    report("installing", plan.size, plan.size)
    try:
        installed = await connector.call("ReplacePLC", plan.md5, plan.program.final_id,
                                         [(blob.name, blob.final_id) for blob in plan.extras])
    except PLCObjectError as error:
        if error.code == ENOSYS:
            return None
        status, _ = await connector.call("GetPLCstatus")
        still = "; the old program is still running" if status == PLCStatus.STARTED else ""
        raise OperationFailed(f"{name}: {error}{still}") from None
    except PLCUnreachable:
        # over WAMP a runtime without the procedure (Beremiz's WAMP runtime) reads as absent
        await connector.call("GetPLCstatus")   # there after all: it does not serve ReplacePLC
        return None
    status, _ = await connector.call("GetPLCstatus")
    if not installed:
        raise OperationFailed(f"{name}: the program {plan.md5} was transferred but did not load "
                              f"(status {status.value}); see `plclink logs` for the reason")
    report("done", plan.size, plan.size)
    return TransferResult(plan.md5, False, plan.size, status)


async def _start(connector) -> bool:
    await connector.call("StartPLC")
    status, _ = await connector.call("GetPLCstatus")
    return status == PLCStatus.STARTED


async def _restarted(connector, name: str, was_started: bool, error: Exception) -> Exception:
    """``error``, once a PLC this transfer stopped runs its old program again (when it still
    has one loaded), its message saying what became of the PLC."""
    if not was_started:
        return error
    try:
        status, _ = await connector.call("GetPLCstatus")
        again = status == PLCStatus.STOPPED and await _start(connector)
    except Exception:
        again = False
    note = ("the old program was started again" if again else
            "the PLC was stopped for it and could not be started again")
    kind = type(error) if isinstance(error, (OperationFailed, PLCUnreachable)) else OperationFailed
    return kind(f"{' '.join(str(error).split())}; {note}")


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
