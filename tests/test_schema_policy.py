"""Tables that follow their files, on the stand-in: every format under every setting.

Each test writes real files (text, or pyarrow's and fastavro's), loads them
through the loader into PostgreSQL standing in for Redshift, and reads back
the table's definition and contents.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from file_writers import EXTENSION, FORMATS, write
from helpers import put
from s3redshift.errors import S3RedshiftError, SchemaMismatchError
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.loader import Loader
from s3redshift.planner import entries_from_events
from s3redshift.schema_sync import fit_table
from test_loader import execute, make_loader, rows

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.standin
__all__ = ["make_loader"]  # the fixture, shared with test_loader

FORMAT_SETTINGS: dict[str, dict[str, Any]] = {
    "csv": {"type": "csv", "ignore_header": 1},
    "json": {"type": "json"},
    "parquet": {"type": "parquet"},
    "orc": {"type": "orc"},
    "avro": {"type": "avro"},
}
TEXT = ("csv", "json")
"""Formats whose types are read off values: their strings are sized by what was seen."""

EVOLVING = {"match": "name", "create": True, "evolve": ["add_columns", "widen"]}


def rule(fmt: str, **policy: Any) -> dict[str, Any]:
    return {
        "pattern": "{table}/**",
        "schema": "public",
        "format": FORMAT_SETTINGS[fmt],
        "schema_policy": policy,
    }


def put_file(
    s3: S3Client, bucket: str, name: str, fmt: str, columns: list[str], data: list[dict[str, Any]]
) -> S3Object:
    return put(s3, bucket, f"events/{name}.{EXTENSION[fmt]}", write(fmt, columns, data))


def definition(pg: Any, table: str = "events") -> list[tuple[str, str]]:
    return [
        (str(name), str(kind))
        for name, kind in rows(
            pg,
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
            f"attrelid = 'public.{table}'::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
        )
    ]


LONGEST = "character varying(65535)"
"""A text column of a rule that widens, or of unknown length: as long as it would ever be."""


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_then_drifting_files_load_by_name(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    loader = make_loader(rule(fmt, **EVOLVING))
    first = put_file(s3, bucket, "1", fmt, ["id", "name"], [{"id": 1, "name": "a"}])
    assert loader.load([first]).outcomes() == ["loaded"]
    assert definition(pg) == [("id", "bigint"), ("name", LONGEST)]

    reordered = put_file(s3, bucket, "2", fmt, ["name", "id"], [{"id": 2, "name": "b"}])
    added = put_file(
        s3, bucket, "3", fmt, ["id", "city", "name"], [{"id": 3, "name": "c", "city": "Oslo"}]
    )
    missing = put_file(s3, bucket, "4", fmt, ["id"], [{"id": 4}])
    report = loader.load([reordered, added, missing])
    assert report.outcomes() == ["loaded", "loaded", "loaded"], report.objects
    assert definition(pg) == [("id", "bigint"), ("name", LONGEST), ("city", LONGEST)]
    assert rows(pg, "SELECT id, name, city FROM events ORDER BY id") == [
        (1, "a", None),
        (2, "b", None),
        (3, "c", "Oslo"),
        (4, None, None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_create_without_widen_sizes_text_by_what_the_sample_holds(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    obj = put_file(s3, bucket, "1", fmt, ["id", "name"], [{"id": 1, "name": "n" * 200}])
    assert make_loader(rule(fmt, match="name", create=True)).load([obj]).outcomes() == ["loaded"]
    # Twice the longest value seen; a columnar file says no length: the longest VARCHAR.
    text = "character varying(512)" if fmt in TEXT else LONGEST
    assert definition(pg) == [("id", "bigint"), ("name", text)]


@pytest.mark.parametrize("fmt", TEXT)
def test_a_value_longer_than_the_column_widens_it_before_the_load(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, name VARCHAR(10))")
    long_name = "x" * 300
    obj = put_file(s3, bucket, "1", fmt, ["id", "name"], [{"id": 1, "name": long_name}])
    assert make_loader(rule(fmt, match="name", evolve=["widen"])).load([obj]).outcomes() == [
        "loaded"
    ]
    assert definition(pg) == [("id", "bigint"), ("name", "character varying(65535)")]
    assert rows(pg, "SELECT name FROM events") == [(long_name,)]


@pytest.mark.parametrize("fmt", TEXT)
def test_without_widen_the_long_value_fails_its_file_naming_column_and_types(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, name VARCHAR(10))")
    short = put_file(s3, bucket, "1", fmt, ["id", "name"], [{"id": 1, "name": "ok"}])
    long = put_file(s3, bucket, "2", fmt, ["id", "name"], [{"id": 2, "name": "y" * 30}])
    report = make_loader(rule(fmt, match="name")).load([short, long])
    assert report.outcomes() == ["loaded", "failed"]
    error = report.objects[1].error
    assert isinstance(error, SchemaMismatchError)
    assert error.s3_uri == long.uri
    assert "column 'name' is VARCHAR(10)" in error.message
    assert "VARCHAR(30)" in error.message
    assert definition(pg) == [("id", "bigint"), ("name", "character varying(10)")]
    assert rows(pg, "SELECT id FROM events") == [(1,)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_into_a_number_column_is_a_typed_failure_and_changes_nothing(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, name VARCHAR(64))")
    bad = put_file(
        s3, bucket, "1", fmt, ["id", "name", "extra"], [{"id": "x1", "name": "a", "extra": "e"}]
    )
    report = make_loader(rule(fmt, **EVOLVING)).load([bad])
    assert report.outcomes() == ["failed"]
    error = report.objects[0].error
    assert isinstance(error, SchemaMismatchError)
    assert not error.retryable
    assert "column 'id' is BIGINT" in error.message
    assert "VARCHAR" in error.message
    assert definition(pg) == [("id", "bigint"), ("name", "character varying(64)")]  # no extra
    assert rows(pg, "SELECT count(*) FROM events") == [(0,)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_new_column_without_add_columns_fails_its_file_alone(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, name VARCHAR(64))")
    fits = put_file(s3, bucket, "1", fmt, ["name", "id"], [{"id": 1, "name": "a"}])
    new = put_file(s3, bucket, "2", fmt, ["id", "city"], [{"id": 2, "city": "Oslo"}])
    report = make_loader(rule(fmt, match="name")).load([fits, new])
    assert report.outcomes() == ["loaded", "failed"]
    message = str(report.objects[1].error)
    assert "'city' is not in table public.events" in message
    assert "add_columns" in message
    assert rows(pg, "SELECT id, name FROM events") == [(1, "a")]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "orc"])
def test_create_by_position_takes_the_file_order_and_refuses_a_reordered_file(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    loader = make_loader(rule(fmt, create=True))
    first = put_file(s3, bucket, "1", fmt, ["b", "a"], [{"a": 1, "b": 2}])
    swapped = put_file(s3, bucket, "2", fmt, ["a", "b"], [{"a": 3, "b": 4}])
    report = loader.load([first, swapped])
    assert report.outcomes() == ["loaded", "failed"]
    assert 'set schema_policy.match = "name"' in str(report.objects[1].error)
    assert [name for name, _ in definition(pg)] == ["b", "a"]
    assert rows(pg, "SELECT a, b FROM events") == [(1, 2)]


@pytest.mark.parametrize("fmt", ["json", "avro"])
def test_create_by_position_of_json_and_avro_loads_any_field_order_copy_matches_names(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    loader = make_loader(rule(fmt, create=True))
    first = put_file(s3, bucket, "1", fmt, ["b", "a"], [{"a": 1, "b": 2}])
    swapped = put_file(s3, bucket, "2", fmt, ["a", "b"], [{"a": 3, "b": 4}])
    assert loader.load([first, swapped]).outcomes() == ["loaded", "loaded"]
    assert rows(pg, "SELECT a, b FROM events ORDER BY a") == [(1, 2), (3, 4)]


@pytest.mark.parametrize("fmt", ["parquet", "orc", "avro"])
def test_widen_lengthens_a_column_for_a_columnar_string_of_unknown_length(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, name VARCHAR(10))")
    long_name = "w" * 40
    obj = put_file(s3, bucket, "1", fmt, ["name", "id"], [{"id": 1, "name": long_name}])
    loader = make_loader(rule(fmt, match="name", evolve=["widen"]))
    assert loader.load([obj]).outcomes() == ["loaded"]
    assert definition(pg) == [("id", "bigint"), ("name", LONGEST)]
    assert rows(pg, "SELECT id, name FROM events") == [(1, long_name)]


def test_sort_and_dist_keys_are_accepted_by_the_stand_in(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    created = rule("parquet", match="name", create=True) | {"sort_key": ["at"], "dist_key": "id"}
    obj = put_file(s3, bucket, "1", "parquet", ["id", "at"], [{"id": 1, "at": "2026-12-01"}])
    assert make_loader(created).load([obj]).outcomes() == ["loaded"]
    indexes = rows(pg, "SELECT indexdef FROM pg_indexes WHERE tablename = 'events'")
    assert len(indexes) == 1
    assert indexes[0][0].endswith("(at)")


def test_two_loaders_evolving_one_table_at_once_both_load_and_no_column_is_lost(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, note VARCHAR(10))")
    policy = rule("csv", match="name", evolve=["add_columns", "widen"])
    loaders = [make_loader(policy), make_loader(policy)]
    shared = [f"c{n}" for n in range(6)]  # both files add these: their ALTERs collide
    notes = ["y" * 300, "z" * 3000]  # both lengthen note: neither may undo the other
    files = [
        put_file(
            s3,
            bucket,
            f"{n}",
            "csv",
            ["id", "note", *shared, f"only{n}"],
            [{"id": n, "note": notes[n], f"only{n}": "x"}],
        )
        for n in range(2)
    ]
    start = threading.Barrier(2)
    outcomes: list[list[str]] = [[], []]
    errors: list[object] = []

    def run(n: int) -> None:
        start.wait()
        report = loaders[n].load([files[n]])
        outcomes[n] = report.outcomes()
        errors.extend(o.error for o in report.objects if o.error is not None)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [["loaded"], ["loaded"]], errors
    names = [name for name, _ in definition(pg)]
    assert sorted(names) == sorted(["id", "note", *shared, "only0", "only1"])
    assert ("note", "character varying(65535)") in definition(pg)
    assert rows(pg, "SELECT id, note, only0, only1 FROM events ORDER BY id") == [
        (0, notes[0], "x", None),
        (1, notes[1], None, "x"),
    ]


def test_a_crash_between_the_ddl_and_the_load_leaves_a_table_the_retry_loads_into(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    policy = rule("parquet", **EVOLVING)
    obj = put_file(s3, bucket, "1", "parquet", ["id", "name"], [{"id": 1, "name": "a"}])
    crashed = make_loader(policy)
    target = crashed.mapper.resolve(obj)
    assert target is not None
    [entry] = entries_from_events([obj])
    # What the crashed attempt did before it died: the DDL, and nothing of the load.
    schema = crashed.schema_plan(target, [entry])
    assert schema.created == ("id", "name")
    files = [(entry.uri, _read(crashed, target, entry))]
    fit_table(crashed.transport, target.rule, TableRef("public", "events"), files, None)
    assert rows(pg, "SELECT count(*) FROM events") == [(0,)]
    # The redelivery, on a cold loader: nothing left to change, the file loads once.
    report = make_loader(policy).load([obj])
    assert report.outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, name FROM events") == [(1, "a")]
    assert make_loader(policy).load([obj]).outcomes() == ["duplicate"]


def _read(loader: Loader, target: Any, entry: Any) -> Any:
    from s3redshift.schema_reads import read_schema

    return read_schema(loader.s3, entry, target.rule, str(target.table))


def test_redshift_refuses_alter_column_type_in_a_transaction_block_and_so_does_the_stand_in(
    make_loader: Callable[..., Loader], pg: Any
) -> None:
    execute(pg, "CREATE TABLE events (name VARCHAR(10))")
    loader = make_loader()
    sql = 'ALTER TABLE "public"."events" ALTER COLUMN "name" TYPE VARCHAR(20)'
    with pytest.raises(Exception, match="cannot run inside a transaction block"):
        loader.transport.execute(sql)
    loader.transport.execute(sql, autocommit=True)
    assert definition(pg) == [("name", "character varying(20)")]


@pytest.mark.parametrize("fmt", ["parquet", "orc"])
def test_nested_columns_create_super_and_load_with_serializetojson(
    fmt: str, pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    obj = put_file(
        s3,
        bucket,
        "1",
        fmt,
        ["id", "tags", "where"],
        [{"id": 1, "tags": ["a", "b"], "where": {"x": 2}}],
    )
    loader = make_loader(rule(fmt, match="name", create=True))
    assert loader.load([obj]).outcomes() == ["loaded"]
    assert definition(pg) == [("id", "bigint"), ("tags", "super"), ("where", "super")]
    assert rows(pg, 'SELECT id, tags, "where" FROM events') == [(1, ["a", "b"], {"x": 2})]
    target = loader.mapper.resolve(obj)
    assert target is not None
    [entry] = entries_from_events([obj])
    plan = loader.plan_target(
        target, [entry], write=False, shapes=loader.schema_plan(target, [entry]).shapes
    )
    [copy] = [s for s in plan.statements() if s.startswith('COPY "s3redshift_file')]
    assert f"FORMAT AS {fmt.upper()} SERIALIZETOJSON MANIFEST" in copy


def test_a_schema_statement_outside_a_transaction_still_ends_by_its_budget(
    make_loader: Callable[..., Loader], pg: Any
) -> None:
    from s3redshift.errors import TimeBudgetExceededError

    execute(pg, "CREATE TABLE events (name VARCHAR(10))")
    loader = make_loader()
    cursor = pg.cursor()
    cursor.execute("LOCK TABLE events")  # held: pg's transaction stays open
    started = time.monotonic()
    try:
        with pytest.raises(TimeBudgetExceededError):
            loader.transport.execute(
                'ALTER TABLE "public"."events" ALTER COLUMN "name" TYPE VARCHAR(20)',
                time_budget=1.0,
                autocommit=True,
            )
    finally:
        pg.rollback()
    assert time.monotonic() - started < 5
    # The session's own timeout was reset: later statements on it are not cut at 1 s.
    [(timeout,)] = loader.transport.query("SHOW statement_timeout")
    assert timeout == "0"
    # And it is back in transactions: two statements still commit together or not at all.
    with pytest.raises(S3RedshiftError):
        loader.transport.execute("CREATE TABLE twice (a INT)", "CREATE TABLE twice (a INT)")
    assert rows(pg, "SELECT count(*) FROM pg_tables WHERE tablename = 'twice'") == [(0,)]


def test_an_empty_column_loads_nulls_into_a_number_column(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id INT, k INT, ts INT)")
    obj = put(s3, bucket, "events/1.csv", "ts,id,k\n10,1,\n20,2,\n")
    assert make_loader(rule("csv", match="name")).load([obj]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, k, ts FROM events ORDER BY id") == [(1, None, 10), (2, None, 20)]


def test_an_always_null_parquet_column_loads_into_a_number_column_as_its_default(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    import pyarrow as pa

    from file_writers import parquet_bytes

    execute(pg, "CREATE TABLE events (id BIGINT, score INT DEFAULT 7)")
    table = pa.table({"score": pa.array([None], pa.null()), "id": pa.array([1], pa.int64())})
    obj = put(s3, bucket, "events/1.parquet", parquet_bytes(table))
    assert make_loader(rule("parquet", match="name")).load([obj]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, score FROM events") == [(1, 7)]


def test_a_widening_on_a_column_with_a_default_fails_the_file_as_redshift_would(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id BIGINT, name VARCHAR(10) DEFAULT 'none')")
    obj = put_file(s3, bucket, "1", "csv", ["id", "name"], [{"id": 1, "name": "v" * 30}])
    report = make_loader(rule("csv", match="name", evolve=["widen"])).load([obj])
    assert report.outcomes() == ["failed"]
    assert "lengthens no column that has a DEFAULT" in str(report.objects[0].error)
    assert definition(pg) == [("id", "bigint"), ("name", "character varying(10)")]
