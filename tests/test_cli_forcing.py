"""Forcing and tracing from the command line on plclink's runtime, as a plant uses it
(docs/forcing.md): a force survives anyone's trace, `forces` shows who forced what, release,
restore and write do what they say, restart recovers without wiping, and status, fleet list
and fleet status tell the truth about forces and Broken PLCs."""
import json
import os

import pytest

from harness import wait_until
from ide_fixtures import cli, ide_credentials, module_runtimes  # noqa: F401

pytestmark = pytest.mark.slow
PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")


@pytest.fixture(scope="module")
def tank(module_runtimes):
    module_runtimes("plc-a", autostart=True)
    return "plc-a"


def value_of(cli, plc_id, name):
    code, samples, err = cli.json("trace", "--id", plc_id, name, "--count", "1")
    assert code == 0, err
    return samples["values"][name]


def test_a_force_outlives_other_traces_and_shows_everywhere(cli, tank):
    code, forced, err = cli.json("force", "--id", tank, "pump=TRUE", "manual=TRUE")
    assert code == 0, err
    assert forced["values"] == {"pump": True, "manual": True}
    # Anyone's trace, then its end: the forces stay (the first fault).
    done = cli.run("trace", "--id", tank, "level", "--count", "2")
    assert done.returncode == 0, done.stderr
    assert value_of(cli, tank, "pump") is True and value_of(cli, tank, "manual") is True

    code, table, _ = cli.json("forces", "--id", tank)
    assert code == 0 and table["id"] == tank
    entries = {e["name"]: e for e in table["forces"]}
    assert set(entries) == {"pump", "manual"} and entries["pump"]["value"] is True
    assert entries["pump"]["by"] == "ide" and entries["pump"]["since"] > 0
    done = cli.run("forces", "--id", tank)
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["VARIABLE", "VALUE", "BY", "SINCE"] and len(lines) == 3

    code, state, _ = cli.json("status", "--id", tank)
    assert code == 0 and state["forced"] == 2 and len(state["md5"]) == 32
    assert "2 forced" in cli.run("status", "--id", tank).stdout
    code, rows, _ = cli.json("fleet", "list")
    row = next(r for r in rows if r["id"] == tank)
    assert row["forced"] == 2 and row["problem"] is None

    # release --all gives every variable back to the program; one it never writes (manual)
    # keeps the forced value, and release says so instead of letting the tank drain unseen.
    done = cli.run("release", "--id", tank, "--all")
    assert done.returncode == 0, done.stderr
    assert "manual = TRUE (released; the program has not changed it" in done.stdout
    assert "`release --restore` puts that back" in done.stdout
    assert cli.json("forces", "--id", tank)[1]["forces"] == []
    code, written, err = cli.json("write", "--id", tank, "manual=FALSE")   # as an HMI would
    assert code == 0 and written["values"] == {"manual": False}, err


def test_restore_and_write(cli, tank):
    before = value_of(cli, tank, "setpoint")
    assert cli.run("force", "--id", tank, "setpoint=12.5").returncode == 0
    assert value_of(cli, tank, "setpoint") == 12.5
    code, restored, err = cli.json("release", "--id", tank, "setpoint", "--restore")
    assert code == 0, err
    assert restored["values"]["setpoint"] == before

    code, written, err = cli.json("write", "--id", tank, "pump_starts=1000")
    assert code == 0, err
    assert cli.json("forces", "--id", tank)[1]["forces"] == []     # nothing stays forced
    assert written["values"]["pump_starts"] >= 1000                 # the program counts on

    bad = cli.run("write", "--id", tank, "pump_starts=many")
    assert bad.returncode == 2 and "pump_starts (DINT)" in bad.stderr


def test_broken_cause_restart_and_fleet_status_codes(cli, module_runtimes):
    module_runtimes("plc-b", program=os.path.join(PROGRAMS, "raises.py"), autostart=True)
    wait_until(lambda: cli.json("status", "--id", "plc-b")[1]["status"] == "Broken",
               message="plc-b Broken at cycle 20")
    code, state, _ = cli.json("status", "--id", "plc-b")
    assert "boom at cycle 20" in state["cause"]
    assert "cause: PLC program stopped" in cli.run("status", "--id", "plc-b").stdout

    done = cli.run("fleet", "status", "--ids", "plc-b")
    assert done.returncode == 4 and "boom at cycle 20" in done.stdout
    code, rows, _ = cli.json("fleet", "list")
    assert "boom at cycle 20" in next(r for r in rows if r["id"] == "plc-b")["problem"]

    done = cli.run("restart", "--id", "plc-b")
    assert done.returncode == 0 and "plc-b: Started" in done.stdout, done.stderr
    assert cli.json("status", "--id", "plc-b")[1]["md5"] == state["md5"]   # not wiped
    done = cli.run("fleet", "status", "--ids", "plc-b,plc-nobody")
    assert done.returncode in (4, 5)   # plc-b breaks again at cycle 20; plc-nobody is unknown


def test_wamp_sessions_trace_apart_and_forces_are_published(tank, router, ide):
    """Two WAMP sessions (the router discloses each caller): each has its own list and token;
    ending one ends no other and lifts no force; <ID>.forces is retained; status says forced."""
    from autobahn.wamp.types import SubscribeOptions
    from harness import next_event
    other = router.client("ide")
    try:
        ide.call(f"{tank}.Force", [{"index": 3, "value": True}])          # pump
        token_a = ide.call(f"{tank}.SetTraceVariablesList", [[0, None]])   # level
        token_b = other.call(f"{tank}.SetTraceVariablesList", [[6, None], [3, None]])
        assert token_a > 0 and token_b > 0 and token_a != token_b
        wait_until(lambda: ide.call(f"{tank}.GetTraceVariables", token_a)[1], message="a")
        samples_b = wait_until(lambda: other.call(f"{tank}.GetTraceVariables", token_b)[1],
                               message="b")
        assert all(len(buffer) == 4 + 1 and buffer[-1] == 1 for _, buffer in samples_b)
        assert ide.call(f"{tank}.SetTraceVariablesList", []) == -5      # a ends its trace
        assert ide.call(f"{tank}.GetTraceVariables", token_a) == ["Broken", []]
        wait_until(lambda: other.call(f"{tank}.GetTraceVariables", token_b)[1], message="b on")
        events = ide.subscribe(f"{tank}.forces", SubscribeOptions(get_retained=True))
        (entries,), _ = next_event(events)
        assert [(e["name"], e["value"], e["by"]) for e in entries] == [("pump", True, "ide")]
        status = ide.subscribe(f"{tank}.status", SubscribeOptions(get_retained=True))
        _, kwargs = next_event(status, lambda _, kwargs: kwargs["forced"] == 1)  # debounced
        assert kwargs["forced"] == 1 and kwargs["cause"] is None and len(kwargs["md5"]) == 32
        ide.call(f"{tank}.Release", None)
        next_event(events, lambda args, _: args[0] == [])
        # NewPLC while Started: upstream's answer (False, logged), not an error.
        assert ide.call(f"{tank}.NewPLC", "0" * 32, b"\x00" * 16, []) is False
    finally:
        other.close()
