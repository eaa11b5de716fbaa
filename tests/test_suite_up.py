"""`plclink up`, the README's first command, as a user runs it: everything comes up, Ctrl-C
stops everything."""
import json
import os
import signal
import subprocess
import sys

import pytest

from harness import free_port, up_gateway_ports, wait_until
from plclink.processes import Child, plclink_command
from router import certificates

pytestmark = pytest.mark.slow


def test_up_runs_the_whole_suite_and_ctrl_c_stops_it(tmp_path):
    ports = {name: free_port() for name in ("ws", "raw", "web", "erpc", "tls")}
    state = tmp_path / "state"
    tls = certificates.generate(str(tmp_path / "tls"))
    up = Child("up", plclink_command(
        "up", "--state-dir", str(state), "--ws-port", str(ports["ws"]),
        "--rawsocket-port", str(ports["raw"]), "--web-port", str(ports["web"]),
        "--erpc-port", str(ports["erpc"]), "--tls-cert", tls["server.pem"],
        "--tls-key", tls["server.key"], "--tls-port", str(ports["tls"]), *up_gateway_ports()),
        quiet=True)
    try:
        assert up.wait_for_line("plclink suite is up", 120), "".join(up.lines[-30:])
        assert oct(os.stat(state / "principals.yaml").st_mode & 0o777) == "0o600"
        assert any(f"wss://127.0.0.1:{ports['tls']}" in line and
                   f"PLCLINK_CA_FILE={tls['ca.pem']}" in line for line in up.lines)
        env = {**os.environ, "PLCLINK_CREDENTIALS": str(state / "credentials.yaml")}
        listed = subprocess.run([sys.executable, "-m", "plclink.cli", "fleet", "list", "--json"],
                                env=env, capture_output=True, text=True, timeout=60)
        fleet = {entry["id"]: entry for entry in json.loads(listed.stdout)}
        assert {"plc-01", "plc-02", "erpc-07"} <= set(fleet)
        assert fleet["erpc-07"]["bridged"] and fleet["plc-01"]["status"] == "Started"
        # the bridge asks the plclink runtime behind it which program it holds
        assert fleet["erpc-07"]["md5"] == fleet["plc-01"]["md5"] is not None, fleet["erpc-07"]
        assert fleet["plc-01"]["last_seen"], "fleet list reads the registry's table"
        assert (state / "registry.sqlite").exists()
        over_tls = subprocess.run(
            [sys.executable, "-m", "plclink.cli", "status", "--json", "--uri",
             f"WAMPS://127.0.0.1:{ports['tls']}#Automation#plc-02"],
            env={**env, "PLCLINK_CA_FILE": tls["ca.pem"]}, capture_output=True, text=True,
            timeout=60)
        assert json.loads(over_tls.stdout)["status"] == "Started", over_tls.stderr
        # The registry dying takes nothing else down: up starts it again, the runtimes go on.
        registry = subprocess.run(["pgrep", "-f", f"registry --state-dir {state}"],
                                  capture_output=True, text=True).stdout.split()
        assert len(registry) == 1, registry
        os.kill(int(registry[0]), signal.SIGKILL)
        assert up.wait_for_line("starting it again", 30), "".join(up.lines[-30:])
        wait_until(lambda: sum("registry caught up" in line for line in up.lines) >= 2, 60,
                   message="the restarted registry caught up")
        again = subprocess.run([sys.executable, "-m", "plclink.cli", "status", "--id", "plc-01",
                                "--json"], env=env, capture_output=True, text=True, timeout=60)
        assert json.loads(again.stdout)["status"] == "Started", again.stderr
        assert up.running
        assert not any("Traceback" in line for line in up.lines), "".join(up.lines)
    finally:
        up.process.send_signal(signal.SIGINT)
        code = up.process.wait(60)
    assert code == 0
    noises = ("Starting factory", "Stopping factory", "trying transport", "Main loop terminated",
              "session leaving", "Received SIGTERM")   # crossbar's own lines are its business
    chatter = [line for line in up.lines if not line.startswith("[router]")
               and any(noise in line for noise in noises)]
    assert chatter == [], "libraries' chatter in the operators' log"
    for service in ("plc-01", "plc-02", "erpc-07", "bridge", "registry", "opcua"):
        assert any(line.startswith(f"[{service}]") and line.rstrip().endswith(" stopped")
                   for line in up.lines), f"{service} did not say it stopped"
    leftovers = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left running: {leftovers}"
