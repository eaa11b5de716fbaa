"""A person on the dashboard: logs in with name and password, reads the audit journal, filters
it and pages through it (headless Chromium, the real router)."""
import os

import pytest

from browser.dashboard import log_in
from browser.fixtures import browser  # noqa: F401
from ide_component import reactor_thread
from login_client import leave, login
from plclink.users_command import add_person

pytestmark = pytest.mark.slow
PASSWORD = "dashboard person password"


def test_person_logs_in_and_pages_the_journal(browser, router):  # noqa: F811
    add_person(os.path.join(router.state_dir, "people.yaml"), "dana", "operator", PASSWORD,
               runtimes=("plc-0*",))
    session = login(router.ws_port, router.realm, {"authid": "dana", "ticket": PASSWORD})
    try:
        for _ in range(55):   # more than one page of refusals
            try:
                reactor_thread.blocking(session.call, "erpc-99.StopPLC")
            except Exception:
                pass
    finally:
        leave(session)
    page = log_in(browser, f"http://127.0.0.1:{router.web_port}/", "dana", PASSWORD)
    assert page.text("#who").startswith("dana (operator)")
    page.click("#journal-link")
    page.wait_for("#journal-view")
    page.fill("#journal-form input[name=user]", "dana")
    page.click("#journal-form button[type=submit]")
    page.wait_for("#journal-table td", "outside dana's scope")
    assert page.count("#journal-table tbody tr") == 50
    page.click("#journal-older")
    page.wait_for("#journal-message", "Page 2")
    assert page.count("#journal-table tbody tr", "logged in") >= 1   # the oldest: the login
    page.click("#journal-newer")
    page.wait_for("#journal-message", "Page 1")
    assert page.problems() == []
