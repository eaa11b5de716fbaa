"""What the bridge keeps about each runtime across its own restarts, in its state directory
(``<ID>.json``): the installed program's md5, which upstream has no call to report, and the
forces the bridge holds on the runtime, so that a restarted bridge puts them back instead of
lifting them with its first debug list."""
import json
import os

from twisted.logger import Logger

log = Logger()


class RuntimeState:
    def __init__(self, state_dir, plc_id):
        self.path = os.path.join(state_dir, f"{plc_id}.json") if state_dir else None
        self.md5 = None
        self.forces = []    # force entries (docs/force-model.md)
        if self.path and os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    saved = json.load(handle)
                self.md5 = saved.get("md5") if isinstance(saved.get("md5"), str) else None
                self.forces = [entry for entry in saved.get("forces") or []
                               if isinstance(entry, dict)]
            except (OSError, ValueError, AttributeError) as error:
                log.warn("{path} unreadable, starting without it: {error}", path=self.path,
                         error=error)

    def keep(self, **changes):
        """Change ``md5`` and/or ``forces`` and write the file (a failure is logged)."""
        for name, value in changes.items():
            setattr(self, name, value)
        if not self.path:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(self.path + ".tmp", "w", encoding="utf-8") as handle:
                json.dump({"md5": self.md5, "forces": self.forces}, handle)
            os.replace(self.path + ".tmp", self.path)
        except OSError as error:
            log.warn("cannot keep the bridge's state in {path}: {error}", path=self.path,
                     error=error.strerror)
