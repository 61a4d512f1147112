"""Backfill on the embedded stand-in: listing, filters, progress, and re-runs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from helpers import put
from s3redshift.backfill import BackfillProgress, backfill
from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, TimeBudgetExceededError
from s3redshift.events import S3Object
from s3redshift.ledger_queries import ledger_rows, not_loaded
from s3redshift.listing import list_prefix, parse_s3_uri
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

RULES = [
    {
        "pattern": "kpis/**",
        "table": "kpis",
        "format": {"type": "csv", "ignore_header": 1},
    },
    {"pattern": "events/**", "table": "events", "format": {"type": "json"}},
]


@pytest.fixture
def loader(embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client) -> Iterator[Loader]:
    config = LoaderConfig.from_mapping(
        {
            **embedded_env.connector_config(pg_database),
            "tables": RULES,
        }
    )
    with embedded_env.loader(config, s3_client=s3) as made:
        yield made


@pytest.fixture
def tables(pg: Any) -> Callable[[str], list[tuple[Any, ...]]]:
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    cursor.execute("CREATE TABLE events (id INT, kind VARCHAR(20))")
    pg.commit()

    def query(sql: str) -> list[tuple[Any, ...]]:
        cursor = pg.cursor()
        cursor.execute(sql)
        result = [tuple(r) for r in cursor.fetchall()]
        pg.commit()
        return result

    return query


def kpi(n: int) -> str:
    return f"id,name\n{n},k{n}\n"


def test_loads_mapped_objects_in_batches_with_exact_progress_and_skips_ignored_keys(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    sizes = [put(s3, bucket, f"kpis/2026/{n}.csv", kpi(n)).size for n in range(4)]
    sizes.append(put(s3, bucket, "events/e.json", '{"id": 9, "kind": "view"}\n').size)
    for ignored in ("kpis/_SUCCESS", "kpis/part.tmp", "kpis/_temporary/0/x.csv", "kpis/dir/"):
        put(s3, bucket, ignored, "")
    put(s3, bucket, "unknown/x.csv", "id\n1\n")
    seen: list[BackfillProgress] = []

    summary = backfill(loader, f"s3://{bucket}/", batch_size=2, progress=seen.append)

    total = sum(sizes)
    # Load order is last-modified time, then key: events/ sorts before kpis/
    # within the same second, so the exact split depends on the timestamps;
    # the totals and the object counts per call do not.
    assert [(p.objects_done, p.batches_done) for p in seen] == [(0, 0), (2, 1), (4, 2), (5, 3)]
    assert {(p.objects_total, p.bytes_total, p.batches_total) for p in seen} == {(5, total, 3)}
    assert seen[0].bytes_done == 0
    assert seen[-1].bytes_done == total
    assert seen[-1].finished
    assert not seen[0].finished
    assert all(a.bytes_done < b.bytes_done for a, b in itertools.pairwise(seen))
    assert summary.listed == 10
    assert summary.pending == 5
    assert summary.pending_bytes == total
    assert summary.tables == {"public.kpis": 4, "public.events": 1}
    assert summary.counts == {
        "loaded": 5,
        "duplicate": 0,
        "superseded": 0,
        "unmapped": 1,
        "ignored": 4,
        "failed": 0,
    }
    assert summary.rows == 5
    assert summary.ok
    assert len(summary.reports) == 3
    assert sorted(r.s3_object.key for r in summary.skipped) == [
        "kpis/_SUCCESS",
        "kpis/_temporary/0/x.csv",
        "kpis/dir/",
        "kpis/part.tmp",
        "unknown/x.csv",
    ]
    assert tables("SELECT id FROM kpis ORDER BY id") == [(0,), (1,), (2,), (3,)]
    assert tables("SELECT id, kind FROM events") == [(9, "view")]

    again = backfill(loader, f"s3://{bucket}/", batch_size=2)
    assert again.counts["loaded"] == 0
    assert again.counts["duplicate"] == 5
    assert again.rows == 0
    # The first run removed its manifests after each commit: the second run
    # lists exactly the same keys, and nothing is left under the manifest prefix.
    assert again.counts["ignored"] == 4
    assert again.listed == summary.listed
    assert tables("SELECT count(*) FROM kpis") == [(4,)]


def test_prefix_limits_the_listing(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    put(s3, bucket, "kpis/2025/a.csv", kpi(1))
    put(s3, bucket, "kpis/2026/b.csv", kpi(2))
    summary = backfill(loader, f"s3://{bucket}/kpis/2026/")
    assert summary.listed == 1
    assert summary.counts["loaded"] == 1
    assert tables("SELECT id FROM kpis") == [(2,)]


def test_dry_run_reads_the_ledger_names_what_would_load_and_writes_nothing(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    size = put(s3, bucket, "kpis/a.csv", kpi(1)).size + put(s3, bucket, "kpis/b.csv", kpi(2)).size
    put(s3, bucket, "kpis/_SUCCESS", "")
    seen: list[BackfillProgress] = []
    summary = backfill(loader, f"s3://{bucket}/", dry_run=True, progress=seen.append)
    assert summary.dry_run
    assert summary.pending == 2
    assert summary.pending_bytes == size
    assert summary.tables == {"public.kpis": 2}
    assert {t: [o.key for o in objects] for t, objects in summary.would_load.items()} == {
        "public.kpis": ["kpis/a.csv", "kpis/b.csv"]
    }
    assert summary.counts == {
        "loaded": 0,
        "duplicate": 0,
        "superseded": 0,
        "unmapped": 0,
        "ignored": 1,
        "failed": 0,
    }
    assert summary.reports == ()
    assert seen == [BackfillProgress(0, 2, 0, size, 0, 1)]
    assert tables("SELECT count(*) FROM kpis") == [(0,)]
    assert tables(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 's3redshift'"
    ) == [(0,)]

    # Once one is loaded, a dry run says only the other would load.
    assert backfill(loader, f"s3://{bucket}/kpis/a").counts["loaded"] == 1
    again = backfill(loader, f"s3://{bucket}/", dry_run=True)
    assert [o.key for o in again.would_load["public.kpis"]] == ["kpis/b.csv"]
    assert again.counts["duplicate"] == 1
    assert tables("SELECT count(*) FROM kpis") == [(1,)]


def test_since_keeps_objects_modified_at_or_after_it(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    put(s3, bucket, "kpis/old.csv", kpi(1))
    old = s3.head_object(Bucket=bucket, Key="kpis/old.csv")["LastModified"]
    # S3 (and moto) keep LastModified to the second: wait for the next one.
    while datetime.now(UTC) < old.astimezone(UTC) + timedelta(seconds=1):
        time.sleep(0.05)
    put(s3, bucket, "kpis/new.csv", kpi(2))
    new = s3.head_object(Bucket=bucket, Key="kpis/new.csv")["LastModified"]
    assert new > old

    summary = backfill(loader, f"s3://{bucket}/", since=new)
    assert summary.listed == 2
    assert summary.before_since == 1
    assert summary.counts["loaded"] == 1
    assert tables("SELECT id FROM kpis") == [(2,)]
    # A naive since is UTC.
    later = backfill(loader, f"s3://{bucket}/", since=new.astimezone(UTC).replace(tzinfo=None))
    assert later.before_since == 1
    assert later.counts["duplicate"] == 1


def test_rejected_file_is_a_failure_with_its_line_and_shows_as_not_loaded(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    put(s3, bucket, "kpis/good.csv", kpi(1))
    put(s3, bucket, "kpis/bad.csv", "id,name\n2,b\n3,c\nthree,d\n")
    summary = backfill(loader, f"s3://{bucket}/kpis/")
    assert not summary.ok
    assert summary.counts["loaded"] == 1
    assert summary.counts["failed"] == 1
    [failure] = summary.failures
    assert failure.s3_object.key == "kpis/bad.csv"
    assert [(d.line, d.column) for d in failure.load_errors] == [(4, "id")]
    assert tables("SELECT id FROM kpis") == [(1,)]

    missing = not_loaded(loader, f"s3://{bucket}/kpis/")
    assert [(o.key, t) for o, t in missing] == [("kpis/bad.csv", "public.kpis")]
    rows, total = ledger_rows(loader)
    assert total == 1
    assert [(r.bucket, r.key, r.table, r.size) for r in rows] == [
        (bucket, "kpis/good.csv", "public.kpis", len(kpi(1)))
    ]
    assert ledger_rows(loader, table="public.events") == ([], 0)


def test_ledger_rows_before_any_load_is_empty(loader: Loader) -> None:
    assert ledger_rows(loader) == ([], 0)


def test_versioned_bucket_uses_version_ids_so_an_event_load_is_recognised(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="kpis/a.csv", Body=kpi(1).encode())
    latest = s3.put_object(Bucket=bucket, Key="kpis/a.csv", Body=kpi(2).encode())
    s3.put_object(Bucket=bucket, Key="kpis/gone.csv", Body=kpi(3).encode())
    s3.delete_object(Bucket=bucket, Key="kpis/gone.csv")
    s3.put_object(Bucket=bucket, Key="kpis/b.csv", Body=kpi(4).encode())

    listed = sorted(list_prefix(s3, bucket, "kpis/"), key=lambda o: o.key)
    assert [(o.key, o.version_id) for o in listed] == [
        ("kpis/a.csv", latest["VersionId"]),
        ("kpis/b.csv", s3.head_object(Bucket=bucket, Key="kpis/b.csv")["VersionId"]),
    ]

    # An event loaded the latest version of a.csv before the backfill ran.
    event_object = S3Object(
        bucket=bucket,
        key="kpis/a.csv",
        size=len(kpi(2)),
        etag=latest["ETag"],
        version_id=latest["VersionId"],
        event_time=datetime.now(UTC),
    )
    assert loader.load([event_object]).outcomes() == ["loaded"]

    summary = backfill(loader, f"s3://{bucket}/kpis/")
    assert summary.counts["duplicate"] == 1
    assert summary.counts["loaded"] == 1
    assert tables("SELECT id FROM kpis ORDER BY id") == [(2,), (4,)]


def test_exhausted_time_budget_reports_batches_as_retryable_failures(
    s3: S3Client, bucket: str, loader: Loader, tables: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    for n in range(3):
        put(s3, bucket, f"kpis/{n}.csv", kpi(n))
    seen: list[BackfillProgress] = []
    summary = backfill(
        loader, f"s3://{bucket}/", batch_size=2, time_budget=0.0, progress=seen.append
    )
    assert summary.counts["failed"] == 3
    assert summary.counts["loaded"] == 0
    assert summary.reports == ()
    assert all(isinstance(f.error, TimeBudgetExceededError) for f in summary.failures)
    assert all(f.error is not None and f.error.retryable for f in summary.failures)
    assert [p.objects_done for p in seen] == [0, 2, 3]
    assert tables("SELECT count(*) FROM kpis") == [(0,)]


def test_bad_arguments_are_config_errors(loader: Loader, bucket: str) -> None:
    assert parse_s3_uri("s3://b/some/prefix") == ("b", "some/prefix")
    assert parse_s3_uri("s3://b") == ("b", "")
    with pytest.raises(ConfigError, match="expected an S3 URI"):
        backfill(loader, f"{bucket}/kpis/")
    with pytest.raises(ConfigError, match="names no bucket"):
        backfill(loader, "s3:///kpis/")
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        backfill(loader, f"s3://{bucket}/", batch_size=0)
    with pytest.raises(ConfigError, match="bucket does not exist"):
        backfill(loader, "s3://no-such-bucket-s3redshift/")
