"""Import time of what a Lambda cold start pays for, in fresh interpreters."""

from __future__ import annotations

import statistics
import subprocess
import sys

MODULES = {
    "s3redshift (package only)": "s3redshift",
    "events+mapping+copy": "s3redshift.events, s3redshift.mapping, s3redshift.copy",
    "loader (with config, plan)": "s3redshift.loader",
    "Lambda adapter (what INIT pays)": "adapters.lambda_entry",
    "boto3 (for comparison)": "boto3",
}
RUNS = 5


def _seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return float(out.stdout)


def run() -> None:
    for label, module in MODULES.items():
        times = sorted(_seconds(module) for _ in range(RUNS))
        print(f"import {label}: median {statistics.median(times) * 1000:.0f} ms ({RUNS} runs)")
