"""The dashboard rides out a router restart: it says so, rejoins by itself and goes on
following events. Its own router, so that the other tests keep theirs."""
import pytest

from browser.chromium import Chromium
from browser.dashboard import log_in
from harness import Router, wait_until

pytestmark = pytest.mark.slow


def test_page_rejoins_after_a_router_restart_and_follows_events_again(tmp_path):
    router = Router(tmp_path / "router").start()
    runtime = browser = None
    try:
        runtime = router.start_runtime("plc-03", tmp_path / "plc-03", autostart=True)
        browser = Chromium()
        web_url = f"http://127.0.0.1:{router.web_port}/"
        page = log_in(browser, web_url, "viewer", router.secret("viewer"))
        page.wait_for("tr[data-plc=plc-03] .status", "Started")

        router.kill()
        page.wait_for("#connection-state", "reconnecting", timeout=10)
        router.start()
        page.wait_for("#connection-state", "Connected", timeout=30)
        wait_until(lambda: sum("joined realm" in line for line in runtime.lines) == 2, timeout=30,
                   message="plc-03 to rejoin")
        ide = router.client("ide")
        ide.call("plc-03.StopPLC")
        ide.close()
        page.wait_for("tr[data-plc=plc-03] .status", "Stopped", timeout=5)
    finally:
        if browser is not None:
            browser.close()
        if runtime is not None:
            runtime.stop()
        router.kill()  # a throwaway router: its graceful stop after a restart takes 10 s
