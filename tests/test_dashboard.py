"""The web dashboard in a real headless Chromium, against the real router and runtimes.

Runtime IDs plc-03 and plc-04 belong to this module (other modules share the router).
"""
import os
import re
import subprocess
import sys
import urllib.request

import pytest
import yaml

from browser.dashboard import direct_calls, log_in
from browser.fixtures import browser, web_url  # noqa: F401
from harness import ROOT
from plc_protocol.iec_types import IEC_TYPES, encode

pytestmark = pytest.mark.slow
DASHBOARD_DIR = os.path.join(ROOT, "router", "dashboard")


@pytest.fixture
def plclink_cli(router, tmp_path):
    """Run the IDE command line as the ide principal; its completed process."""
    credentials = tmp_path / "credentials.yaml"
    credentials.write_text(yaml.safe_dump({"router": router.url, "realm": router.realm,
                                           "authid": "ide", "secret": router.secret("ide")}))
    env = {**os.environ, "PLCLINK_CREDENTIALS": str(credentials)}

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "plclink.cli", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done
    return run


CHART_SAMPLES = "Number(document.querySelector('#chart').dataset.samples)"


def row(plc_id):
    return f"#fleet-table tr[data-plc={plc_id}]"


def no_problems(page):
    assert page.problems() == []


def test_the_router_serves_the_page_and_every_library_itself(web_url):
    html = urllib.request.urlopen(web_url).read().decode()
    references = re.findall(r'(?:src|href)="([^"#][^"]*)"', html)
    assert "vendor/autobahn.min.js" in references and "vendor/uPlot.iife.min.js" in references
    for reference in references:
        assert not re.match(r"^(https?:)?//", reference), f"{reference} is not served by the router"
        if reference.startswith("data:"):
            continue
        answer = urllib.request.urlopen(web_url + reference)
        assert answer.status == 200 and answer.read(), reference
    module = urllib.request.urlopen(web_url + "js/app.js")
    assert "javascript" in module.headers["Content-Type"]
    for folder, _, files in os.walk(DASHBOARD_DIR):
        for name in files:
            if name.endswith((".js", ".css", ".html")) and "vendor" not in folder:
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    text = handle.read()
                assert not re.search(r"https?://", text), f"{name} refers to another site"


def test_login_is_required_and_bad_credentials_are_refused(browser, web_url, router):
    page = log_in(browser, web_url, "viewer", "not-the-ticket", expect_fleet=False)
    page.wait_for("#login-error", "Login refused")
    assert page.count("#fleet-view:visible") == 0
    page.fill("#login-user", "")
    page.click("#login-form button[type=submit]")
    page.wait_for("#login-error", "Enter a user")
    page.fill("#login-secret", router.secret("ide"))
    page.click("input[name=method][value=wampcra]")
    page.fill("#login-user", "ide")
    page.click("#login-form button[type=submit]")
    page.wait_for("#fleet-view")
    assert page.text("#who") == "ide (ide)"
    page.close()


def test_fleet_lists_runtimes_and_shows_a_cli_stop_within_a_second(
        browser, web_url, router, runtimes, plclink_cli, ide):
    runtimes.start("plc-03", autostart=True)
    runtimes.start("plc-04")
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{row('plc-03')} .status", "Started")
    page.wait_for(f"{row('plc-04')} .status", "Stopped")
    md5 = page.evaluate("() => document.querySelector('tr[data-plc=plc-03] .md5').title")
    assert ide.call("plc-03.MatchMD5", md5) is True
    assert page.evaluate("""() => ['Started', 'Stopped'].map((status) => getComputedStyle(
        document.querySelector(`.status-${status}`)).backgroundColor)""") == [
        "rgb(30, 142, 62)", "rgb(251, 188, 4)"]
    info = f"{row('plc-03')} .count[data-level=INFO]"
    info_before = int(page.text(info).split()[1])

    plclink_cli("stop", "--id", "plc-03")
    page.wait_for(f"{row('plc-03')} .status", "Stopped", timeout=1.0)
    page.wait_until("""([selector, before]) => Number(document.querySelector(selector)
        .textContent.split(' ')[1]) > before""", [info, info_before])
    plclink_cli("start", "--id", "plc-03")
    page.wait_for(f"{row('plc-03')} .status", "Started", timeout=1.0)
    no_problems(page)
    page.close()


def test_plc_view_shows_the_live_log_and_charts_trace_samples(
        browser, web_url, router, runtimes, ide):
    runtimes.start("plc-03", autostart=True)
    for _ in range(6):  # more INFO messages than the page fetches at first
        ide.call("plc-03.StopPLC")
        ide.call("plc-03.StartPLC")
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.goto(web_url + "#/plc/plc-03")
    page.wait_for("#log-list li", "PLC started")
    assert page.count("#log-list li", "installed with") == 0
    page.click("#log-older")
    page.wait_for("#log-list li", "installed with")

    page.click("#trace-button")
    page.set_checked("#vars-table tr[data-name=level] input[type=checkbox]")
    samples = page.wait_until(f"() => ({CHART_SAMPLES}) > 20 && ({CHART_SAMPLES})")
    page.wait_until(f"(before) => ({CHART_SAMPLES}) > before", samples)
    assert page.count("#chart canvas") == 1
    assert float(page.text("#vars-table tr[data-name=level] .value")) > 0

    ide.call("plc-03.StopPLC")  # a message logged while the page is open appears on top
    page.wait_for("#log-list li:first-child", "PLC stopped")
    page.set_checked("#log-levels input[value='2']", False)
    page.wait_for("#log-list li", "PLC stopped", state="detached")
    no_problems(page)
    page.close()


def test_operator_starts_and_stops_from_the_page_with_a_confirmation(
        browser, web_url, router, runtimes, ide):
    runtimes.start("plc-03", autostart=True)
    page = log_in(browser, web_url, "operator", router.secret("operator"))
    page.click(f"{row('plc-03')} a")
    page.wait_for("#plc-summary .status", "Started")
    assert page.evaluate("() => document.querySelector('[data-command=start]').disabled") is True

    page.click("[data-command=stop]")
    page.wait_for("#confirm-dialog", "Stop plc-03?")
    page.click("#confirm-dialog button", "Cancel")
    assert ide.call("plc-03.GetPLCstatus")[0] == "Started"

    page.click("[data-command=stop]")
    page.click("#confirm-ok")
    page.wait_for("#plc-summary .status", "Stopped")
    assert ide.call("plc-03.GetPLCstatus")[0] == "Stopped"
    page.click("[data-command=start]")
    page.click("#confirm-ok")
    page.wait_for("#plc-summary .status", "Started")
    assert ide.call("plc-03.GetPLCstatus")[0] == "Started"
    no_problems(page)
    page.close()


SAMPLE_VALUES = {
    "BOOL": True, "SINT": -5, "USINT": 200, "BYTE": 7, "INT": -300, "UINT": 60000, "WORD": 1,
    "DINT": -70000, "UDINT": 4000000000, "DWORD": 5, "LINT": -2**40, "ULINT": 2**63 + 5,
    "LWORD": 9, "REAL": 1.5, "LREAL": -3.25, "STRING": "héllo", "TIME": 1.5, "TOD": 3600.25,
    "DATE": 86400.0, "DT": 12.5,
}
JS_BIGINT_TYPES = ("LINT", "ULINT", "LWORD")  # decoded as BigInt, handed back as text


def test_page_decodes_and_encodes_every_iec_type_as_the_runtime_does(browser, web_url):
    assert set(SAMPLE_VALUES) == set(IEC_TYPES)
    types = list(SAMPLE_VALUES)
    sample = b"".join(encode(name, value) for name, value in SAMPLE_VALUES.items())
    page = browser.new_page()
    page.goto(web_url)
    decoded, forces = page.evaluate("""async ([types, sample, texts]) => {
        const iec = await import('./js/iec.js');
        const plain = (value) => typeof value === 'bigint' ? value.toString() : value;
        return [iec.decodeSample(types, new Uint8Array(sample)).map(plain),
                types.map((type, n) => Array.from(iec.encodeForce(type, texts[n])))];
    }""", [types, list(sample), [str(value) for value in SAMPLE_VALUES.values()]])
    for name, value, got in zip(types, SAMPLE_VALUES.values(), decoded):
        assert got == (str(value) if name in JS_BIGINT_TYPES else value), name
    for name, value, got in zip(types, SAMPLE_VALUES.values(), forces):
        assert bytes(got) == encode(name, value, for_force=True), name
    no_problems(page)
    page.close()


CONTROL_CALLS = {
    "StartPLC": [], "StopPLC": [], "RepairPLC": [], "ResetLogCount": [], "GetPLCID": [],
    "SetTraceVariablesList": [[[0, "force"]]], "NewPLC": ["0" * 32, "blob", []], "PurgeBlobs": [],
    "SeedBlob": ["seed"],
}


LEVEL_VALUE = "document.querySelector('#vars-table tr[data-name=level] .value').textContent"


def test_read_only_user_sees_live_values_and_a_chart_but_no_controls(
        browser, web_url, router, runtimes, ide):
    runtimes.start("plc-03", autostart=True)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.goto(web_url + "#/plc/plc-03")
    page.wait_for("#vars-table tr[data-name=level]")
    page.wait_for("#plc-summary .status", "Started")
    assert page.count("#plc-controls:visible") == 0
    assert page.count("#trace-button:visible") == 0
    assert page.count("#vars-table button") == 0

    # Live values from the runtime's `<ID>.values` events: the tank's level changes every cycle.
    first = page.wait_until(f"() => {LEVEL_VALUE} !== '—' && {LEVEL_VALUE}")
    assert float(first) > 0
    page.wait_until(f"(first) => {LEVEL_VALUE} !== first", first)
    assert page.text("#trace-note") == "Live values, sampled a few times a second."
    page.set_checked("#vars-table tr[data-name=level] input[type=checkbox]")
    page.wait_for("#chart canvas")
    samples = page.wait_until(f"() => ({CHART_SAMPLES}) >= 2 && ({CHART_SAMPLES})")
    page.wait_until(f"(before) => ({CHART_SAMPLES}) > before", samples)
    no_problems(page)

    # The same user calling the router directly from the browser, bypassing the page.
    calls = [(f"plc-03.{method}", args) for method, args in CONTROL_CALLS.items()]
    answers = direct_calls(page, "viewer", router.secret("viewer"),
                           [*calls, ("plc-03.GetPLCstatus", [])])
    assert answers[:-1] == [{"error": "wamp.error.not_authorized"}] * len(CONTROL_CALLS)
    assert answers[-1][0] == "Started"

    viewer = router.client("viewer")
    try:
        for method in ("StopPLC", "RepairPLC"):
            with pytest.raises(Exception, match="not_authorized"):
                viewer.call(f"plc-03.{method}")
    finally:
        viewer.close()
    assert ide.call("plc-03.GetPLCstatus")[0] == "Started"
    page.close()


def test_a_runtime_that_goes_away_shows_disconnected_and_stays_listed(
        browser, web_url, router, runtimes):
    plc = runtimes.start("plc-04", autostart=True)
    page = log_in(browser, web_url, "viewer", router.secret("viewer"))
    page.wait_for(f"{row('plc-04')} .status", "Started")
    plc.stop()
    page.wait_for(f"{row('plc-04')} .status", "Disconnected", timeout=5)
    page.wait_for(f"{row('plc-04')}", "last seen")
    assert page.count(f"{row('plc-04')}.is-disconnected") == 1
    page.close()

    later = log_in(browser, web_url, "operator", router.secret("operator"))
    later.wait_for(f"{row('plc-04')} .status", "Disconnected")
    no_problems(later)
    later.close()


def test_fits_a_phone_screen(browser, web_url, router, runtimes):
    runtimes.start("plc-03", autostart=True)
    page = log_in(browser, web_url, "operator", router.secret("operator"), width=390, height=844)
    page.wait_for(f"{row('plc-03')} .status", "Started")
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits)
    page.click(f"{row('plc-03')} a")
    page.wait_for("#vars-table tr[data-name=level]")
    page.click("#trace-button")
    page.set_checked("#vars-table tr[data-name=level] input[type=checkbox]")
    page.wait_for("#chart canvas")
    assert page.evaluate(fits)
    page.close()
