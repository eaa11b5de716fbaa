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

    def wait_for_line(self, needle: str, timeout: float, abort=lambda: False) -> bool:
        """Whether the child printed ``needle`` within ``timeout``; False at once when
        ``abort()`` turns true (the supervisor was told to stop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not abort():
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
            self._signal_group(signum)

    def _signal_group(self, signum) -> None:
        """The child leads its own session, so its group outlives it while anything is left in
        it (no other process can take that number meanwhile)."""
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 10.0) -> None:
        self.signal(signal.SIGTERM)
        self.wait_or_kill(time.monotonic() + timeout)

    def wait_or_kill(self, deadline: float) -> None:
        """Wait for the child until ``deadline``, then kill its whole process group."""
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()
        self._signal_group(signal.SIGKILL)  # whatever the child left in its group goes too
        self._reader.join(2)


def plclink_command(*args) -> list:
    return [sys.executable, "-m", "plclink.cli", *args]


def stop_all(children, timeout: float = 3.5) -> None:
    """SIGTERM every child at once, then SIGKILL what is left after ``timeout``: a suite stops
    within 5 s however many children it has."""
    for child in reversed(children):
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in reversed(children):
        child.wait_or_kill(deadline)
