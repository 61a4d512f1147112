"""The transport contract: one set of tests every transport passes.

The loader relies on a transport for exactly this: its ``limits``; ``run`` of a
plan as one transaction that sends the plan's statements, in order, and
nothing of another plan; ``query`` answering a list of tuples; ``execute`` of
several statements as one transaction; ``max_in_flight``;
a refusal, before anything is sent, of a plan over its limits; ``close``
that may be called twice. The transports:

* ``connector``: the production ``ConnectorTransport`` with the production
  factory and the real ``redshift_connector`` driver, through the loopback
  relay in front of the stand-in (tests/redshift_relay.py; statements
  recorded at the driver connection);
* ``stand-in``: the same class over the stand-in's own pg8000 factory, the
  transport :mod:`s3redshift.local` plugs into the loader: kept because users
  run it locally, and it must hold the same contract;
* ``data-api``: the production ``DataApiTransport`` on a real boto3 client
  answered inside botocore (see ``answered_data_api``);
* ``recording``: the fake below, which other code may use where no database
  is wanted; passing the same contract is what makes it a fair stand-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

import pytest

from answered_data_api import AnsweredDataApi, answered_client
from helpers import Transactions
from redshift_relay import Relay, real_driver
from s3redshift.config import LoaderConfig
from s3redshift.errors import PermanentError
from s3redshift.ledger import create_horizon_sql, create_ledger_sql, horizon_table_for
from s3redshift.local import EmbeddedEnvironment
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport
from s3redshift.manifest import ManifestEntry
from s3redshift.planner import PlanSettings, plan_transaction
from s3redshift.transaction import Limits, TransactionPlan
from s3redshift.transports.base import Transport
from s3redshift.transports.data_api import DataApiTransport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class RecordingTransport:
    """A transport without a database: it records each plan's statements and loads nothing."""

    limits: Limits = field(default_factory=Limits)
    name: str = "recording"
    max_in_flight: int = 1
    sent: list[list[str]] = field(default_factory=list)
    closed: bool = False

    def run(self, plan: TransactionPlan, *, time_budget: float | None = None) -> int:
        sqls = plan.statements(redact=False)
        if len(sqls) > (self.limits.statements or len(sqls)):
            raise PermanentError("the plan is over the statement limit", table=str(plan.target))
        self.sent.append(sqls)
        return 0

    def query(self, sql: str, *, time_budget: float | None = None) -> list[tuple[Any, ...]]:
        self.sent.append([sql])
        return []

    def execute(
        self, *sqls: str, time_budget: float | None = None, autocommit: bool = False
    ) -> None:
        self.sent.append(list(sqls))

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class Subject:
    """A transport under test, how to read what it sent, and where its objects are."""

    transport: Transport
    sent: Any  # () -> list of transactions, each a list of statements
    bucket: str


CONFIG = {
    "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"},
    "copy": {"iam_role": "default"},
    "tables": [{"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}}],
}


@pytest.fixture(params=["connector", "stand-in", "data-api", "recording"])
def subject(
    request: pytest.FixtureRequest,
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    relays: Callable[..., Relay],
) -> Iterator[Subject]:
    if request.param in ("connector", "stand-in"):
        pg.cursor().execute("CREATE TABLE kpis (id INT)")
        pg.commit()
        dsn = embedded_env.database_dsn(pg_database)
        factory: Callable[[], Any]
        if request.param == "connector":
            factory = real_driver(relays(), database=pg_database)
        else:
            factory = StandInConnector.from_dsn(dsn, s3_client=s3)
        recorder = Transactions(factory)
        # Both hand the COPY command to the stand-in (the relay's, or the session's).
        transport: Transport = stand_in_transport(recorder)
        sent = lambda: recorder.committed  # noqa: E731 - a reader, kept beside its recorder
    elif request.param == "data-api":
        api = AnsweredDataApi(reads=lambda sql: [[{"longValue": 1}]])
        transport = DataApiTransport(database="dev", workgroup="wg-1", client=answered_client(api))
        sent = lambda: api.batches + api.scripts  # noqa: E731 - load batches, then set-up
    else:
        transport = RecordingTransport(limits=Limits(statements=40, sql_bytes=100_000))
        sent = lambda: [t for t in transport.sent if len(t) > 1]  # noqa: E731
    with transport:
        yield Subject(transport, sent, bucket)


def planned(
    subject: Subject, s3: S3Client, count: int, mode: str = "append", *, per_object: bool = False
) -> TransactionPlan:
    """A plan for ``count`` real objects, built as the loader builds it, documents written."""
    rule: dict[str, Any] = {"mode": mode}
    if mode == "upsert":
        rule |= {"keys": ["id"], "columns": ["id"]}
    config = LoaderConfig.from_mapping(CONFIG | {"tables": [CONFIG["tables"][0] | rule]})
    target = config.mapper().resolve("kpis/a.csv")
    assert target is not None
    entries = []
    for n in range(count):
        key = f"kpis/{n:03d}.csv"
        etag = s3.put_object(Bucket=subject.bucket, Key=key, Body=f"{n}\n".encode())["ETag"]
        entries.append(ManifestEntry(subject.bucket, key, etag.strip('"'), len(f"{n}\n")))
    planned = plan_transaction(
        target,
        entries,
        settings=PlanSettings.from_config(config),
        columns=("id",),
        loaded_at=datetime(2026, 12, 2, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        per_object=per_object,
    )
    for document in planned.documents:
        s3.put_object(
            Bucket=document.bucket, Key=document.key, Body=document.body().encode("utf-8")
        )
    return planned.plan


def test_limits_say_how_large_a_transaction_may_be(subject: Subject) -> None:
    limits = subject.transport.limits
    assert isinstance(limits, Limits)
    for bound in (limits.statements, limits.sql_bytes):
        assert bound is None or bound > 0


def test_a_plan_is_sent_as_one_transaction_of_exactly_its_statements(
    subject: Subject, s3: S3Client
) -> None:
    plan = planned(subject, s3, 3)
    ledger = LoaderConfig.from_mapping(CONFIG).ledger.table_for(plan.target)
    # The loader's first step, as it runs it: the ledger, and the horizons its guard reads.
    for sql in (*create_ledger_sql(ledger), create_horizon_sql(horizon_table_for(ledger.schema))):
        subject.transport.execute(sql)
    rows = subject.transport.run(plan)
    assert isinstance(rows, int)
    assert rows >= 0
    loads = [t for t in subject.sent() if t and t[0].startswith("LOCK ")]
    assert loads == [plan.statements(redact=False)]


def test_query_answers_a_list_of_tuples_and_execute_returns_nothing(subject: Subject) -> None:
    rows = subject.transport.query("SELECT 1")
    assert isinstance(rows, list)
    assert all(isinstance(row, tuple) for row in rows)
    subject.transport.execute("CREATE SCHEMA IF NOT EXISTS contract_check")


def test_a_plan_over_the_limits_is_refused_before_anything_is_sent(
    subject: Subject, s3: S3Client
) -> None:
    limits = subject.transport.limits
    if limits.statements is None:
        pytest.skip(f"{subject.transport.name} takes transactions of any size")
    # Upsert merging object by object (their keys collided): 7 + 7 * 6 = 49 statements.
    plan = planned(subject, s3, 6, mode="upsert", per_object=True)
    assert not limits.admit(plan)
    before = list(subject.sent())
    with pytest.raises(PermanentError):
        subject.transport.run(plan)
    assert subject.sent() == before


def test_several_statements_are_executed_as_one_transaction(subject: Subject) -> None:
    """``execute(*sqls)`` sends them together, in order, as one transaction of their own."""
    statements = [
        "CREATE SCHEMA IF NOT EXISTS contract_a",
        "CREATE SCHEMA IF NOT EXISTS contract_b",
    ]
    subject.transport.execute(*statements)
    assert statements in subject.sent()
    assert subject.transport.max_in_flight >= 1


def test_close_may_be_called_twice(subject: Subject) -> None:
    subject.transport.close()
    subject.transport.close()
