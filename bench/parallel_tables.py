"""Two loaders on two tables at once vs one after the other (``parallel_tables_ratio``).

Each loader is a process of its own, as two Lambda invocations are: it
starts, lists its objects, then waits for the word to go, so start-up is
not timed. Both load into one database with one ledger schema. The ratio is
the sequential time over the concurrent time: near 1 would mean the loads
queue behind each other. On this stand-in the COPY is parsed in Python by
each loader, so two loaders share the machine's cores with PostgreSQL and
moto; on Redshift the COPY runs on the cluster.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time

from bench.standin import config_for, fresh_database, upload
from s3redshift.local import EmbeddedEnvironment

OBJECTS_PER_TABLE = 20
ROWS_PER_OBJECT = 10_000
"""Few, larger objects: the time goes to the COPY, as in the loads this is about."""
BUCKET = "bench-parallel"


def _start(env: EmbeddedEnvironment, dsn: str, table: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.parallel_tables", dsn, str(table)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | env.aws_env,
    )


def _finish(child: subprocess.Popen[str]) -> tuple[float, float]:
    out, _ = child.communicate(timeout=600)
    if child.returncode != 0:
        raise RuntimeError(f"loader process failed ({child.returncode})")
    started, ended = json.loads(out.strip().splitlines()[-1])
    return float(started), float(ended)


def _ready(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError("loader process did not start")


def _go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def measure(repeats: int = 3) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    with EmbeddedEnvironment() as env:
        s3 = env.boto3_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        upload(s3, BUCKET, OBJECTS_PER_TABLE * 2, 2, rows=ROWS_PER_OBJECT)
        for _ in range(repeats):
            with fresh_database(env, 2) as db:
                sequential = 0.0
                for table in (0, 1):
                    child = _start(env, db.dsn, table)
                    _ready(child)
                    _go(child)
                    started, ended = _finish(child)
                    sequential += ended - started
            with fresh_database(env, 2) as db:
                children = [_start(env, db.dsn, table) for table in (0, 1)]
                for child in children:
                    _ready(child)
                for child in children:
                    _go(child)
                spans = [_finish(child) for child in children]
                concurrent = max(e for _, e in spans) - min(s for s, _ in spans)
            samples.setdefault("two_tables_sequential_ms", []).append(sequential * 1000)
            samples.setdefault("two_tables_concurrent_ms", []).append(concurrent * 1000)
            samples.setdefault("parallel_tables_ratio", []).append(sequential / concurrent)
    return samples


def _child(dsn: str, table: int) -> None:
    import boto3

    from s3redshift.events import S3Object
    from s3redshift.local import stand_in_loader

    logging.getLogger("s3redshift").setLevel(logging.WARNING)
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"t{table}/")["Contents"]
    objects = [
        S3Object(bucket=BUCKET, key=o["Key"], size=o["Size"], etag=o["ETag"]) for o in listed
    ]
    with stand_in_loader(config_for(dsn), s3_client=s3) as loader:
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.time()
        report = loader.load(objects)
        ended = time.time()
    if report.counts["loaded"] != len(objects):
        raise SystemExit(f"loaded {report.counts}")
    print(json.dumps([started, ended]), flush=True)


def run() -> None:
    for name, values in measure().items():
        print(f"{name}: median {statistics.median(values):.2f}")


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
