"""The command line against the REAL upstream Beremiz runtime (its Beremiz_service.py, eRPC),
running the tests' C program built as Beremiz builds it: vars, trace, force, forces, write and
release exit 0, a release really releases, and a trace ends without an error (upstream answers
-5 to the empty list that ends it). Skipped unless BEREMIZ_SRC names a Beremiz source tree;
BEREMIZ_PYTHON names the interpreter with its dependencies (default: BEREMIZ_SRC/../venv)."""
import os
import subprocess
import sys

import pytest

from beremiz_test_build import PREFIX, make_build
from harness import free_port, wait_until
from ide_fixtures import cli, ide_credentials  # noqa: F401

BEREMIZ_SRC = os.environ.get("BEREMIZ_SRC")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not BEREMIZ_SRC, reason="BEREMIZ_SRC is not set")]
COUNTER, SPEED = PREFIX + "COUNTER", PREFIX + "SPEED"


def beremiz_python() -> str:
    default = os.path.join(os.path.dirname(os.path.abspath(BEREMIZ_SRC or ".")), "venv", "bin",
                           "python")
    return os.environ.get("BEREMIZ_PYTHON") or (default if os.path.exists(default)
                                                else sys.executable)


@pytest.fixture
def beremiz(tmp_path):
    """Beremiz_service.py on 127.0.0.1, no taskbar, autostart, an empty working directory."""
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    log = open(tmp_path / "service.log", "w")
    process = subprocess.Popen(
        [beremiz_python(), os.path.join(BEREMIZ_SRC, "Beremiz_service.py"), "-p", str(port),
         "-i", "127.0.0.1", "-x", "0", "-a", "1", str(work)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: "eRPC port" in (tmp_path / "service.log").read_text(), timeout=60,
                   message="Beremiz_service.py listening")
        yield f"ERPC://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def counter_values(cli, uri, variables):
    done = cli.run("trace", "--uri", uri, "--variables", variables, COUNTER, "--count", "3",
                   "--csv")
    assert done.returncode == 0, done.stderr
    return [int(line.split(",")[1]) for line in done.stdout.splitlines()[1:]]


def test_the_cli_on_a_real_beremiz_runtime(cli, beremiz, tmp_path):
    build = make_build(str(tmp_path))
    variables = os.path.join(build, "VARIABLES.csv")
    target = ["--uri", beremiz, "--variables", variables]
    done = cli.run("transfer", "--uri", beremiz, build, "--start", timeout=120)
    assert done.returncode == 0 and "status Started" in done.stdout, done.stderr
    assert COUNTER in cli.run("vars", *target).stdout
    first = counter_values(cli, beremiz, variables)          # the trace ends with -5: exit 0
    assert first == sorted(first) and len(set(first)) == 3

    done = cli.run("force", *target, f"{COUNTER}=5000")
    assert done.returncode == 0 and f"{COUNTER} = 5000 (forced)" in done.stdout, done.stderr
    done = cli.run("forces", *target)
    assert done.returncode == 0 and "forces unknown" in done.stdout
    done = cli.run("write", *target, f"{SPEED}=77")
    assert done.returncode == 0, done.stderr

    done = cli.run("force", *target, f"{COUNTER}=5000")
    assert done.returncode == 0, done.stderr
    done = cli.run("release", *target, "--all")
    assert done.returncode == 0, done.stderr
    # The program counts again. (Upstream lifts forces only with a new non-empty list, which
    # release sends before the empty one; the trace below sends one as well.)
    later = counter_values(cli, beremiz, variables)
    assert later[0] != later[-1]
    done = cli.run("release", *target, COUNTER, "--restore")
    assert done.returncode == 1 and "--restore cannot work there" in done.stderr
