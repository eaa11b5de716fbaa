"""Transfer progress on stderr: one line per runtime, redrawn in place on a terminal; elsewhere
(with --progress) a plain line at each stage and quarter, so logs stay readable."""
import threading
import time

from ide_component.cli_output import progress_line

REDRAW_INTERVAL = 0.1


class ProgressDisplay:
    def __init__(self, stream, labels, live: bool):
        self.stream = stream
        self.live = live
        self._width = max((len(label) for label in labels), default=0)
        self._lines = {label: "" for label in labels}
        self._stages = {}       # label -> last stage
        self._shown = {}        # label -> (stage, quarter) last printed, when not live
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def update(self, label: str, stage: str, done: int, total: int) -> None:
        """Callable from any thread (transfers report from the reactor thread)."""
        line = progress_line(label.ljust(self._width), stage, done, total)
        with self._lock:
            changed = self._stages.get(label) != stage
            self._stages[label] = stage
            self._lines[label] = line
            if self.live:
                if changed or time.monotonic() - self._last_draw >= REDRAW_INTERVAL:
                    self._draw()
                return
            quarter = (stage, 4 * done // total if total else 4)
            if self._shown.get(label) != quarter:
                self._shown[label] = quarter
                self.stream.write(line + "\n")
                self.stream.flush()

    def _draw(self) -> None:
        text = f"\x1b[{self._drawn}F" if self._drawn else ""
        text += "".join(f"{line}\x1b[K\n" for line in self._lines.values())
        self.stream.write(text)
        self.stream.flush()
        self._drawn = len(self._lines)
        self._last_draw = time.monotonic()

    def finish(self) -> None:
        with self._lock:
            if self.live and self._drawn:
                self._draw()
