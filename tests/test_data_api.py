"""The Data API transport against botocore's Stubber and moto.

The real Redshift is not here, so two stand-ins answer for it:

* botocore's ``Stubber`` on a real ``redshift-data`` client: every request the
  transport sends is checked parameter by parameter against the expected one
  (the client validates it against the service model too), and the answers
  are exact response sequences -- FAILED with a given error text, throttling,
  sub-statement results. This is how the batch calls are tested, since moto
  implements neither ``BatchExecuteStatement`` nor ``ListStatements``.
* moto (``mock_aws``), where it can answer: ``ExecuteStatement``,
  ``DescribeStatement`` (a statement stays ``STARTED`` until cancelled),
  ``CancelStatement`` (which makes it ``ABORTED``) and ``GetStatementResult``
  (fixed fake rows).

Each test's docstring says which stand-in it uses and what it proves.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from sqlglot import exp

from answered_data_api import AnsweredDataApi, answered_client, data_api_client
from helpers import FakeTime, put
from s3redshift.config import LoaderConfig
from s3redshift.copy import CopyCommand, CsvFormat, TemporaryKeys
from s3redshift.errors import (
    BatchAlreadyRunningError,
    BatchConflictError,
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    DatabaseConnectionError,
    DataRejectedError,
    KeyCollisionError,
    LoadErrorDetail,
    OutcomeUnknownError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    SerializationConflictError,
    TargetMissingError,
    ThrottledError,
    TimeBudgetExceededError,
)
from s3redshift.events import read_event
from s3redshift.identifiers import TableRef
from s3redshift.loader import Loader
from s3redshift.manifest import ManifestEntry
from s3redshift.planner import entries_from_events, plan_event, plan_transaction
from s3redshift.transaction import (
    KEYS_GUARD_PURPOSE,
    NEWER_GUARD_PURPOSE,
    CopyStep,
    SqlStep,
    TransactionPlan,
)
from s3redshift.transports.data_api import (
    FAILURE_PATTERNS,
    MAX_SQL_BYTES,
    MAX_STATEMENTS,
    DataApiTransport,
)

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
WORKGROUP = "analytics-wg"
CLUSTER = "analytics"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift-loader-AbCdEf"
STATEMENT = "0b6a1f3e-5c2d-4e8f-9a7b-1c2d3e4f5a6b"
EARLIER = "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"
CREATED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# --- helpers -------------------------------------------------------------------


def real_client() -> Any:
    """A real redshift-data client without long polls; Stubber answers it, nothing leaves.

    Its model is botocore's without ``WaitTimeSeconds`` (an older botocore, as a
    Lambda runtime may have): these tests pin the polling cadence; the long
    polls are tested with the answering fake (tests/test_data_api_latency.py).
    """
    return data_api_client(long_polls=False, region=REGION)


@pytest.fixture
def stubbed() -> Iterator[Callable[..., tuple[DataApiTransport, Stubber, FakeTime]]]:
    """Factory of (transport, stubber, time); every queued answer must be used."""
    stubbers: list[Stubber] = []

    def make(**kwargs: Any) -> tuple[DataApiTransport, Stubber, FakeTime]:
        client = real_client()
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        fake = FakeTime()
        target = {"workgroup": WORKGROUP} if "cluster_identifier" not in kwargs else {}
        transport = DataApiTransport(
            **({"database": "dev"} | target | kwargs),
            client=client,
            clock=fake.clock,
            sleep=fake.sleep,
        )
        return transport, stubber, fake

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def config(rule: dict[str, Any] | None = None, *, ledger: bool = True) -> LoaderConfig:
    return LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg"},
            "copy": {"iam_role": ROLE, "region": REGION},
            "ledger": {"enabled": ledger},
            "tables": [{"pattern": "{table}/**", "schema": "public"} | (rule or {})],
        }
    )


def s3_event(*keys: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": f"2026-11-28T12:00:0{n}.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": "data-bucket", "arn": "arn:aws:s3:::data-bucket"},
                    "object": {"key": key, "size": 10 + n, "eTag": f"{n:032x}"},
                },
            }
            for n, key in enumerate(keys)
        ]
    }


def plan_for(rule: dict[str, Any] | None = None, *keys: str) -> TransactionPlan:
    """A real plan, built the way ``s3redshift plan`` builds it."""
    planned = plan_event(config(rule), read_event(s3_event(*(keys or ("kpis/a.csv",)))))
    [target] = planned.targets
    return target.plan


def statement_name(batch: str, target_key: str = f"workgroup:{WORKGROUP}/dev") -> str:
    """The documented name: batch id plus 8 hex of SHA-256 over the target."""
    digest = hashlib.sha256(target_key.encode() + b"\x00").hexdigest()
    return f"s3redshift-{batch}-{digest[:8]}"


def client_token(
    batch: str, sqls: list[str], n: int, target_key: str = f"workgroup:{WORKGROUP}/dev"
) -> str:
    """The documented token: batch id, failed attempts, 16 hex over target and text."""
    digest = hashlib.sha256()
    for part in (target_key, *sqls):
        digest.update(part.encode() + b"\x00")
    return f"{batch}-{n}-{digest.hexdigest()[:16]}"


def sub(n: int, status: str = "FINISHED", **fields: Any) -> dict[str, Any]:
    return {"Id": f"{STATEMENT}:{n}", "Status": status} | fields


def described(
    status: str, subs: list[dict[str, Any]] | None = None, *, sid: str = STATEMENT, **fields: Any
) -> dict[str, Any]:
    return {"Id": sid, "Status": status, "SubStatements": subs or []} | fields


def finished_subs(plan: TransactionPlan, rows: dict[int, int]) -> list[dict[str, Any]]:
    """One FINISHED sub-statement per plan step; ``rows`` by 1-based position."""
    return [sub(n, ResultRows=rows.get(n, 0)) for n in range(1, len(plan.steps) + 1)]


def expect_listing(
    stubber: Stubber, name: str, statements: list[dict[str, Any]] | None = None
) -> None:
    stubber.add_response(
        "list_statements",
        {"Statements": statements or []},
        {"StatementName": name, "Status": "ALL", "RoleLevel": True, "MaxResults": 100},
    )


def expect_batch(
    stubber: Stubber,
    plan: TransactionPlan,
    *,
    n: int = 0,
    target: dict[str, Any] | None = None,
    target_key: str = f"workgroup:{WORKGROUP}/dev",
) -> None:
    sqls = plan.statements(redact=False)
    stubber.add_response(
        "batch_execute_statement",
        {"Id": STATEMENT, "CreatedAt": CREATED},
        (target or {"WorkgroupName": WORKGROUP, "Database": "dev"})
        | {
            "Sqls": sqls,
            "StatementName": statement_name(plan.batch_id, target_key),
            "ClientToken": client_token(plan.batch_id, sqls, n, target_key),
            "WithEvent": False,
        },
    )


def expect_describe(stubber: Stubber, response: dict[str, Any]) -> None:
    stubber.add_response("describe_statement", response, {"Id": response["Id"]})


def run_failing(
    make: Callable[..., tuple[DataApiTransport, Stubber, FakeTime]],
    plan: TransactionPlan,
    failed_at: int,
    error: str,
    **sub_fields: Any,
) -> S3RedshiftError:
    """Run ``plan`` with sub-statement ``failed_at`` (1-based) FAILED with ``error``."""
    transport, stubber, _ = make()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    subs = [sub(n) for n in range(1, failed_at)]
    subs.append(sub(failed_at, "FAILED", Error=error, **sub_fields))
    subs += [sub(n, "ABORTED") for n in range(failed_at + 1, len(plan.steps) + 1)]
    expect_describe(stubber, described("FAILED", subs, Error=error))
    with pytest.raises(S3RedshiftError) as caught:
        transport.run(plan)
    return caught.value


def kinds(sqls: list[str]) -> list[str]:
    """The sqlglot expression type of each statement, requiring exactly one each."""
    found = []
    for sql in sqls:
        parsed = sqlglot.parse(sql, read="redshift")
        assert len(parsed) == 1, sql
        node = parsed[0]
        assert node is not None
        if isinstance(node, exp.Command):
            # sqlglot has no grammar for LOCK and keeps it as a command.
            assert node.name.upper() == "LOCK", sql
            found.append("Lock")
        else:
            found.append(type(node).__name__)
    return found


# --- success, request parameters, golden batches ----------------------------------


def test_success_returns_rows_of_the_data_copies_only(stubbed: Any) -> None:
    """Stubber: list → batch → describe STARTED → FINISHED.

    Proves the rows are the ``ResultRows`` of the two data COPYs (120), not of
    the batch-list COPY or the ledger INSERT, and that polling pauses 0.25 s
    before the second look.
    """
    plan = plan_for({}, "kpis/a.csv", "kpis/b.csv.gz")
    assert [type(s).__name__ for s in plan.steps][4:6] == ["CopyStep", "CopyStep"]
    transport, stubber, fake = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    expect_describe(stubber, described("STARTED"))
    # batch-list COPY (3) and ledger INSERT (7) affect rows too; they must not count
    expect_describe(
        stubber, described("FINISHED", finished_subs(plan, {3: 2, 5: 100, 6: 20, 7: 2}))
    )
    assert transport.run(plan) == 120
    assert fake.sleeps == [0.25]


@pytest.mark.parametrize(
    ("kwargs", "target", "target_key"),
    [
        (
            {"cluster_identifier": CLUSTER, "secret_arn": SECRET_ARN},
            {"ClusterIdentifier": CLUSTER, "Database": "dev", "SecretArn": SECRET_ARN},
            f"cluster:{CLUSTER}/dev",
        ),
        (
            {"cluster_identifier": CLUSTER, "db_user": "loader"},
            {"ClusterIdentifier": CLUSTER, "Database": "dev", "DbUser": "loader"},
            f"cluster:{CLUSTER}/dev",
        ),
        (
            {"cluster_identifier": CLUSTER},
            {"ClusterIdentifier": CLUSTER, "Database": "dev"},
            f"cluster:{CLUSTER}/dev",
        ),
        (
            {"workgroup": WORKGROUP, "secret_arn": SECRET_ARN, "database": "analytics"},
            {"WorkgroupName": WORKGROUP, "Database": "analytics", "SecretArn": SECRET_ARN},
            f"workgroup:{WORKGROUP}/analytics",
        ),
        (
            {"workgroup": WORKGROUP},
            {"WorkgroupName": WORKGROUP, "Database": "dev"},
            f"workgroup:{WORKGROUP}/dev",
        ),
    ],
    ids=["cluster-secret", "cluster-db-user", "cluster-iam", "workgroup-secret", "workgroup-iam"],
)
def test_batch_request_parameters_for_each_target_and_sign_in(
    stubbed: Any, kwargs: dict[str, Any], target: dict[str, Any], target_key: str
) -> None:
    """Stubber with exact expected parameters.

    Proves the batch carries exactly the plan's unredacted statements, the
    documented StatementName and ClientToken, ``WithEvent=False``, and only the
    target and sign-in parameters of the chosen mode (no stray DbUser/SecretArn).
    """
    plan = plan_for()
    transport, stubber, _ = stubbed(**kwargs)
    expect_listing(stubber, statement_name(plan.batch_id, target_key))
    expect_batch(stubber, plan, target=target, target_key=target_key)
    expect_describe(stubber, described("FINISHED", finished_subs(plan, {5: 7})))
    assert transport.run(plan) == 7
    assert transport.auth == (
        "secret" if "secret_arn" in kwargs else "db-user" if "db_user" in kwargs else "iam"
    )


def test_name_and_token_shapes_fit_the_api_limits() -> None:
    """No AWS: StatementName ≤ 2048 and ClientToken 1-64 characters, per the model."""
    plan = plan_for()
    transport = DataApiTransport(database="dev", workgroup=WORKGROUP, client=real_client())
    name = transport.statement_name(plan.batch_id)
    token = transport.client_token(plan.batch_id, plan.statements(redact=False), 9_999)
    assert name == statement_name(plan.batch_id)
    assert len(name) == len("s3redshift-") + 32 + 1 + 8
    assert 1 <= len(token) <= 64
    assert token.startswith(f"{plan.batch_id}-9999-")
    other = DataApiTransport(database="dev", cluster_identifier=CLUSTER, client=real_client())
    assert other.statement_name(plan.batch_id) != name


GOLDEN_KINDS = {
    "append": ["Lock", "Create", "Copy", "Select", "Copy", "Insert", "Drop"],
    "replace": ["Lock", "Create", "Copy", "Select", "Select", "Delete", "Copy", "Insert", "Drop"],
    "upsert": [
        "Lock",
        "Create",
        "Copy",
        "Select",
        "Create",
        "Copy",
        "Create",
        "Delete",
        "Insert",
        "Insert",
        "Drop",
        "Drop",
        "Insert",
        "Drop",
    ],
}
GOLDEN_RULES: dict[str, dict[str, Any]] = {
    "append": {},
    "replace": {"mode": "replace"},
    "upsert": {"mode": "upsert", "keys": ["id"], "order_by": "ts", "columns": ["id", "val", "ts"]},
}


@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_golden_batch_for_each_mode(stubbed: Any, mode: str) -> None:
    """Stubber: the full BatchExecuteStatement request of a real plan, per mode.

    Proves the request is exactly {WorkgroupName, Database, Sqls, StatementName,
    ClientToken, WithEvent} with ``Sqls`` the plan's steps in order, one
    statement per entry, each parsing in sqlglot's Redshift dialect to the
    statement kind the mode's transaction needs; rows come from the data COPY.
    """
    plan = plan_for(GOLDEN_RULES[mode], "kpis/a.csv", "kpis/b.csv")
    sqls = plan.statements(redact=False)
    assert sqls == [step.text(redact=False) for step in plan.steps]
    assert kinds(sqls) == GOLDEN_KINDS[mode]
    assert len(sqls) <= MAX_STATEMENTS
    assert sum(len(s.encode()) for s in sqls) <= MAX_SQL_BYTES
    assert sqls[0] == 'LOCK "s3redshift"."load_ledger_public_kpis_54cfea16", "public"."kpis"'
    if mode == "replace":
        assert sqls[5] == 'DELETE FROM "public"."kpis"'
    data_at = next(
        n
        for n, s in enumerate(plan.steps, start=1)
        if isinstance(s, CopyStep) and s.purpose == "data"
    )
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    expect_describe(stubber, described("FINISHED", finished_subs(plan, {3: 2, data_at: 31})))
    assert transport.run(plan) == 31


def test_unredacted_statements_are_sent_and_never_shown(stubbed: Any) -> None:
    """Stubber: a COPY with temporary keys.

    Proves ``Sqls`` carries the real secret (Redshift needs it) while the plan's
    display text has ``'***'``, and that an error whose cluster text echoes the
    secret literal shows it masked -- in the message, ``str`` and ``repr``.
    """
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    command = CopyCommand(
        table=TableRef.parse("public.kpis"),
        source="s3://data-bucket/_s3redshift/manifests/public.kpis/x.manifest",
        manifest=True,
        format=CsvFormat(),
        authorization=TemporaryKeys(access_key_id="TESTACCESSKEYID00000", secret_access_key=secret),
    )
    plan = TransactionPlan(
        target=TableRef.parse("public.kpis"),
        batch_id="f" * 32,
        mode="append",
        steps=(
            SqlStep('LOCK "public"."kpis"', "serialize loads of this target"),
            CopyStep(command, "data", ("s3://data-bucket/kpis/a.csv",)),
        ),
    )
    assert secret in plan.statements(redact=False)[1]
    assert secret not in plan.statements()[1]
    echoed = f"ERROR: syntax error at or near \"x\" in COPY ... SECRET_ACCESS_KEY '{secret}' x"
    error = run_failing(stubbed, plan, 2, echoed)
    assert type(error) is PermanentError
    for text in (error.message, str(error), repr(error)):
        assert secret not in text
    assert "SECRET_ACCESS_KEY '***'" in error.message
    assert error.s3_uri == "s3://data-bucket/kpis/a.csv"


# --- failures ----------------------------------------------------------------------

# Plan of test_failed_statement_maps_to_its_class: append with the ledger,
# 1 LOCK, 2 CREATE batch, 3 COPY batch list, 4 guard, 5 COPY data, 6 INSERT ledger, 7 DROP.
FAILURES = [
    (
        4,
        'ERROR: invalid input syntax for integer: "s3redshift: already loaded: kpis/a.csv"',
        BatchConflictError,
    ),
    (
        4,
        "ERROR: Invalid digit, Value 's', Pos 0, Type: Integer DETAIL: error: Invalid digit, "
        "Value 's', Pos 0, Type: Integer code: 1207 context: query: 9876",
        BatchConflictError,
    ),
    (
        5,
        "ERROR: 1023 DETAIL: Serializable isolation violation on table - 104519, "
        "transactions forming the cycle are: 23318, 23317 (pid:11234)",
        SerializationConflictError,
    ),
    (
        6,
        "ERROR: could not complete because of conflict with concurrent transaction",
        SerializationConflictError,
    ),
    (1, 'ERROR: relation "public.kpis" does not exist', TargetMissingError),
    (1, 'ERROR: schema "s3redshift" does not exist', TargetMissingError),
    (5, "ERROR: permission denied for relation kpis", PermissionDeniedError),
    (
        3,
        "ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied,Rid X,CanRetry 1",
        PermissionDeniedError,
    ),
    (5, 'ERROR: syntax error at or near "FORMAT"', PermanentError),
    (5, "ERROR: Numeric data overflow (result precision)", DataRejectedError),
    (
        5,
        "ERROR: S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey",
        RetryableError,
    ),
    (5, "ERROR: Assert", RetryableError),
]


@pytest.mark.parametrize(("step", "text", "cls"), FAILURES)
def test_failed_statement_maps_to_its_class(
    stubbed: Any, step: int, text: str, cls: type[S3RedshiftError]
) -> None:
    """Stubber: describe answers FAILED with the cluster's error text on one sub-statement.

    Proves each text becomes exactly its class (guard marker and the guard's
    compute-node cast error → conflict, 1023 and SNAPSHOT conflicts → retryable
    serialization conflict, missing relation/schema, permission, syntax, data
    errors, an S3 "key does not exist" that is *not* a missing table, unknown →
    retryable), and names the table and the failed statement.
    """
    plan = plan_for()
    error = run_failing(stubbed, plan, step, text)
    assert type(error) is cls
    assert error.retryable is issubclass(cls, RetryableError)
    assert error.table == "public.kpis"
    if cls is not BatchConflictError:
        purpose = plan.steps[step - 1].purpose
        assert f"statement {step} of 7 ({purpose}) of batch {plan.batch_id}" in error.message


def test_failure_patterns_table_first_match() -> None:
    """No AWS: the pattern table alone, first match wins, near misses stay unmatched."""

    def first(text: str) -> type[S3RedshiftError] | None:
        return next((cls for pattern, cls in FAILURE_PATTERNS if pattern.search(text)), None)

    assert first("s3redshift: already loaded: a.csv invalid input syntax for") is (
        BatchConflictError
    )
    assert first("ERROR: 1023 DETAIL: Serializable isolation violation") is (
        SerializationConflictError
    )
    assert first("ERROR: 1018 DETAIL: Relation does not exist.") is SerializationConflictError
    assert first("ERROR: 1023") is SerializationConflictError  # the number alone, after ERROR:
    assert first("Load into table 'kpis' failed. Check 'stl_load_errors' system table") is (
        DataRejectedError
    )
    assert first("Cannot COPY into nonexistent table kpis") is TargetMissingError
    assert first('column "amount" of relation "kpis" does not exist') is PermanentError
    assert first('password authentication failed for user "loader"') is CredentialsError
    # near misses: a line number 1023, an S3 key that does not exist
    assert first("error at line 1023 of the file") is None
    assert first("The specified key does not exist") is None


def test_aborted_batch_is_retryable(stubbed: Any) -> None:
    """Stubber: describe answers ABORTED (the batch was cancelled).

    Proves a plain retryable error that says ABORTED and nothing was committed.
    """
    plan = plan_for()
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    expect_describe(stubber, described("ABORTED", [sub(1), sub(2, "ABORTED")]))
    with pytest.raises(RetryableError) as caught:
        transport.run(plan)
    assert type(caught.value) is RetryableError
    assert "ABORTED" in caught.value.message
    assert "nothing was committed" in caught.value.message


LOAD_ERROR = (
    "ERROR: Load into table 'kpis' failed. Check 'sys_load_error_detail' system table for details."
)
SYS_SQL = (
    "SELECT file_name, line_number, column_name, error_message, error_code FROM "
    "sys_load_error_detail WHERE query_id = CAST('4242' AS BIGINT) ORDER BY file_name, "
    "line_number LIMIT 100"
)
STL_SQL = (
    "SELECT filename, line_number, colname, err_reason, err_code FROM stl_load_errors "
    "WHERE query = CAST('4242' AS BIGINT) ORDER BY filename, line_number LIMIT 100"
)


def expect_read(stubber: Stubber, sql: str, records: list[list[dict[str, Any]]]) -> None:
    sid = "1a2b3c4d-0000-4000-8000-00000000000" + str(len(records))
    stubber.add_response(
        "execute_statement",
        {"Id": sid},
        {"Sql": sql, "WorkgroupName": WORKGROUP, "Database": "dev", "WithEvent": False},
    )
    expect_describe(stubber, described("FINISHED", sid=sid, HasResultSet=True))
    stubber.add_response("get_statement_result", {"Records": records}, {"Id": sid})


def test_rejected_copy_fetches_load_errors_by_query_id(stubbed: Any) -> None:
    """Stubber: the data COPY sub-statement FAILED, then a second statement reads details.

    Proves the transport reads SYS_LOAD_ERROR_DETAIL for the failed
    sub-statement's RedshiftQueryId (exact SQL), strips the CHAR padding, and
    raises a permanent DataRejectedError whose details name the S3 file, line,
    column, reason and code -- which the loader uses to leave that file out.
    """
    plan = plan_for({}, "kpis/a.csv", "kpis/b.csv")
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    failed = [sub(n) for n in range(1, 5)] + [
        sub(5, "FAILED", Error=LOAD_ERROR, RedshiftQueryId=4242),
        sub(6, "ABORTED"),
        sub(7, "ABORTED"),
    ]
    expect_describe(stubber, described("FAILED", failed, Error=LOAD_ERROR))
    expect_read(
        stubber,
        SYS_SQL,
        [
            [
                {"stringValue": "s3://data-bucket/kpis/b.csv" + " " * 30},
                {"longValue": 3},
                {"stringValue": "amount" + " " * 20},
                {"stringValue": "Invalid digit, Value 'x', Pos 0, Type: Integer     "},
                {"longValue": 1207},
            ]
        ],
    )
    with pytest.raises(DataRejectedError) as caught:
        transport.run(plan)
    error = caught.value
    assert not error.retryable
    assert error.details == (
        LoadErrorDetail(
            file="s3://data-bucket/kpis/b.csv",
            line=3,
            column="amount",
            reason="Invalid digit, Value 'x', Pos 0, Type: Integer",
            code="1207",
        ),
    )
    assert error.bad_files == frozenset({"s3://data-bucket/kpis/b.csv"})
    assert error.s3_uri is None  # two objects in that COPY: the details say which
    assert "statement 5 of 7 (data)" in error.message


def test_load_errors_fall_back_to_stl_when_sys_has_none(stubbed: Any) -> None:
    """Stubber: SYS_LOAD_ERROR_DETAIL returns no rows, STL_LOAD_ERRORS does.

    Proves the provisioned-cluster fallback by the same query id, and a null
    column (a whole-line error) kept as None.
    """
    plan = plan_for()
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    failed = [sub(n) for n in range(1, 5)] + [
        sub(5, "FAILED", Error=LOAD_ERROR, RedshiftQueryId=4242)
    ]
    expect_describe(stubber, described("FAILED", failed))
    expect_read(stubber, SYS_SQL, [])
    expect_read(
        stubber,
        STL_SQL,
        [
            [
                {"stringValue": "s3://data-bucket/kpis/a.csv   "},
                {"longValue": 2},
                {"stringValue": "    "},
                {"stringValue": "Delimiter not found   "},
                {"longValue": 1214},
            ]
        ],
    )
    with pytest.raises(DataRejectedError) as caught:
        transport.run(plan)
    assert caught.value.details == (
        LoadErrorDetail("s3://data-bucket/kpis/a.csv", 2, None, "Delimiter not found", "1214"),
    )
    assert caught.value.s3_uri == "s3://data-bucket/kpis/a.csv"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("ThrottlingException", ThrottledError),
        ("ActiveStatementsExceededException", ThrottledError),
        ("ActiveSessionsExceededException", ThrottledError),
        ("ValidationException", PermanentError),
        ("InternalServerException", RetryableError),
        ("DatabaseConnectionException", DatabaseConnectionError),
        ("BatchExecuteStatementException", RetryableError),
        ("SomethingNewException", RetryableError),
    ],
)
def test_api_errors_on_submit(stubbed: Any, code: str, cls: type[S3RedshiftError]) -> None:
    """Stubber: BatchExecuteStatement raises a ClientError with ``code``.

    Proves the code table (throttling → ThrottledError, ValidationException →
    permanent, service trouble → retryable, unknown → retryable), the cause
    chained with ``from``, and the message naming the call and the code.
    """
    plan = plan_for()
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    stubber.add_client_error(
        "batch_execute_statement", service_error_code=code, service_message="slow down"
    )
    with pytest.raises(S3RedshiftError) as caught:
        transport.run(plan)
    assert type(caught.value) is cls
    assert isinstance(caught.value.__cause__, ClientError)
    assert "the Data API's BatchExecuteStatement" in caught.value.message
    assert f"({code}: slow down)" in caught.value.message
    assert caught.value.table == "public.kpis"


def test_listing_denied_names_the_missing_permission(stubbed: Any) -> None:
    """Stubber: ListStatements answers AccessDeniedException.

    Proves a permanent PermissionDeniedError telling which action to allow.
    """
    plan = plan_for()
    transport, stubber, _ = stubbed()
    stubber.add_client_error(
        "list_statements", service_error_code="AccessDeniedException", http_status_code=403
    )
    with pytest.raises(PermissionDeniedError, match=r"allow redshift-data:ListStatements"):
        transport.run(plan)


def test_connection_failure_is_connection_lost() -> None:
    """No AWS: a botocore connection error becomes a retryable ConnectionLostError."""

    class Unreachable:
        def execute_statement(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://redshift-data.eu-west-1")

    transport = DataApiTransport(database="dev", workgroup=WORKGROUP, client=Unreachable())  # type: ignore[arg-type]
    with pytest.raises(ConnectionLostError) as caught:
        transport.execute("SELECT 1")
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


def test_throttled_polls_keep_waiting(stubbed: Any) -> None:
    """Stubber: DescribeStatement is throttled once, then answers FINISHED.

    Proves a refused look at a running batch is not a failed batch: polling
    backs off and goes on.
    """
    plan = plan_for()
    transport, stubber, fake = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    stubber.add_client_error("describe_statement", service_error_code="ThrottlingException")
    expect_describe(stubber, described("FINISHED", finished_subs(plan, {5: 4})))
    assert transport.run(plan) == 4
    assert fake.sleeps == [0.25]


# --- time budget ---------------------------------------------------------------------


def test_time_budget_runs_out_while_polling(stubbed: Any) -> None:
    """Stubber: the batch stays STARTED.

    Proves polling backs off (0.25, 0.375, then the rest of the budget), makes
    one last look at the deadline, then raises TimeBudgetExceededError naming
    the statement that keeps running -- and does not cancel it (no
    CancelStatement call is queued, so one would fail the test).
    """
    plan = plan_for()
    transport, stubber, fake = stubbed(time_budget=1.0)
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    for _ in range(4):
        expect_describe(stubber, described("STARTED"))
    with pytest.raises(TimeBudgetExceededError) as caught:
        transport.run(plan)
    assert fake.sleeps == [0.25, 0.375, 0.375]
    assert STATEMENT in caught.value.message
    assert "keeps running" in caught.value.message
    assert caught.value.retryable


@pytest.fixture
def moto_data_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto redshift-data client (credentials and endpoints isolated from the machine)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    }.items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")] + ["AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("redshift-data", region_name=REGION)


def moto_statements() -> dict[str, Any]:
    from moto.redshiftdata.models import redshiftdata_backends

    statements: dict[str, Any] = redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements
    return statements


def test_moto_statement_that_never_ends_exhausts_the_deadline(moto_data_api: Any) -> None:
    """moto: its statements stay STARTED, as a long COPY would.

    Proves the loader-set ``deadline`` bounds the wait on a real API round trip
    and the error names the statement moto created.
    """
    fake = FakeTime()
    transport = DataApiTransport(
        database="dev",
        cluster_identifier=CLUSTER,
        db_user="loader",
        client=moto_data_api,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    transport.deadline = fake.now + 3.0
    with pytest.raises(TimeBudgetExceededError) as caught:
        transport.execute("CREATE SCHEMA IF NOT EXISTS s3redshift")
    [sid] = moto_statements()
    assert sid in caught.value.message
    assert sum(fake.sleeps) == pytest.approx(3.0)
    assert moto_data_api.describe_statement(Id=sid)["Status"] == "STARTED"


NEVER_ENDING_LEDGER = """
import sys
from moto import mock_aws
from s3redshift.cli import main

with mock_aws():
    sys.exit(main(["ledger", "--config", sys.argv[1], "--timeout", "2"]))
"""


def test_cli_timeout_bounds_a_data_api_statement_that_never_ends(tmp_path: Path) -> None:
    """moto in a subprocess: its statements stay STARTED, so only --timeout ends the command.

    Without one deadline for the command, the ledger's first read polled forever.
    """
    config_file = tmp_path / "config.json"
    config_file.write_text(
        json.dumps(
            {
                "target": {"kind": "redshift", "transport": "data-api", "workgroup": WORKGROUP},
                "copy": {"iam_role": ROLE, "region": REGION},
            }
        ),
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", NEVER_ENDING_LEDGER, str(config_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1, run.stderr
    assert "s3redshift: error:" in run.stderr
    assert "TimeBudgetExceededError" in run.stderr or "time budget" in run.stderr
    assert elapsed < 60


def test_moto_cancelled_statement_is_aborted_and_retryable(moto_data_api: Any) -> None:
    """moto: CancelStatement (by "someone else", during the first pause) → ABORTED.

    Proves the ABORTED answer of the real describe shape maps to a retryable error.
    """

    def cancel_all() -> None:
        for sid, statement in moto_statements().items():
            if statement.status == "STARTED":
                moto_data_api.cancel_statement(Id=sid)

    fake = FakeTime(on_sleep=cancel_all)
    transport = DataApiTransport(
        database="dev",
        workgroup=WORKGROUP,
        client=moto_data_api,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    with pytest.raises(RetryableError, match="ABORTED"):
        transport.execute("SELECT 1")
    assert fake.sleeps == [0.25]


def test_moto_query_reads_and_converts_the_result(moto_data_api: Any) -> None:
    """moto: the statement finishes during the first pause; moto fakes the rows.

    Proves ``query`` sends the SQL with the cluster, database and DbUser (moto
    stores what it received), waits for FINISHED and converts moto's fields
    (longValue, stringValue) to Python values. Marking the statement finished
    sets moto's own state, the part of a database moto does not simulate.
    """

    def finish_all() -> None:
        for statement in moto_statements().values():
            statement.status = "FINISHED"
            statement.has_result_set = True

    fake = FakeTime(on_sleep=finish_all)
    transport = DataApiTransport(
        database="analytics",
        cluster_identifier=CLUSTER,
        db_user="loader",
        client=moto_data_api,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    rows = transport.query("SELECT number, street, city FROM addresses")
    assert rows == [
        (10, "Alpha st", "Vancouver"),
        (50, "Beta st", "Toronto"),
        (100, "Gamma av", "Seattle"),
    ]
    [sid] = moto_statements()
    sent = moto_data_api.describe_statement(Id=sid)
    assert sent["QueryString"] == "SELECT number, street, city FROM addresses"
    assert (sent["ClusterIdentifier"], sent["Database"], sent["DbUser"]) == (
        CLUSTER,
        "analytics",
        "loader",
    )


def test_query_pages_and_converts_every_field_type(stubbed: Any) -> None:
    """Stubber: GetStatementResult in two pages joined by NextToken.

    Proves every page is read (the second with the token) and each field kind
    becomes its Python value: isNull → None, string, long, double, boolean.
    """
    transport, stubber, _ = stubbed(secret_arn=SECRET_ARN)
    stubber.add_response(
        "execute_statement",
        {"Id": STATEMENT},
        {
            "Sql": "SELECT a, b, c, d, e FROM t",
            "WorkgroupName": WORKGROUP,
            "Database": "dev",
            "SecretArn": SECRET_ARN,
            "WithEvent": False,
        },
    )
    expect_describe(stubber, described("FINISHED", HasResultSet=True))
    stubber.add_response(
        "get_statement_result",
        {
            "Records": [
                [
                    {"isNull": True},
                    {"stringValue": "x"},
                    {"longValue": 7},
                    {"doubleValue": 1.5},
                    {"booleanValue": True},
                ]
            ],
            "NextToken": "page-2",
        },
        {"Id": STATEMENT},
    )
    stubber.add_response(
        "get_statement_result",
        {
            "Records": [
                [
                    {"stringValue": ""},
                    {"isNull": True},
                    {"longValue": -1},
                    {"doubleValue": 0.0},
                    {"booleanValue": False},
                ]
            ]
        },
        {"Id": STATEMENT, "NextToken": "page-2"},
    )
    assert transport.query("SELECT a, b, c, d, e FROM t") == [
        (None, "x", 7, 1.5, True),
        ("", None, -1, 0.0, False),
    ]


def test_failed_read_is_translated(stubbed: Any) -> None:
    """Stubber: a read whose statement FAILED on a missing table."""
    transport, stubber, _ = stubbed()
    stubber.add_response(
        "execute_statement",
        {"Id": STATEMENT},
        {
            "Sql": "SELECT 1 FROM x.y",
            "WorkgroupName": WORKGROUP,
            "Database": "dev",
            "WithEvent": False,
        },
    )
    expect_describe(stubber, described("FAILED", Error='ERROR: relation "x.y" does not exist'))
    with pytest.raises(TargetMissingError, match=r'relation "x\.y" does not exist'):
        transport.query("SELECT 1 FROM x.y")


# --- a batch still running, retries and tokens -----------------------------------------


def test_running_earlier_batch_is_waited_for_and_not_run_again(stubbed: Any) -> None:
    """Stubber: ListStatements shows this batch STARTED (a Lambda that died).

    Proves the transport waits for that statement and, when it FINISHED with
    the same shape, returns its data rows without submitting a second batch
    (no BatchExecuteStatement is queued). A statement whose name only starts
    with this batch's name is ignored.
    """
    plan = plan_for()
    name = statement_name(plan.batch_id)
    transport, stubber, fake = stubbed()
    expect_listing(
        stubber,
        name,
        [
            {"Id": EARLIER, "StatementName": name, "Status": "STARTED"},
            {"Id": STATEMENT, "StatementName": name + "-other", "Status": "STARTED"},
        ],
    )
    expect_describe(stubber, described("STARTED", sid=EARLIER))
    earlier_subs = [
        dict(s, Id=f"{EARLIER}:{i}") for i, s in enumerate(finished_subs(plan, {5: 42}), 1)
    ]
    expect_describe(stubber, described("FINISHED", earlier_subs, sid=EARLIER))
    assert transport.run(plan) == 42
    assert fake.sleeps == [0.25]


def test_running_earlier_batch_beyond_the_budget_is_batch_already_running(stubbed: Any) -> None:
    """Stubber: the earlier batch is still running when the budget ends.

    Proves BatchAlreadyRunningError (retryable), chained from the budget
    error, and that nothing was submitted.
    """
    plan = plan_for()
    name = statement_name(plan.batch_id)
    transport, stubber, _ = stubbed(time_budget=0.5)
    expect_listing(stubber, name, [{"Id": EARLIER, "StatementName": name, "Status": "PICKED"}])
    for _ in range(3):
        expect_describe(stubber, described("STARTED", sid=EARLIER))
    with pytest.raises(BatchAlreadyRunningError) as caught:
        transport.run(plan)
    assert EARLIER in caught.value.message
    assert isinstance(caught.value.__cause__, TimeBudgetExceededError)


def test_earlier_failures_give_a_new_client_token(stubbed: Any) -> None:
    """Stubber: one earlier attempt FAILED, another was running and then FAILED.

    Proves the new batch is submitted with ``<n>`` = 2 in its ClientToken, so
    the service cannot answer it with either failed statement.
    """
    plan = plan_for()
    name = statement_name(plan.batch_id)
    transport, stubber, _ = stubbed()
    expect_listing(
        stubber,
        name,
        [
            {"Id": STATEMENT, "StatementName": name, "Status": "FAILED"},
            {"Id": EARLIER, "StatementName": name, "Status": "SUBMITTED"},
        ],
    )
    expect_describe(stubber, described("FAILED", sid=EARLIER, Error="ERROR: 1023 DETAIL: x"))
    expect_batch(stubber, plan, n=2)
    expect_describe(stubber, described("FINISHED", finished_subs(plan, {5: 1})))
    assert transport.run(plan) == 1


def test_retry_after_failure_changes_token_even_if_listing_lags(stubbed: Any) -> None:
    """Stubber: attempt 1 FAILED (1023); attempt 2's listing does not show it yet.

    Proves the transport's own memory of the failure still moves ``<n>`` to 1.
    """
    plan = plan_for()
    name = statement_name(plan.batch_id)
    transport, stubber, _ = stubbed()
    expect_listing(stubber, name)
    expect_batch(stubber, plan, n=0)
    expect_describe(
        stubber,
        described(
            "FAILED",
            [sub(1, "FAILED", Error="ERROR: 1023 DETAIL: Serializable isolation violation")],
        ),
    )
    with pytest.raises(SerializationConflictError):
        transport.run(plan)
    expect_listing(stubber, name)
    expect_batch(stubber, plan, n=1)
    expect_describe(stubber, described("FINISHED", finished_subs(plan, {5: 9})))
    assert transport.run(plan) == 9


def test_lost_answer_resends_the_same_token(stubbed: Any) -> None:
    """Stubber: attempt 1's submit fails with InternalServerException (fate unknown).

    Proves attempt 2 sends the identical ClientToken, so a batch the service
    did accept is answered, not run a second time.
    """
    plan = plan_for()
    name = statement_name(plan.batch_id)
    sqls = plan.statements(redact=False)
    params = {
        "WorkgroupName": WORKGROUP,
        "Database": "dev",
        "Sqls": sqls,
        "StatementName": name,
        "ClientToken": client_token(plan.batch_id, sqls, 0),
        "WithEvent": False,
    }
    transport, stubber, _ = stubbed()
    expect_listing(stubber, name)
    stubber.add_client_error(
        "batch_execute_statement",
        service_error_code="InternalServerException",
        http_status_code=500,
        expected_params=params,
    )
    with pytest.raises(RetryableError):
        transport.run(plan)
    expect_listing(stubber, name)
    expect_batch(stubber, plan, n=0)
    expect_describe(stubber, described("FINISHED", finished_subs(plan, {5: 3})))
    assert transport.run(plan) == 3


@pytest.mark.parametrize(
    "fault",
    ["ResourceNotFoundException", "AccessDeniedException", "InternalServerException"],
)
def test_a_submitted_batch_that_cannot_be_looked_at_is_of_unknown_fate(
    stubbed: Any, fault: str
) -> None:
    """Stubber: BatchExecuteStatement answers an id, DescribeStatement then fails.

    Proves OutcomeUnknownError (retryable, files kept), naming the batch, the
    statement and the cause, chained from the API error, whatever the code:
    the batch was accepted and may still commit.
    """
    plan = plan_for()
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    expect_batch(stubber, plan)
    stubber.add_client_error("describe_statement", service_error_code=fault)
    with pytest.raises(OutcomeUnknownError) as caught:
        transport.run(plan)
    error = caught.value
    assert (error.retryable, error.batch_may_still_run, error.table) == (True, True, "public.kpis")
    assert plan.batch_id in error.message
    assert STATEMENT in error.message
    # The cause in the one AWS-error wording (aws_errors): the call and the code.
    assert re.search(rf"DescribeStatement\b.*\({fault}\)", error.message), error.message
    assert isinstance(error.__cause__, ClientError)


def test_an_earlier_batch_that_cannot_be_looked_at_is_of_unknown_fate(stubbed: Any) -> None:
    """Stubber: ListStatements shows this batch STARTED, DescribeStatement of it fails.

    Proves OutcomeUnknownError and that nothing is submitted (that batch reads
    the same files).
    """
    plan = plan_for()
    name = statement_name(plan.batch_id)
    transport, stubber, _ = stubbed()
    expect_listing(stubber, name, [{"Id": EARLIER, "StatementName": name, "Status": "STARTED"}])
    stubber.add_client_error("describe_statement", service_error_code="ResourceNotFoundException")
    with pytest.raises(OutcomeUnknownError, match=EARLIER):
        transport.run(plan)


@pytest.mark.parametrize(
    ("answer", "cls"),
    [(500, OutcomeUnknownError), (503, OutcomeUnknownError), (400, RetryableError)],
)
def test_a_submission_is_of_unknown_fate_unless_the_service_refused_it(
    stubbed: Any, answer: int, cls: type[S3RedshiftError]
) -> None:
    """Stubber: BatchExecuteStatement answers an error with HTTP ``answer``.

    Proves a 5xx answer (the request may have been accepted) is
    OutcomeUnknownError, while a 4xx refusal keeps its translated class.
    """
    plan = plan_for()
    transport, stubber, _ = stubbed()
    expect_listing(stubber, statement_name(plan.batch_id))
    stubber.add_client_error(
        "batch_execute_statement",
        service_error_code="InternalServerException",
        http_status_code=answer,
    )
    with pytest.raises(S3RedshiftError) as caught:
        transport.run(plan)
    assert type(caught.value) is cls
    assert caught.value.batch_may_still_run is (cls is OutcomeUnknownError)


def test_a_submission_whose_connection_dropped_is_of_unknown_fate() -> None:
    """No AWS: BatchExecuteStatement raises a botocore connection error (no answer).

    Proves OutcomeUnknownError chained from it; a single statement's
    connection error stays ConnectionLostError (tested above).
    """

    class Dropped:
        def list_statements(self, **_: Any) -> Any:
            return {"Statements": []}

        def batch_execute_statement(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://redshift-data.eu-west-1")

    transport = DataApiTransport(database="dev", workgroup=WORKGROUP, client=Dropped())  # type: ignore[arg-type]
    with pytest.raises(OutcomeUnknownError) as caught:
        transport.run(plan_for())
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


# --- limits ----------------------------------------------------------------------------


def test_ten_thousand_object_append_fits_one_batch() -> None:
    """No AWS: Loader.plan_target for 10,000 objects (two compressions) → one small batch.

    Proves object lists travel in S3 files: 8 statements and under 2 KB of SQL,
    far inside the 40-statement / 100 KB limits, and the transport accepts it.
    """
    loader = Loader(config())
    target = loader.mapper.resolve("kpis/a.csv")
    assert target is not None
    entries = [
        ManifestEntry(
            "data-bucket",
            f"kpis/2026/11/{i:05d}.csv" + (".gz" if i % 3 == 0 else ""),
            f"{i:032x}",
            100,
        )
        for i in range(10_000)
    ]
    plan = loader.plan_target(target, entries, write=False)
    sqls = plan.statements(redact=False)
    assert len(plan.data_objects) == 10_000
    assert len(sqls) == 8 <= MAX_STATEMENTS
    assert sum(len(s.encode()) for s in sqls) < 2_000 <= MAX_SQL_BYTES
    DataApiTransport(database="dev", workgroup=WORKGROUP)._check_limits(sqls, plan)


def test_plan_over_forty_statements_is_refused_before_any_call(stubbed: Any) -> None:
    """Stubber with nothing queued: an upsert without order_by staged object by object.

    Its objects shared keys, so each is merged alone: 7 statements each, 7 of
    frame. Six objects (49 statements) are refused with a permanent error
    naming the 40-statement limit and the fix, before any API call (an
    unexpected call would fail the Stubber); four (35) are within the limit.
    Planned normally, the six are one transaction.
    """
    rule = {"mode": "upsert", "keys": ["id"], "columns": ["id", "val"]}
    keys = [f"kpis/{c}.csv" for c in "abcdef"]
    shown = plan_event(config(rule), read_event(s3_event(*keys)))
    assert [len(t.objects) for t in shown.targets] == [6]
    loader = Loader(config(rule))
    target = loader.mapper.resolve(keys[0])
    assert target is not None
    entries = entries_from_events(read_event(s3_event(*keys)).objects)

    def one_at_a_time(count: int) -> TransactionPlan:
        return plan_transaction(
            target,
            entries[:count],
            settings=loader.settings,
            columns=("id", "val"),
            loaded_at="t",
            per_object=True,
        ).plan

    plan = one_at_a_time(6)
    assert len(plan.steps) == 7 + 7 * 6
    transport, _, _ = stubbed()
    assert transport.max_statements == 40
    with pytest.raises(PermanentError, match=r"49 statements.*at most 40.*set the rule's order_by"):
        transport.run(plan)
    four = one_at_a_time(4)
    assert len(four.steps) == 35
    transport._check_limits(four.statements(redact=False), four)


def test_plan_over_100_kb_is_refused(stubbed: Any) -> None:
    """Stubber with nothing queued: two statements totalling just over 100,000 bytes."""
    big = TransactionPlan(
        target=TableRef.parse("public.kpis"),
        batch_id="e" * 32,
        mode="append",
        steps=(
            SqlStep("SELECT '" + "x" * 50_000 + "'", "padding"),
            SqlStep("SELECT '" + "x" * 49_990 + "'", "padding"),
        ),
    )
    transport, _, _ = stubbed()
    with pytest.raises(PermanentError, match=r"100000 bytes"):
        transport.run(big)


# --- configuration ------------------------------------------------------------------------


IAM: dict[str, Any] = {"provider": "iam"}


@pytest.mark.parametrize(
    ("target", "credentials", "message"),
    [
        ({}, IAM, "needs target.cluster_identifier or target.workgroup"),
        ({"cluster_identifier": CLUSTER, "workgroup": WORKGROUP}, IAM, "not both"),
        ({"cluster_identifier": "Analytics_1"}, IAM, "is not a cluster identifier"),
        ({"workgroup": "wg"}, IAM, "is not a workgroup name"),
        ({"workgroup": WORKGROUP, "database": ""}, IAM, "needs target.database"),
        ({"workgroup": WORKGROUP}, {"provider": "iam", "user": "loader"}, "provisioned cluster"),
        (
            {"workgroup": WORKGROUP},
            {"provider": "secrets-manager", "secret_arn": "my-secret"},
            "Secrets Manager secret ARN",
        ),
    ],
)
def test_invalid_target_or_sign_in_is_a_config_error(
    target: dict[str, Any], credentials: dict[str, Any], message: str
) -> None:
    """No AWS: contradictory or malformed settings fail when read or opened, saying the fix.

    The transport's constructor trusts what the configuration validated; a
    secret and a named user never reach it together (from_config passes one).
    """
    document = {"target": {"transport": "data-api"} | target, "credentials": credentials}

    def read_and_open() -> None:
        config = LoaderConfig.from_mapping(document)
        DataApiTransport.from_config(config, client=real_client())

    with pytest.raises(ConfigError, match=message):
        read_and_open()


def test_a_time_budget_that_is_not_positive_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="time_budget must be positive"):
        DataApiTransport(database="dev", workgroup=WORKGROUP, time_budget=0)


def test_from_config_maps_credentials_to_sign_in() -> None:
    """No AWS: each credentials provider becomes its sign-in mode, passwords are refused."""

    def transport(target: dict[str, Any], credentials: dict[str, Any]) -> DataApiTransport:
        cfg = LoaderConfig.from_mapping(
            {
                "target": {"kind": "redshift", "transport": "data-api"} | target,
                "credentials": credentials,
            }
        )
        return DataApiTransport.from_config(cfg, client=real_client())

    by_secret = transport(
        {"workgroup": WORKGROUP, "database": "analytics"},
        {"provider": "secrets-manager", "secret_arn": SECRET_ARN},
    )
    assert (by_secret.workgroup, by_secret.database, by_secret.auth) == (
        WORKGROUP,
        "analytics",
        "secret",
    )
    assert by_secret.secret_arn == SECRET_ARN
    named = transport({"cluster_identifier": CLUSTER}, {"provider": "iam", "user": "loader"})
    assert (named.cluster_identifier, named.db_user, named.auth) == (CLUSTER, "loader", "db-user")
    assert transport({"workgroup": WORKGROUP}, {"provider": "iam"}).auth == "iam"
    with pytest.raises(ConfigError, match="which the Data API cannot use"):
        transport(
            {"cluster_identifier": CLUSTER},
            {"provider": "ssm", "user": "loader", "parameter": "/prod/pw"},
        )


def test_close_closes_only_a_client_it_created() -> None:
    """No AWS: an injected client stays usable after close; the transport's own is dropped."""
    injected = real_client()
    with DataApiTransport(database="dev", workgroup=WORKGROUP, client=injected) as transport:
        assert transport.client is injected
    assert transport.client is injected
    own = DataApiTransport(database="dev", workgroup=WORKGROUP, region=REGION)
    first = own.client
    own.close()
    assert own.client is not first


def test_open_transport_builds_the_data_api_transport_from_config() -> None:
    from s3redshift.transports import open_transport

    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "analytics-wg"},
            "credentials": {
                "provider": "secrets-manager",
                "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rs-AbCdEf",
            },
        }
    )
    transport = open_transport(config)
    assert isinstance(transport, DataApiTransport)
    assert transport.max_statements == 40
    assert transport.workgroup == "analytics-wg"
    assert transport.secret_arn == config.credentials.secret_arn


# --- the loader on the Data API: errors become the right outcomes -------------------------


@pytest.fixture
def moto_s3() -> Iterator[Any]:
    """In-process moto S3 with the object the events name (HEAD and manifest writes)."""
    with mock_aws():
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(
            Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield s3


def expect_single(stubber: Stubber, n: int, rows: list[list[dict[str, Any]]] | None = None) -> None:
    """One ExecuteStatement that FINISHES; with ``rows``, a read returning them."""
    sid = f"{STATEMENT[:-2]}{n:02d}"
    stubber.add_response("execute_statement", {"Id": sid, "CreatedAt": CREATED})
    expect_describe(stubber, described("FINISHED", sid=sid, HasResultSet=rows is not None))
    if rows is not None:
        stubber.add_response(
            "get_statement_result",
            {"Records": rows, "ColumnMetadata": [], "TotalNumRows": len(rows)},
            {"Id": sid},
        )


def expect_first_batch(stubber: Stubber, *, submitted: bool = True) -> None:
    """Set-up in two requests, a look-up finding nothing, then (``submitted``) the submit.

    The catalog finds neither the ledger nor an earlier one-table ledger, and
    one batch makes the schema and the ledger.
    """
    expect_single(stubber, 0, rows=[])  # information_schema: nothing there yet
    sid = f"{STATEMENT[:-2]}01"
    stubber.add_response("batch_execute_statement", {"Id": sid, "CreatedAt": CREATED})
    expect_describe(stubber, described("FINISHED", [sub(1), sub(2)], sid=sid))
    expect_single(stubber, 3, rows=[])  # ledger look-up: nothing loaded yet
    stubber.add_response("list_statements", {"Statements": []})
    if submitted:
        stubber.add_response("batch_execute_statement", {"Id": STATEMENT, "CreatedAt": CREATED})


def loader_on_data_api(stubbed: Any, s3: Any) -> tuple[Loader, Stubber, Any]:
    transport, stubber, fake = stubbed()
    cfg = config({"format": {"type": "csv", "ignore_header": 1}})
    loader = Loader(cfg, transport=transport, s3_client=s3, sleep=fake.sleep, clock=fake.clock)
    return loader, stubber, fake


def test_loader_on_data_api_loads_and_counts_the_data_copy_rows(stubbed: Any, moto_s3: Any) -> None:
    """Stubber (moto has no BatchExecuteStatement): the loader's whole conversation."""
    loader, stubber, _ = loader_on_data_api(stubbed, moto_s3)
    obj = put(moto_s3, "data-bucket", "kpis/a.csv", b"id,name\n1,a\n", at=None)
    expect_first_batch(stubber)
    subs = [sub(n, ResultRows=7 if n == 5 else 0) for n in range(1, 8)]
    expect_describe(stubber, described("FINISHED", subs))
    report = loader.load([obj])
    assert report.outcomes() == ["loaded"]
    assert report.rows == 7


def test_loader_on_data_api_turns_a_guard_failure_into_duplicate(
    stubbed: Any, moto_s3: Any
) -> None:
    """Stubber: FAILED at the guard (as Redshift words a failed cast) → re-read → duplicate."""
    loader, stubber, _ = loader_on_data_api(stubbed, moto_s3)
    obj = put(moto_s3, "data-bucket", "kpis/a.csv", b"id,name\n1,a\n", at=None)
    expect_first_batch(stubber)
    error = "ERROR: Invalid digit, Value 's', Pos 0, Type: Integer"
    subs = [sub(n) for n in range(1, 4)] + [sub(4, "FAILED", Error=error)]
    subs += [sub(n, "ABORTED") for n in range(5, 8)]
    expect_describe(stubber, described("FAILED", subs, Error=error))
    loaded_row = [
        {"stringValue": "data-bucket"},
        {"stringValue": "kpis/a.csv"},
        {"stringValue": obj.etag},
        {"longValue": len("kpis/a.csv")},
    ]
    expect_single(stubber, 4, rows=[loaded_row])  # a concurrent load recorded it
    report = loader.load([obj])
    assert report.outcomes() == ["duplicate"]
    assert report.objects[0].reason == "already loaded"


def test_loader_on_data_api_retries_a_throttled_submit_then_loads(
    stubbed: Any, moto_s3: Any
) -> None:
    """Stubber: ThrottlingException on BatchExecuteStatement → backoff → loaded."""
    loader, stubber, fake = loader_on_data_api(stubbed, moto_s3)
    obj = put(moto_s3, "data-bucket", "kpis/a.csv", b"id,name\n1,a\n", at=None)
    expect_first_batch(stubber, submitted=False)
    stubber.add_client_error("batch_execute_statement", "ThrottlingException", "Rate exceeded")
    expect_single(stubber, 4, rows=[])  # the ledger is read again before the retry
    stubber.add_response("list_statements", {"Statements": []})
    stubber.add_response("batch_execute_statement", {"Id": STATEMENT, "CreatedAt": CREATED})
    expect_describe(stubber, described("FINISHED", [sub(n) for n in range(1, 8)]))
    report = loader.load([obj])
    assert report.outcomes() == ["loaded"]
    assert fake.sleeps  # it backed off before trying again


def test_loader_on_data_api_reports_a_rejected_file_with_its_details(
    stubbed: Any, moto_s3: Any
) -> None:
    """Stubber: the data COPY FAILED; details read back by query id → failed, permanent."""
    loader, stubber, _ = loader_on_data_api(stubbed, moto_s3)
    obj = put(moto_s3, "data-bucket", "kpis/a.csv", b"id,name\n1,a\n", at=None)
    expect_first_batch(stubber)
    error = "ERROR: Load into table 'kpis' failed. Check 'sys_load_error_detail' system table"
    subs = [sub(n) for n in range(1, 5)]
    subs.append(sub(5, "FAILED", Error=error, RedshiftQueryId=4242))
    subs += [sub(n, "ABORTED") for n in range(6, 8)]
    expect_describe(stubber, described("FAILED", subs, Error=error))
    detail = [
        {"stringValue": "s3://data-bucket/kpis/a.csv   "},
        {"longValue": 2},
        {"stringValue": "id  "},
        {"stringValue": "Invalid digit, Value 'x'  "},
        {"longValue": 1207},
    ]
    expect_single(stubber, 4, rows=[detail])
    report = loader.load([obj])
    assert report.outcomes() == ["failed"]
    result = report.objects[0]
    assert result.error is not None
    assert (result.error.kind, result.error.retryable) == ("DataRejectedError", False)
    [found] = result.load_errors
    assert (found.file, found.line, found.column) == (obj.uri, 2, "id")


S3_URI = re.compile(r"s3://[^'\s]+")


@pytest.mark.parametrize(
    "fault",
    [
        "ResourceNotFoundException",
        EndpointConnectionError(endpoint_url="https://redshift-data.eu-west-1.amazonaws.com"),
    ],
    ids=["ResourceNotFoundException", "EndpointConnectionError"],
)
def test_a_batch_of_unknown_fate_keeps_its_files_and_its_redelivery_is_a_duplicate(
    moto_s3: Any, fault: str | BaseException
) -> None:
    """AnsweredDataApi (the real transport and loader) + moto S3 for objects and files.

    Every DescribeStatement of a submitted batch fails (the service does not
    know the id yet; the connection drops) while the batch may be running.
    Proves the object is reported failed, retryable, as OutcomeUnknownError;
    every manifest and object list the batches read is still in S3; and once
    the batch has committed (the ledger holds the object) a redelivery is a
    duplicate with no further batch: exactly once.
    """
    obj = put(moto_s3, "data-bucket", "kpis/a.csv", b"id,name\n1,a\n", at=None)
    committed = False
    ledger_row = [
        {"stringValue": obj.bucket},
        {"stringValue": obj.key},
        {"stringValue": obj.etag},
        {"longValue": len(obj.key)},
    ]

    def reads(sql: str) -> list[list[dict[str, Any]]]:
        looked_up = "information_schema" not in sql and obj.key in sql
        return [ledger_row] if committed and looked_up else []

    api = AnsweredDataApi(reads)
    api.unreadable = fault
    fake = FakeTime()
    transport = DataApiTransport(database="dev", workgroup=WORKGROUP, client=answered_client(api))
    cfg = config({"format": {"type": "csv", "ignore_header": 1}})
    loader = Loader(cfg, transport=transport, s3_client=moto_s3, sleep=fake.sleep, clock=fake.clock)

    report = loader.load([obj])

    assert report.outcomes() == ["failed"]
    error = report.objects[0].error
    assert error is not None
    assert (error.kind, error.retryable) == ("OutcomeUnknownError", True)
    assert api.batches  # submitted, then unknown
    files = {uri for sqls in api.batches for sql in sqls for uri in S3_URI.findall(sql)}
    files.discard(obj.uri)
    assert files, "the batches name their manifest and object list"
    for uri in sorted(files):
        key = uri.removeprefix("s3://data-bucket/")
        assert key.startswith(cfg.copy_.manifest_prefix), uri
        moto_s3.head_object(Bucket="data-bucket", Key=key)  # still there

    committed, api.unreadable = True, None
    submitted = len(api.batches)
    again = loader.load([obj])
    assert again.outcomes() == ["duplicate"]
    assert len(api.batches) == submitted


REDSHIFT_CAST_FAILURE = (
    "ERROR: Invalid digit, Value 's', Pos 0, Type: Integer DETAIL: error: Invalid digit, "
    "Value 's', Pos 0, Type: Integer code: 1207 context: query: 9876"
)


@pytest.mark.parametrize(
    ("rule", "purpose", "cls"),
    [
        (
            {"mode": "upsert", "keys": ["id"], "columns": ["id", "val"]},
            KEYS_GUARD_PURPOSE,
            KeyCollisionError,
        ),
        ({"mode": "replace"}, NEWER_GUARD_PURPOSE, BatchConflictError),
    ],
)
def test_each_guard_fails_as_its_own_class_however_redshift_words_the_cast(
    stubbed: Any, rule: dict[str, Any], purpose: str, cls: type[S3RedshiftError]
) -> None:
    """Stubber: the keys guard (upsert without order_by) and the newer-snapshot guard (replace).

    Redshift reports their deliberate cast without the marker text; the step
    that failed says which guard it was, and so which class the loader gets.
    """
    plan = plan_for(rule, "kpis/a.csv", "kpis/b.csv")
    [step] = [n for n, s in enumerate(plan.steps, start=1) if getattr(s, "purpose", "") == purpose]
    error = run_failing(stubbed, plan, step, REDSHIFT_CAST_FAILURE)
    assert type(error) is cls
    assert error.table == "public.kpis"
