"""Handlers of ``plclink alarms ...`` (arguments and help: cli_parsers)."""
from ide_component import blocking
from ide_component.cli_output import alarms_table, format_table
from ide_component.cli_support import emit
from plc_protocol.uris import validate_plc_id


def _open(args) -> blocking.BlockingFleet:
    return blocking.open_fleet(args.router, args.realm)


def list_alarms(args):
    plc_id = validate_plc_id(args.plc_id) if args.plc_id else None
    with _open(args) as fleet:
        alarms = fleet.ask_registry("alarms", active=args.active, id=plc_id)
    emit(args, alarms, alarms_table(alarms) if alarms else
         "no active alarm" if args.active else "no alarm on record")


def ack(args):
    with _open(args) as fleet:
        alarm = fleet.ask_registry("ack", args.number)
    emit(args, alarm, f"alarm {alarm['alarm']} ({alarm['id']} {alarm['kind']}) acknowledged "
                      f"by {alarm['acked_by']}")


def _ask(args, short, *call_args, **kwargs):
    with _open(args) as fleet:
        return fleet.ask_registry(short, *call_args, **kwargs)


def rules(args):
    found = _ask(args, "rules")
    emit(args, found, format_table(["N", "IDS", "RULE", "FROM"], [
        (r["rule"], r["id"], r["text"], r["source"]) for r in found]) if found else "no rule")


def add_rule(args):
    rule = _ask(args, "add_rule", args.text, args.for_ids)
    emit(args, rule, f"rule {rule['rule']}: {rule['text']} on {rule['id']}")


def remove_rule(args):
    _ask(args, "remove_rule", args.number)
    emit(args, {"rule": args.number, "removed": True}, f"rule {args.number} removed")
