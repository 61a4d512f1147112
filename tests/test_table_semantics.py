"""What the table holds, mode by mode, when delivery is out of order, faulty or repeated.

Each test is one of issue #21's findings, on the stand-in (real PostgreSQL,
moto's S3): the table is read back, not only the ledger. A HeadObject fault
is a botocore ``before-call`` hook on a real client answering 503 for one
key, as S3 does under load; it proves what the loader does with the answer,
not how S3 produces it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from helpers import T0, put
from s3redshift.backfill import backfill
from s3redshift.events import S3Object
from s3redshift.ledger_queries import not_loaded
from s3redshift.loader import Loader
from s3redshift.planner import NEWER_IN_BATCH
from test_loader import CSV_RULE, execute, ledger_of, make_loader, rows

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["make_loader"]  # the fixture, shared with test_loader

REPLACE = CSV_RULE | {"mode": "replace"}
UPSERT = CSV_RULE | {"mode": "upsert", "keys": ["id"], "order_by": "ts"}
UPSERT_LATEST = CSV_RULE | {"mode": "upsert", "keys": ["id"]}


def fail_heads_of(s3: S3Client, key: str) -> Callable[[], None]:
    """Make every HeadObject of ``key`` answer 503 SlowDown; returns the undo."""

    def answer(model: Any, params: dict[str, Any], **_: Any) -> Any:
        path = unquote(str(params.get("url_path", "")))
        if model.name != "HeadObject" or not path.endswith(key):
            return None
        response = AWSResponse(str(params.get("url", "")), 503, HTTPHeaders(), None)
        return response, {"Error": {"Code": "503", "Message": ""}}

    s3.meta.events.register("before-call.s3.HeadObject", answer)
    return lambda: s3.meta.events.unregister("before-call.s3.HeadObject", answer)


def at(minutes: int) -> Any:
    return T0 + timedelta(minutes=minutes)


# --- 1. replace never commits part of a batch -------------------------------------------


def test_replace_loads_nothing_when_any_object_of_the_batch_cannot_be_checked(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(
        pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))", "INSERT INTO kpis VALUES (0, 'old')"
    )
    a = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n", at=at(1))
    b = put(s3, bucket, "kpis/b.csv", "id,name\n2,b\n", at=at(2))
    loader = make_loader(REPLACE)
    undo = fail_heads_of(s3, "kpis/b.csv")
    try:
        report = loader.load([a, b])
    finally:
        undo()
    assert report.outcomes() == ["failed", "failed"]
    assert all(r.error is not None and r.error.retryable for r in report.objects)
    assert rows(pg, "SELECT id, name FROM kpis") == [(0, "old")]
    assert rows(pg, f"SELECT count(*) FROM {ledger_of('kpis')}") == [(0,)]
    # SQS redelivers both: the newest snapshot alone is the table.
    assert loader.load([b, a]).outcomes() == ["loaded", "superseded"]
    assert rows(pg, "SELECT id, name FROM kpis") == [(2, "b")]


# --- 2. replace holds one snapshot, the newest --------------------------------------------


def test_replace_batch_of_several_snapshots_loads_only_the_newest(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    monday = put(s3, bucket, "kpis/day=1.csv", "id,name\n1,mon\n2,mon\n", at=at(1))
    tuesday = put(s3, bucket, "kpis/day=2.csv", "id,name\n1,tue\n", at=at(2))
    report = make_loader(REPLACE).load([tuesday, monday])
    assert report.outcomes() == ["loaded", "superseded"]
    assert report.objects[1].reason == NEWER_IN_BATCH
    assert rows(pg, "SELECT id, name FROM kpis") == [(1, "tue")]


def test_replace_an_older_snapshot_arriving_late_is_superseded_not_loaded(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    monday = put(s3, bucket, "kpis/day=1.csv", "id,name\n1,mon\n", at=at(1))
    tuesday = put(s3, bucket, "kpis/day=2.csv", "id,name\n2,tue\n", at=at(2))
    assert make_loader(REPLACE).load([tuesday]).outcomes() == ["loaded"]
    late = make_loader(REPLACE).load([monday])  # another (cold) loader
    assert late.outcomes() == ["superseded"]
    assert rows(pg, "SELECT id, name FROM kpis") == [(2, "tue")]


def test_replace_backfill_of_three_snapshots_leaves_the_newest_once(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    for day in (1, 2, 3):
        put(s3, bucket, f"kpis/day={day}.csv", f"id,name\n{day},d{day}\n{day + 10},d{day}\n")
    loader = make_loader(REPLACE)
    summary = backfill(loader, f"s3://{bucket}/kpis/")
    assert (summary.counts["loaded"], summary.counts["superseded"]) == (1, 2)
    # `ledger --failed` does not report the superseded snapshots as missing.
    assert not_loaded(loader, f"s3://{bucket}/kpis/") == []
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(3, "d3"), (13, "d3")]


# --- 3. a warm loader sees the table as it is now ----------------------------------------


def test_a_warm_loader_sees_columns_added_and_dropped_between_batches(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, ts INT, v VARCHAR(9))")
    loader = make_loader(UPSERT)
    first = put(s3, bucket, "kpis/1.csv", "id,ts,v\n1,1,a\n", at=at(1))
    assert loader.load([first]).outcomes() == ["loaded"]
    execute(pg, "ALTER TABLE kpis ADD COLUMN w VARCHAR(9)")
    second = put(s3, bucket, "kpis/2.csv", "id,ts,v,w\n2,2,b,wide\n", at=at(2))
    assert loader.load([second]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, w FROM kpis ORDER BY id") == [(1, None), (2, "wide")]
    execute(pg, "ALTER TABLE kpis DROP COLUMN v")
    third = put(s3, bucket, "kpis/3.csv", "id,ts,w\n3,3,x\n", at=at(3))
    assert loader.load([third]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, w FROM kpis ORDER BY id") == [(1, None), (2, "wide"), (3, "x")]


# --- 4. NULL keys are kept, never collapsed -------------------------------------------------


def test_upsert_keeps_every_row_whose_key_is_null(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, ts INT, v VARCHAR(9))")
    loader = make_loader(UPSERT)
    a = put(s3, bucket, "kpis/a.csv", "id,ts,v\n,1,x\n,1,y\n1,1,k\n", at=at(1))
    b = put(s3, bucket, "kpis/b.csv", "id,ts,v\n,2,z\n1,2,k2\n", at=at(2))
    assert loader.load([a]).outcomes() == ["loaded"]
    assert loader.load([b]).outcomes() == ["loaded"]
    assert loader.load([a, b]).outcomes() == ["duplicate", "duplicate"]
    assert rows(pg, "SELECT id, ts, v FROM kpis ORDER BY v") == [
        (1, 2, "k2"),
        (None, 1, "x"),
        (None, 1, "y"),
        (None, 2, "z"),
    ]


# --- 5. upsert never goes back in time ------------------------------------------------------


def test_upsert_keeps_the_greatest_order_by_whatever_the_delivery_order(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, ts INT, v VARCHAR(9))")
    loader = make_loader(UPSERT)
    newer = put(s3, bucket, "kpis/new.csv", "id,ts,v\n1,20,new\n2,5,new\n", at=at(2))
    older = put(s3, bucket, "kpis/old.csv", "id,ts,v\n1,10,old\n2,9,old\n3,1,old\n", at=at(1))
    assert loader.load([newer]).outcomes() == ["loaded"]
    assert loader.load([older]).outcomes() == ["loaded"]
    # Per key the greatest ts ever loaded: id 1 keeps the newer file's row,
    # id 2 takes the older file's (its ts is greater), id 3 is new.
    assert rows(pg, "SELECT id, ts, v FROM kpis ORDER BY id") == [
        (1, 20, "new"),
        (2, 9, "old"),
        (3, 1, "old"),
    ]


def test_upsert_a_head_fault_that_splits_a_batch_does_not_let_the_older_row_win(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, ts INT, v VARCHAR(9))")
    loader = make_loader(UPSERT)
    older = put(s3, bucket, "kpis/old.csv", "id,ts,v\n1,1,old\n", at=at(1))
    newer = put(s3, bucket, "kpis/new.csv", "id,ts,v\n1,2,new\n", at=at(2))
    undo = fail_heads_of(s3, "kpis/old.csv")
    try:
        assert loader.load([older, newer]).outcomes() == ["failed", "loaded"]
    finally:
        undo()
    assert loader.load([older]).outcomes() == ["loaded"]  # redelivered after the newer one
    assert rows(pg, "SELECT id, ts, v FROM kpis") == [(1, 2, "new")]


def test_upsert_ties_go_to_the_same_row_in_either_order(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE ab (id INT, ts INT, v VARCHAR(9))", "CREATE TABLE ba (LIKE ab)")
    x = put(s3, bucket, "x.csv", "id,ts,v\n1,5,apple\n2,,p\n", at=at(1))
    y = put(s3, bucket, "y.csv", "id,ts,v\n1,5,pear\n2,,q\n", at=at(2))
    rule = UPSERT | {"pattern": "*.csv"}
    into_ab = make_loader(rule | {"table": "ab"})
    into_ba = make_loader(rule | {"table": "ba"})
    for loader, order in ((into_ab, (x, y)), (into_ba, (y, x))):
        for obj in order:
            assert loader.load([obj]).outcomes() == ["loaded"]
    # A tie on ts (both NULL for id 2) goes to the greater v, in both tables.
    expected = [(1, 5, "pear"), (2, None, "q")]
    assert rows(pg, "SELECT id, ts, v FROM ab ORDER BY id") == expected
    assert rows(pg, "SELECT id, ts, v FROM ba ORDER BY id") == expected


def test_upsert_without_order_by_lets_the_later_object_of_a_batch_win_when_keys_repeat(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, ts INT, v VARCHAR(9))")
    first = put(s3, bucket, "kpis/b-first.csv", "id,ts,v\n1,9,first\n2,9,only\n", at=at(1))
    later = put(s3, bucket, "kpis/a-later.csv", "id,ts,v\n1,1,later\n", at=at(2))
    report = make_loader(UPSERT_LATEST).load([later, first])
    assert report.outcomes() == ["loaded", "loaded"]
    [target] = report.targets
    assert target.attempts == 2  # the keys guard, then the objects one at a time
    assert rows(pg, "SELECT id, v FROM kpis ORDER BY id") == [(1, "later"), (2, "only")]


# --- 6. a rewrite with earlier content is still the newest write ---------------------------


def _write(s3: S3Client, bucket: str, key: str, body: str, *, n: int) -> S3Object:
    written = put(s3, bucket, key, body, at=at(n))
    return written.model_copy(update={"sequencer": f"{n:016X}"})


def test_a_to_b_to_a_rewrites_end_with_a_in_replace_and_upsert(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE snap (id INT, ts INT, v VARCHAR(9))", "CREATE TABLE ups (LIKE snap)")
    loaders = {
        "snap": make_loader(REPLACE | {"pattern": "snap/**", "table": "snap"}),
        "ups": make_loader(UPSERT_LATEST | {"pattern": "ups/**", "table": "ups"}),
    }
    for table, loader in loaders.items():
        key = f"{table}/current.csv"
        a, b = "id,ts,v\n1,1,A\n", "id,ts,v\n1,1,B\n"
        for n, body in enumerate((a, b, a), start=1):
            event = _write(s3, bucket, key, body, n=n)
            assert loader.load([event]).outcomes() == ["loaded"], (table, n)
        assert rows(pg, f"SELECT v FROM {table}") == [("A",)]
        # A replay of the last write is a duplicate, and changes nothing.
        assert loader.load([event]).outcomes() == ["duplicate"]


def test_append_treats_a_rewrite_with_identical_content_as_a_duplicate(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(9))")
    loader = make_loader()
    a, b = "id,name\n1,A\n", "id,name\n2,B\n"
    outcomes = [
        loader.load([_write(s3, bucket, "kpis/k.csv", body, n=n)]).outcomes()[0]
        for n, body in enumerate((a, b, a), start=1)
    ]
    assert outcomes == ["loaded", "loaded", "duplicate"]
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(1, "A"), (2, "B")]


# --- 13. columns a file omits get their default -------------------------------------------


def test_upsert_fills_columns_a_file_omits_with_their_defaults(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    """The rule's columns leave status out: COPY gives it its DEFAULT, as Redshift does.

    Staged ``LIKE`` the target without its defaults, the NOT NULL column got
    NULL in the stage and the COPY failed.
    """
    execute(pg, "CREATE TABLE kpis (id INT, ts INT, status VARCHAR(9) NOT NULL DEFAULT 'new')")
    rule = UPSERT | {"columns": ["id", "ts"]}
    obj = put(s3, bucket, "kpis/a.csv", "id,ts\n1,1\n", at=at(1))
    assert make_loader(rule).load([obj]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, status FROM kpis") == [(1, "new")]


# --- replace: a snapshot of several objects, grouped by a capture ----------------------

SNAPSHOT = REPLACE | {"pattern": "{table}/{day}/*.csv", "snapshot": "{day}"}


def test_replace_a_snapshot_of_parts_is_loaded_whole_whichever_part_arrives(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader(SNAPSHOT)
    put(s3, bucket, "kpis/d1/part-0.csv", "id,name\n1,d1\n", at=at(1))
    second = put(s3, bucket, "kpis/d1/part-1.csv", "id,name\n2,d1\n", at=at(2))
    put(s3, bucket, "kpis/d1-other/part-0.csv", "id,name\n99,other day\n", at=at(2))
    # Only the second part's event arrives: the table holds the whole of day 1.
    assert loader.load([second]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(1, "d1"), (2, "d1")]
    assert loader.load([second]).outcomes() == ["duplicate"]
    # Day 2 arrives in two batches: each loads the whole of what day 2 has.
    d2a = put(s3, bucket, "kpis/d2/a.csv", "id,name\n3,d2\n", at=at(3))
    assert loader.load([d2a]).outcomes() == ["loaded"]
    d2b = put(s3, bucket, "kpis/d2/b.csv", "id,name\n4,d2\n", at=at(4))
    late = put(s3, bucket, "kpis/d1/part-2.csv", "id,name\n5,d1\n", at=at(1))
    assert loader.load([late, d2b]).outcomes() == ["superseded", "loaded"]
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(3, "d2"), (4, "d2")]
    # A late part of day 1 alone is older than day 2: never loaded over it.
    assert loader.load([late]).outcomes() == ["superseded"]
    assert rows(pg, "SELECT count(*) FROM kpis") == [(2,)]


def test_a_snapshot_needs_replace_and_a_capture_of_the_pattern() -> None:
    from pydantic import ValidationError

    from s3redshift.mapping import MappingRule, snapshot_prefix

    with pytest.raises(ValidationError, match=r"field 'snapshot'.*set mode = \"replace\""):
        MappingRule(pattern="{table}/{day}/*.csv", snapshot="{day}")
    with pytest.raises(ValidationError, match=r"'\{hour\}' is not a capture.*\{table\}, \{day\}"):
        MappingRule(pattern="{table}/{day}/*.csv", mode="replace", snapshot="{hour}")
    rule = MappingRule(pattern="{table}/{day}/*.csv", mode="replace", snapshot="{day}")
    assert snapshot_prefix(rule, "kpis/d1/part-0.csv") == "kpis/d1/"
    flat = MappingRule(pattern="{table}/day={day}.csv", mode="replace", snapshot="{day}")
    assert snapshot_prefix(flat, "kpis/day=3.csv") == "kpis/"
    deep = MappingRule(pattern="{table}/**/{day}/*.csv", mode="replace", snapshot="{day}")
    assert snapshot_prefix(deep, "kpis/x/y/d1/a.csv") == "kpis/"


def test_events_of_every_write_of_a_rewritten_key_in_one_batch_load_its_content_once(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    """A -> B -> A written before any delivery: the first and third events both pass their
    check (the content is A's), but they name one object: its rows are loaded once."""
    execute(pg, "CREATE TABLE snap (id INT, ts INT, v VARCHAR(9))", "CREATE TABLE ups (LIKE snap)")
    for table, rule in (("snap", REPLACE), ("ups", UPSERT_LATEST)):
        key = f"{table}/current.csv"
        events = [
            _write(s3, bucket, key, body, n=n)
            for n, body in enumerate(("id,ts,v\n,1,A\n", "id,ts,v\n,1,B\n", "id,ts,v\n,1,A\n"), 1)
        ]
        loader = make_loader(rule | {"pattern": f"{table}/**", "table": table})
        report = loader.load(events)
        assert report.outcomes() == ["superseded", "superseded", "loaded"], table
        assert rows(pg, f"SELECT v FROM {table}") == [("A",)], table


def test_upsert_leaves_the_tables_winning_row_as_it_is(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    """An older file's row loses to the table's: the table's row keeps every column,
    those the rule does not load included (here a status another process maintains)."""
    execute(
        pg,
        "CREATE TABLE kpis (id INT, ts INT, v VARCHAR(9), status VARCHAR(9) DEFAULT 'new')",
        "INSERT INTO kpis VALUES (1, 10, 'x', 'done')",
    )
    rule = UPSERT | {"columns": ["id", "ts", "v"]}
    older = put(s3, bucket, "kpis/old.csv", "id,ts,v\n1,5,y\n2,5,z\n", at=at(1))
    assert make_loader(rule).load([older]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, ts, v, status FROM kpis ORDER BY id") == [
        (1, 10, "x", "done"),
        (2, 5, "z", "new"),
    ]


def test_a_snapshot_is_one_buckets_objects(
    pg: Any,
    s3: S3Client,
    bucket: str,
    embedded_env: Any,
    make_loader: Callable[..., Loader],
) -> None:
    """Two buckets' objects with one capture value are two snapshots, each listed in its bucket."""
    other = f"{bucket}-b"
    s3.create_bucket(Bucket=other)
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    a = put(s3, bucket, "kpis/d1/part.csv", "id,name\n1,a\n", at=at(1))
    b = put(s3, other, "kpis/d1/part.csv", "id,name\n2,b\n", at=at(2))
    report = make_loader(SNAPSHOT).load([a, b])
    assert report.outcomes() == ["superseded", "loaded"]
    assert rows(pg, "SELECT id, name FROM kpis") == [(2, "b")]


MARKED = SNAPSHOT | {"snapshot_marker": "_SUCCESS"}


def test_replace_a_snapshot_with_a_marker_loads_only_once_the_marker_lands(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))", "INSERT INTO kpis VALUES (0, 'x')")
    loader = make_loader(MARKED)
    first = put(s3, bucket, "kpis/d1/part-0.csv", "id,name\n1,d1\n", at=at(1))
    # A part before the marker: acknowledged, nothing loaded, the old table kept.
    early = loader.load([first])
    assert early.outcomes() == ["ignored"]
    assert "_SUCCESS" in (early.objects[0].reason or "")
    assert rows(pg, "SELECT id, name FROM kpis") == [(0, "x")]
    put(s3, bucket, "kpis/d1/part-1.csv", "id,name\n2,d1\n", at=at(2))
    marker = put(s3, bucket, "kpis/d1/_SUCCESS", "", at=at(3))
    assert loader.load([marker]).outcomes() == ["loaded"]
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(1, "d1"), (2, "d1")]
    assert loader.load([marker]).outcomes() == ["duplicate"]


def test_a_snapshot_marker_needs_a_snapshot_and_the_captures_in_its_folders() -> None:
    from pydantic import ValidationError

    from s3redshift.mapping import MappingRule, TableMapper

    with pytest.raises(ValidationError, match="the rule has none; set snapshot"):
        MappingRule(pattern="{table}/{day}/*.csv", mode="replace", snapshot_marker="_SUCCESS")
    with pytest.raises(ValidationError, match=r"must capture \['day'\]"):
        MappingRule(
            pattern="{table}/day={day}.csv",
            mode="replace",
            snapshot="{day}",
            snapshot_marker="_SUCCESS",
        )
    with pytest.raises(ValidationError, match="is not a file name"):
        MappingRule(
            pattern="{table}/{day}/*.csv",
            mode="replace",
            snapshot="{day}",
            snapshot_marker="a/_SUCCESS",
        )
    mapper = TableMapper([MappingRule.model_validate(MARKED)])
    target = mapper.resolve("kpis/d1/_SUCCESS")
    assert target is not None
    assert (str(target.table), dict(target.captures)) == (
        "public.kpis",
        {"table": "kpis", "day": "d1"},
    )
    assert mapper.resolve("kpis/d1/x/_SUCCESS") is None  # not a snapshot's folder
    assert mapper.resolve("other/_SUCCESS") is None
