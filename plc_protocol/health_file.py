"""Health files: what a runtime or the bridge says about its own data path, for a container
healthcheck (``python3 -m plclink.healthcheck``) to judge.

A process rewrites its file every ``WRITE_INTERVAL`` seconds, so a file older than ``STALE_AFTER``
means a stuck or dead process, whatever it last said. Judging is pure (a document and the time
in, a problem or None out), so every rule is tested without a container.
"""
import json
import os

WRITE_INTERVAL = 2.0
STALE_AFTER = 10.0


def write(path: str, document: dict) -> None:
    """Replace the file at once: a reader sees the old document or the new one, never half."""
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    os.replace(path + ".tmp", path)


def read(path: str) -> dict:
    """The document; raises ValueError saying what is wrong with the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise ValueError(f"no health file {path} yet") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read health file {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("time"), (int, float)):
        raise ValueError(f"health file {path} is not a health document")
    return document


def _staleness(document: dict, now: float) -> str | None:
    age = now - document["time"]
    return f"not rewritten for {age:.0f} s: the process is stuck" if age > STALE_AFTER else None


def runtime_document(time: float, wamp: bool, joined: bool, status: str, tick: int,
                     cycling: bool) -> dict:
    """A runtime's health: ``wamp`` whether it should be on a router, ``joined`` whether it
    is, ``cycling`` whether its tick advanced since the previous write."""
    return {"time": time, "wamp": wamp, "joined": joined, "status": status, "tick": tick,
            "cycling": cycling}


def runtime_problem(document: dict, now: float) -> str | None:
    """Healthy: fresh, on the router when it should be, and cycling when Started."""
    stale = _staleness(document, now)
    if stale:
        return stale
    if document.get("wamp") and not document.get("joined"):
        return "not joined to the router"
    if document.get("status") == "Started" and not document.get("cycling"):
        return f"Started but the cycle is not advancing (tick {document.get('tick')})"
    return None


def bridge_document(time: float, joined: bool, runtimes: dict) -> dict:
    """The bridge's health: ``runtimes`` maps each carried ID to {reachable, on_router,
    problem}."""
    return {"time": time, "joined": joined, "runtimes": runtimes}


def bridge_problem(document: dict, now: float) -> str | None:
    """Healthy: fresh, on the router, and every carried runtime reachable and on the router."""
    stale = _staleness(document, now)
    if stale:
        return stale
    if not document.get("joined"):
        return "the bridge is not joined to the router"
    problems = []
    for plc_id, link in sorted((document.get("runtimes") or {}).items()):
        if not link.get("reachable"):
            problems.append(f"{plc_id} unreachable ({link.get('problem') or 'no reason'})")
        elif not link.get("on_router"):
            problems.append(f"{plc_id} not registered on the router")
    return "; ".join(problems) or None


def registry_document(time: float, joined: bool, failing_since: float | None,
                      backlog: int) -> dict:
    """The registry's health: on the router, and since when (None: not) its database has been
    refusing writes, with the records waiting for it."""
    return {"time": time, "joined": joined, "failing_since": failing_since, "backlog": backlog}


def registry_problem(document: dict, now: float) -> str | None:
    """Healthy: fresh, on the router, and its database taking writes."""
    stale = _staleness(document, now)
    if stale:
        return stale
    if not document.get("joined"):
        return "the registry is not joined to the router"
    if document.get("failing_since") is not None:
        return (f"the database refuses writes for {now - document['failing_since']:.0f} s "
                f"({document.get('backlog')} records waiting)")
    return None
