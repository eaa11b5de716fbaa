"""The documentation builds with warnings as errors, its CLI reference holds every subcommand and
option of `plclink`, and the README's links lead somewhere."""
import argparse
import html
import os
import re
import subprocess

import doc_blocks
from plclink.cli import build_parser

BUILD_PAGE = "docs/building.md"


def build_command() -> str:
    """The build command as docs/building.md gives it to readers."""
    blocks = [block for block in doc_blocks.shell_blocks(BUILD_PAGE)
              if "test_docs.py" in block.argument]
    assert len(blocks) == 1, f"{BUILD_PAGE} has no block marked as run by tests/test_docs.py"
    return blocks[0].text


def parsers(parser, path=("plclink",)):
    """(path, parser) of `plclink` and every subcommand, however deep."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, path + (name,))


def test_the_site_builds_without_a_warning_and_documents_every_option(tmp_path):
    copy = doc_blocks.working_copy(tmp_path)
    done = subprocess.run(["bash", "-e", "-c", build_command()], cwd=copy,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the docs do not build:\n{done.stdout}\n{done.stderr}"
    with open(os.path.join(copy, "docs", "_build", "html", "reference", "cli.html"),
              encoding="utf-8") as handle:
        reference = html.unescape(re.sub(r"<[^>]+>", "", handle.read()))
    missing = []
    for path, parser in parsers(build_parser()):
        if " ".join(path[1:]) and not re.search(r"\b" + re.escape(path[-1]) + r"\b", reference):
            missing.append(" ".join(path))
        for action in parser._actions:
            for option in action.option_strings:
                if option not in reference:
                    missing.append(f"{' '.join(path)} {option}")
    assert not missing, f"the CLI reference lacks: {missing}"


def test_the_readme_links_to_pages_that_exist():
    with open(os.path.join(doc_blocks.ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert local, "the README links to no page of the docs"
    missing = [t for t in local if not os.path.exists(os.path.join(doc_blocks.ROOT, t))]
    assert not missing, f"README links to files that do not exist: {missing}"
