"""`make bench`: measure the figures the issues ask for, print them, write bench/results.json.

Each benchmark's ``measure()`` returns samples of repeated runs per figure;
runs that are compared (batched vs per file, 10k vs 1M ledger rows, A vs B
interpreters) alternate inside one benchmark, so both sides see the same
machine. Every figure is reported as the median of its samples with their
spread (min, max). Wall times on the stand-in measure this machine,
PostgreSQL and moto, not Redshift; counts, round trips, planning, cold start
and sizes carry over (docs/performance.md).

``python -m bench NAME...`` runs only the named benchmarks and updates only
their figures in bench/results.json, keeping the others (and the machine and
duration of the run that wrote them); ``copy_builder`` and ``plan_size`` print
extra detail and are run only by name.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    artifact_size,
    cold_start,
    copy_builder,
    data_api_latency,
    data_api_transactions,
    ledger_growth,
    parallel_tables,
    plan_size,
    plan_speed,
    schema_read,
    shape,
    snapstart,
    standin_load,
)

RESULTS = Path(__file__).resolve().parent / "results.json"

FIGURES: dict[str, Callable[[], dict[str, list[float]]]] = {
    "shape": shape.measure,
    "plan_speed": plan_speed.measure,
    "schema_read": schema_read.measure,
    "cold_start": cold_start.measure,
    "snapstart": snapstart.measure,
    "artifact_size": artifact_size.measure,
    "data_api_transactions": data_api_transactions.measure,
    "data_api_latency": data_api_latency.measure,
    "ledger_growth": ledger_growth.measure,
    "parallel_tables": parallel_tables.measure,
    "standin_load": standin_load.measure,
}
"""The benchmarks ``make bench`` runs, quickest first."""

DETAIL: dict[str, Callable[[], None]] = {
    "copy_builder": copy_builder.run,
    "plan_size": plan_size.run,
}


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
    }


def summarise(samples: list[float]) -> dict[str, float | int]:
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "runs": len(samples),
    }


def main(argv: list[str]) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server: a line per request
    chosen = argv or list(FIGURES)
    unknown = [name for name in chosen if name not in FIGURES and name not in DETAIL]
    if unknown:
        known = ", ".join([*FIGURES, *DETAIL])
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {known}")
        return 2
    about = machine()
    print(f"machine: {about['cores']} cores, Python {about['python']}, {about['date']}")
    figures: dict[str, dict[str, float | int]] = {}
    started = time.monotonic()
    for name in chosen:
        print(f"== {name} ({time.monotonic() - started:.0f} s so far)", flush=True)
        if name in DETAIL:
            DETAIL[name]()
            continue
        for figure, samples in FIGURES[name]().items():
            figures[figure] = summarise(samples)
            s = figures[figure]
            spread = f"min {s['min']}, max {s['max']}, {s['runs']} runs"
            print(f"  {figure:34s} {s['median']:>12} ({spread})")
    elapsed = time.monotonic() - started
    print(f"== done in {elapsed:.0f} s")
    if figures:
        write_results({"machine": about, "seconds": round(elapsed), "figures": figures}, bool(argv))
        print(f"wrote {RESULTS}")
    return 0


def write_results(document: dict[str, Any], partial: bool) -> None:
    """Write ``document``; a partial run updates its figures in the file's and keeps the rest."""
    if partial and RESULTS.exists():
        previous: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
        document = previous | {"figures": previous.get("figures", {}) | document["figures"]}
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
