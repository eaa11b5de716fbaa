"""Labels on runtimes (site, line, cell, product, ...) and the selectors that pick runtimes by
them: one syntax for ``plclink runtime --label``, ``plclink fleet label`` and ``--selector``.

A label is ``key=value``; keys are short names (letters, digits, ``-_./``), values any text
without ``,`` or ``=`` up to 128 characters. A selector is labels joined by commas and picks the
runtimes that carry every one of them (``line=2,site=plant-a``); ``key!=value`` excludes.
"""
import re

KEY = re.compile(r"[A-Za-z][A-Za-z0-9_./-]{0,62}")
MAX_VALUE = 128
MAX_LABELS = 32
EVENT_KWARG = "labels"   # the status event's kwarg a runtime publishes its own labels in


def check_label(key, value) -> tuple:
    """(key, value) of one label, or ValueError saying what is wrong with it."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValueError(f"label key {key!r:.70} must start with a letter and hold only letters, "
                         "digits and -_./ (at most 63 characters)")
    if not isinstance(value, str) or len(value) > MAX_VALUE or any(c in value for c in ",=\n"):
        raise ValueError(f"label {key}: value {value!r:.70} must be text of at most {MAX_VALUE} "
                         "characters without ',', '=' or a line break")
    return key, value.strip()


def parse_labels(texts, allow_removal: bool = False) -> dict:
    """{key: value} of ``key=value`` items (each text may hold several, comma-separated);
    ``allow_removal``: ``key=`` maps the key to None (remove it)."""
    labels = {}
    for text in [texts] if isinstance(texts, str) else texts:
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            key, equals, value = item.partition("=")
            if not equals:
                raise ValueError(f"{item!r:.70} is not a label: write key=value, e.g. line=2")
            key, value = check_label(key.strip(), value)
            if not value and not allow_removal:
                raise ValueError(f"label {key} has no value: write {key}=VALUE")
            labels[key] = value or None
    if len(labels) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels per runtime")
    return labels


def check_labels(labels) -> dict:
    """Labels received from the network (a status event, a procedure's argument), checked."""
    if not isinstance(labels, dict) or len(labels) > MAX_LABELS:
        raise ValueError(f"labels must be a map of at most {MAX_LABELS} key: value")
    return dict(check_label(key, value) for key, value in labels.items())


def parse_selector(text: str) -> list:
    """[(key, value, wanted)] of ``key=value`` and ``key!=value`` items."""
    terms = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        negate = "!=" in item
        key, _, value = item.partition("!=" if negate else "=")
        if not _ and not negate:
            raise ValueError(f"selector item {item!r:.70} is not key=value or key!=value "
                             "(e.g. --selector line=2,site=plant-a)")
        terms.append((*check_label(key.strip(), value), not negate))
    if not terms:
        raise ValueError("--selector names no label: e.g. --selector line=2,site=plant-a")
    return terms


def selects(terms, labels: dict | None) -> bool:
    labels = labels or {}
    return all((labels.get(key) == value) == wanted for key, value, wanted in terms)


def format_labels(labels: dict | None) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted((labels or {}).items()))
