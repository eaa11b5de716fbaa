import json
import struct
from pathlib import Path

import pytest
from erpc.crc16 import Crc16

from plc_protocol.erpc_codec import (SERVICE_ID, ErpcDecodeError, decode_reply, decode_request,
                                     encode_reply, encode_request, error_code_name)
from plc_protocol.erpc_framing import HEADER_LEN, MAX_MESSAGE, FrameDecoder, FrameError, frame
from plc_protocol.errors import PLCObjectError
from plc_protocol.extension_calls import (decode_answer, decode_arguments, encode_answer,
                                          encode_arguments)
from plc_protocol.methods import (EINVAL, ENOENT, METHODS, METHODS_BY_NAME, FixedArray, ListOf,
                                  Scalar, Struct)
from plc_protocol.status import PLCStatus

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "erpc_plcobject_vectors.json").read_text())["vectors"]
VECTOR_IDS = [f"{index}-{vector['method']}" for index, vector in enumerate(VECTORS)]


def from_json(type_, value):
    """The vectors' JSON form of a value in our Python-side shape."""
    if isinstance(type_, Struct):
        return tuple(from_json(field.type, value[field.name]) for field in type_.fields)
    if isinstance(type_, (FixedArray, ListOf)):
        return [from_json(type_.element, item) for item in value]
    assert isinstance(type_, Scalar)
    if type_.kind == "bytes":
        return bytes.fromhex(value["hex"])
    if type_.kind == "status":
        return PLCStatus.from_wire_int(value)
    return value


def vector_args(vector):
    method = METHODS_BY_NAME[vector["method"]]
    return tuple(from_json(param.type, value)
                 for param, value in zip(method.inputs, vector["inputs"], strict=True))


def vector_result(vector):
    method = METHODS_BY_NAME[vector["method"]]
    outputs = [from_json(param.type, value)
               for param, value in zip(method.outputs, vector["client_outputs"], strict=True)]
    return outputs[0] if outputs else None


def unframe(frame_bytes):
    messages = FrameDecoder().feed(frame_bytes)
    assert len(messages) == 1
    return messages[0]


def vector_message(vector, key):
    return bytes.fromhex(vector[key])[HEADER_LEN:]


# --- golden vectors -----------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_request_frame_matches_vector(vector):
    message = encode_request(vector["method"], vector_args(vector), 1)
    assert frame(message) == bytes.fromhex(vector["request_frame"])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_request_frame_decodes_to_inputs(vector):
    request = decode_request(unframe(bytes.fromhex(vector["request_frame"])))
    assert request.method is METHODS_BY_NAME[vector["method"]]
    assert request.sequence == 1
    assert request.args == vector_args(vector)
    assert request.oneway is False


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_reply_frame_matches_vector(vector):
    message = encode_reply(vector["method"], 1, vector_result(vector), vector["client_return"])
    assert frame(message) == bytes.fromhex(vector["reply_frame"])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_reply_frame_decodes_to_outputs(vector):
    message = unframe(bytes.fromhex(vector["reply_frame"]))
    sequence, result, code = decode_reply(vector["method"], message, expected_sequence=1)
    assert (sequence, result, code) == (1, vector_result(vector), vector["client_return"])


def test_decoded_values_have_the_python_side_types():
    vector = next(v for v in VECTORS if v["method"] == "GetTraceVariables")
    _, (status, traces), _ = decode_reply("GetTraceVariables",
                                          vector_message(vector, "reply_frame"))
    assert status is PLCStatus.STARTED
    assert isinstance(traces, list) and isinstance(traces[0], tuple)
    assert type(traces[0][1]) is bytes
    request = decode_request(vector_message(
        next(v for v in VECTORS if v["method"] == "SeedBlob"), "request_frame"))
    assert type(request.args[0]) is bytes


# --- framing ------------------------------------------------------------------------------------

def test_crc16_check_value():
    assert Crc16().computeCRC16(b"123456789") == 0x89AC
    assert struct.unpack("<H", frame(b"123456789")[4:6])[0] == 0x89AC


def test_frames_fed_one_byte_at_a_time():
    stream = b"".join(bytes.fromhex(v["request_frame"]) for v in VECTORS)
    decoder = FrameDecoder()
    messages = []
    for byte in stream:
        messages += decoder.feed(bytes([byte]))
    assert messages == [vector_message(v, "request_frame") for v in VECTORS]


def test_two_frames_and_a_half_in_one_chunk():
    first, second = frame(b"first message"), frame(b"second")
    third = frame(b"third")
    decoder = FrameDecoder()
    assert decoder.feed(first + second + third[:4]) == [b"first message", b"second"]
    assert decoder.feed(third[4:]) == [b"third"]


def test_empty_feed_returns_nothing():
    assert FrameDecoder().feed(b"") == []


def corrupt(data, index):
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4, 5])
def test_bad_header_crc(index):
    data = corrupt(frame(b"hello"), index)
    with pytest.raises(FrameError, match="bad header CRC"):
        FrameDecoder().feed(data)


def test_bad_header_crc_detected_before_the_body_arrives():
    data = corrupt(frame(b"x" * 1000), 2)
    with pytest.raises(FrameError, match="bad header CRC"):
        FrameDecoder().feed(data[:HEADER_LEN])


def test_bad_body_crc():
    data = corrupt(frame(b"hello"), HEADER_LEN + 2)
    with pytest.raises(FrameError, match="bad body CRC"):
        FrameDecoder().feed(data)


def test_decoder_unusable_after_an_error():
    decoder = FrameDecoder()
    with pytest.raises(FrameError):
        decoder.feed(corrupt(frame(b"hello"), 0))
    with pytest.raises(FrameError, match="bad header CRC"):
        decoder.feed(frame(b"hello"))


def test_oversize_message_refused_by_frame():
    with pytest.raises(FrameError, match="65536 bytes"):
        frame(b"x" * (MAX_MESSAGE + 1))
    largest = b"x" * MAX_MESSAGE
    assert FrameDecoder().feed(frame(largest)) == [largest]


def test_decoder_limit_refuses_a_long_announced_message():
    decoder = FrameDecoder(max_message=100)
    with pytest.raises(FrameError, match="101 bytes exceeds the limit of 100"):
        decoder.feed(frame(b"x" * 101)[:HEADER_LEN])


# --- decoding errors ----------------------------------------------------------------------------

def header(method_id, message_type=0, service=SERVICE_ID, version=1, sequence=1):
    return struct.pack("<II", (version << 24) | (service << 16) | (method_id << 8) | message_type,
                       sequence)


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_every_truncated_request_is_refused(vector):
    message = vector_message(vector, "request_frame")
    for length in range(len(message)):
        with pytest.raises(ErpcDecodeError, match="truncated"):
            decode_request(message[:length])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_every_truncated_reply_is_refused(vector):
    message = vector_message(vector, "reply_frame")
    for length in range(len(message)):
        with pytest.raises(ErpcDecodeError, match="truncated"):
            decode_reply(vector["method"], message[:length])


def test_binary_longer_than_the_message_is_refused():
    message = header(11) + struct.pack("<I", 10) + b"short"
    with pytest.raises(ErpcDecodeError, match="truncated"):
        decode_request(message)


def test_trailing_bytes_are_refused():
    with pytest.raises(ErpcDecodeError, match="1 trailing bytes"):
        decode_request(encode_request("StartPLC", (), 1) + b"\0")
    with pytest.raises(ErpcDecodeError, match="2 trailing bytes"):
        decode_reply("StopPLC", encode_reply("StopPLC", 1, True) + b"\0\0")


def test_unknown_method_id():
    with pytest.raises(ErpcDecodeError, match="unknown method id 99"):
        decode_request(header(99))


@pytest.mark.parametrize("message, error", [
    (header(13, service=2), "service 2"),
    (header(13, version=2), "codec version 2"),
    (header(13, message_type=2), "expected a request"),
    (header(13, message_type=3), "expected a request"),
    (header(13, message_type=9), "message type"),
])
def test_request_with_a_bad_header(message, error):
    with pytest.raises(ErpcDecodeError, match=error):
        decode_request(message)


def test_invalid_utf8_is_refused():
    message = header(6) + struct.pack("<I", 2) + b"\xff\xfe"
    with pytest.raises(ErpcDecodeError, match="UTF-8"):
        decode_request(message)


def test_bad_status_value_is_refused():
    message = header(4, message_type=2) + struct.pack("<iIIIII", 7, 0, 0, 0, 0, 0)
    with pytest.raises(ErpcDecodeError, match="status"):
        decode_reply("GetPLCstatus", message)


def test_reply_checks():
    reply = encode_reply("StopPLC", 5, True)
    with pytest.raises(ErpcDecodeError, match="method id 14, expected 13"):
        decode_reply("StartPLC", reply)
    with pytest.raises(ErpcDecodeError, match="sequence 5, expected 4"):
        decode_reply("StopPLC", reply, expected_sequence=4)
    with pytest.raises(ErpcDecodeError, match="expected a reply"):
        decode_reply("StopPLC", encode_request("StopPLC", (), 5))


# --- round trips --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", [m for m in METHODS if m.outputs and m.erpc_id is not None],
                         ids=lambda m: m.name)
def test_error_reply_round_trips(method):
    sequence, result, code = decode_reply(method.name, encode_reply(method.name, 3, None, EINVAL))
    assert (sequence, code) == (3, EINVAL)
    assert encode_reply(method.name, 3, result, EINVAL) == encode_reply(method.name, 3, None,
                                                                        EINVAL)


def test_error_reply_defaults():
    _, result, _ = decode_reply("GetPLCstatus", encode_reply("GetPLCstatus", 1, None, ENOENT))
    assert result == (PLCStatus.EMPTY, [0, 0, 0, 0])
    assert decode_reply("StartPLC", encode_reply("StartPLC", 1, None, EINVAL)) == (1, None, EINVAL)


def test_extended_call_round_trips():
    message = encode_request("ExtendedCall", ("GetVersions", b"\x00\x01"), 42)
    request = decode_request(message)
    assert (request.method.erpc_id, request.sequence, request.args) == (
        15, 42, ("GetVersions", b"\x00\x01"))
    reply = encode_reply("ExtendedCall", 42, b"Linux x86_64")
    assert decode_reply("ExtendedCall", reply, expected_sequence=42) == (42, b"Linux x86_64", 0)


def test_oneway_request_round_trips():
    request = decode_request(encode_request("ResetLogCount", (), 7, oneway=True))
    assert request.oneway is True and request.sequence == 7


def test_status_encodes_from_member_or_int():
    logcounts = [1, 2, 3, 4]
    assert (encode_reply("GetPLCstatus", 1, (PLCStatus.STARTED, logcounts))
            == encode_reply("GetPLCstatus", 1, (2, logcounts)))


def test_non_ascii_string_round_trips():
    request = decode_request(encode_request("MatchMD5", ("é✓",), 1))
    assert request.args == ("é✓",)


@pytest.mark.parametrize("name, args, error", [
    ("MatchMD5", (), "needs 1 items"),
    ("MatchMD5", (b"bytes",), "MD5: expected str"),
    ("SeedBlob", ("text",), "seed: expected bytes"),
    ("GetTraceVariables", (-1,), "does not fit uint32"),
    ("GetLogMessage", (256, 0), "does not fit uint8"),
    ("SetTraceVariablesList", ([(1,)],), "struct trace_order needs 2 items"),
    ("NoSuchMethod", (), "unknown PLC object method"),
])
def test_encode_refuses_bad_values(name, args, error):
    with pytest.raises(ValueError, match=error):
        encode_request(name, args, 1)


def test_encode_reply_refuses_bad_results():
    with pytest.raises(ValueError, match="fixed array needs 4 items"):
        encode_reply("GetPLCstatus", 1, (PLCStatus.STOPPED, [0, 0]))
    with pytest.raises(ValueError, match="succeeded without a result"):
        encode_reply("StopPLC", 1, None)
    with pytest.raises(ValueError, match="has no result"):
        encode_reply("StartPLC", 1, True)


def test_error_code_name():
    assert error_code_name(2) == "ENOENT (no such blob or entry)"
    assert error_code_name(0) == "OK"
    assert error_code_name(1234) == "error code 1234"


def test_json_extensions_go_through_extended_call():
    """The force model's methods have no eRPC id: ExtendedCall(name, JSON) carries them."""
    with pytest.raises(ValueError, match="ExtendedCall"):
        encode_request("Force", ([{"index": 0, "value": True}],), 1)
    argument = encode_arguments(([{"index": 0, "value": True}],))
    message = encode_request("ExtendedCall", ("Force", argument), 7)
    request = decode_request(message)
    assert decode_arguments("Force", request.args[1]) == ([{"index": 0, "value": True}],)
    assert decode_arguments("Release", b"[null]") == (None,)  # restore is optional
    with pytest.raises(PLCObjectError, match="takes 2"):
        decode_arguments("Release", b"[]")
    with pytest.raises(PLCObjectError, match="not JSON"):
        decode_arguments("Force", b"\xff")
    assert decode_answer("GetForces", encode_answer([])) == []
