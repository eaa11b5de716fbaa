"""Fixtures of the registry tests: a PostgreSQL cluster for the session (skipped with its
reason when the binaries are missing), a database per engine, and the real ``plclink
registry`` process on the test router."""
import os
import signal

import pytest
from autobahn.wamp.exception import ApplicationError

from harness import Router, wait_until
from plclink import local_setup
from plclink.processes import Child, plclink_command
from postgres_cluster import PostgresCluster, binaries
from plc_protocol import registry_names as api

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres():
    if binaries() is None:
        pytest.skip("PostgreSQL binaries not installed (Debian package 'postgresql', "
                    "installed by scripts/setup-system.sh)")
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


def database_url(engine, request, tmp_path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    return request.getfixturevalue("postgres").create_database()


class RegistryProcess:
    """``plclink registry`` on the test router; restartable on the same database."""

    def __init__(self, router: Router, database: str, workdir, *extra):
        self.router = router
        self.database = database
        self.workdir = str(workdir)
        self.extra = extra
        self.secret_file = local_setup.write_secret_file(router.state_dir,
                                                         local_setup.REGISTRY_AUTHID)
        self.child = None

    def start(self) -> "RegistryProcess":
        self.child = Child("registry", plclink_command(
            "registry", "--url", self.router.url, "--secret-file", self.secret_file,
            "--database", self.database, "--state-dir", self.workdir, *self.extra), quiet=True)
        if not self.child.wait_for_line("registry caught up", 60):
            self.child.stop()
            raise RuntimeError("registry did not start:\n" + "".join(self.child.lines[-40:]))
        return self

    def kill(self) -> None:
        self.child.signal(signal.SIGKILL)
        self.child.process.wait()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def log(self) -> str:
        return "".join(self.child.lines)


def sqlite_registry(router, tmp_path_factory, name: str):
    """A module's registry (yield from it in a fixture): SQLite in a directory of its own."""
    workdir = tmp_path_factory.mktemp(name)
    process = RegistryProcess(router, f"sqlite:///{workdir / 'registry.sqlite'}", workdir)
    process.start()
    yield process
    process.stop()


def registry_call(client, short, *args, **kwargs):
    return client.call("plclink.registry." + short, *args, **kwargs)


def wait_for(client, short, predicate, *args, timeout=15, **kwargs):
    """The registry's answer once ``predicate(answer)`` holds (not found yet: asked again)."""
    def attempt():
        try:
            answer = registry_call(client, short, *args, **kwargs)
        except ApplicationError as error:
            if error.error == api.ERROR_NOT_FOUND:
                return None
            raise
        return answer if predicate(answer) else None
    return wait_until(attempt, timeout, message=f"registry {short}")


def rules_file(path, *rules) -> str:
    path.write_text("rules:\n" + "".join(f"  - {{id: '{pattern}', rule: '{text}'}}\n"
                                         for pattern, text in rules))
    return os.fspath(path)
