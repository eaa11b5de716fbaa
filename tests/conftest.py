"""Session fixtures: one real crossbar router for the whole run; runtimes per test."""
import pytest

from harness import Router


@pytest.fixture(scope="session")
def router(tmp_path_factory):
    running = Router(tmp_path_factory.mktemp("router-state")).start()
    yield running
    running.stop()


@pytest.fixture
def ide(router):
    client = router.client("ide")
    yield client
    client.close()


@pytest.fixture
def runtimes(router, tmp_path):
    """Start runtimes with runtimes.start(ID, ...); every one is stopped after the test."""
    started = []

    class Starter:
        def start(self, plc_id, *args, **kwargs):
            workdir = kwargs.pop("workdir", tmp_path / plc_id)
            child = router.start_runtime(plc_id, workdir, *args, **kwargs)
            child.workdir = str(workdir)
            started.append(child)
            return child

    yield Starter()
    for child in started:
        child.stop()
