"""``plclink fleet`` against several real runtimes: discovery from the router, concurrent
status/start/stop, and a deploy during which one runtime is killed."""
import signal

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM, wait_until
from ide_component.blob_plan import read_transfer
from ide_fixtures import cli, ide_credentials, module_runtimes, write_big_program  # noqa: F401

pytestmark = pytest.mark.slow
IDS = ["plc-07", "plc-08", "plc-09"]
DEMO_MD5 = read_transfer(DEMO_PROGRAM, [DEMO_CSV]).md5


@pytest.fixture(scope="module")
def fleet(module_runtimes):
    return {plc_id: module_runtimes(plc_id) for plc_id in IDS}


def by_id(documents):
    return {document["id"]: document for document in documents}


def test_list_status_start_stop(cli, fleet):
    code, listed, _ = cli.json("fleet", "list")
    listed = by_id(listed)
    assert code == 0
    for plc_id in IDS:
        assert listed[plc_id]["status"] == "Stopped" and listed[plc_id]["md5"] == DEMO_MD5
        assert listed[plc_id]["bridged"] is False
    done = cli.run("fleet", "list")
    header = [column for column in done.stdout.splitlines()[0].split() if column != "LABELS"]
    assert header == ["ID", "STATUS", "PROGRAM", "MD5", "LINK", "FORCED", "PROBLEM"]  # LABELS:
    # only when a runtime has labels (an earlier test may have set some on the shared router)
    assert all(listed[plc_id]["forced"] == 0 and listed[plc_id]["problem"] is None
               for plc_id in IDS)

    done = cli.run("fleet", "start", "--ids", ",".join(IDS))
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "started 3 of 3"
    code, states, _ = cli.json("fleet", "status", "--ids", ",".join(IDS))
    assert code == 0 and {s["id"]: s["status"] for s in states} == dict.fromkeys(IDS, "Started")
    done = cli.run("fleet", "stop", "--ids", "plc-07", "--ids", "plc-08,plc-09,plc-zz")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "stopped 3 of 4; failed: plc-zz"


def test_deploy_survives_a_runtime_killed_mid_transfer(cli, fleet, tmp_path, ide):
    program = write_big_program(tmp_path / "big.py", 5 * 1024 * 1024)
    victim = "plc-08"
    deploy = cli.start("fleet", "deploy", program, "--ids", ",".join(IDS), "--start",
                       "--progress", "--window", "1", "--chunk-size", "65536")
    try:
        deploy.wait_for(deploy.stderr, lambda line: line.startswith(victim) and "sending" in line,
                        what=f"{victim} sending")
        fleet[victim].signal(signal.SIGKILL)
        assert deploy.finish() == 1
    finally:
        deploy.stop()
    summary = deploy.stdout[-1].strip()
    assert summary == f"3 runtimes: 2 deployed, 0 skipped (already installed), 1 failed: {victim}", \
        "".join(deploy.stdout + deploy.stderr)
    assert any(line.startswith(victim) and "unreachable" in line for line in deploy.stdout)
    assert any(line.startswith(victim) and "failed" in line for line in deploy.stderr)
    md5 = read_transfer(program).md5
    for plc_id in set(IDS) - {victim}:
        assert ide.call(f"{plc_id}.MatchMD5", md5) is True
        assert ide.call(f"{plc_id}.GetPLCstatus")[0] == "Started"

    # The router announces the killed runtime's testament: it is listed as Disconnected.
    wait_until(lambda: by_id(cli.json("fleet", "list")[1])[victim]["status"] == "Disconnected",
               timeout=15, message=f"{victim} listed Disconnected")
    done = cli.run("fleet", "status", "--ids", ",".join(IDS))
    assert done.returncode == 5   # a runtime is Disconnected (cli_parsers.FLEET_STATUS_CODES)
    row = next(line for line in done.stdout.splitlines() if line.startswith(victim))
    assert row.split()[1] == "Disconnected" and "no runtime 'plc-08'" in row
