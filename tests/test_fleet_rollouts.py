"""Staged rollouts against a real router, registry and runtimes: labels and selectors, the
plan of a dry run, a wave whose program goes Broken 3 s after it started (rolled back, the
rollout stops, the runtimes not reached untouched), a runtime unknown among known ones, the IDE
killed mid-rollout (every PLC Started, then `fleet rollouts resume` finishes it), and the
program store (a runtime's own --program kept, history, diff, get)."""
import signal
import time

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM, wait_until
from ide_fixtures import cli, ide_credentials  # noqa: F401
from ide_component.blob_plan import read_transfer
from registry_fixtures import sqlite_registry, wait_for

pytestmark = pytest.mark.slow
IDS = ["ro-03", "ro-04", "ro-05", "ro-06"]
LABELS = {"ro-03": "line=1,site=plant-a", "ro-04": "line=2,site=plant-a",
          "ro-05": "line=2,site=plant-b", "ro-06": "line=2,site=plant-a"}
DEMO_MD5 = read_transfer(DEMO_PROGRAM, [DEMO_CSV]).md5


@pytest.fixture(scope="module")
def registry(router, tmp_path_factory):
    yield from sqlite_registry(router, tmp_path_factory, "registry-rollouts")


@pytest.fixture(scope="module")
def fleet(registry, router, tmp_path_factory):
    # 50 ms cycles: a scan overrun (which fails a gate) must come from the program, not from
    # this shared machine's load
    started = {plc_id: router.start_runtime(plc_id, tmp_path_factory.mktemp(plc_id), "--label",
                                            LABELS[plc_id], "--period-ms", "50", autostart=True)
               for plc_id in IDS}
    ide = router.client("ide")
    try:
        for plc_id in IDS:
            wait_for(ide, "runtime", lambda row: row["status"] == "Started" and row["labels"],
                     plc_id, timeout=30)
        for plc_id in IDS:   # read back into the store: what a rollout can roll back to
            wait_for(ide, "lineage", lambda lineage: lineage and lineage[0]["stored"], plc_id,
                     timeout=60)
    finally:
        ide.close()
    yield started
    for child in started.values():
        child.stop()


def program(path, body="", step=1):
    path.write_text("import time\n\nVARIABLES = [('n', 'DINT', 0)]\nT0 = time.monotonic()\n\n\n"
                    f"def cycle(plc):\n    plc.vars.n += {step}\n{body}")
    return str(path)


def states(cli, ids):
    code, rows, _ = cli.json("fleet", "status", "--ids", ",".join(ids), "--ask-each")
    return {row["id"]: (row.get("status") or row["result"]) for row in rows}


def md5s(cli):
    code, rows, _ = cli.json("fleet", "list", "--ask-each")
    return {row["id"]: row["md5"] for row in rows}


def test_labels_and_selectors(cli, fleet):
    code, rows, _ = cli.json("fleet", "list", "--selector", "line=2,site=plant-a")
    assert code == 0 and sorted(row["id"] for row in rows) == ["ro-04", "ro-06"]
    done = cli.run("fleet", "label", "ro-06", "cell=7", "site=plant-c")
    assert done.returncode == 0 and "cell=7" in done.stdout and "site=plant-c" in done.stdout
    code, rows, _ = cli.json("fleet", "status", "--selector", "site=plant-c")
    assert code == 0 and [row["id"] for row in rows] == ["ro-06"]
    done = cli.run("fleet", "stop", "--selector", "site!=plant-a,site!=plant-b,line=2")
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "stopped 1 of 1"
    assert cli.run("fleet", "start", "--selector", "cell=7").returncode == 0
    assert cli.run("fleet", "label", "ro-06", "cell=", "site=").returncode == 0
    code, rows, _ = cli.json("fleet", "list", "--selector", "line=2,site=plant-a")
    assert sorted(row["id"] for row in rows) == ["ro-04", "ro-06"]   # its own label is back
    done = cli.run("fleet", "list", "--selector", "line")
    assert done.returncode == 2 and "key=value" in done.stderr


def test_the_runtimes_own_program_is_in_the_store(cli, fleet, tmp_path):
    code, history, _ = cli.json("fleet", "history", "ro-03")
    assert code == 0 and history[0]["md5"] == DEMO_MD5
    wait_until(lambda: cli.json("fleet", "history", "ro-03")[1][0]["stored"], 30,
               message="the demo program read back into the store")
    done = cli.run("fleet", "get", DEMO_MD5, "--out", str(tmp_path / "got"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "got" / "tank.py").read_bytes() == open(DEMO_PROGRAM, "rb").read()
    assert (tmp_path / "got" / "setpoint.csv").read_bytes() == open(DEMO_CSV, "rb").read()
    assert read_transfer(str(tmp_path / "got" / "tank.py"),
                         [str(tmp_path / "got" / "setpoint.csv")]).md5 == DEMO_MD5
    done = cli.run("fleet", "get", "0" * 32, "--out", str(tmp_path / "none"))
    assert done.returncode == 2 and "fleet history" in done.stderr


def test_dry_run_prints_the_plan_and_changes_nothing(cli, fleet, tmp_path):
    new = program(tmp_path / "step3.py", step=3)
    before = md5s(cli)
    done = cli.run("fleet", "deploy", new, "--ids", ",".join(IDS) + ",ro-07", "--canary", "1",
                   "--wave-size", "2", "--gate-seconds", "5", "--dry-run")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "wave 1 (canary): ro-03" in out and "wave 2: ro-04, ro-05" in out
    assert "wave 3: ro-06" in out
    assert "(program) changed" in out and "setpoint.csv removed" in out
    assert "ro-07" in out and "skipped: unknown to the registry" in out
    assert md5s(cli) == before


def test_a_wave_that_goes_broken_is_rolled_back_and_the_rest_untouched(cli, fleet, tmp_path):
    good = program(tmp_path / "good.py", step=2)   # ro-07: no such runtime, among the others
    done = cli.run("fleet", "deploy", good, "--ids", ",".join(IDS) + ",ro-07", "--canary", "1",
                   "--wave-size", "2", "--gate-seconds", "3", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ro-07: skipped: unknown to the registry" in done.stdout
    assert "rollout" in done.stderr and done.stdout.startswith("rollout ")
    good_md5 = read_transfer(good).md5
    assert all(md5s(cli)[plc_id] == good_md5 for plc_id in IDS)

    bad = program(tmp_path / "bad.py", "    if time.monotonic() - T0 > 3:\n"
                                       "        raise RuntimeError('broken after 3 s')\n")
    done = cli.run("fleet", "deploy", bad, "--ids", ",".join(IDS), "--canary", "2",
                   "--gate-seconds", "10", timeout=240)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "wave 1 (canary): rolled back" in done.stdout
    lines = [next(line for line in done.stdout.splitlines() if f"{plc_id}:" in line)
             for plc_id in ("ro-03", "ro-04")]   # the gate ends as soon as one fails
    assert any("status Broken" in line and "broken after 3 s" in line for line in lines), \
        done.stdout
    assert all(f"rolled back to {good_md5}" in line for line in lines), done.stdout
    for plc_id in ("ro-05", "ro-06"):
        assert f"{plc_id}: not reached" in done.stdout
    assert states(cli, IDS) == dict.fromkeys(IDS, "Started")
    assert all(md5s(cli)[plc_id] == good_md5 for plc_id in IDS)
    code, records, _ = cli.json("fleet", "rollouts")
    assert records[0]["state"] == "failed" and records[1]["state"] == "passed"
    assert records[0]["by"] == "ide"

    code, diff, _ = cli.json("fleet", "diff", "ro-03", good_md5, read_transfer(bad).md5)
    assert code == 0 and "+    if time.monotonic() - T0 > 3:" in diff["unified"]
    assert "-    plc.vars.n += 2\n+    plc.vars.n += 1" in diff["unified"]
    assert "-good.py\n+bad.py" in diff["unified"]   # the file naming the program


def test_the_ide_killed_mid_rollout_leaves_every_plc_started_and_resume_finishes(
        cli, fleet, tmp_path):
    new = program(tmp_path / "step5.py", step=5)
    rollout = cli.start("fleet", "deploy", new, "--ids", ",".join(IDS), "--canary", "1",
                        "--wave-size", "3", "--gate-seconds", "20")
    try:
        rollout.wait_for(rollout.stderr, lambda line: "gate of 20 s" in line, timeout=60,
                         what="the canary's gate")
        rollout.process.send_signal(signal.SIGKILL)
        rollout.process.wait(10)
    finally:
        rollout.stop()
    assert states(cli, IDS) == dict.fromkeys(IDS, "Started")
    code, records, _ = cli.json("fleet", "rollouts")
    number = records[0]["rollout"]
    assert records[0]["state"] == "running"
    done = cli.run("fleet", "rollouts", "resume", str(number))
    assert done.returncode == 2 and "an IDE is at work on it" in done.stderr
    wait_until(lambda: cli.json("fleet", "rollouts")[1][0]["interrupted"], 60, interval=2,
               message="the rollout seen as interrupted")
    done = cli.run("fleet", "rollouts", "resume", str(number), timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert states(cli, IDS) == dict.fromkeys(IDS, "Started")
    assert all(md5s(cli)[plc_id] == read_transfer(new).md5 for plc_id in IDS)
    code, record, _ = cli.json("fleet", "rollouts", "show", str(number))
    assert record["state"] == "passed"


def test_what_is_not_a_program_is_refused_before_anything_is_sent(cli, fleet, tmp_path):
    for name, data, message in (("empty.so", b"", "empty.so is empty"),
                                ("fake.so", b"#!/bin/sh\n", "fake.so is not an ELF shared"),
                                ("nocycle.py", b"x = 1\n", "nocycle.py defines no cycle")):
        (tmp_path / name).write_bytes(data)
        done = cli.run("fleet", "deploy", str(tmp_path / name), "--ids", "ro-03", "--start")
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert str(tmp_path / name) in done.stderr


def test_the_dashboard_filters_by_label_and_shows_the_rollouts(cli, fleet, router, tmp_path):
    from browser.chromium import Chromium
    from browser.dashboard import log_in
    browser = Chromium()
    try:
        page = log_in(browser, f"http://127.0.0.1:{router.web_port}/", "viewer",
                      router.secret("viewer"))
        for plc_id in IDS:
            page.wait_for(f"#fleet-table tr[data-plc={plc_id}]", timeout=20)
        assert "site=plant-a" in page.text("#fleet-table tr[data-plc=ro-03]")
        page.fill("#fleet-filter", "line=2,site!=plant-b")
        page.wait_until("() => document.querySelectorAll('#fleet-table tbody tr[data-plc]')"
                        ".length === 2", timeout=10)
        shown = page.evaluate("() => [...document.querySelectorAll('#fleet-table tbody "
                              "tr[data-plc]')].map((tr) => tr.dataset.plc)")
        assert shown == ["ro-04", "ro-06"]
        assert "filtered from" in page.text("#fleet-summary")
        new = program(tmp_path / "step7.py", step=7)   # recorded while the page is open
        done = cli.run("fleet", "deploy", new, "--ids", "ro-03", "--canary", "1",
                       "--gate-seconds", "2", timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        page.wait_for("#rollouts-card", timeout=20)
        code, records, _ = cli.json("fleet", "rollouts")
        newest = records[0]
        page.wait_for(f"#rollouts-list li[data-rollout='{newest['rollout']}']", "passed",
                      timeout=20)
        assert f"Rollout {newest['rollout']}" in page.text("#rollouts-list")
        assert newest["state"] in page.text(f"#rollouts-list li[data-rollout='{newest['rollout']}']")
    finally:
        browser.close()
