"""Plants linked to HQ on a simulated WAN (tests/wan.py): HQ and 3 plant network namespaces,
40 ms each way and 1 % emulated loss on every plant link, 30 runtimes per plant; HQ runs the
registry. Skipped where network namespaces cannot be created (not root)."""
import json
import os
import subprocess
import sys
import time

import pytest

from harness import DEMO_PROGRAM, wait_until
from ide_component import blocking
from plclink import local_setup
from wan import Wan, WanUnavailable, answers

pytestmark = pytest.mark.slow

try:
    from wan import check_available
    check_available()
    REASON = None
except WanUnavailable as error:
    REASON = str(error)


@pytest.fixture(scope="module")
def wan(tmp_path_factory):
    if REASON:
        pytest.skip(f"no simulated WAN here: {REASON}")
    built = Wan(tmp_path_factory.mktemp("wan")).build()
    try:
        built.start(registry=True)
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def hq(wan):
    client = wan.hq_client()
    wan.wait_linked(client)
    yield client
    client.close()


def fleet_cli(wan, *args):
    """``plclink fleet ...`` at HQ, as an operator runs it; (exit code, JSON answer)."""
    credentials = local_setup.write_ide_credentials(wan.hq_dir, wan.hq_url, "Automation")
    result = subprocess.run([sys.executable, "-m", "plclink.cli", "fleet", *args, "--json"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PLCLINK_CREDENTIALS": credentials})
    return result.returncode, json.loads(result.stdout or "null")


def registry_rows(client, plant):
    rows = client.call("plclink.registry.runtimes")
    return [row for row in rows if row["id"] in plant.ids]


def test_hq_sees_every_site_grouped_with_status(wan, hq):
    everyone = [plc_id for plant in wan.plants for plc_id in plant.ids]
    code, status = fleet_cli(wan, "status")
    assert code == 0
    assert sorted(item["id"] for item in status) == sorted(everyone)
    assert {item["site"] for item in status if item["id"] in wan.plants[1].ids} == {"p2"}
    assert all(item["ok"] and item["status"] == "Empty" for item in status)
    # the registry's table (retained events do not cross: it asked each runtime as its link
    # appeared) and the one-call-per-runtime path agree
    wait_until(lambda: all(len(registry_rows(hq, plant)) == len(plant.ids) for plant in wan.plants),
               60, message="the registry knows every plant runtime")
    code, listed = fleet_cli(wan, "list")
    code_each, asked = fleet_cli(wan, "list", "--ask-each")
    assert code == code_each == 0
    for answer in (listed, asked):
        assert {item["id"]: item["site"] for item in answer} == {
            plc_id: plant.name for plant in wan.plants for plc_id in plant.ids}


def test_hq_deploys_to_a_plant(wan, hq):
    plant = wan.plants[0]
    with blocking.open_fleet(wan.hq_url, "Automation", wan.credentials()) as fleet:
        outcomes = fleet.deploy(plant.ids[:10], DEMO_PROGRAM, start=True)
    assert [o.plc_id for o in outcomes if not o.ok] == []
    md5 = outcomes[0].value.md5
    local = wan.plant_client(plant)   # the plant's own router says the same
    try:
        for plc_id in plant.ids[:10]:
            assert local.call(f"{plc_id}.GetPLCstatus")[0] == "Started"
            assert local.call(f"{plc_id}.MatchMD5", md5) is True
    finally:
        local.close()
    wait_until(lambda: all(row["md5"] == md5 and row["status"] == "Started"
                           for row in registry_rows(hq, plant)[:10]), 60,
               message="the registry heard the plant's new status over the link")


def test_link_cut_and_restore(wan, hq):
    plant = wan.plants[1]
    local = wan.plant_client(plant)
    try:
        wan.cut(plant)
        cut_at = time.time()
        wait_until(lambda: not answers(hq, plant.ids[0]), 60, interval=1,
                   message="HQ to find the cut plant's runtimes unreachable")
        wait_until(lambda: all(not row["online"] for row in registry_rows(hq, plant)), 60,
                   interval=1, message="the registry to mark the cut plant offline")
        code, status = fleet_cli(wan, "status", "--ask-each", "--ids", ",".join(plant.ids[:3]))
        assert code == 5 and {item["result"] for item in status} == {"unreachable"}  # Disconnected
        # the plant goes on by itself meanwhile
        assert all(local.call(f"{plc_id}.GetPLCstatus")[0] == "Empty" for plc_id in plant.ids)
        assert all(answers(hq, plc_id) for plc_id in wan.plants[2].ids)
        wan.restore(plant)
        wan.wait_linked(hq, [plant], timeout=120)
        wait_until(lambda: all(row["online"] for row in registry_rows(hq, plant)), 60,
                   message="the registry to see the plant back")
    finally:
        wan.restore(plant)
        local.close()
    # the gap stands in the registry's history
    history = hq.call("plclink.registry.status_history", plant.ids[0])
    assert any(entry["status"] == "Disconnected" and entry["time"] >= cut_at - 1
               for entry in history), history


def test_plants_go_on_while_hq_is_down(wan, hq):
    wan.stop_hq()
    try:
        plant = wan.plants[2]
        with blocking.open_fleet(plant.url, "Automation", wan.credentials(plant.dir)) as fleet:
            outcomes = fleet.status()
            assert sorted(o.plc_id for o in outcomes) == plant.ids
            assert all(o.ok for o in outcomes)
            deployed = fleet.deploy(plant.ids[:2], DEMO_PROGRAM)
            assert all(o.ok for o in deployed)
    finally:
        wan.start_hq()
    client = wan.hq_client()
    try:   # nothing restarted but HQ: every plant's link returns by itself
        wan.wait_linked(client, timeout=120)
    finally:
        client.close()
