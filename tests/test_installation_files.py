"""What a transfer sends for a Python program and for a Beremiz build (plc_protocol/
installation_files.py), and the trace indexes of a build's VARIABLES.csv; pure, no gcc."""
import hashlib
import sys

import pytest

from ide_component.blob_plan import read_transfer
from plc_protocol.beremiz_variables import parse_variables_csv
from plc_protocol.installation_files import BuildError, read_installation
from plc_protocol.program_identity import program_identity

def _this_machine_library() -> bytes:
    """An ELF header like this machine's shared libraries' (e_type ET_DYN)."""
    with open(sys.executable, "rb") as handle:
        header = bytearray(handle.read(64))
    order = "little" if header[5] == 1 else "big"
    header[16:18] = (3).to_bytes(2, order)
    return bytes(header)


LIBRARY = _this_machine_library()
MD5 = hashlib.md5(b"build").hexdigest()


@pytest.fixture
def build(tmp_path):
    directory = tmp_path / "build"
    (directory / "extra_files").mkdir(parents=True)
    (directory / "extra_files" / "runtime_0.py").write_text("x = 1\n")
    (directory / "extra_files" / "data.csv").write_text("1,2\n")
    (directory / "tank.so").write_bytes(LIBRARY)
    (directory / "tank.o").write_bytes(b"object")
    (directory / "VARIABLES.csv").write_text("// Programs\n\n// Variables\n")
    (directory / "lastbuildPLC.md5").write_text(MD5 + "\n")
    return directory


def test_a_build_directory_sends_its_library_extra_files_and_variables_with_its_own_md5(build):
    files = read_installation(str(build))
    assert files.program == LIBRARY and files.md5 == MD5
    assert files.extras[:3] == [("data.csv", b"1,2\n"), ("runtime_0.py", b"x = 1\n"),
                                ("VARIABLES.csv", b"// Programs\n\n// Variables\n")]
    assert files.extras[3] == (".plclink-program-name", b"tank.so")   # names it in logs
    plan = read_transfer(str(build), chunk_size=10)
    assert plan.md5 == MD5 and plan.program.seed == MD5.encode()   # what the Beremiz IDE sends
    assert [blob.name for blob in plan.extras] == ["data.csv", "runtime_0.py", "VARIABLES.csv",
                                                   ".plclink-program-name"]


def test_the_library_file_with_extra_files_uses_the_build_md5_beside_it(build, tmp_path):
    extra = tmp_path / "recipe.csv"
    extra.write_text("a\n")
    files = read_installation(str(build / "tank.so"), [str(extra)])
    assert files.md5 == MD5
    assert [name for name, _ in files.extras] == ["recipe.csv", "VARIABLES.csv",
                                                  ".plclink-program-name"]
    (build / "lastbuildPLC.md5").unlink()
    files = read_installation(str(build / "tank.so"), [str(extra)])
    assert files.md5 == program_identity(LIBRARY, files.extras)   # no build md5: the files'


@pytest.mark.parametrize("change, message", [
    (lambda build: (build / "lastbuildPLC.md5").unlink(), "without lastbuildPLC.md5"),
    (lambda build: (build / "lastbuildPLC.md5").write_text("not an md5"), "does not hold an md5"),
    (lambda build: (build / "tank.so").unlink(), "holds no compiled PLC library"),
    (lambda build: (build / "other.so").write_bytes(LIBRARY), "several libraries"),
])
def test_a_directory_that_is_not_a_usable_build_is_refused(build, change, message):
    change(build)
    with pytest.raises(BuildError, match=message):
        read_installation(str(build))


def test_a_python_program_keeps_its_rules(tmp_path):
    program = tmp_path / "tank.py"
    program.write_text("def cycle(plc):\n    pass\n")
    files = read_installation(str(program))
    assert files.md5 == program_identity(program.read_bytes(), files.extras)
    assert [name for name, _ in files.extras] == [".plclink-program-name"]


def test_sfc_flags_take_trace_indexes():
    text = ("// Programs\n0;CONFIG.R.I;MAIN;\n\n// Variables\n"
            "0;FB;CONFIG.R.I;CONFIG.R.I;MAIN;;\n"
            "1;VAR;CONFIG.R.I.__step_list[0].X;CONFIG.R.I.__step_list[0].X;STEP;;\n"
            "2;VAR;CONFIG.R.I.MODE;CONFIG.R.I.MODE;MODE_T;;\n"
            "3;VAR;CONFIG.R.I.COUNT;CONFIG.R.I.COUNT;DINT;;\n\n// Ticktime\n10000000\n")
    entries = parse_variables_csv(text)
    assert [(entry.index, entry.type) for entry in entries] == [(0, "BOOL"), (1, "DINT")]
    assert entries[1].name == "CONFIG.R.I.COUNT"


@pytest.mark.parametrize("name, data, message", [
    ("tank.py", b"", "tank.py is empty"),
    ("tank.py", b"  \n", "tank.py is empty"),
    ("tank.so", b"", "tank.so is empty"),
    ("tank.so", b"#!/bin/sh\n", "tank.so is not an ELF shared library"),
    ("tank.so", LIBRARY[:16] + b"\x02\x00" + LIBRARY[18:], "not a shared library"),
    ("tank.so", LIBRARY[:18] + bytes([LIBRARY[18] ^ 0x55, LIBRARY[19]]) + LIBRARY[20:],
     "for another machine"),
    ("tank.py", b"VARIABLES = []\ndef init(plc):\n    pass\n", "tank.py defines no cycle"),
])
def test_what_is_not_a_program_is_refused_naming_the_users_file(tmp_path, name, data, message):
    program = tmp_path / name
    program.write_bytes(data)
    with pytest.raises(ValueError, match=message) as refused:
        read_installation(str(program))
    assert str(program) in str(refused.value) and "nothing was sent" in str(refused.value)


@pytest.mark.parametrize("source", [
    b"def cycle(plc):\n    pass\n",
    b"from helpers import cycle\n",
    b"cycle = lambda plc: None\n",
    b"try:\n    from fast import cycle\nexcept ImportError:\n    def cycle(plc):\n        pass\n",
    b"from helpers import *\n",
])
def test_a_python_program_binding_cycle_at_its_top_level_passes(tmp_path, source):
    program = tmp_path / "ok.py"
    program.write_bytes(source)
    assert read_installation(str(program)).program == source
