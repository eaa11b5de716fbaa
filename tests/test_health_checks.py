"""Container healthchecks (python3 -m plclink.healthcheck) against real processes: a runtime's
health file, the bridge's, and the TLS-PSK front (python3 -m plclink.tls_front) probed through
to its runtime. The judging rules themselves are pure and tested first."""
import json
import os
import subprocess
import sys

import pytest

from erpc_harness import ErpcRuntime
from harness import free_port, wait_until
from plc_protocol import health_file
from plclink.processes import Child

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = 1_000_000.0


def healthcheck(*args):
    result = subprocess.run([sys.executable, "-m", "plclink.healthcheck", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout.strip()


def runtime_doc(**changes):
    document = health_file.runtime_document(NOW, True, True, "Started", 10, True)
    return {**document, **changes}


@pytest.mark.parametrize("changes, problem", [
    ({}, None),
    ({"time": NOW - 11}, "not rewritten for 11 s"),
    ({"joined": False}, "not joined"),
    ({"wamp": False, "joined": False}, None),
    ({"cycling": False}, "cycle is not advancing"),
    ({"status": "Stopped", "cycling": False}, None),
])
def test_runtime_health_rules(changes, problem):
    found = health_file.runtime_problem(runtime_doc(**changes), NOW)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.parametrize("joined, runtimes, problem", [
    (True, {"erpc-07": {"reachable": True, "on_router": True}}, None),
    (False, {}, "not joined"),
    (True, {"erpc-07": {"reachable": False, "on_router": True, "problem": "refused"}},
     "erpc-07 unreachable (refused)"),
    (True, {"erpc-07": {"reachable": True, "on_router": False}}, "erpc-07 not registered"),
])
def test_bridge_health_rules(joined, runtimes, problem):
    found = health_file.bridge_problem(health_file.bridge_document(NOW, joined, runtimes), NOW)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.parametrize("joined, failing_since, problem", [
    (True, None, None),
    (False, None, "not joined"),
    (True, NOW - 30, "the database refuses writes for 30 s (7 records waiting)"),
])
def test_registry_health_rules(joined, failing_since, problem):
    document = health_file.registry_document(NOW, joined, failing_since, 7)
    found = health_file.registry_problem(document, NOW)
    assert (found is None) if problem is None else (problem in found), found
    assert "stuck" in health_file.registry_problem(document, NOW + 60)


@pytest.mark.slow
def test_registry_writes_health_joined(router, tmp_path):
    from registry_fixtures import RegistryProcess
    path = tmp_path / "registry-health.json"
    registry = RegistryProcess(router, f"sqlite:///{tmp_path / 'r.sqlite'}", tmp_path,
                               "--health-file", str(path)).start()
    try:
        wait_until(lambda: path.exists() and healthcheck("registry", str(path)) == (0, "healthy"),
                   timeout=15, message="a healthy registry health file")
        registry.stop()
        assert healthcheck("registry", str(path))[0] == 0   # fresh for STALE_AFTER seconds
        document = json.loads(path.read_text())
        assert "stuck" in health_file.registry_problem(document, document["time"] + 60)
    finally:
        registry.stop()


def test_unreadable_health_files_are_unhealthy(tmp_path):
    assert healthcheck("runtime", str(tmp_path / "none.json")) == \
        (1, f"unhealthy: no health file {tmp_path / 'none.json'} yet")
    (tmp_path / "bad.json").write_text("[1, 2]")
    code, said = healthcheck("bridge", str(tmp_path / "bad.json"))
    assert code == 1 and "not a health document" in said
    assert healthcheck("nonsense", "x")[0] == 2


@pytest.mark.slow
def test_runtime_writes_health_joined_and_cycling(router, tmp_path):
    health = tmp_path / "plc-03" / "health.json"
    runtime = router.start_runtime("plc-03", tmp_path / "plc-03", autostart=True)
    try:
        wait_until(lambda: health.exists() and json.loads(health.read_text())["cycling"],
                   timeout=15, message="a health file saying the cycle advances")
        document = json.loads(health.read_text())
        assert document["joined"] and document["wamp"] and document["status"] == "Started"
        assert healthcheck("runtime", str(health)) == (0, "healthy")
        router.client("ide").call("plc-03.StopPLC")
        wait_until(lambda: json.loads(health.read_text())["status"] == "Stopped", timeout=10,
                   message="Stopped in the health file")
        assert healthcheck("runtime", str(health)) == (0, "healthy")  # stopped is a valid state
    finally:
        runtime.stop()
    document = json.loads(health.read_text())
    assert not document["joined"], "a runtime leaving the router says so"
    assert healthcheck("runtime", str(health))[1].startswith("unhealthy: not joined")


@pytest.mark.slow
def test_erpc_only_runtime_health_has_no_router(tmp_path):
    runtime = ErpcRuntime(tmp_path / "erpc", "--autostart", plc_id="erpc-05")
    health = tmp_path / "erpc" / "health.json"
    try:
        wait_until(lambda: health.exists() and json.loads(health.read_text())["cycling"],
                   timeout=15, message="cycling in the health file")
        assert not json.loads(health.read_text())["wamp"]
        assert healthcheck("runtime", str(health)) == (0, "healthy")
    finally:
        runtime.stop()


@pytest.fixture
def psk_file(tmp_path):
    path = tmp_path / "erpc-06.psk"
    path.write_text("erpc-06:" + "s3cret-for-the-tls-front-test" * 2 + "\n")
    return str(path)


def start_front(tmp_path, accept_port, erpc_port, psk_file):
    front = Child("tls-front", [sys.executable, "-m", "plclink.tls_front", "--accept",
                                f"127.0.0.1:{accept_port}", "--connect",
                                f"localhost:{erpc_port}", "--psk-file", psk_file], quiet=True)
    if not front.wait_for_line("Configuration successful", 20):
        front.stop()
        raise RuntimeError("stunnel did not start:\n" + "".join(front.lines[-20:]))
    return front


@pytest.mark.slow
def test_tls_front_follows_a_restarted_runtime_and_healthcheck_says_so(tmp_path, psk_file):
    erpc_port, front_port = free_port(), free_port()
    uri = f"ERPCS://127.0.0.1:{front_port}#erpc-06"
    runtime = ErpcRuntime(tmp_path / "erpc", "--psk-file", psk_file, plc_id="erpc-06",
                          port=erpc_port)
    front = start_front(tmp_path, front_port, erpc_port, psk_file)
    try:
        assert healthcheck("erpcs", uri, psk_file) == (0, "healthy")
        runtime.stop()
        code, said = healthcheck("erpcs", uri, psk_file)
        assert code == 1 and said.startswith("unhealthy:"), said
        runtime = ErpcRuntime(tmp_path / "erpc", "--psk-file", psk_file, plc_id="erpc-06",
                              port=erpc_port)
        assert healthcheck("erpcs", uri, psk_file) == (0, "healthy")  # the same front
        wrong = tmp_path / "wrong.psk"
        wrong.write_text("erpc-06:" + "not-the-secret-of-this-runtime" * 2 + "\n")
        code, said = healthcheck("erpcs", uri, str(wrong))
        assert code == 1, said
    finally:
        front.stop()
        runtime.stop()


def test_tls_front_refuses_bad_arguments(tmp_path, psk_file):
    def front(*args):
        return subprocess.run([sys.executable, "-m", "plclink.tls_front", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=30)
    result = front("--accept", "4000", "--connect", "erpc-07:3000", "--psk-file", psk_file)
    assert result.returncode == 2 and "'4000' is not HOST:PORT" in result.stderr
    (tmp_path / "short.psk").write_text("erpc-06:short\n")
    result = front("--accept", "127.0.0.1:1", "--connect", "x:3000", "--psk-file",
                   str(tmp_path / "short.psk"))
    assert result.returncode == 2 and "shorter than 16 bytes" in result.stderr


@pytest.mark.slow
def test_bridge_health_file_follows_each_carried_runtime(router, tmp_path):
    runtime = ErpcRuntime(tmp_path / "erpc", plc_id="erpc-09")
    secret = tmp_path / "bridge.secret"
    secret.write_text(router.secret("bridge"))
    config = tmp_path / "bridge.yaml"
    config.write_text(f"runtimes:\n  - id: erpc-09\n    uri: \"{runtime.uri}\"\n")
    health = tmp_path / "bridge-health.json"
    bridge = Child("bridge", [sys.executable, "-m", "plclink.cli", "bridge", "--config",
                              str(config), "--url", router.url, "--secret-file", str(secret),
                              "--health-file", str(health)], quiet=True)
    try:
        wait_until(lambda: healthcheck("bridge", str(health)) == (0, "healthy"), timeout=30,
                   interval=0.5, message="a healthy bridge")
        runtime.stop()
        wait_until(lambda: "erpc-09 unreachable" in healthcheck("bridge", str(health))[1],
                   timeout=15, interval=0.5, message="the bridge's health naming erpc-09")
    finally:
        bridge.stop()
        runtime.stop()
