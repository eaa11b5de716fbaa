"""What a transfer decides before sending, against the real router and runtimes: the md5 covers
every file (a changed data file deploys), an Empty or Broken runtime is always sent the program,
a Python program with a syntax error is refused with nothing sent, and ``fleet deploy`` says
how many were deployed, skipped and failed."""
import shutil

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM
from ide_component.blob_plan import read_transfer
from ide_component.blocking import connect
from ide_fixtures import cli, ide_credentials, module_runtimes  # noqa: F401
from plc_protocol.python_program import ProgramSyntaxError

pytestmark = pytest.mark.slow
IDS = ["plc-03", "plc-04"]


@pytest.fixture(scope="module")
def pair(module_runtimes):
    """Two runtimes started with the demo program and its setpoint file."""
    for plc_id in IDS:
        module_runtimes(plc_id, autostart=True)
    return IDS


def changed_csv(tmp_path):
    """The demo's setpoint.csv, same name, one different value."""
    copy = tmp_path / "setpoint.csv"
    text = open(DEMO_CSV).read()
    copy.write_text(text + "\n" if not text.endswith("\n") else text + "# changed\n")
    return str(copy)


def test_only_an_extra_file_changed_is_deployed(cli, pair, tmp_path, ide):
    # The runtime's own --program install computes the same md5 the IDE does.
    code, again, err = cli.json("transfer", "--id", IDS[0], DEMO_PROGRAM, DEMO_CSV)
    assert code == 0 and again["skipped"], err
    done = cli.run("fleet", "deploy", DEMO_PROGRAM, DEMO_CSV, "--ids", ",".join(IDS))
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == \
        "2 runtimes: 0 deployed, 2 skipped (already installed), 0 failed"

    csv_path = changed_csv(tmp_path)
    new_md5 = read_transfer(DEMO_PROGRAM, [csv_path]).md5
    code, result, err = cli.json("transfer", "--id", IDS[0], DEMO_PROGRAM, csv_path, "--start")
    assert code == 0 and not result["skipped"] and result["md5"] == new_md5, err
    assert ide.call(f"{IDS[0]}.MatchMD5", new_md5) is True

    code, deployed, err = cli.json("fleet", "deploy", DEMO_PROGRAM, csv_path, "--ids",
                                   ",".join(IDS), "--start")
    assert code == 0, err
    assert deployed["counts"] == {"deployed": 1, "skipped": 1, "failed": 0}
    assert {r["id"]: r["skipped"] for r in deployed["results"]} == {IDS[0]: True, IDS[1]: False}
    assert ide.call(f"{IDS[1]}.MatchMD5", new_md5) is True
    assert ide.call(f"{IDS[1]}.GetPLCstatus")[0] == "Started"


def test_a_broken_runtime_is_transferred_to_even_when_its_md5_matches(cli, module_runtimes,
                                                                      tmp_path, ide):
    """The program fails to load the first time only (a sentinel file outside the runtime):
    the runtime is Broken with this very md5 installed, as Beremiz is after a failed load."""
    module_runtimes("plc-05", program=None)
    sentinel = tmp_path / "loaded-once"
    program = tmp_path / "flaky.py"
    program.write_text(
        "import os\n"
        f"SENTINEL = {str(sentinel)!r}\n"
        "if not os.path.exists(SENTINEL):\n"
        "    open(SENTINEL, 'w').close()\n"
        "    raise RuntimeError('first load fails')\n"
        "VARIABLES = []\n\n\ndef cycle(plc):\n    pass\n")
    md5 = read_transfer(str(program)).md5
    done = cli.run("transfer", "--id", "plc-05", str(program))
    assert done.returncode == 1 and "did not load" in done.stderr, done.stderr
    assert ide.call("plc-05.GetPLCstatus")[0] == "Broken"
    assert ide.call("plc-05.MatchMD5", md5) is True

    code, result, err = cli.json("transfer", "--id", "plc-05", str(program))
    assert code == 0 and not result["skipped"] and result["sent_bytes"] > 0, err
    assert result["status"] == "Stopped" and ide.call("plc-05.GetPLCstatus")[0] == "Stopped"


def test_a_syntax_error_is_refused_before_anything_is_sent(cli, pair, tmp_path, ide, router):
    bad = tmp_path / "tank_v2.py"
    bad.write_text("VARIABLES = []\n\n\ndef cycle(plc)\n    pass\n")
    before = installed(cli)
    for command in (["transfer", "--id", IDS[0], str(bad), DEMO_CSV],
                    ["fleet", "deploy", str(bad), "--ids", ",".join(IDS), "--force"]):
        done = cli.run(*command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{bad}, line 4: expected ':'" in done.stderr and "Traceback" not in done.stderr
        assert "nothing was sent" in done.stderr

    uri = f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{IDS[0]}"
    with connect(uri, credentials=router.credentials("ide")) as plc:
        with pytest.raises(ProgramSyntaxError, match="line 4"):
            plc.transfer(str(bad), force=True)

    # The running programs are untouched: same status, same md5.
    assert installed(cli) == before


def installed(cli) -> dict:
    code, listed, err = cli.json("fleet", "list")
    assert code == 0, err
    return {info["id"]: (info["status"], info["md5"]) for info in listed if info["id"] in IDS}
