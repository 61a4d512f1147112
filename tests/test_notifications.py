"""Load notifications and freshness: the real loader on the stand-in, moto's EventBridge and SNS.

What was delivered is read where a subscriber would read it: an SQS queue
that an EventBridge rule targets, or that the SNS topic delivers to. Answers
AWS gives but moto does not (an entry PutEvents refused, throttling) come
from a loopback HTTP server that speaks the two wire protocols and counts
the requests it got. The contract under test: at most once per commit, best
effort; a failed delivery never fails, repeats or holds back the load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import stand_in_toml
from helpers import T0, put
from notifying import notifying_loaders
from s3redshift.config import CONFIG_ENV, SEED_ENV
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from s3redshift.notifications import DETAIL_TYPE, EVENT_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def execute(pg: Any, *statements: str) -> None:
    cursor = pg.cursor()
    for sql in statements:
        cursor.execute(sql)
    pg.commit()


def count(pg: Any, table: str) -> int:
    cursor = pg.cursor()
    cursor.execute(f"SELECT COUNT(*) FROM {table}")
    found = int(cursor.fetchone()[0])
    pg.commit()
    return found


@pytest.fixture
def tables(pg: Any) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    execute(pg, "CREATE TABLE orders (id INT, name VARCHAR(20))")


@pytest.fixture
def make_loader(
    embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client
) -> Iterator[Callable[..., Loader]]:
    """Loaders on the test database announcing to ``notifications``; closed afterwards."""
    with notifying_loaders(embedded_env, pg_database, s3) as factory:
        yield factory


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue, deleted as read (moto delivers before the call returns)."""
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def queue(env: EmbeddedEnvironment) -> tuple[str, str]:
    """A fresh queue's URL and ARN."""
    sqs = env.boto3_client("sqs")
    url = sqs.create_queue(QueueName=f"notified-{uuid.uuid4().hex}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


@pytest.fixture
def event_bus(embedded_env: EmbeddedEnvironment) -> tuple[str, str]:
    """A fresh bus whose rule sends every s3redshift event to a queue: (bus, queue URL)."""
    events = embedded_env.boto3_client("events")
    name = f"loads-{uuid.uuid4().hex}"
    events.create_event_bus(Name=name)
    url, arn = queue(embedded_env)
    events.put_rule(
        Name="to-queue",
        EventBusName=name,
        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [DETAIL_TYPE]}),
    )
    events.put_targets(Rule="to-queue", EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return name, url


@pytest.fixture
def topic(embedded_env: EmbeddedEnvironment) -> tuple[str, str]:
    """A fresh SNS topic with a queue subscribed (raw delivery): (topic ARN, queue URL)."""
    sns = embedded_env.boto3_client("sns")
    arn = sns.create_topic(Name=f"loads-{uuid.uuid4().hex}")["TopicArn"]
    url, queue_arn = queue(embedded_env)
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return arn, url


# --- EventBridge ------------------------------------------------------------------------------


@pytest.mark.usefixtures("tables")
def test_a_load_of_two_objects_into_one_table_puts_one_event_and_a_replay_puts_none(
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
    event_bus: tuple[str, str],
) -> None:
    bus, queue_url = event_bus
    loader = make_loader({"event_bus": bus}, embedded_env.boto3_client("events"))
    objects = [
        put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n2,b\n", at=T0 + timedelta(seconds=30)),
        put(s3, bucket, "kpis/b.csv", "id,name\n3,c\n", at=T0),
    ]
    report = loader.load(objects)
    assert report.outcomes() == ["loaded", "loaded"]
    sqs = embedded_env.boto3_client("sqs")
    [event] = drain(sqs, queue_url)
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, DETAIL_TYPE)
    detail = event["detail"]
    [target] = report.targets
    assert detail["batch_id"] == target.batch_id
    assert (detail["table"], detail["mode"], detail["rows"]) == ("public.kpis", "append", 3)
    # From the oldest object's event time (T0, not the first object's) to the commit.
    assert detail["lag_seconds"] == 95.0
    assert detail["oldest_object_time"] == "2026-11-28T12:00:00.000Z"
    assert detail["committed_at"] == "2026-11-28T12:01:35.000Z"
    assert detail["object_count"] == 2
    assert detail["objects_omitted"] == 0
    assert sorted((o["uri"], o["identity"]) for o in detail["objects"]) == sorted(
        (o.uri, str(o.etag).strip('"')) for o in objects
    )
    assert [c.notified for c in target.commits] == [True]
    # The same event again: the ledger says duplicate, nothing commits, nothing is announced.
    replay = loader.load(objects)
    assert replay.outcomes() == ["duplicate", "duplicate"]
    assert drain(sqs, queue_url) == []
    assert [t.commits for t in replay.targets] == [()]


@pytest.mark.usefixtures("tables")
def test_two_tables_in_one_batch_put_one_event_each(
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
    event_bus: tuple[str, str],
) -> None:
    bus, queue_url = event_bus
    loader = make_loader({"event_bus": bus}, embedded_env.boto3_client("events"))
    report = loader.load(
        [
            put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n", at=T0),
            put(s3, bucket, "orders/a.csv", "id,name\n1,a\n2,b\n", at=T0 + timedelta(seconds=5)),
            put(s3, bucket, "orders/b.csv", "id,name\n3,c\n", at=T0 + timedelta(seconds=9)),
        ]
    )
    assert report.ok
    events = drain(embedded_env.boto3_client("sqs"), queue_url)
    found = sorted(
        (
            e["detail"]["table"],
            e["detail"]["object_count"],
            e["detail"]["rows"],
            e["detail"]["lag_seconds"],
        )
        for e in events
    )
    assert found == [("public.kpis", 1, 1, 95.0), ("public.orders", 2, 3, 90.0)]
    assert {e["detail"]["batch_id"] for e in events} == {t.batch_id for t in report.targets}


@pytest.mark.usefixtures("tables")
def test_a_bus_that_does_not_exist_leaves_the_load_loaded_and_logs_the_failure(
    pg: Any,
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    loader = make_loader({"event_bus": "no-such-bus"}, embedded_env.boto3_client("events"))
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n2,b\n")
    report = loader.load([obj])
    assert report.outcomes() == ["loaded"]
    assert count(pg, "kpis") == 2
    [target] = report.targets
    assert target.error is None
    [commit] = target.commits
    assert (commit.notified, commit.batch_id) == (False, target.batch_id)
    error = commit.notification_error
    assert error is not None
    assert error.kind == "ConfigError"
    assert "EventBridge bus 'no-such-bus' was not found" in str(error)
    # Not loaded again, not announced again: the failed delivery is not retried.
    replay = loader.load([obj])
    assert replay.outcomes() == ["duplicate"]
    assert [t.commits for t in replay.targets] == [()]
    assert count(pg, "kpis") == 2


# --- SNS ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("tables")
def test_sns_gets_one_message_per_commit_with_the_table_as_an_attribute(
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
    topic: tuple[str, str],
) -> None:
    arn, queue_url = topic
    loader = make_loader({"sns_topic_arn": arn}, embedded_env.boto3_client("sns"))
    objects = [
        put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n", at=T0 + timedelta(seconds=60)),
        put(s3, bucket, "kpis/b.csv", "id,name\n2,b\n", at=T0 + timedelta(seconds=45)),
    ]
    report = loader.load(objects)
    assert report.ok
    sqs = embedded_env.boto3_client("sqs")
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    [message] = messages
    detail = json.loads(message["Body"])
    assert (detail["table"], detail["batch_id"]) == ("public.kpis", report.targets[0].batch_id)
    assert detail["lag_seconds"] == 50.0
    assert sorted(o["uri"] for o in detail["objects"]) == sorted(o.uri for o in objects)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {"type": DETAIL_TYPE, "table": "public.kpis", "mode": "append"}
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert loader.load(objects).outcomes() == ["duplicate", "duplicate"]
    assert drain(sqs, queue_url) == []


@pytest.mark.usefixtures("tables")
def test_a_topic_that_does_not_exist_leaves_the_load_loaded_and_logs_the_failure(
    pg: Any,
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    missing = f"arn:aws:sns:{embedded_env.region}:123456789012:missing-{uuid.uuid4().hex}"
    loader = make_loader({"sns_topic_arn": missing}, embedded_env.boto3_client("sns"))
    report = loader.load([put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")])
    assert report.outcomes() == ["loaded"]
    assert count(pg, "kpis") == 1
    [commit] = report.targets[0].commits
    error = commit.notification_error
    assert error is not None
    assert error.kind == "ConfigError"
    assert "create the topic or fix notifications.sns_topic_arn" in str(error)


# --- the CLI: the loader's own client, and a warning when it cannot announce -----------------


@pytest.mark.usefixtures("tables")
def test_cli_load_announces_with_its_own_client_and_warns_of_what_it_could_not(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    s3: S3Client,
    bucket: str,
    event_bus: tuple[str, str],
    tmp_path: Path,
) -> None:
    bus, queue_url = event_bus
    env = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != CONFIG_ENV}
    env |= embedded_env.aws_env

    def load(bus_name: str) -> subprocess.CompletedProcess[str]:
        config = tmp_path / f"{bus_name}.toml"
        config.write_text(
            stand_in_toml(embedded_env.database_dsn(pg_database))
            + f'[notifications]\nevent_bus = "{bus_name}"\n'
            + '[[tables]]\npattern = "kpis/**"\ntable = "kpis"\n'
            + '[tables.format]\ntype = "csv"\nignore_header = 1\n'
        )
        command = ["load", f"s3://{bucket}/kpis/", "--config", str(config)]
        return subprocess.run(
            [sys.executable, "-m", "s3redshift.local", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    first = load(bus)
    assert first.returncode == 0, first.stderr
    assert "not announced" not in first.stderr
    [event] = drain(embedded_env.boto3_client("sqs"), queue_url)
    assert (event["detail"]["table"], event["detail"]["object_count"]) == ("public.kpis", 1)

    put(s3, bucket, "kpis/b.csv", "id,name\n2,b\n")
    second = load("no-such-bus")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"s3://{bucket}/kpis/: loaded 1, duplicate 1,")
    assert (
        "s3redshift: warning: 1 committed load(s) were not announced (they are loaded; the "
        "ledger has them), e.g. public.kpis batch "
    ) in second.stderr
    assert "EventBridge bus 'no-such-bus' was not found" in second.stderr
