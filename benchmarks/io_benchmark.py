"""Load, read and import speed of analysis_lib against the usual routes, side by side in one run.

Run by hand against the compose database (not a test):

    docker compose up -d --wait
    export DATABASE_URL="postgresql://workbench:$(docker compose exec lab cat /run/workbench-secrets/db_password)@127.0.0.1:5433/workbench"
    .venv/bin/python benchmarks/io_benchmark.py            # add --quick for a smaller, faster run

Prints a table of medians and ratios and writes benchmarks/results/io.json. The import comparisons
need ogr2ogr on the host (Debian: apt-get install gdal-bin); they are skipped, and said so, without it.
``--before REV`` also imports the same files with analysis_lib as it was at git revision REV, in the
same run ("vs before" is this version's time over that one's); ``--only imports`` runs the imports alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa

import analysis_lib as al
from analysis_lib.db import adbc_connection, adbc_uri

RESULTS = Path(__file__).parent / "results" / "io.json"
SCHEMA = "bench"


def points(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    return gpd.GeoDataFrame(
        {
            "id": np.arange(n, dtype="int64"),
            "value": rng.random(n),
            "label": np.array([f"melding {i % 1000}" for i in range(n)], dtype=object),
        },
        geometry=shapely.points(rng.uniform(110_000, 135_000, n), rng.uniform(475_000, 500_000, n)),
        crs="EPSG:28992",
    )


def polygons(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(2)
    centres = shapely.points(rng.uniform(110_000, 135_000, n), rng.uniform(475_000, 500_000, n))
    return gpd.GeoDataFrame(
        {"id": np.arange(n, dtype="int64")},
        geometry=shapely.buffer(centres, 25, quad_segs=7),  # 29 vertices each
        crs="EPSG:28992",
    )


def addresses(n: int) -> pd.DataFrame:
    """An address list as analysts get them: x/y in RD New and 8 attributes, BAG ids with leading zeros."""
    rng = np.random.default_rng(4)
    streets = np.array(["Damrak", "Rokin", "Kalverstraat", "Prinsengracht", "Van Woustraat", "Javastraat"], dtype=object)
    return pd.DataFrame(
        {
            "bag_id": np.char.add("0363", np.char.zfill(np.arange(n).astype(str), 12)).astype(object),
            "straat": rng.choice(streets, n),
            "huisnummer": rng.integers(1, 400, n),
            "toevoeging": rng.choice(np.array(["", "", "", "A", "B", "1-hoog"], dtype=object), n),
            "postcode": np.char.add(rng.integers(1011, 1109, n).astype(str), rng.choice(np.array(["AB", "CD", "XZ"]), n)).astype(object),
            "oppervlakte": rng.uniform(20, 200, n).round(1),
            "bouwjaar": rng.integers(1600, 2025, n),
            "in_gebruik": rng.random(n) < 0.95,
            "x": rng.uniform(110_000, 135_000, n).round(2),
            "y": rng.uniform(476_000, 494_000, n).round(2),
        }
    )


def timed(function, repeats: int, setup=None) -> float:
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timed_in_rounds(routes: dict[str, tuple]) -> dict[str, float]:
    """Median seconds per route, the routes taking turns round by round so that a machine that slows
    down or speeds up during the run weighs on every route alike. ``routes``: name -> (function,
    setup or None, runs); the slow baselines run fewer times and drop out of the later rounds."""
    times: dict[str, list[float]] = {name: [] for name in routes}
    for round_ in range(max(runs for _, _, runs in routes.values())):
        for name, (function, setup, runs) in routes.items():
            if round_ < runs:
                times[name].append(timed(function, 1, setup))
    return {name: statistics.median(values) for name, values in times.items()}


def drop(table: str):
    def run():
        with al.engine().begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {SCHEMA}.{table}"))

    return run


def floor_load(frame: gpd.GeoDataFrame, table: str, geometry_type: str, *, index: bool = True):
    """The hand-written floor: a typed table, raw ADBC ingest of Arrow + WKB, then index and ANALYZE."""
    import pyarrow as pa

    attributes = pa.Table.from_pandas(frame.drop(columns="geom"), preserve_index=False)
    attributes = attributes.append_column("geom", pa.array(shapely.to_wkb(frame.geometry.to_numpy()), pa.binary()))
    columns = ", ".join(f"{f.name} {'bigint' if f.type == pa.int64() else 'double precision' if f.type == pa.float64() else 'text'}" for f in attributes.schema if f.name != "geom")
    with adbc_connection() as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns}, geom geometry({geometry_type}, 28992))")
        cursor.adbc_ingest(table, attributes, mode="append", db_schema_name=SCHEMA)
        if index:
            cursor.execute(f"CREATE INDEX ON {SCHEMA}.{table} USING gist (geom)")
        cursor.execute(f"ANALYZE {SCHEMA}.{table}")
        connection.commit()


def floor_read(sql: str):
    with adbc_connection() as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        arrow = cursor.fetch_arrow_table()
    frame = arrow.drop_columns(["geom"]).to_pandas()
    wkb = arrow.column("geom").combine_chunks().storage.to_numpy(zero_copy_only=False)
    return gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb), crs="EPSG:28992")


def load_rows(name: str, frame: gpd.GeoDataFrame, geometry_type: str, repeats: int) -> list[dict]:
    table = f"load_{geometry_type.lower()}"
    frame = frame.rename_geometry("geom")
    medians = timed_in_rounds(
        {
            "to_postgis": (lambda: frame.to_postgis(table, al.engine(), schema=SCHEMA), drop(table), min(3, repeats)),
            "no_index": (lambda: al.load(frame, table, schema=SCHEMA, spatial_index=False, progress=False), drop(table), repeats),
            "floor": (lambda: floor_load(frame, table, geometry_type), drop(table), repeats),
            "floor_no_index": (lambda: floor_load(frame, table, geometry_type, index=False), drop(table), repeats),
            # last in every round, so the table left behind is the one the read benchmark reads
            "analysis": (lambda: al.load(frame, table, schema=SCHEMA, progress=False), drop(table), repeats),
        },
    )
    to_postgis, no_index, floor, floor_no_index, analysis = (
        medians[name] for name in ("to_postgis", "no_index", "floor", "floor_no_index", "analysis")
    )
    return [
        {"case": f"load {name}", "route": "analysis_lib.load (index + ANALYZE)", "seconds": analysis,
         "vs to_postgis": to_postgis / analysis, "vs floor": analysis / floor},
        {"case": f"load {name}", "route": "analysis_lib.load, no index", "seconds": no_index,
         "vs to_postgis": to_postgis / no_index, "vs floor": no_index / floor_no_index},
        {"case": f"load {name}", "route": "raw ADBC ingest + index + ANALYZE (floor)", "seconds": floor, "vs to_postgis": to_postgis / floor},
        {"case": f"load {name}", "route": "raw ADBC ingest + ANALYZE (floor, no index)", "seconds": floor_no_index,
         "vs to_postgis": to_postgis / floor_no_index},
        {"case": f"load {name}", "route": "GeoDataFrame.to_postgis", "seconds": to_postgis},
    ]


def read_rows(name: str, geometry_type: str, repeats: int, *, limit: int | None = None) -> list[dict]:
    """Whole tables, or (``limit``) the small query a notebook makes many of, where connecting counts."""
    sql = f"SELECT * FROM {SCHEMA}.load_{geometry_type.lower()}" + (f" LIMIT {limit}" if limit else "")
    runs = repeats * 10 if limit else repeats
    medians = timed_in_rounds(
        {
            "analysis": (lambda: al.read(sql), None, runs),
            "raw": (lambda: floor_read(sql), None, runs),
            "read_postgis": (lambda: gpd.read_postgis(sql, al.engine(), geom_col="geom"), None, runs if limit else min(3, repeats)),
        },
    )
    analysis, raw, read_postgis = medians["analysis"], medians["raw"], medians["read_postgis"]
    return [
        {"case": f"read {name}", "route": "analysis_lib.read", "seconds": analysis,
         "vs read_postgis": read_postgis / analysis, "vs floor": analysis / raw},
        {"case": f"read {name}", "route": "raw ADBC + shapely.from_wkb (floor)", "seconds": raw},
        {"case": f"read {name}", "route": "geopandas.read_postgis", "seconds": read_postgis},
    ]


# Peak RSS from VmHWM: ru_maxrss would carry over the parent's size from before the exec.
IMPORT_IN_CHILD = """
import re, sys, time
from analysis_lib.files import import_file
options = {"crs": "EPSG:28992"} if sys.argv[1].endswith(".csv") else {}
started = time.perf_counter()
import_file(sys.argv[1], sys.argv[2], schema=sys.argv[3], if_exists="replace", progress=False, **options)
peak_kib = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(time.perf_counter() - started, peak_kib)
"""


def import_in_child(path: Path, table: str, *, source: Path | None = None) -> tuple[float, int]:
    """One import in a fresh process; ``source``: a folder holding another analysis_lib to import with."""
    # run from ``source`` too: a child started with -c puts its working folder first on sys.path
    env = dict(os.environ, PYTHONPATH=str(source)) if source else None
    output = subprocess.run([sys.executable, "-c", IMPORT_IN_CHILD, str(path), table, SCHEMA], check=True, capture_output=True,
                            text=True, env=env, cwd=source)
    seconds, peak_kib = output.stdout.split()
    return float(seconds), int(peak_kib)


def ogr2ogr(path: Path, table: str) -> None:
    url = sa.engine.make_url(adbc_uri())
    connection = f"PG:host={url.host or os.environ.get('PGHOST', 'localhost')} port={url.port or 5432} dbname={url.database} user={url.username} password={url.password}"
    if path.suffix == ".csv":  # the types over the whole file, as analysis_lib decides them
        options = ["-oo", "X_POSSIBLE_NAMES=x", "-oo", "Y_POSSIBLE_NAMES=y", "-oo", "AUTODETECT_TYPE=YES",
                   "-oo", "AUTODETECT_SIZE_LIMIT=0", "-a_srs", "EPSG:28992"]
    else:
        options = ["-t_srs", "EPSG:28992"]
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", connection, str(path), "-nln", f"{SCHEMA}.{table}", "-overwrite",
         "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", *options],
        check=True, capture_output=True,
    )


def import_case(case: str, path: Path, repeats: int, before: Path | None, revision: str | None, *, compare: bool = True) -> tuple[list[dict], float]:
    """This version (and the one ``before``) importing ``path`` in fresh processes, taking turns, and ogr2ogr."""
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(import_in_child(path, "import_case"))
        if before is not None and compare:
            theirs.append(import_in_child(path, "import_case", source=before))
    seconds, peak = statistics.median(t for t, _ in ours), max(p for _, p in ours) / 1024
    row = {"case": case, "route": "analysis_lib.import_file", "seconds": seconds, "peak RSS MiB": peak}
    rows = [row]
    if theirs:
        earlier = statistics.median(t for t, _ in theirs)
        row["vs before"] = seconds / earlier
        rows.append({"case": case, "route": f"analysis_lib.import_file at {revision} (before)", "seconds": earlier,
                     "peak RSS MiB": max(p for _, p in theirs) / 1024})
    if compare and shutil.which("ogr2ogr"):
        ogr = timed(lambda: ogr2ogr(path, "ogr_case"), repeats)
        row["vs ogr2ogr"] = ogr / seconds
        if theirs:
            rows[1]["vs ogr2ogr"] = ogr / rows[1]["seconds"]
        rows.append({"case": case, "route": "ogr2ogr (gdal-bin)", "seconds": ogr})
    elif compare:
        print("ogr2ogr not found (Debian: apt-get install gdal-bin): no ogr2ogr rows", file=sys.stderr)
    return rows, peak


def import_rows(sizes: list[int], repeats: int, folder: Path, before: Path | None, revision: str | None) -> list[dict]:
    rows = []
    peaks = {}
    for n in sizes:
        path = folder / f"points_{n}.gpkg"
        pyogrio.write_dataframe(points(n), path, layer="points")
        found, peaks[n] = import_case(f"import GeoPackage {n:,} points", path, repeats, before, revision, compare=n == sizes[0])
        rows += found
        path.unlink()
    if len(sizes) > 1:
        rows.append({"case": f"peak RSS {sizes[-1]:,} / {sizes[0]:,} points", "route": "analysis_lib.import_file",
                     "ratio": peaks[sizes[-1]] / peaks[sizes[0]]})
    rows += widening_rows(sizes[0], repeats, folder)
    path = folder / f"addresses_{sizes[0]}.csv"
    addresses(sizes[0]).to_csv(path, index=False)
    rows += import_case(f"import CSV {sizes[0]:,} addresses (x/y + 8 columns)", path, repeats, before, revision)[0]
    return rows


def widening_rows(n: int, repeats: int, folder: Path) -> list[dict]:
    """What a MultiPoint in the last row costs: the staging table's Point column is altered to
    MultiPoint between two COPYs, rewriting the rows so far."""
    frame = points(n)
    frame.loc[n - 1, "geometry"] = shapely.MultiPoint([frame.geometry.iloc[n - 1], frame.geometry.iloc[0]])
    path = folder / f"points_{n}_multi_last.gpkg"
    pyogrio.write_dataframe(frame, path, layer="points", geometry_type="Unknown")
    seconds = statistics.median(import_in_child(path, "import_case")[0] for _ in range(repeats))
    path.unlink()
    return [{"case": f"import GeoPackage {n:,} points, a MultiPoint last", "route": "analysis_lib.import_file (column widened)",
             "seconds": seconds}]


def source_at(revision: str, folder: Path) -> Path:
    """analysis_lib as it was at ``revision``, unpacked into ``folder``."""
    archive = subprocess.run(["git", "archive", revision, "analysis_lib"], check=True, capture_output=True,
                             cwd=Path(__file__).resolve().parents[1]).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def print_table(rows: list[dict]) -> None:
    keys = ["case", "route", "seconds", "vs to_postgis", "vs read_postgis", "vs ogr2ogr", "vs floor", "vs before", "peak RSS MiB", "ratio"]
    shown = [k for k in keys if any(k in row for row in rows)]
    cells = [[_cell(row.get(k)) for k in shown] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(shown)]
    print(" | ".join(k.ljust(w) for k, w in zip(shown, widths)))
    print("-|-".join("-" * w for w in widths))
    for line in cells:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths)))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"  # small reads take milliseconds
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k points, 10k polygons, 1 repeat")
    parser.add_argument("--repeats", type=int, default=5, help="runs per route (the slow baselines: 3)")
    parser.add_argument("--before", metavar="REV", help="also import with analysis_lib as it was at git revision REV")
    parser.add_argument("--only", choices=["imports"], help="run only these cases")
    args = parser.parse_args()
    n_points, n_polygons, sizes = (1_000_000, 100_000, [1_000_000, 5_000_000]) if not args.quick else (100_000, 10_000, [100_000, 500_000])
    repeats = 1 if args.quick else args.repeats
    with al.engine().begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    rows = []
    if args.only is None:
        rows += load_rows(f"{n_points:,} points", points(n_points), "Point", repeats)
        rows += load_rows(f"{n_polygons:,} polygons", polygons(n_polygons), "Polygon", repeats)
        rows += read_rows(f"{n_points:,} points", "Point", repeats)
        rows += read_rows(f"{n_polygons:,} polygons", "Polygon", repeats)
        rows += read_rows("100 points (LIMIT 100)", "Point", repeats, limit=100)
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as earlier:
        before = source_at(args.before, Path(earlier)) if args.before else None
        rows += import_rows(sizes, repeats, Path(folder), before, args.before)
    with al.engine().begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    print_table(rows)
    results = RESULTS.with_name(f"io-{args.only}.json") if args.only else RESULTS
    results.parent.mkdir(exist_ok=True)
    summary = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "repeats": repeats, "before": args.before, "rows": rows}
    results.write_text(json.dumps(summary, indent=2))
    print(f"\nwritten to {results}")


if __name__ == "__main__":
    main()
