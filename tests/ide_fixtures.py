"""Fixtures of the IDE tests: the real ``plclink`` command run as a subprocess with credentials
of the ``ide`` principal, module-wide runtimes, and generated PLC programs."""
import json
import os
import subprocess
import sys
import threading

import pytest
import yaml

from harness import wait_until

PLCLINK = os.path.join(os.path.dirname(sys.executable), "plclink")


class CLI:
    def __init__(self, env):
        self.env = env

    def run(self, *args, timeout=60, env=None) -> subprocess.CompletedProcess:
        return subprocess.run([PLCLINK, *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def json(self, *args, **kwargs):
        """(exit code, parsed stdout, stderr)."""
        done = self.run(*args, "--json", **kwargs)
        return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr

    def start(self, *args) -> "Running":
        return Running(subprocess.Popen([PLCLINK, *args], env=self.env, text=True, bufsize=1,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL))


class Running:
    """A command left running (logs --follow, a long deploy): its lines as they come."""

    def __init__(self, process):
        self.process = process
        self.stdout, self.stderr = [], []
        for stream, lines in ((process.stdout, self.stdout), (process.stderr, self.stderr)):
            threading.Thread(target=lambda s=stream, out=lines: out.extend(iter(s.readline, "")),
                             daemon=True).start()

    def wait_for(self, lines, predicate, timeout=15, what="output"):
        return wait_until(lambda: next((line for line in list(lines) if predicate(line)), None),
                          timeout, message=what)

    def finish(self, timeout=60) -> int:
        return self.process.wait(timeout)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture(scope="session")
def ide_credentials(router, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ide") / "credentials.yaml"
    path.write_text(yaml.safe_dump({"router": router.url, "realm": router.realm, "authid": "ide",
                                    "secret": router.secret("ide")}))
    return str(path)


@pytest.fixture(scope="session")
def cli(ide_credentials) -> CLI:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PLCLINK_")}
    return CLI({**env, "PLCLINK_CREDENTIALS": ide_credentials})


@pytest.fixture(scope="module")
def module_runtimes(router, tmp_path_factory):
    """``start(ID, **options)`` like the runtimes fixture, but kept for the whole module."""
    started = []

    def start(plc_id, **options):
        child = router.start_runtime(plc_id, tmp_path_factory.mktemp(plc_id), **options)
        started.append(child)
        return child
    yield start
    for child in started:
        child.stop()


def write_every_type_program(path) -> str:
    """One variable per IEC type, named v_<type>, declared from the type table itself."""
    path.write_text(
        "from plc_protocol.iec_types import IEC_TYPES\n"
        "VARIABLES = [(f'v_{name.lower()}', name) for name in IEC_TYPES]\n\n\n"
        "def cycle(plc):\n    pass\n")
    return str(path)


def write_big_program(path, size: int) -> str:
    """A valid program padded with comment lines to ``size`` bytes."""
    body = "VARIABLES = [('count', 'DINT', 0)]\n\n\ndef cycle(plc):\n    plc.vars.count += 1\n"
    line = "# " + "padding " * 8 + "\n"
    path.write_text(body + line * ((size - len(body)) // len(line)))
    return str(path)
