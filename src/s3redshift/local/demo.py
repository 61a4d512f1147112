"""``s3redshift demo``: the whole job, offline, in well under a minute.

A newcomer's first command has to show the real thing, not a mock-up: the
demo starts the embedded stand-in (:class:`~s3redshift.local.EmbeddedEnvironment`:
a real PostgreSQL for Redshift, moto on 127.0.0.1 for S3), creates three
tables, uploads CSV, gzip CSV and JSON-lines files under three table
prefixes, and sends S3 event payloads, shaped as AWS documents them, directly
and wrapped in an SQS batch, through the same :func:`s3redshift.handler.handle`
the Lambda adapter calls. It then prints

1. the Redshift COPY the first event would run (redacted), planned with a
   Redshift Serverless variant of the same rules;
2. the rows each table holds afterwards;
3. a replay of the first event, reported ``duplicate`` object by object;
4. the bad file's rejection, with its line and column, and the SQS message
   that Lambda would hand back for redelivery.

Everything it starts is stopped and its temporary directory removed when it
ends, also on error (the environment's ``with`` block does it).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, cast
from urllib.parse import quote_plus

from s3redshift.config import LoaderConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from s3redshift.loader import Loader
    from s3redshift.local import EmbeddedEnvironment

__all__ = ["DEMO_ROLE_ARN", "DEMO_TABLES", "DemoFile", "run_demo"]

DEMO_ROLE_ARN = "arn:aws:iam::123456789012:role/RedshiftCopy"
"""The IAM role the printed Redshift COPY names (an example account)."""

DEMO_REGION = "us-east-1"
DEMO_BUCKET = "s3redshift-demo"
"""moto's state is fresh in each process, so a fixed name keeps the output stable."""

DEMO_TABLES: dict[str, str] = {
    "kpis": "CREATE TABLE public.kpis (day DATE, region VARCHAR(20), revenue INT)",
    "orders": (
        "CREATE TABLE public.orders (order_id INT, customer VARCHAR(30), amount DECIMAL(10,2))"
    ),
    "clicks": "CREATE TABLE public.clicks (user_id INT, page VARCHAR(60), ms INT)",
}
"""The demo's tables (created in the stand-in's PostgreSQL)."""

RULES: list[dict[str, Any]] = [
    {"pattern": "kpis/**", "table": "kpis", "format": {"type": "csv", "ignore_header": 1}},
    {"pattern": "orders/**", "table": "orders", "format": {"type": "csv", "ignore_header": 1}},
    {"pattern": "clicks/**", "table": "clicks", "format": {"type": "json"}},
]
"""One rule per table prefix; ``orders`` files are gzip, found from the extension."""


@dataclass(frozen=True)
class DemoFile:
    """One sample object: where it goes, its content and the rows it should load."""

    key: str
    text: str
    rows: int
    kind: str

    @property
    def body(self) -> bytes:
        data = self.text.encode()
        return gzip.compress(data, mtime=0) if self.key.endswith(".gz") else data


DIRECT_FILES = (
    DemoFile(
        "kpis/2026/11/28/north.csv",
        "day,region,revenue\n2026-11-28,north,1200\n2026-11-28,north-east,830\n"
        "2026-11-28,north-west,415\n",
        3,
        "CSV",
    ),
    DemoFile(
        "kpis/2026/11/28/south.csv",
        "day,region,revenue\n2026-11-28,south,990\n2026-11-28,south-west,205\n",
        2,
        "CSV",
    ),
)
"""Sent in one direct S3 → Lambda event with two records."""

SQS_FILES = (
    DemoFile(
        "orders/2026-11-28/part-0000.csv.gz",
        "order_id,customer,amount\n1001,Ada,19.90\n1002,Grace,5.00\n1003,Linus,120.50\n"
        "1004,Barbara,42.00\n",
        4,
        "gzip CSV",
    ),
    DemoFile(
        "clicks/2026/11/28/web-0001.json",
        '{"user_id": 7, "page": "/pricing", "ms": 840}\n'
        '{"user_id": 7, "page": "/signup", "ms": 1260}\n'
        '{"user_id": 9, "page": "/docs/quickstart", "ms": 310}\n',
        3,
        "JSON lines",
    ),
    DemoFile(
        "orders/2026-11-28/part-0001.csv.gz",
        "order_id,customer,amount\n1005,Edsger,7.25\n1006,Margaret,twelve\n",
        0,
        "gzip CSV, bad",
    ),
)
"""Sent as an SQS batch, one S3 notification per message; the last file is bad."""

BAD_KEY = SQS_FILES[-1].key


def _s3_record(bucket: str, key: str, size: int, etag: str, sequencer: int) -> dict[str, Any]:
    """One record of an S3 notification, as S3 writes it (key form-URL-encoded)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": DEMO_REGION,
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEDEMO"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
            "x-amz-id-2": uuid.uuid4().hex,
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "s3redshift-created",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3DEMOOWNER"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": etag,
                "sequencer": f"{sequencer:018X}",
            },
        },
    }


def _sqs_record(body: dict[str, Any], message_id: str) -> dict[str, Any]:
    """One SQS message of a Lambda batch whose body is an S3 notification."""
    text = json.dumps(body)
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEB{message_id.replace('-', '')}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(datetime.now(UTC).timestamp() * 1000)),
            "SenderId": "AIDAEXAMPLEDEMO",
            "ApproximateFirstReceiveTimestamp": str(int(datetime.now(UTC).timestamp() * 1000)),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{DEMO_REGION}:123456789012:s3redshift-events",
        "awsRegion": DEMO_REGION,
    }


class _Lines(logging.Handler):
    """Keeps the handler's structured log lines, to report from them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "s3redshift", None)
        if isinstance(fields, dict):
            self.lines.append({"message": record.getMessage(), **fields})


def _redshift_variant() -> LoaderConfig:
    """The same rules aimed at Redshift Serverless through the Data API."""
    return LoaderConfig.from_mapping(
        {
            "target": {
                "transport": "data-api",
                "workgroup": "analytics-wg",
                "database": "dev",
            },
            "credentials": {"provider": "iam"},
            "copy": {"iam_role": DEMO_ROLE_ARN, "region": DEMO_REGION},
            "tables": RULES,
        },
        source="demo (Redshift variant)",
    )


def _upload(s3: S3Client, bucket: str, files: tuple[DemoFile, ...]) -> dict[str, tuple[int, str]]:
    uploaded = {}
    for f in files:
        body = f.body
        response = s3.put_object(Bucket=bucket, Key=f.key, Body=body)
        uploaded[f.key] = (len(body), response["ETag"].strip('"'))
    return uploaded


def run_demo(out: TextIO) -> int:
    """Run the demo, printing to ``out``; 0 when everything behaved as shown."""
    from s3redshift.local import EmbeddedEnvironment

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    demo = _Demo(out)
    try:
        with EmbeddedEnvironment(region=DEMO_REGION) as env:
            demo.set_up(env)
            demo.check()
            demo.show_copy()
            demo.send_events()
            demo.show_rejection()
        demo.say()
        demo.say("Stopped PostgreSQL and moto, removed the temporary directory.")
    finally:
        demo.log.removeHandler(demo.lines)
    if demo.problems:
        for problem in demo.problems:
            demo.say(f"demo: unexpected: {problem}")
        return 1
    demo.say("Next: `make test`, `s3redshift --help`, README.md.")
    return 0


def _events(
    bucket: str, uploaded: dict[str, tuple[int, str]]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The direct S3 event, the SQS batch and its message ids (stable from run to run)."""
    records = [
        _s3_record(bucket, f.key, *uploaded[f.key], sequencer=n)
        for n, f in enumerate(DIRECT_FILES, start=1)
    ]
    message_ids = [
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3redshift-demo/{n}")) for n in range(len(SQS_FILES))
    ]
    messages = [
        _sqs_record(
            {"Records": [_s3_record(bucket, f.key, *uploaded[f.key], sequencer=10 + n)]},
            message_ids[n],
        )
        for n, f in enumerate(SQS_FILES)
    ]
    return {"Records": records}, {"Records": messages}, message_ids


class _Demo:
    """The demo's steps, sharing the environment, the configuration and what went wrong."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.log = logging.getLogger("s3redshift.local.demo.handler")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)
        self.lines = _Lines()
        self.log.addHandler(self.lines)
        self.problems: list[str] = []
        self.sqs_lines: list[dict[str, Any]] = []

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def set_up(self, env: EmbeddedEnvironment) -> None:
        """Tables, the bucket and its files, the configuration and the events."""
        self.env, self.bucket = env, DEMO_BUCKET
        self.say("s3redshift demo: the whole job, offline")
        self.say(
            f"  stand-in: PostgreSQL for Redshift (pid {env.postgres_pid}, data in "
            f"{env.temp_dir}), moto for S3 at {env.aws_endpoint_url}"
        )
        self.s3 = env.boto3_client("s3")
        self.s3.create_bucket(Bucket=self.bucket)
        admin = env.connect()
        try:
            cursor = admin.cursor()
            for ddl in DEMO_TABLES.values():
                cursor.execute(ddl)
            admin.commit()
        finally:
            admin.close()
        self.config = LoaderConfig.from_mapping(
            {
                **env.connector_config(),
                "copy": {"iam_role": DEMO_ROLE_ARN, "region": DEMO_REGION},
                "tables": RULES,
            },
            source="demo",
        )
        files = DIRECT_FILES + SQS_FILES
        uploaded = _upload(self.s3, self.bucket, files)
        self.say()
        self.say(f"Uploaded {len(uploaded)} files to s3://{self.bucket}/:")
        width = max(len(f.key) for f in files)
        for f in files:
            self.say(f"  {f.key.ljust(width)}  {uploaded[f.key][0]:>4} bytes  {f.kind}")
        self.direct_event, self.sqs_event, self.message_ids = _events(self.bucket, uploaded)

    def check(self) -> None:
        """0. Is the set-up ready? The same checks ``s3redshift check`` runs."""
        from s3redshift.check import run_checks

        self.say()
        self.say(f"0. `s3redshift check s3://{self.bucket}/` against the stand-in:")
        with self.env.loader(self.config, s3_client=self.s3) as checker:
            checks = run_checks(
                checker,
                [f"s3://{self.bucket}/"],
                where=f"stand-in PostgreSQL, pid {self.env.postgres_pid}",
                on_check=lambda c: self.say(f"   {c.line()}"),
            )
        failed = [c.name for c in checks if c.status == "failed"]
        self.say(f"   {len(checks) - len(failed)} checks done, {len(failed)} failed")
        if failed:
            self.problems.append(f"checks failed: {failed}")

    def show_copy(self) -> None:
        """1. The Redshift COPY the direct event would run."""
        from s3redshift.events import read_event
        from s3redshift.planner import plan_event
        from s3redshift.transaction import CopyStep

        self.say()
        self.say("1. The Redshift COPY the S3 event would run (redacted; Redshift Serverless,")
        self.say("   Data API; `s3redshift plan EVENT.json` shows the whole transaction):")
        planned = plan_event(_redshift_variant(), read_event(self.direct_event))
        for target in planned.targets:
            for step in target.plan.steps:
                if isinstance(step, CopyStep) and step.purpose == "data":
                    self.say(f"   {step.text()};")

    def send_events(self) -> None:
        """The events through the real handler, then 2. rows per table and 3. a replay."""
        from s3redshift.handler import handle

        with self.env.loader(self.config, s3_client=self.s3) as loader:
            direct = _summary(handle(self.direct_event, None, loader=loader, log=self.log))
            self.say()
            self.say(
                f"S3 event, {len(DIRECT_FILES)} records, direct -> handler: "
                f"{_counts(direct['counts'])}, rows {direct['rows']}"
            )
            mark = len(self.lines.lines)
            batch = handle(self.sqs_event, None, loader=loader, log=self.log)
            failed_ids = [f["itemIdentifier"] for f in batch["batchItemFailures"]]
            self.sqs_lines = [ln for ln in self.lines.lines[mark:] if ln["message"] == "object"]
            self.say(
                f"SQS batch, {len(SQS_FILES)} messages -> handler: "
                f"{_counts(_tally(self.sqs_lines))}; batchItemFailures: {json.dumps(failed_ids)}"
            )
            if failed_ids != [self.message_ids[-1]]:
                self.problems.append(f"expected only the bad file's message to fail: {failed_ids}")
            self.show_rows(loader)
            self.replay(loader)

    def show_rows(self, loader: Loader) -> None:
        """2. Rows per table."""
        self.say()
        self.say("2. Rows per table:")
        expected: dict[str, int] = {}
        for f in DIRECT_FILES + SQS_FILES:
            table = f.key.split("/", 1)[0]
            expected[table] = expected.get(table, 0) + f.rows
        for table in DEMO_TABLES:
            [(count,)] = loader.transport.query(f"SELECT COUNT(*) FROM public.{table}")
            self.say(f"   public.{table.ljust(7)} {count} rows")
            if count != expected[table]:
                self.problems.append(f"public.{table}: {count} rows, expected {expected[table]}")

    def replay(self, loader: Loader) -> None:
        """3. A replayed event: every object a duplicate."""
        from s3redshift.handler import handle

        mark = len(self.lines.lines)
        replay = _summary(handle(self.direct_event, None, loader=loader, log=self.log))
        self.say()
        self.say(f"3. The same S3 event again (a redelivery) -> {_counts(replay['counts'])}:")
        for ln in self.lines.lines[mark:]:
            if ln["message"] == "object":
                self.say(f"   {ln['uri']}: {ln['outcome']} ({ln['reason']})")
        if replay["counts"]["duplicate"] != len(DIRECT_FILES) or replay["rows"] != 0:
            self.problems.append("the replayed event was not reported as duplicate")

    def show_rejection(self) -> None:
        """4. The bad file, with its line and column, and the message handed back."""
        self.say()
        self.say("4. The bad file was rejected; nothing of it was loaded:")
        rejected = [
            ln for ln in self.sqs_lines if ln["outcome"] == "failed" and ln["uri"].endswith(BAD_KEY)
        ]
        for ln in rejected:
            for detail in ln["load_errors"]:
                self.say(
                    f"   {ln['uri']} line {detail['line']}, column {detail['column']}: "
                    f"{detail['reason']}"
                )
            self.say(
                f"   Lambda hands SQS message {ln['message_id']} back for redelivery; "
                "the other messages are done."
            )
        if not rejected or not rejected[0]["load_errors"]:
            self.problems.append("the bad file's rejection was not reported with a line number")


def _summary(response: object) -> dict[str, Any]:
    """A direct invocation's answer (the handler's summary dict)."""
    return cast("dict[str, Any]", response)


def _tally(object_lines: list[dict[str, Any]]) -> dict[str, int]:
    tally: dict[str, int] = {}
    for ln in object_lines:
        tally[ln["outcome"]] = tally.get(ln["outcome"], 0) + 1
    return tally


def _counts(counts: dict[str, int]) -> str:
    shown = [f"{name} {n}" for name, n in counts.items() if n]
    return ", ".join(shown) or "nothing"
