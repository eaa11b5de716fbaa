"""Beremiz eRPC interop (protocol.md §9): the eRPC client and the variables file against a peer
built on erpc's own server that behaves like the Beremiz runtime (tests/beremiz_erpc_peer.py),
without a router."""
import socket
import threading
import time

import pytest

from beremiz_erpc_peer import VARIABLES
from erpc_harness import VARIABLES_CSV, BeremizPeer, erpc_client
from ide_component import reactor_thread
from ide_component.erpc_connector import ErpcConnector, NoAnswer
from plc_protocol.beremiz_variables import (VariablesFileError, parse_variables_csv,
                                            read_variables_csv, table_json)
from plc_protocol.erpc_codec import decode_request, encode_reply
from plc_protocol.erpc_framing import FrameDecoder, frame
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.methods import ENOSYS
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import application_error, checked_args


# --- pure parts ---------------------------------------------------------------------------------

def test_variables_csv_gives_the_trace_indexes_beremiz_uses():
    """FB instances and untraceable types (an enum) are skipped; `num` is not the index."""
    entries = read_variables_csv(VARIABLES_CSV)
    assert [(e.index, e.name, e.type) for e in entries] == \
        [(index, name, type_name) for index, (name, type_name, _) in enumerate(VARIABLES)]
    assert table_json(entries[:1]) == \
        b'[{"index": 0, "name": "CONFIG.RESOURCE1.INSTANCE0.LEVEL", "type": "REAL"}]'


@pytest.mark.parametrize("text, message", [
    ("0;x;INT\n", "no variables section"),
    ("// Programs\n0;P;T;\n", "no variables section"),
    ("// Programs\n// Variables\n1;VAR;A.B\n", "line 3: a variable line needs at least 5"),
    ("// Programs\n// Variables\n1;VAR;;A;INT;INT;0\n", "line 3: empty IEC path"),
])
def test_a_file_that_is_not_variables_csv_is_named_with_its_line(text, message):
    with pytest.raises(VariablesFileError, match=message):
        parse_variables_csv(text, "build/VARIABLES.csv")


def test_an_unreadable_variables_file_is_a_clear_error(tmp_path):
    with pytest.raises(VariablesFileError, match="cannot read variables file .*missing.csv"):
        read_variables_csv(str(tmp_path / "missing.csv"))


def test_none_force_from_the_beremiz_ide_means_not_forced():
    assert checked_args("SetTraceVariablesList", [[[3, None], [4, b"\x01"]]]) == \
        ([(3, b""), (4, b"\x01")],)


def test_an_error_message_names_the_method_once():
    refused = PLCObjectError(22, "AppendChunkToBlob: bad arguments: too big")
    assert application_error("AppendChunkToBlob", refused).args[0] == \
        "AppendChunkToBlob: bad arguments: too big"
    assert application_error("NewPLC", PLCObjectError(16, "busy")).args[0] == "NewPLC: busy"


# --- the eRPC client against the Beremiz-like peer ----------------------------------------------

@pytest.fixture
def peer():
    running = BeremizPeer()
    yield running
    running.stop()


def test_silence_answers_one_call_and_the_link_serves_on(peer):
    client = erpc_client(peer.uri, timeout=1)
    try:
        assert client.GetPLCstatus()[0] == PLCStatus.EMPTY
        started = time.monotonic()
        with pytest.raises(PLCObjectError) as not_served:
            client.ExtendedCall("GetVersions", b"")     # absent from Beremiz's IDL: no reply
        assert not_served.value.code == ENOSYS and time.monotonic() - started < 3
        assert "not served by" in str(not_served.value)
        with pytest.raises(NoAnswer, match="the connection is up"):
            client.ResetLogCount()                      # raises on an empty runtime: no reply
        assert client.connector.connected
        assert client.GetPLCstatus()[0] == PLCStatus.EMPTY
        assert client.GetPLCID() == (peer.plc_id, "")
    finally:
        client.close()
    assert any("invalid method ID (15)" in line for line in peer.child.lines)


def test_a_new_connection_takes_the_peer_over(peer):
    """As measured on upstream Beremiz (erpc 1.12's TCP transport): the server goes on reading
    the first client until that one sends; then the request's header comes from the first
    socket and its body from the second ("invalid message CRC"), the first is reset, and from
    then on the second is served."""
    first = erpc_client(peer.uri, timeout=3)
    second = erpc_client(peer.uri, timeout=3)
    try:
        with pytest.raises(NoAnswer):
            second.GetPLCstatus()
        with pytest.raises(PLCUnreachable):
            first.GetPLCstatus()
        assert second.GetPLCstatus()[0] == PLCStatus.EMPTY
        assert second.GetPLCstatus()[0] == PLCStatus.EMPTY
    finally:
        first.close()
        second.close()


def test_a_failed_load_is_broken_and_still_matches_its_md5(peer):
    client = erpc_client(peer.uri)
    try:
        blob = client.SeedBlob(b"f" * 32)
        blob = client.AppendChunkToBlob(b"FAIL: does not load", blob)
        assert client.NewPLC("f" * 32, blob, []) is False
        assert client.GetPLCstatus()[0] == PLCStatus.BROKEN
        assert client.MatchMD5("f" * 32) is True       # as Beremiz: the IDE transfers anyway
    finally:
        client.close()


def test_a_late_reply_is_dropped_and_the_next_one_is_matched_by_sequence():
    """A server that answers the first request only after the second: the client has given
    up on the first; the late reply must not be taken for the second's."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        decoder, held = FrameDecoder(), None
        with connection:
            while (data := connection.recv(65536)):
                for message in decoder.feed(data):
                    request = decode_request(message)
                    if held is None:
                        held = request
                        continue
                    answers = ((held, PLCStatus.BROKEN), (request, PLCStatus.STARTED))
                    for answered, status in answers:
                        connection.sendall(frame(encode_reply(
                            "GetPLCstatus", answered.sequence, (status, [0, 0, 0, 0]))))
    threading.Thread(target=serve, daemon=True).start()
    connector = ErpcConnector(f"ERPC://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
    try:
        reactor_thread.blocking(connector.connect)
        with pytest.raises(NoAnswer):
            reactor_thread.blocking(connector.call, "GetPLCstatus")
        status, _ = reactor_thread.blocking(connector.call, "GetPLCstatus")
        assert status == PLCStatus.STARTED and connector.connected
    finally:
        reactor_thread.blocking(connector.close)
        listener.close()
