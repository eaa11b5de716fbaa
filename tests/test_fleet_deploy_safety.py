"""A fleet deploy where one runtime is unknown, offline or refuses: every other runtime gets the
program, each gets one line, and no PLC is left Stopped by a deploy that did not install on it."""
import signal

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM
from ide_fixtures import cli, ide_credentials, module_runtimes, write_big_program  # noqa: F401

pytestmark = pytest.mark.slow
IDS = ["ro-01", "ro-02"]


@pytest.fixture(scope="module")
def fleet(module_runtimes):
    return {plc_id: module_runtimes(plc_id, autostart=True) for plc_id in IDS}


def statuses(cli, ids):
    code, states, _ = cli.json("fleet", "status", "--ids", ",".join(ids), "--ask-each")
    return {s["id"]: (s.get("status") or s["result"]) for s in states}


def write_program(path, step):
    path.write_text(f"VARIABLES = [('n', 'DINT', 0)]\n\n\ndef cycle(plc):\n    plc.vars.n += {step}\n")
    return str(path)


def test_an_unknown_runtime_fails_alone_and_the_others_keep_running(cli, fleet, tmp_path):
    program = write_program(tmp_path / "step2.py", 2)
    done = cli.run("fleet", "deploy", program, "--ids", ",".join(IDS) + ",ro-99", "--start")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:-1]}
    assert "deployed" in lines["ro-01"] and "deployed" in lines["ro-02"]
    assert "unreachable" in lines["ro-99"] and "no runtime 'ro-99'" in lines["ro-99"]
    assert done.stdout.splitlines()[-1].startswith("3 runtimes: 2 deployed, 0 skipped")
    assert statuses(cli, IDS) == dict.fromkeys(IDS, "Started")


def test_a_program_the_runtime_refuses_leaves_the_old_one_running(cli, fleet, tmp_path):
    bad = tmp_path / "fails_init.py"   # passes every local check, raises when loaded
    bad.write_text("def init(plc):\n    raise RuntimeError('no')\n\n\ndef cycle(plc):\n    pass\n")
    code, before, _ = cli.json("fleet", "list", "--ask-each")
    done = cli.run("fleet", "deploy", str(bad), "--ids", ",".join(IDS), "--start")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    for plc_id in IDS:
        line = next(line for line in done.stdout.splitlines() if line.startswith(plc_id))
        assert "failed" in line and "still running" in line, done.stdout
    assert statuses(cli, IDS) == dict.fromkeys(IDS, "Started")
    code, after, _ = cli.json("fleet", "list", "--ask-each")
    md5 = {row["id"]: row["md5"] for row in before}
    assert all(row["md5"] == md5[row["id"]] for row in after if row["id"] in IDS)


def test_a_stopped_runtime_is_deployed_and_started_with_the_started_ones(cli, fleet, tmp_path):
    assert cli.run("fleet", "stop", "--ids", "ro-02").returncode == 0
    done = cli.run("fleet", "deploy", DEMO_PROGRAM, DEMO_CSV, "--ids", ",".join(IDS), "--start")
    assert done.returncode == 0, done.stdout + done.stderr
    assert statuses(cli, IDS) == dict.fromkeys(IDS, "Started")


def test_the_ide_killed_mid_deploy_leaves_every_plc_started(cli, fleet, tmp_path):
    program = write_big_program(tmp_path / "big.py", 4 * 1024 * 1024)
    deploy = cli.start("fleet", "deploy", program, "--ids", ",".join(IDS), "--start",
                       "--progress", "--window", "1", "--chunk-size", "65536")
    try:
        deploy.wait_for(deploy.stderr, lambda line: "sending" in line, what="a transfer sending")
        deploy.process.send_signal(signal.SIGKILL)
        deploy.process.wait(10)
    finally:
        deploy.stop()
    assert statuses(cli, IDS) == dict.fromkeys(IDS, "Started")


def test_a_started_beremiz_runtime_is_stopped_installed_and_started_back_to_back(
        cli, router, tmp_path):
    """Beremiz serves no ReplacePLC and refuses NewPLC while Started: the IDE stops it only once
    the program is there."""
    from beremiz_wamp_peer import calls, start_peer
    peer = start_peer(router, "plc-b")
    try:
        first = write_program(tmp_path / "first.py", 1)
        assert cli.run("fleet", "deploy", first, "--ids", "plc-b", "--start").returncode == 0
        assert statuses(cli, ["plc-b"]) == {"plc-b": "Started"}
        second = write_program(tmp_path / "second.py", 2)
        done = cli.run("fleet", "deploy", second, "--ids", "plc-b", "--start")
        assert done.returncode == 0, done.stdout + done.stderr
        assert statuses(cli, ["plc-b"]) == {"plc-b": "Started"}
        # no ReplacePLC there: stopped only once the program is sent, then NewPLC, StartPLC
        assert calls(peer, "NewPLC") == 2 and calls(peer, "StopPLC") == 1
        log = [line.strip() for line in peer.lines if line.startswith("call ")]
        assert log[log.index("call StopPLC") + 1:][:2] == ["call NewPLC", "call StartPLC"] or \
            log[log.index("call StopPLC") + 1:][:3] == ["call NewPLC", "call GetPLCstatus",
                                                        "call StartPLC"]
    finally:
        peer.stop()
