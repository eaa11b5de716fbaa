"""What every IDE command shares: which runtime is meant, how results are printed, and which
exit code each kind of failure gives (the codes are documented in cli_parsers)."""
import os
import sys

from ide_component.cli_output import as_json
from ide_component.cli_parsers import (EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE,
                                       URI_ENV)
from ide_component.failures import OperationFailed
from plc_protocol.errors import PLCObjectError, PLCUnreachable

_EXIT_CODES = (
    (PLCUnreachable, EXIT_UNREACHABLE),
    (PLCObjectError, EXIT_FAILED),
    (OperationFailed, EXIT_FAILED),
    # Bad input: URIs, credentials, variable names and values, files to send.
    (ValueError, EXIT_USAGE),
    (FileNotFoundError, EXIT_USAGE),
    (PermissionError, EXIT_USAGE),
    (IsADirectoryError, EXIT_USAGE),
)


def run_guarded(handler, args) -> int:
    """Run a command; a failure becomes one line on stderr and its exit code, never a traceback
    (with --json, also a JSON document on stdout)."""
    from twisted.internet import defer   # here, not at import: `plclink --help` needs no Twisted
    no_answer = (defer.TimeoutError, defer.CancelledError)
    codes = ((no_answer, EXIT_UNREACHABLE),) + _EXIT_CODES
    try:
        return handler(args) or EXIT_OK
    except tuple(kind for kind, _ in _EXIT_CODES) + no_answer as error:
        code = next(code for kind, code in codes if isinstance(error, kind))
        message = " ".join(str(error).split()) or type(error).__name__
        if isinstance(error, no_answer):
            message = "no answer in time (the runtime or the router is unreachable)"
        return report_error(f"plclink {command_name(args)}", message, code,
                            getattr(args, "json", False))


def report_error(prefix: str, message: str, code: int, as_json_too: bool) -> int:
    """One line for people on stderr; with --json also ``{"error", "exit_code"}`` on stdout, so
    a program reading stdout always gets a JSON document."""
    print(f"{prefix}: error: {message}", file=sys.stderr, flush=True)
    if as_json_too:
        print(as_json({"error": message, "exit_code": code}), flush=True)
    return code


def command_name(args) -> str:
    fleet = getattr(args, "fleet_command", None)
    return f"fleet {fleet}" if fleet else args.command


def target_uri(args, explicit: str | None = None):
    """The ConnectionURI a command is about: ``explicit``, --uri, --id, or $PLCLINK_URI."""
    from ide_component.connectors import router_uri
    from ide_component.wamp_session import load_credentials
    from plc_protocol.uris import parse_uri, validate_plc_id
    given = [name for name, value in (("URI", explicit), ("--uri", args.uri), ("--id", args.id))
             if value]
    if len(given) > 1:
        raise ValueError(f"give one target, not {' and '.join(given)}")
    if args.id:
        credentials = load_credentials()
        return router_uri(credentials.get("router"), credentials.get("realm"),
                          validate_plc_id(args.id))
    text = explicit or args.uri or os.environ.get(URI_ENV)
    if not text:
        raise ValueError(f"no runtime given: use --uri URI or --id ID, or set ${URI_ENV}")
    return parse_uri(text)


def check_program(args) -> None:
    """Read and check what a transfer or deploy would send before connecting: a program with a
    syntax error or a broken build is refused (exit 2) even when the router is out of reach;
    with --sign-key, the signature file joins the extra files."""
    from plc_protocol.installation_files import read_installation
    read_installation(args.program, args.extra_files)
    if getattr(args, "sign_key", None):
        from ide_component.signing import sign_on_the_way
        args.extra_files = sign_on_the_way(args.program, args.extra_files, args.sign_key)


def emit(args, document, text: str) -> None:
    print(as_json(document) if args.json else text, flush=True)
