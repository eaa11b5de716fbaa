"""The ``plclink`` command: one entry point, a subcommand per service and per IDE task."""
import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from ide_component.cli_parsers import EXIT_CODES_EPILOG
    from plclink import commands
    parser = argparse.ArgumentParser(
        prog="plclink",
        description="Connect PLC runtimes, engineering tools and dashboards through a WAMP router "
                    "(Beremiz PLC object protocol). 'plclink COMMAND --help' explains each.",
        epilog=EXIT_CODES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in commands.REGISTRARS:
        register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
