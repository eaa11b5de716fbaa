"""Take the README's screenshots of the web dashboard with headless Chromium.

Starts a real router and demo runtimes in a temporary directory (with the tests' harness, so
that every status colour is on show: Started, Stopped, Empty, Broken, Disconnected), logs in as
the operator, and writes docs/screenshots/*.png. Run through scripts/dashboard-screenshots.sh,
which sets up what this needs first.
"""
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from browser.chromium import Chromium  # noqa: E402
from browser.dashboard import log_in  # noqa: E402
from harness import Router  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
RAISING_PROGRAM = os.path.join(ROOT, "tests", "programs", "raises.py")
DESKTOP, PHONE = (1280, 800), (390, 844)


def start_fleet(router, state, children):
    """plc-01 Started, plc-02 Stopped, plc-03 Empty, plc-04 Broken, plc-05 Disconnected;
    the runtime processes go into children as they start."""
    def start(plc_id, **options):
        workdir = os.path.join(state, "work", plc_id)
        children.append(router.start_runtime(plc_id, workdir, **options))

    start("plc-01", autostart=True)
    start("plc-02")
    start("plc-03")
    start("plc-04", program=RAISING_PROGRAM, extras=(), autostart=True)
    start("plc-05")
    ide = router.client("ide")
    ide.call("plc-03.RepairPLC")
    ide.close()
    children.pop().stop()


def shoot(page, name):
    time.sleep(0.5)  # let the last events land and the chart draw
    page.screenshot(os.path.join(OUT, f"{name}.png"))
    print(f"wrote docs/screenshots/{name}.png")


def plc_view(page, web_url):
    page.goto(web_url + "#/plc/plc-01")
    page.wait_for("#vars-table tr[data-name=level]")
    page.click("#trace-button")
    for name in ("level", "setpoint"):
        page.set_checked(f"#vars-table tr[data-name={name}] input[type=checkbox]")
    page.wait_until("() => document.querySelector('#chart').dataset.samples > 300", timeout=20)


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plclink-screenshots-") as state:
        router = Router(os.path.join(state, "router")).start()
        children, browser = [], None
        try:
            start_fleet(router, state, children)
            browser = Chromium()
            web_url = f"http://127.0.0.1:{router.web_port}/"
            ticket = router.secret("operator")

            page = browser.new_page(*DESKTOP)
            page.goto(web_url)
            page.fill("#login-user", "operator")
            shoot(page, "login")
            page.close()

            page = log_in(browser, web_url, "operator", ticket, width=DESKTOP[0], height=DESKTOP[1])
            page.wait_for("#fleet-table tr[data-plc=plc-05] .status", "Disconnected")
            page.wait_for("#fleet-table tr[data-plc=plc-04] .status", "Broken")
            shoot(page, "fleet")
            plc_view(page, web_url)
            shoot(page, "plc")
            page.close()

            page = log_in(browser, web_url, "operator", ticket, width=PHONE[0], height=PHONE[1])
            page.wait_for("#fleet-table tr[data-plc=plc-04] .status", "Broken")
            shoot(page, "fleet-phone")
            plc_view(page, web_url)
            shoot(page, "plc-phone")
        finally:
            if browser is not None:
                browser.close()
            for child in children:
                child.stop()
            router.stop()


if __name__ == "__main__":
    main()
