"""Scale without giving up exactly-once: per-target ledgers, ledger-first replays, bounded look-ups.

On the embedded stand-in (real PostgreSQL, moto S3). The held-open load is
real: a trigger on the target makes the load's COPY wait on an advisory lock
the test holds, so the load sits inside its transaction, locks taken, until
the test lets it go. What this proves is PostgreSQL's locking of the
statements the loader sends; Redshift takes the same table locks for the same
``LOCK`` statement, and raises its serializable-isolation error per table,
which one ledger per target avoids by construction (no table is shared).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import sqlglot
from sqlglot import exp

from helpers import put
from s3redshift.config import LoaderConfig
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.ledger import (
    LEDGER_QUERY_BYTES,
    create_ledger_sql,
    ledger_table_for,
    loaded_identities_sql,
    lookup_chunks,
)
from s3redshift.ledger_queries import ledger_rows, not_loaded
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from s3redshift.report import LoadReport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

HOLD = 911_002
"""The advisory lock a held-open load waits on inside its COPY."""

RULE = {"pattern": "{table}/**", "schema": "public", "format": {"type": "csv", "ignore_header": 1}}


@pytest.fixture
def make_loader(
    embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client
) -> Iterator[Callable[[], Loader]]:
    made: list[Loader] = []

    def factory() -> Loader:
        config = LoaderConfig.from_mapping(
            {
                **embedded_env.connector_config(pg_database),
                "tables": [RULE],
            }
        )
        made.append(embedded_env.loader(config, s3_client=s3))
        return made[-1]

    yield factory
    for loader in made:
        loader.close()


def query(pg: Any, sql: str, *args: object) -> list[tuple[Any, ...]]:
    cursor = pg.cursor()
    if args:
        cursor.execute(sql, args)
    else:
        cursor.execute(sql)
    result = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
    pg.commit()
    return result


def hold_copies_into(pg: Any, table: str) -> None:
    """Rows COPYed into ``table`` wait for the advisory lock :data:`HOLD` (shared)."""
    query(
        pg,
        "CREATE FUNCTION s3redshift_test_hold() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_advisory_xact_lock_shared({HOLD}); RETURN NEW; END $$",
    )
    query(
        pg,
        f"CREATE TRIGGER s3redshift_test_hold BEFORE INSERT ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION s3redshift_test_hold()",
    )


def wait_for_backends(pg: Any, wait_event: str, count: int = 1) -> None:
    """Until ``count`` sessions wait on a lock of that kind (``advisory``, ``relation``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [(waiting,)] = query(
            pg,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND wait_event = %s",
            wait_event,
        )
        if waiting >= count:
            return
        time.sleep(0.05)
    activity = query(pg, "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity")
    raise AssertionError(f"no session came to wait on a {wait_event} lock: {activity}")


class Background:
    """One load in a thread, its report (or exception) kept for the test."""

    def __init__(self, loader: Loader, objects: list[S3Object]) -> None:
        self.report: LoadReport | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(loader, objects), daemon=True)
        self.thread.start()

    def _run(self, loader: Loader, objects: list[S3Object]) -> None:
        try:
            self.report = loader.load(objects)
        except BaseException as error:  # kept for the test to report
            self.error = error

    def finished(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def outcomes(self) -> list[str]:
        assert self.error is None, repr(self.error)
        assert self.report is not None
        return self.report.outcomes()


@pytest.fixture
def holder(embedded_env: EmbeddedEnvironment, pg_database: str) -> Iterator[Any]:
    """A session of the test's own holding :data:`HOLD`; released at the end whatever happens.

    Advisory locks belong to a database: the session is in the loads' one.
    """
    session = embedded_env.connect(database=pg_database)
    session.autocommit = True
    session.cursor().execute(f"SELECT pg_advisory_lock({HOLD})")
    yield session
    session.cursor().execute("SELECT pg_advisory_unlock_all()")
    session.close()


def test_a_load_into_one_table_completes_while_a_load_into_another_is_held_mid_copy(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader], holder: Any
) -> None:
    query(pg, "CREATE TABLE kpis (id INT)")
    query(pg, "CREATE TABLE orders (id INT)")
    # Both tables have loaded before: their ledgers exist, as in a running system.
    warm = make_loader().load(
        [
            put(s3, bucket, "kpis/0.csv", "id\n0\n", at=None),
            put(s3, bucket, "orders/0.csv", "id\n0\n", at=None),
        ]
    )
    assert warm.outcomes() == ["loaded", "loaded"]
    hold_copies_into(pg, "kpis")

    held = Background(make_loader(), [put(s3, bucket, "kpis/1.csv", "id\n1\n", at=None)])
    wait_for_backends(pg, "advisory")  # the kpis load is inside its COPY, locks taken

    other = Background(make_loader(), [put(s3, bucket, "orders/1.csv", "id\n1\n", at=None)])
    assert other.finished(timeout=30), "the orders load waited for the held kpis load"
    assert other.outcomes() == ["loaded"]
    assert query(pg, "SELECT id FROM orders ORDER BY id") == [(0,), (1,)]
    assert not held.finished(timeout=0), "the kpis load was meant to be still held"

    holder.cursor().execute(f"SELECT pg_advisory_unlock({HOLD})")
    assert held.finished(timeout=30)
    assert held.outcomes() == ["loaded"]
    assert query(pg, "SELECT id FROM kpis ORDER BY id") == [(0,), (1,)]


def test_two_loads_into_one_table_never_interleave(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader], holder: Any
) -> None:
    query(pg, "CREATE TABLE kpis (id INT)")
    assert make_loader().load([put(s3, bucket, "kpis/0.csv", "id\n0\n", at=None)]).outcomes() == [
        "loaded"
    ]
    hold_copies_into(pg, "kpis")

    first = Background(make_loader(), [put(s3, bucket, "kpis/1.csv", "id\n1\n", at=None)])
    wait_for_backends(pg, "advisory")
    second = Background(make_loader(), [put(s3, bucket, "kpis/2.csv", "id\n2\n", at=None)])
    # The second load waits for the first's locks (its ledger look-up or its own
    # LOCK): nothing of it runs while the first is inside its COPY.
    wait_for_backends(pg, "relation")
    assert not second.finished(timeout=0)

    holder.cursor().execute(f"SELECT pg_advisory_unlock({HOLD})")
    assert first.finished(timeout=30)
    assert second.finished(timeout=30)
    assert first.outcomes() == ["loaded"]
    assert second.outcomes() == ["loaded"]
    assert first.report is not None
    assert second.report is not None
    # One attempt each: they queued, neither aborted the other.
    assert [t.attempts for t in (*first.report.targets, *second.report.targets)] == [1, 1]
    # Each committed its own rows and its own ledger rows in its own transaction.
    ledger = ledger_table_for("s3redshift", TableRef("public", "kpis")).sql
    by_key = dict(query(pg, f"SELECT object_key, xmin::text FROM {ledger}"))
    by_row = dict(query(pg, "SELECT id, xmin::text FROM kpis"))
    assert by_key["kpis/1.csv"] == by_row[1] != by_key["kpis/2.csv"] == by_row[2]


def count_requests(s3: S3Client) -> list[str]:
    """Every S3 request the client sends from now on (retries included), as "METHOD url"."""
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(f"{request.method} {request.url}")

    s3.meta.events.register("before-send.s3", record)
    return sent


def test_a_replay_of_already_loaded_objects_asks_s3_nothing(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader]
) -> None:
    tables = ("kpis", "orders", "events")
    for table in tables:
        query(pg, f"CREATE TABLE {table} (id INT)")
    objects = [
        put(s3, bucket, f"{tables[n % 3]}/2026/12/03/part-{n:05d}.csv", f"id\n{n}\n", at=None)
        for n in range(300)
    ]
    assert make_loader().load(objects).counts["loaded"] == 300
    sent = count_requests(s3)
    replay = make_loader().load(objects)  # a cold loader, as a redelivery may meet
    assert replay.outcomes() == ["duplicate"] * 300
    assert len(sent) <= 10, sent
    assert not [r for r in sent if r.startswith("HEAD ")]


def test_a_changed_object_under_a_replayed_event_is_still_checked_in_s3(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader]
) -> None:
    """Ledger-first must not trust the event for what the ledger does not hold."""
    query(pg, "CREATE TABLE kpis (id INT)")
    old = put(s3, bucket, "kpis/a.csv", "id\n1\n", at=None)
    put(s3, bucket, "kpis/a.csv", "id\n2\n", at=None)  # overwritten before its event is handled
    sent = count_requests(s3)
    report = make_loader().load([old])
    assert report.outcomes() == ["superseded"], report.to_json()
    assert [r for r in sent if r.startswith("HEAD ")]
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_a_thousand_object_batch_is_one_ledger_look_up() -> None:
    ledger = ledger_table_for("s3redshift", TableRef("public", "kpis"))
    keys = [
        ("landing-bucket", f"kpis/2026/12/03/part-{n:05d}-{n * 7919:08x}.csv", f'"{n:032x}"')
        for n in range(1000)
    ]
    [chunk] = lookup_chunks(keys)
    assert chunk == keys
    sql = loaded_identities_sql(ledger, chunk)
    assert len(sql.encode()) < 100_000  # the Data API's limit on a statement's text
    assert LEDGER_QUERY_BYTES < 100_000
    select = sqlglot.parse_one(sql, read="redshift")
    [in_list] = list(select.find_all(exp.In))
    assert len(in_list.expressions) == 1000


def test_ledger_tables_are_named_per_target_and_never_collide() -> None:
    name = ledger_table_for("s3redshift", TableRef("public", "kpis"))
    digest = hashlib.sha256(b"public.kpis").hexdigest()[:8]
    assert (name.schema, name.table) == ("s3redshift", f"load_ledger_public_kpis_{digest}")
    # Readable parts that agree (a.b_c, a_b.c) still name two tables.
    assert ledger_table_for("s", TableRef("a", "b_c")) != ledger_table_for(
        "s", TableRef("a_b", "c")
    )
    longest = ledger_table_for("s", TableRef("x" * 127, "y" * 127))
    assert len(longest.table.encode()) <= 63
    assert longest != ledger_table_for("s", TableRef("x" * 127, "y" * 126 + "z"))
    # Redshift folds unquoted names: the same table, whatever its case, has one ledger.
    assert ledger_table_for("s", TableRef("Public", "KPIs")) == TableRef("s", name.table)


def test_the_ledger_ddl_is_sorted_by_key_as_redshift_reads_it() -> None:
    ledger = ledger_table_for("s3redshift", TableRef("public", "kpis"))
    schema, table = (sqlglot.parse_one(sql, read="redshift") for sql in create_ledger_sql(ledger))
    assert isinstance(schema, exp.Create)
    assert schema.kind == "SCHEMA"
    assert isinstance(table, exp.Create)
    assert table.kind == "TABLE"
    [sortkey] = list(table.find_all(exp.SortKeyProperty))
    assert [c.name for c in sortkey.this] == ["object_key"]


def test_the_ledger_reads_as_one_across_the_targets_ledger_tables(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader]
) -> None:
    for table in ("kpis", "orders"):
        query(pg, f"CREATE TABLE {table} (id INT)")
    loader = make_loader()
    first = [
        put(s3, bucket, "kpis/1.csv", "id\n1\n", at=None),
        put(s3, bucket, "orders/1.csv", "id\n1\n", at=None),
    ]
    assert loader.load(first).outcomes() == ["loaded", "loaded"]
    later = put(s3, bucket, "orders/2.csv", "id\n2\n", at=None)
    assert loader.load([later]).outcomes() == ["loaded"]
    missing = put(s3, bucket, "kpis/2.csv", "id\n2\n", at=None)  # its notification was lost

    rows, total = ledger_rows(loader)
    assert total == 3
    assert (rows[0].table, rows[0].key) == ("public.orders", "orders/2.csv")  # newest
    assert sorted((r.table, r.key) for r in rows) == [
        ("public.kpis", "kpis/1.csv"),
        ("public.orders", "orders/1.csv"),
        ("public.orders", "orders/2.csv"),
    ]
    newest, total = ledger_rows(loader, limit=1)
    assert ([r.key for r in newest], total) == (["orders/2.csv"], 3)
    kpis, total = ledger_rows(loader, table="public.kpis")
    assert ([r.key for r in kpis], total) == (["kpis/1.csv"], 1)
    assert [(o.key, t) for o, t in not_loaded(loader, f"s3://{bucket}/")] == [
        (missing.key, "public.kpis")
    ]


def test_a_loader_refuses_to_load_beside_the_one_table_ledger_of_an_earlier_version(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader]
) -> None:
    """Its rows say what was loaded before the upgrade: ignoring them would load it all again."""
    query(pg, "CREATE TABLE kpis (id INT)")
    obj = put(s3, bucket, "kpis/a.csv", "id\n1\n", at=None)
    query(pg, "CREATE SCHEMA s3redshift")
    query(
        pg,
        "CREATE TABLE s3redshift.load_ledger (bucket VARCHAR(63), object_key VARCHAR(1024), "
        "object_identity VARCHAR(1024), object_size BIGINT, target_table VARCHAR(300), "
        "batch_id VARCHAR(64), loaded_at TIMESTAMP)",
    )
    query(
        pg,
        "INSERT INTO s3redshift.load_ledger VALUES (%s, 'kpis/a.csv', %s, 5, 'public.kpis', "
        "'b0', '2026-11-01')",
        bucket,
        obj.etag,
    )
    report = make_loader().load([obj])
    assert report.outcomes() == ["failed"]
    assert "s3redshift.load_ledger" in (report.objects[0].reason or "")
    assert "Upgrading" in (report.objects[0].reason or "")
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]

    # Migrated as docs/upgrading.md says: rows copied, the old table renamed.
    ledger = ledger_table_for("s3redshift", TableRef("public", "kpis")).sql
    query(pg, f"CREATE TABLE {ledger} (LIKE s3redshift.load_ledger)")
    query(pg, f"INSERT INTO {ledger} SELECT * FROM s3redshift.load_ledger")
    query(pg, "ALTER TABLE s3redshift.load_ledger RENAME TO migrated_load_ledger")
    assert make_loader().load([obj]).outcomes() == ["duplicate"]
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]


def test_two_rules_into_one_table_are_both_listed_when_missing(
    pg: Any, s3: S3Client, bucket: str, embedded_env: EmbeddedEnvironment, pg_database: str
) -> None:
    query(pg, "CREATE TABLE kpis (id INT)")
    csv = {"type": "csv", "ignore_header": 1}
    config = LoaderConfig.from_mapping(
        {
            **embedded_env.connector_config(pg_database),
            "tables": [
                {"pattern": "kpis/*.csv", "table": "kpis", "format": csv},
                {"pattern": "kpis/*.csv.gz", "table": "kpis", "format": csv},
            ],
        }
    )
    put(s3, bucket, "kpis/a.csv", "id\n1\n", at=None)
    put(s3, bucket, "kpis/b.csv.gz", "not read", at=None)
    with embedded_env.loader(config, s3_client=s3) as loader:
        missing = not_loaded(loader, f"s3://{bucket}/")
        assert sorted(o.key for o, _ in missing) == ["kpis/a.csv", "kpis/b.csv.gz"]
        by_spelling = not_loaded(loader, f"s3://{bucket}/", table="Public.KPIs")
        assert sorted(o.key for o, _ in by_spelling) == ["kpis/a.csv", "kpis/b.csv.gz"]


def test_only_tables_named_as_ledgers_are_read_as_the_ledger(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[[], Loader]
) -> None:
    query(pg, "CREATE TABLE kpis (id INT)")
    loader = make_loader()
    assert loader.load([put(s3, bucket, "kpis/a.csv", "id\n1\n", at=None)]).outcomes() == ["loaded"]
    ledger = ledger_table_for("s3redshift", TableRef("public", "kpis")).sql
    # An operator's copy beside the ledger tables is not one of them.
    query(pg, f"CREATE TABLE s3redshift.load_ledger_backup AS SELECT * FROM {ledger}")
    rows, total = ledger_rows(loader)
    assert ([r.key for r in rows], total) == (["kpis/a.csv"], 1)
    upper, total = ledger_rows(loader, table="PUBLIC.KPIS")
    assert ([r.key for r in upper], total) == (["kpis/a.csv"], 1)


def test_tables_redshift_tells_apart_get_ledgers_of_their_own() -> None:
    # TableRef folds ASCII letters only, as Redshift does; other letters are kept.
    assert TableRef("public", "Ä") != TableRef("public", "ä")
    assert ledger_table_for("s", TableRef("public", "Ä")) != ledger_table_for(
        "s", TableRef("public", "ä")
    )
