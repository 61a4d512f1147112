"""Loads on the embedded stand-in: batched vs one load per file, replays, per-object cost.

* 1,000 small CSV objects over 5 tables, loaded as one batch and the seed's
  way (one ``load`` per file), alternated in one run. Commits are counted by
  PostgreSQL: transactions that wrote rows (each row carries its writer's
  id) and every committed transaction of the database (pg_stat_database).
* A replay of the 1,000 loaded objects: S3 requests sent, time.
* One batch of 100, 1,000 and 5,000 objects: milliseconds per object.

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
    upload,
    writing_transactions,
)
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment

OBJECTS = 1000
TABLES = 5
EXTRA_SIZES = {100: 3, 5000: 1}
"""Batch sizes measured besides the 1,000 above, and their runs (5,000 objects take a minute)."""


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
                with Loader(config, s3_client=s3) as loader, s3_requests(s3) as sent:
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
            add("per_object_ms_1000", batched * 1000 / OBJECTS)
            add("per_file_ms", per_file * 1000)
            add("batched_vs_per_file_ratio", per_file / batched)
        for size, runs in EXTRA_SIZES.items():
            batch = upload(s3, bucket, size, TABLES, prefix=f"n{size}/")
            for _ in range(runs):
                with fresh_database(env, TABLES) as db:
                    seconds = timed_load(config_for(db.dsn), s3, [batch])
                    add(f"per_object_ms_{size}", seconds * 1000 / size)
    return figures


def run() -> None:
    for name, values in measure().items():
        print(f"{name}: median {statistics.median(values):.2f}")
