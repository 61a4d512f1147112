"""Ledger look-ups stay small whatever the keys: the Data API refuses statements over 100 KB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from answered_data_api import AnsweredDataApi, answered_client
from s3redshift.config import LoaderConfig
from s3redshift.handler import handle
from s3redshift.identifiers import TableRef
from s3redshift.ledger import (
    LEDGER_QUERY_CHUNK,
    ledger_table_for,
    loaded_identities_sql,
    lookup_chunks,
)
from s3redshift.ledger_queries import not_loaded
from s3redshift.loader import Loader
from s3redshift.transports.data_api import MAX_SQL_BYTES, DataApiTransport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LEDGER = ledger_table_for("s3redshift", TableRef("public", "kpis"))
"""The ledger table of public.kpis, where the tests' loaders record."""
DATA_API_LIMIT = 100 * 1024


@pytest.mark.parametrize(
    "filler",
    [
        pytest.param("a", id="plain"),
        pytest.param("'", id="quotes-double-when-written"),
        pytest.param("\\", id="backslashes"),
        pytest.param("é", id="two-byte-characters"),
    ],
)
def test_two_hundred_long_keys_are_split_into_statements_under_the_data_api_limit(
    filler: str,
) -> None:
    keys = [
        ("bucket", f"k/{n:03d}/" + filler * (900 // len(filler.encode())), "e" * 32)
        for n in range(200)
    ]
    chunks = lookup_chunks(keys)
    assert [k for chunk in chunks for k in chunk] == keys  # every key, once, in order
    for chunk in chunks:
        assert 0 < len(chunk) <= LEDGER_QUERY_CHUNK
        assert len(loaded_identities_sql(LEDGER, chunk).encode()) < DATA_API_LIMIT
    assert len(chunks) > 1  # 200 keys of 900 bytes cannot share one statement


def test_short_keys_share_one_statement_up_to_the_count_limit() -> None:
    keys = [("b", f"k/{n}.csv", "e") for n in range(LEDGER_QUERY_CHUNK + 1)]
    assert [len(c) for c in lookup_chunks(keys)] == [LEDGER_QUERY_CHUNK, 1]


# --- end to end on the Data API: the sweep and `ledger --failed` -------------------------


@pytest.fixture
def long_keys_s3() -> Iterator[S3Client]:
    """In-process moto S3 holding 200 CSV objects with 900-byte keys."""
    with mock_aws():
        s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="data-bucket")
        for n in range(200):
            key = f"kpis/{n:03d}/" + "k" * 890 + ".csv"
            s3.put_object(Bucket="data-bucket", Key=key, Body=b"1\n")
        yield s3


def _reads(sql: str) -> list[list[dict[str, Any]]]:
    """The ledger table of public.kpis exists (so it is read); it holds nothing."""
    if "table_name = 'load_ledger'" in sql:
        return []  # no one-table ledger of an earlier version
    if "information_schema.tables" in sql:
        return [[{"stringValue": LEDGER.table}]]
    return []


def _data_api_loader(s3: S3Client, api: AnsweredDataApi) -> Loader:
    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"},
            "copy": {"iam_role": "default"},
            "tables": [{"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}}],
        }
    )
    transport = DataApiTransport(database="dev", workgroup="wg-1", client=answered_client(api))
    return Loader(config, transport=transport, s3_client=s3)


def test_ledger_failed_over_200_long_keys_sends_no_statement_over_the_limit(
    long_keys_s3: S3Client,
) -> None:
    api = AnsweredDataApi(reads=_reads)
    with _data_api_loader(long_keys_s3, api) as loader:
        missing = not_loaded(loader, "s3://data-bucket/kpis/")
    assert len(missing) == 200
    lookups = [sql for sql in api.statements if "object_key" in sql]
    assert len(lookups) > 1  # 200 keys of 900 bytes cannot share one statement
    assert max(len(sql.encode()) for sql in api.statements) <= MAX_SQL_BYTES


def test_a_sweep_over_200_long_keys_sends_no_statement_over_the_limit(
    long_keys_s3: S3Client,
) -> None:
    api = AnsweredDataApi(reads=_reads)
    sweep = {"s3redshift_sweep": {"prefixes": ["s3://data-bucket/kpis/"]}}
    with _data_api_loader(long_keys_s3, api) as loader:
        result = handle(sweep, None, loader=loader)
    assert result["counts"]["loaded"] == 200
    assert [len(b) for b in api.batches] == [8]  # one load transaction for the 200
    assert sum(1 for sql in api.statements if "object_key" in sql) > 2
    assert max(len(sql.encode()) for sql in api.statements) <= MAX_SQL_BYTES
