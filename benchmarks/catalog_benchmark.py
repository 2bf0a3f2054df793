"""The dataset catalog's build speed, side by side in one run: a catalog of 20 entries (sample-like
files of about 1 GB in all, plus derived tables and a view) built with --jobs 1 and --jobs 2, a
no-op build and status, and a rebuild after one file changed.

Run by hand against the compose database (not a test):

    docker compose up -d --wait
    export DATABASE_URL="postgresql://workbench:$(docker compose exec lab cat /run/workbench-secrets/db_password)@127.0.0.1:5433/workbench"
    .venv/bin/python benchmarks/catalog_benchmark.py            # --scale 0.1 for a quick run

The files are made once into --folder (default /tmp/catalog-benchmark) and kept; the tables go into
the schema catalog_bench (dropped, with their provenance rows, before each build). Prints a table and
writes benchmarks/results/catalog.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import sqlalchemy as sa
import yaml

import analysis_lib as al
from analysis_lib.catalog.builder import build
from analysis_lib.sample_data import make

RESULTS = Path(__file__).parent / "results" / "catalog.json"
SCHEMA = "catalog_bench"
MELDINGEN_FILES = 8  # CSV, Excel style
CONTAINER_FILES = 4  # GeoPackage


def make_files(folder: Path, scale: float) -> None:
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    done = raw / ".complete"
    if done.exists() and done.read_text() == str(scale):
        return
    data = make(scale=1.0, seed=2024)
    tables = data.tables()
    pyogrio.write_dataframe(tables["buurten"], raw / "buurten.gpkg", layer="buurten")
    rng = np.random.default_rng(7)
    meldingen = pd.DataFrame(data.meldingen.drop(columns="geometry"))
    rows = round(1_600_000 * scale)  # ~100 MB of CSV per file at scale 1
    for number in range(MELDINGEN_FILES):
        picked = meldingen.iloc[rng.integers(0, len(meldingen), rows)].reset_index(drop=True)
        picked["id"] = np.arange(rows) + number * rows
        picked["gemeld_op"] = picked["gemeld_op"].dt.tz_convert("Europe/Amsterdam").dt.strftime("%Y-%m-%d %H:%M:%S")
        points = data.meldingen.geometry.iloc[rng.integers(0, len(meldingen), rows)]
        picked["x"], picked["y"] = points.x.to_numpy() + rng.normal(0, 5, rows), points.y.to_numpy() + rng.normal(0, 5, rows)
        picked.to_csv(raw / f"meldingen_{number}.csv", sep=";", decimal=",", index=False, float_format="%.2f")
    containers = data.afvalcontainers
    for number in range(CONTAINER_FILES):
        count = round(400_000 * scale)
        picked = containers.iloc[rng.integers(0, len(containers), count)].reset_index(drop=True)
        picked["id"] = np.arange(count) + number * count
        pyogrio.write_dataframe(picked, raw / f"containers_{number}.gpkg", layer="containers")
    done.write_text(str(scale))


def write_catalog(folder: Path) -> None:
    sql = folder / "sql"
    sql.mkdir(exist_ok=True)
    entries: dict = {"buurten": {"path": "buurten.gpkg", "layer": "buurten", "primary_key": "code"}}
    for number in range(MELDINGEN_FILES):
        entries[f"meldingen_{number}"] = {"path": f"meldingen_{number}.csv", "crs": "EPSG:28992", "x": "x", "y": "y",
                                          "column_types": {"buurt": "text"}, "checks": [{"not_null": ["buurt"]}]}
    for number in range(CONTAINER_FILES):
        entries[f"containers_{number}"] = {"path": f"containers_{number}.gpkg", "checks": [{"rows": {"min": 1}}]}
    for number in range(4):  # per-file aggregations: what a rebuild after one change must redo
        (sql / f"per_buurt_{number}.sql").write_text(
            f"SELECT buurt, date_trunc('month', gemeld_op)::date AS maand, count(*) AS meldingen FROM {SCHEMA}.meldingen_{number}"
            " GROUP BY 1, 2")
        entries[f"per_buurt_{number}"] = {"sql": f"sql/per_buurt_{number}.sql"}
    (sql / "containers_per_buurt.sql").write_text(" UNION ALL ".join(
        f"SELECT buurt, count(*) AS containers FROM {SCHEMA}.containers_{n} GROUP BY buurt" for n in range(CONTAINER_FILES)))
    entries["containers_per_buurt"] = {"sql": "sql/containers_per_buurt.sql"}
    (sql / "overzicht.sql").write_text(
        f"SELECT b.code, b.naam, b.geom, (SELECT sum(meldingen) FROM {SCHEMA}.per_buurt_0 p WHERE p.buurt = b.code) AS meldingen,"
        f" (SELECT sum(containers) FROM {SCHEMA}.containers_per_buurt c WHERE c.buurt = b.code) AS containers FROM {SCHEMA}.buurten b")
    entries["overzicht"] = {"sql": "sql/overzicht.sql", "materialized": "view"}
    (sql / "per_maand.sql").write_text("SELECT maand, sum(meldingen) AS meldingen FROM (" + " UNION ALL ".join(
        f"SELECT maand, meldingen FROM {SCHEMA}.per_buurt_{n}" for n in range(4)) + ") m GROUP BY maand")
    entries["per_maand"] = {"sql": "sql/per_maand.sql", "materialized": "materialized view"}
    assert len(entries) == 20, len(entries)
    datasets = {name: {"schema": SCHEMA, **entry} for name, entry in entries.items()}
    (folder / "datasets.yml").write_text(yaml.safe_dump({"datasets": datasets}, sort_keys=False))


def reset() -> None:
    with al.engine().begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        if conn.execute(sa.text("SELECT to_regclass('catalog.tables')")).scalar():
            conn.execute(sa.text("DELETE FROM catalog.tables WHERE schema_name = :s"), {"s": SCHEMA})


def timed_build(folder: Path, **options) -> tuple[float, list]:
    started = time.perf_counter()
    result = build(folder, echo=lambda line: None, **options)
    seconds = time.perf_counter() - started
    failed = [o for o in result.outcomes if o.result not in ("built", "up to date")]
    assert not failed, failed
    return seconds, result.outcomes


def command_seconds(folder: Path, *args: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "analysis_lib", *args, "--project", str(folder)], capture_output=True, text=True)
        assert done.returncode == 0 or args[0] == "status", done.stderr  # status says 1 for other projects' orphans too
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/catalog-benchmark"))
    parser.add_argument("--scale", type=float, default=1.0, help="file sizes (1: about 1 GB in all)")
    args = parser.parse_args()
    folder = args.folder.resolve()
    make_files(folder, args.scale)
    write_catalog(folder)
    size = sum(p.stat().st_size for p in (folder / "data" / "raw").glob("*.*"))

    reset()
    serial, serial_outcomes = timed_build(folder, jobs=1)
    reset()
    parallel, _ = timed_build(folder, jobs=2)
    noop_build = command_seconds(folder, "build")
    noop_status = command_seconds(folder, "status")

    changed = folder / "data" / "raw" / "meldingen_1.csv"
    with changed.open("a") as stream:
        stream.write(f"99999999;Afval;2024-06-01 10:00:00;open;AF01;121000,00;487000,00\n")
    after_change, outcomes = timed_build(folder, jobs=1)
    rebuilt = [o.name for o in outcomes if o.result == "built"]
    alone = sum(o.seconds for o in serial_outcomes if o.name in rebuilt)

    rows = [
        ("build, 20 entries, --jobs 1", serial, ""),
        ("build, 20 entries, --jobs 2", parallel, f"{serial / parallel:.2f}× --jobs 1 (goal ≥ 1.5)"),
        ("no-op build (nothing hashed)", noop_build, "goal ≤ 0.5 s"),
        ("status (nothing hashed)", noop_status, "goal ≤ 0.5 s"),
        (f"build after meldingen_1.csv changed: {len(rebuilt)} rebuilt ({', '.join(rebuilt)})", after_change,
         f"those entries alone took {alone:.2f} s in the full build"),
    ]
    print(f"\nfiles: {size / 1e9:.2f} GB in {folder / 'data' / 'raw'}; {platform.node()}, {len(os.sched_getaffinity(0))} cores\n")
    print("| case | s | note |\n|---|---|---|")
    for case, seconds, note in rows:
        print(f"| {case} | {seconds:.2f} | {note} |")
    print("\nper entry, --jobs 1 (s):", ", ".join(f"{o.name} {o.seconds:.1f}" for o in serial_outcomes))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"scale": args.scale, "gigabytes": size / 1e9, "cases": [{"case": c, "seconds": s, "note": n} for c, s, n in rows],
                                   "per_entry_jobs_1": {o.name: o.seconds for o in serial_outcomes}}, indent=2))


if __name__ == "__main__":
    main()
