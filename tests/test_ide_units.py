"""Fast tests of the IDE side's pure parts: chunk planning, argument parsing, formatting."""
import hashlib
import io

import pytest

from ide_component.blob_plan import BEREMIZ_CHUNK_SIZE, plan_blob, plan_transfer, read_transfer
from ide_component.cli_fleet import selected_ids
from ide_component.cli_output import (format_table, format_value, fleet_list_table,
                                      fleet_status_table, progress_line, summary_line)
from ide_component.cli_parsers import EXIT_CODES_EPILOG
from ide_component.cli_support import run_guarded, target_uri
from ide_component.connectors import connector_for, router_uri
from ide_component.failures import OperationFailed, UnsupportedTransport
from ide_component.fleet import Outcome, RuntimeInfo
from ide_component.plc_client import PLCState
from ide_component.plc_logs import newest_ids
from ide_component.progress_display import ProgressDisplay
from ide_component.variable_trace import (UnknownVariable, Variable, check_token, find_variables,
                                          parse_assignment, trace_orders)
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.iec_types import IEC_TYPES, STRING_MAX
from plc_protocol.log_levels import LogLevel
from plc_protocol.program_identity import program_identity
from plc_protocol.python_program import PROGRAM_NAME_FILE
from plc_protocol.status import PLCStatus
from plc_protocol.uris import URIError
from plclink.cli import build_parser


# --- chunk planning ---------------------------------------------------------------------------

def test_blob_ids_are_the_running_md5_of_seed_and_chunks():
    data = bytes(range(256)) * 40
    plan = plan_blob("program", b"seed", data, 1000)
    assert len(plan.chunks) == 11 and b"".join(plan.chunks) == data
    assert plan.seed_id == hashlib.md5(b"seed").digest()
    for count, expected in enumerate(plan.ids, 1):
        assert expected == hashlib.md5(b"seed" + b"".join(plan.chunks[:count])).digest()
    assert plan.final_id == hashlib.md5(b"seed" + data).digest()


def test_an_empty_file_is_just_its_seed():
    plan = plan_blob("empty.csv", b"empty.csv", b"", 4095)
    assert plan.chunks == () and plan.final_id == plan.seed_id and plan.size == 0


def test_transfer_plan_seeds_program_with_the_installation_md5_and_extras_with_their_names():
    program = b"def cycle(plc):\n    pass\n"
    plan = plan_transfer(program, [("a.csv", b"x" * 5000), ("b.csv", b"")], BEREMIZ_CHUNK_SIZE)
    md5 = program_identity(program, [("a.csv", b"x" * 5000), ("b.csv", b"")])
    assert plan.md5 == md5 and plan.program.seed == md5.encode()
    assert [(b.name, b.seed) for b in plan.extras] == [("a.csv", b"a.csv"), ("b.csv", b"b.csv")]
    assert [len(c) for c in plan.extras[0].chunks] == [4095, 905]
    assert plan.blobs[-1] is plan.program and plan.size == len(program) + 5000


@pytest.mark.parametrize("name", ["../x.csv", "/etc/passwd", "dir/x.csv", "", ".."])
def test_extra_file_names_must_be_plain(name):
    with pytest.raises(ValueError, match="plain file name"):
        plan_transfer(b"p", [(name, b"")])


def test_duplicate_extra_names_are_refused():
    with pytest.raises(ValueError, match="two extra files"):
        plan_transfer(b"p", [("a.csv", b"1"), ("a.csv", b"2")])


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk size"):
        plan_blob("p", b"s", b"data", 0)


def test_reading_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.py"):
        read_transfer(str(tmp_path / "nope.py"))


def test_extras_are_named_by_base_name(tmp_path):
    (tmp_path / "p.py").write_bytes(b"def cycle(plc):\n    pass\n")
    (tmp_path / "data.csv").write_bytes(b"1,2")
    plan = read_transfer(str(tmp_path / "p.py"), [str(tmp_path / "data.csv")])
    assert [b.name for b in plan.extras] == ["data.csv", PROGRAM_NAME_FILE]


# --- URIs, targets, arguments -----------------------------------------------------------------

def test_router_uri_from_websocket_url():
    assert str(router_uri("ws://127.0.0.1:9000", "Site", "plc-05")) == \
        "WAMP://127.0.0.1:9000#Site#plc-05"
    assert str(router_uri("wss://r.example/ws", None, "x")) == "WAMPS://r.example/ws#Automation#x"
    assert router_uri("ws://[::1]:8888", "A", "p").host == "::1"
    with pytest.raises(URIError, match="bad router address"):
        router_uri("http://r", "A", "p")


def test_connector_for_unknown_or_bad_uri_names_the_part():
    with pytest.raises(URIError, match="missing runtime ID"):
        connector_for("WAMP://h#Automation")
    with pytest.raises(URIError, match="unknown scheme 'ftp'"):
        connector_for("ftp://h")
    assert connector_for("wamp://h:1#R#plc-05").transport == "wamp"


def test_unsupported_transport_is_a_usage_error():
    assert issubclass(UnsupportedTransport, ValueError)


def _args(*argv):
    return build_parser().parse_args(list(argv))


def test_target_from_id_uses_the_credentials_router(tmp_path, monkeypatch):
    credentials = tmp_path / "c.yaml"
    credentials.write_text("router: ws://127.0.0.1:9999\nrealm: Site\nauthid: ide\nsecret: s\n")
    monkeypatch.delenv("PLCLINK_AUTHID", raising=False)
    monkeypatch.setenv("PLCLINK_CREDENTIALS", str(credentials))
    assert str(target_uri(_args("status", "--id", "plc-05"))) == "WAMP://127.0.0.1:9999#Site#plc-05"


def test_target_from_environment_and_conflicts(monkeypatch):
    monkeypatch.setenv("PLCLINK_URI", "erpc://10.0.0.1")
    assert str(target_uri(_args("status"))) == "ERPC://10.0.0.1"
    with pytest.raises(ValueError, match="not --uri and --id"):
        target_uri(_args("status", "--uri", "LOCAL://", "--id", "x"))
    monkeypatch.delenv("PLCLINK_URI")
    with pytest.raises(ValueError, match="no runtime given"):
        target_uri(_args("status"))


def test_transfer_arguments():
    args = _args("transfer", "p.py", "a.csv", "b.csv", "--chunk-size", "4095", "--window", "1",
                 "--force", "--uri", "LOCAL://")
    assert (args.program, args.extra_files, args.chunk_size, args.window, args.force) == \
        ("p.py", ["a.csv", "b.csv"], 4095, 1, True)


@pytest.mark.parametrize("argv", [["transfer", "p.py", "--window", "0"],
                                  ["trace", "x", "--csv", "--json"],
                                  ["fleet", "deploy", "p.py"],
                                  ["fleet", "start", "--all", "--ids", "a"],
                                  ["trace", "x", "--duration", "-1"]])
def test_bad_arguments_exit_with_usage_code(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _args(*argv)
    assert exit_info.value.code == 2


def test_fleet_ids_are_split_deduplicated_and_checked():
    assert selected_ids(_args("fleet", "stop", "--ids", "a,b", "--ids", "c, a")) == ["a", "b", "c"]
    assert selected_ids(_args("fleet", "status")) is None
    with pytest.raises(URIError):
        selected_ids(_args("fleet", "stop", "--ids", "bad.id"))


def _subcommands(parser) -> dict:
    return parser._subparsers._group_actions[0].choices


def test_every_ide_command_documents_the_exit_codes_and_every_option():
    commands = _subcommands(build_parser())
    fleet = _subcommands(commands["fleet"])
    parsers = {name: commands[name] for name in (
        "status", "start", "stop", "repair", "transfer", "logs", "vars", "trace", "force",
        "release", "pair", "fleet")}
    parsers.update({f"fleet {name}": fleet[name]
                    for name in ("list", "status", "deploy", "start", "stop")})
    for name, parser in parsers.items():
        assert EXIT_CODES_EPILOG in parser.format_help(), name
        for action in parser._actions:
            assert action.help, f"{name} {action.dest} has no help"


@pytest.mark.parametrize("error, code", [
    (PLCUnreachable("gone"), 3), (PLCObjectError(16, "busy"), 1), (OperationFailed("no"), 1),
    (URIError("bad"), 2), (FileNotFoundError("missing"), 2), (UnknownVariable("x"), 2)])
def test_failures_map_to_documented_exit_codes(error, code, capsys):
    def handler(args):
        raise error
    assert run_guarded(handler, _args("status")) == code
    err = capsys.readouterr().err
    assert err.startswith("plclink status: error: ") and err.count("\n") == 1


# --- variables and logs ----------------------------------------------------------------------

TABLE = [Variable(i, f"v_{name.lower()}", name) for i, name in enumerate(IEC_TYPES)]


def test_assignments():
    assert parse_assignment("pump=TRUE") == ("pump", "TRUE")
    assert parse_assignment("s=a=b") == ("s", "a=b")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_assignment("pump")


def test_trace_orders_encode_forces_at_full_size():
    orders = trace_orders(TABLE, {"v_string": "hi", "v_int": "-3", "v_bool": "1"})
    by_index = dict(orders)
    assert len(by_index[TABLE[0].index]) == 1 and by_index[TABLE[0].index] == b"\x01"
    string_index = next(v.index for v in TABLE if v.type == "STRING")
    assert len(by_index[string_index]) == 1 + STRING_MAX
    assert sum(1 for force in by_index.values() if force) == 3
    with pytest.raises(ValueError, match="cannot force v_sint"):
        trace_orders(TABLE, {"v_sint": 1000})


def test_unknown_variables_are_named():
    with pytest.raises(UnknownVariable, match="'nope'.*v_bool"):
        find_variables(TABLE, ["v_bool", "nope"])


def test_negative_tokens_say_why():
    assert check_token(7) == 7
    with pytest.raises(OperationFailed, match="no program is loaded"):
        check_token(-5)


def test_newest_ids_cover_each_level_tail():
    assert newest_ids([0, 2, 12, 1], 3) == [
        (LogLevel.WARNING, 0), (LogLevel.WARNING, 1), (LogLevel.INFO, 9), (LogLevel.INFO, 10),
        (LogLevel.INFO, 11), (LogLevel.DEBUG, 0)]


# --- formatting ---------------------------------------------------------------------------------

def test_table_columns_align():
    assert format_table(["ID", "STATUS"], [("plc-05", "Started"), ("p", "")]) == \
        "ID      STATUS\nplc-05  Started\np"


def test_values_for_people():
    assert [format_value(v) for v in (True, 1.5, "on", 7)] == ["TRUE", "1.5", "'on'", "7"]


def test_progress_line():
    assert progress_line("plc-05", "sending", 512 * 1024, 2 * 1024 * 1024, width=8) == \
        "plc-05  sending    [##......]  25%  512.0 KiB of 2.0 MiB"
    assert "100%" in progress_line("p", "done", 0, 0)


def test_progress_without_terminal_prints_stages_and_quarters():
    stream = io.StringIO()
    display = ProgressDisplay(stream, ["a", "bb"], live=False)
    for done in range(0, 101, 10):
        display.update("a", "sending", done, 100)
    display.update("bb", "failed", 0, 100)
    lines = stream.getvalue().splitlines()
    assert [int(line.split("]")[1].split("%")[0]) for line in lines[:-1]] == [0, 30, 50, 80, 100]
    assert lines[-1].startswith("bb  failed")


def test_progress_on_a_terminal_redraws_in_place():
    stream = io.StringIO()
    display = ProgressDisplay(stream, ["a", "b"], live=True)
    display.update("a", "sending", 1, 2)
    display.update("b", "done", 2, 2)
    display.finish()
    assert stream.getvalue().count("\x1b[2F") == 2


def test_fleet_tables_and_summary():
    infos = [RuntimeInfo("plc-05", PLCStatus.STARTED, (0, 0, 1, 0), "ab" * 16, False),
             RuntimeInfo("plc-07", PLCStatus.DISCONNECTED, bridged=True)]
    assert fleet_list_table(infos).splitlines() == [
        "ID      STATUS        PROGRAM MD5                       LINK     FORCED  PROBLEM",
        "plc-05  Started       abababababababababababababababab  native   ?",
        "plc-07  Disconnected  -                                 bridged  ?       Disconnected"]
    scans = [RuntimeInfo("plc-05", PLCStatus.STARTED, scan={
                 "period_ms": 10.0, "lateness_ms_p99": 0.1234, "overruns": 0, "overruns_added": 0}),
             RuntimeInfo("plc-06", PLCStatus.STARTED, scan={
                 "period_ms": 10.0, "lateness_ms_p99": 0.2, "overruns": 9, "overruns_added": 3}),
             RuntimeInfo("plc-07", PLCStatus.STOPPED)]
    assert [line.split("  ")[-1].strip() for line in fleet_list_table(scans).splitlines()] == [
        "SCAN", "p99 0.12/10 ms, 0 overruns", "! p99 0.20/10 ms, 9 overruns", "-"]
    outcomes = [Outcome("plc-05", PLCState(PLCStatus.STOPPED, (0, 1, 2, 3))),
                Outcome("plc-07", error="no answer", kind="unreachable")]
    assert fleet_status_table(outcomes).splitlines()[1:] == [
        "plc-05  Stopped       0/1/2/3",
        "plc-07  Disconnected  -             no answer"]
    assert summary_line(outcomes, "deployed") == "deployed 1 of 2; failed: plc-07"
