"""Many runs of one notebook: a grid of parameters, run in parallel processes, one failure stopping
nothing else, and a summary of every run at the end."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .errors import AnalysisLibError
from .reports import ReportError, checked_parameters, run


@dataclass(frozen=True)
class Outcome:
    parameters: dict[str, Any]
    seconds: float
    html: Path | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def parameter_sets(grid: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"parameters": {name: [values]}}`` (every combination) or ``{"runs": [{name: value}, …]}``."""
    if set(grid) == {"runs"} and isinstance(grid["runs"], list) and all(isinstance(r, dict) for r in grid["runs"]):
        return [dict(r) for r in grid["runs"]]
    if set(grid) == {"parameters"} and isinstance(grid["parameters"], dict):
        names = list(grid["parameters"])
        values = [v if isinstance(v, list) else [v] for v in grid["parameters"].values()]
        return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*values)]
    raise ReportError("a grid is either 'parameters: {name: [values]}' (every combination) or 'runs: [{name: value}, …]'")


def run_batch(
    notebook: str | os.PathLike,
    runs: Sequence[Mapping[str, Any]],
    *,
    workers: int | None = None,
    progress: bool | None = None,
    **run_options,
) -> list[Outcome]:
    """Run ``notebook`` once per parameter set, ``workers`` at a time; every set is checked first."""
    for parameters in runs:
        checked_parameters(notebook, parameters)  # a typo in run 40 stops the batch before run 1 starts
    workers = workers or os.cpu_count() or 1
    outcomes = []
    # spawn: each run gets a fresh interpreter (and its own environment for the kernel it starts)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool, tqdm(
        total=len(runs), desc=Path(notebook).name, unit=" runs", disable=not (progress if progress is not None else os.isatty(2))
    ) as bar:
        futures = {pool.submit(_one_run, notebook, dict(parameters), run_options): dict(parameters) for parameters in runs}
        for future in as_completed(futures):
            outcomes.append(future.result())
            bar.update(1)
    order = [dict(parameters) for parameters in runs]
    return sorted(outcomes, key=lambda outcome: order.index(outcome.parameters))


def _one_run(notebook, parameters: dict, run_options: dict) -> Outcome:
    started = time.perf_counter()
    try:
        report = run(notebook, parameters, **run_options)
    except AnalysisLibError as error:
        return Outcome(parameters=parameters, seconds=time.perf_counter() - started, error=str(error).splitlines()[0])
    return Outcome(parameters=parameters, seconds=time.perf_counter() - started, html=report.html)


def summary(outcomes: Sequence[Outcome]) -> str:
    """A plain-text table: status, parameters, seconds, report or error."""
    rows = [
        ("ok" if o.ok else "FAILED", ", ".join(f"{k}={v}" for k, v in o.parameters.items()) or "(defaults)", f"{o.seconds:.1f}",
         str(o.html) if o.ok else o.error)
        for o in outcomes
    ]
    header = ("status", "parameters", "s", "report / error")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(3)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3] for row in [header, *rows]]
    failed = sum(not o.ok for o in outcomes)
    lines.append(f"runs: {len(outcomes) - failed} ok, {failed} failed")
    return "\n".join(lines)
