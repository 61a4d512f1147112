"""SnapStart: what INIT costs, moved to publish time, against what a restored environment pays.

In fresh interpreters of the unpacked data-api zip (built as
:mod:`bench.cold_start` builds it, with its configuration and event), two
programs alternate:

A. a cold start: ``import lambda_entry`` (INIT: imports, configuration, the
   loader and its clients) and the first invocation up to the moment its
   first AWS request would leave the process (:data:`bench.cold_start.ADAPTER_RUN`);
B. a restored start: the same import and ``before_snapshot()`` (what Lambda
   runs when it publishes the version), then, timed from the restore,
   ``after_restore()`` (sessions, clients and credentials made anew) and the
   first invocation up to its first AWS request.

Figures (ms): ``snapstart_init_ms`` (B's import: the INIT that publishing
pays instead of a cold invocation), ``snapstart_restore_ms`` (B's
after-restore hooks), ``snapstart_first_request_ms`` (B from the restore to
the first request) and ``snapstart_cold_first_request_ms`` (A). Lambda's own
work to resume a snapshot (loading its memory) happens outside the process
and is not measured: on Lambda a restored start pays that plus
``snapstart_first_request_ms``.
"""

from __future__ import annotations

from pathlib import Path

from bench.cold_start import ADAPTER_RUN, _time, reports, unpacked_zips

RESTORED_RUN = ADAPTER_RUN.replace(
    "import lambda_entry\n",
    """import lambda_entry
init_ms = (time.perf_counter() - started) * 1000
lambda_entry.before_snapshot()
started = time.perf_counter()  # the restore: stop() now reports from here
lambda_entry.after_restore()
restore_ms = (time.perf_counter() - started) * 1000
print(json.dumps({"init_ms": init_ms, "restore_ms": restore_ms}))
""",
)
"""A cold start's program with a publish (INIT, the before-snapshot hook) and a restore in front."""


def _restored(interpreter: Path, env: dict[str, str]) -> dict[str, float]:
    """One restored start: its INIT, its after-restore hooks, and restore to first request."""
    found = reports(interpreter, RESTORED_RUN, env)
    if "init_ms" not in found or "ms" not in found:
        raise RuntimeError(f"restored run reported {sorted(found)}, not its phases and request")
    return {**found["init_ms"], "first_request_ms": float(found["ms"]["ms"])}


def measure(repeats: int = 9) -> dict[str, list[float]]:
    """Samples (ms) per round of a cold start (A) and a restored start (B), in turn."""
    results: dict[str, list[float]] = {
        "snapstart_init_ms": [],
        "snapstart_restore_ms": [],
        "snapstart_first_request_ms": [],
        "snapstart_cold_first_request_ms": [],
    }
    with unpacked_zips(("data-api",)) as (interpreter, envs):
        env = envs["data-api"]
        for _ in range(repeats):
            results["snapstart_cold_first_request_ms"].append(
                _time(interpreter, ADAPTER_RUN, env)[0]
            )
            restored = _restored(interpreter, env)
            results["snapstart_init_ms"].append(restored["init_ms"])
            results["snapstart_restore_ms"].append(restored["restore_ms"])
            results["snapstart_first_request_ms"].append(restored["first_request_ms"])
    return results
