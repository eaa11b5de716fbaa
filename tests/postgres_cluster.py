"""A throw-away PostgreSQL cluster from Debian's package, for tests and benchmarks.

initdb and pg_ctl refuse to run as root, and CI runs as root: the cluster then belongs to the
``postgres`` system user (runuser). It listens on 127.0.0.1 at a free port, with trust
authentication for local connections only, in a temporary directory removed afterwards.
"""
import glob
import os
import shutil
import subprocess
import tempfile

from harness import free_port

RUN_AS = "postgres"


def binaries() -> str | None:
    """The newest installed PostgreSQL bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


class PostgresCluster:
    def __init__(self):
        self.bin = binaries()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL is not installed (Debian package 'postgresql'; "
                                    "scripts/setup-system.sh installs it)")
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="plclink-pg-")
        self.data = os.path.join(self.root, "data")
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, RUN_AS)
        self.databases = 0

    def _run(self, *command):
        if self._as_root:
            command = ("runuser", "-u", RUN_AS, "--", *command)
        subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=self.root)

    def start(self, durable: bool = False) -> "PostgresCluster":
        """``durable``: fsync as in production (benchmarks); tests skip it for speed."""
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "plclink",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        self.options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
                        + ("" if durable else " -c fsync=off -c full_page_writes=off"))
        self.resume()
        return self

    def resume(self) -> None:
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l",
                  os.path.join(self.root, "log"), "-w", "-o", self.options, "start")

    def pause(self) -> None:
        """Stop the server, keeping its data (a database outage)."""
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop")

    def create_database(self) -> str:
        """A fresh database; its SQLAlchemy URL."""
        self.databases += 1
        name = f"registry{self.databases}"
        self._run(os.path.join(self.bin, "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "plclink", name)
        return f"postgresql://plclink@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
