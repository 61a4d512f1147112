"""The heartbeat of `s3redshift load` and `ledger --failed`: progress while one call runs.

A batch is one loader call: without a heartbeat, a terminal shows nothing
from its start to its end. Here a real batch is held inside its COPY on the
stand-in (a trigger waits on an advisory lock), and the printer must report
while it waits.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from helpers import put
from s3redshift.backfill import BackfillProgress, backfill
from s3redshift.cli.output import ProgressPrinter
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from test_scale import (
    HOLD,
    hold_copies_into,
    holder,
    make_loader,
    query,
    wait_for_backends,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["holder", "make_loader"]  # fixtures shared with test_scale


class StoppedClock:
    """A clock the test moves: heartbeat texts then hold exact figures."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the heartbeat never came"
        time.sleep(0.01)


def test_the_heartbeat_names_the_batch_its_time_and_what_is_left() -> None:
    stream = io.StringIO()
    clock = StoppedClock()
    printer = ProgressPrinter(stream, interval=0.02, tty=False, clock=clock)
    try:
        printer(BackfillProgress(0, 300, 0, 3_000, 0, 3))
        clock.now = 104.0
        wait_for(lambda: "batch 1/3" in stream.getvalue())
        clock.now = 130.0  # the first batch took 30 s for 100 objects
        printer(BackfillProgress(100, 300, 1_000, 3_000, 1, 3))
        clock.now = 142.0
        wait_for(lambda: "batch 2/3" in stream.getvalue())
    finally:
        printer.close()
    lines = stream.getvalue().splitlines()
    first = next(line for line in lines if "batch 1/3" in line)
    assert first == (
        f"[{'-' * 30}] 0/300 objects, 0.0/3.0 kB; batch 1/3 for 4 s, 4 s in all, "
        "no estimate before the first batch ends"
    )
    second = next(line for line in lines if "batch 2/3" in line)
    # 0.3 s per object so far, 200 objects to go, 12 s of them spent: 48 s left.
    assert second == (
        f"[{'#' * 10}{'-' * 20}] 100/300 objects, 1.0/3.0 kB; batch 2/3 for 12 s, "
        "42 s in all, about 48 s left"
    )


def test_a_held_batch_gets_a_heartbeat_until_it_ends(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[[], Loader],
    holder: Any,
) -> None:
    query(pg, "CREATE TABLE kpis (id INT)")
    for n in range(4):
        put(s3, bucket, f"kpis/{n}.csv", f"id\n{n}\n")
    stream = io.StringIO()
    printer = ProgressPrinter(stream, interval=0.05, tty=False)

    def progress(p: BackfillProgress) -> None:
        printer(p)
        if p.batches_done == 1:  # the second batch's COPY will wait on the lock
            session = embedded_env.connect(database=pg_database)
            try:
                hold_copies_into(session, "kpis")
            finally:
                session.close()

    loader = make_loader()
    run = threading.Thread(
        target=backfill,
        args=(loader, f"s3://{bucket}/kpis/"),
        kwargs={"batch_size": 2, "progress": progress},
        daemon=True,
    )
    run.start()
    try:
        wait_for_backends(pg, "advisory")
        wait_for(lambda: stream.getvalue().count("; batch 2/2 for ") >= 3)
    finally:
        holder.cursor().execute(f"SELECT pg_advisory_unlock({HOLD})")
        run.join(30)
        printer.close()
    assert not run.is_alive()
    lines = stream.getvalue().splitlines()
    beats = [line for line in lines if "; batch 2/2 for " in line]
    assert all(line.startswith(f"[{'#' * 15}{'-' * 15}] 2/4 objects,") for line in beats)
    assert all(line.endswith(" s left") for line in beats)
    assert lines[-1] == f"[{'#' * 30}] 4/4 objects, 20/20 B"
    assert query(pg, "SELECT count(*) FROM kpis") == [(4,)]
    # Nothing more once the run has ended.
    ended = stream.getvalue()
    time.sleep(0.2)
    assert stream.getvalue() == ended


def test_ledger_failed_counts_the_keys_listed_while_it_runs(
    s3: S3Client, bucket: str, pg: Any, make_loader: Callable[[], Loader]
) -> None:
    import re

    from s3redshift.cli.output import ListingHeartbeat
    from s3redshift.ledger_queries import not_loaded

    query(pg, "CREATE TABLE kpis (id INT)")
    for n in range(60):
        put(s3, bucket, f"kpis/{n:03d}.csv", f"id\n{n}\n")
    stream = io.StringIO()
    what = f"ledger --failed s3://{bucket}/kpis/"
    with ListingHeartbeat(stream, what, interval=0.001) as heartbeat:
        missing = not_loaded(make_loader(), f"s3://{bucket}/kpis/", on_listed=heartbeat.count)
    assert len(missing) == 60
    assert heartbeat.listed == 60
    beats = stream.getvalue().splitlines()
    assert beats, "no heartbeat while listing and reading the ledger"
    pattern = re.compile(rf"s3redshift: {re.escape(what)}: (\d+) object\(s\) listed, \d+ s")
    counts = []
    for line in beats:
        match = pattern.fullmatch(line)
        assert match is not None, line
        counts.append(int(match.group(1)))
    assert counts == sorted(counts)
    assert counts[-1] <= 60


def test_the_cli_beats_every_5_s_while_a_batch_is_held(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    holder: Any,
    tmp_path: Any,
) -> None:
    """`s3redshift load` as a subprocess, its only batch held inside its COPY for over 5 s."""
    import os
    import subprocess
    import sys

    from conftest import stand_in_toml
    from s3redshift.config import SEED_ENV

    query(pg, "CREATE TABLE kpis (id INT)")
    put(s3, bucket, "kpis/0.csv", "id\n0\n")
    hold_copies_into(pg, "kpis")
    config = tmp_path / "s3redshift.toml"
    config.write_text(
        stand_in_toml(embedded_env.database_dsn(pg_database))
        + '[[tables]]\npattern = "kpis/**"\ntable = "kpis"\n'
        '[tables.format]\ntype = "csv"\nignore_header = 1\n'
    )
    base = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}
    argv = [sys.executable, "-m", "s3redshift.local", "load", f"s3://{bucket}/"]
    argv += ["--config", str(config)]
    run = subprocess.Popen(
        argv,
        env=base | embedded_env.aws_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_backends(pg, "advisory")  # the batch is inside its COPY
        time.sleep(6)  # past one heartbeat interval
    finally:
        holder.cursor().execute(f"SELECT pg_advisory_unlock({HOLD})")
        stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stderr
    beats = [line for line in stderr.splitlines() if "; batch 1/1 for " in line]
    assert beats, stderr
    assert beats[0].startswith(f"[{'-' * 30}] 0/1 objects, 0/5 B; batch 1/1 for ")
    assert beats[0].endswith("no estimate before the first batch ends")
    assert "loaded 1," in stdout
