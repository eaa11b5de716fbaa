"""Handlers of staged rollouts (``fleet deploy --canary/--wave-size/--gate-seconds/--dry-run``,
``fleet rollouts [resume|abort|show]``), labels (``fleet label``), and the program store
(``fleet get``)."""
import os
import sys
import time

from ide_component import blob_plan
from ide_component.cli_output import format_table
from ide_component.cli_parsers import EXIT_FAILED, EXIT_OK
from ide_component.cli_support import emit
from plc_protocol.installation_files import is_library
from plc_protocol.labels import format_labels, parse_labels
from plc_protocol.python_program import PROGRAM_NAME_FILE
from plc_protocol.uris import validate_plc_id

ROLLOUT_TIMEOUT = 24 * 3600.0   # the CLI waits for a rollout however many waves it has


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def staged(args) -> bool:
    return any(getattr(args, name, None) is not None
               for name in ("canary", "wave_size", "gate_seconds")) or args.dry_run


def deploy(args, fleet, ids) -> int:
    """A staged rollout (or its plan with --dry-run) to ``ids``."""
    from ide_component.rollout import Rollout, plan_rollout
    from ide_component.rollout_plan import RolloutOptions, plan_text
    options = RolloutOptions(1 if args.canary is None else args.canary, args.wave_size or 0,
                             30.0 if args.gate_seconds is None else args.gate_seconds).check()
    transfer_plan = blob_plan.read_transfer(args.program, args.extra_files, args.chunk_size)
    plan = fleet.run(plan_rollout, ids, transfer_plan, os.path.basename(args.program.rstrip("/")),
                     options, getattr(args, "selector", None))
    if args.dry_run:
        emit(args, plan, plan_text(plan))
        return EXIT_OK
    if not plan["waves"]:
        emit(args, {"plan": plan, "state": "nothing to do"},
             plan_text(plan) + "\nnothing to deploy: every selected runtime is skipped")
        return EXIT_OK

    async def run(fleet):
        rollout = await Rollout.begin(fleet, plan, transfer_plan,
                                      None if args.json else _say)
        _say(f"rollout {rollout.number} started (plclink fleet rollouts show {rollout.number})")
        return await rollout.run()
    return _finished(args, fleet.run(run, timeout=ROLLOUT_TIMEOUT))


def _finished(args, record) -> int:
    from ide_component.rollout_plan import rollout_text
    emit(args, record, rollout_text(record))
    return EXIT_OK if record["state"] == "passed" else EXIT_FAILED


def _open(args):
    from ide_component import blocking
    return blocking.open_fleet(args.router, args.realm)


def rollouts(args):
    from ide_component.rollout import interrupted
    with _open(args) as fleet:
        records = fleet.ask_registry("rollouts", args.limit)
    now = time.time()
    for record in records:
        record["interrupted"] = interrupted(record, now)
    rows = [(r["rollout"], time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started_at"])),
             r["by"], r["plan"]["program"], r["plan"]["md5"][:12],
             "interrupted (resume or abort it)" if r["interrupted"] else r["state"],
             _progress(r)) for r in records]
    emit(args, records, format_table(["ROLLOUT", "STARTED", "BY", "PROGRAM", "MD5", "STATE",
                                      "WAVES"], rows) if rows else "no rollout on record")


def _progress(record) -> str:
    waves = record["plan"]["waves"]
    done = sum(1 for wave in waves if wave["state"] == "passed")
    return f"{done}/{len(waves)} passed"


def show(args):
    from ide_component.rollout_plan import rollout_text
    with _open(args) as fleet:
        record = fleet.ask_registry("rollout", args.number)
    emit(args, record, rollout_text(record))


def resume(args):
    from ide_component.rollout import Rollout

    async def run(fleet):
        rollout = await Rollout.load(fleet, args.number, "resume",
                                     None if args.json else _say)
        _say(f"rollout {args.number} resumed")
        return await rollout.run()
    with _open(args) as fleet:
        return _finished(args, fleet.run(run, timeout=ROLLOUT_TIMEOUT))


def abort(args):
    from ide_component.rollout import Rollout

    async def run(fleet):
        rollout = await Rollout.load(fleet, args.number, "abort", None if args.json else _say)
        return await rollout.abort(args.note or "aborted from the command line")
    with _open(args) as fleet:
        record = fleet.run(run, timeout=ROLLOUT_TIMEOUT)
    _finished(args, record)
    return EXIT_OK


def label(args):
    plc_id = validate_plc_id(args.plc_id)
    labels = parse_labels(args.labels, allow_removal=True)
    with _open(args) as fleet:
        row = fleet.ask_registry("set_labels", plc_id, labels)
    emit(args, row, f"{plc_id}: {format_labels(row['labels']) or 'no label'}")


def get(args):
    md5 = args.md5.lower()
    with _open(args) as fleet:
        try:
            stored = fleet.ask_registry("program", md5)
        except ValueError:
            raise ValueError(f"no program {md5} in the registry's store: see `plclink fleet "
                             "history ID` for the md5s it keeps (KEPT yes)") from None
    extras = {name: bytes(data) for name, data in stored["extras"]}
    program = bytes(stored["program"])
    # the user's file name travels as an extra file; a deploy of these files adds it again
    named = extras.pop(PROGRAM_NAME_FILE, b"").decode("utf-8", "replace").strip()
    name = os.path.basename(named) or ("program.so" if is_library(program) else "program.py")
    files = [(name, program), *extras.items()]
    os.makedirs(args.out, exist_ok=True)
    written = []
    for name, data in files:
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"the stored set names a file {name!r}, which would land outside "
                             f"{args.out}; nothing more was written")
        path = os.path.join(args.out, *parts)
        if os.path.exists(path) and not args.force:
            raise ValueError(f"{path} exists: give another --out directory or --force")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        written.append(path)
    emit(args, {"md5": md5, "files": written},
         "\n".join(f"{path}  {os.path.getsize(path)} bytes" for path in written))
