"""Handlers of the one-PLC commands (arguments and help: cli_parsers)."""
import csv
import sys

from ide_component import blocking
from ide_component.cli_output import (as_json, csv_value, format_bytes, format_log_counts,
                                      format_table, format_value, forces_table, trace_columns,
                                      trace_row)
from ide_component.cli_support import check_program, emit, target_uri
from ide_component.failures import OperationFailed
from ide_component.progress_display import ProgressDisplay
from ide_component.variable_trace import parse_assignment
from plc_protocol.status import PLCStatus
from plc_protocol.uris import ConnectionURI, validate_plc_id

READ_BACK_WAIT = 3.0   # a few cycles of any sensible period; a Stopped PLC yields none
_NOT_TRACING_HINTS = {
    PLCStatus.STOPPED: "; start it first (plclink start)",
    PLCStatus.EMPTY: "; transfer a program and start it first",
    PLCStatus.BROKEN: "; see plclink logs, then repair it or transfer again",
}


def _open(args, uri: ConnectionURI | None = None) -> blocking.PLC:
    return blocking.connect(uri or target_uri(args), variables=getattr(args, "variables", None))


def _name(plc: blocking.PLC) -> str:
    return plc.plc_id or plc.client.uri


def _state_document(plc, state) -> dict:
    return {"id": plc.plc_id, "uri": plc.client.uri, **state.as_dict()}


def _show_state(args, plc, state) -> None:
    emit(args, _state_document(plc, state),
         f"{_name(plc)}: {state.status.value} (logs: {format_log_counts(state.log_counts)})")


def status(args):
    with _open(args) as plc:
        details = plc.details()
    state = details["state"]
    forced = details["forced"]
    parts = [f"{_name(plc)}: {state.status.value} (logs: {format_log_counts(state.log_counts)})",
             f"program {details['md5'] or 'md5 unknown (not published over this link)'}",
             "forces unknown (no force table served: docs/bridge.md)" if forced is None
             else f"{forced} forced"]
    if details["cause"]:
        parts.append(f"cause: {details['cause']}")
    emit(args, {**_state_document(plc, state), "md5": details["md5"], "forced": forced,
                "cause": details["cause"]}, "; ".join(parts))


def restart(args):
    with _open(args) as plc:
        _show_state(args, plc, plc.restart())


def start(args):
    with _open(args) as plc:
        _show_state(args, plc, plc.start())


def stop(args):
    with _open(args) as plc:
        _show_state(args, plc, plc.stop())


def repair(args):
    with _open(args) as plc:
        _show_state(args, plc, plc.repair())


def progress_display(args, labels) -> ProgressDisplay | None:
    live = sys.stderr.isatty()
    return ProgressDisplay(sys.stderr, labels, live) if live or args.progress else None


def transfer(args):
    check_program(args)
    with _open(args) as plc:
        display = progress_display(args, [_name(plc)])
        try:
            result = plc.transfer(
                args.program, args.extra_files, force=args.force, chunk_size=args.chunk_size,
                window=args.window,
                progress=(lambda *report: display.update(_name(plc), *report)) if display else None)
        finally:
            if display:
                display.finish()
        status = plc.start().status if args.start else result.status
    if result.skipped:
        text = (f"{_name(plc)}: program {result.md5} is already installed; nothing sent "
                "(--force sends it anyway)")
    else:
        text = f"{_name(plc)}: installed program {result.md5} ({format_bytes(result.sent_bytes)})"
    emit(args, {"id": plc.plc_id, "md5": result.md5, "skipped": result.skipped,
                "sent_bytes": result.sent_bytes, "status": status.value},
         f"{text}; status {status.value}")


def logs(args):
    if args.count < 0:
        raise ValueError(f"--count must be 0 or more, got {args.count}")
    with _open(args) as plc:
        # Follow first, so that nothing logged while the backlog is read goes unseen.
        feed = plc.follow_logs() if args.follow else None
        shown = set()
        for entry in plc.logs(args.count):
            shown.add((entry.level, entry.msg_id))
            _print_log(args, entry)
        if feed is not None:
            print(f"following the log of {_name(plc)} (Ctrl-C to stop)", file=sys.stderr,
                  flush=True)
            with feed:
                for entry in feed:
                    if (entry.level, entry.msg_id) not in shown:
                        _print_log(args, entry)


def _print_log(args, entry) -> None:
    print(as_json(entry.as_dict()) if args.json else str(entry), flush=True)


def variables(args):
    with _open(args) as plc:
        table = plc.variables()
    emit(args, [v.as_dict() for v in table],
         format_table(["INDEX", "NAME", "TYPE"], [(v.index, v.name, v.type) for v in table]))


def trace(args):
    with _open(args) as plc:
        state = plc.status().status
        if state != PLCStatus.STARTED:
            raise OperationFailed(f"{_name(plc)}: the PLC is {state.value}, so no cycle runs and "
                                  "there is nothing to trace" + _NOT_TRACING_HINTS.get(state, ""))
        with plc.trace(args.names, count=args.count, duration=args.duration) as feed:
            writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
            widths = trace_columns(args.names)
            if writer:
                writer.writerow(["tick", *args.names])
            elif not args.json:
                print(trace_row(["tick", *args.names], widths))
            for tick, values in feed:
                cells = [values[name] for name in args.names]
                if writer:
                    writer.writerow([tick, *map(csv_value, cells)])
                elif args.json:
                    print(as_json({"tick": tick, "values": values}))
                else:
                    print(trace_row([tick, *map(format_value, cells)], widths))
                sys.stdout.flush()


def _read_back(plc, names) -> dict | None:
    with plc.trace(names, count=1, duration=READ_BACK_WAIT) as feed:
        sample = next(feed, None)
    return None if sample is None else sample[1]


def _show_values(args, plc, verb: str, names, values) -> None:
    document = {"id": plc.plc_id, verb: list(names), "values": values}
    if not names:
        text = f"{_name(plc)}: {verb} every force"
    elif values is None:
        state = plc.status()
        text = (f"{_name(plc)}: {verb} {', '.join(names)}; no value read back "
                f"(the PLC is {state.status.value}, so no cycle was sampled)")
    else:
        text = "\n".join(f"{_name(plc)}: {name} = {format_value(values[name])} ({verb})"
                         for name in names)
    emit(args, document, text)


def _set_values(args, method: str, verb: str) -> None:
    """force and write: NAME=VALUE assignments, then the values read back."""
    values = dict(parse_assignment(text) for text in args.assignments)
    with _open(args) as plc:
        getattr(plc, method)(values)
        _show_values(args, plc, verb, list(values), _read_back(plc, list(values)))


def force(args):
    _set_values(args, "force", "forced")


def release(args):
    if bool(args.names) == bool(args.all):
        raise ValueError("name the variables to release, or give --all (not both)")
    with _open(args) as plc:
        forced = {e["name"]: e for e in plc.forces() or () if e.get("name")}
        plc.release(*args.names, restore=args.restore)
        names = args.names or list(forced)
        values = _read_back(plc, names) if names else {}
        verb = "restored" if args.restore else "released"
        if args.restore or not values:
            _show_values(args, plc, verb, names, values)
            return
        # A variable the program never writes keeps its forced value: say so (the issue's
        # drained tank: `manual` stayed TRUE after release --all).
        kept = {name: forced[name]["before"] for name in names
                if name in forced and forced[name].get("before") is not None
                and values.get(name) == forced[name]["value"] != forced[name]["before"]}
        text = "\n".join(
            f"{_name(plc)}: {name} = {format_value(values[name])} ({verb}"
            + (f"; the program has not changed it since: it was {format_value(kept[name])} "
               "before the force (`release --restore` puts that back)" if name in kept else "")
            + ")" for name in names)
        emit(args, {"id": plc.plc_id, verb: names, "values": values,
                    "kept_forced_value": sorted(kept)}, text)


def write(args):
    _set_values(args, "write", "written")


def forces(args):
    if args.all and (args.uri or args.id):
        raise ValueError("give --all, or one runtime with --uri/--id, not both")
    if args.all:
        with blocking.open_fleet() as fleet:
            found = [(o.plc_id, o.value if o.ok else o.error) for o in fleet.forces()]
    else:
        with _open(args) as plc:
            found = [(plc.plc_id or plc.client.uri, plc.forces())]
    documents = [{"id": plc_id, "forces": entries if not isinstance(entries, str) else None,
                  **({"error": entries} if isinstance(entries, str) else {})}
                 for plc_id, entries in found]
    emit(args, documents if args.all else documents[0], forces_table(found))


def pair(args):
    from ide_component.psk_store import PSKStore
    uri = target_uri(args, args.pair_uri)
    with _open(args, uri) as plc:
        identity, secret = plc.psk_identity()
    if not identity or not secret:
        raise OperationFailed(f"{uri} has no PSK identity configured (a runtime gets one with "
                              "--psk-file); nothing stored")
    later = (ConnectionURI("ERPCS", uri.host, args.tls_port, plc_id=validate_plc_id(identity))
             if uri.scheme == "ERPC" else uri)
    path = PSKStore(args.psk_dir).store(identity, secret, str(later), args.description)
    emit(args, {"id": identity, "secret_file": path, "uri": str(later)},
         f"paired {identity}: secret stored in {path}; connect with {later}")
