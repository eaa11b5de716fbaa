"""Screens a shift works from, in a real headless Chromium against the real router, runtimes
and registry: the fleet's program names and scan health (and search by program name), the
runtime page above the fold of a 1920×1080 screen, units on the trend's axis, and a failed
notification on the alarm list.

Runtime IDs plc-05 and plc-06 belong to this module while it runs.
"""
import os
import re

import pytest

from browser.dashboard import log_in
from harness import DEMO_CSV, ROOT
from registry_fixtures import registry_call, wait_for
from test_dashboard_registry import browser, registry  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.slow
SLOW_PROGRAM = os.path.join(ROOT, "tests", "programs", "slow_cycles.py")
SCAN_WAIT = 20      # <ID>.scan comes every 5 s while Started


def row(plc_id):
    return f"#fleet-table tr[data-plc={plc_id}]"


def test_the_fleet_shows_program_names_and_scan_health_and_finds_by_program_name(
        browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-05", autostart=True)
    runtimes.start("plc-06", program=SLOW_PROGRAM, extras=(), autostart=True)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{row('plc-05')} td[data-label=Program]", "tank.py")
    assert page.count(f"{row('plc-05')} td[data-label=Program] .md5") == 1
    page.wait_for(f"{row('plc-06')} td[data-label=Program]", "slow_cycles.py")
    # a healthy scan: the figures, no warning
    page.wait_for(f"{row('plc-05')} .scan", "period 10 ms", timeout=SCAN_WAIT)
    text = page.text(f"{row('plc-05')} .scan")
    assert re.fullmatch(r"p99 [\d.]+ ms / period 10 ms, \d+ overruns?", text), text
    # cycles longer than their period: a warning by a sign and a word, not colour alone
    page.wait_for(f"{row('plc-06')} .scan.scan-warn", "⚠ late", timeout=SCAN_WAIT)
    assert "overrun" in page.evaluate(f"() => document.querySelector('{row('plc-06')} .scan').title")
    # the registry keeps the same figures for `plclink fleet list`
    scan = wait_for(ide, "runtime", lambda r: r["scan"] and r["scan"]["overruns_added"] > 0,
                    "plc-06", timeout=SCAN_WAIT)["scan"]
    assert scan["period_ms"] == 10 and scan["overruns"] >= scan["overruns_added"]
    # search by program name, whatever the case, as well as by ID
    page.fill("#fleet-filter", "SLOW_cycles")
    page.wait_until("() => [...document.querySelectorAll('#fleet-table tr[data-plc]')]"
                    ".map((tr) => tr.dataset.plc).join() === 'plc-06'")
    page.fill("#fleet-filter", "plc-05")
    page.wait_until("() => [...document.querySelectorAll('#fleet-table tr[data-plc]')]"
                    ".map((tr) => tr.dataset.plc).join() === 'plc-05'")
    page.fill("#fleet-filter", "")
    # not cycling: no figure, and the tooltip says why
    ide.call("plc-05.StopPLC")
    page.wait_for(f"{row('plc-05')} .scan", "—")
    assert page.evaluate(f"() => document.querySelector('{row('plc-05')} .scan').title") == \
        "not cycling: the PLC is Stopped"
    assert page.problems() == []
    page.close()


def test_the_runtime_page_shows_status_forces_alarms_and_values_above_the_fold_at_1080p(
        browser, router, registry, runtimes, ide):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    runtimes.start("plc-06", autostart=True)
    wait_for(ide, "variables", lambda rows: any(r["name"] == "level" for r in rows), "plc-06")
    rule = registry_call(ide, "add_rule", "level >= 0 priority high", "plc-06")
    operator = router.client("operator")
    try:
        alarm = wait_for(ide, "alarms", lambda rows: [r for r in rows if r["id"] == "plc-06"],
                         active=True, timeout=30)[0]
        operator.call("plc-06.Force", [{"index": 5, "value": True}])
        # the operator's page: with every variable's force and write buttons
        page = log_in(browser, web_url, "operator", router.secret("operator"), width=1920,
                      height=1080)
        page.goto(web_url + "#/plc/plc-06")
        page.wait_for("#force-banner", "1 variable forced")
        page.wait_for(f"#plc-alarm-list li[data-alarm='{alarm['alarm']}']", "High")
        page.wait_for("#plc-summary .status", "Started")
        page.wait_for("#vars-table tr[data-name=state] button", "Force")
        page.wait_until("() => [...document.querySelectorAll('#vars-table td.value')]"
                        ".every((td) => td.textContent.trim() !== '')")
        boxes = page.evaluate("""() => Object.fromEntries(
            ['#plc-summary', '#force-banner', '#plc-alarms', '#vars-table'].map((selector) => {
                const box = document.querySelector(selector).getBoundingClientRect();
                return [selector, [box.top, box.bottom, box.left, box.right]];
            }))""")
        assert page.evaluate("() => [window.scrollY, window.innerWidth, window.innerHeight]") == \
            [0, 1920, 1080]
        for selector, (top, bottom, left, right) in boxes.items():
            assert 0 <= top < bottom <= 1080, (selector, top, bottom)
            assert 0 <= left < right <= 1920, (selector, left, right)
        assert page.problems() == []
        page.close()
    finally:
        operator.call("plc-06.Release", None)
        operator.close()
        registry_call(ide, "remove_rule", rule["rule"])


def test_the_trend_axis_and_legend_carry_the_units_beside_the_program(
        browser, router, registry, runtimes, ide, tmp_path):
    web_url = f"http://127.0.0.1:{router.web_port}/"
    units = tmp_path / "units.csv"
    units.write_text("variable,unit\nlevel,%\n")
    runtimes.start("plc-05", extras=(DEMO_CSV, str(units)), autostart=True)
    wait_for(ide, "variables", lambda rows: any(r.get("unit") == "%" for r in rows), "plc-05",
             timeout=30)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.goto(web_url + "#/plc/plc-05")
    page.set_checked("#trend-variables input[value=level]")
    page.wait_until("() => [...document.querySelectorAll('#trend-chart .u-legend .u-series')]"
                    ".some((item) => item.textContent.includes('level [%]'))", timeout=20)
    assert page.problems() == []
    page.close()
