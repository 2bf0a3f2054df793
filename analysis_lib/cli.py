"""The ``analysis-lib`` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from . import __version__
from .errors import AnalysisLibError
from .defaults import DEFAULT_LOCK_TIMEOUT, DEFAULT_OUTPUT_DIR, TYPE_NAMES

# Each command imports what it uses when it runs, so `status` and a no-op `build` start without
# geopandas, pyarrow and papermill.


# What the lab container's entrypoint found wrong at start (the project folder not writable), with its fix.
LAB_PROBLEM = Path("/run/lab/problem")


def check(_args: argparse.Namespace) -> int:
    from .db import server_info

    info = server_info()
    print(f"database    {info.database}")
    print(f"user        {info.current_user}")
    print(f"PostgreSQL  {info.server_version}")
    print(f"PostGIS     {info.postgis_version}")
    if LAB_PROBLEM.is_file():
        print(f"problem: {LAB_PROBLEM.read_text().strip()}", file=sys.stderr)
        return 1
    return 0


def load(args: argparse.Namespace) -> int:
    from .files import import_file

    report = import_file(
        args.path,
        args.table,
        schema=args.schema,
        if_exists=args.if_exists,
        layer=args.layer,
        crs=args.crs,
        target_crs=args.target_crs,
        encoding=args.encoding,
        make_valid=args.make_valid,
        z="drop" if args.drop_z else "keep",
        geometry_type=args.geometry_type,
        null_values=args.null_value,
        primary_key=args.primary_key,
        spatial_index=not args.no_index,
        check_extent=not args.no_extent_check,
        columns=args.columns,
        column_types=dict(args.type),
        geometry=args.geometry,
        x=args.x,
        y=args.y,
        separator=args.separator,
        decimal=args.decimal,
        skip_rows=args.skip_rows,
        skip_rows_after_header=args.skip_rows_after_header,
        skip_bad_lines=args.skip_bad_lines,
        lock_timeout=args.lock_timeout,
    )
    print(report)
    return 0


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _target_crs(value: str) -> str | None:
    return None if value.strip().lower() in ("keep", "none", "") else value


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _column_type(value: str) -> tuple[str, str]:
    name, equals, type_name = value.rpartition("=")
    if not equals or not name or type_name not in TYPE_NAMES:
        raise argparse.ArgumentTypeError(f"{value!r}: give COLUMN=TYPE, TYPE one of {', '.join(TYPE_NAMES)}")
    return name, type_name


def backup_command(args: argparse.Namespace) -> int:
    from .backup import backup

    print(f"backup written: {backup(args.dir, keep=args.keep)}")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    from .backup import restore

    restored = restore(args.file, database=args.database, force=args.force)
    print(f"restored {args.file} into database {restored.database} ({restored.tables} tables)")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from .reports import run

    parameters = {}
    if args.file:
        parameters.update(_parameter_file(args.file))
    parameters.update(dict(args.parameter))
    report = run(
        args.notebook, parameters, output_dir=args.output_dir, hide_code=args.hide_code,
        read_only=not args.owner, timeout=args.timeout,
    )
    print(f"notebook: {report.notebook}")
    print(f"report:   {report.html}")
    return 0


def run_batch_command(args: argparse.Namespace) -> int:
    from .batch import parameter_sets, run_batch, scheduler_address, summary

    cluster = scheduler_address(args.cluster) if args.cluster is not None else None
    outcomes = run_batch(
        args.notebook, parameter_sets(_parameter_file(args.grid)), workers=args.workers, cluster=cluster,
        output_dir=args.output_dir, hide_code=args.hide_code, read_only=not args.owner, timeout=args.timeout,
    )
    print(summary(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def _parameter_file(path: str) -> dict:
    import yaml

    from .reports import ReportError

    try:
        with open(path, encoding="utf-8") as stream:
            values = yaml.safe_load(stream) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ReportError(f"{path}: cannot read the parameters ({error})") from None
    if not isinstance(values, dict):
        raise ReportError(f"{path}: expected name: value lines, got {type(values).__name__}")
    return values


def _add_run_parsers(commands) -> None:
    single = commands.add_parser("run", help="run a notebook with parameters into reports/<notebook>/<parameters>/")
    single.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    single.add_argument("-f", "--file", help="a YAML file of parameters (-p wins)")
    single.set_defaults(handler=run_command)
    batch = commands.add_parser("run-batch", help="run a notebook for every parameter set of a grid, in parallel")
    batch.add_argument("--grid", required=True, help="YAML: 'parameters: {name: [values]}' or 'runs: [{name: value}, …]'")
    batch.add_argument("--workers", type=int, help="runs at a time (default: one per core)")
    batch.add_argument(
        "--cluster", nargs="?", const="", metavar="ADDRESS",
        help="run on a Dask cluster: tcp://scheduler:8786 for the compose 'cluster' profile (default: DASK_SCHEDULER_ADDRESS)",
    )
    batch.set_defaults(handler=run_batch_command)
    for parser in (single, batch):
        parser.add_argument("notebook")
        parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR)
        parser.add_argument("--hide-code", action="store_true", help="leave the code out of the HTML report")
        parser.add_argument("--owner", action="store_true", help="use the owner's database role instead of the read-only one")
        parser.add_argument("--timeout", type=float, help="seconds a cell may take")


def sample_data_command(args: argparse.Namespace) -> int:
    from .sample_data import load_sample_data, write_files

    if args.files:
        for path in write_files(args.files, seed=args.seed):
            print(f"{path}")
        return 0
    rows = load_sample_data(scale=args.scale, seed=args.seed, schema=args.schema)
    for table, count in rows.items():
        print(f"{args.schema}.{table}: {count:,} rows")
    return 0


def _add_sample_data_parser(commands) -> None:
    parser = commands.add_parser(
        "sample-data", help="make Amsterdam-like sample data (stadsdelen … buurten, meldingen, containers) in PostGIS"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of points (1: 20,000 meldingen)")
    parser.add_argument("--seed", type=int, default=2024, help="the same seed gives the same data")
    parser.add_argument("--schema", default="public", help="the schema the tables go into (it must exist; default public)")
    parser.add_argument("--files", metavar="DIR", help="write it as files (GeoPackage, CSV, GeoJSON) into DIR instead of loading it")
    parser.set_defaults(handler=sample_data_command)


def _add_backup_parsers(commands) -> None:
    parser = commands.add_parser("backup", help="pg_dump the database to BACKUPS/<timestamp>.dump, keeping the newest N")
    parser.add_argument("--dir", default="backups", help="folder of the dumps (default: backups)")
    parser.add_argument("--keep", type=int, default=7, metavar="N", help="how many dumps to keep (default: 7)")
    parser.set_defaults(handler=backup_command)
    parser = commands.add_parser("restore", help="restore a dump; refuses to overwrite tables without --force")
    parser.add_argument("file", help="a .dump made by analysis-lib backup")
    parser.add_argument("--database", help="restore into this database (created if missing) instead of the current one")
    parser.add_argument("--force", action="store_true", help="overwrite the tables the dump holds")
    parser.set_defaults(handler=restore_command)


def _add_load_parser(commands) -> None:
    parser = commands.add_parser(
        "load",
        help="import a file (CSV, XLSX, GeoJSON, GeoPackage, Shapefile, zip, GeoParquet, …) into a table",
        description="Import a file into PostGIS in one transaction: on any error nothing changes.",
    )
    parser.add_argument("path", help="the file to import")
    parser.add_argument("--table", required=True, help="target table (lower-case letters, digits, _)")
    parser.add_argument("--schema", default="public", help="the schema the table goes into (it must exist; default public)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--replace", dest="if_exists", action="store_const", const="replace", help="replace the table if it exists")
    mode.add_argument("--append", dest="if_exists", action="store_const", const="append", help="append to the table")
    parser.set_defaults(if_exists="fail")
    parser.add_argument("--layer", help="layer of a GeoPackage or other multi-layer file (sheet of an XLSX)")
    parser.add_argument("--crs", help="the file's CRS when it has none, e.g. EPSG:28992")
    parser.add_argument(
        "--target-crs", default="EPSG:28992", type=_target_crs,
        help="CRS stored in the database (default EPSG:28992; 'keep' or 'none': the file's own)",
    )
    parser.add_argument("--encoding", help="text encoding (default: .cpg, or detected)")
    parser.add_argument("--make-valid", action="store_true", help="repair invalid geometries instead of refusing them")
    parser.add_argument("--drop-z", action="store_true", help="store geometries in 2D")
    parser.add_argument("--geometry-type", help="force the column type, e.g. Geometry for mixed types")
    parser.add_argument(
        "--null-value", action="append", type=_number_or_text, default=[], metavar="VALUE",
        help="a value stored as NULL: a number (-99999999) in number columns, a text ('.') in CSV cells (repeatable)",
    )
    parser.add_argument("--columns", type=_names, help="the columns to import, by their names in the file: a,b,c")
    parser.add_argument(
        "--type", action="append", type=_column_type, default=[], metavar="COLUMN=TYPE",
        help=f"the type of a column instead of the one its values decide: {', '.join(TYPE_NAMES)} (repeatable)",
    )
    parser.add_argument("--primary-key", help="column to make the primary key")
    parser.add_argument("--no-index", action="store_true", help="do not build the spatial index")
    parser.add_argument(
        "--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT, metavar="SECONDS",
        help=f"how long to wait for a table another session holds (default {DEFAULT_LOCK_TIMEOUT:g})",
    )
    parser.add_argument(
        "--no-extent-check", action="store_true", help="load coordinates that lie outside the area where their CRS is used"
    )
    parser.add_argument("--geometry", help="CSV/XLSX: the column holding the geometries (WKT, EWKT, GeoJSON or hex WKB)")
    parser.add_argument("--x", help="CSV/XLSX: column holding x or longitude")
    parser.add_argument("--y", help="CSV/XLSX: column holding y or latitude")
    parser.add_argument("--separator", help="CSV field separator (default: detected)")
    parser.add_argument("--decimal", help="CSV decimal mark (default: detected)")
    parser.add_argument("--skip-rows", type=int, default=0, metavar="N", help="CSV: lines before the header (titles)")
    parser.add_argument("--skip-rows-after-header", type=int, default=0, metavar="N", help="CSV: lines after the header (a row of units)")
    parser.add_argument("--skip-bad-lines", action="store_true", help="CSV: skip lines with a wrong number of fields, and report them")
    parser.set_defaults(handler=load)


def build_command(args: argparse.Namespace) -> int:
    from .catalog.builder import build, summary

    names = [n for n in args.names]
    downstream = []
    for chosen in args.select:
        (downstream if chosen.endswith("+") else names).append(chosen.removesuffix("+"))
    result = build(args.project, names, downstream_of=downstream, dry_run=args.dry_run, jobs=args.jobs, force=args.force,
                   keep_going=args.keep_going, verify=args.verify)
    if args.dry_run:
        return 0 if result.ok else 1
    print(summary(result))
    return 0 if result.ok else 1


def status_command(args: argparse.Namespace) -> int:
    from .catalog.plan import UP_TO_DATE
    from .catalog.status import as_json, render, status_rows

    rows = status_rows(args.project, verify=args.verify)
    print(as_json(rows) if args.json else render(rows))
    return 0 if all(row["state"] == UP_TO_DATE for row in rows) else 1


def fetch_command(args: argparse.Namespace) -> int:
    from .catalog.downloads import fetch, repin
    from .catalog.recipes import CATALOG_FILE
    from .catalog.spec import CatalogError, read_catalog

    root = Path(args.project).resolve()
    catalog = read_catalog(root / CATALOG_FILE, unpinned=args.update)
    downloads = {name: entry for name, entry in catalog.datasets.items() if entry.url}
    unknown = [n for n in args.names if n not in downloads]
    if unknown:
        raise CatalogError(f"no url entry {', '.join(unknown)} in datasets.yml (url entries: {', '.join(downloads) or 'none'})")
    if not downloads:
        print("datasets.yml has no url entries: nothing to fetch")
    for name in args.names or downloads:
        fetched = fetch(name, downloads[name], root, update=args.update)
        where = fetched.path.relative_to(root)
        if fetched.action == "updated" or (args.update and fetched.sha256 != downloads[name].sha256):
            repin(root / CATALOG_FILE, name, fetched.sha256)
            print(f"{name}: {where} re-pinned: sha256 {downloads[name].sha256 or 'none'} -> {fetched.sha256} ({fetched.size:,} bytes)")
        else:
            print(f"{name}: {where} {fetched.action} (sha256 {fetched.sha256[:12]}…, {fetched.size:,} bytes)")
    return 0


def _add_catalog_parsers(commands) -> None:
    parser = commands.add_parser("build", help="build the tables of datasets.yml that are missing or stale, in dependency order")
    parser.add_argument("names", nargs="*", metavar="NAME", help="entries to build (default: all)")
    parser.add_argument("--select", action="append", default=[], metavar="NAME[+]", help="an entry; NAME+ also everything downstream")
    parser.add_argument("--dry-run", action="store_true", help="print what would be built and why; change nothing")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="entries built at a time (default 1)")
    parser.add_argument("--force", action="store_true", help="build the chosen entries even when up to date; replace tables the catalog did not make")
    parser.add_argument("--keep-going", action="store_true", help="after a failure, still build what does not depend on it")
    parser.add_argument("--verify", action="store_true", help="hash every file again, even when its size and time are unchanged")
    parser.set_defaults(handler=build_command)
    parser = commands.add_parser("status", help="which entries of datasets.yml are up to date, stale (and why), missing or orphaned")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--verify", action="store_true", help="hash every file again, even when its size and time are unchanged")
    parser.set_defaults(handler=status_command)
    parser = commands.add_parser("fetch", help="download the url entries of datasets.yml into data/raw, checked against their sha256")
    parser.add_argument("names", nargs="*", metavar="NAME", help="entries to fetch (default: every url entry)")
    parser.add_argument("--update", action="store_true", help="download again and re-pin the sha256 in datasets.yml if it changed")
    parser.set_defaults(handler=fetch_command)
    for name in ("build", "status", "fetch"):
        commands.choices[name].add_argument("--project", default=".", metavar="DIR", help="the folder holding datasets.yml (default: .)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analysis-lib", description="Amsterdam data-analysis workbench tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_parser = commands.add_parser(
        "check", help="connect to the database and print server, PostGIS and login (exit 1 when unusable)"
    )
    check_parser.set_defaults(handler=check)
    _add_load_parser(commands)
    _add_backup_parsers(commands)
    _add_sample_data_parser(commands)
    _add_run_parsers(commands)
    _add_catalog_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except AnalysisLibError as error:
        print(f"analysis-lib {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: what was done is said above (a build lets its running entries finish)
        print(f"analysis-lib {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # `analysis-lib status | head`: the reader stopped reading; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
