"""`plclink up`, the README's first command, as a user runs it: everything comes up, Ctrl-C
stops everything."""
import json
import os
import signal
import subprocess
import sys

import pytest

from harness import free_port
from plclink.processes import Child, plclink_command

pytestmark = pytest.mark.slow


def test_up_runs_the_whole_suite_and_ctrl_c_stops_it(tmp_path):
    ports = {name: free_port() for name in ("ws", "raw", "web", "erpc")}
    state = tmp_path / "state"
    up = Child("up", plclink_command(
        "up", "--state-dir", str(state), "--ws-port", str(ports["ws"]),
        "--rawsocket-port", str(ports["raw"]), "--web-port", str(ports["web"]),
        "--erpc-port", str(ports["erpc"])), quiet=True)
    try:
        assert up.wait_for_line("plclink suite is up", 120), "".join(up.lines[-30:])
        assert oct(os.stat(state / "principals.yaml").st_mode & 0o777) == "0o600"
        env = {**os.environ, "PLCLINK_CREDENTIALS": str(state / "credentials.yaml")}
        listed = subprocess.run([sys.executable, "-m", "plclink.cli", "fleet", "list", "--json"],
                                env=env, capture_output=True, text=True, timeout=60)
        fleet = {entry["id"]: entry for entry in json.loads(listed.stdout)}
        assert {"plc-01", "plc-02", "erpc-07"} <= set(fleet)
        assert fleet["erpc-07"]["bridged"] and fleet["plc-01"]["status"] == "Started"
        assert fleet["plc-01"]["last_seen"], "fleet list reads the registry's table"
        assert (state / "registry.sqlite").exists()
        assert not any("Traceback" in line for line in up.lines), "".join(up.lines)
    finally:
        up.process.send_signal(signal.SIGINT)
        code = up.process.wait(60)
    assert code == 0
    leftovers = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left running: {leftovers}"
