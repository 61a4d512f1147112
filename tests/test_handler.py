"""The Lambda handler on the embedded stand-in, with the payload shapes AWS sends.

Objects are uploaded to moto's S3 and described by notifications built from
the documented payloads in tests/fixtures/events (S3 record, SQS record, SNS
record, EventBridge event); the loads run on the real PostgreSQL stand-in.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest

from eventfixtures import load_event
from helpers import put
from s3redshift.config import LoaderConfig
from s3redshift.errors import InvalidEventError, LoadFailedError
from s3redshift.events import S3Object
from s3redshift.handler import (
    LOGGER_NAME,
    SWEEP_KEY,
    JsonFormatter,
    configure_logging,
    handle,
)
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment, connector_config
from s3redshift.local.transport import stand_in_loader
from s3redshift.report import OUTCOMES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ADAPTER = Path(__file__).resolve().parent.parent / "adapters" / "lambda_entry.py"
SECRET = "sentinel-PW-9d41c7e0"  # the static password; must never be seen anywhere
TABLES = ("kpis", "orders", "clicks")
S3_RECORD: dict[str, Any] = load_event("s3_put")["Records"][0]
SQS_RECORD: dict[str, Any] = load_event("sqs_batch")["Records"][0]
SNS_EVENT: dict[str, Any] = load_event("sns_lambda")
EVENTBRIDGE_EVENT: dict[str, Any] = load_event("eventbridge_created")


# --- AWS's side: the context object and the payloads ---------------------------------


@dataclass
class Context:
    """The slice of Lambda's context object the handler reads."""

    remaining_ms: int = 300_000
    aws_request_id: str = "req-0001"
    function_name: str = "s3redshift-loader"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


_sequence = iter(range(1, 1_000_000))


def sequencer() -> str:
    """The next sequencer, so later writes order after earlier ones as S3's do."""
    return f"{next(_sequence):018X}"


def upload_many(s3: S3Client, bucket: str, files: dict[str, str]) -> dict[str, S3Object]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        done = pool.map(lambda item: put(s3, bucket, *item, sequencer=sequencer()), files.items())
        return {o.key: o for o in done}


def s3_record(obj: S3Object) -> dict[str, Any]:
    """One S3 notification record for ``obj``, key form-URL-encoded as S3 does."""
    record = copy.deepcopy(S3_RECORD)
    record["s3"]["bucket"]["name"] = obj.bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{obj.bucket}"
    record["s3"]["object"] = {
        "key": quote_plus(obj.key, safe="/"),
        "size": obj.size,
        "eTag": obj.etag,
        "sequencer": obj.sequencer,
    }
    return record


def s3_event(*objects: S3Object) -> dict[str, Any]:
    return {"Records": [s3_record(o) for o in objects]}


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    record = copy.deepcopy(SQS_RECORD)
    record["messageId"] = message_id
    record["receiptHandle"] = f"AQEB{message_id}"
    record["body"] = body
    record["md5OfBody"] = hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - SQS's checksum
    return record


def sqs_batch(*messages: tuple[str, str]) -> dict[str, Any]:
    return {"Records": [sqs_record(message_id, body) for message_id, body in messages]}


def malformed_body() -> str:
    """An S3 notification whose object has no key (read_event fails just this message)."""
    record = copy.deepcopy(S3_RECORD)
    del record["s3"]["object"]["key"]
    return json.dumps({"Records": [record]})


def message_id() -> str:
    return str(uuid.uuid4())


def failures(*ids: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


def counts(**given: int) -> dict[str, int]:
    return {outcome: given.get(outcome, 0) for outcome in OUTCOMES}


# --- the project's side: loader, database, logs ---------------------------------------------


def config_data(env: EmbeddedEnvironment, database: str) -> dict[str, Any]:
    return {
        **env.connector_config(database, password=SECRET),
        "copy": {"iam_role": "default"},
        "tables": [
            {
                "pattern": "{table}/**",
                "schema": "public",
                "format": {"type": "csv", "ignore_header": 1},
            }
        ],
    }


@pytest.fixture
def loader(embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client) -> Iterator[Loader]:
    config = LoaderConfig.from_mapping(config_data(embedded_env, pg_database))
    with embedded_env.loader(config, s3_client=s3) as made:
        yield made


@pytest.fixture
def tables(pg: Any) -> None:
    execute(pg, *(f"CREATE TABLE {t} (id INT, name VARCHAR(20))" for t in TABLES))


def execute(pg: Any, *statements: str) -> None:
    cursor = pg.cursor()
    for sql in statements:
        cursor.execute(sql)
    pg.commit()


def ids(pg: Any, table: str) -> list[int]:
    cursor = pg.cursor()
    cursor.execute(f"SELECT id FROM {table} ORDER BY id")
    found = [int(row[0]) for row in cursor.fetchall()]
    pg.commit()
    return found


class Lines:
    """What the handler logged, as text lines of :class:`JsonFormatter`."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.logger = logging.getLogger(f"{LOGGER_NAME}.test.{uuid.uuid4().hex}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(JsonFormatter())
        self.logger.addHandler(handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def parsed(self) -> list[dict[str, Any]]:
        """Every line decoded; fails if any line is not one JSON object."""
        decoded = [json.loads(line) for line in self.text.splitlines()]
        assert all(isinstance(d, dict) for d in decoded)
        return decoded

    def of(self, message: str) -> list[dict[str, Any]]:
        return [d for d in self.parsed() if d["message"] == message]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def lines() -> Lines:
    return Lines()


def caller(loader: Loader, lines: Lines) -> Callable[..., Any]:
    """Call the handler with ``loader`` and the test's log; a fresh context by default."""

    def call(event: dict[str, Any], context: object = None, **kwargs: Any) -> Any:
        return handle(
            event,
            Context() if context is None else context,
            loader=loader,
            log=lines.logger,
            **kwargs,
        )

    return call


@pytest.fixture
def run(loader: Loader, lines: Lines) -> Callable[..., Any]:
    """The handler on the test's own database."""
    return caller(loader, lines)


@pytest.fixture
def offline_run(embedded_env: EmbeddedEnvironment, lines: Lines) -> Callable[..., Any]:
    """The handler with a loader whose database is never reached (payload checks only)."""
    data = config_data(embedded_env, "unused")
    data |= connector_config("postgresql://nobody@127.0.0.1:9/unused", password=SECRET)
    config = LoaderConfig.from_mapping(data)
    return caller(embedded_env.loader(config), lines)


# --- direct invocations --------------------------------------------------------------------------


@pytest.mark.usefixtures("tables")
def test_direct_s3_event_loads_its_object_and_returns_a_summary(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    obj = put(
        s3, bucket, "kpis/2026/11/daily report.csv", "id,name\n1,a\n2,b\n", sequencer=sequencer()
    )
    summary = run(s3_event(obj))
    assert summary.pop("duration_ms") >= 0
    assert summary == {
        "source": "s3",
        "request_id": "req-0001",
        "objects": 1,
        "counts": counts(loaded=1),
        "skipped_records": 0,
        "rows": 2,
    }
    assert ids(pg, "kpis") == [1, 2]
    again = run(s3_event(obj))
    assert again["counts"] == counts(duplicate=1)
    assert again["rows"] == 0
    assert ids(pg, "kpis") == [1, 2]


@pytest.mark.usefixtures("tables")
def test_direct_event_with_a_bad_row_raises_and_loads_nothing(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any], lines: Lines
) -> None:
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\n1,a\nnot-a-number,b\n", sequencer=sequencer())
    with pytest.raises(LoadFailedError) as caught:
        run(s3_event(bad))
    error = caught.value
    assert error.retryable is True
    [failure] = error.failures
    assert failure.s3_object.uri == bad.uri
    assert failure.error is not None
    assert failure.error.kind == "DataRejectedError"
    assert [(d.line, d.column) for d in failure.load_errors] == [(3, "id")]
    assert [e.kind for e in error.errors] == ["DataRejectedError"]
    assert str(error).startswith(f"1 object(s) failed to load: {bad.uri} (DataRejectedError: ")
    assert ids(pg, "kpis") == []
    [summary] = lines.of("summary")
    assert (summary["level"], summary["error_kind"]) == ("ERROR", "LoadFailedError")
    assert summary["counts"] == counts(failed=1)


@pytest.mark.usefixtures("tables")
def test_sns_and_eventbridge_invocations_load_like_s3_ones(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    via_sns = put(s3, bucket, "orders/via sns.csv", "id,name\n7,s\n", sequencer=sequencer())
    via_eb = put(s3, bucket, "orders/a+b c.csv", "id,name\n8,e\n", sequencer=sequencer())
    sns = copy.deepcopy(SNS_EVENT)
    sns["Records"][0]["Sns"]["Message"] = json.dumps(s3_event(via_sns))
    eventbridge = copy.deepcopy(EVENTBRIDGE_EVENT)
    eventbridge["detail"]["bucket"]["name"] = bucket
    eventbridge["detail"]["object"] = {
        "key": via_eb.key,  # EventBridge does not URL-encode keys
        "size": via_eb.size,
        "etag": via_eb.etag,
        "sequencer": via_eb.sequencer,
    }
    first = run(sns)
    second = run(eventbridge)
    assert (first["source"], first["counts"]) == ("sns", counts(loaded=1))
    assert (second["source"], second["counts"]) == ("eventbridge", counts(loaded=1))
    assert ids(pg, "orders") == [7, 8]


def test_malformed_direct_payload_raises_its_invalid_event_error(
    offline_run: Callable[..., Any], lines: Lines
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        offline_run({"Records": [{"eventSource": "aws:s3", "eventVersion": "2.1"}]})
    assert caught.value.path == "Records[0].eventName"
    [summary] = lines.of("summary")
    assert summary["error_kind"] == "InvalidEventError"
    assert "Records[0].eventName" in summary["error"]


def test_s3_test_event_is_skipped_and_logged(offline_run: Callable[..., Any], lines: Lines) -> None:
    summary = offline_run(load_event("test_event"))
    assert (summary["objects"], summary["skipped_records"]) == (0, 1)
    [skipped] = lines.of("skipped_record")
    assert skipped["reason"] == "s3:TestEvent"


# --- SQS batches -------------------------------------------------------------------------------


@pytest.mark.usefixtures("tables")
@pytest.mark.timeout(120)
def test_sqs_batch_of_500_fails_exactly_the_bad_file_and_the_malformed_message(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any], lines: Lines
) -> None:
    bad_index, malformed_index = 137, 301
    files: dict[str, str] = {}
    keys: dict[int, str] = {}
    expected: dict[str, list[int]] = {t: [] for t in TABLES}
    for i in range(500):
        if i == malformed_index:
            continue
        table = TABLES[i % 3]
        keys[i] = f"{table}/2026/11/{'part ' if i % 50 == 0 else ''}{i:03d}.csv"
        if i == bad_index:
            files[keys[i]] = "id,name\n100000,fine\nnot-a-number,bad\n"
        else:
            files[keys[i]] = f"id,name\n{2 * i},a\n{2 * i + 1},b\n"
            expected[table] += [2 * i, 2 * i + 1]
    uploaded = upload_many(s3, bucket, files)
    message_ids = [message_id() for _ in range(500)]
    bodies = [
        malformed_body() if i == malformed_index else json.dumps(s3_event(uploaded[keys[i]]))
        for i in range(500)
    ]
    batch = sqs_batch(*zip(message_ids, bodies, strict=True))
    expected_failures = failures(message_ids[bad_index], message_ids[malformed_index])

    assert run(batch) == expected_failures
    for table in TABLES:
        assert ids(pg, table) == sorted(expected[table]), table
    [summary] = lines.of("summary")
    assert summary["counts"] == counts(loaded=498, failed=1)
    assert (summary["invalid_messages"], summary["batch_item_failures"]) == (1, 2)
    assert summary["rows"] == 996
    [invalid] = lines.of("invalid_message")
    assert invalid["message_id"] == message_ids[malformed_index]
    assert invalid["path"] == "Records[301].body.Records[0].s3.object.key"

    lines.clear()
    assert run(copy.deepcopy(batch)) == expected_failures
    for table in TABLES:
        assert ids(pg, table) == sorted(expected[table]), table
    [replayed] = lines.of("summary")
    assert replayed["counts"] == counts(duplicate=498, failed=1)
    assert replayed["rows"] == 0


@pytest.mark.usefixtures("tables")
def test_batch_failures_are_per_message_deduplicated_and_in_batch_order(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    good = put(s3, bucket, "kpis/good.csv", "id,name\n1,a\n", sequencer=sequencer())
    bad = put(s3, bucket, "orders/bad.csv", "id,name\nx,a\n", sequencer=sequencer())
    other = put(s3, bucket, "clicks/c.csv", "id,name\n3,c\n", sequencer=sequencer())
    unmapped = put(s3, bucket, "toplevel.csv", "id,name\n4,d\n", sequencer=sequencer())
    m1, m2, m3, m4 = (message_id() for _ in range(4))
    batch = sqs_batch(
        (m1, json.dumps(s3_event(good, bad))),  # one message, two objects, one failed
        (m2, json.dumps(load_event("test_event"))),
        (m3, malformed_body()),
        (m1, json.dumps(s3_event(bad))),  # SQS may deliver a message twice
        (m4, json.dumps(s3_event(other, unmapped))),
    )
    assert run(batch) == failures(m1, m3)
    assert ids(pg, "kpis") == [1]
    assert ids(pg, "clicks") == [3]
    assert ids(pg, "orders") == []


@pytest.mark.usefixtures("tables")
def test_fifo_batch_returns_the_first_failure_and_every_message_after_it(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    first = put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n", sequencer=sequencer())
    bad = put(s3, bucket, "kpis/2.csv", "id,name\nx,b\n", sequencer=sequencer())
    third = put(s3, bucket, "kpis/3.csv", "id,name\n3,c\n", sequencer=sequencer())
    m1, m2, m3 = message_id(), message_id(), message_id()
    batch = sqs_batch(
        *((m, json.dumps(s3_event(o))) for m, o in [(m1, first), (m2, bad), (m3, third)])
    )
    for record in batch["Records"]:
        record["eventSourceARN"] = "arn:aws:sqs:eu-west-1:123456789012:s3redshift-events.fifo"
    assert run(batch) == failures(m2, m3)
    assert ids(pg, "kpis") == [1, 3]  # m3 loaded; its redelivery is a duplicate


@pytest.mark.usefixtures("tables")
def test_an_sqs_batch_that_all_loads_answers_an_empty_failure_list(
    s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    obj = put(s3, bucket, "kpis/ok.csv", "id,name\n1,a\n", sequencer=sequencer())
    assert run(sqs_batch((message_id(), json.dumps(s3_event(obj))))) == failures()


# --- time --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("tables")
def test_almost_no_time_left_reports_every_message_for_retry_and_loads_nothing(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any], lines: Lines
) -> None:
    objects = [
        put(s3, bucket, f"{t}/late.csv", "id,name\n1,a\n", sequencer=sequencer()) for t in TABLES
    ]
    message_ids = [message_id() for _ in objects]
    batch = sqs_batch(
        *((m, json.dumps(s3_event(o))) for m, o in zip(message_ids, objects, strict=True))
    )
    assert run(batch, Context(remaining_ms=4_000), time_margin_s=5.0) == failures(*message_ids)
    assert [ids(pg, t) for t in TABLES] == [[], [], []]
    logged = lines.of("object")
    assert {(d["outcome"], d["error_kind"], d["retryable"]) for d in logged} == {
        ("failed", "TimeBudgetExceededError", True)
    }
    assert {d["level"] for d in logged} == {"WARNING"}
    # The same batch with time to spare loads everything.
    assert run(batch, Context(remaining_ms=60_000), time_margin_s=5.0) == failures()
    assert [ids(pg, t) for t in TABLES] == [[1], [1], [1]]


@pytest.mark.usefixtures("tables")
def test_direct_event_out_of_time_raises_a_retryable_failure(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    obj = put(s3, bucket, "kpis/late.csv", "id,name\n1,a\n", sequencer=sequencer())
    with pytest.raises(LoadFailedError) as caught:
        run(s3_event(obj), Context(remaining_ms=1_000))
    assert [e.kind for e in caught.value.errors] == ["TimeBudgetExceededError"]
    assert ids(pg, "kpis") == []


@pytest.mark.usefixtures("tables")
def test_a_context_without_a_clock_loads_without_a_budget(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    obj = put(s3, bucket, "kpis/any.csv", "id,name\n5,a\n", sequencer=sequencer())
    summary = run(s3_event(obj), object())
    assert (summary["request_id"], summary["counts"]) == (None, counts(loaded=1))
    assert ids(pg, "kpis") == [5]


# --- the scheduled sweep -------------------------------------------------------------------------


def sweep(*prefixes: str, since: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"prefixes": list(prefixes)}
    if since is not None:
        body["since"] = since
    return {SWEEP_KEY: body}


@pytest.mark.usefixtures("tables")
def test_sweep_loads_objects_whose_notification_never_came_and_only_once(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    notified = put(s3, bucket, "kpis/notified.csv", "id,name\n1,a\n", sequencer=sequencer())
    run(s3_event(notified))
    put(s3, bucket, "kpis/lost.csv", "id,name\n2,b\n", sequencer=sequencer())
    put(s3, bucket, "orders/lost too.csv", "id,name\n3,c\n", sequencer=sequencer())
    put(
        s3, bucket, "elsewhere/x.csv", "id,name\n9,z\n", sequencer=sequencer()
    )  # outside the swept prefixes

    first = run(sweep(f"s3://{bucket}/kpis/", f"s3://{bucket}/orders/"))
    assert first["source"] == "sweep"
    assert first["counts"] == counts(loaded=2, duplicate=1)
    assert [(p["prefix"], p["listed"], p["counts"]["loaded"]) for p in first["prefixes"]] == [
        (f"s3://{bucket}/kpis/", 2, 1),
        (f"s3://{bucket}/orders/", 1, 1),
    ]
    assert ids(pg, "kpis") == [1, 2]
    assert ids(pg, "orders") == [3]

    second = run(sweep(f"s3://{bucket}/kpis/", f"s3://{bucket}/orders/"))
    assert second["counts"] == counts(duplicate=3)
    assert second["rows"] == 0
    assert ids(pg, "kpis") == [1, 2]


@pytest.mark.usefixtures("tables")
def test_sweep_since_takes_a_time_or_a_duration(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any]
) -> None:
    put(s3, bucket, "kpis/recent.csv", "id,name\n1,a\n", sequencer=sequencer())
    future = run(sweep(f"s3://{bucket}/kpis/", since="2999-01-01T00:00:00Z"))
    assert future["counts"] == counts()
    assert future["prefixes"][0]["listed"] == 1
    assert ids(pg, "kpis") == []
    recent = run(sweep(f"s3://{bucket}/kpis/", since="PT6H"))
    assert recent["counts"] == counts(loaded=1)
    assert ids(pg, "kpis") == [1]


@pytest.mark.usefixtures("tables")
def test_sweep_with_a_bad_file_loads_the_rest_then_raises(
    pg: Any, s3: S3Client, bucket: str, run: Callable[..., Any], lines: Lines
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n", sequencer=sequencer())
    bad = put(s3, bucket, "kpis/b.csv", "id,name\nx,b\n", sequencer=sequencer())
    missing_bucket = f"s3://missing-{uuid.uuid4().hex}/p/"
    with pytest.raises(LoadFailedError) as caught:
        run(sweep(missing_bucket, f"s3://{bucket}/kpis/"))
    assert [r.s3_object.uri for r in caught.value.failures] == [bad.uri]
    assert [e.kind for e in caught.value.errors] == ["DataRejectedError", "ConfigError"]
    assert ids(pg, "kpis") == [1]
    [prefix_failed] = lines.of("sweep_prefix_failed")
    assert (prefix_failed["prefix"], prefix_failed["error_kind"]) == (missing_bucket, "ConfigError")
    [summary] = lines.of("summary")
    assert summary["counts"] == counts(loaded=1, failed=1)
    assert summary["error_kind"] == "LoadFailedError"


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({SWEEP_KEY: {"prefixes": []}}, "s3redshift_sweep.prefixes"),
        ({SWEEP_KEY: {"prefixes": ["bucket/p/"]}}, "s3redshift_sweep.prefixes"),
        ({SWEEP_KEY: {"prefixes": ["s3://b/"], "since": 3600}}, "s3redshift_sweep.since"),
        ({SWEEP_KEY: {"prefixes": ["s3://b/"], "since": "yesterday"}}, "s3redshift_sweep.since"),
        ({SWEEP_KEY: {"prefixes": ["s3://b/"], "sinse": "P1D"}}, "s3redshift_sweep.sinse"),
        ({SWEEP_KEY: {"prefixes": ["s3://b/"]}, "extra": 1}, "extra"),
        ({SWEEP_KEY: ["s3://b/"]}, "s3redshift_sweep"),
    ],
)
def test_malformed_sweep_payload_names_the_bad_member(
    event: dict[str, Any], path: str, offline_run: Callable[..., Any]
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        offline_run(event)
    assert caught.value.path == path


# --- logs and secrets ----------------------------------------------------------------------


@pytest.mark.usefixtures("tables")
def test_every_line_is_json_one_per_object_and_one_summary_without_the_secret(
    s3: S3Client, bucket: str, run: Callable[..., Any], lines: Lines
) -> None:
    good = put(s3, bucket, "kpis/good.csv", "id,name\n1,a\n", sequencer=sequencer())
    bad = put(s3, bucket, "orders/bad.csv", "id,name\n1,a\nx,b\n", sequencer=sequencer())
    ignored = put(s3, bucket, "kpis/_SUCCESS", "", sequencer=sequencer())
    m1, m2, m3 = message_id(), message_id(), message_id()
    batch = sqs_batch(
        (m1, json.dumps(s3_event(good, ignored))), (m2, json.dumps(s3_event(bad))), (m3, "{")
    )
    answer = run(batch)
    assert answer == failures(m2, m3)

    parsed = lines.parsed()
    # 3 objects, 1 invalid message, 1 summary; then 3 metrics lines (the invocation, 2 tables).
    assert len(parsed) == len(lines.text.splitlines()) == 8
    assert [d["message"] for d in parsed][-4:] == ["summary", "metrics", "metrics", "metrics"]
    objects = lines.of("object")
    assert [(d["uri"], d["outcome"], d["message_id"]) for d in objects] == [
        (good.uri, "loaded", m1),
        (ignored.uri, "ignored", m1),
        (bad.uri, "failed", m2),
    ]
    failed = objects[2]
    assert failed["level"] == "ERROR"
    assert (failed["table"], failed["error_kind"], failed["retryable"]) == (
        "public.orders",
        "DataRejectedError",
        False,
    )
    assert [(e["line"], e["column"]) for e in failed["load_errors"]] == [(3, "id")]
    [invalid] = lines.of("invalid_message")
    assert (invalid["message_id"], invalid["path"]) == (m3, "Records[2].body")
    [summary] = lines.of("summary")
    assert {k: summary[k] for k in ("request_id", "function_name", "source", "objects")} == {
        "request_id": "req-0001",
        "function_name": "s3redshift-loader",
        "source": "sqs",
        "objects": 3,
    }
    assert summary["counts"] == counts(loaded=1, ignored=1, failed=1)
    assert (summary["rows"], summary["batch_item_failures"]) == (1, 2)
    assert isinstance(summary["duration_ms"], int)

    with pytest.raises(LoadFailedError) as caught:
        run(s3_event(bad))
    assert SECRET not in lines.text
    assert SECRET not in json.dumps(answer)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert all(SECRET not in str(e) for e in caught.value.errors)


@pytest.mark.usefixtures("tables")
def test_metrics_lines_follow_the_embedded_metric_format_per_invocation_and_per_table(
    s3: S3Client, bucket: str, run: Callable[..., Any], lines: Lines
) -> None:
    good = put(s3, bucket, "kpis/good.csv", "id,name\n1,a\n2,b\n", sequencer=sequencer())
    bad = put(s3, bucket, "orders/bad.csv", "id,name\n1,a\nx,b\n", sequencer=sequencer())
    m1, m2 = message_id(), message_id()
    run(sqs_batch((m1, json.dumps(s3_event(good))), (m2, json.dumps(s3_event(bad)))))
    run(sqs_batch((message_id(), json.dumps(s3_event(good)))))  # a replay: a duplicate

    documents = lines.of("metrics")
    assert len(documents) == 3 + 2  # first run: invocation + 2 tables; replay: + 1 table
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert isinstance(document["_aws"]["Timestamp"], int)
        assert directive["Namespace"] == "s3redshift"
        # Every dimension and metric the directive names is a member of the line itself.
        for name in directive["Dimensions"][0]:
            assert isinstance(document[name], str)
        for metric in directive["Metrics"]:
            assert isinstance(document[metric["Name"]], int | float)
            assert metric["Unit"] in ("Count", "Milliseconds", "Seconds")
    first, kpis, orders, replay, replay_kpis = documents
    assert first["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName"]]
    assert first["FunctionName"] == "s3redshift-loader"
    assert (first["ObjectsLoaded"], first["ObjectsFailed"], first["Rows"]) == (1, 1, 2)
    assert kpis["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName", "Table"]]
    assert (kpis["Table"], kpis["ObjectsLoaded"], kpis["Rows"]) == ("public.kpis", 1, 2)
    assert (orders["Table"], orders["ObjectsFailed"], orders["ObjectsLoaded"]) == (
        "public.orders",
        1,
        0,
    )
    assert (replay["ObjectsDuplicate"], replay["ObjectsLoaded"]) == (1, 0)
    assert (replay_kpis["Table"], replay_kpis["ObjectsDuplicate"]) == ("public.kpis", 1)


def test_an_invocation_that_raises_still_writes_its_metrics_and_none_disables_them(
    offline_run: Callable[..., Any], lines: Lines
) -> None:
    with pytest.raises(InvalidEventError):
        offline_run({SWEEP_KEY: {"prefixes": []}})
    [document] = lines.of("metrics")
    assert document["ObjectsLoaded"] == 0
    with pytest.raises(InvalidEventError):
        offline_run({SWEEP_KEY: {"prefixes": []}}, metrics_namespace=None)
    assert len(lines.of("metrics")) == 1  # no second line


# --- the adapter --------------------------------------------------------------------------------


def fresh_adapter(make_loader: Callable[..., Loader] = stand_in_loader) -> ModuleType:
    """``adapters/lambda_entry.py`` imported anew, as a new Lambda container would.

    The stand-in is plugged in where the adapter builds its loader: while it
    is imported, ``Loader(config)`` is ``make_loader(config)``, by default
    :func:`s3redshift.local.stand_in_loader` (the configuration names the
    stand-in's PostgreSQL as a connector target).
    """
    spec = importlib.util.spec_from_file_location(f"lambda_entry_{uuid.uuid4().hex}", ADAPTER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("s3redshift.loader.Loader", make_loader)
        spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("tables", "handler_logger_restored")
def test_adapter_builds_the_loader_once_and_logs_json_to_stdout(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in embedded_env.aws_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps(config_data(embedded_env, pg_database)))
    first = put(s3, bucket, "kpis/one.csv", "id,name\n1,a\n", sequencer=sequencer())
    second = put(s3, bucket, "kpis/two.csv", "id,name\n2,b\n", sequencer=sequencer())
    adapter = fresh_adapter()
    try:
        # Importing (Lambda's INIT) built the loader; the invocations reuse it.
        assert adapter.init_error is None
        info = adapter.warm_loader.cache_info()
        assert (info.misses, info.hits, info.currsize) == (1, 0, 1)
        summary = adapter.handler(s3_event(first), Context(aws_request_id="req-A"))
        answer = adapter.handler(
            sqs_batch((message_id(), json.dumps(s3_event(second)))), Context(aws_request_id="req-B")
        )
        info = adapter.warm_loader.cache_info()
        assert (info.misses, info.hits) == (1, 2)
    finally:
        if adapter.warm_loader.cache_info().currsize:
            adapter.warm_loader().close()
        adapter.warm_loader.cache_clear()
    assert summary["counts"] == counts(loaded=1)
    assert answer == failures()
    assert ids(pg, "kpis") == [1, 2]
    out = capsys.readouterr().out
    logged = [json.loads(line) for line in out.splitlines()]
    assert [(d["message"], d["request_id"]) for d in logged] == [
        ("object", "req-A"),
        ("summary", "req-A"),
        ("metrics", "req-A"),  # the invocation
        ("metrics", "req-A"),  # public.kpis
        ("object", "req-B"),
        ("summary", "req-B"),
        ("metrics", "req-B"),
        ("metrics", "req-B"),
    ]
    # The adapter's namespace comes from S3REDSHIFT_METRICS_NAMESPACE, else the default.
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in logged[2:4]} == {"s3redshift"}
    assert SECRET not in out


@pytest.mark.usefixtures("handler_logger_restored")
def test_the_adapter_logs_each_configuration_warning_once_at_init(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = config_data(embedded_env, pg_database)
    del data["tables"][0]["format"]["ignore_header"]  # a CSV rule that says nothing of headers
    monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps(data))
    adapter = fresh_adapter()
    try:
        assert adapter.init_error is None
    finally:
        adapter.warm_loader().close()
        adapter.warm_loader.cache_clear()
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["level"], line["message"]) == ("WARNING", "configuration_warning")
    assert "ignore_header" in line["warning"]
    assert SECRET not in json.dumps(line)


ADAPTER_RUN = """
import importlib.util, json, os, sys
import botocore.session
made = []
create_client = botocore.session.Session.create_client
def recording(self, service_name, *args, **kwargs):
    made.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = recording
spec = importlib.util.spec_from_file_location("entry", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
at_import = {
    "clients": sorted(made),
    "misses": module.warm_loader.cache_info().misses,
    "built": module.warm_loader.cache_info().currsize,
    "error": type(module.init_error).__name__ if module.init_error else None,
    "driver": "redshift_connector" in sys.modules,
    # Never on a notification's path: the CLI, the backfill (sweeps), the stand-in, tomllib.
    "unneeded": sorted(
        m for m in ("s3redshift.cli", "s3redshift.backfill", "s3redshift.local", "tomllib")
        if m in sys.modules
    ),
}
os.environ.update(json.loads(sys.argv[2]))  # the configuration arrives (or not) later
try:
    loader = module.warm_loader()
    loader.s3, loader.transport  # created at import: nothing more is made here
    later = {"clients": sorted(made), "built": True}
except Exception as exc:
    later = {"clients": sorted(made), "built": False, "error": type(exc).__name__}
later["misses"] = module.warm_loader.cache_info().misses
print(json.dumps({"import": at_import, "invocation": later}))
"""

AWS_ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_ACCESS_KEY_ID": "fake-access-key-id",
    "AWS_SECRET_ACCESS_KEY": "fake-secret",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}
DATA_API_CONFIG = {
    "target": {
        "kind": "redshift",
        "transport": "data-api",
        "workgroup": "analytics-wg",
        "database": "dev",
    },
    "credentials": {"provider": "iam"},
    "copy": {"iam_role": "default", "region": "eu-west-1"},
}
SEED_ENV = {  # the seed's variables: connector transport, password in SSM
    "DB_HOST": "example.abc.eu-west-1.redshift.amazonaws.com",
    "DB_PORT": "5439",
    "DB_NAME": "dev",
    "DB_USER": "loader",
    "DB_PW_PARAM": "/prod/redshift/loader-password",
    "DB_SCHEMA": "public",
    "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
}


def run_adapter(env: dict[str, str], later: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", ADAPTER_RUN, str(ADAPTER), json.dumps(later or {})],
        capture_output=True,
        text=True,
        check=True,
        env={**AWS_ENV, **env},
        timeout=60,
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("env", "clients", "driver"),
    [
        ({"S3REDSHIFT_CONFIG": json.dumps(DATA_API_CONFIG)}, ["redshift-data", "s3"], False),
        (SEED_ENV, ["s3", "ssm"], True),
    ],
    ids=["data-api", "connector-seed-env"],
)
def test_importing_the_adapter_builds_the_loader_and_its_clients(
    env: dict[str, str], clients: list[str], driver: bool
) -> None:
    """INIT (which provisioned concurrency runs ahead) pays for the clients, not a request."""
    pytest.importorskip("redshift_connector")
    result = run_adapter(env)
    assert result["import"] == {
        "clients": clients,
        "misses": 1,
        "built": 1,
        "error": None,
        "driver": driver,
        "unneeded": [],
    }
    # The invocation reuses the loader: no new build, no new client.
    assert result["invocation"] == {"clients": clients, "built": True, "misses": 1}


def test_a_failed_build_at_import_is_not_cached_and_the_invocation_retries() -> None:
    # No S3REDSHIFT_CONFIG, no DB_* variables: the build fails, the import does not.
    result = run_adapter({}, later={"S3REDSHIFT_CONFIG": json.dumps(DATA_API_CONFIG)})
    assert result["import"] == {
        "clients": [],
        "misses": 1,
        "built": 0,
        "error": "ConfigError",
        "driver": False,
        "unneeded": [],
    }
    assert result["invocation"] == {
        "clients": ["redshift-data", "s3"],
        "built": True,
        "misses": 2,
    }
    # Still unconfigured at the invocation: it raises the build's error, and is retried again.
    result = run_adapter({})
    assert result["invocation"] == {
        "clients": [],
        "built": False,
        "error": "ConfigError",
        "misses": 2,
    }


@pytest.mark.usefixtures("handler_logger_restored")
def test_configured_logging_makes_every_package_line_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A warning from another module (credentials) must not come out as plain text."""
    configure_logging()
    logging.getLogger("s3redshift.credentials").warning("SSM parameter %r is a String", "/p")
    logging.getLogger(LOGGER_NAME).info("summary")
    lines = capsys.readouterr().out.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [(p["logger"], p["level"], p["message"]) for p in parsed] == [
        ("s3redshift.credentials", "WARNING", "SSM parameter '/p' is a String"),
        (LOGGER_NAME, "INFO", "summary"),
    ]
