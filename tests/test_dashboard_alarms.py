"""The alarm list as an operator works it, in a real headless Chromium against the real router,
runtimes and registry: priorities by word and shape (never colour alone) and most urgent first,
acknowledging with a comment and all shown at once, shelving with a reason, shelved alarms
listed apart, and every such action refused to a viewer by the router; times in ISO 8601 on a
24-hour clock with the zone said.

Runtime IDs plc-05 and plc-06 belong to this module while it runs.
"""
import os
import re
import time

import pytest

from browser.dashboard import direct_calls, log_in
from harness import ROOT
from registry_fixtures import registry_call, wait_for
from test_dashboard_registry import browser, registry  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.slow
RAISING_PROGRAM = os.path.join(ROOT, "tests", "programs", "raises.py")
TABLE = "#alarms-table tbody"


def test_priorities_shelving_and_ack_all_by_the_operator_not_by_a_viewer(
        browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-05", program=RAISING_PROGRAM, extras=(), autostart=True)
    runtimes.start("plc-06", autostart=True)
    wait_for(ide, "variables", lambda rows: rows, "plc-06")
    rule = registry_call(ide, "add_rule", "level >= 0 priority low", "plc-06")
    try:
        rows = wait_for(ide, "alarms", lambda rows: {"broken", "rule"} <= {r["kind"] for r in rows},
                        active=True, timeout=40)
        low = next(r for r in rows if r["kind"] == "rule" and r["id"] == "plc-06")
        broken = next(r for r in rows if r["kind"] == "broken" and r["id"] == "plc-05")
        low_row = f"{TABLE} tr[data-alarm='{low['alarm']}']"

        viewer = log_in(browser, web_url, "viewer", router.secret("viewer"))
        viewer.click("#alarms-link")
        viewer.wait_for(low_row, "Low")
        first = viewer.evaluate(f"() => document.querySelector('{TABLE} tr[data-plc]').dataset.alarm")
        assert first == str(broken["alarm"])                        # the most urgent first
        assert viewer.text(f"{TABLE} tr[data-alarm='{broken['alarm']}'] .priority") == "◆ Critical"
        assert viewer.count("#alarms-table button") == 0
        assert not viewer.evaluate("() => !document.querySelector('#alarms-ack-all').hidden")
        refused = direct_calls(viewer, "viewer", router.secret("viewer"), [
            ("plclink.registry.shelve", [low["alarm"], 60, "no"]),
            ("plclink.registry.ack_all", [])])
        assert refused == [{"error": "wamp.error.not_authorized"}] * 2
        # time: ISO 8601 date or a 24-hour clock, the full ISO time with its zone in the title
        text = viewer.text(f"{low_row} time")
        assert re.fullmatch(r"(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d", text), text
        title = viewer.evaluate(f'() => document.querySelector("{low_row} time").title')
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", title), title
        assert viewer.text(".topbar .time-zone").startswith("UTC")

        operator = log_in(browser, web_url, "operator", router.secret("operator"))
        operator.goto(web_url + "#/alarms")
        operator.click(f"{low_row} button", "Shelve…")
        operator.click("#confirm-ok")                               # a reason is needed
        operator.wait_for("#confirm-error", "Say why")
        operator.fill("#confirm-value", "level sensor being calibrated")
        operator.click("#confirm-ok")
        shelved_row = f"#shelved-table tr[data-alarm='{low['alarm']}']"
        operator.wait_for(shelved_row, "level sensor being calibrated")
        operator.wait_for(shelved_row, "Shelved by operator")
        assert operator.count(low_row) == 0
        viewer.wait_for("#alarms-shelved summary", "Shelved alarms")   # on every page
        operator.wait_for("#alarms-message", "shelved")
        assert wait_for(ide, "alarms", lambda rows: rows, shelved=True)[0]["shelved_by"] == "operator"
        operator.click(f"{shelved_row} button", "Unshelve")
        operator.wait_for(low_row, "Low")
        operator.wait_for("#alarms-message", "back on the list")

        operator.click("#alarms-ack-all")
        operator.wait_for("#confirm-text", f"{broken['alarm']} plc-05 broken (critical)")
        operator.fill("#confirm-value", "end of shift check")
        operator.click("#confirm-ok")
        operator.wait_for("#alarms-message", "acknowledged")
        operator.wait_for(f"{low_row} .ack", "end of shift check")
        acked = {r["alarm"]: r for r in registry_call(ide, "alarms", active=True)}
        assert acked[broken["alarm"]]["acked_by"] == "operator"
        for page in (viewer, operator):
            assert page.problems() == []
            page.close()
    finally:
        registry_call(ide, "remove_rule", rule["rule"])


def test_the_live_chart_is_on_wall_clock_time_with_bool_on_its_own_axis(
        browser, router, registry, runtimes):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-05", autostart=True)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.goto(web_url + "#/plc/plc-05")
    page.set_checked("#vars-table tr[data-name=level] input[type=checkbox]")
    page.set_checked("#vars-table tr[data-name=pump] input[type=checkbox]")
    page.wait_for("#chart canvas")
    page.wait_until("() => Number(document.querySelector('#chart').dataset.samples) >= 2")
    last = float(page.evaluate("() => document.querySelector('#chart').dataset.lastTime"))
    assert abs(last - time.time()) < 120          # seconds since the epoch, not a cycle tick
    assert re.search(r"last at \d\d:\d\d:\d\d \(tick \d+\)", page.text("#chart-caption"))
    scales = page.evaluate("() => document.querySelector('#chart').dataset.scales").split()
    assert {"bool", "num", "x"} <= set(scales)                   # BOOL on an axis of its own
    assert page.problems() == []
    page.close()


def test_the_fleet_is_sorted_by_severity_and_filtered(browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-06", autostart=True)
    runtimes.start("plc-05", program=RAISING_PROGRAM, extras=(), autostart=True)
    wait_for(ide, "runtime", lambda r: r["status"] == "Broken", "plc-05")
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for("#fleet-table tr[data-plc=plc-05] .status", "Broken")
    page.wait_for("#fleet-table tr[data-plc=plc-06] .status", "Started")
    order = page.evaluate("() => [...document.querySelectorAll('#fleet-table tr[data-plc]')]"
                          ".map((tr) => tr.dataset.plc)")
    assert order.index("plc-05") < order.index("plc-06")        # Broken before Started
    page.fill("#fleet-filter", "plc-06")
    page.wait_until("() => document.querySelectorAll('#fleet-table tr[data-plc]').length === 1")
    page.fill("#fleet-filter", "")
    page.evaluate("() => { const s = document.querySelector('#fleet-status'); s.value = 'Broken';"
                  " s.dispatchEvent(new Event('input')); }")
    page.wait_until("() => [...document.querySelectorAll('#fleet-table tr[data-plc]')]"
                    ".every((tr) => tr.dataset.plc === 'plc-05')")
    page.wait_for("#fleet-summary", "filtered from")
    assert page.problems() == []
    page.close()


def test_several_runtimes_stopped_after_one_confirmation_not_by_a_viewer(
        browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    for plc_id in ("plc-05", "plc-06"):
        runtimes.start(plc_id, autostart=True)
        wait_for(ide, "runtime", lambda r: r["status"] == "Started", plc_id)
    viewer = log_in(browser, web_url, "viewer", router.secret("viewer"))
    viewer.wait_for("#fleet-table tr[data-plc=plc-06] .status", "Started")
    assert viewer.count("#fleet-table .bulk-select") == 0
    assert viewer.count("#fleet-bulk:visible") == 0
    refused = direct_calls(viewer, "viewer", router.secret("viewer"), [("plc-06.StopPLC", [])])
    assert refused == [{"error": "wamp.error.not_authorized"}]

    operator = log_in(browser, web_url, "operator", router.secret("operator"))
    operator.wait_for("#fleet-table tr[data-plc=plc-06] .status", "Started")
    for plc_id in ("plc-05", "plc-06"):
        operator.set_checked(f"#fleet-table tr[data-plc={plc_id}] .bulk-select")
    operator.click("#fleet-bulk-stop")
    operator.wait_for("#confirm-text", "plc-05, plc-06")
    operator.click("#confirm-ok")
    operator.wait_for("#fleet-bulk-message", "done on plc-05, plc-06")
    for plc_id in ("plc-05", "plc-06"):
        operator.wait_for(f"#fleet-table tr[data-plc={plc_id}] .status", "Stopped")
    for page in (viewer, operator):
        assert page.problems() == []
        page.close()


def test_the_trend_marks_installs_compares_runtimes_and_exports_csv(browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-05", autostart=True)
    runtimes.start("plc-06", autostart=True)
    wait_for(ide, "variables", lambda rows: rows, "plc-05")
    wait_for(ide, "variables", lambda rows: rows, "plc-06")
    wait_for(ide, "trend", lambda t: len(t["series"]["level"]["points"]) >= 3, "plc-06",
             ["level"], time.time() - 60)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.goto(web_url + "#/plc/plc-06")
    page.set_checked("#trend-variables input[value=level]")
    # the install of its program is marked on the time axis
    page.wait_until("() => Number(document.querySelector('#trend-chart .uplot')?.dataset.markers) >= 1",
                    timeout=20)
    # the same variable of another runtime on the same chart
    page.fill("#trend-compare", "plc-05 plc-99")
    page.evaluate("() => document.querySelector('#trend-compare').dispatchEvent(new Event('change'))")
    page.wait_until("() => [...document.querySelectorAll('#trend-chart .u-legend .u-series')]"
                    ".some((item) => item.textContent.includes('plc-05:level'))", timeout=20)
    page.wait_for("#trend-caption", "No recorded history of these variables on plc-99")
    page.click("#trend-csv")
    page.wait_until("() => Number(document.querySelector('#trend-chart').dataset.csvRows) > 0")
    text = page.evaluate("async () => (await import('./js/trend_csv.js')).trendCsv("
                         "[{name: 'level', role: 'value'}, {name: 'level', role: 'max'}],"
                         " [[0, 60], [1.5, null], [2, 3]])")
    lines = text.split("\r\n")
    assert lines[0] == "time,level,level max"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d,1.5,2", lines[1]), lines
    assert lines[2].endswith(",,3")
    assert page.problems() == []
    page.close()


def test_the_audit_trail_is_paged(browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-06", autostart=True)
    wait_for(ide, "runtime", lambda r: r["status"] == "Started", "plc-06")
    for _ in range(7):
        ide.call("plc-06.StopPLC")
        ide.call("plc-06.StartPLC")
    wait_for(ide, "audit", lambda rows: len(rows) >= 14, id="plc-06")
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.goto(web_url + "#/plc/plc-06")
    page.wait_for("#audit-card .pager", "1–10 of")
    assert page.count("#audit-table tbody tr") == 10
    first = page.evaluate("() => document.querySelector('#audit-table tbody tr').dataset.audit")
    page.click("#audit-card .pager button", "Older")
    page.wait_for("#audit-card .pager", "11–")
    assert page.evaluate("() => document.querySelector('#audit-table tbody tr').dataset.audit") != first
    assert page.problems() == []
    page.close()
