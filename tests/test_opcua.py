"""plclink opcua against a real router, with asyncua's own client (docs/opcua.md).

The runtime here is a WAMP session speaking the router contract of a plclink runtime
(force-model.md: ``<ID>.status`` retained with its testament, ``<ID>.values``, ExtendedCall
GetVariables, ``<ID>.Write`` applied once, ``<ID>.GetForces``), joined as the bridge principal,
so that the test controls exactly what the gateway sees.
"""
import asyncio
import datetime
import json
import os
import threading
import time

import pytest
import yaml
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, RegisterOptions
from twisted.internet import reactor

from harness import BlockingClient, free_port, wait_until
from ide_component import reactor_thread
from plc_protocol.iec_types import encode
from plc_protocol.opcua_types import from_opcua, opcua_type, to_opcua
from plc_protocol.wamp_conventions import TESTAMENT_PROCEDURE, procedure, topic
from plclink import local_setup
from plclink.processes import Child, plclink_command
from router import certificates

pytestmark = pytest.mark.slow
PLC = "erpc-ua1"
TABLE_A = [("level", "REAL"), ("pump", "BOOL"), ("count", "INT"), ("delay", "TIME"),
           ("label", "STRING")]
TABLE_B = [("level", "REAL"), ("speed", "DINT")]
NS = "urn:plclink:runtimes"
CLIENT_URI = "urn:example.org:FreeOpcUa:opcua-asyncio"   # asyncua's client default


class SimulatedRuntime:
    def __init__(self, router, plc_id, table, md5):
        self.router, self.plc_id = router, plc_id
        self.table, self.md5 = list(table), md5
        self.values = [_initial(type_) for _, type_ in table]
        self.writes = []
        self.writers = []       # who the router says made each write
        self.client = None
        self.running = threading.Event()

    def connect(self):
        self.client = BlockingClient(self.router.url, self.router.realm,
                                     self.router.credentials("bridge"))
        session = self.client.session
        for method, function in (("ExtendedCall", self.extended_call), ("Write", self.write),
                                 ("GetForces", lambda details=None: [])):
            reactor_thread.blocking(session.register, function, procedure(self.plc_id, method),
                                    options=RegisterOptions(details_arg="details"))
        self.client.call(TESTAMENT_PROCEDURE, topic(self.plc_id, "status"),
                         ["Disconnected", [0, 0, 0, 0]], {"md5": self.md5}, {"retain": True})
        self.publish_status("Started")
        self.running.set()
        threading.Thread(target=self._publish_loop, daemon=True).start()

    def disconnect(self):
        self.running.clear()
        self.client.close()

    def extended_call(self, method, argument, details=None):
        assert method == "GetVariables"
        return json.dumps([{"index": i, "name": n, "type": t}
                           for i, (n, t) in enumerate(self.table)]).encode()

    def write(self, orders, details=None):
        self.writers.append(getattr(details, "caller_authid", None))
        if any(self.table[o["index"]][0] == "count" and o["value"] < 0 for o in orders):
            raise ApplicationError("plclink.error.EINVAL", "Write: count must not be negative")
        self.writes.append(orders)
        for order in orders:
            self.values[order["index"]] = order["value"]
        return None

    def new_program(self, table, md5):
        self.table, self.md5 = list(table), md5
        self.values = [_initial(type_) for _, type_ in table]
        self.publish_status("Started")

    def publish_forces(self, entries):
        reactor.callFromThread(self.client.session.publish, topic(self.plc_id, "forces"),
                               entries, options=PublishOptions(retain=True))

    def publish_status(self, status):
        reactor.callFromThread(self.client.session.publish, topic(self.plc_id, "status"), status,
                               [0, 0, 0, 0], options=PublishOptions(retain=True), md5=self.md5)

    def _publish_loop(self):
        tick = 0
        while self.running.is_set():
            tick += 1
            buffer = b"".join(encode(t, v) for (_, t), v in zip(self.table, self.values))
            session = self.client.session
            reactor.callFromThread(session.publish, topic(self.plc_id, "values"), tick, buffer)
            time.sleep(0.1)


def _initial(type_):
    return {"BOOL": False, "STRING": "", "REAL": 1.5, "TIME": 2.0}.get(type_, 0)


def test_type_table_round_trips():
    assert opcua_type("INT") == ("Int16", "Int16")
    assert opcua_type("time") == ("Duration", "Double")
    assert to_opcua("TIME", 1.5) == 1500.0
    assert from_opcua("TIME", 1500.0) == 1.5
    moment = to_opcua("DT", 86400.0)
    assert moment == datetime.datetime(1970, 1, 2, tzinfo=datetime.timezone.utc)
    assert from_opcua("DT", moment) == 86400.0
    with pytest.raises(ValueError):
        from_opcua("INT", 40000)
    with pytest.raises(ValueError):
        from_opcua("DINT", True)


def test_refused_writes_map_to_status_codes():
    from opcua_gateway.writes import status_of_error
    for uri, name in (("plclink.error.EINVAL", "BadOutOfRange"),
                      ("plclink.error.unreachable", "BadNoCommunication"),
                      ("wamp.error.no_such_procedure", "BadNoCommunication"),
                      ("wamp.error.not_authorized", "BadUserAccessDenied"),
                      ("plclink.error.EIO", "BadCommunicationError")):
        assert ua.StatusCode(status_of_error(ApplicationError(uri))).name == name


@pytest.fixture
def gateway(router, tmp_path, request):
    """A running plclink opcua with two users (operator writes, viewer reads); indirect
    parameters replace its access options."""
    secret_file = local_setup.write_secret_file(router.state_dir, "opcua")
    (tmp_path / "operator.password").write_text("op-pass\n")
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump({"users": {
        "operator": {"role": "ide", "password_file": "operator.password"},
        "viewer": {"role": "dashboard", "password": "view-pass"}}}))
    port = free_port()
    access = [option.format(router_people=os.path.join(router.state_dir, "people.yaml"))
              for option in getattr(request, "param", ["--users", str(users)])]
    child = Child("opcua", plclink_command(
        "opcua", "--url", router.url, "--secret-file", secret_file, "--port", str(port),
        *access, "--tls-dir", str(tmp_path / "tls")), quiet=True)
    if not child.wait_for_line("OPC UA gateway joined", 60):
        child.stop()
        raise RuntimeError("gateway did not join:\n" + "".join(child.lines[-30:]))
    client_dir = tmp_path / "client"
    client_cert = certificates.ensure_opcua(str(client_dir), CLIENT_URI,
                                            ("localhost",))
    child.endpoint = f"opc.tcp://127.0.0.1:{port}/plclink"
    child.client_cert = client_cert
    child.server_cert = os.path.join(tmp_path, "tls", certificates.OPCUA_CERT)
    yield child
    child.stop()
    print("".join(child.lines[-40:]))   # shown when the test failed


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


async def connect(gateway, user=None, password=None) -> Client:
    client = Client(gateway.endpoint, timeout=10)
    await client.set_security(SecurityPolicyBasic256Sha256, certificate=gateway.client_cert[0],
                              private_key=gateway.client_cert[1],
                              server_certificate=gateway.server_cert,
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    if user is not None:
        client.set_user(user)
        client.set_password(password)
    await client.connect()
    return client


async def poll(function, predicate, timeout=30.0, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await function()
            if predicate(value):
                return value
        except ua.UaStatusCodeError:
            value = None
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}; last {value!r}")
        await asyncio.sleep(0.2)


async def node_at(client, idx, plc_id, name):
    return await client.nodes.objects.get_child([f"{idx}:{plc_id}", f"{idx}:{name}"])


async def first_node(client, plc_id, name, timeout=30.0):
    """(namespace index, node) of a runtime's variable, once the gateway shows it."""
    idx = await client.get_namespace_index(NS)
    node = await poll(lambda: node_at(client, idx, plc_id, name), bool, timeout=timeout,
                      message=f"{plc_id}'s nodes")
    return idx, node


class Changes:
    def __init__(self):
        self.queue = asyncio.Queue()

    def datachange_notification(self, node, value, data):
        self.queue.put_nowait((value, data.monitored_item.Value.StatusCode_))


def test_browse_read_subscribe_write(router, gateway):
    runtime = SimulatedRuntime(router, PLC, TABLE_A, "a" * 32)
    runtime.connect()

    async def scenario():
        client = await connect(gateway, "operator", "op-pass")
        try:
            idx, level = await first_node(client, PLC, "level")
            names = {(await child.read_browse_name()).Name
                     for child in await (await level.get_parent()).get_children()}
            assert names >= {"level", "pump", "count", "delay", "label", "PLC status",
                             "PLC program MD5", "PLC forces"}
            count = await node_at(client, idx, PLC, "count")
            assert await count.read_data_type_as_variant_type() == ua.VariantType.Int16
            delay = await node_at(client, idx, PLC, "delay")
            assert await poll(delay.read_value, lambda v: v == 2000.0) == 2000.0
            assert await (await node_at(client, idx, PLC, "PLC status")).read_value() == "Started"
            assert await (await node_at(client, idx, PLC, "PLC program MD5")).read_value() == "a" * 32

            changes = Changes()
            subscription = await client.create_subscription(50, changes)
            await subscription.subscribe_data_change(count)
            assert (await asyncio.wait_for(changes.queue.get(), 10))[0] == 0
            runtime.values[2] = 7           # the program changes the value
            value, _ = await asyncio.wait_for(changes.queue.get(), 10)
            assert value == 7

            await count.write_value(ua.DataValue(ua.Variant(42, ua.VariantType.Int16)))
            assert runtime.writes == [[{"index": 2, "value": 42}]]   # once, not a force
            value, _ = await asyncio.wait_for(changes.queue.get(), 10)
            assert value == 42
            with pytest.raises(ua.UaStatusCodeError):   # not a duration
                await delay.write_value(ua.DataValue(ua.Variant("x", ua.VariantType.String)))
            assert len(runtime.writes) == 1
            with pytest.raises(ua.uaerrors.BadOutOfRange):   # the runtime refuses it
                await count.write_value(ua.DataValue(ua.Variant(-1, ua.VariantType.Int16)))
            with pytest.raises(ua.UaStatusCodeError):   # read-only
                await (await node_at(client, idx, PLC, "PLC status")).write_value("Stopped")

            runtime.publish_forces([{"index": 1, "name": "pump", "type": "BOOL", "value": True,
                                     "raw": "01", "before": False, "by": "alice",
                                     "since": 1796200000.5}])
            forced = await (await node_at(client, idx, PLC, "pump")).get_child(
                [f"{idx}:Forced"])
            assert await poll(forced.read_value, bool, message="pump shown forced")
            table = await (await node_at(client, idx, PLC, "PLC forces")).read_value()
            assert json.loads(table)[0]["name"] == "pump"
            with pytest.raises(ua.UaStatusCodeError):   # forces are not made over OPC UA
                await forced.write_value(False)
        finally:
            await client.disconnect()

        viewer = await connect(gateway, "viewer", "view-pass")
        try:
            count = await node_at(viewer, idx, PLC, "count")
            assert await count.read_value() == 42
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await count.write_value(ua.DataValue(ua.Variant(1, ua.VariantType.Int16)))
            assert len(runtime.writes) == 1
        finally:
            await viewer.disconnect()
        for user, password in ((None, None), ("operator", "wrong")):
            with pytest.raises(Exception):
                refused = await connect(gateway, user, password)
                await refused.disconnect()
    try:
        run(scenario())
    finally:
        runtime.disconnect()


@pytest.mark.parametrize("gateway", [["--people", "{router_people}"]], indirect=True)
def test_people_write_over_opc_ua_as_themselves(router, gateway):
    """A person made by `plclink users` logs in with their own name and password; their write
    is made in their own router session: the router checks their scope and the runtime sees
    them as the writer. A viewer is refused; a person disabled meanwhile logs in no more."""
    from router.people import change_people
    people = os.path.join(router.state_dir, "people.yaml")
    change_people(people, "add", "ua-otto", role="operator", password="otto-pass-1",
                  runtimes=("erpc-ua4",))
    change_people(people, "add", "ua-vera", role="viewer", password="vera-pass-1")
    inside = SimulatedRuntime(router, "erpc-ua4", TABLE_B, "e" * 32)
    outside = SimulatedRuntime(router, "erpc-ua5", TABLE_B, "f" * 32)
    inside.connect()
    outside.connect()

    async def scenario():
        client = await connect(gateway, "ua-otto", "otto-pass-1")
        try:
            idx, speed = await first_node(client, "erpc-ua4", "speed")
            await speed.write_value(ua.DataValue(ua.Variant(5, ua.VariantType.Int32)))
            assert inside.writes == [[{"index": 1, "value": 5}]]
            assert inside.writers == ["ua-otto"]      # the person, not the gateway
            other = await poll(lambda: node_at(client, idx, "erpc-ua5", "speed"), bool,
                               message="the other runtime's nodes")
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):   # outside their scope
                await other.write_value(ua.DataValue(ua.Variant(5, ua.VariantType.Int32)))
            assert outside.writes == []
        finally:
            await client.disconnect()
        viewer = await connect(gateway, "ua-vera", "vera-pass-1")
        try:
            speed = await node_at(viewer, idx, "erpc-ua4", "speed")
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await speed.write_value(ua.DataValue(ua.Variant(6, ua.VariantType.Int32)))
            assert len(inside.writes) == 1
        finally:
            await viewer.disconnect()
        change_people(people, "disable", "ua-otto")
        with pytest.raises(Exception):
            await (await connect(gateway, "ua-otto", "otto-pass-1")).disconnect()
    try:
        run(scenario())
    finally:
        inside.disconnect()
        outside.disconnect()


@pytest.mark.parametrize("gateway", [["--anonymous-read"]], indirect=True)
def test_anonymous_read_only(router, gateway):
    runtime = SimulatedRuntime(router, "erpc-ua3", TABLE_B, "d" * 32)
    runtime.connect()

    async def scenario():
        client = await connect(gateway)   # no user name
        try:
            idx, speed = await first_node(client, "erpc-ua3", "speed")
            assert await poll(speed.read_value, lambda v: v == 0) == 0
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await speed.write_value(ua.DataValue(ua.Variant(5, ua.VariantType.Int32)))
            assert runtime.writes == []
        finally:
            await client.disconnect()
        with pytest.raises(Exception):   # no users file: nobody logs in by name
            await (await connect(gateway, "operator", "op-pass")).disconnect()
    try:
        run(scenario())
    finally:
        runtime.disconnect()


def test_runtime_leaves_comes_back_and_changes_program(router, gateway):
    runtime = SimulatedRuntime(router, "erpc-ua2", TABLE_A, "b" * 32)
    runtime.connect()

    async def quality(node):
        return (await node.read_data_value(raise_on_bad_status=False)).StatusCode_

    async def scenario():
        client = await connect(gateway, "viewer", "view-pass")
        try:
            idx, level = await first_node(client, "erpc-ua2", "level")
            changes = Changes()
            subscription = await client.create_subscription(50, changes)
            await subscription.subscribe_data_change(level)
            await poll(lambda: quality(level), lambda q: q.is_good(), message="Good values")

            runtime.disconnect()          # its testament says Disconnected
            await poll(lambda: quality(level), lambda q: q.is_bad(), message="Bad quality")
            status = await node_at(client, idx, "erpc-ua2", "PLC status")
            assert await status.read_value() == "Disconnected"
            assert await level.read_browse_name()   # still there for the SCADA

            runtime.connect()
            await poll(lambda: quality(level), lambda q: q.is_good(), message="Good again")

            runtime.new_program(TABLE_B, "c" * 32)   # other variables
            speed = await poll(lambda: node_at(client, idx, "erpc-ua2", "speed"), bool,
                               message="the new program's variable")
            assert await speed.read_data_type_as_variant_type() == ua.VariantType.Int32
            await poll(lambda: quality(level), lambda q: q.is_good(), message="level kept")
            with pytest.raises(ua.UaStatusCodeError):
                await (await node_at(client, idx, "erpc-ua2", "pump")).read_value()
            assert await poll(lambda: (await_value(client, idx)), lambda v: v == "c" * 32)
        finally:
            await client.disconnect()
    try:
        run(scenario())
    finally:
        runtime.disconnect()


async def await_value(client, idx):
    return await (await node_at(client, idx, "erpc-ua2", "PLC program MD5")).read_value()


def test_opcua_role_reads_and_writes_setpoints_only():
    from router.principals import Principal, may
    gateway = Principal("opcua", "opcua", secret="s")
    assert may(gateway, "plc-01.values", "subscribe")
    assert may(gateway, "plc-01.Write", "call") and may(gateway, "plc-01.GetForces", "call")
    assert may(gateway, "plc-01.ExtendedCall", "call")
    assert may(gateway, "plclink.registry.runtimes", "call")
    for uri, action in (("plc-01.StartPLC", "call"), ("plc-01.Force", "call"),
                        ("plc-01.NewPLC", "call"), ("plc-01.GetPLCstatus", "register"),
                        ("plc-01.status", "publish")):
        assert not may(gateway, uri, action), (uri, action)


def test_write_reaches_a_real_runtime_once(router, runtimes, gateway, ide):
    """End to end: a plclink runtime running the demo tank program; an OPC UA write of
    ``manual`` (which the program only reads) sets it through <ID>.Write, as a setpoint: the
    value changes, no force appears."""
    runtimes.start("plc-05", autostart=True)

    async def scenario():
        client = await connect(gateway, "operator", "op-pass")
        try:
            idx, manual = await first_node(client, "plc-05", "manual", timeout=60)
            level = await node_at(client, idx, "plc-05", "level")
            assert await level.read_data_type_as_variant_type() == ua.VariantType.Float
            await poll(lambda: level.read_data_value(raise_on_bad_status=False),
                       lambda dv: dv.StatusCode_.is_good(), message="Good values")
            assert await manual.read_value() is False
            await manual.write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
            assert await poll(manual.read_value, lambda v: v is True, message="manual set")
            forces = await node_at(client, idx, "plc-05", "PLC forces")
            assert json.loads(await forces.read_value() or "[]") == []
        finally:
            await client.disconnect()
    run(scenario())
    assert ide.call("plc-05.GetForces") == []


def test_users_file_maps_names_to_roles_and_is_reread(tmp_path):
    from opcua_gateway.users import UsersError, UsersFile
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": {"op": {"role": "ide", "password": "a"}}}))
    users = UsersFile(str(path), anonymous_read=False)
    assert users.login("op", "a").may_write() and users.login("op", "b") is None
    assert users.login(None, None) is None and users.login("nobody", "a") is None
    path.write_text(yaml.safe_dump({"users": {"op": {"role": "dashboard", "password": "a"},
                                              "x": {"role": "ide", "password": "c"}}}))
    assert not users.may_write("op") and users.may_write("x")
    assert UsersFile(None, anonymous_read=True).login(None, None).role == "dashboard"
    assert not UsersFile(None, anonymous_read=True).may_write(None)
    path.write_text("users: [op]")
    with pytest.raises(UsersError):
        UsersFile(str(path), anonymous_read=False)


def test_people_log_in_with_their_own_accounts(tmp_path):
    """The router's people file (plclink users) is the gateway's too: a viewer reads, an
    operator may write (its scope is the router's to check), a disabled person or a wrong
    password is refused, and a change to the file applies at the next write."""
    from opcua_gateway.users import UsersFile
    from router.people import change_people
    people = str(tmp_path / "people.yaml")
    change_people(people, "add", "vera", role="viewer", password="vera-pass-1")
    change_people(people, "add", "otto", role="operator", password="otto-pass-1",
                  runtimes=("plc-*",))
    change_people(people, "add", "sam", role="engineer", password="sam-pass-1",
                  sites=("plant-a",))
    machines = tmp_path / "users.yaml"
    machines.write_text(yaml.safe_dump({"users": {"otto": {"role": "ide", "password": "x"},
                                                  "hmi": {"role": "dashboard", "password": "h"}}}))
    users = UsersFile(None, anonymous_read=False, people_path=people)
    assert users.login("vera", "vera-pass-1") is not None
    assert not users.may_write("vera")
    assert users.login("vera", "wrong-pass") is None and users.login("nobody", "x") is None
    assert users.login("otto", "otto-pass-1").role == "operator"
    assert users.may_write("otto") and users.may_write("sam") and not users.may_write("vera")
    assert users.is_person("otto") and not users.is_person(None)
    change_people(people, "disable", "otto")
    assert not users.may_write("otto") and users.login("otto", "otto-pass-1") is None
    both = UsersFile(str(machines), anonymous_read=False, people_path=people)
    change_people(people, "enable", "otto")
    assert both.login("otto", "x") is None and both.login("otto", "otto-pass-1") is None
    assert both.login("hmi", "h").role == "dashboard" and not both.may_write("hmi")


def test_guessing_a_password_locks_the_name_out_for_a_while(tmp_path):
    """Five failed logins in a row refuse the name for five minutes even with the right
    password, as the router's throttle does; said once; a success ends the row."""
    from opcua_gateway.users import UsersFile
    from router.login_throttle import LoginThrottle
    from router.people import change_people
    people = str(tmp_path / "people.yaml")
    change_people(people, "add", "otto", role="operator", password="otto-pass-1")
    now = [1000.0]
    lockouts = []
    users = UsersFile(None, anonymous_read=False, people_path=people,
                      throttle=LoginThrottle(clock=lambda: now[0]),
                      on_lockout=lambda *said: lockouts.append(said))
    for _ in range(4):
        assert users.login("otto", "guess") is None
    assert users.login("otto", "otto-pass-1") is not None     # the row ends
    for _ in range(5):
        assert users.login("otto", "guess") is None
    assert lockouts == [("otto", 5, 300.0)]
    assert users.login("otto", "otto-pass-1") is None         # locked, whatever the password
    now[0] += 301
    assert users.login("otto", "otto-pass-1") is not None
