"""Staged rollouts on record (``plclink fleet deploy --canary ...``, ide_component/rollout.py):
who started one, its plan, each wave's state and each runtime's result, kept current by the IDE
running it (a heartbeat), so that one whose IDE died is seen and can be resumed or aborted.
The registry only keeps the record: the IDE does the installs and the rollbacks, so the
router's audit names who did them.
"""
import json

from sqlalchemy import insert, select, update

from registry import schema

STATES = ("running", "passed", "failed", "aborted")
MAX_PLAN = 1024 * 1024        # bytes of JSON: thousands of runtimes
MAX_NOTE = 1000


def rollout_document(row) -> dict:
    return {"rollout": row.seq, "started_at": row.started_at, "updated_at": row.updated_at,
            "by": row.by, "md5": row.md5, "state": row.state, "note": row.note,
            "plan": json.loads(row.plan)}


def _encoded(plan: dict) -> str:
    text = json.dumps(plan, separators=(",", ":"))
    if len(text) > MAX_PLAN:
        raise ValueError(f"a rollout plan is at most {MAX_PLAN} bytes of JSON")
    return text


def check_plan(plan) -> dict:
    """A plan from the network: the shape ide_component/rollout_plan.make_plan builds."""
    if not isinstance(plan, dict) or not isinstance(plan.get("md5"), str) or \
            not isinstance(plan.get("waves"), list) or not isinstance(plan.get("runtimes"), list):
        raise ValueError("plan must be a map with md5, waves and runtimes")
    check_waves(plan["waves"])
    return plan


def check_waves(waves) -> list:
    if not isinstance(waves, list) or not all(
            isinstance(wave, dict) and isinstance(wave.get("ids"), list)
            and isinstance(wave.get("state"), str) for wave in waves):
        raise ValueError("waves must be a list of maps with ids and state")
    return waves


def add_rollout(connection, plan: dict, by: str, now: float) -> dict:
    seq = connection.execute(insert(schema.rollout).values(
        started_at=now, updated_at=now, by=by, md5=plan["md5"], state="running", note=None,
        plan=_encoded(plan))).inserted_primary_key[0]
    return get_rollout(connection, seq)


def get_rollout(connection, seq: int) -> dict | None:
    row = connection.execute(select(schema.rollout).where(schema.rollout.c.seq == seq)).first()
    return rollout_document(row) if row is not None else None


def update_rollout(connection, seq: int, state: str, waves: list, note, now: float):
    """The record after the update; an aborted or finished rollout is never changed again
    (an IDE still running one that was aborted learns it from the answer)."""
    current = get_rollout(connection, seq)
    if current is None or current["state"] != "running":
        return current
    plan = dict(current["plan"], waves=waves)
    connection.execute(update(schema.rollout).where(schema.rollout.c.seq == seq).values(
        state=state, updated_at=now, note=note, plan=_encoded(plan)))
    return get_rollout(connection, seq)


def list_rollouts(connection, limit: int) -> list:
    rows = connection.execute(select(schema.rollout).order_by(schema.rollout.c.seq.desc())
                              .limit(limit)).all()
    return [rollout_document(row) for row in rows]


def checked_update(state, note) -> tuple:
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ValueError(f"note must be text of at most {MAX_NOTE} characters")
    return state, note
