"""The ``plclink`` IDE commands, run as real subprocesses against the real router and runtimes:
their output, for people and as JSON, and their exit codes."""
import csv
import io
import json

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM, free_port
from ide_fixtures import cli, ide_credentials, module_runtimes, write_every_type_program  # noqa: F401
from plc_protocol.iec_types import IEC_TYPES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tank(module_runtimes):
    """plc-05 runs the demo program."""
    module_runtimes("plc-05", autostart=True)
    return "plc-05"


def one_error_line(done, code, *fragments):
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


def test_transfer_skips_equal_md5_and_the_life_cycle_commands(cli, module_runtimes):
    module_runtimes("plc-06", program=None)
    code, state, _ = cli.json("status", "--id", "plc-06")
    assert (code, state["status"]) == (0, "Empty")

    code, result, _ = cli.json("transfer", "--id", "plc-06", DEMO_PROGRAM, DEMO_CSV)
    assert code == 0 and not result["skipped"] and result["status"] == "Stopped"
    assert result["sent_bytes"] > 0
    code, again, _ = cli.json("transfer", "--id", "plc-06", DEMO_PROGRAM, DEMO_CSV)
    assert code == 0 and again["skipped"] and again["md5"] == result["md5"]
    done = cli.run("transfer", "--id", "plc-06", DEMO_PROGRAM, DEMO_CSV, "--force", "--start",
                   "--progress", "--window", "1", "--chunk-size", "4095")
    assert done.returncode == 0 and "installed program" in done.stdout
    assert "status Started" in done.stdout
    assert "done" in done.stderr.splitlines()[-1] and "100%" in done.stderr

    done = cli.run("stop", "--id", "plc-06")
    assert done.returncode == 0 and done.stdout.startswith("plc-06: Stopped (logs: ")
    assert cli.json("repair", "--id", "plc-06")[1]["status"] == "Empty"
    one_error_line(cli.run("start", "--id", "plc-06"), 1, "cannot start: the PLC is Empty")


def test_status_and_variables_for_people(cli, tank):
    done = cli.run("status", "--id", tank)
    assert done.returncode == 0 and done.stdout.startswith("plc-05: Started (logs: 0 critical")
    done = cli.run("vars", "--id", tank)
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["INDEX", "NAME", "TYPE"] and lines[1].split() == ["0", "level", "REAL"]


def test_bad_targets_give_one_line_and_the_documented_code(cli, tank, router):
    one_error_line(cli.run("status", "--uri", "WAMP://127.0.0.1#Automation"), 2,
                   "missing runtime ID")
    one_error_line(cli.run("status", "--uri", "ftp://host"), 2, "unknown scheme 'ftp'")
    one_error_line(cli.run("status", env={"PLCLINK_URI": ""}), 2, "no runtime given")
    one_error_line(cli.run("status", "--id", "plc-zz"), 3, "no runtime 'plc-zz'")
    one_error_line(cli.run("status", "--uri", f"WAMP://127.0.0.1:{free_port()}#Automation#plc-05"),
                   3, "cannot reach router")
    one_error_line(cli.run("transfer", "--id", tank, "/nonexistent/p.py"), 2, "cannot read")
    one_error_line(cli.run("trace", "--id", tank, "nope", "--count", "1"), 2, "no variable 'nope'")


def test_logs_newest_then_follow_sees_new_messages(cli, tank, ide):
    done = cli.run("logs", "--id", tank, "-n", "3", "--json")
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and len(entries) == 3
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)

    follow = cli.start("logs", "--id", tank, "--follow", "-n", "0")
    try:
        follow.wait_for(follow.stderr, lambda line: line.startswith("following"), what="follow")
        ide.call(f"{tank}.StopPLC")
        ide.call(f"{tank}.StartPLC")
        follow.wait_for(follow.stdout, lambda line: "PLC stopped" in line, what="PLC stopped")
        follow.wait_for(follow.stdout, lambda line: "PLC started" in line, what="PLC started")
    finally:
        follow.stop()
    assert all(" INFO " in line or " DEBUG " in line or " WARNING " in line
               for line in follow.stdout)


def test_force_and_trace_every_iec_type_by_name(cli, module_runtimes, tmp_path):
    module_runtimes("plc-08", program=write_every_type_program(tmp_path / "types.py"),
                    extras=(), autostart=True)
    code, table, _ = cli.json("vars", "--id", "plc-08")
    assert [(v["name"], v["type"]) for v in table] == \
        [(f"v_{name.lower()}", name) for name in IEC_TYPES]

    chosen = {bool: True, int: 100, float: 2.5, str: "forced text"}
    wanted = {f"v_{name.lower()}": chosen[t.python_type] for name, t in IEC_TYPES.items()}
    code, forced, err = cli.json("force", "--id", "plc-08",
                                 *(f"{name}={value}" for name, value in wanted.items()))
    assert code == 0, err
    assert forced["values"] == wanted

    # Tracing lifts the forces, but the program never writes these variables: they keep the
    # forced values, now read through the trace path.
    done = cli.run("trace", "--id", "plc-08", *wanted, "--count", "2", "--json")
    samples = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and len(samples) == 2
    assert all(sample["values"] == wanted for sample in samples)

    done = cli.run("trace", "--id", "plc-08", "v_bool", "v_string", "--count", "3", "--csv")
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["tick", "v_bool", "v_string"] and len(rows) == 4
    assert rows[1][1:] == ["1", "forced text"] and int(rows[2][0]) > int(rows[1][0])

    code, released, _ = cli.json("release", "--id", "plc-08", "v_int")
    assert code == 0 and released["values"] == {"v_int": 100}
    assert cli.run("release", "--id", "plc-08", "--all").returncode == 0
    one_error_line(cli.run("force", "--id", "plc-08", "v_sint=1000"), 2, "out of range for SINT")
    one_error_line(cli.run("release", "--id", "plc-08"), 2, "or give --all")
