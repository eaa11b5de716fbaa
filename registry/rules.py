"""User alarm rules on values, e.g. ``level > 90 for 5 s off 10 s deadband 2 priority high``
(pure: parsing and evaluation).

A rule holds while its comparison is true; it raises its alarm once it has held ``for`` seconds
without a break (the on-delay; 0: at the first sample), and clears it once it has stopped holding
for ``off`` seconds (the off-delay). With a deadband, a raised alarm stops holding only when the
value is back past the threshold by that much (``level > 90 deadband 2`` clears below 88), so a
value wandering around the threshold does not raise it again and again.
"""
import fnmatch
import operator
import re
from dataclasses import dataclass

from registry.alarm_management import PRIORITIES, parse_priority

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
             "==": operator.eq, "!=": operator.ne}
_RULE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
                   r"(?P<number>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)"
                   r"(\s+for\s+(?P<seconds>\d+(\.\d*)?)\s*(s|sec|seconds?)?)?"
                   r"(\s+off\s+(?P<off>\d+(\.\d*)?)\s*(s|sec|seconds?)?)?"
                   r"(\s+deadband\s+(?P<deadband>\d+(\.\d*)?|\.\d+))?"
                   r"(\s+priority\s+(?P<priority>[A-Za-z]+))?\s*$")


@dataclass(frozen=True)
class Rule:
    number: int          # the rule's number in the registry (0 before it is stored)
    pattern: str         # runtime IDs it applies to (fnmatch pattern)
    name: str
    op: str
    threshold: float
    hold: float          # seconds the condition must hold (on-delay)
    off: float = 0.0     # seconds it must have stopped holding before the alarm clears
    deadband: float = 0.0
    priority: str | None = None   # None: the kind's (rule)

    @property
    def text(self) -> str:
        return (f"{self.name} {self.op} {self.threshold:g}"
                + (f" for {self.hold:g} s" if self.hold else "")
                + (f" off {self.off:g} s" if self.off else "")
                + (f" deadband {self.deadband:g}" if self.deadband else "")
                + (f" priority {self.priority}" if self.priority else ""))

    def applies_to(self, plc_id: str) -> bool:
        return fnmatch.fnmatchcase(plc_id, self.pattern)

    def holds(self, value, raised=False) -> bool:
        """Whether the condition holds; once ``raised``, judged with the deadband."""
        threshold = self.threshold
        if raised and self.op in (">", ">="):
            threshold -= self.deadband
        elif raised and self.op in ("<", "<="):
            threshold += self.deadband
        return OPERATORS[self.op](float(value), threshold)


def parse_rule(text: str, pattern: str = "*", number: int = 0) -> Rule:
    match = _RULE.match(str(text))
    if match is None:
        raise ValueError(f"rule {text!r} is not 'NAME OP NUMBER [for SECONDS s] [off SECONDS s] "
                         f"[deadband NUMBER] [priority P]' (OP one of {' '.join(OPERATORS)}, "
                         f"P one of {', '.join(PRIORITIES)}), e.g. 'level > 90 for 5 s'")
    if not pattern or not str(pattern).strip():
        raise ValueError("a rule needs a runtime ID or pattern ('*' for every runtime)")
    return Rule(number, str(pattern).strip(), match["name"], match["op"], float(match["number"]),
                float(match["seconds"] or 0), float(match["off"] or 0),
                float(match["deadband"] or 0),
                parse_priority(match["priority"]) if match["priority"] else None)


def parse_rules_file(document) -> list:
    """``rules: [{id: "plc-*", rule: "level > 90 for 5 s"}, "pressure < 1"]`` (YAML, loaded)
    → [(pattern, text)], each checked."""
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise ValueError("the rules file must hold 'rules:', a list of rules")
    entries = []
    for position, entry in enumerate(document["rules"], 1):
        if isinstance(entry, str):
            entry = {"rule": entry}
        if not isinstance(entry, dict) or "rule" not in entry:
            raise ValueError(f"rule {position}: expected a text or {{id: PATTERN, rule: TEXT}}")
        try:
            rule = parse_rule(entry["rule"], entry.get("id", "*"))
        except ValueError as error:
            raise ValueError(f"rule {position}: {error}") from None
        entries.append((rule.pattern, rule.text))
    return entries


class RuleWatch:
    """One rule on one runtime: when its alarm should be raised or cleared."""

    def __init__(self, rule: Rule, raised=False):
        """``raised``: its alarm is open already (from before a restart)."""
        self.rule = rule
        self.since = None     # when the condition started to hold without a break
        self.gone = None      # when a raised alarm's condition stopped holding
        self.raised = raised

    def sample(self, value, now: float) -> str | None:
        """"raise", "clear" or None for a new value of the rule's variable at ``now``."""
        if not self.rule.holds(value, self.raised):
            self.since = None
            if not self.raised:
                return None
            if self.gone is None:
                self.gone = now
            if now - self.gone >= self.rule.off:
                self.raised, self.gone = False, None
                return "clear"
            return None
        self.gone = None
        if self.since is None:
            self.since = now
        if not self.raised and now - self.since >= self.rule.hold:
            self.raised = True
            return "raise"
        return None
