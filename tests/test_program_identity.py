"""The installation md5 (every file counts), the Python program check and the deploy summary:
pure parts, tested fast."""
import hashlib
import struct

import pytest

from ide_component.blob_plan import read_transfer
from ide_component.cli_fleet import deploy_counts, deploy_summary
from ide_component.fleet import Outcome
from ide_component.transfer import TransferResult
from plc_protocol.program_identity import program_identity
from plc_protocol.python_program import (PROGRAM_NAME_FILE, ProgramSyntaxError, check_syntax,
                                         installation_extras)
from plc_protocol.status import PLCStatus

PROGRAM = b"def cycle(plc):\n    pass\n"


def field(data: bytes) -> bytes:
    return struct.pack(">Q", len(data)) + data


def test_identity_is_the_documented_md5():
    expected = hashlib.md5(field(b"") + field(PROGRAM) + field(b"a.csv") + field(b"1,2")
                           + field("é.txt".encode()) + field(b"")).hexdigest()
    assert program_identity(PROGRAM, [("é.txt", b""), ("a.csv", b"1,2")]) == expected
    assert program_identity(PROGRAM) == hashlib.md5(field(b"") + field(PROGRAM)).hexdigest()


def test_every_file_name_and_content_counts_but_not_their_order():
    base = program_identity(PROGRAM, [("a.csv", b"1"), ("b.csv", b"2")])
    assert program_identity(PROGRAM, [("b.csv", b"2"), ("a.csv", b"1")]) == base
    changed = [program_identity(PROGRAM, [("a.csv", b"1"), ("b.csv", b"3")]),
               program_identity(PROGRAM, [("a.csv", b"1"), ("c.csv", b"2")]),
               program_identity(PROGRAM, [("a.csv", b"1")]),
               program_identity(PROGRAM + b"\n", [("a.csv", b"1"), ("b.csv", b"2")])]
    assert len({base, *changed}) == 5


@pytest.mark.parametrize("first, second", [
    # bytes moved between a name and a content, between two files, or the program and a file
    ([("ab", b"c")], [("a", b"bc")]),
    ([("a", b"x"), ("b", b"")], [("a", b"x" + struct.pack(">Q", 1) + b"b" + struct.pack(">Q", 0))]),
    ([], [("", b"")]),
])
def test_no_two_sets_of_files_collide(first, second):
    assert program_identity(PROGRAM, first) != program_identity(PROGRAM, second)


def test_two_files_of_one_name_have_no_identity():
    with pytest.raises(ValueError, match="same name"):
        program_identity(PROGRAM, [("a.csv", b"1"), ("a.csv", b"2")])


def test_a_syntax_error_names_the_users_file_and_line():
    with pytest.raises(ProgramSyntaxError, match=r"^src/tank\.py, line 3: .*x = = 1"):
        check_syntax(b"VARIABLES = []\n\nx = = 1\n", "src/tank.py")
    with pytest.raises(ProgramSyntaxError, match=r"^p\.py, line 2: .*indent"):
        check_syntax(b"def cycle(plc):\npass\n", "p.py")
    assert issubclass(ProgramSyntaxError, ValueError)   # bad input: exit 2 on the command line
    check_syntax(PROGRAM, "fine.py")


def test_a_python_program_travels_with_its_name_and_others_do_not(tmp_path):
    assert installation_extras("dir/tank.py", PROGRAM, [("a.csv", b"1")]) == \
        [("a.csv", b"1"), (PROGRAM_NAME_FILE, b"tank.py")]
    assert installation_extras("plc.so", b"\0not python", []) == []
    (tmp_path / "bad.py").write_bytes(b"def cycle(plc)\n    pass\n")
    with pytest.raises(ProgramSyntaxError, match=f"{tmp_path}/bad.py, line 1"):
        read_transfer(str(tmp_path / "bad.py"))
    (tmp_path / "tank.py").write_bytes(PROGRAM)
    (tmp_path / "a.csv").write_bytes(b"1")
    plan = read_transfer(str(tmp_path / "tank.py"), [str(tmp_path / "a.csv")])
    assert plan.md5 == program_identity(PROGRAM, [("a.csv", b"1"), (PROGRAM_NAME_FILE, b"tank.py")])


def test_deploy_summary_never_counts_a_skip_as_deployed():
    done = TransferResult("0" * 32, False, 10, PLCStatus.STOPPED)
    skipped = TransferResult("0" * 32, True, 0, PLCStatus.STARTED)
    all_skipped = [Outcome(f"plc-0{n}", skipped) for n in range(1, 4)]
    assert deploy_summary(all_skipped) == \
        "3 runtimes: 0 deployed, 3 skipped (already installed), 0 failed"
    mixed = [Outcome("plc-01", done), Outcome("plc-02", skipped),
             Outcome("plc-03", error="gone", kind="unreachable")]
    assert deploy_counts(mixed) == {"deployed": 1, "skipped": 1, "failed": 1}
    assert deploy_summary(mixed) == \
        "3 runtimes: 1 deployed, 1 skipped (already installed), 1 failed: plc-03"
    assert deploy_summary(mixed[:1]).startswith("1 runtime: 1 deployed")
