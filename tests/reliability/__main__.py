"""``make reliability``: the full fault-injection run, one summary line at the end.

``S3REDSHIFT_RELIABILITY_SCHEDULES`` sets how many schedules (default 300);
``S3REDSHIFT_RELIABILITY_SEED=<n>`` replays exactly one. The last line is
``N schedules, M faults injected, L lost, D duplicated, W wrong``: W counts
the schedules that left a table whose content differs from the oracle of
its mode (:mod:`reliability.oracle`). Exits 1 when any schedule lost or
duplicated an object, left a wrong table or broke another check, or when
the run left a database process, a thread or its temporary directory behind.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from reliability.schedules import run_schedules, seeds_from_env
from s3redshift.local import EmbeddedEnvironment

DEFAULT_SCHEDULES = 300
COMMAND = "make reliability"


def _left_behind(pid: int | None, temp_dir: Path | None) -> list[str]:
    """What the run should have stopped or removed but did not."""
    import psutil  # type: ignore[import-untyped]

    left = [
        f"thread {t.name!r}"
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon
    ]
    if pid is not None and psutil.pid_exists(pid):
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(f"database process {pid}")
        except psutil.NoSuchProcess:
            pass
    if temp_dir is not None and temp_dir.exists():
        left.append(f"temporary directory {temp_dir}")
    return left


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    seeds = seeds_from_env(DEFAULT_SCHEDULES, dict(os.environ))
    print(f"reliability: seeds {seeds[0]}..{seeds[-1]}", flush=True)
    with EmbeddedEnvironment() as env:
        pid, temp_dir = env.postgres_pid, env.temp_dir
        summary = run_schedules(env, seeds, command=COMMAND, echo=lambda t: print(t, flush=True))
    left = _left_behind(pid, temp_dir)
    for item in left:
        print(f"left behind: {item}")
    if summary.missed:
        print("never injected: " + ", ".join(f"{p}:{k}" for p, k in summary.missed))
    print(f"faults fired per point: {summary.points()}")
    print(f"{len(summary.failures)} failing schedule(s) in {summary.seconds:.0f} s")
    print(summary.line())
    return 1 if summary.failures or left else 0


if __name__ == "__main__":
    sys.exit(main())
