"""The runtime's eRPC server, through real runtime processes and real sockets."""
import hashlib
import random
import signal
import socket
import struct
import time

import pytest
from erpc.crc16 import Crc16
from twisted.internet import defer

from erpc_harness import ErpcRuntime, demo_files, erpc_client, transfer, wait_until
from ide_component import reactor_thread
from ide_component.erpc_connector import MAX_CHUNK_SIZE, ErpcConnector
from plc_protocol.erpc_codec import decode_reply, encode_reply, encode_request
from plc_protocol.erpc_framing import HEADER_LEN, MAX_MESSAGE, FrameDecoder, frame
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.log_levels import LogLevel
from plc_protocol.methods import EINVAL, EIO, ENOENT, METHODS, METHODS_BY_NAME
from plc_protocol.status import PLCStatus
from plc_protocol.erpc_codec import Request
from runtime_component.erpc_server import answer
from runtime_component.plc_object import PLCObject

BAD_FRAME_LINES = ("bad frame", "undecodable request", "in the middle of a frame")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    running = ErpcRuntime(tmp_path_factory.mktemp("erpc-runtime"), plc_id="erpc-01")
    yield running
    running.stop()


@pytest.fixture
def client(runtime):
    connected = erpc_client(runtime.uri)
    yield connected
    connected.close()


# --- the reply for every outcome of a handler (in-process, real PLC object) ----------------------

def _request(name, *args, sequence=7):
    return Request(METHODS_BY_NAME[name], sequence, args, oneway=False)


def _reply(plc, name, *args):
    _, result, code = decode_reply(name, answer(plc, _request(name, *args)), 7)
    return result, code


def test_answer_maps_every_outcome_to_a_return_code(tmp_path):
    plc = PLCObject("erpc-unit", str(tmp_path))
    plc.boot()
    assert _reply(plc, "GetPLCstatus") == ((PLCStatus.EMPTY, [0, 0, 0, 0]), 0)
    assert _reply(plc, "AppendChunkToBlob", b"x", bytes(16))[1] == ENOENT      # PLCObjectError
    assert _reply(plc, "ExtendedCall", "NoSuchCall", b"")[1] == EINVAL         # PLCObjectError
    assert _reply(plc, "GetLogMessage", 0, 12345) == (("", 0, 0, 0), ENOENT)   # "no message"
    assert _reply(plc, "NewPLC", "not an md5", b"", [])[1] == EINVAL

    class FailingHandlers:
        """Handlers failing the ways a runtime bug or a bad argument would."""
        def SeedBlob(self, seed):
            raise ValueError("seed refused")  # bad argument -> EINVAL

        def GetPLCstatus(self):
            raise KeyError("oops")  # a bug -> EIO, with a log line

        def MatchMD5(self, md5):
            return "not a bool"  # a result eRPC cannot carry -> EIO
    assert _reply(FailingHandlers(), "SeedBlob", b"x")[1] == EINVAL
    assert _reply(FailingHandlers(), "GetPLCstatus")[1] == EIO
    assert _reply(FailingHandlers(), "MatchMD5", "00")[1] == EIO


# --- every method over ERPC ----------------------------------------------------------------------

@pytest.mark.slow
def test_every_method_over_erpc(runtime, client):
    called = set()

    def call(method, *args):
        called.add(method)
        return client.call(method, *args)

    status, counts = call("GetPLCstatus")
    assert status == PLCStatus.STOPPED and len(counts) == 4
    assert call("GetPLCID") == ("", "")  # no --psk-file: not paired
    assert call("ExtendedCall", "GetVersions", b"").startswith(b"plclink")
    program, extras = demo_files()
    md5 = transfer(client, program, extras, chunk_size=1000)
    called.update({"PurgeBlobs", "SeedBlob", "AppendChunkToBlob", "NewPLC"})
    assert call("MatchMD5", md5) is True
    assert call("MatchMD5", "0" * 32) is False
    assert call("GetPLCstatus")[0] == PLCStatus.STOPPED

    assert call("StartPLC") is None
    assert call("GetPLCstatus")[0] == PLCStatus.STARTED
    token = call("SetTraceVariablesList", [(0, b""), (3, b"")])  # level (REAL), pump (BOOL)
    assert token > 0
    samples = wait_until(lambda: call("GetTraceVariables", token)[1], message="trace samples")
    tick, buffer = samples[0]
    assert isinstance(tick, int) and len(buffer) == 4 + 1
    assert call("GetTraceVariables", token + 1) == (PLCStatus.BROKEN, [])

    assert call("NewPLC", md5, bytes(16), []) is False   # while Started: as upstream
    with pytest.raises(PLCObjectError) as refused:   # an unknown blob: the PLC keeps running
        call("ReplacePLC", md5, bytes(16), [])
    assert refused.value.code == ENOENT
    assert call("GetPLCstatus")[0] == PLCStatus.STARTED
    assert call("StopPLC") is True
    assert call("GetPLCstatus")[0] == PLCStatus.STOPPED

    counts = call("GetPLCstatus")[1]
    info = counts[LogLevel.INFO]
    assert info > 0
    text, tick, sec, nsec = call("GetLogMessage", int(LogLevel.INFO), info - 1)
    assert text and sec > 1_600_000_000 and 0 <= nsec < 1_000_000_000
    assert call("GetLogMessage", int(LogLevel.INFO), info + 100) is None
    assert call("ResetLogCount") is None
    assert call("GetPLCstatus")[1] == [0, 0, 0, 0]

    assert call("RepairPLC") is None
    assert call("GetPLCstatus")[0] == PLCStatus.EMPTY
    assert call("MatchMD5", md5) is False
    assert called - {"ReplacePLC"} == {method.name for method in METHODS if method.erpc_id is not None}

    # Put the demo back for the other tests of this module.
    transfer(client, program, extras, chunk_size=MAX_CHUNK_SIZE)


@pytest.mark.slow
def test_errors_come_back_as_plc_object_errors(client):
    with pytest.raises(PLCObjectError) as unknown_blob:
        client.AppendChunkToBlob(b"data", bytes(16))
    assert unknown_blob.value.code == ENOENT and "ENOENT" in unknown_blob.value.message
    with pytest.raises(PLCObjectError) as unknown_call:
        client.ExtendedCall("NoSuchCall", b"")
    assert unknown_call.value.code == EINVAL
    with pytest.raises(PLCObjectError) as too_big:
        client.AppendChunkToBlob(bytes(MAX_CHUNK_SIZE + 1), bytes(16))
    assert too_big.value.code == EINVAL
    assert client.GetPLCstatus()[0] in (PLCStatus.STOPPED, PLCStatus.STARTED)


# --- several clients, pipelining -----------------------------------------------------------------

@pytest.mark.slow
def test_several_clients_pipelined_at_once(runtime):
    program, _ = demo_files()
    md5 = hashlib.md5(program).hexdigest()
    connectors = [ErpcConnector(runtime.uri) for _ in range(6)]

    async def hammer(connector, index):
        await connector.connect()
        calls = []
        for n in range(40):
            if n % 3 == 0:
                calls.append(connector.call("MatchMD5", md5 if (n + index) % 2 else "0" * 32))
            elif n % 3 == 1:
                calls.append(connector.call("SeedBlob", f"client {index} call {n}".encode()))
            else:
                calls.append(connector.call("GetPLCstatus"))
        results = await defer.gatherResults([defer.ensureDeferred(call) for call in calls])
        await connector.close()
        return results

    async def all_clients():
        return await defer.gatherResults(
            [defer.ensureDeferred(hammer(c, i)) for i, c in enumerate(connectors)])

    every = reactor_thread.blocking(all_clients, timeout=60)
    for index, results in enumerate(every):
        for n, result in enumerate(results):
            if n % 3 == 0:
                assert result is bool((n + index) % 2), (index, n)
            elif n % 3 == 1:
                assert result == hashlib.md5(f"client {index} call {n}".encode()).digest()
            else:
                assert result[0] in (PLCStatus.STOPPED, PLCStatus.STARTED)


@pytest.mark.slow
def test_oneway_requests_get_no_reply(runtime):
    with socket.create_connection(("127.0.0.1", runtime.port), timeout=5) as sock:
        sock.sendall(frame(encode_request("ResetLogCount", (), 1, oneway=True)))
        sock.sendall(frame(encode_request("GetPLCstatus", (), 2)))
        message = _receive_one(sock)
    sequence, result, code = decode_reply("GetPLCstatus", message)
    assert sequence == 2 and code == 0


def _receive_one(sock):
    decoder = FrameDecoder()
    while True:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        messages = decoder.feed(data)
        if messages:
            return messages[0]


# --- malformed input ----------------------------------------------------------------------------

def _crc(data):
    return Crc16().computeCRC16(data)


def _raw_frame(message, length=None, header_crc_delta=0, body_crc_delta=0):
    """A frame built by hand, to get every field wrong on purpose."""
    length = len(message) if length is None else length
    body_crc = (_crc(message) + body_crc_delta) & 0xFFFF
    header_crc = (_crc(struct.pack("<H", length)) + _crc(struct.pack("<H", body_crc))
                  + header_crc_delta) & 0xFFFF
    return struct.pack("<HHH", header_crc, length, body_crc) + message


def _garbage(rng, n):
    """The n-th malformed input and whether the server must close on it (complete ones)."""
    valid = encode_request("GetPLCstatus", (), n + 1)
    kind = n % 8
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(HEADER_LEN, 300))), True
    if kind == 1:
        return _raw_frame(valid, body_crc_delta=rng.randint(1, 0xFFFF)), True
    if kind == 2:
        return _raw_frame(valid, header_crc_delta=rng.randint(1, 0xFFFF)), True
    if kind == 3:  # truncated: the header promises more than ever comes
        full = frame(encode_request("SeedBlob", (bytes(rng.randint(10, 2000)),), 1))
        return full[:rng.randint(1, len(full) - 1)], False
    if kind == 4:  # oversized length with a valid header CRC, then the stream ends
        return _raw_frame(b"\x00" * rng.randint(0, 100), length=MAX_MESSAGE), False
    if kind == 5:  # good framing, body is noise
        return frame(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 100)))), True
    if kind == 6:  # good framing, a reply instead of a request / unknown method / service
        message = rng.choice([
            encode_reply("GetPLCstatus", 1, (PLCStatus.EMPTY, [0, 0, 0, 0])),
            struct.pack("<II", (1 << 24) | (1 << 16) | (99 << 8), 1),
            struct.pack("<II", (1 << 24) | (7 << 16) | (4 << 8), 1)])
        return frame(message), True
    # a valid request followed by trailing garbage in the same message
    return frame(valid + b"\xff" * rng.randint(1, 16)), True


@pytest.mark.slow
def test_a_thousand_malformed_frames_then_still_serving(runtime, client):
    rng = random.Random(20240611)
    before = sum(len(runtime.lines(text)) for text in BAD_FRAME_LINES)
    closed_by_server = 0
    started = time.monotonic()
    for n in range(1000):
        data, server_closes = _garbage(rng, n)
        with socket.create_connection(("127.0.0.1", runtime.port), timeout=5) as sock:
            sock.sendall(data)
            if server_closes:
                try:
                    assert sock.recv(100) == b"", f"input {n} got an answer"
                except ConnectionResetError:
                    pass
                closed_by_server += 1
        if n % 100 == 0:  # a well-behaved client is served all along
            assert client.GetPLCstatus()[0] in (PLCStatus.STOPPED, PLCStatus.STARTED)
    assert closed_by_server > 700
    assert time.monotonic() - started < 30
    # one log line per bad connection, no more, no less
    wait_until(lambda: sum(len(runtime.lines(text)) for text in BAD_FRAME_LINES) - before >= 1000,
               timeout=10, message="a log line for every bad connection")
    assert sum(len(runtime.lines(text)) for text in BAD_FRAME_LINES) - before == 1000
    assert runtime.child.running
    fresh = erpc_client(runtime.uri)
    try:
        assert fresh.GetPLCstatus()[0] in (PLCStatus.STOPPED, PLCStatus.STARTED)
    finally:
        fresh.close()


# --- the connector's failure paths against a real runtime -----------------------------------------

@pytest.mark.slow
def test_connect_refused_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connector = ErpcConnector(f"ERPC://127.0.0.1:{port}")
    with pytest.raises(PLCUnreachable, match=f"127.0.0.1:{port}"):
        reactor_thread.blocking(connector.connect)
    with pytest.raises(PLCUnreachable, match="not connected"):
        reactor_thread.blocking(connector.call, "GetPLCstatus")


@pytest.mark.slow
def test_timeout_then_connection_loss_fail_pending_calls(tmp_path):
    runtime = ErpcRuntime(tmp_path, plc_id="erpc-02", program=None)
    connector = ErpcConnector(runtime.uri, timeout=0.5)
    try:
        reactor_thread.blocking(connector.connect)
        runtime.child.signal(signal.SIGSTOP)  # alive but silent
        started = time.monotonic()
        with pytest.raises(PLCUnreachable, match="no answer .* within 0.5 s"):
            reactor_thread.blocking(connector.call, "GetPLCstatus")
        assert time.monotonic() - started < 3

        connector.timeout = 30
        pending = []

        def start_calls():
            pending.extend(defer.ensureDeferred(connector.call("GetPLCstatus")) for _ in range(3))
        reactor_thread.blocking(lambda: start_calls())
        runtime.child.signal(signal.SIGKILL)
        runtime.child.signal(signal.SIGCONT)
        for deferred in pending:
            with pytest.raises(PLCUnreachable, match="connection to .* lost"):
                reactor_thread.blocking(lambda d=deferred: d, timeout=10)
        assert not connector.connected
    finally:
        runtime.child.signal(signal.SIGCONT)
        runtime.stop()
        reactor_thread.blocking(connector.close)
