"""Failed deliveries, the time bound, the payload's bound, the handler's metrics and answers.

A loopback HTTP server on 127.0.0.1 answers PutEvents and Publish the way
AWS does when it refuses (an entry PutEvents did not take, throttling, a
missing permission) and counts the requests: the loader's own client is
pointed at it (``AWS_ENDPOINT_URL_EVENTBRIDGE`` / ``_SNS``), so its one-attempt,
no-retry configuration is what is tested. The loads run on the stand-in.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote_plus

import pytest

from eventfixtures import load_event
from helpers import T0, put
from notifying import COMMITTED_AT, notifying_loaders
from s3redshift.config import NotificationsConfig
from s3redshift.errors import S3RedshiftError
from s3redshift.handler import handle
from s3redshift.invocation_log import JsonFormatter
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from s3redshift.manifest import ManifestEntry
from s3redshift.notifications import (
    DELIVERY_BOUND_S,
    MAX_MESSAGE_BYTES,
    Notifier,
    event_detail,
)
from s3redshift.report import CommittedBatch

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUS_ARN = "arn:aws:events:eu-west-1:123456789012:event-bus/loads"
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:loads"
S3_RECORD: dict[str, Any] = load_event("s3_put")["Records"][0]


# --- a loopback AWS that refuses ------------------------------------------------------------


class Refusing(ThreadingHTTPServer):
    """Answers every request with ``status`` and ``body``; keeps what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.status = 200
        self.body = ""
        self.content_type = "application/x-amz-json-1.1"
        self.requests: list[tuple[str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Answer(BaseHTTPRequestHandler):
    server: Refusing

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.headers.get("X-Amz-Target", ""), body))
        answer = self.server.body.encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Refusing]:
    """The loopback server, with the notifications' clients pointed at it (fake keys)."""
    server = Refusing()
    thread = threading.Thread(target=server.serve_forever, name="refusing-aws", daemon=True)
    thread.start()
    for name, value in {
        "AWS_ENDPOINT_URL_EVENTBRIDGE": server.url,
        "AWS_ENDPOINT_URL_SNS": server.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Lines:
    """JSON lines written to one logger while the test runs."""

    def __init__(self, name: str) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.logger = logging.getLogger(name)

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def of(self, message: str) -> list[dict[str, Any]]:
        return [d for d in self.parsed() if d["message"] == message]


def refusal(report: Any) -> S3RedshiftError:
    """The error of the one commit of the report's one target, which was not announced."""
    [target] = report.targets
    [commit] = target.commits
    assert commit.notified is False
    assert commit.notification_error is not None
    error: S3RedshiftError = commit.notification_error
    return error


@pytest.fixture
def handler_log() -> Lines:
    """A private logger for the handler's lines (summary, metrics)."""
    lines = Lines(f"s3redshift.handler.test.{uuid.uuid4().hex}")
    lines.logger.setLevel(logging.INFO)
    lines.logger.propagate = False
    lines.logger.addHandler(lines.handler)
    return lines


@pytest.fixture
def make_loader(
    embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client, pg: Any
) -> Iterator[Callable[..., Loader]]:
    """Loaders on the test database (tables kpis and orders made), announcing."""
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    cursor.execute("CREATE TABLE orders (id INT, name VARCHAR(20))")
    pg.commit()
    with notifying_loaders(embedded_env, pg_database, s3) as factory:
        yield factory


# --- refusals: the load stays loaded, the failure is logged, nothing is retried ---------------


def test_an_entry_putevents_did_not_take_is_a_failed_delivery_and_is_not_sent_again(
    refusing: Refusing,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    refusing.body = json.dumps(
        {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again later"}],
        }
    )
    loader = make_loader({"event_bus": BUS_ARN})
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    report = loader.load([obj])
    assert report.outcomes() == ["loaded"]
    error = refusal(report)
    [(target, body)] = refusing.requests
    assert target == "AWSEvents.PutEvents"
    [entry] = json.loads(body)["Entries"]
    assert entry["EventBusName"] == BUS_ARN
    assert json.loads(entry["Detail"])["batch_id"] == report.targets[0].batch_id
    assert error.kind == "RetryableError"
    assert "InternalFailure: try again later" in str(error)
    assert loader.load([obj]).outcomes() == ["duplicate"]
    assert len(refusing.requests) == 1


def test_throttling_is_one_request_no_retry_so_a_commit_is_never_announced_twice(
    refusing: Refusing,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    refusing.status = 400
    refusing.body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    loader = make_loader({"event_bus": BUS_ARN})
    report = loader.load([put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")])
    assert report.outcomes() == ["loaded"]
    # The SDK would have tried up to three times by default; a second request
    # after a lost answer would announce the same commit twice.
    assert len(refusing.requests) == 1
    assert refusal(report).kind == "ThrottledError"


def test_a_topic_the_role_may_not_publish_to_leaves_the_load_loaded(
    refusing: Refusing,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    refusing.status = 403
    refusing.content_type = "text/xml"
    refusing.body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        "<Type>Sender</Type><Code>AuthorizationError</Code><Message>User is not authorized "
        "to perform: SNS:Publish</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )
    loader = make_loader({"sns_topic_arn": TOPIC_ARN})
    report = loader.load([put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")])
    assert report.outcomes() == ["loaded"]
    [(_, body)] = refusing.requests
    sent = parse_qs(body.decode())
    assert sent["Action"] == ["Publish"]
    assert sent["TopicArn"] == [TOPIC_ARN]
    error = refusal(report)
    assert error.kind == "PermissionDeniedError"
    assert "allow sns:Publish on the topic" in str(error)


def test_nothing_is_sent_with_less_time_left_than_one_delivery_may_take(
    refusing: Refusing,
) -> None:
    notifier = Notifier(NotificationsConfig(event_bus=BUS_ARN))
    commit = CommittedBatch("public.kpis", "b1", "append", (), 1, COMMITTED_AT, T0)
    delivered = notifier.deliver(commit, DELIVERY_BOUND_S - 0.5)
    assert delivered.notified is False
    assert refusing.requests == []
    assert delivered.notification_error is not None
    assert delivered.notification_error.kind == "TimeBudgetExceededError"
    # With the time there, the same commit is sent (and answered).
    refusing.body = json.dumps({"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]})
    assert notifier.deliver(commit, DELIVERY_BOUND_S + 1).notified is True
    assert len(refusing.requests) == 1


# --- the payload's bound -----------------------------------------------------------------------


def test_a_commit_of_many_objects_lists_what_fits_and_counts_them_all() -> None:
    entries = tuple(
        ManifestEntry("bucket", f"kpis/2026/11/28/part-{i:05d}.csv", f"{i:032x}", 10)
        for i in range(5000)
    )
    commit = CommittedBatch("public.kpis", "b1", "append", entries, 5000, COMMITTED_AT, T0)
    detail = event_detail(commit)
    size = len(json.dumps(detail, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= MAX_MESSAGE_BYTES
    listed = len(detail["objects"])
    assert 0 < listed < 5000
    assert detail["object_count"] == 5000
    assert detail["objects_omitted"] == 5000 - listed
    assert detail["objects"][0]["uri"] == "s3://bucket/kpis/2026/11/28/part-00000.csv"


# --- through the handler: the answer, the metrics ---------------------------------------------


class Context:
    aws_request_id = "req-lag"
    function_name = "s3redshift-loader"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def s3_event(*pairs: tuple[Any, str]) -> dict[str, Any]:
    """S3 notification records for (object, eventTime) pairs."""
    records = []
    for obj, event_time in pairs:
        record = copy.deepcopy(S3_RECORD)
        record["eventTime"] = event_time
        record["s3"]["bucket"]["name"] = obj.bucket
        record["s3"]["object"] = {
            "key": quote_plus(obj.key, safe="/"),
            "size": obj.size,
            "eTag": obj.etag,
        }
        records.append(record)
    return {"Records": records}


def test_a_failed_delivery_leaves_the_handler_successful_and_load_lag_in_the_metrics(
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
    handler_log: Lines,
) -> None:
    loader = make_loader({"event_bus": "no-such-bus"}, embedded_env.boto3_client("events"))
    kpis_a = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    kpis_b = put(s3, bucket, "kpis/b.csv", "id,name\n2,b\n")
    orders = put(s3, bucket, "orders/a.csv", "id,name\n1,a\n")
    event = s3_event(
        (kpis_a, "2026-11-28T12:00:20.000Z"),
        (kpis_b, "2026-11-28T12:00:05.500Z"),  # the oldest of public.kpis: 89.5 s before commit
        (orders, "2026-11-28T12:01:00.000Z"),  # 35 s
    )
    summary = handle(event, Context(), loader=loader, log=handler_log.logger)
    assert summary["counts"]["loaded"] == 3
    failed = handler_log.of("notification_failed")
    assert sorted((line["table"], line["error_kind"]) for line in failed) == [
        ("public.kpis", "ConfigError"),
        ("public.orders", "ConfigError"),
    ]
    assert all(line["level"] == "WARNING" for line in failed)
    assert all(line["request_id"] == "req-lag" for line in failed)
    assert all("EventBridge bus 'no-such-bus' was not found" in x["reason"] for x in failed)
    invocation, *per_table = handler_log.of("metrics")
    assert sorted(invocation["LoadLagSeconds"]) == [35.0, 89.5]
    assert (invocation["NotificationsSent"], invocation["NotificationsFailed"]) == (0, 2)
    declared = invocation["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert {"Name": "LoadLagSeconds", "Unit": "Seconds"} in declared
    lags = {line["Table"]: line["LoadLagSeconds"] for line in per_table}
    assert lags == {"public.kpis": 89.5, "public.orders": 35.0}
    # A replay commits nothing: no lag, no notification, still a success.
    handler_log.stream.truncate(0)
    handler_log.stream.seek(0)
    again = handle(event, Context(), loader=loader, log=handler_log.logger)
    assert again["counts"]["duplicate"] == 3
    invocation, *per_table = handler_log.of("metrics")
    assert "LoadLagSeconds" not in invocation
    assert "NotificationsFailed" not in invocation
    assert all("LoadLagSeconds" not in line for line in per_table)
    assert handler_log.of("notification_failed") == []


def test_load_lag_is_measured_without_notifications_and_sqs_batches_answer_no_failure(
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
    handler_log: Lines,
) -> None:
    loader = make_loader(None)
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    body = json.dumps(s3_event((obj, "2026-11-28T11:59:00.000Z")))
    sqs_event = {
        "Records": [
            {
                "messageId": "m-1",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:loads",
                "body": body,
            }
        ]
    }
    answer = handle(sqs_event, Context(), loader=loader, log=handler_log.logger)
    assert answer == {"batchItemFailures": []}
    invocation, kpis = handler_log.of("metrics")
    assert invocation["LoadLagSeconds"] == 155.0
    assert kpis["LoadLagSeconds"] == 155.0
    assert "NotificationsSent" not in invocation
