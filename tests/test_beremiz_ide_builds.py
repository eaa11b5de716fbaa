"""Beremiz IDE builds through the whole suite: ``plclink transfer`` / ``fleet deploy`` of a
build/ directory to real runtime processes, debugging by name, and the Beremiz IDE's own call
shapes against our runtime: over WAMP (orders with None for "not forced") and over eRPC (bytes),
and the same transfer through the bridge to a Beremiz runtime."""
import json
import shutil

import pytest

from beremiz_test_build import PREFIX, make_build
from erpc_harness import BeremizPeer, Bridge, ErpcRuntime, erpc_client
from harness import wait_until
from ide_component.blob_plan import read_transfer
from ide_fixtures import cli, ide_credentials  # noqa: F401
from plc_protocol import iec_types

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("gcc") is None,
                                 reason="gcc missing: scripts/setup-system.sh installs it")]
COUNTER, LABEL, RESET = 1, 8, 0


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return make_build(str(tmp_path_factory.mktemp("beremiz-ide")))


def decode(samples, types):
    return [(tick, iec_types.decode_sample(types, bytes(data))) for tick, data in samples]


def test_cli_transfer_vars_trace_force_and_the_beremiz_ide_over_wamp(cli, runtimes, build, ide):
    runtimes.start("plc-07", program=None)
    md5 = read_transfer(build).md5
    code, result, err = cli.json("transfer", "--id", "plc-07", build, "--start")
    assert code == 0 and result["md5"] == md5 and result["status"] == "Started", err
    assert cli.json("transfer", "--id", "plc-07", build)[1]["skipped"]   # MatchMD5: same build

    code, table, err = cli.json("vars", "--id", "plc-07")
    assert code == 0, err
    assert table[COUNTER] == {"index": COUNTER, "name": PREFIX + "COUNTER", "type": "DINT"}
    done = cli.run("trace", "--id", "plc-07", PREFIX + "COUNTER", PREFIX + "LABEL", "--count", "3",
                   "--json")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and len(rows) == 3, done.stderr
    assert all(row["values"][PREFIX + "LABEL"] == "hello" for row in rows), rows
    code, forced, err = cli.json("force", "--id", "plc-07", PREFIX + "COUNTER=777")
    assert code == 0 and forced["values"][PREFIX + "COUNTER"] == 777, (forced, err)
    assert cli.run("release", "--id", "plc-07", "--all").returncode == 0

    # The Beremiz IDE's WAMP connector: eRPC argument shapes, None for "not forced".
    assert ide.call("plc-07.MatchMD5", md5) is True
    forced = iec_types.encode("STRING", "by IDE", for_force=True)
    token = ide.call("plc-07.SetTraceVariablesList", [[COUNTER, None], [LABEL, forced]])
    assert token > 0

    def samples():
        status, got = ide.call("plc-07.GetTraceVariables", token)
        assert status == "Started"
        return [values for _, values in decode(got, ["DINT", "STRING"]) if values[1] == "by IDE"]
    values = wait_until(samples, message="forced samples over WAMP")
    assert values[-1][0] > 0
    assert ide.call("plc-07.SetTraceVariablesList", []) is not None
    status, counts = ide.call("plc-07.GetPLCstatus")
    assert status == "Started"
    infos = [ide.call("plc-07.GetLogMessage", 2, index)[0] for index in range(counts[2])]
    assert f"test PLC starting, PLC_ID {md5}" in infos
    assert ide.call("plc-07.StopPLC") is True


def test_the_beremiz_ide_over_erpc(tmp_path, build):
    runtime = ErpcRuntime(tmp_path / "erpc-bz", plc_id="erpc-bz", program=build, extras=())
    client = erpc_client(runtime.uri)
    try:
        md5 = read_transfer(build).md5
        assert client.MatchMD5(md5) is True
        client.StartPLC()
        status, _ = client.GetPLCstatus()
        assert status.value == "Started"
        token = client.SetTraceVariablesList(
            [(COUNTER, b""), (RESET, iec_types.encode("BOOL", True, for_force=True))])
        assert token > 0

        def held():
            _, got = client.GetTraceVariables(token)
            return [values for _, values in decode(got, ["DINT", "BOOL"]) if values[1]]
        first = wait_until(held, message="RESET forced over eRPC")[-1][0]
        later = wait_until(held, message="more samples")[-1][0]
        assert later == first   # RESET holds COUNTER
        assert client.StopPLC() is True
    finally:
        client.close()
        runtime.stop()


def test_fleet_deploy_of_a_build(cli, runtimes, build):
    for plc_id in ("plc-08", "plc-09"):
        runtimes.start(plc_id, program=None)
    done = cli.run("fleet", "deploy", build, "--ids", "plc-08,plc-09", "--start")
    assert done.returncode == 0, done.stderr
    assert "2 runtimes: 2 deployed" in done.stdout
    for plc_id in ("plc-08", "plc-09"):
        assert cli.json("status", "--id", plc_id)[1]["status"] == "Started"
        assert cli.json("transfer", "--id", plc_id, build)[1]["skipped"]   # MatchMD5


def test_the_same_transfer_through_the_bridge_to_a_beremiz_runtime(cli, router, tmp_path, build):
    peer = BeremizPeer("erpc-bzlib")
    bridge = Bridge(router, str(tmp_path))
    bridge.write(**{"erpc-bzlib": {"uri": peer.uri}})
    try:
        bridge.start()
        wait_until(lambda: cli.run("status", "--id", "erpc-bzlib").returncode == 0,
                   message="the peer on the router")
        code, result, err = cli.json("transfer", "--id", "erpc-bzlib", build)
        assert code == 0 and not result["skipped"], err
        assert result["md5"] == read_transfer(build).md5
        assert cli.json("transfer", "--id", "erpc-bzlib", build)[1]["skipped"]
    finally:
        bridge.stop()
        peer.stop()
