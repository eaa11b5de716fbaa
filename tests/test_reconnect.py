"""After a long router outage, runtimes (native and bridged) are back within 10 s of the
router's return: the reconnect back-off is capped, not left to grow to Beremiz's 300 s."""
import time

import pytest
from autobahn.wamp.exception import ApplicationError

from erpc_harness import ErpcRuntime
from harness import Router
from plc_protocol.wamp_transport import MAX_RETRY_DELAY, reconnect_options
from test_bridge import Bridge

pytestmark = pytest.mark.slow
OUTAGE = 50.0  # long enough for an uncapped back-off to wait 20 s more
BACK_WITHIN = 10.0


def test_reconnect_options_cap_the_delay_whatever_maxdelay_says():
    assert reconnect_options(300)["max_retry_delay"] == MAX_RETRY_DELAY
    assert reconnect_options(2)["max_retry_delay"] == 2
    assert reconnect_options()["retry_delay_jitter"] > 0 and reconnect_options()["max_retries"] == -1


def seconds_until_callable(client, procedures, limit) -> dict:
    """{procedure: seconds until it first answered}, polling until ``limit``."""
    started, answered = time.monotonic(), {}
    while len(answered) < len(procedures) and time.monotonic() - started < limit + 5:
        for name in set(procedures) - set(answered):
            try:
                client.call(name, timeout=2)
                answered[name] = time.monotonic() - started
            except ApplicationError:
                pass
        time.sleep(0.1)
    return answered


def test_runtimes_back_within_10_s_after_a_40_s_outage(tmp_path):
    router = Router(tmp_path / "state").start()
    runtime = bridge = erpc = None
    try:
        runtime = router.start_runtime("plc-01", tmp_path / "plc-01")
        erpc = ErpcRuntime(tmp_path / "erpc-r2", plc_id="erpc-r2", program=None)
        bridge = Bridge(router, str(tmp_path))
        bridge.write(**{"erpc-r2": {"uri": f"ERPC://127.0.0.1:{erpc.port}"}})
        bridge.start()
        router.stop()
        time.sleep(OUTAGE)
        router.start()  # returns once every port answers
        ide = router.client("ide")
        try:
            procedures = ["plc-01.GetPLCstatus", "erpc-r2.GetPLCstatus"]
            back = seconds_until_callable(ide, procedures, BACK_WITHIN)
        finally:
            ide.close()
        assert set(back) == set(procedures), f"never back: {set(procedures) - set(back)}"
        assert max(back.values()) < BACK_WITHIN, back
    finally:
        for child in (bridge, erpc, runtime):
            if child is not None:
                child.stop()
        router.stop()


def test_a_runtime_joining_while_its_old_session_still_holds_a_name_gets_every_name(
        router, runtimes, ide):
    """Issue 18 item 9: after a router restart with 1,000 runtimes, one joined again before the
    router had dropped its previous session; registering its procedures failed on the name
    still held, autobahn swallowed the error, and the runtime stayed joined without its
    procedures for ever. Here a session of the same identity (the old session) holds one name
    while the runtime joins, and lets it go a few seconds later."""
    from ide_component import reactor_thread
    old = router.client("plc-09")
    reactor_thread.blocking(old.session.register, lambda: "the old session",
                            "plc-09.GetPLCstatus")
    try:
        runtimes.start("plc-09", wait_joined=False)
        time.sleep(3)           # the runtime has joined and met the name still held
    finally:
        old.close()             # the router's cleanup of the old session, late
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = ide.call("plc-09.GetPLCstatus", timeout=5)
            break
        except ApplicationError as error:
            assert time.monotonic() < deadline, f"plc-09 never registered again: {error}"
            time.sleep(0.5)
    assert answer[0] in ("Stopped", "Started", "Empty"), answer
    assert ide.call("plc-09.GetPLCID", timeout=5)
