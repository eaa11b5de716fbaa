"""Child processes of the suite: started together, output prefixed, stopped together."""
import os
import signal
import subprocess
import sys
import threading
import time


class Child:
    def __init__(self, name: str, command: list, env=None, cwd=None, quiet=False):
        self.name = name
        self.command = command
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True, text=True, bufsize=1)
        self.lines = []
        self._quiet = quiet
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.append(line)
            if not self._quiet:
                sys.stdout.write(f"[{self.name}] {line}")
                sys.stdout.flush()

    def wait_for_line(self, needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines):
                return True
            if self.process.poll() is not None:
                time.sleep(0.1)  # let the reader catch the last lines
                return any(needle in line for line in self.lines)
            time.sleep(0.05)
        return False

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum) -> None:
        if self.running:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
        self._reader.join(2)


def plclink_command(*args) -> list:
    return [sys.executable, "-m", "plclink.cli", *args]


def stop_all(children) -> None:
    for child in reversed(children):
        child.signal(signal.SIGTERM)
    for child in reversed(children):
        child.stop()
