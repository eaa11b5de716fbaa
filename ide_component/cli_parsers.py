"""The IDE subcommands' arguments and help; handlers are imported only when a command runs,
so ``plclink --help`` stays fast (nothing here imports Twisted or autobahn)."""
import argparse
import textwrap

from ide_component.blob_plan import BEREMIZ_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, DEFAULT_WINDOW
from plc_protocol.iec_types import STRING_MAX
from plc_protocol.uris import DEFAULT_PORTS

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_BROKEN = 4         # fleet status: a runtime is Broken
EXIT_DISCONNECTED = 5   # fleet status: a runtime is Disconnected (none Broken)
EXIT_CODES_EPILOG = f"""\
exit codes (IDE and fleet commands):
  {EXIT_OK}  success
  {EXIT_FAILED}  the operation failed: refused by the runtime or the router, a chunk digest
     disagreed, the program did not load, or (fleet) any selected runtime failed
  {EXIT_USAGE}  usage error or bad input: arguments, URI, file, variable name, value, credentials
  {EXIT_UNREACHABLE}  runtime or router unreachable: not connected, unknown ID, no answer in time,
     link lost
  130  interrupted (Ctrl-C)"""

URI_ENV = "PLCLINK_URI"
TARGET_HELP = f"""\
target: --uri URI (or ${URI_ENV}), one of
  WAMP://host[:port][/path]#realm#ID   through a router (WAMPS:// for TLS)
  ERPC://host[:port]                   eRPC, plain TCP (trusted links, pairing)
  ERPCS://host[:port]#ID               eRPC over TLS-PSK (after `plclink pair`)
  LOCAL://                             a runtime started on this machine
or --id ID for WAMP://<router>#<realm>#ID with the router and realm of the credentials file.
Router credentials come from the file named by $PLCLINK_CREDENTIALS (YAML: router, realm,
authid, secret or ticket) or from $PLCLINK_AUTHID with $PLCLINK_SECRET or $PLCLINK_TICKET."""

FORCING_NOTE = """\
A force belongs to the runtime: it stays until someone releases it (or a new program is
installed), whoever traces; `plclink forces` shows every force with who made it and since when.
`write` sets a value once (the program may overwrite it at its next cycle). An upstream Beremiz
runtime keeps ONE traced-and-forced set instead: there a force replaces other forces, any
release lifts every force, and --restore is refused. See docs/forcing.md."""


def _handler(module: str, function: str):
    def run(args):
        from ide_component.cli_support import run_guarded
        handler = getattr(__import__(f"ide_component.{module}", fromlist=[function]), function)
        return run_guarded(handler, args)
    return run


def _command(subparsers, name, help_text, description, module, function, epilog=None):
    parser = subparsers.add_parser(
        name, help=help_text, description=textwrap.fill(description, 78),
        epilog="\n\n".join(part for part in (epilog, EXIT_CODES_EPILOG) if part),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=_handler(module, function))
    return parser


def _add_target(parser) -> None:
    group = parser.add_argument_group("target")
    group.add_argument("--uri", metavar="URI",
                       help=f"the runtime's connection URI (default: ${URI_ENV})")
    group.add_argument("--id", metavar="ID",
                       help="a runtime ID behind the router named in the credentials file")


def _add_variables(parser) -> None:
    parser.add_argument("--variables", metavar="FILE",
                        help="the variable table from a Beremiz build's VARIABLES.csv, for a "
                             "runtime that has none of its own (names: the IEC paths)")


def _add_json(parser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print JSON for programs instead of text for people")


def _add_transfer_options(parser) -> None:
    parser.add_argument("program", metavar="PROGRAM",
                        help="the PLC program: a Python file, or a Beremiz project's build "
                        "directory (its library, extra_files/ and VARIABLES.csv are sent, with "
                        "the build's md5), or the library file in it")
    parser.add_argument("extra_files", metavar="EXTRA_FILE", nargs="*",
                        help="data files installed beside the program, under their base names")
    parser.add_argument("--force", action="store_true",
                        help="transfer even when the runtime already has this program (MatchMD5)")
    parser.add_argument("--start", action="store_true", help="start the PLC after the transfer")
    parser.add_argument("--sign-key", metavar="NAME.key",
                        help="sign the program and every file with this key on the way "
                             "('plclink keys new'; runtimes with --trusted-keys require it)")
    parser.add_argument("--progress", action="store_true",
                        help="show progress on stderr even when it is not a terminal")
    parser.add_argument("--chunk-size", type=_positive_int, default=DEFAULT_CHUNK_SIZE,
                        metavar="BYTES",
                        help="bytes per AppendChunkToBlob call (default %(default)s; the Beremiz "
                             f"IDE uses {BEREMIZ_CHUNK_SIZE}; eRPC caps it at one frame)")
    parser.add_argument("--window", type=_positive_int, default=DEFAULT_WINDOW, metavar="CALLS",
                        help="chunk calls in flight at once on one runtime (default %(default)s; "
                             "1 is the Beremiz way)")


def _debug_command(subparsers, name, help_text, description, positional=None):
    """force, release, write, forces: a target, a variables file, --json."""
    parser = _command(subparsers, name, help_text, description, "cli_plc", name,
                      epilog=FORCING_NOTE + "\n\n" + TARGET_HELP)
    if positional:
        dest, metavar, nargs, help_text = positional
        parser.add_argument(dest, metavar=metavar, nargs=nargs, help=help_text)
    _add_target(parser)
    _add_variables(parser)
    _add_json(parser)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def register_plc_commands(subparsers) -> None:
    """status, start, stop, repair, restart, transfer, logs, vars, trace, forces, force,
    release, write, pair."""
    for name, help_text, description in (
            ("status", "show one PLC's status, program, forces and log counts",
             "Show the PLC status (Empty, Stopped, Started, Broken), the installed program's "
             "md5 (where the runtime publishes it), how many variables are forced, why it is "
             "Broken (the CRITICAL message), and how many messages it logged at each level."),
            ("restart", "load one PLC's installed program again and start it",
             "Load the installed program again in a fresh program process (init, then "
             "Started), from Broken or Stopped: the way out of Broken that keeps the program "
             "(repair removes it). Forces stay. plclink's runtime only."),
            ("start", "start one PLC", "Start the PLC cycle; the PLC must be Stopped "
             "(an installed program). Starting a Started PLC succeeds and changes nothing."),
            ("stop", "stop one PLC", "Stop the PLC cycle."),
            ("repair", "remove one PLC's program", "Remove the installed program and its extra "
             "files, whatever the status: the PLC becomes Empty (the way out of Broken).")):
        parser = _command(subparsers, name, help_text, description, "cli_plc", name,
                          epilog=TARGET_HELP)
        _add_target(parser)
        _add_json(parser)

    parser = _command(
        subparsers, "transfer", "install a program (and extra files) on one PLC",
        "Transfer a program as the Beremiz IDE does: skip when a Stopped or Started runtime "
        "already has it (MatchMD5 of the md5 over the program and every extra file; an Empty "
        "or Broken runtime is always sent it), stop the PLC if it runs, send each file as a "
        "blob checking every chunk's digest, then install with NewPLC. A digest that ever "
        "disagrees stops the transfer with nothing installed. A Python program (.py) is "
        "compiled first: a syntax error is refused (exit 2) before anything is sent.",
        "cli_plc", "transfer", epilog=TARGET_HELP)
    _add_transfer_options(parser)
    _add_target(parser)
    _add_json(parser)

    parser = _command(
        subparsers, "logs", "show one PLC's log messages",
        "Show the newest log messages of all levels, oldest first; with --follow, then every "
        "new message as it is logged (through the runtime's log events, fetching any it "
        "missed; polling over eRPC) until Ctrl-C.", "cli_plc", "logs", epilog=TARGET_HELP)
    parser.add_argument("-n", "--count", type=int, default=10, metavar="N",
                        help="how many of the newest messages to show first (default %(default)s)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep showing new messages")
    _add_target(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per message (JSON Lines)")

    parser = _command(subparsers, "vars", "list one PLC's variables",
                      "List the program's debuggable variables: index, name and IEC type.",
                      "cli_plc", "variables", epilog=TARGET_HELP)
    _add_target(parser)
    _add_variables(parser)
    _add_json(parser)

    parser = _command(
        subparsers, "trace", "show live values of variables by name",
        "Trace variables by name: one row per PLC cycle sampled, decoded by IEC type, until "
        "--count, --duration or Ctrl-C.", "cli_plc", "trace",
        epilog=FORCING_NOTE + "\n\n" + TARGET_HELP)
    parser.add_argument("names", metavar="VAR", nargs="+", help="variable names (see `plclink vars`)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="print CSV: a header, then tick,values")
    output.add_argument("--json", action="store_true",
                        help="print one JSON object per sample (JSON Lines)")
    parser.add_argument("--count", type=_positive_int, metavar="N", help="stop after N samples")
    parser.add_argument("--duration", type=_positive_float, metavar="SECONDS",
                        help="stop after this many seconds")
    _add_target(parser)
    _add_variables(parser)

    _debug_command(
        subparsers, "force", "force variables to values",
        "Force variables (NAME=VALUE, several at once): the PLC uses these values every cycle "
        "until they are released; the values read back are shown. BOOL takes TRUE/FALSE or "
        f"1/0, integers decimal or 0x..., STRING up to {STRING_MAX} bytes, TIME/TOD/DATE/DT "
        "seconds.", ("assignments", "VAR=VALUE", "+", "what to force"))
    parser = _debug_command(
        subparsers, "release", "release forced variables",
        "Release forced variables: name them, or give --all: the program takes them over "
        "again at its next cycle. --restore also puts back each value from before its force "
        "(\"unforce and restore\"). The named variables' values are read back.",
        ("names", "VAR", "*", "variables to release"))
    parser.add_argument("--all", action="store_true", help="release every forced variable")
    parser.add_argument("--restore", action="store_true",
                        help="put back the values the variables had before they were forced")
    _debug_command(
        subparsers, "write", "set variables once, as an HMI sets a setpoint",
        "Write values (NAME=VALUE, several at once) before the next cycle; the program may "
        "overwrite them from then on and nothing stays forced. On an upstream Beremiz "
        "runtime, which only knows forces: force, let one cycle run, release.",
        ("assignments", "VAR=VALUE", "+", "what to write"))
    parser = _debug_command(
        subparsers, "forces", "show what is forced, by whom, since when",
        "List the forced variables of one runtime (--uri/--id) or of every runtime on the "
        "realm (--all): variable, value, who forced it, since when. An upstream Beremiz "
        "runtime cannot report its forces: it is listed as unknown.")
    parser.add_argument("--all", action="store_true", help="every runtime on the realm")

    parser = _command(
        subparsers, "pair", "store a runtime's PSK identity for ERPCS:// connections",
        "Ask a runtime for its PSK identity and secret (GetPLCID) over a trusted link, and store "
        "them as the Beremiz IDE does (DIR/<ID>.secret and DIR/management.json), so that "
        "ERPCS://host#ID connects from then on. The secret is never printed.",
        "cli_plc", "pair", epilog=TARGET_HELP)
    parser.add_argument("pair_uri", metavar="URI", nargs="?",
                        help="where to ask, e.g. ERPC://host[:port] (default: --uri, --id or "
                             f"${URI_ENV})")
    parser.add_argument("--psk-dir", metavar="DIR",
                        help="PSK store directory (default: $PLCLINK_PSK_DIR or "
                             "~/.config/plclink/psk)")
    parser.add_argument("--tls-port", type=_positive_int, default=DEFAULT_PORTS["ERPCS"],
                        metavar="PORT",
                        help="the runtime's TLS-PSK port, recorded in the ERPCS:// URI stored "
                             "for an ERPC:// pairing (default %(default)s)")
    parser.add_argument("--description", default="", help="a note kept with the identity")
    _add_target(parser)
    _add_json(parser)


FLEET_STATUS_CODES = f"""\
fleet status exit codes (the first that applies):
  {EXIT_BROKEN}  a selected runtime is Broken (its cause is in the PROBLEM column)
  {EXIT_DISCONNECTED}  a selected runtime is Disconnected or unreachable
  {EXIT_FAILED}  a runtime could not tell its status (refused, went wrong)
  {EXIT_UNREACHABLE}  the router is unreachable
  {EXIT_OK}  every selected runtime answered and none is Broken"""

FLEET_EPILOG = """\
Runtimes are discovered on the router: sessions joined as runtimes and runtimes with a
retained status event (one that vanished shows as Disconnected). The router and realm come
from the credentials file ($PLCLINK_CREDENTIALS) unless --router/--realm are given. Each
runtime succeeds or fails on its own: one unreachable runtime never stops the others."""


def _add_fleet_common(parser) -> None:
    group = parser.add_argument_group("router")
    group.add_argument("--router", metavar="URL",
                       help="router WebSocket URL, e.g. ws://127.0.0.1:8888 (default: the "
                            "credentials file's router)")
    group.add_argument("--realm", help="realm (default: the credentials file's, else Automation)")
    _add_json(parser)


SELECTOR_HELP = ("runtimes whose labels match, e.g. line=2,site=plant-a (key!=value "
                 "excludes; with --ids: those of the IDs that match)")


def _add_selection(parser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--ids", action="append", metavar="ID[,ID...]",
                       help="runtime IDs, comma-separated or repeated")
    group.add_argument("--all", action="store_true", help="every runtime on the realm")
    group.add_argument("--selector", metavar="KEY=VALUE[,...]", help=SELECTOR_HELP)


def _add_selector(parser) -> None:
    parser.add_argument("--selector", metavar="KEY=VALUE[,...]", help=SELECTOR_HELP)


def _non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else _positive_int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"must be from 1 to 86400 seconds, got {text}")
    return value


def _add_rollout_options(parser) -> None:
    group = parser.add_argument_group(
        "staged rollout (any of these: see docs/rollouts.md; needs the registry)")
    group.add_argument("--canary", type=_non_negative_int, metavar="N",
                       help="install on N runtimes first and hold them at the gate (default 1)")
    group.add_argument("--wave-size", type=_non_negative_int, metavar="M",
                       help="then waves of M runtimes (default: all the rest in one wave)")
    group.add_argument("--gate-seconds", type=_seconds, metavar="S",
                       help="each wave must stay healthy this long: Started, tick advancing, "
                            "no CRITICAL log, no new alarm, no rise in scan overruns (default "
                            "30); a wave that fails is rolled back and the rollout stops")
    group.add_argument("--dry-run", action="store_true",
                       help="print the plan (per runtime: current md5 -> new md5, files that "
                            "change, skipped ones) and change nothing")


def _add_ask_each(parser) -> None:
    parser.add_argument("--ask-each", action="store_true",
                        help="ask the router and each runtime even when a registry is on the "
                             "realm")


def register_fleet_command(subparsers) -> None:
    """fleet list | status | deploy | start | stop | history | rollback | diff | get | label |
    rollouts | gaps."""
    fleet = subparsers.add_parser(
        "fleet", help="operate on many runtimes through the router",
        description="Operate on many runtimes at once through the router.",
        epilog=FLEET_EPILOG + "\n\n" + EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True,
                                   help="what to do")

    parser = _command(actions, "list", "every runtime on the realm",
                      "List every runtime on the realm with its status, installed program md5, "
                      "link (native, bridged, or no events: a runtime such as Beremiz's WAMP "
                      "runtime that publishes no status and is asked it), how many variables "
                      "are forced (? where unknown) and its PROBLEM (the cause of a Broken PLC, "
                      "or Disconnected), as the router last heard it.",
                      "cli_fleet", "list_runtimes", epilog=FLEET_EPILOG)
    _add_ask_each(parser)
    _add_selector(parser)
    _add_fleet_common(parser)

    parser = _command(actions, "status", "ask every runtime its status at once",
                      "Show the selected runtimes' status (default: all), with the cause of "
                      "any Broken one: from the registry's live table in one call when a "
                      "registry is on the realm, else asking every runtime concurrently. The "
                      "exit code suits a monitoring check (below).",
                      "cli_fleet", "status", epilog=FLEET_STATUS_CODES + "\n\n" + FLEET_EPILOG)
    _add_selection(parser, required=False)
    _add_ask_each(parser)
    _add_fleet_common(parser)

    parser = _command(actions, "deploy", "transfer a program to many runtimes at once",
                      "Transfer the same program to the selected runtimes concurrently (see "
                      "`plclink transfer`), with one line per runtime (deployed, skipped, or "
                      "failed/unreachable: why) and a summary. Each runtime succeeds or fails "
                      "alone. With --start a Started PLC keeps running: the runtime switches "
                      "programs itself, and one whose new program does not start runs its old "
                      "one again; a PLC is never left Stopped by a deploy that did not install "
                      "on it. Exit 0 when every runtime has the program, 1 when any failed or "
                      "was unreachable (the others still complete), 2 for bad input (nothing "
                      "sent). With --canary/--wave-size/--gate-seconds: a staged rollout, exit "
                      "0 when every wave passed its gate, 1 when one failed and was rolled "
                      "back.",
                      "cli_fleet", "deploy", epilog=FLEET_EPILOG)
    _add_transfer_options(parser)
    _add_selection(parser, required=True)
    _add_rollout_options(parser)
    _add_fleet_common(parser)

    for name, verb in (("start", "start"), ("stop", "stop")):
        parser = _command(actions, name, f"{verb} the selected PLCs",
                          f"{verb.capitalize()} the selected PLCs concurrently; exit 1 when "
                          "any failed.", "cli_fleet", name, epilog=FLEET_EPILOG)
        _add_selection(parser, required=True)
        _add_fleet_common(parser)

    parser = _command(actions, "history", "programs installed on a runtime (registry)",
                      "Every program installed on a runtime, newest first: md5, when, by whom "
                      "(the identity the router authenticated), extra files, the fleet deploy "
                      "it belonged to, and whether the registry keeps its files for rollback.",
                      "cli_fleet", "history", epilog=REGISTRY_EPILOG)
    parser.add_argument("plc_id", metavar="ID", help="runtime ID")
    _add_fleet_common(parser)

    parser = _command(actions, "rollback", "re-install an earlier program (registry)",
                      "Transfer a program set kept by the registry back to a runtime, through "
                      "the normal transfer (the PLC is stopped for it and left stopped): the "
                      "one installed before the current one, or --to MD5.",
                      "cli_fleet", "rollback", epilog=REGISTRY_EPILOG)
    parser.add_argument("plc_id", metavar="ID", help="runtime ID")
    parser.add_argument("--to", metavar="MD5", help="the program to go back to (see history)")
    parser.add_argument("--start", action="store_true", help="start the PLC afterwards")
    parser.add_argument("--progress", action="store_true",
                        help="show progress on stderr even when it is not a terminal")
    _add_fleet_common(parser)

    parser = _command(actions, "diff", "compare two installed programs (registry)",
                      "Compare two program sets kept by the registry: every file (the program "
                      "and each extra file) with its sizes and whether it changed.",
                      "cli_fleet", "diff", epilog=REGISTRY_EPILOG)
    parser.add_argument("plc_id", metavar="ID", help="runtime ID (both must be in its history)")
    parser.add_argument("a", metavar="MD5", help="the older program")
    parser.add_argument("b", metavar="MD5", help="the newer program")
    _add_fleet_common(parser)

    parser = _command(actions, "gaps", "when the registry recorded nothing (registry)",
                      "List the periods the registry was not running: from the last record it "
                      "kept to its next start. Nothing that happened on the realm meanwhile is "
                      "in its history, except each runtime's status as it found it again.",
                      "cli_fleet", "gaps", epilog=REGISTRY_EPILOG)
    _add_fleet_common(parser)

    parser = _command(actions, "get", "fetch a stored program set (registry)",
                      "Write the files of a program set the registry stores into a directory: "
                      "the program under its own name and its extra files, ready for `plclink "
                      "fleet deploy DIR/PROGRAM DIR/EXTRA...`.",
                      "cli_rollouts", "get", epilog=REGISTRY_EPILOG)
    parser.add_argument("md5", metavar="MD5", help="the program set (see `fleet history ID`)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    _add_fleet_common(parser)

    parser = _command(actions, "label", "set or remove labels of a runtime (registry)",
                      "Set labels of a runtime (site, line, cell, product, ...) kept by the "
                      "registry; KEY= removes one. They add to (and override) the labels the "
                      "runtime publishes itself (`plclink runtime --label`). Select runtimes by "
                      "them with --selector on every fleet command.",
                      "cli_rollouts", "label", epilog=REGISTRY_EPILOG)
    parser.add_argument("plc_id", metavar="ID", help="runtime ID")
    parser.add_argument("labels", metavar="KEY=VALUE", nargs="+",
                        help="labels to set (KEY= removes KEY)")
    _add_fleet_common(parser)

    parser = _command(actions, "rollouts", "staged rollouts on record (registry)",
                      "List the staged rollouts (fleet deploy --canary/--wave-size/"
                      "--gate-seconds), newest first, with their state; one whose IDE stopped "
                      "while it ran shows as interrupted: resume or abort it.",
                      "cli_rollouts", "rollouts", epilog=REGISTRY_EPILOG)
    parser.add_argument("--limit", type=_positive_int, default=20, help="how many (default 20)")
    _add_fleet_common(parser)
    steps = parser.add_subparsers(dest="rollout_command", metavar="ACTION")
    for name, help_text, description in (
            ("show", "a rollout's waves and results", "Show a rollout's plan, waves and the "
             "result on each runtime."),
            ("resume", "continue an interrupted rollout", "Continue a rollout whose IDE stopped: "
             "the wave in progress is installed again (runtimes that have the program are "
             "skipped) and held at its gate, then the next waves. Exit 0 when every wave "
             "passed."),
            ("abort", "end an interrupted rollout", "End a rollout whose IDE stopped: the "
             "runtimes of the wave in progress go back to their previous program; waves that "
             "passed keep the new one.")):
        step = _command(steps, name, help_text, description, "cli_rollouts", name,
                        epilog=REGISTRY_EPILOG)
        step.add_argument("number", metavar="ROLLOUT", type=_positive_int)
        if name == "abort":
            step.add_argument("--note", help="why (kept with the rollout)")
        _add_fleet_common(step)


REGISTRY_EPILOG = """These commands read the registry (`plclink registry`, started by `plclink up`); without one on
the realm they exit 3. The registry keeps a program set when `plclink transfer` or `fleet
deploy` installed it."""


def register_alarms_command(subparsers) -> None:
    """alarms [--active] [--shelved] [--id ID] | ack | shelve | unshelve | rules | add-rule |
    remove-rule | notifications."""
    parser = subparsers.add_parser(
        "alarms", help="alarms raised by the registry; acknowledge and shelve them",
        description="List alarms, active first and most urgent first (priorities critical, "
                    "high, medium, low): Broken, Disconnected, a CRITICAL log, a plant link "
                    "lost, user rules on values. Shelved alarms are listed apart (--shelved). "
                    "See docs/alarms.md.",
        epilog=REGISTRY_EPILOG + "\n\n" + EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=_handler("cli_alarms", "list_alarms"))
    parser.add_argument("--active", action="store_true", help="only alarms not cleared yet")
    parser.add_argument("--shelved", action="store_true", help="only the shelved alarms")
    parser.add_argument("--id", dest="plc_id", metavar="ID", help="only this runtime's")
    _add_fleet_common(parser)
    actions = parser.add_subparsers(dest="alarms_command", metavar="ACTION")
    ack = _command(actions, "ack", "acknowledge an alarm (or all of a filter)",
                   "Acknowledge alarm N, or with --all every active, unacknowledged, unshelved "
                   "alarm (of --id, of --priority): the registry records who (the identity "
                   "the router authenticated), when and your comment. An alarm acknowledged "
                   "before stays as it was (a notice says by whom).",
                   "cli_alarms", "ack", epilog=REGISTRY_EPILOG)
    ack.add_argument("number", metavar="N", nargs="?", type=_positive_int, help="alarm number")
    ack.add_argument("--comment", metavar="TEXT", help="why, what was done")
    ack.add_argument("--all", action="store_true", help="every alarm of the filter")
    ack.add_argument("--id", dest="plc_id", metavar="ID", help="with --all: this runtime's")
    ack.add_argument("--priority", choices=("critical", "high", "medium", "low"),
                     help="with --all: of this priority")
    _add_fleet_common(ack)
    shelve = _command(actions, "shelve", "shelve an active alarm for a while",
                      "Hide active alarm N from the list and from notifications for a time "
                      "(it comes back by itself then, or with unshelve); who and why are "
                      "recorded.", "cli_alarms", "shelve", epilog=REGISTRY_EPILOG)
    shelve.add_argument("number", metavar="N", type=_positive_int, help="alarm number")
    shelve.add_argument("--for", dest="duration", required=True, metavar="TIME",
                        help="how long: 30m, 2h, 90s, 1d (at most 7 days)")
    shelve.add_argument("--reason", required=True, metavar="TEXT", help="why")
    _add_fleet_common(shelve)
    unshelve = _command(actions, "unshelve", "put a shelved alarm back on the list",
                        "End the shelving of alarm N now.", "cli_alarms", "unshelve",
                        epilog=REGISTRY_EPILOG)
    unshelve.add_argument("number", metavar="N", type=_positive_int, help="alarm number")
    _add_fleet_common(unshelve)
    notify = _command(actions, "notifications", "show the alarm notifications",
                      "Where raised alarms are sent (webhooks, e-mail; the registry's --notify "
                      "file), from which priority, and how deliveries went.",
                      "cli_alarms", "notifications", epilog=REGISTRY_EPILOG)
    _add_fleet_common(notify)
    rules = _command(actions, "rules", "list the alarm rules", "List the rules on values "
                     "(from the registry's --rules file and from add-rule).",
                     "cli_alarms", "rules", epilog=REGISTRY_EPILOG)
    _add_fleet_common(rules)
    add = _command(actions, "add-rule", "add a rule on values",
                   "Add a rule 'NAME OP NUMBER [for SECONDS s] [off SECONDS s] [deadband N] "
                   "[priority P]' (OP: > >= < <= == !=), e.g. 'level > 90 for 5 s': its alarm "
                   "is raised once the condition held that long (on-delay) and cleared once it "
                   "stopped holding for the off-delay, past the deadband. NAME must be in the "
                   "variable table of the runtimes it applies to.", "cli_alarms", "add_rule",
                   epilog=REGISTRY_EPILOG)
    add.add_argument("text", metavar="RULE")
    add.add_argument("--for-ids", default="*", metavar="PATTERN",
                     help="runtime IDs it applies to, e.g. 'plc-*' (default: every runtime)")
    add.add_argument("--priority", choices=("critical", "high", "medium", "low"),
                     help="the alarm's priority (default: medium, the rules' kind)")
    _add_fleet_common(add)
    remove = _command(actions, "remove-rule", "remove a rule", "Remove rule N (its open "
                      "alarms are cleared).", "cli_alarms", "remove_rule",
                      epilog=REGISTRY_EPILOG)
    remove.add_argument("number", metavar="N", type=_positive_int, help="rule number")
    _add_fleet_common(remove)
