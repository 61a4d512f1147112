"""Transactions of an upsert without ``order_by`` on the Data API: counts, not timings.

1,000 new objects over 5 tables, loaded in one call by the real
:class:`~s3redshift.loader.Loader` and
:class:`~s3redshift.transports.data_api.DataApiTransport`. The Data API is the
tests' fake (tests/answered_data_api.py: a real boto3 client answered from
inside botocore, every statement finishing at once), S3 is moto in this
process. Each ``BatchExecuteStatement`` is one Redshift transaction, hence one
commit the cluster serialises; the figure measures whatever plan the loader
makes for this rule (``data_api_transactions_upsert_1000``), with the
``DescribeStatement`` polls and the S3 puts and deletes of manifests and
object lists (keys deleted) beside it. The counts do not depend on the machine.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.data_api_latency import AnsweredDataApi, loader_on, moto_bucket, put
from s3redshift.config import LoaderConfig
from s3redshift.events import S3Object

OBJECTS = 1000
TABLES = 5
BUCKET = "bench-upsert"
FIGURE = "data_api_transactions_upsert_1000"


def config() -> LoaderConfig:
    """Upsert by ``id`` without ``order_by``; the first key segment is the table."""
    return LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"},
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"},
            "tables": [
                {
                    "pattern": "{table}/**",
                    "schema": "public",
                    "mode": "upsert",
                    "keys": ["id"],
                    "columns": ["id", "ts"],
                    "format": {"type": "csv", "ignore_header": 1},
                }
            ],
        }
    )


def _put_objects(s3: Any) -> list[S3Object]:
    return [
        put(s3, BUCKET, f"t{n % TABLES}/2026/12/{n:05d}.csv", f"id,ts\n{n},{n}\n", at=None)
        for n in range(OBJECTS)
    ]


def _count_s3(s3: Any, counts: Counter[str]) -> None:
    """Count the loader's S3 writes: puts, and deleted keys (one or many per request)."""

    def put(**_: Any) -> None:
        counts["put"] += 1

    def delete_one(**_: Any) -> None:
        counts["delete"] += 1

    def delete_many(params: dict[str, Any], **_: Any) -> None:
        counts["delete"] += len(params.get("Delete", {}).get("Objects", []))

    s3.meta.events.register("provide-client-params.s3.PutObject", put)
    s3.meta.events.register("provide-client-params.s3.DeleteObject", delete_one)
    s3.meta.events.register("provide-client-params.s3.DeleteObjects", delete_many)


def _columns(sql: str) -> list[list[dict[str, Any]]]:
    """The catalog's answer for every table: ``(id INT, ts INT)``; nothing else is read."""
    if "information_schema.columns" not in sql:
        return []
    return [[{"stringValue": name}, {"stringValue": "integer"}] for name in ("id", "ts")]


def count() -> dict[str, int]:
    """Load the objects once and return what it took."""
    with moto_bucket(BUCKET) as s3:
        objects = _put_objects(s3)
        s3_counts: Counter[str] = Counter()
        _count_s3(s3, s3_counts)
        api = AnsweredDataApi(reads=_columns)
        with loader_on(api, s3, loader_config=config()) as loader:
            report = loader.load(objects)
    outcomes = Counter(report.outcomes())
    if outcomes != {"loaded": OBJECTS}:
        raise RuntimeError(f"the load did not load every object: {dict(outcomes)}")
    return {
        FIGURE: len(api.batches),  # the load transactions, not the set-up DDL
        "data_api_describe_statements_upsert_1000": api.calls["DescribeStatement"],
        "data_api_s3_puts_upsert_1000": s3_counts["put"],
        "data_api_s3_deletes_upsert_1000": s3_counts["delete"],
    }


def measure() -> dict[str, list[float]]:
    """One run: the counts are the same every time."""
    return {name: [float(value)] for name, value in count().items()}
