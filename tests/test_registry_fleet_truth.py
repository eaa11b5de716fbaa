"""Only real runtimes in the fleet, and forces on record (issue 17): a client that merely
subscribes to ``X.status`` makes no runtime X; Beremiz's WAMP runtime (tests/beremiz_wamp_peer.py:
registers procedures, publishes nothing) killed shows Disconnected and stays listed; every force
and release is recorded with who, and the live table carries ``forced`` and ``cause``.

Runtime IDs plc-08 and plc-b belong to this module; plc-ghost is no runtime at all.
"""
import signal
import time

import pytest

from beremiz_wamp_peer import start_peer
from harness import wait_until
from ide_fixtures import cli, ide_credentials  # noqa: F401
from registry_fixtures import RegistryProcess, registry_call, wait_for

pytestmark = pytest.mark.slow
PHANTOM = "plc-ghost"


@pytest.fixture(scope="module")
def registry(router, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("registry-truth")
    process = RegistryProcess(router, f"sqlite:///{workdir / 'registry.sqlite'}", workdir,
                              "--force-age", "3")
    process.start()
    yield process
    process.stop()


def ids(rows):
    return {row["id"] for row in rows}


def test_a_status_subscriber_makes_no_phantom_runtime(registry, router, cli, ide):
    watcher = router.client("viewer")
    try:
        watcher.subscribe(f"{PHANTOM}.status")
        # what the router alone says (no registry to ask), then a registry catching up anew
        registry.kill()
        try:
            code, listed, err = cli.json("fleet", "list")
        finally:
            registry.start()
        assert code == 0, err
        assert PHANTOM not in ids(listed)
        assert PHANTOM not in ids(registry_call(ide, "runtimes"))
        code, listed, err = cli.json("fleet", "list")
        assert code == 0 and PHANTOM not in ids(listed), err
    finally:
        watcher.close()


def test_a_killed_wamp_runtime_shows_disconnected_and_stays_listed(registry, router, cli, ide):
    peer = start_peer(router, "plc-b")
    try:
        wait_for(ide, "runtime", lambda r: r["online"] and r["kind"] == "beremiz", "plc-b")
        killed = time.time()
        peer.signal(signal.SIGKILL)
        peer.process.wait()
    finally:
        peer.stop()
    row = wait_for(ide, "runtime", lambda r: not r["online"], "plc-b")
    assert row["status"] == "Disconnected" and row["offline_since"] >= killed - 1
    code, listed, err = cli.json("fleet", "list")
    assert code == 0, err
    assert {r["id"]: r["status"] for r in listed}["plc-b"] == "Disconnected"


def test_forces_and_releases_are_recorded_with_who_and_age(registry, router, runtimes, ide):
    runtimes.start("plc-08", autostart=True)
    wait_for(ide, "runtime", lambda r: r["status"] == "Started", "plc-08")
    operator = router.client("operator")
    try:
        table = operator.call("plc-08.Force", [{"index": 5, "value": True}])   # manual
        index = table[0]["index"]
        row = wait_for(ide, "runtime", lambda r: r["forced"] == 1, "plc-08")
        assert row["cause"] is None
        forces = wait_for(ide, "force_history", lambda rows: rows, "plc-08")
        assert forces[0]["action"] == "force" and forces[0]["by"] == "operator"
        assert forces[0]["index"] == index and forces[0]["value"] == table[0]["value"]
        # older than --force-age (3 s): a notice, cleared by the release
        alarm = wait_for(ide, "alarms", lambda rows: [a for a in rows if a["kind"] == "force_age"],
                         active=True, id="plc-08")[0]
        assert alarm["detail"]
        operator.call("plc-08.Release", [index])
        forces = wait_for(ide, "force_history", lambda rows: rows[0]["action"] == "release",
                          "plc-08")
        assert forces[0]["by"] == "operator" and forces[0]["index"] == index
        wait_for(ide, "runtime", lambda r: r["forced"] == 0, "plc-08")
        wait_until(lambda: not [a for a in registry_call(ide, "alarms", active=True, id="plc-08")
                                if a["kind"] == "force_age"], timeout=15,
                   message="the force_age notice cleared by the release")
    finally:
        operator.close()
