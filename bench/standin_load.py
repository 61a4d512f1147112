"""Loads on the embedded stand-in: batched vs one load per file, replays, per-object cost.

* 1,000 small CSV objects over 5 tables, loaded as one batch and the seed's
  way (one ``load`` per file), alternated in one run. Commits are counted by
  PostgreSQL: transactions that wrote rows (each row carries its writer's
  id) and every committed transaction of the database (pg_stat_database).
* A replay of the 1,000 loaded objects: S3 requests sent, time.
* One batch of 100, 1,000 and 5,000 objects: milliseconds per object. Each
  is timed on a loader that has already loaded one small batch (one object
  per table) into its fresh database, so the figure is what every batch
  pays, not the one-time set-up of a target's first load (its ledger table,
  the connection), which would be charged to the 100 objects twenty times
  more heavily than to the 5,000. That set-up is reported on its own
  (``first_load_ms``). The sizes alternate, round by round, so each sees
  the same machine.

1,000 objects one at a time take a minute and a half here, so the paired
runs are two; the figures of ``make bench`` are medians with their spread.

Wall times describe PostgreSQL, moto and the stand-in's Python COPY, not
Redshift; the counts carry over.
"""

from __future__ import annotations

import logging
import statistics
import time

from bench.standin import (
    committed_transactions,
    config_for,
    fresh_database,
    s3_requests,
    timed_load,
    timed_loads,
    upload,
    writing_transactions,
)
from s3redshift.local import EmbeddedEnvironment, stand_in_loader

OBJECTS = 1000
TABLES = 5
SIZES = {100: 4, 1000: 1, 5000: 1}
"""Batch sizes of the per-object figures, and their runs (5,000 objects take one to two minutes)."""


def measure(repeats: int = 2) -> dict[str, list[float]]:
    logging.getLogger("s3redshift").setLevel(logging.WARNING)
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with EmbeddedEnvironment() as env:
        s3 = env.boto3_client("s3")
        bucket = "bench-load"
        s3.create_bucket(Bucket=bucket)
        objects = upload(s3, bucket, OBJECTS, TABLES)
        for _ in range(repeats):
            with fresh_database(env, TABLES) as db:
                config = config_for(db.dsn)
                batched = timed_load(config, s3, [objects])
                add("commits_batched", writing_transactions(env, db, TABLES))
                add("transactions_batched", committed_transactions(env, db))
                # A cold loader, as a redelivery may meet.
                with stand_in_loader(config, s3_client=s3) as loader, s3_requests(s3) as sent:
                    started = time.perf_counter()
                    replay = loader.load(objects)
                    add("replay_ms_per_1000", (time.perf_counter() - started) * 1000)
                if replay.counts["duplicate"] != OBJECTS:
                    raise RuntimeError(f"replay loaded something: {replay.counts}")
                add("replay_s3_requests_per_1000", len(sent) * 1000 / OBJECTS)
            with fresh_database(env, TABLES) as db:
                per_file = timed_load(config_for(db.dsn), s3, [[o] for o in objects])
                add("commits_per_file", writing_transactions(env, db, TABLES))
                add("transactions_per_file", committed_transactions(env, db))
            add("batched_ms", batched * 1000)
            add("per_file_ms", per_file * 1000)
            add("batched_vs_per_file_ratio", per_file / batched)
        first = upload(s3, bucket, TABLES, TABLES, prefix="first/")
        batches = {size: upload(s3, bucket, size, TABLES, prefix=f"n{size}/") for size in SIZES}
        for round_ in range(max(SIZES.values())):
            for size, runs in SIZES.items():
                if round_ >= runs:
                    continue
                with fresh_database(env, TABLES) as db:
                    first_seconds, seconds = timed_loads(
                        config_for(db.dsn), s3, [first, batches[size]]
                    )
                add("first_load_ms", first_seconds * 1000)
                add(f"per_object_ms_{size}", seconds * 1000 / size)
        medians = [statistics.median(figures[f"per_object_ms_{size}"]) for size in SIZES]
        add("per_object_largest_vs_smallest", max(medians) / min(medians))
    return figures


def run() -> None:
    for name, values in measure().items():
        print(f"{name}: median {statistics.median(values):.2f}")
