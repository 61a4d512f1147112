"""Attacks on the exactly-once promise, each one a way it used to break.

Every test runs the loader end to end on the embedded stand-in (real
PostgreSQL, moto's S3 server). Faults are injected from outside the project's
code: a wrapper around the driver's connection that raises at a chosen
statement, and botocore's own event hooks on the S3 client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from helpers import put
from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, MappingError, PermissionDeniedError, RetryableError
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.ledger import ledger_table_for
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment, connector_config, stand_in_loader
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MANIFESTS = "_s3redshift/manifests/"
KPIS_LEDGER = '"s3redshift"."load_ledger_public_kpis_54cfea16"'
"""The ledger table of public.kpis, spelt out: the name is part of the contract."""


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt, SystemExit or a timeout library's exception."""


def interrupt(sql: str) -> None:
    raise Interrupted(f"interrupted at: {sql[:40]}")


class _Cursor:
    def __init__(self, cursor: Any, trap: Trap) -> None:
        self._cursor = cursor
        self._trap = trap

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._trap.seen.append(sql)
        if self._trap.armed and self._trap.matches(sql):
            self._trap.armed = False
            self._trap.action(sql)
        return self._cursor.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, connection: Any, trap: Trap) -> None:
        self._connection = connection
        self._trap = trap

    def cursor(self) -> _Cursor:
        return _Cursor(self._connection.cursor(), self._trap)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class Trap:
    """A connection factory whose sessions act once, before one statement (default: interrupt)."""

    def __init__(
        self,
        factory: Callable[[], Any],
        matches: Callable[[str], bool],
        action: Callable[[str], None] = interrupt,
    ) -> None:
        self._factory = factory
        self.matches = matches
        self.action = action
        self.armed = True
        self.seen: list[str] = []

    def __call__(self) -> _Connection:
        return _Connection(self._factory(), self)


def query(pg: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = pg.cursor()
    cursor.execute(sql)
    result = [tuple(r) for r in cursor.fetchall()]
    pg.commit()
    return result


def execute(pg: Any, *statements: str) -> None:
    cursor = pg.cursor()
    for sql in statements:
        cursor.execute(sql)
    pg.commit()


def config_for(dsn: str, **overrides: Any) -> LoaderConfig:
    document: dict[str, Any] = {
        **connector_config(dsn),
        "copy": {"iam_role": "default"},
        "tables": [
            {"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}},
        ],
    }
    document.update(overrides)
    return LoaderConfig.from_mapping(document)


def manifest_files(s3: S3Client, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=MANIFESTS)
    return [item["Key"] for item in listing.get("Contents", [])]


def temp_tables(pg: Any) -> list[str]:
    """Temporary tables of every live session on this database (PostgreSQL's catalog)."""
    return [
        str(r[0])
        for r in query(
            pg,
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname LIKE 'pg_temp%' AND c.relkind = 'r'",
        )
    ]


# --- a repeat inside one batch --------------------------------------------------


def test_same_object_with_and_without_its_etag_in_one_batch_loads_once(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    named = put(s3, bucket, "kpis/a.csv", "1\n2\n", at=None)
    bare = S3Object(bucket=bucket, key="kpis/a.csv")  # docs/library.md's hand-built form
    loader = stand_in_loader(config_for(dsn), s3_client=s3)
    loaders.append(loader)

    report = loader.load([named, bare])

    assert sorted(r.outcome for r in report.objects) == ["duplicate", "loaded"]
    assert query(pg, "SELECT id FROM kpis ORDER BY id") == [(1,), (2,)]
    assert query(pg, f"SELECT count(*) FROM {KPIS_LEDGER}") == [(1,)]


def test_same_version_named_by_version_id_and_by_etag_loads_once(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    response = s3.put_object(Bucket=bucket, Key="kpis/v.csv", Body=b"7\n")
    by_version = S3Object(bucket=bucket, key="kpis/v.csv", version_id=response["VersionId"])
    by_etag = S3Object(bucket=bucket, key="kpis/v.csv", etag=response["ETag"])
    loader = stand_in_loader(config_for(dsn), s3_client=s3)
    loaders.append(loader)

    report = loader.load([by_version, by_etag])

    assert sorted(r.outcome for r in report.objects) == ["duplicate", "loaded"]
    assert query(pg, "SELECT id FROM kpis") == [(7,)]
    assert query(pg, f"SELECT object_identity FROM {KPIS_LEDGER}") == [(response["VersionId"],)]


# --- any exit from a transaction rolls it back ----------------------------------


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda sql: sql.startswith("INSERT INTO"), id="ledger-insert"),
        pytest.param(lambda sql: sql.startswith('COPY "public"'), id="data-copy"),
        pytest.param(lambda sql: "already loaded" in sql, id="guard"),
    ],
)
def test_an_interrupted_transaction_is_never_committed_later(
    pg: Any,
    s3: S3Client,
    bucket: str,
    dsn: str,
    loaders: list[Loader],
    step: Callable[[str], bool],
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)", "CREATE TABLE other (id INT)")
    first = put(s3, bucket, "kpis/a.csv", "1\n2\n", at=None)
    trap = Trap(StandInConnector.from_dsn(dsn, s3_client=s3), step)
    loader = Loader(config_for(dsn), s3_client=s3, transport=stand_in_transport(trap))
    loaders.append(loader)

    with pytest.raises(Interrupted):
        loader.load([first])
    assert not trap.armed  # the fault really fired
    assert temp_tables(pg) == []  # the interrupted session is gone with its temp tables

    # The same warm Loader goes on: a later load must not commit the
    # interrupted transaction's rows, and must not trip over its leftovers.
    second = put(s3, bucket, "other/b.csv", "10\n", at=None)
    again = loader.load([second])
    assert [r.outcome for r in again.objects] == ["loaded"]
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]

    replay = loader.load([first])  # SQS redelivers the interrupted message
    assert [r.outcome for r in replay.objects] == ["loaded"]
    assert query(pg, "SELECT id FROM kpis ORDER BY id") == [(1,), (2,)]
    # Each table has its own ledger table.
    other_ledger = ledger_table_for("s3redshift", TableRef("public", "other")).sql
    assert query(pg, f"SELECT object_key FROM {KPIS_LEDGER}") == [("kpis/a.csv",)]
    assert query(pg, f"SELECT object_key FROM {other_ledger}") == [("other/b.csv",)]
    assert [r.outcome for r in loader.load([first]).objects] == ["duplicate"]


# --- the ledger is never a target -------------------------------------------------


def test_a_key_naming_the_ledger_through_a_capture_is_refused_and_forges_nothing(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE SCHEMA sales", "CREATE TABLE sales.orders (id INT)")
    rules = [{"pattern": "{schema}/{table}/**", "schema": "{schema}", "table": "{table}"}]
    for rule in rules:
        rule["format"] = {"type": "csv"}  # type: ignore[assignment]
    loader = stand_in_loader(config_for(dsn, tables=rules), s3_client=s3)
    loaders.append(loader)
    genuine = put(s3, bucket, "sales/orders/next.csv", "5\n", at=None)
    # A forged ledger row claiming that sales/orders/next.csv is already loaded.
    forged_row = (
        f'"{bucket}","sales/orders/next.csv","{genuine.etag}",2,'
        '"sales.orders","x",2026-01-01 00:00:00\n'
    )
    forged = put(s3, bucket, "s3redshift/load_ledger/forged.csv", forged_row, at=None)
    sibling = put(s3, bucket, "s3redshift/notes/x.csv", "1\n", at=None)

    report = loader.load([forged, sibling, genuine])

    outcome = {r.s3_object.key: r for r in report.objects}
    for key in ("s3redshift/load_ledger/forged.csv", "s3redshift/notes/x.csv"):
        assert outcome[key].outcome == "failed"
        assert isinstance(outcome[key].error, MappingError)
        assert "schema s3redshift holds the loader's ledger" in (outcome[key].reason or "")
    assert outcome["sales/orders/next.csv"].outcome == "loaded"
    assert query(pg, "SELECT id FROM sales.orders") == [(5,)]
    orders_ledger = ledger_table_for("s3redshift", TableRef("sales", "orders")).sql
    assert query(pg, f"SELECT object_key FROM {orders_ledger}") == [("sales/orders/next.csv",)]


@pytest.mark.parametrize(
    ("ledger", "named"),
    [
        # A ledger in a schema the rules load into could be loaded over.
        ({"schema": "public"}, ("ledger.schema", "public")),
        # The one-table ledger of earlier versions: say what replaced it.
        (
            {"table": "audit.load_ledger"},
            ("ledger.table was replaced by ledger.schema", "Upgrading"),
        ),
    ],
    ids=["schema_the_rules_load_into", "replaced_table_key"],
)
def test_a_ledger_setting_that_cannot_hold_is_refused_when_read(
    ledger: dict[str, str], named: tuple[str, str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_for("postgresql://u@127.0.0.1:5/db", ledger=ledger)
    for text in named:
        assert text in caught.value.message


# --- every per-object problem is a typed outcome ----------------------------------


def _fail_put_for(prefix: str) -> Callable[..., None]:
    def hook(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", "").startswith(prefix):
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected"}}, "PutObject"
            )

    return hook


def test_an_s3_error_writing_one_targets_manifest_fails_that_target_only(
    pg: Any, s3: S3Client, bucket: str, dsn: str, embedded_env: EmbeddedEnvironment
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)", "CREATE TABLE other (id INT)")
    objects = [
        put(s3, bucket, "kpis/a.csv", "1\n", at=None),
        put(s3, bucket, "other/b.csv", "2\n", at=None),
    ]
    client = embedded_env.boto3_client("s3")
    client.meta.events.register(
        "before-parameter-build.s3.PutObject", _fail_put_for(f"{MANIFESTS}public.kpis/")
    )
    with stand_in_loader(config_for(dsn), s3_client=client) as loader:
        report = loader.load(objects)

    outcome = {r.s3_object.key: r for r in report.objects}
    assert outcome["kpis/a.csv"].outcome == "failed"
    assert isinstance(outcome["kpis/a.csv"].error, RetryableError)
    assert outcome["other/b.csv"].outcome == "loaded"
    assert query(pg, "SELECT id FROM other") == [(2,)]
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_a_botocore_error_on_head_fails_that_object_only(
    pg: Any, s3: S3Client, bucket: str, dsn: str, embedded_env: EmbeddedEnvironment
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    objects = [
        put(s3, bucket, "kpis/a.csv", "1\n", at=None),
        put(s3, bucket, "kpis/b.csv", "2\n", at=None),
    ]
    client = embedded_env.boto3_client("s3")

    def unreachable(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "kpis/a.csv":
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    client.meta.events.register("before-parameter-build.s3.HeadObject", unreachable)
    with stand_in_loader(config_for(dsn), s3_client=client) as loader:
        report = loader.load(objects)

    outcome = {r.s3_object.key: r for r in report.objects}
    assert outcome["kpis/a.csv"].outcome == "failed"
    assert isinstance(outcome["kpis/a.csv"].error, RetryableError)
    assert outcome["kpis/a.csv"].error.s3_uri == f"s3://{bucket}/kpis/a.csv"
    assert outcome["kpis/b.csv"].outcome == "loaded"


def _forbidden(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, operation)


def _prefix_limited_client(
    env: EmbeddedEnvironment, s3: S3Client, bucket: str, denied: frozenset[str] = frozenset()
) -> S3Client:
    """An S3 client whose HeadObject answers as S3 does a role without bucket-wide ListBucket.

    A missing key answers 403 instead of 404; keys in ``denied`` answer 403
    although they exist (a real permission problem, e.g. a bucket policy).
    """

    def hook(params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key", "")
        if key in denied:
            raise _forbidden("HeadObject")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        if not any(item["Key"] == key for item in listed):
            raise _forbidden("HeadObject")

    client: S3Client = env.boto3_client("s3")
    client.meta.events.register("before-parameter-build.s3.HeadObject", hook)
    return client


def test_a_403_on_head_for_a_deleted_object_is_superseded_not_failed(
    pg: Any, s3: S3Client, bucket: str, dsn: str, embedded_env: EmbeddedEnvironment
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    gone = put(s3, bucket, "kpis/a.csv", "1\n", at=None)
    # A longer key that the deleted one is a prefix of: a listing shows it
    # first, and it must not be taken for the deleted key.
    longer = put(s3, bucket, "kpis/a.csv.1", "2\n", at=None)
    s3.delete_object(Bucket=bucket, Key=gone.key)
    client = _prefix_limited_client(embedded_env, s3, bucket)
    with stand_in_loader(config_for(dsn), s3_client=client) as loader:
        report = loader.load([gone, longer])

    outcome = {r.s3_object.key: r for r in report.objects}
    assert outcome["kpis/a.csv"].outcome == "superseded"
    assert outcome["kpis/a.csv"].reason == "deleted since the event"
    assert outcome["kpis/a.csv.1"].outcome == "loaded"
    assert query(pg, "SELECT id FROM kpis") == [(2,)]


def test_a_403_on_head_for_an_object_that_is_listed_is_a_permission_error(
    pg: Any, s3: S3Client, bucket: str, dsn: str, embedded_env: EmbeddedEnvironment
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    denied = put(s3, bucket, "kpis/denied.csv", "1\n", at=None)
    fine = put(s3, bucket, "kpis/fine.csv", "2\n", at=None)
    client = _prefix_limited_client(embedded_env, s3, bucket, frozenset({denied.key}))
    with stand_in_loader(config_for(dsn), s3_client=client) as loader:
        report = loader.load([denied, fine])

    outcome = {r.s3_object.key: r for r in report.objects}
    assert outcome["kpis/denied.csv"].outcome == "failed"
    error = outcome["kpis/denied.csv"].error
    assert isinstance(error, PermissionDeniedError)
    assert "s3:GetObject" in str(error)
    assert error.s3_uri == f"s3://{bucket}/kpis/denied.csv"
    assert outcome["kpis/fine.csv"].outcome == "loaded"
    assert query(pg, "SELECT id FROM kpis") == [(2,)]


def test_a_403_on_head_with_the_listing_refused_too_is_a_permission_error(
    pg: Any, s3: S3Client, bucket: str, dsn: str, embedded_env: EmbeddedEnvironment
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    gone = put(s3, bucket, "kpis/a.csv", "1\n", at=None)
    s3.delete_object(Bucket=bucket, Key=gone.key)
    client = _prefix_limited_client(embedded_env, s3, bucket)

    def refuse(**_: Any) -> None:
        raise _forbidden("ListObjectsV2")

    client.meta.events.register("before-parameter-build.s3.ListObjectsV2", refuse)
    with stand_in_loader(config_for(dsn), s3_client=client) as loader:
        report = loader.load([gone])

    (result,) = report.objects
    assert result.outcome == "failed"
    assert isinstance(result.error, PermissionDeniedError)
    assert "s3:ListBucket" in str(result.error)


def test_a_403_on_head_with_an_empty_truncated_listing_is_not_taken_for_gone(
    pg: Any, s3: S3Client, bucket: str, dsn: str, embedded_env: EmbeddedEnvironment
) -> None:
    """S3 may return fewer keys than MaxKeys (even none) with IsTruncated: that proves nothing."""
    execute(pg, "CREATE TABLE kpis (id INT)")
    there = put(s3, bucket, "kpis/a.csv", "1\n", at=None)
    client = _prefix_limited_client(embedded_env, s3, bucket, frozenset({there.key}))

    def short_page(**_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        page = {"IsTruncated": True, "KeyCount": 0, "Name": bucket, "Prefix": there.key}
        return AWSResponse("https://s3.invalid", 200, {}, None), page

    client.meta.events.register_first("before-call.s3.ListObjectsV2", short_page)
    with stand_in_loader(config_for(dsn), s3_client=client) as loader:
        report = loader.load([there])

    (result,) = report.objects
    assert result.outcome == "failed"  # redelivered, never "superseded"
    assert isinstance(result.error, PermissionDeniedError)


def test_an_event_for_a_bucket_that_does_not_exist_fails_naming_the_bucket(
    pg: Any, s3: S3Client, bucket: str, dsn: str
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    fine = put(s3, bucket, "kpis/fine.csv", "2\n", at=None)
    nowhere = S3Object(bucket=f"{bucket}-gone", key="kpis/a.csv", etag="0" * 32, size=2)
    with stand_in_loader(config_for(dsn), s3_client=s3) as loader:
        report = loader.load([nowhere, fine])

    outcome = {r.s3_object.uri: r for r in report.objects}
    gone = outcome[nowhere.uri]
    assert gone.outcome == "failed"  # not "superseded: deleted since the event"
    assert f"the bucket '{bucket}-gone' does not exist" in (gone.reason or "")
    assert outcome[fine.uri].outcome == "loaded"


def test_a_key_with_nul_fails_before_any_sql_and_its_neighbours_load(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    good = put(s3, bucket, "kpis/good.csv", "3\n", at=None)
    nul = S3Object(bucket=bucket, key="kpis/bad\x00.csv", etag="0" * 32, size=2)
    trap = Trap(StandInConnector.from_dsn(dsn, s3_client=s3), lambda sql: False)
    loader = Loader(config_for(dsn), s3_client=s3, transport=stand_in_transport(trap))
    loaders.append(loader)

    report = loader.load([nul, good])

    outcome = {r.s3_object.key: r for r in report.objects}
    assert outcome["kpis/bad\x00.csv"].outcome == "failed"
    assert isinstance(outcome["kpis/bad\x00.csv"].error, MappingError)
    assert "NUL" in (outcome["kpis/bad\x00.csv"].reason or "")
    assert outcome["kpis/good.csv"].outcome == "loaded"
    assert not [sql for sql in trap.seen if "bad" in sql]


# --- no debris in S3 ---------------------------------------------------------------


def test_manifests_and_object_lists_are_removed_after_commit_and_after_failure(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT)")
    loader = stand_in_loader(config_for(dsn), s3_client=s3)
    loaders.append(loader)
    good = put(s3, bucket, "kpis/a.csv", "1\n", at=None)
    bad = put(s3, bucket, "kpis/b.csv", "not a number\n", at=None)

    report = loader.load([good, bad])
    assert {r.s3_object.key: r.outcome for r in report.objects} == {
        "kpis/a.csv": "loaded",
        "kpis/b.csv": "failed",
    }
    assert report.targets[0].attempts >= 2  # a rejected attempt, then the good file alone
    assert manifest_files(s3, bucket) == []

    replay = loader.load([good])  # the guard path: nothing to load, nothing written
    assert [r.outcome for r in replay.objects] == ["duplicate"]
    assert manifest_files(s3, bucket) == []


def test_a_concurrent_cleanup_of_the_same_batchs_files_costs_a_retry_not_the_objects(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    """Loads of the same batch write the same manifest names; one may remove them first.

    The trap plays the other loader: just before this transaction's LOCK it
    removes every file under the manifest prefix, as a concurrent load of the
    same objects does after its commit.
    """
    execute(pg, "CREATE TABLE kpis (id INT)")
    objects = [
        put(s3, bucket, "kpis/a.csv", "1\n", at=None),
        put(s3, bucket, "kpis/b.csv", "2\n", at=None),
    ]

    def other_loader_cleans_up(sql: str) -> None:
        for key in manifest_files(s3, bucket):
            s3.delete_object(Bucket=bucket, Key=key)

    trap = Trap(
        StandInConnector.from_dsn(dsn, s3_client=s3),
        lambda sql: sql.startswith("LOCK"),
        other_loader_cleans_up,
    )
    loader = Loader(config_for(dsn), s3_client=s3, transport=stand_in_transport(trap))
    loaders.append(loader)

    report = loader.load(objects)

    assert not trap.armed
    assert [r.outcome for r in report.objects] == ["loaded", "loaded"]
    assert report.targets[0].attempts == 2
    assert query(pg, "SELECT id FROM kpis ORDER BY id") == [(1,), (2,)]
    assert manifest_files(s3, bucket) == []


# --- the answer to a transaction lost ----------------------------------------------------------


class _DroppingCursor:
    def __init__(self, cursor: Any, connection: _Dropping) -> None:
        self._cursor = cursor
        self._connection = connection

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.startswith(f"INSERT INTO {KPIS_LEDGER}"):
            self._connection.recorded = True
            if self._connection.point == "ledger_insert" and self._connection.armed[0]:
                self._connection.armed[0] = False
                raise ConnectionResetError(104, "Connection reset by peer")
        return self._cursor.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Dropping:
    """A session whose connection drops once: at the ledger's INSERT, or just after COMMIT."""

    def __init__(self, connection: Any, point: str, armed: list[bool]) -> None:
        self._connection = connection
        self.point = point
        self.armed = armed
        self.recorded = False

    def cursor(self) -> _DroppingCursor:
        return _DroppingCursor(self._connection.cursor(), self)

    def commit(self) -> None:
        self._connection.commit()
        if self.point == "after_commit" and self.recorded and self.armed[0]:
            self.armed[0] = False  # committed; the answer never reaches the loader
            raise ConnectionResetError(104, "Connection reset by peer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


@pytest.mark.parametrize("point", ["after_commit", "ledger_insert"])
def test_a_transaction_whose_answer_was_lost_is_reported_by_what_the_ledger_holds(
    pg: Any, s3: S3Client, bucket: str, dsn: str, point: str
) -> None:
    """Committed, the answer lost: this load's commit (loaded, announced once), not a duplicate.

    Not committed (the connection dropped before COMMIT): the retry loads it, once.
    """
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/a.csv", "1,a\n2,b\n")
    sessions = StandInConnector.from_dsn(dsn, s3_client=s3)
    armed = [True]
    transport = stand_in_transport(lambda: _Dropping(sessions(), point, armed))
    with Loader(config_for(dsn), s3_client=s3, transport=transport) as loader:
        report = loader.load([obj])
        assert not armed[0]  # the connection dropped
        assert report.outcomes() == ["loaded"]
        [target] = report.targets
        [commit] = target.commits
        assert commit.batch_id == target.batch_id
        assert commit.rows == (None if point == "after_commit" else 2)  # unknown when lost
        assert query(pg, "SELECT count(*) FROM kpis") == [(2,)]
        assert query(pg, f"SELECT count(*) FROM {KPIS_LEDGER}") == [(1,)]
        assert loader.load([obj]).outcomes() == ["duplicate"]
    assert query(pg, "SELECT count(*) FROM kpis") == [(2,)]


def test_the_lost_answer_query_is_exact_and_parses_as_redshift() -> None:
    import sqlglot

    from s3redshift.ledger import committed_batch_sql

    ledger = ledger_table_for("s3redshift", TableRef("public", "kpis"))
    sql = committed_batch_sql(ledger, "b1", "2026-12-07 20:00:00.000001")
    assert sql == (
        f'SELECT COUNT(*) FROM {KPIS_LEDGER} WHERE "batch_id" = \'b1\' AND "loaded_at" = '
        "CAST('2026-12-07 20:00:00.000001' AS TIMESTAMP)"
    )
    [parsed] = sqlglot.parse(sql, read="redshift")
    assert parsed is not None
