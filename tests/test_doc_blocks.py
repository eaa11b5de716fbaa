"""The README's and the docs' shell blocks work as written (doc_blocks.py says which run).

Each role section of the docs (operator, engineer, administrator, ...; the README with the
pages outside them) is read as its reader reads it: its pages in order, on one suite of its own,
`plclink up` on free ports in a copy of the repository (its own `.plclink/`, its own HOME), so
that sections do not see each other's accounts, forces or programs. Each page's blocks run in
order in one bash, from the copy's root with `.venv` on PATH and
PLCLINK_CREDENTIALS=.plclink/credentials.yaml, as a reader runs them in a second terminal
(docs/administrator/install.md, "Using the suite from a shell"). A block that fails is shown
with its page, line and output. One suite per section, not per page: starting one costs about
15 s on two cores.
"""
import os
import re
import signal
import subprocess
import sys

import pytest

import doc_blocks
from harness import free_port, up_gateway_ports
from plclink.processes import Child, plclink_command

PAGE_TIMEOUT = 600          # seconds for all of a page's blocks


def smoke_procedures() -> set:
    """The procedure names docker/smoke_test.py runs (run_procedure(stack, "NAME"))."""
    with open(os.path.join(doc_blocks.ROOT, "docker", "smoke_test.py"), encoding="utf-8") as f:
        return set(re.findall(r'run_procedure\(\w+, "([\w-]+)"\)', f.read()))


def test_every_shell_block_is_run_or_says_why_not():
    smoke = smoke_procedures()
    problems = []
    for page in doc_blocks.pages():
        for block in doc_blocks.shell_blocks(page):
            if block.marker == "example" and not block.argument:
                problems.append(f"{block.where}: 'example:' without a reason")
            if block.marker == "exits" and not block.argument.isdigit():
                problems.append(f"{block.where}: 'exits:' takes an exit status")
            if block.marker == "smoke" and block.argument.split()[0] not in smoke:
                problems.append(f"{block.where}: docker/smoke_test.py runs no procedure "
                                f"'{block.argument.split()[0]}'")
            if block.runs_here and not block.text.strip():
                problems.append(f"{block.where}: an empty block")
    assert not problems, "\n".join(problems)
    assert smoke, "docker/smoke_test.py names no procedure"


def test_the_markers_are_read_as_written(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# t\n\n<!-- example: DIR is yours -->\n```sh\nls DIR\n```\n\n"
                    "```bash\necho one\n```\n\n<!-- exits: 3 -->\n```console\n$ exit 3\nout\n```"
                    "\n\n<!-- example: not adjacent -->\n\n```sh\necho two\n```\n"
                    "```python\nprint()\n```\n", encoding="utf-8")
    blocks = doc_blocks.shell_blocks(os.path.relpath(page, doc_blocks.ROOT))
    assert [(b.line, b.marker, b.argument, b.text) for b in blocks] == [
        (4, "example", "DIR is yours", "ls DIR\n"), (8, "", "", "echo one\n"),
        (13, "exits", "3", "exit 3\n"), (20, "", "", "echo two\n")]
    runnable = [b for b in blocks if b.runs_here]
    done = subprocess.run(["bash", "-c", doc_blocks.script(runnable)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.endswith("two\n@@done@@\n"), done.stdout
    runnable[1].argument = "4"
    done = subprocess.run(["bash", "-c", doc_blocks.script(runnable)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 1
    assert doc_blocks.failed_block(done.stdout) == (
        1, "@@exit status 3, the page says 4@@\n")


def reader_environment(tmp_path) -> dict:
    """A shell as the docs assume it: .venv active, the suite's credentials exported, nothing
    of the test run's own PLCLINK_ settings."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PLCLINK_", "PG"))}
    home = tmp_path / "home"
    home.mkdir()
    env.update(HOME=str(home), PATH=os.path.dirname(sys.executable) + os.pathsep + env["PATH"],
               PYTHONUNBUFFERED="1")
    return env


def run_page(page, copy, env) -> str:
    """Run the page's blocks in one bash; the failure's description, or "" when they ran."""
    blocks = [block for block in doc_blocks.shell_blocks(page) if block.runs_here]
    if not blocks:
        return ""
    run = subprocess.Popen(["bash", "-c", doc_blocks.script(blocks)], cwd=copy, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        output, _ = run.communicate(timeout=PAGE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        output, _ = run.communicate()
        output += f"\n(no end after {PAGE_TIMEOUT} s)"
    if run.returncode == 0 and output.endswith("@@done@@\n"):
        return ""
    number, shown = doc_blocks.failed_block(output)
    if number is None:
        return f"{page}: the blocks did not run:\n{output}"
    block = blocks[number]
    return (f"{block.where}: this block failed (exit {run.returncode}):\n{block.text}\n"
            f"--- its output:\n{shown[-6000:]}")


def groups_to_run():
    return [name for name, pages in doc_blocks.reading_order().items()
            if any(block.runs_here for page in pages for block in doc_blocks.shell_blocks(page))]


@pytest.mark.slow
@pytest.mark.parametrize("group", groups_to_run())
def test_blocks_run_as_written(group, tmp_path):
    """One role section's pages, in reading order, on one suite: a page may rely on what the
    pages before it did, as their reader would."""
    copy, env = doc_blocks.working_copy(tmp_path), reader_environment(tmp_path)
    # The suite as scripts/up.sh runs it (own state in the copy's .plclink/), on free ports.
    up = Child("up", plclink_command(
        "up", "--ws-port", str(free_port()), "--rawsocket-port", str(free_port()),
        "--web-port", str(free_port()), "--erpc-port", str(free_port()), *up_gateway_ports()),
        env=env, cwd=copy, quiet=True)
    try:
        assert up.wait_for_line("plclink suite is up", 120), "".join(up.lines[-40:])
        reader = {**env, "PLCLINK_CREDENTIALS": ".plclink/credentials.yaml"}
        for page in doc_blocks.reading_order()[group]:
            failure = run_page(page, copy, reader)
            if failure:
                pytest.fail(f"{failure}\n--- the suite's last lines:\n"
                            f"{''.join(up.lines[-15:])}", pytrace=False)
    finally:
        up.process.send_signal(signal.SIGINT)
        try:
            up.process.wait(60)
        finally:
            up.signal(signal.SIGKILL)
