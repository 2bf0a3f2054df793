"""How long a new notebook takes to be ready in the lab image: kernel start, then the first
analysis_lib query, then the first %sql query (jupysql loads on first use).

Run by hand in the lab container, with the stack up and the sample data loaded:

    docker compose exec lab python benchmarks/kernel_startup.py

Prints medians of 5 fresh kernels and writes benchmarks/results/kernel.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

RESULTS = Path(__file__).parent / "results" / "kernel.json"
STEPS = {
    "kernel ready (first cell answers)": "1 + 1",
    "+ import analysis_lib, first query": "import analysis_lib as al\nal.read_sql('SELECT count(*) FROM buurten')",
    "+ first %sql query": "%sql SELECT count(*) FROM buurten",
}


def one_kernel() -> list[float]:
    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        marks = []
        for code in STEPS.values():
            reply = client.execute_interactive(code, timeout=120, output_hook=lambda _message: None)
            if reply["content"]["status"] != "ok":
                raise SystemExit(f"{code!r} failed: {reply['content'].get('evalue')}")
            marks.append(time.perf_counter() - started)
        return marks
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    runs = [one_kernel() for _ in range(5)]
    medians = [statistics.median(run[step] for run in runs) for step in range(len(STEPS))]
    print(f"{'seconds since the kernel was asked for (median of 5)':<56} {'s':>6}")
    for label, seconds in zip(STEPS, medians, strict=True):
        print(f"{label:<56} {seconds:>6.2f}")
    RESULTS.parent.mkdir(exist_ok=True)
    rows = [{"step": label, "seconds": round(seconds, 2)} for label, seconds in zip(STEPS, medians, strict=True)]
    RESULTS.write_text(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
