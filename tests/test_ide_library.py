"""The library API (blocking facade over the Twisted one) against a real runtime: every PLC
operation, and the safety nets: digest verification and log catch-up after lost events."""
import hashlib

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM
from ide_component.blob_plan import read_transfer
from ide_component.blocking import PLC, connect
from ide_component.connector import Connector
from ide_component.failures import DigestMismatch, OperationFailed
from ide_component.plc_client import PLCClient
from ide_fixtures import module_runtimes, write_big_program  # noqa: F401
from plc_protocol.status import PLCStatus

pytestmark = pytest.mark.slow
PLC_ID = "plc-09"


@pytest.fixture(scope="module")
def uri(router, module_runtimes):
    module_runtimes(PLC_ID, autostart=True)
    return f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{PLC_ID}"


@pytest.fixture
def plc(router, uri):
    with connect(uri, credentials=router.credentials("ide")) as connected:
        yield connected


class Tampering(Connector):
    """A real connector in between that alters one AppendChunkToBlob exchange, or drops log
    events: what a faulty link could do."""

    def __init__(self, inner, alter_data_of=None, alter_answer_of=None, drop_log_events=False):
        super().__init__(inner.uri)
        self.inner = inner
        self.alter_data_of, self.alter_answer_of = alter_data_of, alter_answer_of
        self.drop_log_events = drop_log_events
        self.appends = 0

    async def connect(self):
        await self.inner.connect()

    async def close(self):
        await self.inner.close()

    async def call(self, method, *args):
        if method == "AppendChunkToBlob":
            self.appends += 1
            if self.appends == self.alter_data_of:
                args = (b"X" + args[0][1:], args[1])
        answer = await self.inner.call(method, *args)
        if method == "AppendChunkToBlob" and self.appends == self.alter_answer_of:
            answer = hashlib.md5(answer).digest()
        return answer

    def subscribe(self, event, handler):
        if event == "log" and self.drop_log_events:
            return self.inner.subscribe(event, lambda *args, **kwargs: None)
        return self.inner.subscribe(event, handler)


def tampered(plc: PLC, **options) -> PLC:
    return PLC(PLCClient(Tampering(plc.client.connector, **options)))


def test_control_logs_variables_and_status_watch(plc):
    assert plc.start().status == PLCStatus.STARTED
    with plc.watch_status(count=1) as watch:
        state, details = next(watch)
    assert state.status == PLCStatus.STARTED and details["md5"] == \
        read_transfer(DEMO_PROGRAM, [DEMO_CSV]).md5
    assert [v.name for v in plc.variables()][:2] == ["level", "setpoint"]
    entries = plc.logs(4)
    assert len(entries) == 4 and "PLC started" in " ".join(e.text for e in plc.logs(50))
    assert plc.stop().status == PLCStatus.STOPPED
    assert plc.start().status == PLCStatus.STARTED


def test_forces_of_one_client_merge_until_released(plc):
    plc.force(manual=True)
    plc.force({"pump": False, "pump_starts": 42})
    assert next(iter(plc.trace(["manual", "pump", "pump_starts"], count=1)))[1] == \
        {"manual": True, "pump": False, "pump_starts": 42}
    plc.release("pump_starts")
    assert {e["name"]: e["value"] for e in plc.forces()} == {"manual": True, "pump": False}
    plc.release()
    assert plc.forces() == []
    with pytest.raises(ValueError, match="out of range for DINT"):
        plc.force(pump_starts=2**40)


def test_a_chunk_altered_on_the_way_is_reported_and_nothing_installed(plc, tmp_path):
    program = write_big_program(tmp_path / "big.py", 300_000)
    # The first AppendChunkToBlob carries the extra file naming the program (.plclink-program-name).
    with pytest.raises(DigestMismatch, match=r"program: blob id mismatch after chunk 2 of 5"):
        tampered(plc, alter_data_of=3).transfer(program, chunk_size=65536, force=True)
    with pytest.raises(DigestMismatch, match=r"chunk 3 of 5: the runtime answered [0-9a-f]{32}"):
        tampered(plc, alter_answer_of=4).transfer(program, chunk_size=65536, window=1, force=True)
    # Stopped for the transfer, as the protocol does, then started again on the old program,
    # which is still installed.
    assert plc.status().status == PLCStatus.STARTED
    assert plc.transfer(DEMO_PROGRAM, [DEMO_CSV]).skipped


def test_transfer_the_beremiz_way_then_ours(plc, tmp_path):
    program = write_big_program(tmp_path / "p.py", 100_000)
    result = plc.transfer(program, [DEMO_CSV], chunk_size=4095, window=1)
    assert not result.skipped and result.status == PLCStatus.STOPPED
    assert plc.transfer(program, [DEMO_CSV]).skipped
    result = plc.transfer(DEMO_PROGRAM, [DEMO_CSV])
    assert not result.skipped and plc.start().status == PLCStatus.STARTED


def test_follow_catches_up_when_log_events_are_lost(plc, ide):
    deaf = tampered(plc, drop_log_events=True)
    with deaf.follow_logs(duration=8) as feed:
        ide.call(f"{PLC_ID}.StopPLC")
        ide.call(f"{PLC_ID}.StartPLC")
        texts, ids = [], set()
        for entry in feed:
            assert (entry.level, entry.msg_id) not in ids
            ids.add((entry.level, entry.msg_id))
            texts.append(entry.text)
            if "PLC started" in texts:
                break
    assert "PLC stopped" in texts and "PLC started" in texts


def test_unknown_runtime_and_refused_start(router, uri):
    with pytest.raises(Exception, match="no runtime 'plc-zz'"):
        connect(uri.replace(PLC_ID, "plc-zz"), credentials=router.credentials("ide")).status()
    with connect(uri, credentials=router.credentials("ide")) as plc:
        plc.repair()
        with pytest.raises(OperationFailed, match="the PLC is Empty; transfer a program first"):
            plc.start()
        plc.transfer(DEMO_PROGRAM, [DEMO_CSV])
        assert plc.start().status == PLCStatus.STARTED
