"""Fixtures of the dashboard tests: one browser per module, the router's dashboard address."""
import pytest

from browser.chromium import Chromium


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


@pytest.fixture
def web_url(router):
    return f"http://127.0.0.1:{router.web_port}/"
