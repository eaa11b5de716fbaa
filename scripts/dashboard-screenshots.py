"""Take the docs' screenshots of the web dashboard (docs/operator/web-dashboard.md) with
headless Chromium.

Starts a real router, a registry (SQLite) and demo runtimes in a temporary directory (with the
tests' harness, so that every status colour is on show: Started, Stopped, Empty, Broken,
Disconnected), installs two program versions on plc-01 so that it has a lineage, lets values
accumulate for a couple of minutes of history, logs in as the operator, and writes
docs/screenshots/*.png. Run through scripts/dashboard-screenshots.sh, which sets up what this
needs first.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from browser.chromium import Chromium  # noqa: E402
from browser.dashboard import log_in  # noqa: E402
from harness import DEMO_CSV, DEMO_PROGRAM, Router  # noqa: E402
from ide_component.blocking import connect  # noqa: E402
from registry_fixtures import RegistryProcess, rules_file  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
RAISING_PROGRAM = os.path.join(ROOT, "tests", "programs", "raises.py")
SLOW_PROGRAM = os.path.join(ROOT, "tests", "programs", "slow_cycles.py")
DESKTOP, PHONE, CONTROL_ROOM = (1280, 800), (390, 844), (1920, 1080)
HISTORY_S = 150     # of values recorded before the history is shot


def start_fleet(router, state, children):
    """plc-01 Started, plc-02 Stopped, plc-03 Empty, plc-04 Broken, plc-06 Started with cycles
    longer than its period (the scan warning), plc-05 Disconnected; the runtime processes go
    into children as they start."""
    def start(plc_id, **options):
        workdir = os.path.join(state, "work", plc_id)
        children.append(router.start_runtime(plc_id, workdir, **options))

    start("plc-01", autostart=True)
    start("plc-02")
    start("plc-03")
    start("plc-04", program=RAISING_PROGRAM, extras=(), autostart=True)
    start("plc-06", program=SLOW_PROGRAM, extras=(), autostart=True)
    start("plc-05")
    ide = router.client("ide")
    ide.call("plc-03.RepairPLC")
    ide.close()
    children.pop().stop()


def program_versions(router, state):
    """plc-01 gets two new setpoints: three installs in its lineage, each started by the
    operator (the audit trail)."""
    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#plc-01"
    with open(DEMO_CSV, encoding="utf-8") as source:
        original = source.read()
    operator = router.client("operator")
    with connect(uri, credentials=router.credentials("ide")) as plc:
        for setpoint in ("50", "55"):
            version = os.path.join(state, setpoint, "setpoint.csv")
            os.makedirs(os.path.dirname(version))
            with open(version, "w", encoding="utf-8") as target:
                target.write(original.replace("setpoint,60", f"setpoint,{setpoint}"))
            time.sleep(20)   # a stretch of history at each setpoint
            plc.transfer(DEMO_PROGRAM, [version])
            operator.call("plc-01.StartPLC")
    operator.close()


def force_manual(router):
    """The operator holds plc-01's `manual` TRUE: the fleet marker, the banner, the marked row."""
    operator = router.client("operator")
    operator.call("plc-01.Force", [{"index": 5, "value": True}])
    operator.close()


def shoot(page, name, selector=None, full_page=True):
    time.sleep(0.5)  # let the last events land and the chart draw
    page.screenshot(os.path.join(OUT, f"{name}.png"), full_page=full_page, selector=selector)
    print(f"wrote docs/screenshots/{name}.png")


def history_views(page, web_url, since):
    """The trend of plc-01 zoomed to what was recorded, its lineage and audit trail, alarms."""
    page.goto(web_url + "#/plc/plc-01")
    page.wait_for("#trend-chart canvas")
    page.set_checked("#trend-variables input[value=setpoint]")
    page.wait_until("() => !document.querySelector('#trend-chart').dataset.loading && [...document"
                    ".querySelectorAll('#trend-chart .u-legend .u-series')].some((series) => "
                    "series.textContent.includes('setpoint'))")
    recorded = (time.time() - since) / 900    # of the 15 min preset
    page.drag("#trend-chart .u-over", max(0.0, 1 - recorded), 0.999)
    page.wait_for("#trend-caption", "zoomed to")
    page.wait_for("#lineage-table tbody tr:nth-child(3)")
    page.wait_for("#audit-table tr[data-method=StartPLC]", "operator")
    shoot(page, "trend", "#history-card")
    shoot(page, "lineage", "#lineage-card")
    shoot(page, "audit", "#audit-card")


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
            rules = rules_file(Path(state, "rules.yaml"), ("plc-0*", "level > 63 for 1 s"))
            children.append(RegistryProcess(router, f"sqlite:///{state}/registry.sqlite", state,
                                            "--rules", rules).start())
            since = time.time()
            start_fleet(router, state, children)
            program_versions(router, state)
            force_manual(router)
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
            page.wait_for("#fleet-table tr[data-plc=plc-01] .scan", "period", timeout=20)
            page.wait_for("#fleet-table tr[data-plc=plc-06] .scan-warn", "late", timeout=20)
            shoot(page, "fleet")
            plc_view(page, web_url)
            shoot(page, "plc")
            time.sleep(max(0.0, since + HISTORY_S - time.time()))
            history_views(page, web_url, since)
            page.goto(web_url + "#/alarms")
            page.wait_for("#alarms-table tr[data-plc=plc-04]", "Broken")
            page.click("#alarms-table tr[data-plc=plc-04][data-kind=broken] button", "Acknowledge")
            page.fill("#confirm-value", "program fixed, restart planned")
            page.click("#confirm-ok")
            page.wait_for("#alarms-table tr[data-plc=plc-04][data-kind=broken] .ack", "operator")
            shoot(page, "alarms")
            page.close()

            # the control room's screen: status, forces, alarms and values above the fold
            page = log_in(browser, web_url, "operator", ticket, width=CONTROL_ROOM[0],
                          height=CONTROL_ROOM[1])
            plc_view(page, web_url)
            page.wait_for("#plc-alarms-note", "Alarm list")
            shoot(page, "plc-1080p", full_page=False)
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
