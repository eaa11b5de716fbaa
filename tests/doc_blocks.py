"""The shell blocks of the README and docs/, as the tests run them.

Every ```sh, ```bash, ```shell or ```console block is run by a test, in the page's order, as
written, unless the line right before it marks it:

- ``<!-- example: WHY -->``: not run; WHY says why (placeholders to fill in, a service that runs
  until stopped, a machine the test does not have), and the text around the block says what to
  put in place of each placeholder;
- ``<!-- smoke: NAME ... -->``: run as written by docker/smoke_test.py in its compose stack;
- ``<!-- exits: N -->``: run, and its last command is meant to exit with status N.

A ```console block is run line by line: the lines starting with ``$ `` are the commands, the
others are the output a reader sees (not compared).
"""
import os
import re
import shutil
import sys
from dataclasses import dataclass

from markdown_it import MarkdownIt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHELL_LANGUAGES = ("sh", "bash", "shell", "console")
COPY_IGNORED = shutil.ignore_patterns(".git", ".venv", ".plclink", "node_modules", "vendor",
                                      "__pycache__", "_build", "*.egg-info", ".pytest_cache")
MARKER = re.compile(r"^<!--\s*(example|smoke|exits):\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    page: str        # relative to ROOT
    line: int        # of the opening fence, 1-based
    text: str        # the commands, as the shell gets them
    marker: str      # "", "example", "smoke" or "exits"
    argument: str    # the marker's text: the reason, the smoke name, the exit status

    @property
    def runs_here(self) -> bool:
        return self.marker in ("", "exits")

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list:
    """README.md and every Markdown page of docs/, relative to ROOT, sorted."""
    found = ["README.md"]
    for directory, subdirectories, files in os.walk(os.path.join(ROOT, "docs")):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith(("_", ".")))
        found += sorted(os.path.relpath(os.path.join(directory, name), ROOT)
                        for name in files if name.endswith(".md"))
    return found


def toctree_entries(page: str) -> list:
    """The pages a page's ``{toctree}`` directives list, in order, relative to ROOT."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        tokens = MarkdownIt("commonmark").parse(handle.read())
    entries = []
    for token in tokens:
        if token.type == "fence" and token.info.strip() == "{toctree}":
            for line in token.content.splitlines():
                if line.strip() and not line.startswith(":"):
                    entries.append(os.path.normpath(os.path.join(
                        os.path.dirname(page), line.strip() + ".md")))
    return entries


def reading_order() -> dict:
    """The pages by role section, each as a reader of that section reads it: the role's
    index, then what its toctree lists, depth first (``{"operator": [...], ...}``). The
    README comes first of its own group, with the pages no role section lists."""
    groups, placed = {}, set()

    def visit(page, group):
        if page in placed:
            return
        placed.add(page)
        group.append(page)
        for entry in toctree_entries(page):
            visit(entry, group)
    for page in pages():
        parts = page.split(os.sep)
        if len(parts) == 3 and parts[0] == "docs" and parts[2] == "index.md":
            visit(page, groups.setdefault(parts[1], []))
    groups["README"] = [page for page in pages() if page not in placed]
    return groups


def console_commands(content: str) -> str:
    return "".join(line[2:] for line in content.splitlines(keepends=True)
                   if line.startswith("$ "))


def shell_blocks(page: str) -> list:
    """The page's shell blocks in order, each with the marker on the line before it."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        tokens = MarkdownIt("commonmark").parse(handle.read())
    blocks, previous = [], None
    for token in tokens:
        if token.type == "fence":
            words = token.info.split()
            language = words[0] if words else ""
            if language in SHELL_LANGUAGES:
                marker, argument = "", ""
                if previous is not None and previous.type == "html_block" and \
                        previous.map[1] == token.map[0]:
                    found = MARKER.match(previous.content.strip())
                    if found:
                        marker, argument = found.groups()
                text = console_commands(token.content) if language == "console" \
                    else token.content
                blocks.append(Block(page, token.map[0] + 1, text, marker, argument))
        previous = token
    return blocks


def script(blocks: list) -> str:
    """One bash script running ``blocks`` in order in one shell (so that an ``export`` or a
    ``source`` carries on, as in a reader's terminal), each announced by a line
    ``@@block N@@`` so that a failure names its block."""
    parts = ["exec 2>&1", "set -e -o pipefail"]
    for number, block in enumerate(blocks):
        parts.append(f"echo '@@block {number}@@'")
        if block.marker == "exits":
            parts += ["set +e", f"(\nset -e\n{block.text}\n)", "status=$?", "set -e",
                      f'[ "$status" = {int(block.argument)} ] || '
                      f'{{ echo "@@exit status $status, the page says {int(block.argument)}@@";'
                      f" exit 1; }}"]
        else:
            parts.append(block.text)
    parts.append("echo '@@done@@'")
    return "\n".join(parts) + "\n"


def failed_block(output: str):
    """The number of the block an interrupted script's output stopped in, and its output."""
    found = re.findall(r"^@@block (\d+)@@$", output, re.M)
    if not found:
        return None, output
    return int(found[-1]), output.rsplit(f"@@block {found[-1]}@@\n", 1)[1]


def working_copy(tmp_path) -> str:
    """The repository's files without its state, caches and environment, with this .venv
    linked in: what the blocks write (signatures, keys, .plclink/, docs/_build/) stays there."""
    copy = os.path.join(str(tmp_path), "plclink")
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORED, symlinks=True)
    os.symlink(os.path.dirname(os.path.dirname(sys.executable)), os.path.join(copy, ".venv"))
    return copy
