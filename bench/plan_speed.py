"""Parse, map and plan of one full SQS batch, in-process (no database, no AWS call).

The batch is the largest a Lambda SQS trigger hands over: 10,000 messages,
each the S3 notification of one created object, keys spread over 20 tables.
What is timed is the path of ``s3redshift plan`` and of the handler before
its first AWS call: :func:`~s3redshift.events.read_event` on the event as
Lambda gives it (a mapping), then :func:`~s3redshift.planner.plan_event`
(mapping, grouping per target, and every transaction's plan).

Beside it, the peer: Powertools for AWS Lambda's parser reading the same
batch into its S3 models (``parse`` with ``SqsEnvelope`` and ``S3Model``, its
documented way for S3 notifications through SQS), which only parses. The two
alternate run by run, the collector on as in Lambda; ``plan_10k_vs_powertools``
is ours over theirs, per pair of runs.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, parse
from aws_lambda_powertools.utilities.parser.models import S3Model

from s3redshift.config import LoaderConfig
from s3redshift.events import read_event
from s3redshift.planner import plan_event

RECORDS = 10_000
TABLES = 20
BUCKET = "data-bucket"
REGION = "eu-west-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:s3redshift-events"
_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def config() -> LoaderConfig:
    """A Data API target with the default rule: the first key segment is the table."""
    return LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg"},
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"},
            "tables": [{"pattern": "{table}/**", "schema": "public"}],
        }
    )


def _s3_notification(n: int) -> dict[str, Any]:
    table = f"t{n % TABLES:02d}"
    key = f"{table}/2026/12/{1 + n % 28:02d}/part-{n:05d}.csv"
    seconds = n % 3600
    event_time = f"2026-12-01T10:{seconds // 60:02d}:{seconds % 60:02d}.{n % 1000:03d}Z"
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": event_time,
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {
                    "x-amz-request-id": f"{n:016X}",
                    "x-amz-id-2": f"example/{n:08d}",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "s3redshift",
                    "bucket": {
                        "name": BUCKET,
                        "ownerIdentity": {"principalId": "A3EXAMPLE"},
                        "arn": f"arn:aws:s3:::{BUCKET}",
                    },
                    "object": {
                        "key": key,
                        "size": 1000 + n,
                        "eTag": f"{n * 2654435761 % 2**128:032x}",
                        "sequencer": f"{0x0066F0A0B0C0D0E0F0 + n:X}",
                    },
                },
            }
        ]
    }


def sqs_batch(records: int = RECORDS) -> dict[str, Any]:
    """An SQS → Lambda event of ``records`` messages, the same on every call."""
    return {
        "Records": [
            {
                "messageId": f"{n:08x}-0000-4000-8000-{n:012x}",
                "receiptHandle": f"AQEB{n:040d}",
                "body": json.dumps(_s3_notification(n)),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1796126400000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1796126400001",
                },
                "messageAttributes": {},
                "md5OfBody": f"{n:032x}",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": REGION,
            }
            for n in range(records)
        ]
    }


def _parse_map_plan(event: dict[str, Any], loader_config: LoaderConfig) -> int:
    parsed = read_event(event)
    if parsed.invalid:
        raise parsed.invalid[0]
    planned = plan_event(loader_config, parsed, now=_NOW)
    return sum(len(t.entries) for t in planned.targets)


def _powertools_parse(event: dict[str, Any]) -> int:
    """The batch read by Powertools' parser into its S3 models: how many records it holds."""
    notifications = parse(event=event, model=S3Model, envelope=envelopes.SqsEnvelope)
    return sum(len(n.Records) for n in notifications)


def _milliseconds(run: Callable[[], object]) -> float:
    gc.collect()  # each run starts from the same heap; the collector stays on while it runs
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def measure(repeats: int = 11) -> dict[str, list[float]]:
    """Milliseconds of parse + map + plan of 10,000 records, and of Powertools' parse, per run.

    Also the peak memory traced during one more run, per record. The event
    and the configuration are built before timing starts (Lambda hands the
    event over already decoded; the handler reads its configuration once).
    """
    event = sqs_batch()
    loader_config = config()
    planned = _parse_map_plan(event, loader_config)  # warm: imports, caches
    if planned != RECORDS or _powertools_parse(event) != RECORDS:
        raise AssertionError(f"planned {planned} of {RECORDS} objects, or Powertools read fewer")
    times, peer = [], []
    for _ in range(repeats):
        times.append(_milliseconds(lambda: _parse_map_plan(event, loader_config)))
        peer.append(_milliseconds(lambda: _powertools_parse(event)))
    gc.collect()
    tracemalloc.start()
    try:
        _parse_map_plan(event, loader_config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "plan_10k_ms": times,
        "plan_10k_powertools_ms": peer,
        "plan_10k_vs_powertools": [ours / theirs for ours, theirs in zip(times, peer, strict=True)],
        "plan_10k_bytes_per_record": [peak / RECORDS],
    }


def run() -> None:
    for name, values in measure().items():
        print(f"{name}: median {statistics.median(values):.1f} (min {min(values):.1f})")


if __name__ == "__main__":
    run()
