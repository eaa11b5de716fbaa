"""The dashboard on a Beremiz eRPC runtime carried by the bridge (with its VARIABLES.csv): listed in
the fleet with its status, and traced by name, in a real headless Chromium."""
import pytest

from browser.chromium import Chromium
from browser.dashboard import log_in
from erpc_harness import VARIABLES_CSV, BeremizPeer, Bridge, OverRouter, routed_status, transfer
from harness import wait_until

pytestmark = pytest.mark.slow
PLC_ID = "erpc-bzd"
COUNT = "CONFIG.RESOURCE1.INSTANCE0.COUNT"
CHART_SAMPLES = "Number(document.querySelector('#chart').dataset.samples)"


@pytest.fixture(scope="module")
def bridged_peer(router, tmp_path_factory):
    peer = BeremizPeer(PLC_ID)
    bridge = Bridge(router, str(tmp_path_factory.mktemp("beremiz-dashboard")))
    bridge.write(**{PLC_ID: {"uri": peer.uri, "variables": VARIABLES_CSV}})
    ide = router.client("ide")
    try:
        bridge.start()
        plc = OverRouter(ide, PLC_ID)
        wait_until(lambda: routed_status(ide, PLC_ID) == "Empty", timeout=10,
                   message="the peer on the router")
        transfer(plc, b"any build", [])
        plc.StartPLC()
        yield plc
    finally:
        ide.close()
        bridge.stop()
        peer.stop()


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


def test_dashboard_lists_and_traces_a_bridged_beremiz_runtime(browser, router, bridged_peer):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.wait_for(f"#fleet-table tr[data-plc={PLC_ID}] .status", "Started")
    page.goto(web_url + f"#/plc/{PLC_ID}")
    row = f'#vars-table tr[data-name="{COUNT}"]'
    page.wait_for(row)
    page.click("#trace-button")
    page.set_checked(f"{row} input[type=checkbox]")
    samples = page.wait_until(f"() => ({CHART_SAMPLES}) > 5 && ({CHART_SAMPLES})")
    page.wait_until(f"(before) => ({CHART_SAMPLES}) > before", samples)
    assert int(page.text(f"{row} .value")) > 0
    assert page.problems() == []
    page.close()
