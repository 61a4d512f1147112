"""End-to-end load on the stand-in: 1,000 objects over 5 tables in one call."""

from __future__ import annotations

import logging
import time
import uuid

from s3redshift.config import LoaderConfig
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment

OBJECTS = 1000
TABLES = 5


def run() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with EmbeddedEnvironment() as env:
        s3 = env.boto3_client("s3")
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        admin = env.connect()
        cursor = admin.cursor()
        for t in range(TABLES):
            cursor.execute(f"CREATE TABLE t{t} (id INT, name VARCHAR(20))")
        admin.commit()
        objects = []
        started = time.perf_counter()
        for n in range(OBJECTS):
            body = f"id,name\n{n},row{n}\n".encode()
            key = f"t{n % TABLES}/{n:05d}.csv"
            etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
            objects.append(S3Object(bucket=bucket, key=key, size=len(body), etag=etag))
        uploaded = time.perf_counter() - started
        config = LoaderConfig.from_mapping(
            {
                "target": {"kind": "postgres", "dsn": env.dsn},
                "credentials": {"provider": "static", "user": "u", "password": "p"},
                "tables": [
                    {"pattern": "{table}/**", "format": {"type": "csv", "ignore_header": 1}}
                ],
            }
        )
        with Loader(config, s3_client=s3) as loader:
            started = time.perf_counter()
            report = loader.load(objects)
            first = time.perf_counter() - started
            started = time.perf_counter()
            replay = loader.load(objects)
            second = time.perf_counter() - started
        ledgers = [config.ledger.table_for(TableRef("public", f"t{t}")) for t in range(TABLES)]
        union = " UNION ALL ".join(
            f"SELECT xmin::text AS x FROM {ledger.sql}" for ledger in ledgers
        )
        cursor.execute(f"SELECT count(DISTINCT x) FROM ({union}) AS xs")
        [(transactions,)] = cursor.fetchall()
        admin.close()
    print(f"objects uploaded: {OBJECTS} in {uploaded:.1f} s (moto server)")
    print(
        f"first load: {report.counts['loaded']} loaded in {first:.1f} s "
        f"({OBJECTS / first:.0f} objects/s), {report.rows} rows"
    )
    print(f"load transactions (distinct ledger xmin): {transactions}")
    print(f"replay: {replay.counts['duplicate']} duplicates in {second:.1f} s, 0 rows loaded")
