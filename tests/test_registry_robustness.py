"""The registry when things go wrong around it: a damaged or unusable database, a full disk
under its health file, a second registry on the realm, and the gaps it leaves when it dies;
and `plclink up` going on without it."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness import free_port, wait_until
from ide_fixtures import cli, ide_credentials  # noqa: F401
from plclink import local_setup
from plclink.processes import Child, plclink_command
from registry_fixtures import RegistryProcess, registry_call, wait_for

pytestmark = pytest.mark.slow


def run_registry(router, state_dir, *extra, timeout=90):
    secret = local_setup.write_secret_file(router.state_dir, local_setup.REGISTRY_AUTHID)
    return subprocess.run(
        [sys.executable, "-m", "plclink.cli", "registry", "--url", router.url,
         "--secret-file", secret, "--state-dir", str(state_dir), *extra],
        capture_output=True, text=True, timeout=timeout)


def assert_one_line(done, *words):
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_a_damaged_database_file_is_one_line_and_exit_2(router, tmp_path):
    damaged = tmp_path / "registry.sqlite"
    damaged.write_bytes(b"this is not a SQLite database, it was overwritten\n" * 400)
    done = run_registry(router, tmp_path)
    assert_one_line(done, str(damaged), "damaged", "mv ")
    assert damaged.read_bytes().startswith(b"this is not"), "the file is left as it was"


def test_an_unusable_database_file_is_one_line_and_exit_2(router, tmp_path):
    (tmp_path / "registry.sqlite").mkdir()   # a directory where the file should be
    done = run_registry(router, tmp_path)
    assert_one_line(done, str(tmp_path / "registry.sqlite"), "cannot use")


def test_a_second_registry_on_the_realm_exits_with_a_clear_message(router, tmp_path):
    first = RegistryProcess(router, f"sqlite:///{tmp_path / 'first.sqlite'}", tmp_path).start()
    try:
        done = run_registry(router, tmp_path / "second")
        assert done.returncode == 2, done.stdout + done.stderr
        output = done.stdout + done.stderr
        assert "another registry serves realm Automation" in output, output
        assert "Traceback" not in output and "procedure_already_exists" not in output
        assert first.child.running
    finally:
        first.stop()


def test_the_health_file_is_written_again_after_writes_failed(router, tmp_path):
    folder = tmp_path / "health"
    folder.mkdir()
    health = folder / "registry.json"
    registry = RegistryProcess(router, f"sqlite:///{tmp_path / 'registry.sqlite'}", tmp_path,
                               "--health-file", str(health)).start()
    try:
        wait_until(health.exists, 30, message="the first health file")
        folder.rename(tmp_path / "gone")         # every write fails now, as on a full disk
        wait_until(lambda: "cannot write the health file" in registry.log(), 30,
                   message="the failed write logged")
        folder.mkdir()
        written_again = time.time()
        document = wait_until(lambda: health.exists() and json.loads(health.read_text()), 30,
                              message="the health file written again")
        assert document["time"] >= written_again - 1 and document["joined"]
        assert "health file" in registry.log() and "written again" in registry.log()
        assert registry.child.running
    finally:
        registry.stop()
    assert registry.log().count("cannot write the health file") == 1


def test_a_gap_starts_at_the_last_record_kept_and_offline_since_at_the_last_sight(
        router, runtimes, ide, cli, tmp_path):
    registry = RegistryProcess(router, f"sqlite:///{tmp_path / 'registry.sqlite'}",
                               tmp_path).start()
    try:
        child = runtimes.start("plc-08", autostart=True)
        wait_for(ide, "variables", lambda rows: rows, "plc-08")
        wait_for(ide, "trend", lambda t: len(t["series"]["level"]["points"]) >= 3, "plc-08",
                 ["level"], time.time() - 60)
        registry.kill()
        killed = time.time()
        child.stop()                 # gone while the registry is down
        time.sleep(2)
        restarted = time.time()
        registry.start()
        row = wait_for(ide, "runtime", lambda r: not r["online"], "plc-08")
        # last seen before the kill: not the registry's restart
        assert row["offline_since"] <= killed and row["status"] == "Disconnected"
        code, gaps, err = cli.json("fleet", "gaps")
        assert code == 0, err
        start, end = gaps[-1]["from"], gaps[-1]["to"]
        # the last sample kept came well after the last 10 s heartbeat would have said
        last_point = registry_call(ide, "trend", "plc-08", ["level"], time.time() - 120)
        kept = last_point["series"]["level"]["points"][-1][0]
        assert kept - 1.0 <= start <= killed and end >= restarted
        listed = cli.run("fleet", "gaps")
        assert listed.returncode == 0 and "LENGTH" in listed.stdout
    finally:
        registry.stop()


def test_up_runs_without_a_registry_whose_database_is_damaged(tmp_path):
    ports = {name: free_port() for name in ("ws", "raw", "web", "erpc")}
    state = tmp_path / "state"
    state.mkdir()
    (state / "registry.sqlite").write_bytes(b"garbage " * 4096)
    up = Child("up", plclink_command(
        "up", "--state-dir", str(state), "--ws-port", str(ports["ws"]),
        "--rawsocket-port", str(ports["raw"]), "--web-port", str(ports["web"]),
        "--erpc-port", str(ports["erpc"])), quiet=True)
    try:
        assert up.wait_for_line("plclink suite is up", 120), "".join(up.lines[-30:])
        assert up.wait_for_line("runs without a registry", 30), "".join(up.lines[-30:])
        env = {**os.environ, "PLCLINK_CREDENTIALS": str(state / "credentials.yaml")}
        status = subprocess.run([sys.executable, "-m", "plclink.cli", "status", "--id",
                                 "plc-01", "--json"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert json.loads(status.stdout)["status"] == "Started", status.stderr
        time.sleep(REGISTRY_WATCH)
        assert up.running
        output = "".join(up.lines)
        assert "starting it again" not in output and "Traceback" not in output, output
        assert output.count("is damaged") == 1
    finally:
        up.process.send_signal(signal.SIGINT)
        code = up.process.wait(60)
    assert code == 0


REGISTRY_WATCH = 7.0   # longer than plclink up's restart delay: no restart may follow

