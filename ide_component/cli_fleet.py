"""Handlers of ``plclink fleet ...`` (arguments and help: cli_parsers)."""
from ide_component import blocking
import time

from ide_component.cli_output import (diff_table, fleet_list_table, fleet_status_table,
                                      format_table, format_time, history_table, summary_line,
                                      unified_diffs, with_sites)
from ide_component.cli_parsers import EXIT_BROKEN, EXIT_DISCONNECTED, EXIT_FAILED, EXIT_OK
from ide_component.cli_plc import progress_display
from ide_component.cli_support import check_program, emit
from ide_component.failures import OperationFailed
from ide_component.rollout import stored_files
from plc_protocol.labels import parse_selector, selects
from plc_protocol.status import PLCStatus
from plc_protocol.uris import validate_plc_id


def selected_ids(args, fleet=None) -> list | None:
    """IDs from ``--ids a,b --ids c`` in order, without repeats, or those ``--selector`` picks
    (asked of ``fleet``); None means every runtime."""
    ids = None
    if getattr(args, "ids", None):
        ids = [item.strip() for text in args.ids for item in text.split(",") if item.strip()]
        if not ids:
            raise ValueError("--ids names no runtime")
        ids = [validate_plc_id(plc_id) for plc_id in dict.fromkeys(ids)]
    if getattr(args, "selector", None):
        terms = parse_selector(args.selector)
        if fleet is None:
            return terms
        ids = fleet.select(terms, ids)
        if not ids:
            raise ValueError(f"no runtime has the labels {args.selector} (see `plclink fleet "
                             "list`, column LABELS)")
    return ids


def _open(args) -> blocking.BlockingFleet:
    return blocking.open_fleet(args.router, args.realm)


def _exit_code(outcomes) -> int:
    return EXIT_OK if all(outcome.ok for outcome in outcomes) else EXIT_FAILED


def _outcome_document(outcome, value) -> dict:
    return {"id": outcome.plc_id, "ok": outcome.ok, "result": outcome.kind,
            "error": outcome.error, **(value if outcome.ok else {})}


def list_runtimes(args):
    with _open(args) as fleet:
        infos = fleet.list(args.ask_each)
    if args.selector:
        terms = parse_selector(args.selector)
        infos = [info for info in infos if selects(terms, info.labels)]
    emit(args, [info.as_dict() for info in infos],
         fleet_list_table(infos, time.time()) if infos else "no runtime on this realm")


def status(args):
    with _open(args) as fleet:
        outcomes = fleet.status(selected_ids(args, fleet), args.ask_each)
        sites = fleet.linked_runtimes()
    emit(args, [{**_outcome_document(o, o.value.as_dict() if o.ok else {}),
                 "site": sites.get(o.plc_id)} for o in outcomes],
         fleet_status_table(outcomes, sites) if outcomes else "no runtime on this realm")
    return status_exit_code(outcomes)


def status_exit_code(outcomes) -> int:
    """For monitoring checks: Broken first, then Disconnected, then failed (cli_parsers)."""
    if any(o.ok and o.value.status == PLCStatus.BROKEN for o in outcomes):
        return EXIT_BROKEN
    if any(o.kind == "unreachable" or (o.ok and o.value.status == PLCStatus.DISCONNECTED)
           for o in outcomes):
        return EXIT_DISCONNECTED
    return _exit_code(outcomes)


def deploy(args):
    from ide_component import cli_rollouts
    check_program(args)
    with _open(args) as fleet:
        ids = selected_ids(args, fleet) or fleet.discover()
        if not ids:
            raise ValueError("no runtime on this realm to deploy to")
        if cli_rollouts.staged(args):
            return cli_rollouts.deploy(args, fleet, ids)
        display = progress_display(args, ids)
        try:
            outcomes = fleet.deploy(ids, args.program, args.extra_files, start=args.start,
                                    force=args.force, chunk_size=args.chunk_size,
                                    window=args.window,
                                    progress=display.update if display else None)
        finally:
            if display:
                display.finish()
        md5 = next((o.value.md5 for o in outcomes if o.ok), None)
        deployment = fleet.record_deployment(md5, outcomes) if md5 else None
        sites = fleet.linked_runtimes()
    rows = [(o.plc_id, _deploy_result(o), o.value.md5 if o.ok else o.error) for o in outcomes]
    counts = deploy_counts(outcomes)
    summary = deploy_summary(outcomes) + (f" (deployment {deployment})" if deployment else "")
    emit(args, {"results": [_outcome_document(o, {"md5": o.value.md5, "skipped": o.value.skipped}
                                              if o.ok else {}) for o in outcomes],
                "summary": summary, "counts": counts, "deployment": deployment},
         format_table(*with_sites(["ID", "RESULT", "DETAIL"], rows,
                                  [sites.get(o.plc_id) for o in outcomes])) + "\n" + summary)
    return _exit_code(outcomes)


def _deploy_result(outcome) -> str:
    if not outcome.ok:
        return outcome.kind
    return "skipped (already installed)" if outcome.value.skipped else "deployed"


def deploy_counts(outcomes) -> dict:
    """How many runtimes were deployed to, skipped (already installed) and failed."""
    counts = {"deployed": 0, "skipped": 0, "failed": 0}
    for outcome in outcomes:
        counts["failed" if not outcome.ok else
               "skipped" if outcome.value.skipped else "deployed"] += 1
    return counts


def deploy_summary(outcomes) -> str:
    """``3 runtimes: 1 deployed, 1 skipped (already installed), 1 failed: plc-07``; a skipped
    runtime is never counted as deployed."""
    counts = deploy_counts(outcomes)
    failed = [o.plc_id for o in outcomes if not o.ok]
    return (f"{len(outcomes)} runtime{'' if len(outcomes) == 1 else 's'}: "
            f"{counts['deployed']} deployed, {counts['skipped']} skipped (already installed), "
            f"{counts['failed']} failed" + (f": {', '.join(failed)}" if failed else ""))


def _control(args, verb: str, past: str):
    with _open(args) as fleet:
        outcomes = getattr(fleet, verb)(selected_ids(args, fleet) or fleet.discover())
    rows = [(o.plc_id, o.value.status.value if o.ok else o.kind, "" if o.ok else o.error)
            for o in outcomes]
    summary = summary_line(outcomes, past)
    emit(args, {"results": [_outcome_document(o, o.value.as_dict() if o.ok else {})
                            for o in outcomes], "summary": summary},
         format_table(["ID", "STATUS", "PROBLEM"], rows) + "\n" + summary)
    return _exit_code(outcomes)


def start(args):
    return _control(args, "start", "started")


def stop(args):
    return _control(args, "stop", "stopped")


def history(args):
    plc_id = validate_plc_id(args.plc_id)
    with _open(args) as fleet:
        lineage = fleet.history(plc_id)
    emit(args, lineage, history_table(lineage) if lineage else
         f"the registry has no install of {plc_id} on record")


def gaps(args):
    with _open(args) as fleet:
        found = fleet.ask_registry("stats")["gaps"]
    emit(args, [{"from": start, "to": end, "seconds": end - start} for start, end in found],
         format_table(["FROM (LAST RECORD KEPT)", "TO (REGISTRY BACK)", "LENGTH"], [
             (format_time(start), format_time(end), f"{end - start:.0f} s")
             for start, end in found]) if found else "no gap: the registry has been running "
                                                     "since its first start")


def diff(args):
    plc_id = validate_plc_id(args.plc_id)
    with _open(args) as fleet:
        known = {install["md5"] for install in fleet.history(plc_id)}
        for md5 in (args.a, args.b):
            if md5 not in known:
                raise ValueError(f"{md5} is not in the history of {plc_id} "
                                 f"(see `plclink fleet history {plc_id}`)")
        document = fleet.ask_registry("diff", args.a, args.b)
        files = [fleet.run(stored_files, md5) for md5 in (args.a, args.b)]
    text = unified_diffs(document, *files)
    document["unified"] = text
    emit(args, document, diff_table(document) + (f"\n\n{text}" if text else ""))


def rollback(args):
    plc_id = validate_plc_id(args.plc_id)
    with _open(args) as fleet:
        md5 = fleet.rollback_target(plc_id, args.to)
        display = progress_display(args, [plc_id])
        try:
            result = fleet.rollback(plc_id, md5, progress=(lambda *a: display.update(plc_id, *a))
                                    if display else None)
        finally:
            if display:
                display.finish()
        started = fleet.start([plc_id])[0] if args.start else None
    if started is not None and not started.ok:
        raise OperationFailed(f"{plc_id}: rolled back to {md5} but did not start: "
                              f"{started.error}")
    word = "already installed" if result.skipped else "installed"
    emit(args, {"id": plc_id, "md5": md5, "skipped": result.skipped,
                "started": bool(started and started.ok)},
         f"{plc_id}: rolled back to {md5} ({word}{', started' if started else ''})")
