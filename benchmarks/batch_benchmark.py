"""Many reports at once: `run-batch` against the same runs made one by one with the papermill CLI.

Run by hand against the compose database holding the sample data (not a test):

    docker compose up -d --wait
    docker compose exec lab analysis-lib sample-data
    export DATABASE_URL="postgresql://workbench:$(docker compose exec lab cat /run/workbench-secrets/db_password)@127.0.0.1:5433/workbench"
    .venv/bin/python benchmarks/batch_benchmark.py          # --runs 8 for a quicker look

Both sides run notebooks/02_district_report.ipynb with the owner's login (the papermill CLI knows no
read-only role); run-batch also writes each HTML report, which papermill does not. Prints a table and
writes benchmarks/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis_lib.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_district_report.ipynb"
RESULTS = Path(__file__).parent / "results" / "batch.json"
HALVES = [("2024-01-01", "2024-06-30"), ("2024-07-01", "2024-12-31")]


def parameter_sets(count: int) -> list[dict[str, str]]:
    """Every stadsdeel for each half year, then a category for some: distinct reports, as in real use."""
    runs = [{"stadsdeel": code, "start": start, "end": end} for start, end in HALVES for code in "ABEFKMNT"]
    runs += [{"stadsdeel": code, "categorie": "Afval"} for code in "ABEFKMNT"]
    return runs[:count]


def papermill_one_by_one(runs: list[dict], folder: Path) -> float:
    started = time.perf_counter()
    for number, parameters in enumerate(runs):
        options = [arg for name, value in parameters.items() for arg in ("-p", name, value)]
        subprocess.run(
            [sys.executable, "-m", "papermill", "--log-level", "ERROR", "--no-progress-bar", str(NOTEBOOK), str(folder / f"{number}.ipynb"), *options],
            check=True, capture_output=True,
        )
    return time.perf_counter() - started


def with_run_batch(runs: list[dict], folder: Path, workers: int) -> float:
    started = time.perf_counter()
    outcomes = run_batch(NOTEBOOK, runs, workers=workers, output_dir=folder, read_only=False, progress=False)
    seconds = time.perf_counter() - started
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if failed:
        raise SystemExit(f"run-batch failed: {failed[0].error}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    runs = parameter_sets(args.runs)
    with tempfile.TemporaryDirectory() as scratch:
        sequential = papermill_one_by_one(runs, Path(scratch))
        batch = with_run_batch(runs, Path(scratch) / "reports", args.workers)
    rows = [
        {"route": "papermill CLI, one run after another", "seconds": round(sequential, 1), "per_run": round(sequential / len(runs), 2), "ratio": 1.0},
        {"route": f"analysis-lib run-batch, {args.workers} workers (+ HTML)", "seconds": round(batch, 1), "per_run": round(batch / len(runs), 2),
         "ratio": round(sequential / batch, 2)},
    ]
    print(f"{len(runs)} runs of {NOTEBOOK.name} on {os.cpu_count()} cores")
    print(f"{'route':<48} {'total s':>8} {'s/run':>7} {'speed-up':>9}")
    for row in rows:
        print(f"{row['route']:<48} {row['seconds']:>8} {row['per_run']:>7} {row['ratio']:>8}x")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "runs": len(runs), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
