"""The dashboard with a runtime that publishes no status (tests/beremiz_wamp_peer.py, as
Beremiz's own WAMP runtime): its real status from GetPLCstatus, when first seen and on a slow
schedule, at once after a command, and Disconnected when its session drops.
Runtime ID plc-b belongs to this module."""
import re
import signal
import time

import pytest

from beremiz_wamp_peer import calls, start_peer
from browser.dashboard import log_in
from browser.fixtures import browser, web_url  # noqa: F401
from harness import DEMO_CSV, DEMO_PROGRAM, free_port
from ide_component.blocking import connect
from erpc_harness import Bridge

pytestmark = pytest.mark.slow
PEER = "plc-b"
ROW = f"#fleet-table tr[data-plc={PEER}]"
POLL_INTERVAL = 10   # s, fleet.js POLL_INTERVAL_MS


@pytest.fixture
def peer(router):
    child = start_peer(router, PEER)
    yield child
    child.stop()


def test_fleet_shows_the_polled_status_and_the_drop(browser, web_url, router, peer, ide):
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{ROW} .status", "Empty", timeout=5)
    assert page.text(f"{ROW} .note") == "no status events: polled"
    assert page.text(f"{ROW} .md5") == "unknown"
    assert page.text(f"{ROW} .scan") == "—"          # no scan timing from Beremiz: said why
    assert page.evaluate(f"() => document.querySelector('{ROW} .scan').title") == \
        "Beremiz's own runtime reports no scan timing"
    # Asked once when first seen, then on a slow schedule: no second call this soon.
    time.sleep(POLL_INTERVAL / 2)
    assert calls(peer, "GetPLCstatus") == 1

    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{PEER}"
    with connect(uri, credentials=router.credentials("ide")) as plc:
        plc.transfer(DEMO_PROGRAM, [DEMO_CSV])
    page.wait_for(f"{ROW} .status", "Stopped", timeout=POLL_INTERVAL + 5)
    assert page.text(f"{ROW} .count[data-level=INFO]") != "I 0"

    peer.signal(signal.SIGKILL)
    page.wait_for(f"{ROW} .status", "Disconnected", timeout=10)
    assert re.match(r"\d+ runtimes?: ", page.text("#fleet-summary"))
    assert page.problems() == []
    page.close()


def test_operator_start_shows_at_once_with_the_log(browser, web_url, router, peer):
    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{PEER}"
    with connect(uri, credentials=router.credentials("ide")) as plc:
        plc.transfer(DEMO_PROGRAM, [DEMO_CSV])
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.wait_for(f"{ROW} .status", "Stopped", timeout=5)
    page.click(f"{ROW} a")
    page.wait_for("#plc-summary", "no status events: polled")
    page.click("[data-command=start]")
    page.click("#confirm-ok")
    page.wait_for("#plc-summary .status", "Started", timeout=3)
    page.wait_for("#log-list", "PLC started", timeout=5)
    assert page.problems() == []
    page.close()


def test_a_peer_taking_over_from_a_plclink_runtime_shows_its_own_status(browser, web_url, router,
                                                                        runtimes):
    """The retained Disconnected left by the plclink runtime that had the ID is not the peer's."""
    runtimes.start(PEER, program=None).stop()
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{ROW} .status", "Disconnected", timeout=5)
    peer = start_peer(router, PEER)
    try:
        page.wait_for(f"{ROW} .status", "Empty", timeout=5)
        assert page.text(f"{ROW} .note") == "no status events: polled"
        opened_later = log_in(browser, web_url, "viewer", router.secret("viewer"))
        opened_later.wait_for(f"{ROW} .status", "Empty", timeout=5)
        opened_later.close()
    finally:
        peer.stop()
    page.wait_for(f"{ROW} .status", "Disconnected", timeout=5)
    assert page.problems() == []
    page.close()

def test_a_bridged_runtime_the_bridge_cannot_reach_stays_disconnected(browser, web_url, router,
                                                                      tmp_path):
    """The bridge holds the registrations of an eRPC runtime it cannot reach and publishes its
    retained Disconnected: that one is the truth, not a stale testament to poll past."""
    bridge = Bridge(router, str(tmp_path))
    bridge.write(**{"erpc-d1": {"uri": f"ERPC://127.0.0.1:{free_port()}", "poll_interval": 0.2}})
    bridge.start()
    try:
        page = log_in(browser, web_url, "viewer", router.secret("viewer"))
        row = "#fleet-table tr[data-plc=erpc-d1]"
        page.wait_for(f"{row} .status", "Disconnected", timeout=5)
        assert page.text(f"{row} .note").startswith("bridged")
        assert page.evaluate(f"() => document.querySelector('{row} .scan').title").startswith(
            "bridged: the upstream Beremiz runtime")
        time.sleep(2)   # past the grace after which a runtime without events is asked
        assert page.text(f"{row} .status") == "Disconnected"
        assert page.problems() == []
        page.close()
    finally:
        bridge.stop()
