"""Each service's /metrics moves when its cause happens (docs/metrics.md): real runtimes,
bridge, registry and OPC UA gateway processes scraped over HTTP on 127.0.0.1."""
import os
import signal
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from erpc_harness import Bridge, ErpcRuntime
from harness import free_port, wait_until
from registry_fixtures import RegistryProcess, registry_call

pytestmark = pytest.mark.slow
PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")


def scrape(port) -> dict:
    """{(sample name, sorted label items): value} of one scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(port, name, **labels):
    try:
        return scrape(port).get((name, tuple(sorted(labels.items()))))
    except OSError:
        return None


def test_runtime_metrics(router, runtimes, tmp_path):
    port = free_port()
    runtimes.start("plc-08", "--metrics-port", str(port), "--period-ms", "10",
                   "--watchdog-ms", "500", program=os.path.join(PROGRAMS, "overruns_then_hangs.py"),
                   extras=(), autostart=True)
    wait_until(lambda: value(port, "plclink_runtime_status", runtime="plc-08",
                             status="Broken") == 1, timeout=60, message="Broken after the watchdog")
    metrics = scrape(port)
    assert metrics[("plclink_runtime_watchdog_trips_total", ())] == 1
    assert metrics[("plclink_runtime_program_process_starts_total", ())] >= 1
    assert metrics[("plclink_runtime_log_messages_total", (("level", "critical"),))] >= 1
    assert metrics[("plclink_runtime_status", (("runtime", "plc-08"), ("status", "Started")))] == 0
    assert metrics[("plclink_runtime_scan_lateness_seconds_count", ())] >= 20
    assert metrics[("plclink_runtime_overruns_total", ())] >= 1

    healthy = free_port()
    runtimes.start("plc-09", "--metrics-port", str(healthy), autostart=True)
    wait_until(lambda: value(healthy, "plclink_runtime_status", runtime="plc-09",
                             status="Started") == 1, timeout=60, message="Started")
    first = value(healthy, "plclink_runtime_scan_lateness_seconds_count")
    wait_until(lambda: value(healthy, "plclink_runtime_scan_lateness_seconds_count") > first,
               timeout=30, message="more cycles measured")
    assert value(healthy, "plclink_runtime_program_resident_memory_bytes") > 1_000_000
    assert value(healthy, "plclink_runtime_watchdog_trips_total") == 0


@pytest.mark.parametrize("command", ["runtime --workdir w", "bridge --config b.yaml",
                                     "registry --secret-file s", "opcua --secret-file s"])
def test_metrics_are_off_unless_asked(command):
    from plc_protocol import metrics_endpoint
    from plclink.cli import build_parser
    args = build_parser().parse_args(command.split())
    assert args.metrics_port is None and metrics_endpoint.serve(args) is None
    assert build_parser().parse_args(["up"]).metrics_port == 9300   # on in plclink up


def test_bridge_metrics(router, tmp_path):
    plc_id = "erpc-m1"
    erpc_port, port = free_port(), free_port()
    runtime = ErpcRuntime(tmp_path / plc_id, plc_id=plc_id, port=erpc_port)
    bridge = Bridge(router, str(tmp_path))
    bridge.write(**{plc_id: {"uri": f"ERPC://127.0.0.1:{erpc_port}", "poll_interval": 0.2}})
    bridge.start("--metrics-port", str(port))
    try:
        wait_until(lambda: value(port, "plclink_bridge_runtime_reachable", runtime=plc_id) == 1,
                   timeout=30, message="reachable")
        calls = value(port, "plclink_bridge_call_duration_seconds_count", runtime=plc_id)
        wait_until(lambda: value(port, "plclink_bridge_call_duration_seconds_count",
                                 runtime=plc_id) > calls, timeout=10, message="polls timed")
        assert value(port, "plclink_bridge_reconnects_total", runtime=plc_id) == 0

        runtime.child.signal(signal.SIGKILL)
        wait_until(lambda: value(port, "plclink_bridge_runtime_reachable", runtime=plc_id) == 0,
                   timeout=30, message="unreachable")
        assert value(port, "plclink_bridge_erpc_errors_total", runtime=plc_id) >= 1
        runtime.child.stop()
        runtime = ErpcRuntime(tmp_path / plc_id, plc_id=plc_id, port=erpc_port, program=None)
        wait_until(lambda: value(port, "plclink_bridge_reconnects_total", runtime=plc_id) == 1,
                   timeout=30, message="a reconnect")
        assert value(port, "plclink_bridge_runtime_reachable", runtime=plc_id) == 1
    finally:
        bridge.stop()
        runtime.stop()


def test_registry_metrics(router, runtimes, tmp_path):
    port = free_port()
    registry = RegistryProcess(router, f"sqlite:///{tmp_path / 'registry.sqlite'}", tmp_path,
                               "--metrics-port", str(port)).start()
    ide = router.client("ide")
    try:
        written = value(port, "plclink_registry_records_written_total")
        runtimes.start("plc-06", autostart=True)   # its status, logs and values are records
        wait_until(lambda: value(port, "plclink_registry_records_written_total") > written,
                   timeout=30, message="records written")
        assert value(port, "plclink_registry_backlog_records") is not None
        assert value(port, "plclink_registry_database_errors_total") == 0
        wait_until(lambda: (value(port, "plclink_registry_runtime_sessions") or 0) >= 1,
                   timeout=30, message="the runtime's session seen")
        queries = value(port, "plclink_registry_query_duration_seconds_count",
                        procedure="runtimes") or 0
        registry_call(ide, "runtimes")
        assert value(port, "plclink_registry_query_duration_seconds_count",
                     procedure="runtimes") == queries + 1
        wait_until(lambda: (value(port, "plclink_router_sessions") or 0) >= 3, timeout=40,
                   message="the realm's sessions from the meta API")
        assert value(port, "plclink_router_registrations") >= 1
    finally:
        ide.close()
        registry.stop()


def test_grafana_dashboard_uses_documented_metrics():
    import json
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "deploy", "grafana-dashboard.json")) as handle:
        exprs = [target["expr"] for panel in json.load(handle)["panels"]
                 for target in panel["targets"]]
    with open(os.path.join(root, "docs", "metrics.md")) as handle:
        documented = handle.read()
    used = {re.sub(r"_bucket$", "", name) for expr in exprs
            for name in re.findall(r"plclink_[a-z_]+", expr)}
    assert used and all(f"`{name}" in documented for name in used), sorted(used)


def test_service_log_drops_the_libraries_chatter_and_keeps_the_services_lines():
    import io
    from plc_protocol.service_log import _WithoutChatter
    from txaio._iotype import guess_stream_needs_encoding
    out = io.StringIO()
    log = _WithoutChatter(out)
    assert not guess_stream_needs_encoding(log)   # txaio writes it text, as to stdout
    for line in ("2026-12-06T07:17:45+0000 Site starting on 9303\n",
                 '2026-12-06T07:17:45+0000 trying transport 0 ("ws://127.0.0.1:8888") using '
                 "connect delay 0\n",
                 "2026-12-06T07:19:12+0000 Received SIGTERM, shutting down.\n",
                 "2026-12-06T07:17:45+0000 metrics on http://127.0.0.1:9303/metrics\n",
                 "2026-12-06T07:19:12+0000 runtime plc-02 stopped\n"):
        log.write(line)
    assert out.getvalue().splitlines() == [
        "2026-12-06T07:17:45+0000 metrics on http://127.0.0.1:9303/metrics",
        "2026-12-06T07:19:12+0000 runtime plc-02 stopped"]
