"""User alarm rules on values, e.g. ``level > 90 for 5 s`` (pure: parsing and evaluation).

A rule holds while its comparison is true; it raises its alarm once it has held ``for`` seconds
without a break (0: at the first sample), and clears it at the first sample where it is false.
"""
import fnmatch
import operator
import re
from dataclasses import dataclass

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
             "==": operator.eq, "!=": operator.ne}
_RULE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
                   r"(?P<number>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)"
                   r"(\s+for\s+(?P<seconds>\d+(\.\d*)?)\s*(s|sec|seconds?)?)?\s*$")


@dataclass(frozen=True)
class Rule:
    number: int          # the rule's number in the registry (0 before it is stored)
    pattern: str         # runtime IDs it applies to (fnmatch pattern)
    name: str
    op: str
    threshold: float
    hold: float          # seconds the condition must hold

    @property
    def text(self) -> str:
        return (f"{self.name} {self.op} {self.threshold:g}"
                + (f" for {self.hold:g} s" if self.hold else ""))

    def applies_to(self, plc_id: str) -> bool:
        return fnmatch.fnmatchcase(plc_id, self.pattern)

    def holds(self, value) -> bool:
        return OPERATORS[self.op](float(value), self.threshold)


def parse_rule(text: str, pattern: str = "*", number: int = 0) -> Rule:
    match = _RULE.match(str(text))
    if match is None:
        raise ValueError(f"rule {text!r} is not 'NAME OP NUMBER [for SECONDS s]' "
                         f"(OP one of {' '.join(OPERATORS)}), e.g. 'level > 90 for 5 s'")
    if not pattern or not str(pattern).strip():
        raise ValueError("a rule needs a runtime ID or pattern ('*' for every runtime)")
    return Rule(number, str(pattern).strip(), match["name"], match["op"], float(match["number"]),
                float(match["seconds"] or 0))


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

    def __init__(self, rule: Rule):
        self.rule = rule
        self.since = None     # when the condition started to hold without a break
        self.raised = False

    def sample(self, value, now: float) -> str | None:
        """"raise", "clear" or None for a new value of the rule's variable at ``now``."""
        if not self.rule.holds(value):
            self.since = None
            if self.raised:
                self.raised = False
                return "clear"
            return None
        if self.since is None:
            self.since = now
        if not self.raised and now - self.since >= self.rule.hold:
            self.raised = True
            return "raise"
        return None
