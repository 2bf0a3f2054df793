"""Many runs of one notebook: a grid of parameters, run in parallel processes, one failure stopping
nothing else, and a summary of every run at the end."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .errors import AnalysisLibError
from .reports import DEFAULT_OUTPUT_DIR, ReportError, checked_parameters, folder_name, run


@dataclass(frozen=True)
class Outcome:
    parameters: dict[str, Any]
    seconds: float
    html: Path | None = None
    error: str | None = None
    host: str = ""  # the machine (container) the run's kernel ran on

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
    cluster: str | None = None,
    progress: bool | None = None,
    **run_options,
) -> list[Outcome]:
    """Run ``notebook`` once per parameter set; every set is checked first.

    Locally ``workers`` runs at a time (default: one per core); with ``cluster`` (a Dask scheduler
    address such as ``tcp://scheduler:8786``) each run goes to a worker, which must see the notebook
    and the output folder at the same paths (the compose ``cluster`` profile mounts the project as
    the lab does).
    """
    # a typo in run 40, or two runs that would write one folder, stop the batch before run 1 starts
    _refuse_shared_folders([checked_parameters(notebook, parameters) for parameters in runs])
    # workers elsewhere (a cluster) have working folders of their own: they get absolute paths
    run_options = {**run_options, "output_dir": str(Path(run_options.get("output_dir", DEFAULT_OUTPUT_DIR)).resolve())}
    jobs = [(str(Path(notebook).resolve()), dict(parameters), run_options) for parameters in runs]
    show = progress if progress is not None else os.isatty(2)
    with tqdm(total=len(jobs), desc=Path(notebook).name, unit=" runs", disable=not show) as bar:
        outcomes = _on_cluster(cluster, jobs, bar) if cluster else _in_processes(workers or os.cpu_count() or 1, jobs, bar)
    order = [parameters for _, parameters, _ in jobs]
    return sorted(outcomes, key=lambda outcome: order.index(outcome.parameters))


def _refuse_shared_folders(runs: Sequence[Mapping[str, Any]]) -> None:
    """ReportError when two runs would write the same report folder, also on a file system that does not
    tell upper from lower case (a project folder on macOS or Windows)."""
    seen: dict[str, int] = {}
    for number, parameters in enumerate(runs, start=1):
        folder = folder_name(parameters)
        earlier = seen.setdefault(folder.casefold(), number)
        if earlier != number:
            raise ReportError(
                f"runs {earlier} and {number} would write the same report folder {folder!r}"
                f" ({dict(runs[earlier - 1])} and {dict(parameters)}); make every run's parameters different"
            )


def scheduler_address(given: str | None) -> str:
    """``given``, else DASK_SCHEDULER_ADDRESS; ReportError when neither names a scheduler."""
    address = given or os.environ.get("DASK_SCHEDULER_ADDRESS", "")
    if not address:
        raise ReportError("no Dask scheduler: give one (--cluster tcp://scheduler:8786) or set DASK_SCHEDULER_ADDRESS")
    return address


def _in_processes(workers: int, jobs: list, bar) -> list[Outcome]:
    outcomes = []
    # spawn: each run gets a fresh interpreter (and its own environment for the kernel it starts)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_one_run, *job): job for job in jobs}
        for future in as_completed(futures):
            outcomes.append(_outcome(future, futures[future]))
            bar.update(1)
    return outcomes


def _on_cluster(address: str, jobs: list, bar) -> list[Outcome]:
    from distributed import Client
    from distributed import as_completed as completed_on_cluster

    try:
        client = Client(address, timeout="30s")
    except OSError as error:
        raise ReportError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    outcomes = []
    with client:
        client.wait_for_workers(1, timeout=120)
        # pure=False: two runs with equal parameters are still two runs
        futures = {client.submit(_one_run, *job, pure=False): job for job in jobs}
        for future in completed_on_cluster(futures):
            outcomes.append(_outcome(future, futures[future]))
            bar.update(1)
    return outcomes


def _outcome(future, job) -> Outcome:
    """The run's own outcome, or a failed one when the worker itself failed (not just the notebook)."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - whatever ended the worker, the other runs go on
        return Outcome(parameters=job[1], seconds=0.0, error=f"the worker failed: {type(error).__name__}: {error}")


def _one_run(notebook: str, parameters: dict, run_options: dict) -> Outcome:
    started = time.perf_counter()
    try:
        report = run(notebook, parameters, **run_options)
    except AnalysisLibError as error:
        return Outcome(parameters, time.perf_counter() - started, error=str(error).splitlines()[0], host=socket.gethostname())
    return Outcome(parameters, time.perf_counter() - started, html=report.html, host=socket.gethostname())


def summary(outcomes: Sequence[Outcome]) -> str:
    """A plain-text table: status, parameters, seconds, where it ran, report or error."""
    rows = [
        ("ok" if o.ok else "FAILED", ", ".join(f"{k}={v}" for k, v in o.parameters.items()) or "(defaults)", f"{o.seconds:.1f}",
         o.host or "-", str(o.html) if o.ok else o.error)
        for o in outcomes
    ]
    header = ("status", "parameters", "s", "host", "report / error")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in [header, *rows]]
    failed = sum(not o.ok for o in outcomes)
    lines.append(f"runs: {len(outcomes) - failed} ok, {failed} failed")
    return "\n".join(lines)
