"""The loader on the embedded stand-in: real PostgreSQL, real (moto) S3.

These tests prove the exactly-once transaction, the modes and the failure
handling for real; Redshift's own COPY parser is not involved (the COPY text
is checked in test_copy.py and test_plan.py).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from helpers import T0, put
from s3redshift.config import LoaderConfig
from s3redshift.errors import BatchConflictError, DataRejectedError, S3RedshiftError
from s3redshift.identifiers import TableRef
from s3redshift.ledger import ledger_table_for
from s3redshift.loader import Loader, wait_for_interrupted_loads
from s3redshift.local import EmbeddedEnvironment
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport
from s3redshift.manifest import ManifestEntry
from s3redshift.planner import NEWER_IN_BATCH
from s3redshift.transaction import GUARD_PURPOSE, SqlStep, TransactionPlan

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def ledger_of(table: str) -> str:
    """The SQL name of public.<table>'s ledger (one ledger table per target)."""
    return ledger_table_for("s3redshift", TableRef("public", table)).sql


CSV_RULE = {
    "pattern": "{table}/**",
    "schema": "public",
    "format": {"type": "csv", "ignore_header": 1},
}


@pytest.fixture
def make_loader(
    embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client
) -> Iterator[Callable[..., Loader]]:
    """Build loaders for the test database; all are closed afterwards."""
    made: list[Loader] = []

    def factory(*rules: dict[str, Any], ledger: bool = True) -> Loader:
        config = LoaderConfig.from_mapping(
            {
                **embedded_env.connector_config(pg_database),
                "copy": {"iam_role": "default"},
                "ledger": {"enabled": ledger},
                "tables": list(rules or (CSV_RULE,)),
            }
        )
        loader = embedded_env.loader(config, s3_client=s3)
        made.append(loader)
        return loader

    yield factory
    for loader in made:
        loader.close()


def rows(pg: Any, sql: str) -> list[tuple[Any, ...]]:
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


def test_csv_gzip_delimited_and_json_lines_load_exact_rows(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "CREATE TABLE pipes (id INT, note VARCHAR(20))",
        "CREATE TABLE events (id INT, kind VARCHAR(20), extra VARCHAR(50))",
    )
    loader = make_loader(
        CSV_RULE | {"pattern": "kpis/**", "table": "kpis"},
        {"pattern": "pipes/**", "table": "pipes", "format": {"type": "delimited"}},
        {"pattern": "events/**", "table": "events", "format": {"type": "json"}},
    )
    objects = [
        put(s3, bucket, "kpis/a.csv", 'id,name\n1,"x, y"\n2,plain\n'),
        put(s3, bucket, "kpis/b.csv.gz", gzip.compress(b"id,name\n3,zipped\n")),
        put(s3, bucket, "pipes/p.txt", "10|ten\n11|\\N\n"),
        put(
            s3,
            bucket,
            "events/e.json",
            '{"id": 7, "kind": "click"}\n{"id": 8, "kind": "view", "extra": {"k": 1}}\n',
        ),
    ]
    report = loader.load(objects)
    assert report.outcomes() == ["loaded"] * 4, report.to_json()
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [
        (1, "x, y"),
        (2, "plain"),
        (3, "zipped"),
    ]
    assert rows(pg, "SELECT id, note FROM pipes ORDER BY id") == [(10, "ten"), (11, None)]
    assert rows(pg, "SELECT id, kind, extra FROM events ORDER BY id") == [
        (7, "click", None),
        (8, "view", '{"k":1}'),
    ]
    by_table = {t.table: t.rows for t in report.targets}
    assert by_table == {"public.kpis": 3, "public.pipes": 2, "public.events": 2}


def test_same_batch_twice_loads_once_and_reports_duplicates(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    objects = [put(s3, bucket, f"kpis/{n}.csv", f"id,name\n{n},n{n}\n") for n in range(3)]
    first = make_loader().load(objects)
    second = make_loader().load(objects)
    assert first.outcomes() == ["loaded"] * 3
    assert second.outcomes() == ["duplicate"] * 3
    assert [r.reason for r in second.objects] == ["already loaded"] * 3
    assert rows(pg, "SELECT id FROM kpis ORDER BY id") == [(0,), (1,), (2,)]
    assert rows(pg, f"SELECT count(*) FROM {ledger_of('kpis')}") == [(3,)]


def test_repeat_inside_one_batch_is_a_duplicate(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    report = make_loader().load([obj, obj])
    assert report.outcomes() == ["loaded", "duplicate"]
    assert rows(pg, "SELECT count(*) FROM kpis") == [(1,)]


@pytest.mark.timeout(120)
def test_overlapping_batches_from_eight_threads_load_each_object_once(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    objects = [put(s3, bucket, f"kpis/{n:02d}.csv", f"id,name\n{n},n{n}\n") for n in range(20)]
    # Twelve batches, each overlapping its neighbours by half.
    batches = [
        objects[(i * 3) % 20 :][:6] + objects[: max(0, (i * 3) % 20 + 6 - 20)] for i in range(12)
    ]
    loaders = [make_loader() for _ in batches]
    barrier = threading.Barrier(8)

    def run(i: int) -> list[str]:
        if i < 8:
            barrier.wait(timeout=30)
        report = loaders[i].load(batches[i])
        return [r.outcome + (":" + str(r.error) if r.error else "") for r in report.objects]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(run, range(12)))
    elapsed = time.monotonic() - started
    assert elapsed < 90
    unexpected = [o for batch in outcomes for o in batch if o not in ("loaded", "duplicate")]
    assert unexpected == []
    loaded = sum(batch.count("loaded") for batch in outcomes)
    covered = {o.key for batch in batches for o in batch}
    assert loaded == len(covered)
    assert rows(pg, "SELECT id, count(*) FROM kpis GROUP BY id HAVING count(*) > 1") == []
    assert rows(pg, "SELECT count(*) FROM kpis") == [(len(covered),)]


def test_bad_row_fails_only_its_file_and_leaves_nothing_of_the_failed_try(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "CREATE TABLE other (id INT, name VARCHAR(20))",
    )
    good1 = put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n")
    bad = put(s3, bucket, "kpis/2.csv", "id,name\n2,b\nnot-a-number,c\n")
    good2 = put(s3, bucket, "kpis/3.csv", "id,name\n3,c\n")
    other = put(s3, bucket, "other/x.csv", "id,name\n9,z\n")
    report = make_loader().load([good1, bad, good2, other])
    assert report.outcomes() == ["loaded", "failed", "loaded", "loaded"]
    failure = report.objects[1]
    assert failure.error is not None
    assert failure.error.kind == "DataRejectedError"
    [detail] = failure.load_errors
    assert detail.file == bad.uri
    assert detail.line == 3
    assert detail.column == "id"
    assert "not-a-number" in detail.reason
    assert rows(pg, "SELECT id FROM kpis ORDER BY id") == [(1,), (3,)]
    assert rows(pg, "SELECT id FROM other") == [(9,)]
    ledger = rows(pg, f"SELECT object_key FROM {ledger_of('kpis')} ORDER BY object_key")
    assert ledger == [("kpis/1.csv",), ("kpis/3.csv",)]
    assert rows(pg, f"SELECT object_key FROM {ledger_of('other')}") == [("other/x.csv",)]
    kpis = next(t for t in report.targets if t.table == "public.kpis")
    assert kpis.attempts == 2
    assert kpis.rows == 2


def test_failed_transaction_leaves_no_rows_and_no_ledger_entries(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    bad = put(s3, bucket, "kpis/only.csv", "id,name\n1,a\nx,b\n")
    report = make_loader().load([bad])
    assert report.outcomes() == ["failed"]
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]
    assert rows(pg, f"SELECT count(*) FROM {ledger_of('kpis')}") == [(0,)]


def test_event_for_a_key_loads_only_that_object_not_its_prefix_siblings(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    target = put(s3, bucket, "kpis/a.csv", "id,name\n1,real\n")
    put(s3, bucket, "kpis/a.csv.bak", "id,name\n2,backup\n")
    report = make_loader().load([target])
    assert report.outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, name FROM kpis") == [(1, "real")]


def test_upsert_keeps_latest_row_by_order_by(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, val VARCHAR(10), ts INT)",
        "INSERT INTO kpis VALUES (1, 'old', 0), (5, 'untouched', 0)",
    )
    rule = CSV_RULE | {"mode": "upsert", "keys": ["id"], "order_by": "ts"}
    a = put(s3, bucket, "kpis/a.csv", "id,val,ts\n1,newest,30\n2,two-old,1\n")
    b = put(s3, bucket, "kpis/b.csv", "id,val,ts\n1,middle,20\n2,two-new,2\n")
    report = make_loader(rule).load([a, b])
    assert report.outcomes() == ["loaded", "loaded"]
    assert rows(pg, "SELECT id, val FROM kpis ORDER BY id") == [
        (1, "newest"),
        (2, "two-new"),
        (5, "untouched"),
    ]


def test_upsert_without_order_by_keeps_the_later_objects_row(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, val VARCHAR(10))",
        "INSERT INTO kpis VALUES (1, 'old')",
    )
    rule = CSV_RULE | {"mode": "upsert", "keys": ["id"]}
    later = put(s3, bucket, "kpis/z.csv", "id,val\n1,later\n", at=T0 + timedelta(minutes=5))
    earlier = put(s3, bucket, "kpis/a.csv", "id,val\n1,earlier\n2,b\n", at=T0)
    # Given in the "wrong" order: event time decides, not position.
    report = make_loader(rule).load([later, earlier])
    assert report.outcomes() == ["loaded", "loaded"]
    assert rows(pg, "SELECT id, val FROM kpis ORDER BY id") == [(1, "later"), (2, "b")]


def test_replace_swaps_contents_and_a_failing_replace_keeps_old_rows(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "INSERT INTO kpis VALUES (100, 'old')",
    )
    rule = CSV_RULE | {"mode": "replace"}
    bad = put(s3, bucket, "kpis/bad.csv", "id,name\nbroken,x\n")
    failed = make_loader(rule).load([bad])
    assert failed.outcomes() == ["failed"]
    assert rows(pg, "SELECT id, name FROM kpis") == [(100, "old")]
    good = put(s3, bucket, "kpis/good.csv", "id,name\n1,new\n")
    replaced = make_loader(rule).load([good])
    assert replaced.outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, name FROM kpis") == [(1, "new")]


def test_reupload_loads_again_and_old_event_replay_never_loads_twice(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    v1 = put(s3, bucket, "kpis/a.csv", "id,name\n1,first\n")
    assert make_loader().load([v1]).outcomes() == ["loaded"]
    v2 = put(s3, bucket, "kpis/a.csv", "id,name\n2,second\n", at=T0 + timedelta(hours=1))
    assert v2.etag != v1.etag
    assert make_loader().load([v2]).outcomes() == ["loaded"]
    replay = make_loader().load([v1, v2])
    # Both versions are in the ledger, so the ledger (asked before S3) answers
    # both: v1 is a duplicate although S3 now holds v2.
    assert replay.outcomes() == ["duplicate", "duplicate"]
    assert [r.reason for r in replay.objects] == ["already loaded"] * 2
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(1, "first"), (2, "second")]


def test_overwritten_before_loading_is_superseded(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    old = put(s3, bucket, "kpis/a.csv", "id,name\n1,old\n")
    put(s3, bucket, "kpis/a.csv", "id,name\n2,new\n")
    report = make_loader().load([old])
    assert report.outcomes() == ["superseded"]
    assert "overwritten" in report.objects[0].reason
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_unmapped_ignored_and_missing_table_outcomes(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    loose = put(s3, bucket, "loose.csv", "id\n1\n")
    marker = put(s3, bucket, "kpis/_SUCCESS", "")
    missing = put(s3, bucket, "nosuchtable/a.csv", "id,name\n1,a\n")
    report = make_loader().load([loose, marker, missing])
    assert report.outcomes() == ["unmapped", "ignored", "failed"]
    error = report.objects[2].error
    assert error is not None
    assert error.kind == "TargetMissingError"
    assert error.retryable is False
    assert report.to_dict()["counts"] == {
        "loaded": 0,
        "duplicate": 0,
        "superseded": 0,
        "unmapped": 1,
        "ignored": 1,
        "failed": 1,
    }
    json.loads(report.to_json())  # serialisable


@pytest.mark.timeout(240)
def test_thousand_objects_over_five_tables_take_exactly_five_transactions(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    tables = [f"t{n}" for n in range(5)]
    execute(pg, *(f"CREATE TABLE {t} (id INT, name VARCHAR(20))" for t in tables))
    objects = [
        put(s3, bucket, f"{tables[n % 5]}/{n:04d}.csv", f"id,name\n{n},x\n") for n in range(1000)
    ]
    report = make_loader().load(objects)
    assert report.counts["loaded"] == 1000
    assert sorted((t.table, t.attempts) for t in report.targets) == [
        (f"public.{t}", 1) for t in tables
    ]
    # PostgreSQL's own record: every row carries the id (xmin) of the
    # transaction that inserted it.
    writers: set[str] = set()
    for t in tables:
        [(count, distinct)] = rows(pg, f"SELECT count(*), count(DISTINCT xmin::text) FROM {t}")
        assert (count, distinct) == (200, 1)
        writers.update(r[0] for r in rows(pg, f"SELECT DISTINCT xmin::text FROM {t}"))
    # Each table's ledger rows were written by that table's own transaction.
    for t in tables:
        ledger_writers = rows(pg, f"SELECT DISTINCT xmin::text FROM {ledger_of(t)}")
        table_writers = rows(pg, f"SELECT DISTINCT xmin::text FROM {t}")
        assert ledger_writers == table_writers
    assert len(writers) == 5


def test_guard_aborts_a_transaction_whose_objects_are_already_in_the_ledger(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    """The in-transaction guard alone (no client-side ledger check) stops a second load."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    loader = make_loader()
    assert loader.load([obj]).outcomes() == ["loaded"]
    target = loader.mapper.resolve(obj)
    assert target is not None
    entry = ManifestEntry(bucket, "kpis/a.csv", obj.etag or "", obj.size or 0)
    plan = loader.plan_target(target, [entry], write=True)
    with pytest.raises(BatchConflictError):
        loader.transport.run(plan)
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]
    assert rows(pg, f"SELECT count(*) FROM {ledger_of('kpis')}") == [(1,)]


def test_dropped_connection_is_retried_on_a_fresh_connection(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader()
    first = put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n")
    assert loader.load([first]).outcomes() == ["loaded"]
    # Kill the loader's server session from outside, as a failover would.
    [(own_pid,)] = rows(pg, "SELECT pg_backend_pid()")
    admin = embedded_env.connect()
    admin.autocommit = True
    cursor = admin.cursor()
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
        (pg_database, own_pid),
    )
    assert [list(r) for r in cursor.fetchall()] == [[True]]
    admin.close()
    second = put(s3, bucket, "kpis/2.csv", "id,name\n2,b\n")
    report = loader.load([second])
    assert report.outcomes() == ["loaded"], report.to_json()
    assert rows(pg, "SELECT id FROM kpis ORDER BY id") == [(1,), (2,)]


def test_exhausted_time_budget_starts_no_target_and_fails_retryably(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n")
    report = make_loader().load([obj], time_budget=0)
    assert report.outcomes() == ["failed"]
    error = report.objects[0].error
    assert error is not None
    assert error.kind == "TimeBudgetExceededError"
    assert error.retryable is True
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_report_json_has_the_documented_shape(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n2,b\n")
    document = json.loads(make_loader().load([obj]).to_json())
    assert set(document) == {"version", "duration_ms", "counts", "objects", "targets"}
    assert document["version"] == 1
    [entry] = document["objects"]
    assert set(entry) == {
        "uri",
        "bucket",
        "key",
        "version_id",
        "etag",
        "message_id",
        "outcome",
        "table",
        "reason",
        "error",
        "load_errors",
    }
    assert (entry["uri"], entry["outcome"], entry["table"]) == (obj.uri, "loaded", "public.kpis")
    [target] = document["targets"]
    assert (target["table"], target["objects"], target["rows"], target["attempts"]) == (
        "public.kpis",
        1,
        2,
        1,
    )
    assert len(target["batch_id"]) == 32


def test_good_files_left_over_after_many_rejections_fail_retryably_not_as_bad(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    bad = [put(s3, bucket, f"kpis/{n}-bad.csv", "id,name\nx,y\n") for n in range(6)]
    good = put(s3, bucket, "kpis/9-good.csv", "id,name\n9,ok\n")
    report = make_loader().load([*bad, good])
    outcomes = report.outcomes()
    assert outcomes[-1] == "failed"
    left = report.objects[-1]
    assert left.error is not None
    assert left.error.retryable is True
    assert "attempts ran out" in left.error.message
    assert left.load_errors == ()
    judged = [r for r in report.objects[:-1] if r.load_errors]
    assert all(r.error is not None and not r.error.retryable for r in judged)
    assert len(judged) == 5
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_a_failing_guard_step_is_a_conflict_only_when_it_is_the_guards_own_abort(
    pg: Any, make_loader: Callable[..., Loader]
) -> None:
    """Redshift words the guard's failed cast without the marker; other failures keep their cause.

    Redshift's compute nodes say "Invalid digit, Value 's', Pos 0, Type: Integer"
    (the marker's first character): at the guard step that is the guard firing.
    The same text at another step, or another failure at the guard, is not.
    """
    loader = make_loader()
    table = TableRef("public", "kpis")
    redshift_cast = (
        "DO $$ BEGIN RAISE EXCEPTION 'Invalid digit, Value ''s'', Pos 0, Type: Integer' "
        "USING ERRCODE = 'XX000'; END $$"
    )

    def plan(sql: str, purpose: str) -> TransactionPlan:
        return TransactionPlan(
            target=table, batch_id="0" * 32, mode="append", steps=(SqlStep(sql, purpose),)
        )

    with pytest.raises(BatchConflictError):
        loader.transport.run(plan(redshift_cast, GUARD_PURPOSE))
    with pytest.raises(S3RedshiftError) as caught:
        loader.transport.run(plan(redshift_cast, "something else"))
    assert not isinstance(caught.value, BatchConflictError)
    with pytest.raises(DataRejectedError):
        loader.transport.run(plan("SELECT CAST('Invalid digit' AS INTEGER)", GUARD_PURPOSE))


def test_upsert_row_without_an_order_by_value_never_beats_a_dated_one(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, val VARCHAR(10), ts INT)")
    rule = CSV_RULE | {"mode": "upsert", "keys": ["id"], "order_by": "ts"}
    a = put(s3, bucket, "kpis/a.csv", "id,val,ts\n1,dated,30\n")
    b = put(s3, bucket, "kpis/b.csv", "id,val,ts\n1,undated,\n")
    assert make_loader(rule).load([a, b]).outcomes() == ["loaded", "loaded"]
    assert rows(pg, "SELECT id, val FROM kpis") == [(1, "dated")]


def test_replace_with_a_bad_newest_file_keeps_the_old_rows_and_loads_nothing(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    """Each object is a snapshot: the batch's newest (b) alone is loaded, and it is rejected.

    The older snapshot (a) is never loaded over the table, whatever b's fate.
    """
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "INSERT INTO kpis VALUES (100, 'old'), (101, 'old')",
    )
    rule = CSV_RULE | {"mode": "replace"}
    good = put(s3, bucket, "kpis/a-good.csv", "id,name\n1,new\n")
    bad = put(s3, bucket, "kpis/b-bad.csv", "id,name\nbroken,x\n")
    report = make_loader(rule).load([good, bad])
    assert report.outcomes() == ["superseded", "failed"]
    good_result, bad_result = report.objects
    assert bad_result.error is not None
    assert bad_result.error.kind == "DataRejectedError"
    assert good_result.reason == NEWER_IN_BATCH
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(100, "old"), (101, "old")]
    assert rows(pg, f"SELECT count(*) FROM {ledger_of('kpis')}") == [(0,)]


def two_tables(pg: Any) -> None:
    execute(
        pg,
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        "CREATE TABLE other (id INT, name VARCHAR(20))",
    )


def join_lanes() -> None:
    """Wait for the loader's table threads that an interrupt left running."""
    assert wait_for_interrupted_loads(timeout=30)


class Trapped:
    """A stand-in session handing each statement to ``before`` first (it may wait or raise)."""

    def __init__(self, session: Any, before: Callable[[str], None]) -> None:
        self._session = session
        self._before = before

    def cursor(self) -> Any:
        cursor = self._session.cursor()
        execute_ = cursor.execute

        def execute(sql: str, *args: Any) -> Any:
            self._before(sql)
            return execute_(sql, *args)

        cursor.execute = execute
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def trapped_loader(
    embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client, before: Callable[[str], None]
) -> Loader:
    """A loader on the stand-in whose sessions are :class:`Trapped`; its tables side by side."""
    sessions = StandInConnector.from_dsn(embedded_env.database_dsn(pg_database), s3_client=s3)
    config = LoaderConfig.from_mapping(
        {
            **embedded_env.connector_config(pg_database),
            "copy": {"iam_role": "default"},
            "tables": [CSV_RULE],
        }
    )
    transport = stand_in_transport(
        lambda: Trapped(sessions(), before), max_in_flight=config.target.max_in_flight
    )
    return Loader(config, transport=transport, s3_client=s3, sleep=lambda seconds: None)


def test_a_batchs_tables_are_in_their_transactions_at_once_and_keep_their_own_outcomes(
    embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any, s3: S3Client, bucket: str
) -> None:
    """Three tables' first transactions wait at one barrier after their LOCK: all open together.

    One after another, the first would wait alone and the barrier break. Then
    each outcome is the table's own: a bad row fails its file and the rest of
    that table loads on a second try; a missing table fails; the good table
    commits once. Nothing of one table's failure shows in another.
    """
    two_tables(pg)
    barrier = threading.Barrier(3, timeout=30)
    locks = iter(range(3))

    def meet(sql: str) -> None:  # the first three LOCKs, one per table
        if sql.startswith("LOCK ") and next(locks, None) is not None:
            barrier.wait()

    objects = [
        put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n"),
        put(s3, bucket, "other/1.csv", "id,name\n1,a\n"),
        put(s3, bucket, "other/2.csv", "id,name\nnot-a-number,b\n"),
        put(s3, bucket, "nosuch/1.csv", "id,name\n1,a\n"),
    ]
    with trapped_loader(embedded_env, pg_database, s3, meet) as loader:
        report = loader.load(objects)
    assert not barrier.broken
    assert report.outcomes() == ["loaded", "loaded", "failed", "failed"]
    kinds = [o.error.kind if o.error else None for o in report.objects]
    assert kinds == [None, None, "DataRejectedError", "TargetMissingError"]
    assert rows(pg, "SELECT id FROM kpis") == [(1,)]
    assert rows(pg, "SELECT id FROM other") == [(1,)]
    attempts = {t.table: t.attempts for t in report.targets}
    assert attempts == {"public.kpis": 1, "public.other": 2, "public.nosuch": 1}
    loaded = rows(pg, f"SELECT object_key FROM {ledger_of('other')}")
    assert loaded == [("other/1.csv",)]


class Interrupted(BaseException):
    """What a timeout library or Ctrl-C raises: not an error of the database."""


def test_an_interrupt_returns_at_once_and_the_other_tables_start_no_further_transaction(
    embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any, s3: S3Client, bucket: str
) -> None:
    """kpis is interrupted while other's first transaction is held inside it.

    ``load`` raises at once, before other's transaction ends; other's
    transaction then ends whole (its COPY rejects a file, so it rolls back)
    and, interrupted, it tries no second one for its good file.
    """
    two_tables(pg)
    held, release = threading.Event(), threading.Event()
    locks: list[str] = []

    def before(sql: str) -> None:
        if sql.startswith("LOCK ") and '"other"' in sql:
            locks.append(sql)
            held.set()
            assert release.wait(timeout=30)
        if sql.startswith("LOCK ") and '"kpis"' in sql:
            assert held.wait(timeout=30)
            raise Interrupted

    objects = [
        put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n"),
        put(s3, bucket, "other/1.csv", "id,name\n1,a\n"),
        put(s3, bucket, "other/2.csv", "id,name\nnot-a-number,b\n"),
    ]
    with trapped_loader(embedded_env, pg_database, s3, before) as loader:
        with pytest.raises(Interrupted):
            loader.load(objects)
        assert not release.is_set()  # load() did not wait for the held transaction
        release.set()
        join_lanes()
    assert len(locks) == 1  # no second transaction for other's good file
    assert rows(pg, "SELECT count(*) FROM other") == [(0,)]
    assert rows(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_an_interrupt_while_a_table_checks_its_objects_starts_no_transaction_for_it(
    embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any, s3: S3Client, bucket: str
) -> None:
    """other is still asking S3 about its object when kpis is interrupted: other never locks."""
    two_tables(pg)
    heading, release = threading.Event(), threading.Event()
    locks: list[str] = []

    def head(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", "").startswith("other/"):
            heading.set()
            assert release.wait(timeout=30)

    def before(sql: str) -> None:
        if sql.startswith("LOCK "):
            locks.append(sql)
        if sql.startswith("LOCK ") and '"kpis"' in sql:
            assert heading.wait(timeout=30)
            raise Interrupted

    s3.meta.events.register("before-parameter-build.s3.HeadObject", head)
    objects = [
        put(s3, bucket, "kpis/1.csv", "id,name\n1,a\n"),
        put(s3, bucket, "other/1.csv", "id,name\n1,a\n"),
    ]
    try:
        with trapped_loader(embedded_env, pg_database, s3, before) as loader:
            with pytest.raises(Interrupted):
                loader.load(objects)
            release.set()
            join_lanes()
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.HeadObject", head)
    assert [sql for sql in locks if '"other"' in sql] == []
    assert rows(pg, "SELECT count(*) FROM other") == [(0,)]
