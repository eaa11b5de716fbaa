"""The dashboard's views of the fleet's memory in a real headless Chromium: the real router,
real runtimes and a real ``plclink registry`` process (SQLite) on the realm.

Runtime IDs plc-05, plc-06, plc-07 and plc-09 belong to this module while it runs.
"""
import hashlib
import os
import re
import time

import pytest

from browser.chromium import Chromium
from browser.dashboard import direct_calls, log_in
from harness import DEMO_CSV, DEMO_PROGRAM, ROOT
from ide_component.blocking import connect
from registry_fixtures import RegistryProcess, registry_call, wait_for

pytestmark = pytest.mark.slow
RAISING_PROGRAM = os.path.join(ROOT, "tests", "programs", "raises.py")
ALL_TYPES_PROGRAM = os.path.join(ROOT, "tests", "programs", "all_types.py")


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def registry(router, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("registry")
    process = RegistryProcess(router, f"sqlite:///{workdir / 'registry.sqlite'}", workdir).start()
    yield process
    process.stop()


@pytest.fixture
def web_url(router):
    return f"http://127.0.0.1:{router.web_port}/"


def transfer(router, plc_id, program, *extras):
    """Install as the IDE library does, which also stores the set in the registry."""
    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{plc_id}"
    with connect(uri, credentials=router.credentials("ide")) as plc:
        assert not plc.transfer(program, list(extras)).skipped


def row(plc_id):
    return f"#fleet-table tr[data-plc={plc_id}]"


def no_problems(page):
    assert page.problems() == []


TREND_SPAN = ("() => { const d = document.querySelector('#trend-chart').dataset; "
              "return !d.loading && Math.round(Number(d.end) - Number(d.start)); }")


def choose_range(page, label, span):
    """Click a range preset; wait until the chart shows that span."""
    page.click("#trend-presets button", label)
    page.wait_until(f"(span) => ({TREND_SPAN})() === span", span)
    assert page.text("#trend-presets [aria-pressed=true]") == label


TREND_POINTS = "Number(document.querySelector('#trend-chart').dataset.points || 0)"


def test_offline_runtime_shows_when_it_was_last_seen_and_for_how_long(
        browser, web_url, router, registry, runtimes, ide):
    plc = runtimes.start("plc-05", autostart=True)
    wait_for(ide, "runtime", lambda r: r["status"] == "Started", "plc-05")
    plc.stop()
    gone = wait_for(ide, "runtime", lambda r: not r["online"], "plc-05")

    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{row('plc-05')} .status", "Disconnected")
    page.wait_for(row("plc-05"), "offline for")
    seen = time.strftime("%H:%M:%S", time.localtime(gone["last_seen"]))   # a 24-hour clock
    text = page.text(f"{row('plc-05')} td[data-label=Connection]")
    assert re.fullmatch(rf"last seen {re.escape(seen)}, offline for \d+ s", text), text
    assert page.count("#nav:visible") == 1    # the registry's views are offered

    page.click(f"{row('plc-05')} a")
    page.wait_for("#plc-summary", "offline for")
    no_problems(page)
    page.close()


def test_trend_shows_the_recorded_range_reacts_to_presets_zooms_and_tails_live(
        browser, web_url, router, registry, runtimes, ide):
    runtimes.start("plc-06", autostart=True)
    wait_for(ide, "variables", lambda rows: rows, "plc-06")
    wait_for(ide, "trend", lambda t: len(t["series"]["level"]["points"]) >= 6, "plc-06",
             ["level"], time.time() - 60, timeout=20)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.goto(web_url + "#/plc/plc-06")
    page.wait_for("#history-card #trend-chart canvas")
    # to begin with, the program's first number and first BOOL
    assert page.evaluate("() => [...document.querySelectorAll('#trend-variables input:checked')]"
                         ".map((box) => box.value)") == ["level", "pump"]
    first = page.wait_until(f"() => ({TREND_POINTS}) >= 6 && ({TREND_POINTS})")
    assert page.text("#trend-presets [aria-pressed=true]") == "15 min"
    assert page.evaluate(TREND_SPAN) == 900
    dataset = page.evaluate("() => ({...document.querySelector('#trend-chart').dataset})")
    assert dataset["source"] == "raw" and dataset["bucket"] == "0"
    # a BOOL and a number, on two y axes (left and right) under one time axis
    assert page.count("#trend-chart .u-axis") == 3
    page.wait_until(f"(first) => ({TREND_POINTS}) > first", first)   # the live tail
    ide.call("plc-06.StopPLC")   # frozen values are never drawn as live
    page.wait_for("#trend-caption", "live tail stale since")
    assert page.count("#trend-chart.stale") == 1
    ide.call("plc-06.StartPLC")
    page.wait_for("#trend-caption", "the last 15 min, live")

    choose_range(page, "24 h", 86400)
    # a day in at most 1000 points: each the min, mean and max of a bucket
    assert float(page.evaluate("() => document.querySelector('#trend-chart').dataset.bucket")) > 60
    assert page.wait_until(f"() => ({TREND_POINTS}) >= 1")
    page.wait_for("#trend-caption", "each the min, mean and max of")
    choose_range(page, "7 d", 604800)
    assert page.evaluate("() => document.querySelector('#trend-chart').dataset.source") == "minute"

    choose_range(page, "15 min", 900)
    page.drag("#trend-chart .u-over", 0.6, 0.999)   # the last few minutes
    page.wait_until("() => Number(document.querySelector('#trend-chart').dataset.end"
                    " - document.querySelector('#trend-chart').dataset.start) < 500")
    page.wait_for("#trend-caption", "zoomed to")
    assert page.count("#trend-presets [aria-pressed=true]") == 0
    assert page.wait_until(f"() => ({TREND_POINTS}) >= 1")

    page.set_checked("#trend-variables input[value=setpoint]")
    page.wait_until("() => [...document.querySelectorAll('#trend-chart .u-legend .u-series')]"
                    ".some((item) => item.textContent.includes('setpoint'))")
    no_problems(page)
    page.close()


def test_an_alarm_is_listed_and_acknowledged_by_the_operator_not_by_a_viewer(
        browser, web_url, router, registry, runtimes, ide):
    runtimes.start("plc-07", program=RAISING_PROGRAM, extras=(), autostart=True)
    # (an earlier test's plc-07 may have left a Disconnected alarm, cleared as this one joins)
    rows = wait_for(ide, "alarms", lambda rows: any(r["kind"] == "broken" for r in rows),
                    active=True, id="plc-07")
    alarm = next(row for row in rows if row["kind"] == "broken")
    selector = f"#alarms-table tr[data-alarm='{alarm['alarm']}']"

    viewer = log_in(browser, web_url, "viewer", router.secret("viewer"))
    viewer.click("#alarms-link")
    viewer.wait_for(selector, "Broken")
    viewer.wait_for(f"{selector} .ack", "not acknowledged")
    assert viewer.count("#alarms-table button") == 0
    refused = direct_calls(viewer, "viewer", router.secret("viewer"),
                           [("plclink.registry.ack", [alarm["alarm"]])])
    assert refused == [{"error": "wamp.error.not_authorized"}]

    operator = log_in(browser, web_url, "operator", router.secret("operator"))
    operator.goto(web_url + "#/alarms")
    operator.wait_for("#alarm-badge")
    operator.set_checked("#alarms-active")
    operator.wait_for(f"{selector} .priority", "Critical")   # a word, not a colour alone
    operator.click(f"{selector} button", "Acknowledge")
    operator.fill("#confirm-value", "restarted after the fix")
    operator.click("#confirm-ok")
    operator.wait_for(f"{selector} .ack", "operator")
    operator.wait_for(f"{selector} .ack", "restarted after the fix")
    acked = wait_for(ide, "alarms", lambda rows: any(
        r["alarm"] == alarm["alarm"] and r["acked_by"] for r in rows), id="plc-07")
    acked = next(r for r in acked if r["alarm"] == alarm["alarm"])
    assert acked["acked_by"] == "operator" and acked["acked_at"]
    assert acked["ack_comment"] == "restarted after the fix"
    viewer.wait_for(f"{selector} .ack", "operator")   # on_alarm reaches every page
    for page in (viewer, operator):
        no_problems(page)
        page.close()


def test_lineage_lists_installs_and_the_operator_rolls_back_to_the_first(
        browser, web_url, router, registry, runtimes, ide):
    runtimes.start("plc-09", program=None)
    wait_for(ide, "runtime", lambda r: r["status"] == "Empty", "plc-09")
    transfer(router, "plc-09", ALL_TYPES_PROGRAM)
    first = wait_for(ide, "lineage", lambda rows: rows, "plc-09")[0]["md5"]
    transfer(router, "plc-09", DEMO_PROGRAM, DEMO_CSV)
    lineage = wait_for(ide, "lineage", lambda rows: len(rows) >= 2 and rows[0]["md5"] != first,
                       "plc-09")
    second = lineage[0]["md5"]
    assert [row["name"] for row in lineage[:2]] == ["tank.py", "all_types.py"]
    assert ide.call("plc-09.MatchMD5", second) is True

    viewer = log_in(browser, web_url, "viewer", router.secret("viewer"))
    viewer.goto(web_url + "#/plc/plc-09")
    viewer.wait_for(f"#lineage-table tr[data-md5='{first}']", "ide")
    assert viewer.count("#lineage-table button", "Roll back") == 0   # Diff only reads
    # its name, not the file the suite adds to carry it; "installed" on the current one only
    current = f"#lineage-table tr[data-md5='{second}']"
    assert viewer.text(f"{current} td[data-label=Program] .program-name") == "tank.py"
    assert viewer.text(f"{current} td[data-label=Files]") == "setpoint.csv"
    assert viewer.count("#lineage-table tbody tr", "installed") == 1
    viewer.close()

    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.goto(web_url + "#/plc/plc-09")
    page.wait_for(f"#lineage-table tr.current[data-md5='{second}']", "installed")
    page.wait_for(f"#lineage-table tr[data-md5='{first}']", "ide")
    page.click(f"#lineage-table tr[data-md5='{second}'] button", "Diff")   # with the one before
    page.wait_for("#plc-message", f"{first[:12]} → {second[:12]}: ")
    assert "changed" in page.text("#plc-message") or "added" in page.text("#plc-message")
    page.click(f"#lineage-table tr[data-md5='{first}'] button", "Roll back")
    page.wait_for("#confirm-dialog", "Roll back plc-09?")
    page.click("#confirm-dialog button", "Cancel")
    assert ide.call("plc-09.MatchMD5", second) is True

    page.click(f"#lineage-table tr[data-md5='{first}'] button", "Roll back")
    page.click("#confirm-ok")
    page.wait_for("#plc-message", "Rolled back", timeout=30)
    assert ide.call("plc-09.MatchMD5", first) is True
    assert ide.call("plc-09.GetPLCstatus")[0] == "Stopped"
    page.wait_for(f"#lineage-table tr.current[data-md5='{first}']", "installed")
    # the audit panel reloads after a status change and every 15 s: the record may take one
    page.wait_for("#audit-table tr[data-method=NewPLC]", "operator (ide)", timeout=25)
    no_problems(page)
    page.close()


def test_audit_trail_shows_start_and_stop_by_the_operator(
        browser, web_url, router, registry, runtimes, ide):
    runtimes.start("plc-06", autostart=True)
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.goto(web_url + "#/plc/plc-06")
    page.wait_for("#plc-summary .status", "Started")
    for command, status in (("stop", "Stopped"), ("start", "Started")):
        page.click(f"[data-command={command}]")
        page.click("#confirm-ok")
        page.wait_for("#plc-summary .status", status)
    for method in ("StopPLC", "StartPLC"):
        page.wait_for(f"#audit-table tr[data-method={method}][data-result=ok]", "operator (ide)",
                      timeout=20)
    newest = page.evaluate("() => document.querySelector('#audit-table tbody tr').dataset.method")
    assert newest == "StartPLC"
    no_problems(page)
    page.close()


def test_the_page_computes_blob_ids_as_the_runtime_does(browser, web_url, registry):
    page = browser.new_page()
    page.goto(web_url)
    sizes = [0, 1, 55, 56, 63, 64, 65, 4095, 100000]
    digests = page.evaluate("""async (sizes) => {
        const { Md5, hex } = await import('./js/md5.js');
        return sizes.map((size) => {
            const data = Uint8Array.from({ length: size }, (_, n) => (n * 7 + 3) & 255);
            const running = new Md5().update(data.subarray(0, size >> 1));
            const half = hex(running.digest());
            return [half, hex(running.update(data.subarray(size >> 1)).digest())];
        });
    }""", sizes)
    for size, (half, whole) in zip(sizes, digests):
        data = bytes((n * 7 + 3) & 255 for n in range(size))
        assert half == hashlib.md5(data[:size >> 1]).hexdigest(), size
        assert whole == hashlib.md5(data).hexdigest(), size
    no_problems(page)
    page.close()


def test_history_views_fit_a_phone_screen(browser, web_url, router, registry, runtimes, ide):
    runtimes.start("plc-06", autostart=True)
    wait_for(ide, "variables", lambda rows: rows, "plc-06")
    page = log_in(browser, web_url, "operator", router.secret("operator"), width=390, height=844)
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
    page.goto(web_url + "#/plc/plc-06")
    page.wait_for("#trend-chart canvas")
    page.wait_for("#audit-card")
    assert page.evaluate(fits)
    page.goto(web_url + "#/alarms")
    page.wait_for("#alarms-view")
    assert page.evaluate(fits)
    page.close()


def test_without_a_registry_the_page_hides_its_views(browser, web_url, router, registry, runtimes):
    registry.stop()
    try:
        runtimes.start("plc-06", autostart=True)
        page = log_in(browser, web_url, "viewer", router.secret("viewer"))
        page.wait_for(f"{row('plc-06')} .status", "Started")
        assert page.count("#nav:visible") == 0
        page.click(f"{row('plc-06')} a")
        page.wait_for("#vars-table tr[data-name=level]")
        assert page.count("#history-card:visible") == 0
        registry.start()                       # it comes back: the page picks it up
        page.wait_for("#history-card #trend-chart canvas", timeout=20)
        assert page.count("#nav:visible") == 1
        page.click("#alarms-link")             # the time it was away is listed with the alarms
        page.wait_for("#gaps-list li", timeout=20)
        assert " to " in page.text("#gaps-list li") and "without records" in page.text(
            "#gaps-summary")
        no_problems(page)
        page.close()
    finally:
        if registry.child.process.poll() is not None:
            registry.start()
