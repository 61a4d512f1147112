"""What the stand-in benchmarks share: fresh databases, uploaded objects, loaders, counters.

Every measured load runs in a database of its own, so the ledger of one run
never answers for the next and PostgreSQL's statistics of that database
count that run alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s3redshift.config import LoaderConfig
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.local import EmbeddedEnvironment, connector_config, stand_in_loader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

RULE = {"pattern": "{table}/**", "schema": "public", "format": {"type": "csv", "ignore_header": 1}}
LEDGER_SCHEMA = "s3redshift"


def upload(
    s3: S3Client, bucket: str, count: int, tables: int, prefix: str = "", rows: int = 1
) -> list[S3Object]:
    """``count`` CSV objects of ``rows`` rows each, spread over ``tables`` tables ``t0``…"""
    objects = []
    for n in range(count):
        lines = "".join(f"{n * rows + r},row{r}\n" for r in range(rows))
        body = f"id,name\n{lines}".encode()
        key = f"t{n % tables}/{prefix}{n:05d}.csv"
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
        objects.append(S3Object(bucket=bucket, key=key, size=len(body), etag=etag))
    return objects


def config_for(dsn: str) -> LoaderConfig:
    return LoaderConfig.from_mapping(
        {
            **connector_config(dsn),
            "ledger": {"schema": LEDGER_SCHEMA},
            "tables": [RULE],
        }
    )


@dataclass(frozen=True)
class Database:
    name: str
    dsn: str


@contextmanager
def fresh_database(env: EmbeddedEnvironment, tables: int) -> Iterator[Database]:
    """A new database holding tables ``t0``…; dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = env.connect()
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        db = env.connect(database=name)
        for t in range(tables):
            db.cursor().execute(f"CREATE TABLE t{t} (id INT, name VARCHAR(20))")
        db.commit()
        db.close()
        yield Database(name, env.database_dsn(name))
    finally:
        admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def writing_transactions(env: EmbeddedEnvironment, database: Database, tables: int) -> int:
    """Transactions that wrote rows: PostgreSQL stamps each row with its writer's id (xmin)."""
    config = config_for(database.dsn)
    names = [f"public.t{t}" for t in range(tables)]
    names += [config.ledger.table_for(TableRef("public", f"t{t}")).sql for t in range(tables)]
    union = " UNION ALL ".join(f"SELECT xmin::text AS x FROM {n}" for n in names)
    db = env.connect(database=database.name)
    try:
        cursor = db.cursor()
        cursor.execute(f"SELECT count(DISTINCT x) FROM ({union}) AS xs")
        [(count,)] = cursor.fetchall()
        return int(count)
    finally:
        db.close()


def committed_transactions(env: EmbeddedEnvironment, database: Database) -> int:
    """PostgreSQL's own count of committed transactions in the database (pg_stat_database)."""
    admin = env.connect()
    try:
        cursor = admin.cursor()
        # Each backend reports its counts when it ends or goes idle; wait for them.
        time.sleep(1.2)
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (database.name,)
        )
        [(count,)] = cursor.fetchall()
        return int(count)
    finally:
        admin.close()


@contextmanager
def s3_requests(s3: S3Client) -> Iterator[list[str]]:
    """Every request the client sends inside the block (retries included)."""
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(f"{request.method} {request.url}")

    s3.meta.events.register("before-send.s3", record)
    try:
        yield sent
    finally:
        s3.meta.events.unregister("before-send.s3", record)


def timed_load(config: LoaderConfig, s3: S3Client, batches: list[list[S3Object]]) -> float:
    """Seconds to load the batches, one ``load`` each, with one warm loader."""
    return sum(timed_loads(config, s3, batches))


def timed_loads(config: LoaderConfig, s3: S3Client, batches: list[list[S3Object]]) -> list[float]:
    """Seconds of each batch's ``load``, in order, with one loader for them all."""
    seconds = []
    with stand_in_loader(config, s3_client=s3) as loader:
        for batch in batches:
            started = time.perf_counter()
            report = loader.load(batch)
            seconds.append(time.perf_counter() - started)
            if report.counts["loaded"] != len(batch):
                raise RuntimeError(f"benchmark load did not load everything: {report.counts}")
    return seconds
