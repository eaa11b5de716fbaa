"""A runtime like Beremiz's own WAMP runtime client (tests/beremiz_wamp_peer.py: registers the
14 methods, publishes no status, no testament) is first-class for the IDE: status, transfer,
``fleet list`` and ``fleet status`` show its real status, and Disconnected once it is gone."""
import signal

import pytest
from autobahn.wamp.types import SubscribeOptions

from beremiz_wamp_peer import EXPOSED, start_peer
from harness import DEMO_CSV, DEMO_PROGRAM, wait_until
from ide_component.blob_plan import read_transfer
from ide_fixtures import cli, ide_credentials  # noqa: F401

pytestmark = pytest.mark.slow
PEER = "plc-a"


@pytest.fixture
def peer(router):
    child = start_peer(router, PEER)
    yield child
    child.stop()


def by_id(documents):
    return {document["id"]: document for document in documents}


def test_the_peer_registers_the_14_methods_and_publishes_nothing(peer, ide):
    for name in EXPOSED:
        assert ide.call("wamp.registration.match", f"{PEER}.{name}") is not None, name
    assert ide.call("wamp.registration.match", f"{PEER}.ExtendedCall") is None
    events = ide.subscribe(f"{PEER}.status", SubscribeOptions(get_retained=True))
    ide.call(f"{PEER}.GetPLCstatus")
    # Any retained status is an earlier runtime's testament, never this peer's.
    assert all(args[0] == "Disconnected" for args, _ in list(events.queue))


def test_fleet_and_transfer_show_its_real_status(cli, peer, tmp_path, ide):
    code, listed, err = cli.json("fleet", "list")
    assert code == 0, err
    assert by_id(listed)[PEER]["status"] == "Empty" and by_id(listed)[PEER]["bridged"] is None
    done = cli.run("fleet", "list")
    assert next(line for line in done.stdout.splitlines() if line.startswith(PEER)).split() == \
        [PEER, "Empty", "-", "no", "events", "?"]     # forces unknown: an upstream runtime

    code, result, err = cli.json("transfer", "--id", PEER, DEMO_PROGRAM, DEMO_CSV, "--start")
    assert code == 0 and not result["skipped"] and result["status"] == "Started", err
    assert ide.call(f"{PEER}.MatchMD5", read_transfer(DEMO_PROGRAM, [DEMO_CSV]).md5) is True
    code, states, err = cli.json("fleet", "status", "--ids", PEER)
    assert code == 0 and states[0]["status"] == "Started", err
    assert by_id(cli.json("fleet", "list")[1])[PEER]["status"] == "Started"
    assert cli.json("transfer", "--id", PEER, DEMO_PROGRAM, DEMO_CSV)[1]["skipped"]

    # Beremiz's MatchMD5 answers true after a failed load: the IDE transfers anyway.
    broken = tmp_path / "broken.st"
    broken.write_text("PROGRAM main\n  this is not python\nEND_PROGRAM\n")
    for _ in range(2):
        done = cli.run("transfer", "--id", PEER, str(broken))
        assert done.returncode == 1 and "did not load (status Broken)" in done.stderr, done.stderr
        assert ide.call(f"{PEER}.MatchMD5", read_transfer(str(broken)).md5) is True
    code, result, err = cli.json("transfer", "--id", PEER, DEMO_PROGRAM, DEMO_CSV)
    assert code == 0 and not result["skipped"] and result["status"] == "Stopped", err


def test_a_peer_that_drops_is_disconnected(cli, peer):
    assert by_id(cli.json("fleet", "list")[1])[PEER]["status"] == "Empty"
    peer.signal(signal.SIGKILL)
    peer.process.wait()
    wait_until(lambda: PEER not in by_id(cli.json("fleet", "list")[1]) or
               by_id(cli.json("fleet", "list")[1])[PEER]["status"] == "Disconnected",
               timeout=15, message=f"{PEER} gone from the fleet")
    code, states, _ = cli.json("fleet", "status", "--ids", PEER)
    assert code == 5 and states[0]["result"] == "unreachable"   # 5: Disconnected


def test_a_peer_taking_over_from_a_plclink_runtime_is_asked_not_its_testament(cli, router,
                                                                              runtimes, ide):
    """The plclink runtime that had this ID left a retained Disconnected (its testament); the
    peer now joined under the ID publishes nothing, so the fleet asks it."""
    runtimes.start(PEER, program=None).stop()
    events = ide.subscribe(f"{PEER}.status", SubscribeOptions(get_retained=True))
    wait_until(lambda: any(args[0] == "Disconnected" for args, _ in list(events.queue)),
               timeout=10, message="the testament")
    peer = start_peer(router, PEER)
    try:
        assert by_id(cli.json("fleet", "list")[1])[PEER]["status"] == "Empty"
    finally:
        peer.stop()
