"""The dashboard with a runtime that publishes no status (tests/beremiz_wamp_peer.py, as
Beremiz's own WAMP runtime): its real status from GetPLCstatus, when first seen and on a slow
schedule, at once after a command, and Disconnected when its session drops.
Runtime ID plc-b belongs to this module."""
import signal

import pytest

from beremiz_wamp_peer import start_peer
from browser.chromium import Chromium
from browser.dashboard import log_in
from harness import DEMO_CSV, DEMO_PROGRAM
from ide_component.blocking import connect

pytestmark = pytest.mark.slow
PEER = "plc-b"
ROW = f"#fleet-table tr[data-plc={PEER}]"
POLL_INTERVAL = 10   # s, fleet.js POLL_INTERVAL_MS


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


@pytest.fixture
def peer(router):
    child = start_peer(router, PEER)
    yield child
    child.stop()


@pytest.fixture
def web_url(router):
    return f"http://127.0.0.1:{router.web_port}/"


def test_fleet_shows_the_polled_status_and_the_drop(browser, web_url, router, peer, ide):
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{ROW} .status", "Empty", timeout=5)
    assert page.text(f"{ROW} .note") == "no status events: polled"
    assert page.text(f"{ROW} .md5") == "unknown"

    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{PEER}"
    with connect(uri, credentials=router.credentials("ide")) as plc:
        plc.transfer(DEMO_PROGRAM, [DEMO_CSV])
    page.wait_for(f"{ROW} .status", "Stopped", timeout=POLL_INTERVAL + 5)
    assert page.text(f"{ROW} .count[data-level=INFO]") != "I 0"

    peer.signal(signal.SIGKILL)
    page.wait_for(f"{ROW} .status", "Disconnected", timeout=10)
    assert page.text("#fleet-summary").startswith(
        tuple(f"{n} runtime" for n in range(1, 12)))
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
