"""The failures table: written after a failed load, best effort, and pruned once it loads.

On the stand-in (real PostgreSQL, moto S3) for what the loader writes; the
SQL is also parsed as Redshift's dialect, since the same text runs there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlglot

from helpers import put
from s3redshift.failures import (
    REASON_BYTES,
    Failure,
    create_failures_sql,
    delete_failures_sql,
    failures_table_for,
    insert_failures_sql,
    latest_failures,
    select_failures_sql,
    write_chunks,
)
from s3redshift.ledger_queries import last_failures
from s3redshift.loader import Loader
from test_loader import execute, make_loader, rows

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["make_loader"]  # the fixture, shared with test_loader

FAILURES = failures_table_for("s3redshift").sql
TABLE = failures_table_for("s3redshift")


def failure(key: str, *, reason: str = "bad", at: str = "2026-12-01 10:00:00.000000") -> Failure:
    return Failure("b", key, "etag", "public.kpis", at, "DataRejectedError", False, reason)


def test_the_failures_sql_parses_as_redshift() -> None:
    statements = [
        create_failures_sql(TABLE),
        insert_failures_sql(TABLE, [failure("k1.csv"), failure("it's.csv")]),
        delete_failures_sql(TABLE, "public.kpis", "b", ["k1.csv", "it's.csv"]),
        delete_failures_sql(TABLE, "public.kpis", "b", ["k1.csv"], before="2026-12-01 10:00:00"),
        select_failures_sql(TABLE, ["k1.csv"]),
    ]
    for sql in statements:
        parsed = sqlglot.parse_one(sql, read="redshift")
        assert parsed is not None
    assert "SORTKEY" in statements[0]
    assert "'it''s.csv'" in statements[1]


def test_a_reason_is_kept_on_one_line_and_cut_to_the_columns_width_in_bytes() -> None:
    long = "é" * REASON_BYTES  # two bytes each
    sql = insert_failures_sql(TABLE, [failure("k.csv", reason="first\nsecond\x07" + long)])
    [row] = sqlglot.parse_one(sql, read="redshift").find_all(sqlglot.exp.Tuple)
    reason = row.expressions[-1].this  # the last column, as Redshift reads the literal
    assert reason.startswith("first second é")
    assert len(reason.encode()) <= REASON_BYTES
    assert reason.endswith("...")


def test_a_batch_of_failures_is_written_in_statements_the_data_api_takes() -> None:
    # 500 objects (the CLI's batch) with 1,000-byte keys and reasons at the column's width.
    failures = [failure(f"{n:04d}/" + "k" * 995, reason="r" * 2 * REASON_BYTES) for n in range(500)]
    chunks = write_chunks(failures)
    assert [f for chunk in chunks for f in chunk] == failures
    assert len(chunks) > 1
    for chunk in chunks:
        statements = [
            insert_failures_sql(TABLE, chunk),
            delete_failures_sql(TABLE, "public.kpis", "b", [f.key for f in chunk], before="x"),
        ]
        assert max(len(sql.encode()) for sql in statements) < 100_000  # the Data API's limit


def test_the_newest_row_of_an_object_is_its_last_failure() -> None:
    older = ("b", "k.csv", "e", "public.kpis", "2026-12-01 10:00:00", "A", False, "old")
    newer = ("b", "k.csv", "e", "public.kpis", "2026-12-01 10:00:05", "B", True, "new")
    other = ("b", "k.csv ", "e", "public.kpis", "2026-12-01 10:00:09", "C", True, "blank")
    latest = latest_failures([newer, older, other])
    assert latest[("b", "k.csv", "public.kpis")].reason == "new"
    assert latest[("b", "k.csv", "public.kpis")].retryable is True
    assert latest[("b", "k.csv ", "public.kpis")].reason == "blank"


def test_a_rejected_file_is_recorded_and_its_row_deleted_once_it_loads(
    make_loader: Callable[..., Loader], s3: S3Client, bucket: str, pg: Any
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader()
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nx,a\n")
    report = loader.load([bad])
    assert report.outcomes() == ["failed"]
    columns = "object_key, target_table, error, retryable, reason"
    recorded = rows(pg, f"SELECT {columns} FROM {FAILURES}")
    assert recorded == [
        ("kpis/bad.csv", "public.kpis", "DataRejectedError", False, report.objects[0].explanation)
    ]
    assert recorded[0][4].startswith("line 2, column id:")

    # Failing again keeps one row per object: the last failure.
    assert loader.load([bad]).outcomes() == ["failed"]
    assert len(rows(pg, f"SELECT 1 FROM {FAILURES}")) == 1

    fixed = put(s3, bucket, "kpis/bad.csv", "id,name\n1,a\n")
    assert loader.load([fixed]).outcomes() == ["loaded"]
    assert rows(pg, f"SELECT 1 FROM {FAILURES}") == []


def test_a_new_record_replaces_only_that_objects_older_row(
    make_loader: Callable[..., Loader], s3: S3Client, bucket: str, pg: Any
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader()
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nx,a\n")
    assert loader.load([bad]).outcomes() == ["failed"]
    # Another bucket's object of the same key and table, recorded earlier.
    execute(
        pg,
        f"INSERT INTO {FAILURES} VALUES ('other-bucket', 'kpis/bad.csv', 'e', 'public.kpis', "
        "'2026-01-01 00:00:00', 'DataRejectedError', FALSE, 'its own reason')",
    )
    assert loader.load([bad]).outcomes() == ["failed"]
    assert sorted(rows(pg, f"SELECT bucket, reason FROM {FAILURES}")) == sorted(
        [("other-bucket", "its own reason"), (bucket, loader_reason(pg, bucket))]
    )
    assert len(rows(pg, f"SELECT 1 FROM {FAILURES} WHERE bucket = '{bucket}'")) == 1


def loader_reason(pg: Any, bucket: str) -> str:
    [(reason,)] = rows(pg, f"SELECT reason FROM {FAILURES} WHERE bucket = '{bucket}'")
    assert reason.startswith("line 2, column id:")
    return str(reason)


def test_a_failure_of_another_version_is_not_shown_for_the_current_one(
    make_loader: Callable[..., Loader], s3: S3Client, bucket: str, pg: Any
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader()
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nx,a\n")
    assert loader.load([bad]).outcomes() == ["failed"]
    assert set(last_failures(loader, [(bad, "public.kpis")])) == {
        (bucket, "kpis/bad.csv", "public.kpis")
    }
    rewritten = put(s3, bucket, "kpis/bad.csv", "id,name\n1,a\n")  # not loaded yet
    assert last_failures(loader, [(rewritten, "public.kpis")]) == {}


def test_a_failures_table_that_cannot_be_written_leaves_the_outcome_as_it_was(
    make_loader: Callable[..., Loader], s3: S3Client, bucket: str, pg: Any
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "CREATE SCHEMA IF NOT EXISTS s3redshift",
        f"CREATE TABLE {FAILURES} (unrelated INT)",  # an INSERT into it fails
    )
    loader = make_loader()
    good = put(s3, bucket, "kpis/good.csv", "id,name\n1,a\n")
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nx,a\n")
    report = loader.load([good, bad])
    assert report.outcomes() == ["loaded", "failed"]
    assert report.objects[1].reason.startswith("COPY into public.kpis rejected line 2")
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]
    # The loader's session is usable after the failed write: the next load works.
    other = put(s3, bucket, "kpis/other.csv", "id,name\n2,b\n")
    assert loader.load([other]).outcomes() == ["loaded"]


def test_without_a_ledger_nothing_is_recorded(
    make_loader: Callable[..., Loader], s3: S3Client, bucket: str, pg: Any
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader(ledger=False)
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nx,a\n")
    assert loader.load([bad]).outcomes() == ["failed"]
    tables = "SELECT 1 FROM information_schema.tables WHERE table_name = 'load_failures'"
    assert rows(pg, tables) == []
