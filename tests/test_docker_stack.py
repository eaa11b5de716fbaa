"""The docker-compose stack, for real, when a Docker daemon answers (docker/smoke_test.py)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def docker_daemon_answers() -> bool:
    if not (shutil.which("docker") and shutil.which("docker-compose")):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not docker_daemon_answers(),
                    reason="no Docker daemon answers (and docker-compose is needed): run "
                           "'python docker/smoke_test.py' on a machine with Docker")
def test_compose_stack_smoke():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "docker", "smoke_test.py")],
                            cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "smoke: passed" in result.stdout
