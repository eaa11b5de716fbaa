import pytest

pytestmark = pytest.mark.slow


def test_status_through_router(router, runtimes, ide):
    runtimes.start("plc-01", autostart=True)
    status, counts = ide.call("plc-01.GetPLCstatus")
    assert status == "Started"
    assert len(counts) == 4
