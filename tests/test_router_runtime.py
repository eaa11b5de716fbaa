"""The runtime through the real router, as a client would call it."""
import hashlib
import json
import os
import signal
import time

import pytest
from autobahn.wamp.exception import ApplicationError

from harness import DEMO_CSV, DEMO_PROGRAM, next_event
from plc_protocol.methods import METHODS

pytestmark = pytest.mark.slow
PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def raw_transfer(client, plc_id, program: bytes, extras=(), chunk=4095):
    """The protocol's transfer done by hand, checking every returned running md5."""
    md5 = hashlib.md5(program).hexdigest()
    client.call(f"{plc_id}.PurgeBlobs")
    blobs = []
    for name, data in [*extras, (md5, program)]:
        digest = hashlib.md5(name.encode())
        blob = client.call(f"{plc_id}.SeedBlob", name.encode())
        assert blob == digest.digest()
        for start in range(0, len(data), chunk):
            digest.update(data[start:start + chunk])
            blob = client.call(f"{plc_id}.AppendChunkToBlob", data[start:start + chunk], blob)
            assert blob == digest.digest()
        blobs.append(blob)
    ok = client.call(f"{plc_id}.NewPLC", md5, blobs[-1],
                     [[name, blob] for (name, _), blob in zip(extras, blobs)])
    return md5, ok


@pytest.mark.parametrize("serializer", ["msgpack", "json", "cbor"])
def test_every_method_with_each_serializer(router, runtimes, serializer):
    runtimes.start("plc-01")
    client = router.client("ide", serializers=(serializer,))
    try:
        status, counts = client.call("plc-01.GetPLCstatus")
        assert status == "Stopped" and len(counts) == 4
        md5, ok = raw_transfer(client, "plc-01", read(os.path.join(PROGRAMS, "all_types.py")),
                               [("data.csv", b"speed,1\n")])
        assert ok is True
        assert client.call("plc-01.MatchMD5", md5) is True
        assert client.call("plc-01.MatchMD5", "0" * 32) is False
        assert client.call("plc-01.GetPLCID") == ["", ""]
        token = client.call("plc-01.SetTraceVariablesList", [[20, b""]])
        assert token > 0
        assert client.call("plc-01.StartPLC") is None
        time.sleep(0.2)
        status, samples = client.call("plc-01.GetTraceVariables", token)
        assert status == "Started" and samples and isinstance(samples[0][1], bytes)
        assert client.call("plc-01.StopPLC") is True
        counts = client.call("plc-01.GetPLCstatus")[1]
        message = client.call("plc-01.GetLogMessage", 2, counts[2] - 1)
        assert message[0] == "PLC stopped" and len(message) == 4
        assert client.call("plc-01.GetLogMessage", 2, 10**6) is None
        assert client.call("plc-01.ResetLogCount") is None
        assert client.call("plc-01.GetPLCstatus")[1] == [0, 0, 0, 0]
        variables = json.loads(client.call("plc-01.ExtendedCall", "GetVariables", b""))
        assert variables[0] == {"index": 0, "name": "b", "type": "BOOL"}
        assert client.call("plc-01.ExtendedCall", "GetVersions", b"").startswith(b"plclink")
        assert client.call("plc-01.RepairPLC") is None
        assert client.call("plc-01.GetPLCstatus")[0] == "Empty"
        blob = client.call("plc-01.SeedBlob", b"x")
        assert client.call("plc-01.PurgeBlobs") is None
        with pytest.raises(ApplicationError) as error:
            client.call("plc-01.AppendChunkToBlob", b"y", blob)
        assert error.value.error == "plclink.error.ENOENT"
        with pytest.raises(ApplicationError) as error:
            client.call("plc-01.MatchMD5", 5)
        assert error.value.error == "plclink.error.EINVAL"
        registered = client.call("wamp.registration.list")["exact"]
        names = {client.call("wamp.registration.get", rid)["uri"] for rid in registered}
        assert {f"plc-01.{m.name}" for m in METHODS} <= names
    finally:
        client.close()


def test_transfer_start_stop_and_status_events(router, runtimes, ide):
    runtimes.start("plc-02")
    events = ide.subscribe("plc-02.status")
    logs = ide.subscribe("plc-02.log")
    md5, ok = raw_transfer(ide, "plc-02", read(DEMO_PROGRAM), [("setpoint.csv", read(DEMO_CSV))])
    assert ok
    ide.call("plc-02.StartPLC")
    args, kwargs = next_event(events, lambda a, k: a[0] == "Started")
    assert kwargs["md5"] == md5 and kwargs["bridged"] is False
    next_event(logs, lambda a, k: a[2] == "tank controller started")
    ide.call("plc-02.StopPLC")
    next_event(events, lambda a, k: a[0] == "Stopped")


def test_retained_status_and_testament(router, runtimes, ide):
    from autobahn.wamp.types import SubscribeOptions
    child = runtimes.start("plc-03", autostart=True)
    time.sleep(0.5)
    late = ide.subscribe("plc-03.status", SubscribeOptions(get_retained=True))
    args, _ = next_event(late, timeout=3)
    assert args[0] == "Started"
    child.signal(signal.SIGKILL)
    started = time.monotonic()
    args, kwargs = next_event(late, lambda a, k: a[0] == "Disconnected", timeout=15)
    assert time.monotonic() - started < 15


def test_runtime_cannot_act_as_another_id(router):
    from autobahn.wamp.types import PublishOptions

    from ide_component import reactor_thread
    intruder = router.client("plc-04")
    try:
        with pytest.raises(ApplicationError) as error:
            reactor_thread.blocking(intruder.session.register, lambda: None, "plc-09.GetPLCstatus")
        assert error.value.error == "wamp.error.not_authorized"
        with pytest.raises(ApplicationError) as error:
            reactor_thread.blocking(intruder.session.publish, "plc-09.status", "Started",
                                    options=PublishOptions(acknowledge=True))
        assert error.value.error == "wamp.error.not_authorized"
        # its own prefix is fine, also right after a refusal (no shared authorization cache)
        reactor_thread.blocking(intruder.session.register, lambda: 1, "plc-04.Custom")
    finally:
        intruder.close()


def publish_refusal(client, topic, *args, retain=False):
    """The router's error code for a publish, None when accepted."""
    from autobahn.wamp.types import PublishOptions

    from ide_component import reactor_thread
    try:
        reactor_thread.blocking(client.session.publish, topic, *args,
                                options=PublishOptions(acknowledge=True, retain=retain))
    except ApplicationError as error:
        return error.error
    return None


def test_only_a_runtime_speaks_for_its_id(router, runtimes, ide):
    """An operator (ticket, role ide) cannot forge a runtime's retained status or its log,
    whether or not the ID is a principal, nor publish under a runtime's or bridged ID's prefix."""
    from autobahn.wamp.types import SubscribeOptions
    runtimes.start("plc-05", autostart=True)
    operator = router.client("operator")
    try:
        denied = "wamp.error.not_authorized"
        assert publish_refusal(operator, "plc-05.status", "Stopped", [0, 0, 0, 0], retain=True) \
            == denied
        assert publish_refusal(operator, "plc-05.log", 0, 1, "forged", 0, 0, 0) == denied
        assert publish_refusal(operator, "plc-05.anything") == denied
        assert publish_refusal(operator, "erpc-42.status", "Started", retain=True) == denied
        assert publish_refusal(operator, "erpc-42.note") == denied
        assert publish_refusal(operator, "nobody-yet.status", "Started", retain=True) == denied
        assert publish_refusal(operator, "nobody-yet.values", 1, b"") == denied
        assert publish_refusal(ide, "plc-05.status", "Stopped", retain=True) == denied
        assert publish_refusal(operator, "nobody-yet.note", "hello") is None
        assert publish_refusal(operator, "site.shift-change", "hello") is None
        # calling and subscribing stay open to the role; the retained status is the runtime's
        late = operator.subscribe("plc-05.status", SubscribeOptions(get_retained=True))
        assert next_event(late, timeout=3)[0][0] == "Started"
        assert operator.call("plc-05.GetPLCstatus")[0] == "Started"
    finally:
        operator.close()


def test_dev_router_lets_anonymous_clients_act_as_ide(tmp_path):
    from harness import BlockingClient, Router
    dev = Router(tmp_path).start(extra=("--dev",))
    anonymous = BlockingClient(dev.url, dev.realm, {})
    try:
        assert anonymous.call("wamp.session.count") >= 1
        anonymous.subscribe("plc-01.status")
        assert publish_refusal(anonymous, "site.note", "hello") is None
        assert publish_refusal(anonymous, "plc-01.status", "Started") == "wamp.error.not_authorized"
    finally:
        anonymous.close()
        dev.stop()


def test_anonymous_and_wrong_secret_refused(router):
    from harness import BlockingClient
    from plc_protocol.errors import PLCUnreachable
    with pytest.raises(PLCUnreachable):
        BlockingClient(router.url, router.realm, {})
    with pytest.raises(PLCUnreachable):
        BlockingClient(router.url, router.realm, {"authid": "ide", "secret": "wrong"})


def test_dashboard_is_read_only(router, runtimes):
    runtimes.start("plc-a")
    viewer = router.client("viewer")
    try:
        assert viewer.call("plc-a.GetPLCstatus")[0] == "Stopped"
        for method in ("StartPLC", "StopPLC", "RepairPLC", "GetPLCID", "PurgeBlobs"):
            with pytest.raises(ApplicationError) as error:
                viewer.call(f"plc-a.{method}")
            assert error.value.error == "wamp.error.not_authorized"
        viewer.subscribe("plc-a.status")
        viewer.subscribe("wamp.session.on_leave")
        tick, buffer = next_event(viewer.subscribe("plc-a.values"), timeout=3)[0]
        assert isinstance(buffer, bytes) and len(buffer) > 8
        with pytest.raises(ApplicationError):
            viewer.subscribe("elsewhere.topic")
    finally:
        viewer.close()
