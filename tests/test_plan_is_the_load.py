"""What ``s3redshift plan --json`` prints is what a load sends, transaction by transaction.

For each transport and each load mode, the same objects are planned with the
CLI (as a user runs it) and loaded by the loader, and the statements of every
load transaction are compared with the plan's entries, in order. The
ledger's timestamp is the only difference allowed; the batch ids are equal
because the event carries the ETags S3 confirms.

How the sent statements are captured, per transport:

* connector (a Redshift cluster's configuration) and the stand-in's own
  configuration, both loaded on the stand-in: the driver connection the real
  ``ConnectorTransport`` uses is wrapped, and the statements executed between
  two commits or rollbacks are one transaction (the stand-in really runs them
  on PostgreSQL, so the loads also succeed);
* Data API: the ``redshift-data`` client is a real boto3 client whose calls are
  answered from inside botocore (no network), each ``BatchExecuteStatement``'s
  ``Sqls`` recorded. Every statement "finishes" with no rows: that proves what
  the loader sends and how it splits, not what Redshift would do with it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from answered_data_api import AnsweredDataApi, answered_client
from helpers import Transactions, put
from s3redshift.cli import main
from s3redshift.config import LoaderConfig
from s3redshift.events import read_event
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment, connector_config
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport
from s3redshift.transports.data_api import MAX_SQL_BYTES, MAX_STATEMENTS, DataApiTransport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
TIMESTAMP = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}'")

MODES: dict[str, dict[str, Any]] = {
    "append": {},
    "replace": {"mode": "replace"},
    "upsert": {"mode": "upsert", "keys": ["id"], "order_by": "ts"},
    "upsert-no-order": {"mode": "upsert", "keys": ["id"]},
}


def untimed(statements: list[str]) -> list[str]:
    return [TIMESTAMP.sub("'<loaded_at>'", sql) for sql in statements]


# --- capturing what is sent ---------------------------------------------------------


# --- the same objects, planned and loaded ---------------------------------------------


def put_objects(s3: S3Client, bucket: str, count: int, *, keys: int = 3) -> dict[str, Any]:
    """``count`` CSV objects under kpis/ (ids ``n % keys``) and the S3 event announcing them."""
    records = []
    start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    for n in range(count):
        key = f"kpis/2026/12/{n:05d}.csv" + (".gz" if n % 4 == 3 else "")
        body = f"id,ts\n{n % keys},{n}\n".encode()
        if key.endswith(".gz"):
            import gzip

            body = gzip.compress(body, mtime=0)
        etag = put(s3, bucket, key, body).etag
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": (start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z"),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": len(body), "eTag": etag},
                },
            }
        )
    return {"Records": records}


def document(target: dict[str, Any], mode: str) -> dict[str, Any]:
    rule = {
        "pattern": "{table}/**",
        "schema": "public",
        "columns": ["id", "ts"],
        "format": {"type": "csv", "ignore_header": 1},
    } | MODES[mode]
    return {
        "target": target,
        "credentials": {"provider": "static", "user": "loader", "password": "pw"},
        "copy": {"iam_role": ROLE, "region": "us-east-1"},
        "tables": [rule],
    }


def planned(tmp_path: Path, config: dict[str, Any], event: dict[str, Any]) -> list[dict[str, Any]]:
    """The transactions ``s3redshift plan --json`` prints (table, objects, statements)."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    out = io.StringIO()
    code = main(["plan", "--json", "--config", str(config_file), str(event_file)], out=out)
    assert code == 0
    targets: list[dict[str, Any]] = json.loads(out.getvalue())["targets"]
    return targets


STAND_IN_COUNT = 7


@pytest.mark.parametrize("kind", ["stand-in", "connector"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_stand_in_runs_what_the_plan_shows(
    kind: str,
    mode: str,
    tmp_path: Path,
    pg: Any,
    s3: S3Client,
    bucket: str,
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
) -> None:
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, ts INT)")
    pg.commit()
    dsn = embedded_env.database_dsn(pg_database)
    if kind == "stand-in":
        target: dict[str, Any] = connector_config(dsn)["target"]
    else:
        target = {"kind": "redshift", "transport": "connector", "host": "cluster.invalid"}
    config = document(target, mode)
    # Without order_by, keys shared by objects make the loader stage them one
    # at a time (a plan cannot know the rows); unique ids keep the plan's shape.
    keys = STAND_IN_COUNT if mode == "upsert-no-order" else 3
    event = put_objects(s3, bucket, STAND_IN_COUNT, keys=keys)
    shown = planned(tmp_path, config, event)

    recorder = Transactions(StandInConnector.from_dsn(dsn, s3_client=s3))
    loader = Loader(
        LoaderConfig.from_mapping(config), transport=stand_in_transport(recorder), s3_client=s3
    )
    with loader:
        report = loader.load(read_event(event).objects)

    if mode == "replace":  # each object is a snapshot: the newest alone loads
        assert report.outcomes() == ["superseded"] * (STAND_IN_COUNT - 1) + ["loaded"]
    else:
        assert report.outcomes() == ["loaded"] * STAND_IN_COUNT
    sent = recorder.loads()
    assert [untimed(t) for t in sent] == [untimed(t["statements"]) for t in shown]
    assert len(sent) == 1  # no limits on a driver session: one transaction


@pytest.mark.parametrize(("mode", "count"), [(m, 7) for m in sorted(MODES)])
def test_the_data_api_sends_what_the_plan_shows(
    mode: str, count: int, tmp_path: Path, s3: S3Client, bucket: str
) -> None:
    config = document({"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"}, mode)
    event = put_objects(s3, bucket, count)
    shown = planned(tmp_path, config, event)
    sent = load_on_answered_data_api(config, s3, event)
    assert [untimed(t) for t in sent] == [untimed(t["statements"]) for t in shown]


def load_on_answered_data_api(
    config: dict[str, Any], s3: S3Client, event: dict[str, Any]
) -> list[list[str]]:
    def reads(sql: str) -> list[list[dict[str, Any]]]:
        if "information_schema.columns" in sql:  # the table kpis (id INT, ts INT)
            return [[{"stringValue": c}, {"stringValue": "integer"}] for c in ("id", "ts")]
        return []

    api = AnsweredDataApi(reads=reads)
    client = answered_client(api)
    transport = DataApiTransport(database="dev", workgroup="wg-1", client=client)
    with Loader(LoaderConfig.from_mapping(config), transport=transport, s3_client=s3) as loader:
        report = loader.load(read_event(event).objects)
    assert set(report.outcomes()) - {"superseded"} == {"loaded"}
    return api.batches


@pytest.fixture
def in_process_s3() -> Iterator[S3Client]:
    """moto's S3 in this process (no HTTP server): 2,000 objects' requests stay fast."""
    with mock_aws():
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket="data-bucket")
        yield client


def test_a_data_api_upsert_of_2000_objects_without_order_by_is_one_transaction(
    tmp_path: Path, in_process_s3: S3Client
) -> None:
    """One commit per target per batch: the plan stages every object with one COPY per
    compression, so it fits one ``BatchExecuteStatement`` whatever the object count."""
    s3 = in_process_s3
    config = document(
        {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"}, "upsert-no-order"
    )
    event = put_objects(s3, "data-bucket", 2000, keys=2000)
    shown = planned(tmp_path, config, event)
    sent = load_on_answered_data_api(config, s3, event)

    assert [untimed(t) for t in sent] == [untimed(t["statements"]) for t in shown]
    assert len(sent) == 1
    [sqls] = sent
    assert len(sqls) <= MAX_STATEMENTS
    assert sum(len(sql.encode()) for sql in sqls) <= MAX_SQL_BYTES
    assert len(shown[0]["objects"]) == len(set(shown[0]["objects"])) == 2000
