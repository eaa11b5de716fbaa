"""Alarm management after ISA-18.2 (pure: no I/O, unit-tested): priorities, shelving times, the
flood indicator and what is offered when a rule names an unknown variable.

An operator can only answer what comes first if the list says what matters most: every alarm has
one of four priorities, from its rule or, failing that, from its kind (the rules file may change
the kinds' defaults).
"""
import difflib
import re
from collections import deque

PRIORITIES = ("critical", "high", "medium", "low")    # most urgent first
DEFAULT_PRIORITIES = {"broken": "critical", "link": "critical", "critical_log": "high",
                      "disconnected": "high", "rule": "medium", "force_age": "low",
                      "notify_failed": "low"}
FLOOD_COUNT = 10              # more alarms than this ...
FLOOD_WINDOW = 600.0          # ... raised within this many seconds: an alarm flood
MAX_SHELVE = 7 * 86400.0      # a shelved alarm comes back within a week whatever was asked
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_priority(text) -> str:
    value = str(text).strip().lower()
    if value not in PRIORITIES:
        raise ValueError(f"priority {text!r} is not one of {', '.join(PRIORITIES)}")
    return value


def priority_rank(priority) -> int:
    """0 for critical ... 3 for low; an unknown priority sorts last."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


def at_least(priority, threshold) -> bool:
    return priority_rank(priority) <= priority_rank(threshold)


def kind_priorities(document) -> dict:
    """The kinds' priorities: the defaults, changed by ``priorities: {kind: priority}`` of the
    rules file (loaded YAML; None: the defaults)."""
    priorities = dict(DEFAULT_PRIORITIES)
    given = (document or {}).get("priorities") if isinstance(document, dict) else None
    if given is None:
        return priorities
    if not isinstance(given, dict):
        raise ValueError("'priorities:' must map alarm kinds to priorities, e.g. "
                         "{disconnected: medium}")
    for kind, priority in given.items():
        if kind not in DEFAULT_PRIORITIES:
            raise ValueError(f"priorities: no alarm kind {kind!r} (kinds: "
                             f"{', '.join(DEFAULT_PRIORITIES)})")
        priorities[kind] = parse_priority(priority)
    return priorities


def parse_duration(text) -> float:
    """``30m``, ``2h``, ``90`` (seconds), ``1d`` → seconds, at most MAX_SHELVE."""
    match = _DURATION.match(str(text))
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 30m, 2h, 90s or 1d")
    seconds = float(match[1]) * _UNITS[match[2]]
    if seconds > MAX_SHELVE:
        raise ValueError(f"{text!r} is longer than the longest shelving, 7 days")
    return seconds


def suggest(name: str, known) -> str:
    """What to tell someone who wrote a name the variable table does not hold."""
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    listed = ", ".join(known[:20]) + (f" (and {len(known) - 20} more)" if len(known) > 20 else "")
    return f"no variable {name!r} in the runtime's variable table; {hint}known: {listed}"


class FloodWatch:
    """Alarms raised in the last FLOOD_WINDOW seconds; a flood is more than FLOOD_COUNT."""

    def __init__(self, count=FLOOD_COUNT, window=FLOOD_WINDOW):
        self.count, self.window = count, window
        self.raised = deque()

    def add(self, now: float) -> bool:
        """Count one raised alarm; True when this one starts a flood."""
        before = self.flooding(now)
        self.raised.append(now)
        return self.flooding(now) and not before

    def recent(self, now: float) -> int:
        while self.raised and self.raised[0] < now - self.window:
            self.raised.popleft()
        return len(self.raised)

    def flooding(self, now: float) -> bool:
        return self.recent(now) > self.count
