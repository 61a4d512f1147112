"""The Redshift connector transport, run for real on the stand-in.

Production and these tests build the same class, :class:`ConnectorTransport`.
The tests that talk to a database run it on both of these connection
factories (the ``sessions`` fixture):

* ``redshift_connector``: the production :class:`RedshiftConnector` and the
  real driver with its production arguments (TLS, ``verify-full``), through
  a loopback relay in front of the embedded PostgreSQL
  (tests/redshift_relay.py: it drops the Redshift-only start-up parameters
  and lets the stand-in's code answer COPY from S3 and the load-error
  reads). What it proves: the driver's own exceptions, transaction
  handling (autocommit off, its ``begin transaction``) and result rows reach
  the transport's translation. Not Redshift's authentication nor its
  wording of its own errors.
* ``pg8000``: :class:`StandInConnector` (a pg8000 session that carries out
  COPY from S3 itself), the factory :mod:`s3redshift.local` plugs into the
  loader; these runs prove the stand-in that users run locally behaves the
  same.

Every loader built below checks that only the factory differs, and the
loader issue's exactly-once scenarios run through it unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pg8000.dbapi
import pytest
import redshift_connector
import sqlglot
from pydantic import SecretStr
from sqlglot import exp

import test_loader
from helpers import RecordingConnection, put
from redshift_relay import Relay, real_driver
from s3redshift.config import LoaderConfig
from s3redshift.credentials import (
    CredentialProvider,
    DbCredentials,
    SsmPasswordProvider,
    StaticCredentials,
)
from s3redshift.errors import (
    BatchConflictError,
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    DatabaseConnectionError,
    DataRejectedError,
    PermanentError,
    PermissionDeniedError,
    SerializationConflictError,
    TargetMissingError,
    TimeBudgetExceededError,
)
from s3redshift.identifiers import TableRef, quote_identifier
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment, connector_config, stand_in_loader
from s3redshift.local.standin import LoadErrorTable, StandInConnector, hand_over_copy
from s3redshift.local.transport import stand_in_transport
from s3redshift.manifest import ManifestEntry, batch_id
from s3redshift.transaction import GUARD_PURPOSE, SqlStep, TransactionPlan
from s3redshift.transports.connector import (
    STL_LOAD_ERRORS_SQL,
    SYS_LOAD_ERRORS_SQL,
    ClusterIamAuth,
    ConnectorTransport,
    PasswordAuth,
    RedshiftConnector,
    ServerlessIamAuth,
    connect_kwargs,
)
from s3redshift.transports.dbapi import translate_error
from test_loader import CSV_RULE, execute, ledger_of, rows

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

HOST = "analytics.abc123xyz789.eu-west-1.redshift.amazonaws.com"
COMMIT = "<commit>"
ROLLBACK = "<rollback>"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KPIS = TableRef("public", "kpis")


def redshift_config(
    *rules: dict[str, Any], ledger: bool = True, credentials: dict[str, Any] | None = None
) -> LoaderConfig:
    """A production configuration: a Redshift cluster through the connector transport."""
    return LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "connector", "host": HOST},
            "credentials": credentials
            or {"provider": "static", "user": "loader", "password": "pw"},
            "copy": {"iam_role": "default", "region": "eu-west-1"},
            "ledger": {"enabled": ledger},
            "tables": list(rules or (CSV_RULE,)),
        }
    )


def assert_only_the_factory_differs(production: Any, local: Any) -> None:
    """Same class, same state: only ``_connect`` and the COPY runner are other objects.

    The stand-in's runner hands the CopyCommand over, then sends the same
    text through the same cursor (``name`` says which transport it is).
    Each transport has a session pool of its own: the same limit, no
    session open yet, and a lock of the same kind.
    """
    assert type(production) is ConnectorTransport
    assert type(local) is ConnectorTransport
    assert isinstance(production._connect, RedshiftConnector)
    assert isinstance(local._connect, StandInConnector | RedshiftConnector)
    state = {
        "name",
        "max_in_flight",
        "_connect",
        "_copy_runner",
        "_clock",
        "_pool",
        "_idle",
        "_opened",
        "_generation",
    }
    assert set(vars(local)) == set(vars(production)) == state
    own = {"_connect", "_copy_runner", "name", "_pool"}
    assert {k: v for k, v in vars(local).items() if k not in own} == {
        k: v for k, v in vars(production).items() if k not in own
    }
    assert type(local._pool) is type(production._pool)
    assert local._pool is not production._pool
    assert production._copy_runner.__name__ == "_run_copy_as_sql"  # COPY runs as its SQL text
    assert local._copy_runner is hand_over_copy


def on_stand_in(connect: Callable[[], Any], **options: Any) -> ConnectorTransport:
    """The connector transport over ``connect``, handing each COPY command to the stand-in.

    The stand-in answers COPY from S3 whichever driver talks to it (pg8000
    here, the real driver through the relay), from the command handed over.
    """
    return ConnectorTransport(connect, copy_runner=hand_over_copy, **options)


def stand_in_for(config: LoaderConfig, connect: Callable[[], Any]) -> ConnectorTransport:
    """The production transport for ``config`` with the test's connection factory instead."""
    production = ConnectorTransport.from_config(config)
    local = on_stand_in(connect, max_in_flight=config.target.max_in_flight)
    assert_only_the_factory_differs(production, local)
    return local


Sessions = Callable[..., Callable[[], Any]]


def dsn_as(dsn: str, user: str) -> str:
    """``dsn`` logging in as ``user`` (the stand-in trusts local sessions)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


@pytest.fixture(params=["redshift_connector", "pg8000"])
def sessions(
    request: pytest.FixtureRequest,
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    s3: S3Client,
    relays: Callable[..., Relay],
) -> Sessions:
    """Connection factories to the test's database, on the driver of this run (module doc)."""

    def factory(
        *,
        user: str | None = None,
        database: str | None = None,
        load_error_tables: tuple[LoadErrorTable, ...] = ("sys",),
    ) -> Callable[[], Any]:
        if request.param == "pg8000":
            target = embedded_env.database_dsn(database or pg_database)
            return StandInConnector.from_dsn(
                target if user is None else dsn_as(target, user),
                s3_client=s3,
                load_error_tables=load_error_tables,
            )
        relay = relays(load_error_tables)
        return real_driver(relay, database=database or pg_database, user=user or "postgres")

    return factory


@pytest.fixture
def server_dsn(embedded_env: EmbeddedEnvironment) -> str:
    """The server's own database, for tests that create nothing in it."""
    return embedded_env.dsn


@pytest.fixture
def make_loader(sessions: Sessions, s3: S3Client) -> Iterator[Callable[..., Loader]]:
    """Loaders for a Redshift configuration whose transport talks to the stand-in."""
    made: list[Loader] = []

    def factory(*rules: dict[str, Any], ledger: bool = True) -> Loader:
        config = redshift_config(*rules, ledger=ledger)
        loader = Loader(config, transport=stand_in_for(config, sessions()), s3_client=s3)
        made.append(loader)
        return loader

    yield factory
    for loader in made:
        loader.close()


# --- (a) the loader issue's exactly-once suite, through ConnectorTransport -------------
# The very test functions of test_loader.py, collected here a second time: in this
# module they get the `make_loader` above, so each runs on the connector's code path.


@pytest.fixture(autouse=True)
def _loaders_come_from_this_module(request: pytest.FixtureRequest) -> None:
    """Guard the override: a test asking for `make_loader` gets this module's."""
    if "make_loader" in request.fixturenames:
        assert request.getfixturevalue("make_loader").__module__ == __name__


test_same_batch_twice = test_loader.test_same_batch_twice_loads_once_and_reports_duplicates
test_eight_threads = test_loader.test_overlapping_batches_from_eight_threads_load_each_object_once
test_bad_row = test_loader.test_bad_row_fails_only_its_file_and_leaves_nothing_of_the_failed_try
test_prefix_siblings = (
    test_loader.test_event_for_a_key_loads_only_that_object_not_its_prefix_siblings
)
test_upsert_latest = test_loader.test_upsert_keeps_latest_row_by_order_by
test_replace = test_loader.test_replace_swaps_contents_and_a_failing_replace_keeps_old_rows
test_reupload = test_loader.test_reupload_loads_again_and_old_event_replay_never_loads_twice
test_guard = test_loader.test_guard_aborts_a_transaction_whose_objects_are_already_in_the_ledger


# --- (b) the factory is the only substitution ------------------------------------------


def test_the_stand_in_target_is_the_connector_class_with_the_stand_in_factory(
    server_dsn: str, s3: S3Client
) -> None:
    production = ConnectorTransport.from_config(redshift_config())
    assert production._connect == RedshiftConnector(
        host=HOST, port=5439, database="dev", auth=production._connect.auth
    )
    # The stand-in plugged into a loader for a connector configuration naming its server.
    local_config = LoaderConfig.from_mapping(
        {**connector_config(server_dsn), "copy": {"iam_role": "default"}}
    )
    opened = stand_in_loader(local_config, s3_client=s3).transport
    assert_only_the_factory_differs(production, opened)
    assert opened.name == "stand-in"
    sessions = StandInConnector.from_dsn(server_dsn, s3_client=s3)
    assert_only_the_factory_differs(production, stand_in_transport(sessions, max_in_flight=8))
    # Nothing of the class is replaced: run, query and execute are the connector's own.
    for name in ("run", "query", "execute", "_prelude", "_failure"):
        assert getattr(type(opened), name) is getattr(ConnectorTransport, name)
    assert opened.query("SELECT 41 + 1") == [(42,)]
    opened.close()


# --- (c) golden transactions per mode ---------------------------------------------------


def recording_transport(
    sessions: Callable[[], Any], log: list[str], clock: Callable[[], float] = time.monotonic
) -> ConnectorTransport:
    """A transport whose log holds statements, commits and rollbacks in order."""

    def ended(committed: bool) -> None:
        log.append(COMMIT if committed else ROLLBACK)

    return on_stand_in(
        lambda: RecordingConnection(sessions(), log.append, ended=ended), clock=clock
    )


def one_expression_each(statements: list[str]) -> list[str]:
    """sqlglot (redshift) reads each statement as exactly one expression; their kinds."""
    kinds = []
    for sql in statements:
        if sql in (COMMIT, ROLLBACK):
            continue
        parsed = sqlglot.parse(sql, read="redshift")
        assert len(parsed) == 1, sql
        node = parsed[0]
        assert node is not None, sql
        if isinstance(node, exp.Command):  # sqlglot keeps LOCK as an opaque command
            assert node.name.upper() == "LOCK", sql
        kinds.append(type(node).__name__)
    return kinds


LEDGER = '"s3redshift"."load_ledger_public_kpis_54cfea16"'


def ledger_prelude(bucket: str, key: str, identity: str) -> list[str]:
    """What a cold loader asks before its first load: one catalog query, one DDL transaction.

    The catalog finds neither the ledger nor the one-table ledger of earlier
    versions (which must not be there: docs/upgrading.md); the ledger is made
    with every column, ``object_order`` included.
    """
    return [
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
        "'s3redshift' AND table_name IN ('load_ledger_public_kpis_54cfea16', 'load_ledger', "
        "'load_horizon')",
        COMMIT,
        'CREATE SCHEMA IF NOT EXISTS "s3redshift"',
        'CREATE TABLE IF NOT EXISTS "s3redshift"."load_horizon" ("ledger_table" VARCHAR(127) '
        'NOT NULL, "horizon" TIMESTAMP NOT NULL, "horizon_order" VARCHAR(20) NOT NULL, '
        '"recorded_at" TIMESTAMP NOT NULL)',
        'CREATE TABLE IF NOT EXISTS "s3redshift"."load_ledger_public_kpis_54cfea16" '
        '("bucket" VARCHAR(63) NOT NULL, '
        '"object_key" VARCHAR(1024) NOT NULL, "object_identity" VARCHAR(1024) NOT NULL, '
        '"object_size" BIGINT NOT NULL, "target_table" VARCHAR(300) NOT NULL, '
        '"batch_id" VARCHAR(64) NOT NULL, "loaded_at" TIMESTAMP NOT NULL, '
        '"object_order" VARCHAR(64)) SORTKEY ("object_key")',
        COMMIT,
        'SELECT "bucket", "object_key", "object_identity", OCTET_LENGTH("object_key"), '
        '"loaded_at" FROM "s3redshift"."load_ledger_public_kpis_54cfea16" '
        f"WHERE \"object_key\" IN ('{key}')",
        COMMIT,
    ]


def with_timeouts(statements: list[str], milliseconds: int) -> list[str]:
    """Every statement preceded by the budget that is left (the clock stands still here)."""
    bounded = []
    for sql in statements:
        if sql not in (COMMIT, ROLLBACK):
            bounded.append(f"SET LOCAL statement_timeout TO {milliseconds}")
        bounded.append(sql)
    return bounded


def transaction_head(bucket: str, batch: str, *, replace: bool = False) -> list[str]:
    """Up to the horizon guard; a replace's compares the batch's newest object only."""
    batch_rows = (
        '(SELECT MAX(LEFT(b."object_order", 20)) AS "object_order" FROM "s3redshift_batch" AS b) '
        "AS b"
        if replace
        else '"s3redshift_batch" AS b'
    )
    order = 'b."object_order"' if replace else 'LEFT(b."object_order", 20)'
    return [
        'LOCK "s3redshift"."load_ledger_public_kpis_54cfea16", "public"."kpis"',
        'CREATE TEMP TABLE "s3redshift_batch" ("bucket" VARCHAR(63), "object_key" '
        'VARCHAR(1024), "object_identity" VARCHAR(1024), "object_size" BIGINT, '
        '"object_order" VARCHAR(64))',
        f'COPY "s3redshift_batch" FROM \'s3://{bucket}/_s3redshift/manifests/public.kpis/'
        f"{batch}.objects.csv' IAM_ROLE default FORMAT AS CSV REGION AS 'eu-west-1' "
        "COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF",
        "SELECT CAST('s3redshift: already loaded: ' || b.\"object_key\" AS INTEGER) "
        'FROM "s3redshift_batch" AS b JOIN "s3redshift"."load_ledger_public_kpis_54cfea16" AS l '
        'ON l."bucket" = b."bucket" AND l."object_key" = b."object_key" '
        'AND OCTET_LENGTH(l."object_key") = OCTET_LENGTH(b."object_key") '
        'AND l."object_identity" = b."object_identity" LIMIT 1',
        "SELECT CAST('s3redshift: older than the horizon: ' || h.\"horizon_order\" AS INTEGER) "
        f'FROM {batch_rows}, (SELECT MAX("horizon_order") AS "horizon_order" FROM '
        '"s3redshift"."load_horizon" WHERE "ledger_table" = '
        "'load_ledger_public_kpis_54cfea16') AS h WHERE "
        f"COALESCE({order}, '') < h.\"horizon_order\" LIMIT 1",
    ]


def data_copy(table: str, bucket: str, batch: str) -> str:
    return (
        f"COPY {table} FROM 's3://{bucket}/_s3redshift/manifests/public.kpis/{batch}.manifest' "
        "IAM_ROLE default FORMAT AS CSV REGION AS 'eu-west-1' MANIFEST IGNOREHEADER AS 1 "
        "COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF"
    )


def transaction_tail(batch: str, *, ordered: bool = False) -> list[str]:
    order = ', "object_order"' if ordered else ""
    return [
        f'INSERT INTO {LEDGER} ("bucket", "object_key", "object_identity", "object_size"{order}, '
        '"target_table", "batch_id", "loaded_at") SELECT "bucket", "object_key", '
        f'"object_identity", "object_size"{order}, \'public.kpis\', '
        f"'{batch}', CAST('2026-11-28 12:00:00.000000' AS TIMESTAMP) FROM \"s3redshift_batch\"",
        'DROP TABLE "s3redshift_batch"',
        COMMIT,
    ]


UPSERT_STEPS = [
    'CREATE TEMP TABLE "s3redshift_latest" AS SELECT "id", "val", "ts" FROM (SELECT "id", '
    '"val", "ts", "s3redshift_source", ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "ts" '
    'DESC NULLS LAST, "val" DESC NULLS LAST, "s3redshift_source") AS "s3redshift_rank" FROM '
    '(SELECT "id", "val", "ts", 1 AS "s3redshift_source" FROM "s3redshift_stage" WHERE "id" '
    'IS NOT NULL UNION ALL SELECT t."id", t."val", t."ts", 0 FROM "public"."kpis" AS t JOIN '
    '(SELECT DISTINCT "id" FROM "s3redshift_stage") AS s ON t."id" = s."id") AS candidates) '
    'AS ranked WHERE "s3redshift_rank" = 1 AND "s3redshift_source" = 1',
    'DELETE FROM "public"."kpis" USING "s3redshift_latest" '
    'WHERE "public"."kpis"."id" = "s3redshift_latest"."id"',
    'INSERT INTO "public"."kpis" ("id", "val", "ts") SELECT "id", "val", "ts" '
    'FROM "s3redshift_latest"',
    'INSERT INTO "public"."kpis" ("id", "val", "ts") SELECT "id", "val", "ts" '
    'FROM "s3redshift_stage" WHERE "id" IS NULL',
    'DROP TABLE "s3redshift_latest"',
    'DROP TABLE "s3redshift_stage"',
]


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_golden_connector_transaction_per_mode(
    mode: str, pg: Any, sessions: Sessions, s3: S3Client, bucket: str
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, val VARCHAR(10), ts INT)",
        "INSERT INTO kpis VALUES (1, 'old', 0), (7, 'kept', 0)",
    )
    rule = CSV_RULE | {"mode": mode}
    if mode == "upsert":
        rule |= {"keys": ["id"], "order_by": "ts"}
    config = redshift_config(rule)
    log: list[str] = []
    transport = recording_transport(sessions(), log, clock=lambda: 100.0)
    loader = Loader(config, transport=transport, s3_client=s3, clock=lambda: 100.0, now=lambda: T0)
    body = "id,val,ts\n1,new,5\n2,two,5\n"
    key = f"kpis/{mode}.csv"
    obj = put(s3, bucket, key, body)
    report = loader.load([obj], time_budget=60)
    loader.close()
    assert report.outcomes() == ["loaded"]

    identity = hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - S3's ETag
    batch = batch_id(KPIS, [ManifestEntry(bucket, key, identity, len(body))])
    expected = ledger_prelude(bucket, key, identity)
    if mode == "replace":  # the newest object the table holds, before a snapshot loads
        expected += [
            f'SELECT "object_order", "object_key" FROM {LEDGER} WHERE LEFT("object_order", 20) '
            f'= (SELECT MAX(LEFT("object_order", 20)) FROM {LEDGER})',
            COMMIT,
        ]
    if mode == "upsert":  # the table's columns, read for every upsert transaction
        expected += [
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
            "numeric_scale, column_default FROM information_schema.columns WHERE "
            "table_schema = 'public' AND table_name = 'kpis' ORDER BY ordinal_position",
            COMMIT,
        ]
    expected += transaction_head(bucket, batch, replace=mode == "replace")
    if mode == "append":
        expected += [data_copy('"public"."kpis"', bucket, batch)]
    elif mode == "replace":
        expected += [
            f"SELECT CAST('s3redshift: a newer object is loaded: ' || l.\"object_order\" AS "
            f'INTEGER) FROM {LEDGER} AS l WHERE LEFT(l."object_order", 20) > '
            '(SELECT MAX(LEFT(b."object_order", 20)) FROM "s3redshift_batch" AS b) LIMIT 1',
            'DELETE FROM "public"."kpis"',
            data_copy('"public"."kpis"', bucket, batch),
        ]
    else:
        expected += [
            'CREATE TEMP TABLE "s3redshift_stage" (LIKE "public"."kpis" INCLUDING DEFAULTS)',
            data_copy('"s3redshift_stage"', bucket, batch),
            *UPSERT_STEPS,
        ]
    expected += transaction_tail(batch, ordered=mode == "replace")
    assert log == with_timeouts(expected, 60000)

    kinds = one_expression_each(log)
    assert kinds.count("Copy") == 2
    # Every statement runs under what is left of the budget.
    assert kinds[0::2] == ["Set"] * (len(kinds) // 2)
    assert "Set" not in kinds[1::2]
    table = rows(pg, "SELECT id, val FROM kpis ORDER BY id, val")
    assert (
        table
        == {
            "append": [(1, "new"), (1, "old"), (2, "two"), (7, "kept")],
            "replace": [(1, "new"), (2, "two")],
            "upsert": [(1, "new"), (2, "two"), (7, "kept")],
        }[mode]
    )


# --- (d) error classification -----------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        pg8000.dbapi.ProgrammingError(
            {
                "S": "ERROR",
                "C": "XX000",
                "M": "1023",
                "D": "Serializable isolation violation on table - 100123, transactions "
                "forming the cycle are: 4001, 4002 (pid:3)",
            }
        ),
        redshift_connector.ProgrammingError(
            {
                "S": "ERROR",
                "C": "XX000",
                "M": "1023 DETAIL: Serializable isolation violation on table - 15, "
                "transactions forming the cycle are: 22, 34 (pid:25)",
            }
        ),
        redshift_connector.ProgrammingError(
            {
                "S": "ERROR",
                "C": "XX000",
                "M": "could not complete because of conflict with concurrent transaction",
            }
        ),
    ],
)
def test_redshift_serialization_conflicts_are_retryable(exc: Exception) -> None:
    error = translate_error(exc, table="public.kpis")
    assert type(error) is SerializationConflictError
    assert error.retryable is True
    assert error.table == "public.kpis"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (redshift_connector.InterfaceError("communication error", OSError(104, "reset")), "lost"),
        (redshift_connector.InterfaceError("connection is closed"), "lost"),
        (pg8000.dbapi.InterfaceError("network error"), "lost"),
        (pg8000.dbapi.DatabaseError({"S": "FATAL", "C": "57P01", "M": "terminating"}), "lost"),
        (
            redshift_connector.ProgrammingError(
                {
                    "S": "ERROR",
                    "C": "XX000",
                    "M": "Load into table 'kpis' failed.  Check 'stl_load_errors' system "
                    "table for details.",
                    "D": "error:  Invalid digit, Value '1023x', Pos 4, Type: Integer",
                }
            ),
            "data",
        ),
        (
            pg8000.dbapi.ProgrammingError(
                {"C": "22P02", "M": 'invalid input syntax for type integer: "1023x"'}
            ),
            "data",
        ),
        (pg8000.dbapi.ProgrammingError({"C": "XX000", "M": "disk full on node 1023x"}), "other"),
    ],
)
def test_connection_loss_is_retryable_and_data_errors_permanent(exc: Exception, kind: str) -> None:
    error = translate_error(exc)
    if kind == "lost":
        assert type(error) is DatabaseConnectionError
        assert error.retryable is True
    elif kind == "data":  # a "1023" inside rejected data is not a serialization conflict
        assert type(error) is DataRejectedError
        assert error.retryable is False
    else:
        assert not isinstance(error, SerializationConflictError)
        assert error.retryable is True


def plan_of(*statements: str) -> TransactionPlan:
    steps = tuple(SqlStep(sql, "test") for sql in statements)
    return TransactionPlan(target=KPIS, batch_id="0" * 32, mode="append", steps=steps)


def test_a_real_1023_from_the_server_rolls_back_and_is_retryable(
    pg: Any, sessions: Sessions
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    transport = on_stand_in(sessions())
    conflict = plan_of(
        "INSERT INTO kpis VALUES (1, 'a')",
        # The server raises exactly what Redshift sends for error 1023.
        "DO $$ BEGIN RAISE EXCEPTION '1023' USING ERRCODE = 'XX000', DETAIL = "
        "'Serializable isolation violation on table - 100123, transactions forming the "
        "cycle are: 4001, 4002 (pid:3)'; END $$",
    )
    with pytest.raises(SerializationConflictError) as caught:
        transport.run(conflict)
    assert caught.value.retryable is True
    assert "Serializable isolation violation" in caught.value.message
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]
    assert transport.run(plan_of("INSERT INTO kpis VALUES (2, 'b')")) == 0
    assert rows(pg, "SELECT id FROM kpis") == [(2,)]
    transport.close()


@pytest.mark.timeout(60)
def test_backend_killed_mid_transaction_is_connection_lost_then_a_fresh_session_works(
    embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any, sessions: Sessions
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    transport = on_stand_in(sessions())
    [(victim,)] = transport.query("SELECT pg_backend_pid()")
    plan = plan_of('LOCK "public"."kpis"', "INSERT INTO kpis VALUES (1, 'a')")
    blocker = embedded_env.connect(database=pg_database)
    blocker.cursor().execute("LOCK TABLE kpis")  # held until rollback: the load waits
    outcome: dict[str, BaseException] = {}

    def load() -> None:
        try:
            transport.run(plan)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=load)
    worker.start()
    admin = embedded_env.connect()
    admin.autocommit = True
    cursor = admin.cursor()
    for _ in range(200):
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (victim,))
        if [list(r) for r in cursor.fetchall()] == [["Lock"]]:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the load never waited for the lock")
    cursor.execute("SELECT pg_terminate_backend(%s)", (victim,))
    worker.join(timeout=20)
    admin.close()
    blocker.rollback()
    blocker.close()
    error = outcome["error"]
    assert type(error) is DatabaseConnectionError
    assert error.retryable is True
    assert transport.run(plan) == 0
    [(fresh,)] = transport.query("SELECT pg_backend_pid()")
    assert fresh != victim
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]
    transport.close()


def load_error_reads(log: list[str]) -> list[str]:
    """What the connector ran after the last COPY, up to the failure record written after it."""
    copy = max(i for i, sql in enumerate(log) if sql.startswith("COPY "))
    after = log[copy + 1 :]
    record = next((i for i, sql in enumerate(after) if '"load_failures"' in sql), len(after))
    # The record is its own transaction: its settings and statement follow the last read's end.
    while record > 0 and after[record - 1] not in (COMMIT, ROLLBACK):
        record -= 1
    return after[:record]


def test_rejected_copy_reads_sys_load_error_detail_after_rollback(
    pg: Any, sessions: Sessions, s3: S3Client, bucket: str
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    log: list[str] = []
    transport = recording_transport(sessions(), log)
    assert transport.query("SELECT pg_last_copy_id()") == [(-1,)]
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\n1,a\nnot-a-number,b\n")
    loader = Loader(redshift_config(), transport=transport, s3_client=s3)
    report = loader.load([bad])
    assert report.outcomes() == ["failed"]
    error = report.objects[0].error
    assert isinstance(error, DataRejectedError)
    assert error.retryable is False
    [detail] = error.details
    assert (detail.file, detail.line, detail.column, detail.code) == (bad.uri, 3, "id", "22P02")
    assert detail.reason == 'invalid input syntax for type integer: "not-a-number"'
    assert error.message.startswith(
        f"COPY into public.kpis rejected line 3 of {bad.uri}, column id"
    )
    assert report.objects[0].load_errors == (detail,)
    # The connector's own path: the COPY fails, the transaction is rolled back, then the
    # session's pg_last_copy_id() rows are read from the SYS view in a new transaction.
    copy = max(i for i, sql in enumerate(log) if sql.startswith('COPY "public"."kpis" FROM '))
    assert log[copy + 1 : copy + 4] == [ROLLBACK, SYS_LOAD_ERRORS_SQL, COMMIT]
    one_expression_each(log[copy + 1 : copy + 4])
    # Then, outside the rolled-back transaction, the failure is recorded for `ledger --failed`.
    recorded = log[copy + 4 :]
    assert any(sql.startswith('INSERT INTO "s3redshift"."load_failures"') for sql in recorded)
    assert recorded[-1] == COMMIT
    [(copy_id,)] = transport.query("SELECT pg_last_copy_id()")
    assert copy_id > 0  # kept after the rollback, as Redshift keeps it
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]
    loader.close()


def test_rejected_copy_falls_back_to_stl_load_errors_and_trims_its_char_columns(
    pg: Any, sessions: Sessions, s3: S3Client, bucket: str
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(3))")
    log: list[str] = []
    transport = recording_transport(sessions(load_error_tables=("stl",)), log)
    key = "kpis/" + "k" * 300 + ".csv"  # longer than STL_LOAD_ERRORS.filename (CHAR(256))
    bad = put(s3, bucket, key, "id,name\n1,abcd\n")
    loader = Loader(redshift_config(), transport=transport, s3_client=s3)
    report = loader.load([bad])
    assert report.outcomes() == ["failed"]
    [detail] = report.objects[0].load_errors
    assert detail.file == bad.uri  # matched back to the plan's object from its cut name
    assert (detail.line, detail.column, detail.code) == (2, "name", "1204")
    full_reason = (
        "String length exceeds DDL length: 4 bytes for a column of 3 "
        "(Redshift counts bytes, not characters)"
    )
    assert detail.reason == full_reason[:100].rstrip()  # CHAR(100) in STL_LOAD_ERRORS
    read = load_error_reads(log)
    assert read == [ROLLBACK, SYS_LOAD_ERRORS_SQL, ROLLBACK, STL_LOAD_ERRORS_SQL, COMMIT]
    one_expression_each(read)
    loader.close()


def test_without_load_error_tables_a_one_file_copy_is_named_from_the_error_text(
    pg: Any, sessions: Sessions, s3: S3Client, bucket: str
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    log: list[str] = []
    transport = recording_transport(sessions(load_error_tables=()), log)
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nx,a\n")
    loader = Loader(redshift_config(), transport=transport, s3_client=s3)
    report = loader.load([bad])
    error = report.objects[0].error
    assert isinstance(error, DataRejectedError)
    assert error.details == report.objects[0].load_errors
    [detail] = error.details
    assert (detail.file, detail.line, detail.column, detail.code) == (bad.uri, None, None, "22P02")
    assert detail.reason == 'invalid input syntax for type integer: "x"'
    assert load_error_reads(log) == [
        ROLLBACK,
        SYS_LOAD_ERRORS_SQL,
        ROLLBACK,
        STL_LOAD_ERRORS_SQL,
        ROLLBACK,
    ]
    loader.close()


def test_copy_text_not_handed_over_is_a_permanent_syntax_error(sessions: Sessions) -> None:
    """The stand-in carries out the CopyCommand handed over, never text it would have to parse."""
    transport = on_stand_in(sessions())
    plan = plan_of('COPY "public"."kpis" FROM \'s3://bucket/a.csv\' IAM_ROLE default CSV')
    with pytest.raises(PermanentError) as caught:
        transport.run(plan)
    assert caught.value.message.startswith(
        "database error 42601: the local stand-in carries out COPY commands"
    )
    assert transport.query("SELECT 1") == [(1,)]  # rolled back, session usable
    transport.close()


# --- (d2) the ledger guard names its own cause only ----------------------------------


def guard_plan(guard_sql: str) -> TransactionPlan:
    """A plan whose guard step is ``guard_sql`` (after a write it must undo)."""
    steps = (
        SqlStep("INSERT INTO kpis VALUES (1, 'a')", "test"),
        SqlStep(guard_sql, GUARD_PURPOSE),
    )
    return TransactionPlan(target=KPIS, batch_id="0" * 32, mode="append", steps=steps)


def raising(code: str, message: str, detail: str = "") -> str:
    """A statement the server fails with exactly this SQLSTATE, message and detail."""
    return (
        f"DO $$ BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = '{code}', "
        f"DETAIL = '{detail}'; END $$"
    )


@pytest.mark.parametrize(
    ("guard", "budget", "expected"),
    [
        (
            raising("XX000", "1023", "Serializable isolation violation on table - 100123"),
            None,
            SerializationConflictError,
        ),
        (raising("40001", "could not serialize access"), None, SerializationConflictError),
        ("SELECT pg_sleep(5)", 0.5, TimeBudgetExceededError),
        (
            raising("42501", "permission denied for relation load_ledger"),
            None,
            PermissionDeniedError,
        ),
        # Redshift's compute nodes name only the first character of the failed cast.
        (
            raising("XX000", "Invalid digit, Value ''s'', Pos 0, Type: Integer"),
            None,
            BatchConflictError,
        ),
        (
            "SELECT CAST('s3redshift: already loaded: ' || 'kpis/a.csv' AS INTEGER)",
            None,
            BatchConflictError,
        ),
    ],
    ids=["1023", "40001", "statement-timeout", "42501", "redshift-cast", "marker"],
)
def test_only_the_guards_own_failure_is_a_batch_conflict(
    pg: Any, sessions: Sessions, guard: str, budget: float | None, expected: type[Exception]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    transport = on_stand_in(sessions())
    with pytest.raises(expected) as caught:
        transport.run(guard_plan(guard), time_budget=budget)
    assert type(caught.value) is expected
    assert caught.value.table == "public.kpis"
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]  # rolled back
    assert transport.query("SELECT 1") == [(1,)]  # and the session is usable
    transport.close()


@pytest.mark.timeout(60)
def test_two_loads_of_one_object_at_once_one_commits_the_other_is_a_batch_conflict(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    sessions: Sessions,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    """A genuine concurrent load still reaches the guard's own abort."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    planner = make_loader()
    first = put(s3, bucket, "kpis/0.csv", "id,name\n0,z\n")
    assert planner.load([first]).outcomes() == ["loaded"]  # the ledger exists from here
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    target = planner.mapper.resolve(obj)
    assert target is not None
    entry = ManifestEntry(bucket, "kpis/a.csv", obj.etag or "", obj.size or 0)
    plan = planner.plan_target(target, [entry], write=True)
    blocker = embedded_env.connect(database=pg_database)
    blocker.cursor().execute("LOCK TABLE kpis")  # both loads queue behind it
    outcomes: dict[int, BaseException | int] = {}

    def load(n: int) -> None:
        transport = on_stand_in(sessions())
        try:
            outcomes[n] = transport.run(plan)
        except BaseException as exc:
            outcomes[n] = exc
        finally:
            transport.close()

    workers = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for worker in workers:
        worker.start()
    for _ in range(250):  # both are waiting for the lock
        waiting = rows(
            pg,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            f"AND datname = '{pg_database}'",
        )
        pg.commit()
        if waiting == [(2,)]:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the two loads never both waited for the lock")
    blocker.rollback()
    blocker.close()
    for worker in workers:
        worker.join(timeout=30)
    results = sorted(outcomes.values(), key=lambda r: isinstance(r, BaseException))
    assert [type(r) for r in results] == [int, BatchConflictError]
    assert rows(pg, "SELECT id FROM kpis ORDER BY id") == [(0,), (1,)]


@contextlib.contextmanager
def login_role(pg: Any, embedded_env: EmbeddedEnvironment) -> Iterator[str]:
    """A fresh login role (roles are server-wide), dropped with its grants afterwards."""
    role = f"loader_{uuid.uuid4().hex[:12]}"
    execute(pg, f"CREATE ROLE {role} LOGIN")
    pg.commit()
    try:
        yield role
    finally:
        pg.rollback()
        execute(pg, f"DROP OWNED BY {role}")
        pg.commit()
        admin = embedded_env.connect()
        admin.autocommit = True
        admin.cursor().execute(f"DROP ROLE {role}")
        admin.close()


def test_a_role_that_cannot_read_the_ledger_is_refused_at_the_guard_not_a_conflict(
    pg: Any,
    embedded_env: EmbeddedEnvironment,
    sessions: Sessions,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    owner = make_loader()  # the ledger's owner creates it with a first load
    first = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    assert owner.load([first]).outcomes() == ["loaded"]
    new = put(s3, bucket, "kpis/b.csv", "id,name\n2,b\n")
    target = owner.mapper.resolve(new)
    assert target is not None
    plan = owner.plan_target(
        target, [ManifestEntry(bucket, "kpis/b.csv", new.etag or "", new.size or 0)], write=True
    )
    with login_role(pg, embedded_env) as role:
        # LOCK needs UPDATE; the guard's SELECT on the ledger is what is missing.
        execute(
            pg,
            f"GRANT USAGE ON SCHEMA s3redshift TO {role}",
            f"GRANT UPDATE ON {ledger_of('kpis')} TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON kpis TO {role}",
        )
        pg.commit()
        log: list[str] = []
        transport = recording_transport(sessions(user=role), log)
        with pytest.raises(PermissionDeniedError) as caught:
            transport.run(plan)
        transport.close()
    assert caught.value.retryable is False
    assert "permission denied" in caught.value.message
    guard = next(step.text() for step in plan.steps if step.purpose == GUARD_PURPOSE)
    assert log.count(guard) == 1
    assert log[log.index(guard) + 1 :] == [ROLLBACK]
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]


def test_a_permission_error_at_the_guard_fails_the_load_once_without_conflict_retries(
    pg: Any,
    embedded_env: EmbeddedEnvironment,
    sessions: Sessions,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    """The loader retries a batch conflict five times; a refused guard is not one."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    owner = make_loader()
    assert owner.load([put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")]).outcomes() == ["loaded"]
    with login_role(pg, embedded_env) as role:
        database = quote_identifier(rows(pg, "SELECT current_database()")[0][0])
        # The role owns the ledger and may read it (the loader's look-up works), but may
        # not run the guard's text concatenation, so its first refusal is at the guard.
        execute(
            pg,
            f"GRANT CREATE ON DATABASE {database} TO {role}",
            f"GRANT USAGE, CREATE ON SCHEMA s3redshift TO {role}",
            f"ALTER TABLE {ledger_of('kpis')} OWNER TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON kpis TO {role}",
            "REVOKE EXECUTE ON FUNCTION pg_catalog.textcat(text, text) FROM PUBLIC",
        )
        pg.commit()
        log: list[str] = []
        config = redshift_config()
        loader = Loader(
            config, transport=recording_transport(sessions(user=role), log), s3_client=s3
        )
        report = loader.load([put(s3, bucket, "kpis/b.csv", "id,name\n2,b\n")])
        loader.close()
    assert report.outcomes() == ["failed"]
    error = report.objects[0].error
    assert type(error) is PermissionDeniedError
    assert "textcat" in error.message
    [result] = report.targets
    assert result.attempts == 1
    assert sum(sql.startswith("LOCK ") for sql in log) == 1
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]


# --- password rotation and the real driver ------------------------------------------------


class RotatingSecret(CredentialProvider):
    """A provider over a secret store that can be rotated under it (as SSM can)."""

    def __init__(self, password: str) -> None:
        super().__init__(max_age=300)  # cached, like every real provider
        self.stored = password
        self.fetches = 0

    def _fetch(self) -> DbCredentials:
        self.fetches += 1
        return DbCredentials(user="loader", password=SecretStr(self.stored))


def test_refused_login_clears_the_provider_and_retries_once(server_dsn: str, s3: S3Client) -> None:
    provider = RotatingSecret("old-secret")
    assert provider.get().password.get_secret_value() == "old-secret"  # now cached
    provider.stored = "new-secret"  # rotated at the source
    accepted = ["new-secret"]
    offered: list[str] = []
    sessions = StandInConnector.from_dsn(server_dsn, s3_client=s3)

    def driver(**kwargs: Any) -> Any:
        """The cluster's password check in front of a real session."""
        offered.append(kwargs["password"])
        if kwargs["password"] != accepted[0]:
            raise redshift_connector.InterfaceError(
                {"S": "FATAL", "C": "28000", "M": 'password authentication failed for "loader"'}
            )
        return sessions()

    transport = on_stand_in(
        RedshiftConnector(host=HOST, auth=PasswordAuth(provider), driver_connect=driver)
    )
    assert transport.query("SELECT current_database() IS NOT NULL") == [(True,)]
    assert offered == ["old-secret", "new-secret"]
    assert provider.fetches == 2
    transport.close()
    accepted[0] = "not-what-the-store-holds"
    offered.clear()
    with pytest.raises(CredentialsError) as caught:
        transport.query("SELECT 1")
    assert offered == ["new-secret", "new-secret"]  # one fresh fetch, then give up
    assert provider.fetches == 3
    assert caught.value.retryable is False
    assert "new-secret" not in str(caught.value)


def test_a_statement_is_sent_as_written_percent_signs_included(sessions: Sessions) -> None:
    """No statement binds parameters, so the drivers' ``format`` style never rewrites one."""
    transport = on_stand_in(sessions())
    assert transport.query("SELECT 'kpis/100%s_%d %% done.csv'") == [("kpis/100%s_%d %% done.csv",)]
    transport.close()


def test_the_driver_needs_only_its_redshift_start_up_parameters_dropped(
    relays: Callable[..., Relay], pg_database: str
) -> None:
    """Why the relay rewrites the start-up message, and that it removes nothing else."""
    plain = relays(rewrite_startup=False)
    with pytest.raises(PermanentError) as caught:
        on_stand_in(real_driver(plain, database=pg_database)).query("SELECT 1")
    assert caught.value.message.startswith("database error 42704: unrecognized configuration")
    relay = relays()
    transport = on_stand_in(real_driver(relay, database=pg_database))
    assert transport.query("SELECT current_user, current_setting('application_name')") == [
        ("postgres", "s3redshift")
    ]
    transport.close()
    assert relay.dropped == {
        "client_protocol_version",
        "driver_version",
        "os_version",
        "driver_discovery_version",
    }


def test_the_production_arguments_reach_the_stand_in_over_verified_tls(
    relays: Callable[..., Relay], pg_database: str
) -> None:
    relay = relays()
    connector = real_driver(relay, database=pg_database)
    assert connector.driver_connect is None  # redshift_connector.connect itself
    assert connector.kwargs(connector.auth.provider.get())["sslmode"] == "verify-full"
    transport = on_stand_in(connector)
    assert transport.query("SELECT 41 + 1") == [(42,)]
    assert relay.tls_sessions == 1
    transport.close()


def test_a_server_certificate_the_driver_cannot_verify_is_a_permanent_error(
    relays: Callable[..., Relay], pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retrying cannot make a certificate valid: the host name or the CA is wrong."""
    relay = relays()
    monkeypatch.delenv("SSL_CERT_FILE")  # the relay's certificate is not trusted now
    transport = on_stand_in(real_driver(relay, database=pg_database))
    with pytest.raises(ConfigError) as caught:
        transport.query("SELECT 1")
    assert caught.value.retryable is False
    assert "certificate" in caught.value.message
    assert "target.host" in caught.value.message


# These two run on the real driver only: pg8000 answers a FATAL start-up error by
# failing to send its goodbye on the closed socket, so the stand-in reports a lost
# connection instead (a difference of the local driver, not of the transport).


def test_a_database_that_does_not_exist_is_a_permanent_error_naming_it(
    relays: Callable[..., Relay],
) -> None:
    """A wrong ``target.database`` (3D000) is not retried as if it could pass."""
    transport = on_stand_in(real_driver(relays(), database="no_such_database"))
    with pytest.raises(TargetMissingError) as caught:
        transport.query("SELECT 1")
    assert caught.value.retryable is False
    assert '"no_such_database" does not exist' in caught.value.message


def test_a_login_the_server_refuses_is_a_credentials_error(
    relays: Callable[..., Relay], pg_database: str
) -> None:
    """The driver's own refusal (28000, an unknown role) is read as a refused login."""
    connector = real_driver(relays(), database=pg_database, user="no_such_role")
    transport = on_stand_in(connector)
    with pytest.raises(CredentialsError) as caught:
        transport.query("SELECT 1")
    assert caught.value.retryable is False
    assert 'role "no_such_role" does not exist' in caught.value.message


def test_the_real_driver_takes_the_kwargs_and_an_unreachable_cluster_is_connection_lost() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = PasswordAuth(StaticCredentials("loader", "pw"))
    transport = on_stand_in(RedshiftConnector(host="127.0.0.1", port=port, auth=auth))
    with pytest.raises(ConnectionLostError) as caught:
        transport.query("SELECT 1")
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, redshift_connector.InterfaceError)


# --- (e) the driver's keyword arguments per auth mode -------------------------------------

COMMON = {
    "host": HOST,
    "port": 5439,
    "database": "dev",
    "ssl": True,
    "sslmode": "verify-full",
    "tcp_keepalive": True,
    "tcp_keepalive_idle": 30,
    "tcp_keepalive_interval": 10,
    "tcp_keepalive_count": 3,
    "application_name": "s3redshift",
}


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (
            PasswordAuth(StaticCredentials("loader", "s3cr3t")),
            {"user": "loader", "password": "s3cr3t"},
        ),
        (
            ClusterIamAuth(
                "analytics",
                db_user="loader",
                db_groups=("etl",),
                auto_create=True,
                region="eu-west-1",
            ),
            {
                "iam": True,
                "cluster_identifier": "analytics",
                "db_user": "loader",
                "db_groups": ["etl"],
                "auto_create": True,
                "region": "eu-west-1",
            },
        ),
        (
            ClusterIamAuth("analytics"),
            {"iam": True, "cluster_identifier": "analytics", "group_federation": True},
        ),
        (
            ServerlessIamAuth("analytics-wg", region="eu-west-1"),
            {
                "iam": True,
                "is_serverless": True,
                "serverless_work_group": "analytics-wg",
                "region": "eu-west-1",
            },
        ),
    ],
    ids=["password", "iam-provisioned", "iam-with-iam", "serverless"],
)
def test_connect_kwargs_per_auth_mode(auth: Any, expected: dict[str, Any]) -> None:
    credentials = auth.provider.get() if isinstance(auth, PasswordAuth) else None
    kwargs = connect_kwargs(
        host=HOST, port=5439, database="dev", auth=auth, credentials=credentials
    )
    assert kwargs == COMMON | expected
    assert "timeout" not in kwargs  # a socket timeout would cut a long COPY
    inspect.signature(redshift_connector.connect).bind(**kwargs)  # all real driver parameters


@pytest.mark.parametrize(
    ("target", "credentials", "auth"),
    [
        (
            {"cluster_identifier": "analytics"},
            {"provider": "iam", "user": "loader"},
            ClusterIamAuth("analytics", db_user="loader"),
        ),
        (
            {"cluster_identifier": "analytics"},
            {"provider": "iam"},
            ClusterIamAuth("analytics"),
        ),
        ({"workgroup": "wg"}, {"provider": "iam"}, ServerlessIamAuth("wg")),
    ],
)
def test_iam_configurations_use_the_drivers_iam_modes(
    target: dict[str, str], credentials: dict[str, str], auth: Any
) -> None:
    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "connector", "host": HOST} | target,
            "credentials": credentials,
            "copy": {"region": "eu-west-1"},
        }
    )
    transport = ConnectorTransport.from_config(config)
    assert transport._connect == RedshiftConnector(host=HOST, auth=auth)


def test_password_configuration_asks_the_configured_provider() -> None:
    config = redshift_config(credentials={"provider": "ssm", "user": "loader", "parameter": "/p"})
    connector = ConnectorTransport.from_config(config)._connect
    assert isinstance(connector.auth, PasswordAuth)
    assert isinstance(connector.auth.provider, SsmPasswordProvider)
    assert connector.auth.provider.parameter == "/p"
    static = redshift_config(
        credentials={"provider": "static", "user": "loader", "password": "hunter2-secret"}
    )
    connector = ConnectorTransport.from_config(static)._connect
    assert isinstance(connector.auth, PasswordAuth)
    assert connector.auth.provider.get().password.get_secret_value() == "hunter2-secret"
    assert "hunter2" not in repr(connector)


# --- (f) the statement timeout from the time budget ---------------------------------------


def test_time_budget_becomes_a_transaction_local_statement_timeout(sessions: Sessions) -> None:
    log: list[str] = []
    transport = recording_transport(sessions(), log)
    observe = plan_of(
        "CREATE TEMP TABLE seen AS SELECT current_setting('statement_timeout') AS timeout"
    )
    assert transport.run(observe, time_budget=30) == 0
    assert log == ["SET LOCAL statement_timeout TO 30000", observe.steps[0].text(), COMMIT]
    assert transport.query("SELECT timeout FROM seen") == [("30s",)]
    assert transport.query("SHOW statement_timeout") == [("0",)]  # gone with the transaction
    started = time.monotonic()
    with pytest.raises(TimeBudgetExceededError) as caught:
        transport.run(plan_of("SELECT pg_sleep(5)"), time_budget=0.25)
    assert time.monotonic() - started < 3
    assert caught.value.retryable is True
    transport.close()


@pytest.mark.parametrize("call", ["run", "execute"])
def test_each_statement_is_bounded_by_the_budget_left_when_it_starts(
    call: str, sessions: Sessions
) -> None:
    """The time a statement took is gone from the next one's timeout."""
    now = [100.0]
    log: list[str] = []

    def note(sql: str) -> None:
        log.append(sql)
        if sql == "SELECT 1":
            now[0] += 10  # the first statement takes 10 s

    connect = sessions()
    transport = on_stand_in(
        lambda: RecordingConnection(connect(), note, ended=lambda ok: log.append(COMMIT)),
        clock=lambda: now[0],
    )
    if call == "run":
        assert transport.run(plan_of("SELECT 1", "SELECT 2"), time_budget=30) == 0
    else:
        transport.execute("SELECT 1", "SELECT 2", time_budget=30)
    assert log == [
        "SET LOCAL statement_timeout TO 30000",
        "SELECT 1",
        "SET LOCAL statement_timeout TO 20000",
        "SELECT 2",
        COMMIT,
    ]
    transport.close()


def test_a_spent_time_budget_sends_nothing(server_dsn: str, s3: S3Client) -> None:
    opened: list[int] = []
    sessions = StandInConnector.from_dsn(server_dsn, s3_client=s3)

    def connect() -> Any:
        opened.append(1)
        return sessions()

    transport = on_stand_in(connect)
    with pytest.raises(TimeBudgetExceededError) as caught:
        transport.run(plan_of("SELECT 1"), time_budget=0)
    assert caught.value.table == "public.kpis"
    assert opened == []


def test_a_multi_file_rejection_naming_no_file_is_isolated_one_object_at_a_time(
    pg: Any, sessions: Sessions, s3: S3Client, bucket: str
) -> None:
    """With no readable error tables, the loader finds the bad file by loading files alone."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    log: list[str] = []
    transport = recording_transport(sessions(load_error_tables=()), log)
    good1 = put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n")
    bad = put(s3, bucket, "kpis/2.csv", "id,name\nx,b\n")
    good2 = put(s3, bucket, "kpis/3.csv", "id,name\n3,c\n")
    loader = Loader(redshift_config(), transport=transport, s3_client=s3)
    report = loader.load([good1, bad, good2])
    loader.close()
    assert report.outcomes() == ["loaded", "failed", "loaded"]
    error = report.objects[1].error
    assert isinstance(error, DataRejectedError)
    assert error.retryable is False
    assert rows(pg, "SELECT id FROM kpis ORDER BY id") == [(1,), (3,)]
    [target] = report.targets
    assert target.attempts == 4  # the whole batch, then each object alone
