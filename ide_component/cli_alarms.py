"""Handlers of ``plclink alarms ...`` (arguments and help: cli_parsers)."""
import sys

from ide_component import blocking
from ide_component.cli_output import alarms_table, format_table, format_time
from ide_component.cli_support import emit
from plc_protocol.uris import validate_plc_id


def _open(args) -> blocking.BlockingFleet:
    return blocking.open_fleet(args.router, args.realm)


def _ask(args, short, *call_args, **kwargs):
    with _open(args) as fleet:
        return fleet.ask_registry(short, *call_args, **kwargs)


def flood_line(state) -> str:
    if not state["flood"]:
        return ""
    return (f"ALARM FLOOD: {state['raised_recently']} alarms raised in the last "
            f"{state['flood_window'] / 60:g} minutes\n")


def list_alarms(args):
    plc_id = validate_plc_id(args.plc_id) if args.plc_id else None
    with _open(args) as fleet:
        alarms = fleet.ask_registry("alarms", active=args.active, id=plc_id,
                                    shelved=True if args.shelved else False)
        state = fleet.ask_registry("alarm_state")
    empty = ("no shelved alarm" if args.shelved else "no active alarm" if args.active
             else "no alarm on record")
    hidden = (f"\n({state['shelved']} shelved alarm(s) not listed: plclink alarms --shelved)"
              if state["shelved"] and not args.shelved else "")
    emit(args, alarms, flood_line(state) + (alarms_table(alarms) if alarms else empty) + hidden)


def _acked(alarm) -> str:
    comment = f": {alarm['ack_comment']}" if alarm.get("ack_comment") else ""
    return (f"alarm {alarm['alarm']} ({alarm['id']} {alarm['kind']}, {alarm['priority']}) "
            f"acknowledged by {alarm['acked_by']}{comment}")


def ack(args):
    if args.all == (args.number is not None):
        raise ValueError("give an alarm number N, or --all (with --id, --priority)")
    if not args.all and (args.plc_id or args.priority):
        raise ValueError("--id and --priority choose alarms for --all")
    if args.all:
        plc_id = validate_plc_id(args.plc_id) if args.plc_id else None
        done = _ask(args, "ack_all", comment=args.comment, id=plc_id, priority=args.priority)
        emit(args, done, "\n".join(_acked(alarm) for alarm in done)
             or "no alarm to acknowledge")
        return
    alarm = _ask(args, "ack", args.number, comment=args.comment)
    if alarm.get("already"):
        emit(args, alarm, f"notice: alarm {alarm['alarm']} was already acknowledged by "
                          f"{alarm['acked_by']} at {format_time(alarm['acked_at'])}; unchanged")
        return
    emit(args, alarm, _acked(alarm))


def shelve(args):
    from registry.alarm_management import parse_duration
    seconds = parse_duration(args.duration)
    alarm = _ask(args, "shelve", args.number, seconds, args.reason)
    emit(args, alarm, f"alarm {alarm['alarm']} ({alarm['id']} {alarm['kind']}) shelved by "
                      f"{alarm['shelved_by']} until {format_time(alarm['shelved_until'])}")


def unshelve(args):
    alarm = _ask(args, "unshelve", args.number)
    emit(args, alarm, f"alarm {alarm['alarm']} ({alarm['id']} {alarm['kind']}) is back on the "
                      "list")


def notifications(args):
    found = _ask(args, "notifications")
    if not found.get("configured"):
        emit(args, found, "no notifications: start the registry with --notify FILE "
                          "(docs/alarms.md)")
        return
    rows = [(t["name"], t.get("url") or f"{t['host']}:{t['port']} to {', '.join(t['to'])}",
             t["min_priority"], t["sent"], t["failed"],
             format_time(t["last_sent_at"]), t["last_error"] or "-")
            for t in found["targets"]]
    emit(args, found, format_table(["TARGET", "WHERE", "FROM PRIORITY", "SENT", "FAILED",
                                    "LAST SENT", "LAST ERROR"], rows)
         + f"\n(each delivery tried {found['retries'] + 1} times with back-off)")


def rules(args):
    found = _ask(args, "rules")
    emit(args, found, format_table(["N", "IDS", "RULE", "FROM"], [
        (r["rule"], r["id"], r["text"], r["source"]) for r in found]) if found else "no rule")


def add_rule(args):
    text = args.text + (f" priority {args.priority}" if args.priority else "")
    rule = _ask(args, "add_rule", text, args.for_ids)
    if rule.get("warning"):
        print(f"plclink alarms: warning: {rule['warning']}", file=sys.stderr)
    emit(args, rule, f"rule {rule['rule']}: {rule['text']} on {rule['id']}")


def remove_rule(args):
    _ask(args, "remove_rule", args.number)
    emit(args, {"rule": args.number, "removed": True}, f"rule {args.number} removed")
