"""A real Prometheus (Debian's package, scripts/setup-system.sh) scrapes plclink up's services
with the scrape configuration plclink up writes (docs/metrics.md)."""
import json
import shutil
import signal
import urllib.parse
import urllib.request

import pytest

from harness import free_port, free_port_range, wait_until
from plclink.processes import Child, plclink_command

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="Debian's prometheus is not installed (scripts/setup-system.sh installs it)")]


def query(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())["data"]
    except OSError:
        return None


def test_prometheus_scrapes_every_service_of_plclink_up(tmp_path):
    state, metrics = tmp_path / "state", free_port_range(8)
    up = Child("up", plclink_command(
        "up", "--state-dir", str(state), "--runtimes", "1", "--ws-port", str(free_port()),
        "--rawsocket-port", str(free_port()), "--web-port", str(free_port()),
        "--erpc-port", str(free_port()), "--opcua-port", str(free_port()),
        "--metrics-port", str(metrics)), quiet=True)
    prometheus = None
    try:
        assert up.wait_for_line("plclink suite is up", 120), "".join(up.lines[-30:])
        port = free_port()
        prometheus = Child("prometheus", [
            "prometheus", f"--config.file={state / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            quiet=True)

        def all_up():
            targets = query(port, "/api/v1/targets")
            active = (targets or {}).get("activeTargets", [])
            return len(active) == 5 and all(t["health"] == "up" for t in active) and active
        jobs = {target["labels"]["job"] for target in wait_until(
            all_up, timeout=90, interval=1, message="every target scraped and up")}
        assert jobs == {"registry", "bridge", "erpc-07", "plc-01", "opcua"}
        for name, job in (("plclink_runtime_status", "plc-01"),
                          ("plclink_bridge_runtime_reachable", "bridge"),
                          ("plclink_registry_records_written_total", "registry"),
                          ("plclink_opcua_runtimes", "opcua")):
            result = wait_until(lambda: (query(port, "/api/v1/query", query=name) or {})
                                .get("result"), timeout=30, interval=1, message=name)
            assert {sample["metric"]["job"] for sample in result} >= {job}
        started = query(port, "/api/v1/query",
                        query='plclink_runtime_status{status="Started"}')["result"]
        assert {s["metric"]["runtime"]: s["value"][1] for s in started} == {
            "plc-01": "1", "erpc-07": "1"}
    finally:
        if prometheus is not None:
            prometheus.stop()
        up.process.send_signal(signal.SIGINT)
        up.process.wait(30)
