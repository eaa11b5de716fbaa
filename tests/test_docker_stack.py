"""The docker-compose stack, for real (docker/smoke_test.py), only when asked: it builds an image
and runs a stack for several minutes, so PLCLINK_DOCKER_SMOKE=1 turns it on (a daemon that
happens to answer does not). PLCLINK_DOCKER_SMOKE=host runs the host-network mode instead,
PLCLINK_DOCKER_SMOKE=sites the sites stack (HQ and two plants)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASKED = os.environ.get("PLCLINK_DOCKER_SMOKE", "")


MODES = {"1": [], "host": ["--host-network"], "sites": ["--sites"]}


@pytest.mark.slow
@pytest.mark.skipif(ASKED not in MODES,
                    reason="the Docker smoke test runs only when asked: PLCLINK_DOCKER_SMOKE=1 "
                           "(=host for host networking, =sites for the sites stack), with a "
                           "Docker daemon and docker-compose; or run 'python docker/smoke_test.py'")
def test_compose_stack_smoke():
    command = [sys.executable, os.path.join(ROOT, "docker", "smoke_test.py")]
    result = subprocess.run(command + MODES[ASKED],
                            cwd=ROOT, capture_output=True, text=True, timeout=2400)
    if result.returncode == 77:
        pytest.fail("PLCLINK_DOCKER_SMOKE is set but no Docker daemon answers (or "
                    "docker-compose is missing): " + result.stdout[-500:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "smoke: passed" in result.stdout
