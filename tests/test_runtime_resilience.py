"""Kills, restarts and files changing under a running PLC, with real processes."""
import hashlib
import os
import signal
import threading
import time

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM, Router, next_event, wait_until
from ide_component.blob_plan import read_transfer
from plc_protocol import iec_types
from test_router_runtime import raw_transfer, read

pytestmark = pytest.mark.slow
PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")


def big_program(megabytes: float) -> bytes:
    padding = b"# padding to make the transfer and the install take a while\n"
    return read(DEMO_PROGRAM) + padding * int(megabytes * 1024 * 1024 / len(padding))


def kill(child):
    child.signal(signal.SIGKILL)
    child.process.wait()


def installed_files(workdir):
    current = os.path.join(workdir, "current")
    return {name: read(os.path.join(current, name)) for name in os.listdir(current)}


def test_kill_during_transfer_keeps_previous_program(router, runtimes, ide, tmp_path):
    old_md5 = read_transfer(DEMO_PROGRAM, [DEMO_CSV]).md5   # how the runtime installs --program
    child = runtimes.start("plc-b", workdir=tmp_path / "plc-b")
    assert ide.call("plc-b.MatchMD5", old_md5)
    errors = []
    transfer = threading.Thread(target=lambda: _transfer_expecting_loss(ide, errors), daemon=True)
    transfer.start()
    time.sleep(0.7)
    kill(child)
    transfer.join(30)
    assert errors, "the transfer should have been cut by the kill"
    runtimes.start("plc-b", workdir=tmp_path / "plc-b", program=None)
    assert ide.call("plc-b.MatchMD5", old_md5) is True
    assert ide.call("plc-b.GetPLCstatus")[0] == "Stopped"


def _transfer_expecting_loss(ide, errors):
    try:
        raw_transfer(ide, "plc-b", big_program(4), chunk=4095)
    except Exception as error:  # the runtime vanished under us
        errors.append(error)


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.3])
def test_kill_during_install_never_leaves_a_mixture(router, runtimes, ide, tmp_path, delay):
    workdir = tmp_path / "plc-b"
    child = runtimes.start("plc-b", workdir=workdir)
    old_md5 = read_transfer(DEMO_PROGRAM, [DEMO_CSV]).md5   # how the runtime installs --program
    before = installed_files(workdir)
    program = big_program(2)
    extra = os.urandom(6 * 1024 * 1024)
    md5 = hashlib.md5(program).hexdigest()
    # upload both blobs, then fire NewPLC and kill while it installs
    blobs = []
    for name, data in (("data.bin", extra), (md5, program)):
        blob = ide.call("plc-b.SeedBlob", name.encode())
        for start in range(0, len(data), 512 * 1024):
            blob = ide.call("plc-b.AppendChunkToBlob", data[start:start + 512 * 1024], blob)
        blobs.append(blob)
    from ide_component import reactor_thread
    reactor_thread.blocking(lambda: ide.session.call("plc-b.NewPLC", md5, blobs[1],
                                                     [["data.bin", blobs[0]]]).addErrback(lambda f: None)
                            and None)
    time.sleep(delay)
    kill(child)
    runtimes.start("plc-b", workdir=workdir, program=None)
    after = installed_files(workdir)
    if ide.call("plc-b.MatchMD5", md5):
        assert after["program.py"] == program and after["data.bin"] == extra
        assert after["lasttransferedPLC.md5"].decode() == md5
    else:
        assert ide.call("plc-b.MatchMD5", old_md5) is True
        assert after == before
    assert ide.call("plc-b.GetPLCstatus")[0] == "Stopped"
    assert sorted(os.listdir(workdir / "programs")) == [os.path.basename(os.readlink(workdir / "current"))]


def _trace_values(ide, plc_id, variables, orders, wait=0.15):
    """Values of the traced variables (``variables``: (name, type) by index) in the last sample."""
    token = ide.call(f"{plc_id}.SetTraceVariablesList", orders)
    assert token > 0
    time.sleep(wait)
    status, samples = ide.call(f"{plc_id}.GetTraceVariables", token)
    assert samples, "no trace samples"
    return iec_types.decode_sample([variables[idx][1] for idx, _ in orders], samples[-1][1])


def test_csv_edits_on_disk_and_program_writes_every_time(router, runtimes, ide, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("name,value\nspeed,10\n")
    child = runtimes.start("plc-a", program=os.path.join(PROGRAMS, "csv_io.py"),
                           extras=(str(data),), autostart=True)
    installed = os.path.join(child.workdir, "current", "data.csv")
    variables = [("value", "STRING"), ("write", "BOOL"), ("written", "DINT")]
    seen = []
    for value in ("11", "12", "13"):
        with open(installed) as handle:
            text = handle.read()
        with open(installed + ".tmp", "w") as handle:
            handle.write(text.replace(f"speed,{int(value) - 1}", f"speed,{value}"))
        os.replace(installed + ".tmp", installed)
        wait_until(lambda: _trace_values(ide, "plc-a", variables, [[0, b""]], wait=0.05)[0] == value,
                   timeout=5, message=f"the program to read speed={value}")
        seen.append(value)
    assert seen == ["11", "12", "13"]
    for burst in range(3):
        # force write=TRUE for a few cycles, then FALSE: one burst of writes
        _trace_values(ide, "plc-a", variables, [[0, b""], [1, b"\x01"], [2, b""]], wait=0.05)
        written = _trace_values(ide, "plc-a", variables, [[0, b""], [1, b"\x00"], [2, b""]],
                                wait=0.05)[2]
        wait_until(lambda: f"out,{written}" in open(installed).read(), timeout=5,
                   message=f"burst {burst + 1} (out={written}) to reach the file")


def test_router_restart_while_plc_runs(tmp_path):
    own_router = Router(tmp_path / "state").start()
    runtime = None
    try:
        runtime = own_router.start_runtime("plc-09", tmp_path / "plc-09",
                                           program=os.path.join(PROGRAMS, "all_types.py"),
                                           extras=(), autostart=True)
        ide = own_router.client("ide")
        counter = {20: ("counter", "DINT")}
        before = _trace_values(ide, "plc-09", counter, [[20, b""]])[0]
        joins = sum("joined realm" in line for line in runtime.lines)
        started = time.monotonic()
        own_router.kill()
        wait_until(lambda: any("left the router" in line for line in runtime.lines), timeout=10,
                   message="the runtime to notice the router is gone")
        time.sleep(1)
        own_router.start()
        wait_until(lambda: sum("joined realm" in line for line in runtime.lines) > joins,
                   timeout=30, message="the runtime to rejoin")
        ide = own_router.client("ide")
        after = _trace_values(ide, "plc-09", counter, [[20, b""]])[0]
        elapsed = time.monotonic() - started
        assert ide.call("plc-09.GetPLCstatus")[0] == "Started"
        # 10 ms period: the counter kept counting the whole time the router was away
        assert after - before >= 0.8 * elapsed / 0.01
        events = ide.subscribe("plc-09.log")
        ide.call("plc-09.StopPLC")
        next_event(events, lambda a, k: a[2] == "PLC stopped")
    finally:
        if runtime is not None:
            runtime.stop()
        own_router.stop()
