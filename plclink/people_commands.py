"""``plclink audit`` (who did what, from the router's journal) and ``plclink sessions`` (who is
connected; an admin ends a session), both over the router as the person logged in."""
import argparse
import re
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from autobahn.wamp.exception import ApplicationError

from ide_component.cli_parsers import EXIT_CODES_EPILOG
from ide_component.failures import OperationFailed
from router.audit_journal import QUERY_PROCEDURE

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def since_time(text: str) -> float:
    """``30m``, ``2h``, ``7d`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    match = _AGO.match(text.strip())
    if match:
        return time.time() - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a duration ago (30m, 2h, 7d) or an "
                                         "ISO date/time (2026-12-01, 2026-12-01T08:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _common(parser) -> None:
    parser.add_argument("--router", metavar="URL", help="router WebSocket URL (default: the "
                                                        "credentials file's)")
    parser.add_argument("--realm", help="realm (default: the credentials file's, else Automation)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON for programs instead of text for people")


def register_audit(subparsers):
    parser = subparsers.add_parser(
        "audit", help="who did what: logins, control calls, refusals, what they meant",
        description="The router's audit journal, newest first: every login (and refusal), "
                    "every control call with the person, their address, the runtime and what "
                    "it meant, every refused call. --verify DIR checks the journal's hash chain "
                    "on the router's host (STATE_DIR/audit).",
        epilog=EXIT_CODES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--id", dest="plc_id", metavar="ID", help="only this runtime's")
    parser.add_argument("--user", help="only this person's (or service's) authid")
    parser.add_argument("--since", type=since_time, metavar="WHEN",
                        help="only since then: 30m, 2h, 7d ago, or an ISO date/time")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default "
                                                              "%(default)s; at most 1000)")
    parser.add_argument("--before", type=int, metavar="SEQ",
                        help="older than record SEQ (the next page)")
    parser.add_argument("--verify", metavar="DIR", help="check the hash chain of the journal "
                                                        "in DIR instead")
    _common(parser)
    parser.set_defaults(handler=_guarded(audit))


def register_sessions(subparsers):
    parser = subparsers.add_parser(
        "sessions", help="who is connected to the router; end a session (admin)",
        description="List the sessions on the realm (id, who, role, how they logged in, "
                    "address); 'sessions kill ID' ends one. Needs an admin account.",
        epilog=EXIT_CODES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser)
    actions = parser.add_subparsers(dest="sessions_command", metavar="ACTION")
    kill = actions.add_parser("kill", help="end a session")
    kill.add_argument("session", type=int, metavar="ID")
    _common(kill)
    parser.set_defaults(handler=_guarded(sessions))


def _guarded(handler):
    def run(args):
        from ide_component.cli_support import run_guarded
        return run_guarded(handler, args)
    return run


@contextmanager
def _router(args):
    """A call function on a session of the person in the credentials file."""
    from ide_component import blocking, reactor_thread

    with blocking.open_fleet(args.router, args.realm) as fleet:
        def call(uri, *call_args, **kwargs):
            try:
                return reactor_thread.blocking(fleet.fleet.session.call, uri, *call_args,
                                               **kwargs)
            except ApplicationError as error:
                raise OperationFailed(f"{uri}: {error.args[0] if error.args else error.error}") \
                    from None
        yield call


def _when(seconds) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def audit(args):
    from ide_component.cli_output import format_table
    from ide_component.cli_support import emit
    if args.verify:
        from router.audit_journal import verify
        count, problem = verify(args.verify)
        emit(args, {"records": count, "problem": problem},
             f"{count} records checked: " + (problem or "the chain is intact"))
        if problem:
            raise OperationFailed(problem)
        return 0
    with _router(args) as call:
        records = call(QUERY_PROCEDURE, id=args.plc_id, user=args.user, since=args.since,
                       before=args.before, limit=args.limit)
    emit(args, records, format_table(
        ["SEQ", "TIME (UTC)", "WHO", "ADDRESS", "ID", "WHAT", "OUTCOME"],
        [(r["seq"], _when(r["time"]), f"{r['who']} ({r['role']})" if r.get("role") else r["who"],
          r.get("address") or "", r.get("id") or "", r["what"], r["outcome"])
         for r in records]) if records else "no audit record matches")
    return 0


def sessions(args):
    from ide_component.cli_output import format_table
    from ide_component.cli_support import emit
    with _router(args) as call:
        if args.sessions_command == "kill":
            call("wamp.session.kill", args.session, reason="wamp.close.killed",
                 message="ended by an administrator")
            emit(args, {"killed": args.session}, f"session {args.session} ended")
            return 0
        found = []
        for session_id in call("wamp.session.list"):
            try:
                found.append(call("wamp.session.get", session_id))
            except OperationFailed:
                continue   # left meanwhile
    rows = [{"session": s.get("session"), "authid": s.get("authid"),
             "authrole": s.get("authrole"), "authmethod": s.get("authmethod"),
             "address": ((s.get("transport") or {}).get("peer") or "")} for s in found]
    emit(args, rows, format_table(["SESSION", "WHO", "ROLE", "METHOD", "ADDRESS"], [
        (r["session"], r["authid"], r["authrole"], r["authmethod"], r["address"])
        for r in rows]))
    return 0
