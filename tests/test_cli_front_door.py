"""What a new user meets first: no credentials, usage mistakes, and --json errors, with the
real ``plclink`` command (a router runs, so a refusal is the router's own)."""
import json
import os

import pytest

from harness import DEMO_PROGRAM
from ide_fixtures import CLI, cli, ide_credentials  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
NO_CREDENTIALS = "set PLCLINK_CREDENTIALS (see README)"
# Every IDE command, with arguments that would be valid with credentials.
COMMANDS = [
    ["status", "--id", "plc-01"], ["start", "--id", "plc-01"], ["stop", "--id", "plc-01"],
    ["repair", "--id", "plc-01"], ["transfer", "--id", "plc-01", DEMO_PROGRAM],
    ["logs", "--id", "plc-01"], ["vars", "--id", "plc-01"], ["trace", "--id", "plc-01", "level"],
    ["force", "--id", "plc-01", "pump=TRUE"], ["release", "--id", "plc-01", "--all"],
    ["write", "--id", "plc-01", "setpoint=55"], ["forces", "--id", "plc-01"], ["forces", "--all"],
    ["restart", "--id", "plc-01"],
    ["fleet", "list"], ["fleet", "status"], ["fleet", "start", "--all"],
    ["fleet", "stop", "--all"], ["fleet", "deploy", DEMO_PROGRAM, "--all"],
]


@pytest.fixture(scope="module")
def bare_cli():
    return CLI({key: value for key, value in os.environ.items()
                if not key.startswith("PLCLINK_")})


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_credentials_is_bad_input_saying_what_to_set(bare_cli, command):
    done = bare_cli.run(*command, "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert NO_CREDENTIALS in done.stderr and "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == 2 and NO_CREDENTIALS in document["error"]


def test_a_router_refusing_anonymous_clients_also_says_so(bare_cli, router):
    done = bare_cli.run("status", "--uri", f"WAMP://127.0.0.1:{router.ws_port}#Automation#plc-01")
    assert done.returncode == 2
    assert NO_CREDENTIALS in done.stderr and "refused the session" in done.stderr


@pytest.mark.parametrize("argv, code", [
    (["status", "--bogus"], 2),                        # argparse
    (["trace", "--id", "plc-01"], 2),                  # a missing argument
    (["status", "--id", "bad id"], 2),                 # our own validation
    (["status", "--uri", "WAMP://127.0.0.1:1#Automation#plc-01"], 2),  # nothing there, no creds
])
def test_json_errors_are_json_on_stdout_with_the_exit_code(bare_cli, argv, code):
    done = bare_cli.run(*argv, "--json")
    assert done.returncode == code
    document = json.loads(done.stdout)
    assert document["exit_code"] == code and document["error"]
    assert document["error"] in done.stderr


def test_json_errors_with_credentials_too(cli):
    done = cli.run("status", "--id", "no-such-plc", "--json")
    assert done.returncode == 3
    assert json.loads(done.stdout) == {
        "error": done.stderr.split(": error: ", 1)[1].strip(), "exit_code": 3}


@pytest.mark.parametrize("command", [["transfer", "--uri"], ["fleet", "deploy", "--router"]],
                         ids=" ".join)
def test_a_syntax_error_is_refused_even_with_no_router(bare_cli, tmp_path, command):
    from harness import free_port
    bad = tmp_path / "tank_v2.py"
    bad.write_text("def cycle(plc)\n    pass\n")
    where = f"ws://127.0.0.1:{free_port()}"   # nothing listens there
    target = f"WAMP://127.0.0.1:{where.rsplit(':', 1)[1]}#Automation#plc-01" \
        if command[0] == "transfer" else where
    done = bare_cli.run(*command, target, str(bad), *(["--all"] if command[0] == "fleet" else []))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{bad}, line 1: expected ':'" in done.stderr and "nothing was sent" in done.stderr
