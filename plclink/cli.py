"""The ``plclink`` command: one entry point, a subcommand per service and per IDE task."""
import argparse
import sys


class UsageError(SystemExit):
    """argparse's exit with code 2, carrying its message for ``main`` to report."""

    def __init__(self, prog: str, message: str):
        super().__init__(2)
        self.prog, self.message = prog, message


class Parser(argparse.ArgumentParser):
    """Usage errors are raised, not printed here, so that ``main`` reports them like any other
    failure (as JSON too with --json). Subcommand parsers are of this class as well."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    from ide_component.cli_parsers import EXIT_CODES_EPILOG
    from plclink import commands
    parser = Parser(
        prog="plclink",
        description="Connect PLC runtimes, engineering tools and dashboards through a WAMP router "
                    "(Beremiz PLC object protocol). 'plclink COMMAND --help' explains each.",
        epilog=EXIT_CODES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in commands.REGISTRARS:
        register(subparsers)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    wants_json = "--json" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        from ide_component.cli_parsers import EXIT_USAGE
        from ide_component.cli_support import report_error
        return report_error(error.prog, error.message, EXIT_USAGE, wants_json)
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        if wants_json:
            from ide_component.cli_support import report_error
            return report_error(parser.prog, "interrupted", 130, True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
