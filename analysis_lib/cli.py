"""The ``analysis-lib`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .db import server_info
from .errors import AnalysisLibError


def check(_args: argparse.Namespace) -> int:
    info = server_info()
    print(f"database    {info.database}")
    print(f"user        {info.current_user}")
    print(f"PostgreSQL  {info.server_version}")
    print(f"PostGIS     {info.postgis_version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analysis-lib", description="Amsterdam data-analysis workbench tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_parser = commands.add_parser(
        "check", help="connect to the database and print server, PostGIS and login (exit 1 when unusable)"
    )
    check_parser.set_defaults(handler=check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except AnalysisLibError as error:
        print(f"analysis-lib {args.command}: error: {error}", file=sys.stderr)
        return 1
