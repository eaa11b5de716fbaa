"""A staged rollout's plan: which runtimes, in which waves, from which program to which, and
which are left out and why. Pure: built from what the registry holds, printed by ``--dry-run``,
stored in the registry with the rollout (registry/API.md, "Rollouts").

Waves: the canaries first (``canary`` runtimes), then waves of ``wave_size`` (all the rest in
one wave when 0). A runtime is left out (and never touched) when it is offline, already runs
the new program, or runs a program the store does not hold (it could not be rolled back).
"""
from dataclasses import dataclass

from ide_component.cli_output import format_table

STATES_DONE = ("passed", "failed", "aborted")


@dataclass(frozen=True)
class RolloutOptions:
    canary: int = 1
    wave_size: int = 0          # 0: every runtime after the canaries in one wave
    gate_seconds: float = 30.0

    def check(self) -> "RolloutOptions":
        if self.canary < 0 or self.wave_size < 0:
            raise ValueError("--canary and --wave-size must be 0 or more")
        if self.gate_seconds < 1:
            raise ValueError("--gate-seconds must be at least 1 (the tick must be seen advance)")
        return self


def file_changes(old: dict | None, new: dict) -> list:
    """[{"name", "change"}] between two program sets ({name: bytes}, "" the program): changed,
    added, removed files only; None ``old``: unknown (not stored)."""
    if old is None:
        return []
    return [{"name": name, "change": "added" if name not in old else
             "removed" if name not in new else "changed"}
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def runtime_entry(plc_id: str, row: dict | None, new_md5: str, stored: set,
                  changes: list) -> dict:
    """One runtime of the plan: ``row`` its registry row (None: unknown to the registry)."""
    entry = {"id": plc_id, "from": row["md5"] if row else None, "to": new_md5,
             "files": changes, "skip": None}
    if row is None:
        entry["skip"] = "unknown to the registry (check the ID, or the runtime never joined)"
    elif not row["online"]:
        entry["skip"] = "offline"
    elif row["md5"] == new_md5:
        entry["skip"] = "already runs this program"
    elif row["md5"] is not None and row["md5"] not in stored:
        entry["skip"] = (f"its program {row['md5']} is not in the program store, so it could not "
                         "be rolled back; deploy it once with `plclink fleet deploy` to store it")
    return entry


def make_waves(ids: list, options: RolloutOptions) -> list:
    waves = [ids[:options.canary]] if options.canary else []
    rest = ids[options.canary:]
    size = options.wave_size or len(rest)
    waves += [rest[start:start + size] for start in range(0, len(rest), size)] if size else []
    return [wave for wave in waves if wave]


def make_plan(entries: list, md5: str, program: str, options: RolloutOptions,
              selector: str | None) -> dict:
    targets = [entry["id"] for entry in entries if entry["skip"] is None]
    return {"md5": md5, "program": program, "canary": options.canary,
            "wave_size": options.wave_size, "gate_seconds": options.gate_seconds,
            "selector": selector, "runtimes": entries,
            "waves": [{"wave": number, "ids": ids, "canary": number == 1 and options.canary > 0,
                       "state": "pending", "results": {}}
                      for number, ids in enumerate(make_waves(targets, options), start=1)]}


def _short(md5: str | None) -> str:
    return md5[:12] if md5 else "none"


def plan_text(plan: dict) -> str:
    head = (f"rollout plan: {plan['program']} ({plan['md5']}), "
            f"{plan['canary']} canar{'y' if plan['canary'] == 1 else 'ies'}, "
            + (f"waves of {plan['wave_size']}" if plan["wave_size"] else "then the rest at once")
            + f", gate {plan['gate_seconds']:g} s" +
            (f", selector {plan['selector']}" if plan.get("selector") else ""))
    waves = [f"  wave {wave['wave']}{' (canary)' if wave['canary'] else ''}: "
             f"{', '.join(wave['ids'])}" for wave in plan["waves"]] or ["  no runtime to deploy to"]
    rows = []
    for entry in plan["runtimes"]:
        if entry["skip"]:
            rows.append((entry["id"], _short(entry["from"]), "-", f"skipped: {entry['skip']}"))
        else:
            files = ", ".join(f"{change['name'] or '(program)'} {change['change']}"
                              for change in entry["files"]) or "not compared"
            rows.append((entry["id"], _short(entry["from"]), _short(entry["to"]), files))
    return "\n".join([head, *waves, format_table(["ID", "FROM", "TO", "FILES / WHY"], rows)])


def rollout_text(rollout: dict) -> str:
    """A rollout's waves and their outcome, one line per runtime."""
    lines = [f"rollout {rollout['rollout']}: {rollout['state']}"
             + (f" ({rollout['note']})" if rollout.get("note") else "")]
    for wave in rollout["plan"]["waves"]:
        lines.append(f"  wave {wave['wave']}{' (canary)' if wave['canary'] else ''}: "
                     f"{wave['state']}")
        for plc_id in wave["ids"]:
            result = wave["results"].get(plc_id)
            lines.append(f"    {plc_id}: {result or 'not reached'}")
    skipped = [entry for entry in rollout["plan"]["runtimes"] if entry["skip"]]
    lines += [f"  {entry['id']}: skipped: {entry['skip']}" for entry in skipped]
    return "\n".join(lines)
