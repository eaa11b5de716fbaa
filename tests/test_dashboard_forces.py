"""Forces, writes, stale values and restarts on the dashboard (issue 17, docs/dashboard.md), in a
real headless Chromium against the real router and runtimes: what one person does to a PLC is
seen by everyone, and nothing frozen is shown as live.

Runtime IDs plc-01 and plc-02 belong to this module.
"""
import json

import pytest

from browser.dashboard import direct_calls, log_in
from browser.fixtures import browser, web_url  # noqa: F401
from harness import wait_until
from plc_protocol.iec_types import decode_sample

pytestmark = pytest.mark.slow
MANUAL = 5   # the demo tank's BOOL `manual`: the program never writes it
BREAKS = '''import os

VARIABLES = [("n", "INT", 0)]
MARK = {mark!r}


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 20 and os.path.exists(MARK):
        raise RuntimeError("valve V-12 feedback lost")
'''


def row(plc_id):
    return f"#fleet-table tr[data-plc={plc_id}]"


def manual_value(ide, plc_id):
    """``manual`` as the runtime samples it (its `<ID>.values` table order)."""
    table = json.loads(ide.call(f"{plc_id}.ExtendedCall", "GetVariables", b""))
    events = ide.subscribe(f"{plc_id}.values")
    args, _ = events.get(timeout=10)
    return decode_sample([v["type"] for v in table], args[1])[MANUAL]


def test_a_force_made_elsewhere_is_marked_with_who_and_released_from_the_page(
        browser, web_url, router, runtimes, ide):
    runtimes.start("plc-01", autostart=True)
    ide.call("plc-01.Force", [{"index": MANUAL, "value": True}])   # as the CLI and library do
    try:
        page = log_in(browser, web_url, "operator", router.secret("operator"))
        page.wait_for(f"{row('plc-01')} .forced-badge", "1 forced")
        page.click(f"{row('plc-01')} a")
        page.wait_for("#force-banner", "1 variable forced")
        page.wait_for("#force-list li", "manual = TRUE: ide, since")
        page.wait_for("#vars-table tr.forced[data-name=manual] .forced-mark", "FORCED TRUE by ide")
        assert page.count("#vars-table tr.forced") == 1

        page.click("#release-all")
        page.wait_for("#confirm-dialog", "Release every force on plc-01?")
        page.click("#confirm-ok")
        page.wait_for("#force-banner", state="hidden")
        assert page.count("#vars-table tr.forced") == 0
        assert ide.call("plc-01.GetForces") == []
        page.goto(web_url + "#/")
        page.wait_for(f"{row('plc-01')} .forced-badge", state="detached")
        assert page.problems() == []
        page.close()
    finally:
        ide.call("plc-01.Release", None)


def test_write_toggles_a_bool_once_and_forces_from_the_page(browser, web_url, router, runtimes, ide):
    runtimes.start("plc-01", autostart=True)
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.goto(web_url + "#/plc/plc-01")
    page.wait_for("#vars-table tr[data-name=manual] .value", "FALSE")
    page.click("#vars-table button[aria-label='Toggle manual']")
    page.wait_for("#plc-message", "manual set to TRUE once")
    page.wait_for("#vars-table tr[data-name=manual] .value", "TRUE")
    assert page.count("#vars-table tr.forced") == 0 and ide.call("plc-01.GetForces") == []
    assert manual_value(ide, "plc-01") is True

    page.click("#vars-table button[aria-label='Force setpoint']")
    page.fill("#confirm-value", "not a number")
    page.click("#confirm-ok")
    page.wait_for("#confirm-error", "REAL takes a number")
    page.fill("#confirm-value", "75.5")
    page.click("#confirm-ok")
    page.wait_for("#vars-table tr.forced[data-name=setpoint] .forced-mark", "FORCED 75.5 by operator")
    forces = ide.call("plc-01.GetForces")
    assert [(f["name"], f["value"], f["by"]) for f in forces] == [("setpoint", 75.5, "operator")]
    page.click("#vars-table button[aria-label='Release setpoint']")
    page.wait_for("#vars-table tr.forced", state="detached")
    assert ide.call("plc-01.GetForces") == []
    page.click("#vars-table button[aria-label='Toggle manual']")
    page.wait_for("#vars-table tr[data-name=manual] .value", "FALSE")
    assert page.problems() == []
    page.close()


def test_values_are_stale_after_stop_and_force_controls_disabled(
        browser, web_url, router, runtimes, ide):
    runtimes.start("plc-02", autostart=True)
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.goto(web_url + "#/plc/plc-02")
    page.wait_for("#vars-table tr[data-name=level]")
    page.wait_until("() => document.querySelector('#vars-table tr[data-name=level] .value')"
                    ".textContent !== '—'")
    assert page.count("#vars-table.stale") == 0 and page.count("#stale-note:visible") == 0
    assert page.evaluate("() => document.querySelector(\"[aria-label='Force level']\").disabled") is False

    ide.call("plc-02.StopPLC")
    page.wait_for("#vars-table.stale tr[data-name=level]")
    page.wait_for("#stale-note", "Stale since")
    assert "the PLC is Stopped" in page.text("#stale-note")
    grey = page.evaluate("() => getComputedStyle(document.querySelector("
                         "'#vars-table tr[data-name=level] .value')).color")
    assert grey == "rgb(128, 134, 139)"
    assert page.evaluate("() => [...document.querySelectorAll('#vars-table button')]"
                         ".filter((b) => !b.textContent.startsWith('Release')).every((b) => b.disabled)")
    ide.call("plc-02.StartPLC")
    page.wait_for("#vars-table:not(.stale) tr[data-name=level]")
    page.wait_for("#stale-note", state="hidden")
    assert page.problems() == []
    page.close()


def test_a_broken_plc_shows_its_cause_and_restarts_from_the_page(
        browser, web_url, router, runtimes, ide, tmp_path):
    mark = tmp_path / "break"
    mark.write_text("")
    program = tmp_path / "breaks.py"
    program.write_text(BREAKS.format(mark=str(mark)))
    runtimes.start("plc-02", program=str(program), extras=(), autostart=True)
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.wait_for(f"{row('plc-02')} .status", "Broken")
    page.wait_for(f"{row('plc-02')} .cause", "valve V-12 feedback lost")
    page.click(f"{row('plc-02')} a")
    page.wait_for("#plc-cause", "valve V-12 feedback lost")
    assert page.evaluate("() => document.querySelector('[data-command=restart]').disabled") is False
    page.wait_for("#vars-table.stale tr[data-name=n]")

    mark.unlink()   # repaired: the next run of the program does not break
    page.click("[data-command=restart]")
    page.wait_for("#confirm-dialog", "Restart program plc-02?")
    page.click("#confirm-ok")
    page.wait_for("#plc-summary .status", "Started", timeout=20)
    page.wait_for("#plc-cause", state="hidden")
    page.wait_for("#vars-table:not(.stale) tr[data-name=n]")
    assert ide.call("plc-02.GetPLCstatus")[0] == "Started"
    assert page.problems() == []
    page.close()


def test_a_viewer_sees_the_forces_but_no_controls(browser, web_url, router, runtimes, ide):
    runtimes.start("plc-01", autostart=True)
    ide.call("plc-01.Force", [{"index": MANUAL, "value": True}])
    ide.subscribe("plc-ghost.status")   # a subscriber alone makes no runtime
    try:
        page = log_in(browser, web_url, "viewer", router.secret("viewer"))
        page.wait_for(f"{row('plc-01')} .forced-badge", "1 forced")
        assert page.count(row("plc-ghost")) == 0
        page.goto(web_url + "#/plc/plc-01")
        page.wait_for("#vars-table tr.forced[data-name=manual] .forced-mark", "by ide")
        page.wait_for("#force-banner", "1 variable forced")
        assert page.count("#release-all:visible") == 0
        assert page.count("#plc-controls:visible") == 0
        assert page.count("#vars-table button") == 0
        answers = direct_calls(page, "viewer", router.secret("viewer"), [
            ("plc-01.Release", [None]), ("plc-01.Write", [[{"index": MANUAL, "value": False}]]),
            ("plc-01.RestartPLC", []), ("plc-01.GetForces", [])])
        assert answers[:3] == [{"error": "wamp.error.not_authorized"}] * 3
        assert [entry["name"] for entry in answers[3]] == ["manual"]
        assert page.problems() == []
        page.close()
    finally:
        ide.call("plc-01.Release", None)
    wait_until(lambda: ide.call("plc-01.GetForces") == [], timeout=5, message="released")
