"""The registry through the command line, as an operator uses it: fleet list/status in one
call, deploy history, diff and rollback, alarms and their acknowledgement, and runtimes of
every kind (native, bridged-like status events, Beremiz's WAMP runtime without events)."""
import time

import pytest

from beremiz_wamp_peer import start_peer
from harness import DEMO_CSV, DEMO_PROGRAM, wait_until
from ide_fixtures import cli, ide_credentials, module_runtimes  # noqa: F401
from plc_protocol import program_signature
from plc_protocol.program_identity import program_identity
from registry_fixtures import registry_call, sqlite_registry, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(router, tmp_path_factory):
    yield from sqlite_registry(router, tmp_path_factory, "registry-cli")


def write_program(path, step: int) -> str:
    path.write_text(f"VARIABLES = [('count', 'DINT', 0)]\n\n\ndef cycle(plc):\n"
                    f"    plc.vars.count += {step}\n")
    return str(path)


def by_id(documents):
    return {document["id"]: document for document in documents}


def test_fleet_list_and_status_come_from_the_registry(cli, registry, module_runtimes, ide):
    module_runtimes("plc-05", autostart=True)
    wait_for(ide, "runtime", lambda row: row["status"] == "Started", "plc-05")
    code, listed, _ = cli.json("fleet", "list")
    assert code == 0
    row = by_id(listed)["plc-05"]
    assert row["status"] == "Started" and row["last_seen"] and row["offline_since"] is None
    code, statuses, _ = cli.json("fleet", "status", "--ids", "plc-05")
    assert code == 0 and statuses[0]["status"] == "Started"
    # the same answer asked of each runtime
    code, asked, _ = cli.json("fleet", "status", "--ids", "plc-05", "--ask-each")
    assert code == 0 and asked[0]["status"] == "Started"


def test_deploy_history_diff_and_rollback(cli, registry, module_runtimes, ide, tmp_path):
    module_runtimes("plc-06")
    wait_for(ide, "runtime", lambda row: row["online"], "plc-06")
    first, second = write_program(tmp_path / "counter.py", 1), write_program(
        tmp_path / "counter2.py", 2)
    code, deployed, err = cli.json("fleet", "deploy", first, "--ids", "plc-05,plc-06")
    assert code == 0, err
    assert deployed["deployment"] and deployed["counts"]["deployed"] == 2
    md5_a = deployed["results"][0]["md5"]
    secret, public = program_signature.new_key_pair("alice")
    (tmp_path / "alice.key").write_text(secret)
    code, again, err = cli.json("fleet", "deploy", second, "--ids", "plc-06", "--sign-key",
                                str(tmp_path / "alice.key"))
    assert code == 0, err
    md5_b = again["results"][0]["md5"]
    history = wait_until(lambda: (lambda h: h if len(h) >= 3 and h[0]["md5"] == md5_b else None)(
        cli.json("fleet", "history", "plc-06")[1]), 15, message="history")
    assert [h["md5"] for h in history[:2]] == [md5_b, md5_a]
    assert history[0]["installed_by"] == "ide" and history[0]["stored"]
    assert history[1]["deployment"] == deployed["deployment"]
    assert history[0]["files"] == [".plclink-program-name", "plclink.signature"]
    assert (history[0]["signed_by"], history[1]["signed_by"]) == ("alice", None)
    assert "alice" in cli.run("fleet", "history", "plc-06").stdout
    code, diff, _ = cli.json("fleet", "diff", "plc-06", md5_a, md5_b)
    assert code == 0
    changes = {f["name"]: f["change"] for f in diff["files"]}
    assert changes == {"": "changed", ".plclink-program-name": "changed",
                       "plclink.signature": "added"}
    code, rolled, err = cli.json("fleet", "rollback", "plc-06", "--start")
    assert code == 0, err
    assert rolled["md5"] == md5_a and rolled["started"]
    row = wait_for(ide, "runtime", lambda r: r["md5"] == md5_a and r["status"] == "Started",
                   "plc-06")
    assert row["online"]
    history = wait_until(lambda: (lambda h: h if h[0]["md5"] == md5_a else None)(
        cli.json("fleet", "history", "plc-06")[1]), 15, message="rollback in history")
    assert history[0]["installed_by"] == "ide"
    audit = wait_for(ide, "audit", lambda rows: any(r["method"] == "NewPLC" and r["result"] == "ok"
                                                    for r in rows), id="plc-06")
    assert all(r["authid"] == "ide" for r in audit)
    # nobody files a program under a wrong md5: the registry computes it
    stored = ide.call("plclink.registry.store_program", b"print(1)\n", [["a.csv", b"1"]])
    assert stored["md5"] == program_identity(b"print(1)\n", [("a.csv", b"1")])
    code, _, err = cli.json("fleet", "rollback", "plc-06", "--to", "0" * 32)
    assert code == 2 and "never installed" in err


def test_alarms_cli_and_acknowledgement(cli, registry, module_runtimes, ide):
    code, rule, err = cli.json("alarms", "add-rule", "count >= 0", "--for-ids", "plc-05")
    assert code == 0, err
    try:
        alarm = wait_until(lambda: next((a for a in cli.json("alarms", "--active")[1]
                                         if a["kind"] == "rule" and a["id"] == "plc-05"), None),
                           20, message="rule alarm")
        code, acked, err = cli.json("alarms", "ack", str(alarm["alarm"]))
        assert code == 0, err
        assert acked["acked_by"] == "ide" and acked["acked_at"]
        code, _, err = cli.json("alarms", "ack", "999999")
        assert code == 2 and "no alarm" in err
    finally:
        assert cli.json("alarms", "remove-rule", str(rule["rule"]))[0] == 0
    cleared = wait_until(lambda: next((a for a in cli.json("alarms")[1]
                                       if a["alarm"] == alarm["alarm"] and a["cleared_at"]), None),
                         10, message="cleared")
    assert not cleared["active"]
    assert cli.json("alarms", "add-rule", "count >>> 3")[0] == 2


def test_beremiz_runtime_is_polled_and_marked_offline(cli, registry, router, ide):
    peer = start_peer(router, "plc-a")
    try:
        row = wait_for(ide, "runtime", lambda r: r["online"] and r["kind"] == "beremiz", "plc-a")
        assert row["status"] == "Empty" and row["md5"] is None
        # no status events carry its md5: the registry asks it (MatchMD5) after the transfer
        code, done, err = cli.json("transfer", "--id", "plc-a", DEMO_PROGRAM, DEMO_CSV)
        assert code == 0, err
        row = wait_for(ide, "runtime", lambda r: r["md5"] == done["md5"], "plc-a")
        history = cli.json("fleet", "history", "plc-a")[1]
        assert history[0]["md5"] == done["md5"] and history[0]["installed_by"] == "ide"
    finally:
        leaving = time.time()
        peer.stop()
    row = wait_for(ide, "runtime", lambda r: not r["online"], "plc-a")
    assert row["status"] == "Disconnected" and row["offline_since"] >= leaving
    assert registry_call(ide, "runtimes")


def test_the_ide_does_not_need_the_registry(cli, registry, module_runtimes, tmp_path):
    """Killed, the registry takes nothing with it: list and status ask the router and the
    runtimes, a transfer completes; restarted, it records what happened meanwhile."""
    registry.kill()
    try:
        code, listed, err = cli.json("fleet", "list")
        assert code == 0, err
        assert by_id(listed)["plc-05"]["last_seen"] is None   # asked the router, not a registry
        code, statuses, err = cli.json("fleet", "status", "--ids", "plc-05")
        assert code == 0 and statuses[0]["status"] in ("Started", "Stopped"), err
        code, done, err = cli.json("transfer", "--id", "plc-05",
                                   write_program(tmp_path / "alone.py", 3), "--start")
        assert code == 0 and done["status"] == "Started", err
    finally:
        registry.start()
    history = wait_until(lambda: (lambda h: h if h and h[0]["md5"] == done["md5"] else None)(
        cli.json("fleet", "history", "plc-05")[1]), 30, message="the install seen meanwhile")
    assert history[0]["installed_by"] is None and not history[0]["stored"]   # seen, not watched


@pytest.mark.parametrize("url", ["mysqlish://registry:hunter2@db/plclink", "not a url"])
def test_an_unusable_database_url_is_bad_input_without_a_traceback(tmp_path, url):
    import subprocess
    import sys
    secret = tmp_path / "registry.secret"
    secret.write_text("s3cret\n")
    done = subprocess.run([sys.executable, "-m", "plclink.cli", "registry", "--database", url,
                           "--secret-file", str(secret)], capture_output=True, text=True,
                          timeout=60)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "give sqlite:///PATH or postgresql://USER@HOST/DATABASE" in said
    assert "Traceback" not in said and "hunter2" not in said
