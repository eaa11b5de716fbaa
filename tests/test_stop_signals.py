"""SIGTERM (a supervisor) and SIGINT (Ctrl-C) stop `plclink router` and `plclink up` within 5 s,
with every process they started gone, none left as a zombie."""
import os
import signal
import time

import pytest

from harness import Router, free_port, up_gateway_ports
from plclink.processes import Child, plclink_command

pytestmark = pytest.mark.slow
STOP_LIMIT = 5.0


def _stat(pid: int) -> list | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on


def descendants(root: int) -> dict:
    """{pid: start time} of every process below ``root`` (whatever its session)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))):
            parents[int(entry)] = (int(fields[1]), fields[19])
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def still_there(processes: dict) -> list:
    """The processes of a snapshot that still exist (running or zombie), pid reuse excluded."""
    left = []
    for pid, started in processes.items():
        fields = _stat(pid)
        if fields is not None and fields[19] == started:
            left.append(f"{pid} state {fields[0]}")
    return left


def stop_and_measure(child: Child, signum, to_group: bool) -> float:
    """Signal as a supervisor (the process) or a terminal (its process group) does."""
    tree = descendants(child.process.pid)
    assert tree, "the service started no process"
    started = time.monotonic()
    if to_group:
        os.killpg(child.process.pid, signum)
    else:
        child.process.send_signal(signum)
    try:
        code = child.process.wait(30)
    finally:
        child.signal(signal.SIGKILL)
    elapsed = time.monotonic() - started
    assert code == 0, "".join(child.lines[-20:])
    assert still_there(tree) == []
    return elapsed


@pytest.mark.parametrize("signum, to_group", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_router_stops_within_5_s(tmp_path, signum, to_group):
    router = Router(tmp_path).start()
    assert stop_and_measure(router.child, signum, to_group) < STOP_LIMIT


def start_up(tmp_path, ready_line: str) -> Child:
    """``plclink up`` on free ports, once it printed ``ready_line``."""
    ports = [str(free_port()) for _ in range(4)]
    up = Child("up", plclink_command(
        "up", "--state-dir", str(tmp_path / "state"), "--ws-port", ports[0],
        "--rawsocket-port", ports[1], "--web-port", ports[2], "--erpc-port", ports[3],
        *up_gateway_ports()),
        quiet=True)
    if not up.wait_for_line(ready_line, 120):
        up.stop()
        raise AssertionError("".join(up.lines[-30:]))
    return up


@pytest.mark.parametrize("signum, to_group", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_up_stops_within_5_s(tmp_path, signum, to_group):
    up = start_up(tmp_path, "plclink suite is up")
    assert stop_and_measure(up, signum, to_group) < STOP_LIMIT


def test_up_stops_while_starting(tmp_path):
    up = start_up(tmp_path, "[router] router ready")
    assert stop_and_measure(up, signal.SIGTERM, False) < STOP_LIMIT
