"""Sphinx configuration of the plclink documentation (docs/).

Build it with ``.venv/bin/python -m sphinx -W --keep-going -n docs docs/_build/html`` (warnings
are errors: a broken link, reference or include fails the build, as in the tests). The pages are
Markdown (MyST); the CLI reference is generated from plclink's own argparse parser.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)   # the CLI reference imports plclink.cli

project = "plclink"
author = "the plclink developers"
extensions = ["myst_parser", "sphinxarg.ext"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "screenshots"]
# Links to a section of another page ([text](page.md#a-title)) resolve through these anchors.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
html_theme = "alabaster"
html_theme_options = {"description": "PLC runtimes, engineering tools and dashboards "
                                     "through one WAMP router"}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_static_path = []
# Code blocks in many languages (shell, YAML, PromQL, text); one that Pygments cannot lex is
# shown plain, not a warning.
suppress_warnings = ["misc.highlighting_failure"]


def _plain_help():
    """argparse's help texts are plain text, not reStructuredText (sphinx-argparse parses them
    as such): a '*' in 'plc-*' is not emphasis, and an epilog laid out by
    RawDescriptionHelpFormatter (the exit codes) is shown as it is laid out."""
    import re

    from docutils import nodes
    from sphinxarg import ext

    parse = ext.render_list

    def render_list(items, markdown_help, settings=None):
        rendered = []
        for item in items:
            if isinstance(item, str) and re.search(r"\n[ \t]", item):
                rendered.append(nodes.literal_block(item, item))
            elif isinstance(item, str):
                rendered += parse([re.sub(r"([*_|\\])", r"\\\1", item)], markdown_help,
                                  settings)
            else:
                rendered += parse([item], markdown_help, settings)
        return rendered
    ext.render_list = render_list


_plain_help()
