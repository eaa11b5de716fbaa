"""The dashboard at headquarters (README, "Sites") in a real headless Chromium: an HQ router
with a registry and one runtime of its own, a plant router linked to it on 127.0.0.1 with one
runtime. Retained status events do not cross the link, so the page takes the plant runtime's
first status and its site from the registry; its changes cross to the page's exact
subscription; its page's calls cross the link. A lost link is one alarm that folds the
runtimes behind it (no Disconnected alarm of their own)."""
import os
import socket
import subprocess
import sys
import time

import pytest

from browser.chromium import Chromium
from browser.dashboard import log_in
from harness import Router, wait_until
from plclink import local_setup
from registry.alarms import GRACE
from registry_fixtures import RegistryProcess, registry_call
from router import sites

pytestmark = pytest.mark.slow

HQ_OWN, PLANT_OWN = "plc-01", "a-01"


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """(hq, plant): HQ's router, registry and plc-01 (Stopped); plant-a's router linked to
    HQ and a-01 (Started)."""
    root = tmp_path_factory.mktemp("sites")
    plant_dir, hq_dir = str(root / "plant-a"), str(root / "hq")
    local_setup.ensure_principals(plant_dir, [PLANT_OWN])
    sites.generate_node_key(plant_dir, "plant-a")
    local_setup.ensure_principals(hq_dir, [], linked_sites={"plant-a": ["a-*"]})
    hq, plant = Router(hq_dir), Router(plant_dir)
    started = []
    try:
        started.append(hq.start())
        started.append(plant.start(("--site", "plant-a", "--uplink", hq.url)))
        started.append(RegistryProcess(hq, f"sqlite:///{root / 'registry.sqlite'}",
                                       root).start())
        started.append(hq.start_runtime(HQ_OWN, root / HQ_OWN))
        started.append(plant.start_runtime(PLANT_OWN, root / PLANT_OWN, autostart=True))
        yield hq, plant
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


def remembered(hq, plc_id):
    """The registry's row of ``plc_id`` at HQ, or None."""
    client = hq.client()
    try:
        return next((row for row in registry_call(client, "runtimes") if row["id"] == plc_id), None)
    finally:
        client.close()


def active_alarm(hq, kind):
    """HQ's registry's active alarm of ``kind`` (a link's, or the plant runtime's), or None."""
    client = hq.client()
    try:
        return next((alarm for alarm in registry_call(client, "alarms", active=True)
                     if alarm["kind"] == kind and alarm["id"] in ("plant-a", PLANT_OWN)), None)
    finally:
        client.close()


def fleet_cli(hq, *args):
    """``plclink fleet ...`` at HQ, as an operator runs it; its exit code."""
    credentials = local_setup.write_ide_credentials(hq.state_dir, hq.url, hq.realm)
    return subprocess.run([sys.executable, "-m", "plclink.cli", "fleet", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PLCLINK_CREDENTIALS": credentials}).returncode


def bindable(port) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def fleet_rows(page):
    """The fleet table top to bottom: ("site", name) for a header, ("plc", ID) for a runtime."""
    return [tuple(item) for item in page.evaluate(
        "() => [...document.querySelectorAll('#fleet-table tbody tr')].map((tr) => "
        "tr.dataset.plc ? ['plc', tr.dataset.plc] : ['site', tr.dataset.site])")]


def test_hq_groups_runtimes_by_site_with_the_plant_status_and_its_changes(linked, browser):
    hq, plant = linked
    wait_until(lambda: (remembered(hq, PLANT_OWN) or {}).get("status") == "Started", 60,
               interval=0.5, message="HQ's registry to know the plant's runtime")
    assert remembered(hq, PLANT_OWN)["site"] == "plant-a"

    page = log_in(browser, f"http://127.0.0.1:{hq.web_port}/", "viewer", hq.secret("viewer"))
    page.wait_for("#fleet-table tr[data-plc=a-01] .status", "Started", timeout=20)
    page.wait_for("#fleet-table tr[data-plc=plc-01] .status", "Stopped")
    assert fleet_rows(page) == [("site", "here"), ("plc", HQ_OWN),
                                ("site", "plant-a"), ("plc", PLANT_OWN)]
    assert page.text("#fleet-table tr.site-header[data-site=plant-a]") == \
        "Site plant-a 1 runtime: 1 Started"
    assert page.text("#fleet-table tr[data-plc=a-01] td[data-label=Runtime] .note") == "native"
    page.wait_for("#fleet-summary", "2 runtimes: 1 Started, 1 Stopped on 2 sites")

    assert fleet_cli(hq, "stop", "--ids", PLANT_OWN) == 0     # a stop at HQ crosses the link
    page.wait_for("#fleet-table tr[data-plc=a-01] .status", "Stopped", timeout=20)
    page.wait_for("#fleet-table tr.site-header[data-site=plant-a]", "1 runtime: 1 Stopped")

    page.click("#fleet-table tr[data-plc=a-01] a")            # its page: calls cross the link
    page.wait_for("#plc-summary .status", "Stopped")
    page.wait_for("#vars-table tr[data-name=level]", timeout=20)
    page.wait_for("#log-list li", "PLC stopped", timeout=20)
    assert page.problems() == []
    page.close()


def test_one_router_shows_no_site_headers(linked, browser):
    _, plant = linked
    page = log_in(browser, f"http://127.0.0.1:{plant.web_port}/", "viewer",
                  plant.secret("viewer"))
    page.wait_for("#fleet-table tr[data-plc=a-01] .status")
    assert fleet_rows(page) == [("plc", PLANT_OWN)]
    assert page.text("#fleet-summary").startswith("1 runtime: ")
    assert page.problems() == []
    page.close()


def test_plant_out_of_reach_and_back_without_reloading_the_page(linked, browser):
    """The plant router dies (its link goes): HQ's page shows the runtime Disconnected, still
    under its site; the plant comes back: its status again, from the registry (no retained
    status crosses, and the page polls no linked runtime)."""
    hq, plant = linked
    wait_until(lambda: (remembered(hq, PLANT_OWN) or {}).get("online"), 60, interval=0.5,
               message="the plant runtime online at HQ")
    before = remembered(hq, PLANT_OWN)["status"]
    page = log_in(browser, f"http://127.0.0.1:{hq.web_port}/", "viewer", hq.secret("viewer"))
    page.wait_for("#fleet-table tr[data-plc=a-01] .status", before, timeout=20)
    plant.kill()
    try:
        page.wait_for("#fleet-table tr[data-plc=a-01] .status", "Disconnected", timeout=30)
        page.wait_for("#fleet-table tr.site-header[data-site=plant-a]", "1 Disconnected")
        assert fleet_rows(page)[2:] == [("site", "plant-a"), ("plc", PLANT_OWN)]
        # one alarm for the link, listing the runtime; none of the runtime's own (ISA-18.2)
        link = wait_until(lambda: active_alarm(hq, "link"), 30, message="the link's alarm")
        assert link["id"] == "plant-a" and f"({PLANT_OWN})" in link["detail"]
        page.click("#alarms-link")
        page.wait_for("#alarms-table tr[data-kind=link][data-plc=plant-a]", "Plant link lost")
        time.sleep(GRACE + 1)   # past the start grace: an unfolded Disconnected would be up
        assert active_alarm(hq, "disconnected") is None
        assert page.count("#alarms-table tr[data-kind=disconnected]") == 0
        page.click("#nav a", "Fleet")
    finally:   # a killed router's worker may hold its ports a moment longer
        ports = (plant.ws_port, plant.rawsocket_port, plant.web_port)
        wait_until(lambda: all(map(bindable, ports)), 30, interval=0.2,
                   message="the killed plant router's ports free")
        plant.start(("--site", "plant-a", "--uplink", hq.url))
    page.wait_for("#fleet-table tr[data-plc=a-01] .status", before, timeout=60)
    page.wait_for("#fleet-table tr[data-plc=a-01] td[data-label=Connection]", "since")
    wait_until(lambda: active_alarm(hq, "link") is None, 30, message="the link's alarm cleared")
    assert page.problems() == []
    page.close()
