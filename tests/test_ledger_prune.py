"""`s3redshift ledger prune` and the horizon, on the stand-in.

The attacks: a replayed event of a pruned object, a backfill over a prefix
whose old objects were pruned, a prune that commits between a loader's reads
and its transaction, objects exactly at and just before the horizon. Each
must leave the table as it was (refused, reported) or load exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlglot

from helpers import RecordingConnection, put
from ledger_cli import LedgerWorld, world_fixture  # noqa: F401 - the fixture `world`
from s3redshift.errors import BeforeHorizonError, ConfigError
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.ledger import (
    create_horizon_sql,
    horizon_guard_sql,
    horizon_table_for,
    horizons_sql,
    ledger_table_for,
    prune_count_sql,
    prune_sql,
    record_horizon_sql,
)
from s3redshift.ledger_prune import PRUNE_MARGIN, prune_ledger
from s3redshift.loader import Loader
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport
from test_loader import execute, make_loader, rows
from test_table_semantics import SNAPSHOT

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["make_loader"]  # the fixture, shared with test_loader

LEDGER = ledger_table_for("s3redshift", TableRef("public", "kpis"))
HORIZONS = horizon_table_for("s3redshift")


def kpis_ids(world: LedgerWorld) -> list[int]:
    return [int(i) for (i,) in world.rows("SELECT id FROM kpis ORDER BY id")]


def ledger_keys(world: LedgerWorld) -> list[str]:
    return [str(k) for (k,) in world.rows(f"SELECT object_key FROM {LEDGER.sql} ORDER BY 1")]


def load_history(world: LedgerWorld) -> tuple[datetime, dict[str, S3Object]]:
    """The horizon (now, after the puts), and what was loaded before it.

    Two objects of three hours before the horizon loaded two hours before it,
    one of 40 minutes before it loaded 30 minutes before it (within the
    margin). The horizon is taken after the objects were written, so S3's
    last-modified times (what a listing names) are before it too.
    """
    bodies = {"old_a": "id,name\n1,a\n", "old_b": "id,name\n2,b\n", "near": "id,name\n3,c\n"}
    written = {
        n: put(world.s3, world.bucket, f"kpis/{n}.csv", b, at=None) for n, b in bodies.items()
    }
    horizon = datetime.now(UTC)
    ages = {"old_a": timedelta(hours=3), "old_b": timedelta(hours=3), "near": timedelta(minutes=40)}
    objects = {
        n: o.model_copy(update={"event_time": horizon - ages[n], "event_name": "ObjectCreated:Put"})
        for n, o in written.items()
    }
    with world.loader(now=horizon - timedelta(hours=2)) as loader:
        assert loader.load([objects["old_a"], objects["old_b"]]).outcomes() == ["loaded"] * 2
    with world.loader(now=horizon - timedelta(minutes=30)) as loader:
        assert loader.load([objects["near"]]).outcomes() == ["loaded"]
    return horizon, objects


def test_prune_dry_run_counts_per_table_and_changes_nothing(world: LedgerWorld) -> None:
    horizon, _ = load_history(world)
    dry = world.cli("ledger", "prune", "--before", horizon.isoformat())
    assert dry.code == 0
    [header, row] = dry.out.splitlines()
    assert header.split() == ["table", "rows", "would_prune", "ledger"]
    assert row.split() == ["public.kpis", "3", "2", str(LEDGER)]
    assert "dry run: 2 ledger row(s) loaded before" in dry.err
    assert "Nothing was changed; add --confirm to prune" in dry.err
    assert ledger_keys(world) == ["kpis/near.csv", "kpis/old_a.csv", "kpis/old_b.csv"]
    assert world.rows(f"SELECT COUNT(*) FROM {HORIZONS.sql}") == [(0,)]


def test_prune_confirm_removes_rows_loaded_before_the_margin_and_records_the_horizon(
    world: LedgerWorld,
) -> None:
    horizon, _ = load_history(world)
    done = world.cli("ledger", "prune", "--before", horizon.isoformat(), "--confirm", "--json")
    assert done.code == 0, done.err
    document = json.loads(done.out)
    assert document == {
        "dry_run": False,
        "before": horizon.isoformat(),
        "cutoff": (horizon - PRUNE_MARGIN).isoformat(),
        "horizon": horizon.isoformat(),
        "previous_horizon": None,
        "ledgers": [{"ledger": str(LEDGER), "tables": ["public.kpis"], "rows": 3, "pruned": 2}],
        "pruned": 2,
    }
    # Loaded 30 minutes before the horizon: within the margin, kept.
    assert ledger_keys(world) == ["kpis/near.csv"]
    [(name, recorded, order)] = world.rows(
        f"SELECT ledger_table, horizon, horizon_order FROM {HORIZONS.sql}"
    )
    assert (name, recorded.replace(tzinfo=UTC)) == (LEDGER.table, horizon)
    assert order == horizon.strftime("%Y%m%d%H%M%S%f")

    # An earlier date prunes nothing more and never moves the horizon back.
    earlier = horizon - timedelta(days=30)
    again = world.cli("ledger", "prune", "--before", earlier.isoformat(), "--confirm", "--json")
    assert again.code == 0, again.err
    document = json.loads(again.out)
    assert (document["horizon"], document["previous_horizon"]) == (
        horizon.isoformat(),
        horizon.isoformat(),
    )
    assert document["pruned"] == 0
    assert world.rows(f"SELECT MAX(horizon_order) FROM {HORIZONS.sql}") == [
        (horizon.strftime("%Y%m%d%H%M%S%f"),)
    ]
    assert ledger_keys(world) == ["kpis/near.csv"]


def test_pruned_objects_replayed_or_backfilled_are_refused_naming_the_horizon(
    world: LedgerWorld,
) -> None:
    horizon, objects = load_history(world)
    assert world.cli("ledger", "prune", "--before", horizon.isoformat(), "--confirm").code == 0
    before = kpis_ids(world)

    # `ledger --failed` does not call the pruned objects missing: it counts them apart.
    gaps = world.cli("ledger", "--failed", f"s3://{world.bucket}/kpis/", "--json")
    assert gaps.code == 0, gaps.err
    document = json.loads(gaps.out)
    assert (document["missing"], document["before_horizon"]) == ([], 2)
    assert "2 object(s) older than their table's horizon not compared" in gaps.err

    # The replayed events: the pruned ones refused, the one still in the ledger a duplicate.
    with world.loader() as loader:
        report = loader.load([objects["old_a"], objects["old_b"], objects["near"]])
    assert report.outcomes() == ["failed", "failed", "duplicate"]
    for result in report.objects[:2]:
        assert isinstance(result.error, BeforeHorizonError)
        assert result.error.retryable is False
        assert f"before the ledger's horizon {horizon:%Y-%m-%d %H:%M:%S} UTC" in result.reason
        assert result.error.horizon == horizon.isoformat()
        assert result.error.s3_uri == result.s3_object.uri
    assert kpis_ids(world) == before  # nothing loaded twice

    # A backfill lists them by their last-modified time (before the horizon): refused too.
    backfill = world.cli("load", f"s3://{world.bucket}/kpis/")
    assert backfill.code == 1
    assert "loaded 0, duplicate 1," in backfill.out
    assert "failed 2;" in backfill.out
    assert backfill.err.count(f"before the ledger's horizon {horizon:%Y-%m-%d %H:%M:%S} UTC") == 2
    assert kpis_ids(world) == before

    # `ledger --object` tells the story: refused, with the horizon named.
    told = world.cli("ledger", "--object", objects["old_a"].uri, "--json")
    document = json.loads(told.out)
    assert told.code == 1
    assert document["status"] == "failed"
    assert document["last_failure"]["error"] == "BeforeHorizonError"
    assert document["horizon"] == horizon.isoformat()


def test_objects_at_and_after_the_horizon_load_as_before(world: LedgerWorld) -> None:
    horizon, _ = load_history(world)
    assert world.cli("ledger", "prune", "--before", horizon.isoformat(), "--confirm").code == 0
    at = put(world.s3, world.bucket, "kpis/at.csv", "id,name\n10,x\n", at=horizon)
    after = put(
        world.s3,
        world.bucket,
        "kpis/after.csv",
        "id,name\n11,y\n",
        at=horizon + timedelta(seconds=1),
    )
    just_before = put(
        world.s3,
        world.bucket,
        "kpis/just-before.csv",
        "id,name\n12,z\n",
        at=horizon - timedelta(microseconds=1),
    )
    with world.loader() as loader:
        report = loader.load([at, after, just_before])
        assert report.outcomes() == ["loaded", "loaded", "failed"]
        assert isinstance(report.objects[2].error, BeforeHorizonError)
        # And loaded once: their replay is a duplicate, as always.
        assert loader.load([at, after]).outcomes() == ["duplicate", "duplicate"]
    assert kpis_ids(world) == [1, 2, 3, 10, 11]


def test_the_guard_in_the_transaction_refuses_when_a_prune_commits_after_the_loaders_reads(
    world: LedgerWorld,
) -> None:
    """The prune runs on its own session just before the load's LOCK, after every read.

    The loader asked the ledger (not loaded) and S3 (there, as the event says)
    before it; only the horizon guard, inside the transaction, can refuse.
    """
    horizon = datetime.now(UTC)
    old = put(
        world.s3, world.bucket, "kpis/late.csv", "id,name\n7,late\n", at=horizon - timedelta(days=2)
    )
    config = world.config
    pruned: list[int] = []

    def note(sql: str) -> None:
        if sql.startswith("LOCK ") and not pruned:
            with world.loader() as other:
                pruned.append(prune_ledger(other, horizon, confirm=True).pruned)

    sessions = StandInConnector.from_config(config, s3_client=world.s3)
    transport = stand_in_transport(lambda: RecordingConnection(sessions(), note))
    with Loader(config, transport=transport, s3_client=world.s3) as loader:
        report = loader.load([old])
    assert pruned == [0]  # the prune ran, between the loader's reads and its transaction
    assert report.outcomes() == ["failed"]
    error = report.objects[0].error
    assert isinstance(error, BeforeHorizonError)
    assert f"horizon {horizon:%Y-%m-%d %H:%M:%S} UTC" in error.message
    assert kpis_ids(world) == []
    assert ledger_keys(world) == []


def test_prune_refuses_a_date_in_the_future_exit_2(world: LedgerWorld) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    ran = world.cli("ledger", "prune", "--before", tomorrow, "--confirm")
    assert ran.code == 2
    assert "is in the future" in ran.err
    with world.loader() as loader, pytest.raises(ConfigError):
        prune_ledger(loader, datetime.now(UTC) + timedelta(seconds=5))


def test_a_date_is_utc_midnight_and_table_given_before_prune_still_counts(
    world: LedgerWorld,
) -> None:
    with world.loader() as loader:
        obj = put(world.s3, world.bucket, "kpis/a.csv", "id,name\n1,a\n")
        assert loader.load([obj]).outcomes() == ["loaded"]
    ran = world.cli("ledger", "prune", "--before", "2026-01-01", "--json")
    assert ran.code == 0, ran.err
    document = json.loads(ran.out)
    assert document["before"] == "2026-01-01T00:00:00+00:00"
    assert [p["ledger"] for p in document["ledgers"]] == [str(LEDGER)]
    # `ledger --table T prune`: T is not lost to prune's own defaults.
    other = world.cli("ledger", "--table", "public.other", "prune", "--before", "2026-01-01")
    assert (other.code, other.out) == (0, "")
    assert "from 0 ledger table(s)" in other.err


def test_ledger_alone_still_lists_and_help_shows_prune(
    world: LedgerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = world.cli("ledger")
    assert listed.code == 0
    assert "0 of 0 ledger row(s) shown" in listed.err
    from s3redshift.cli import main

    with pytest.raises(SystemExit) as done:
        main(["ledger", "--help"])
    assert done.value.code == 0
    assert "prune" in capsys.readouterr().out


# --- the statements, as Redshift reads them ------------------------------------------------


def test_retention_statements_are_exact_and_parse_as_redshift() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    expected = {
        create_horizon_sql(HORIZONS): (
            'CREATE TABLE IF NOT EXISTS "s3redshift"."load_horizon" ("ledger_table" '
            'VARCHAR(127) NOT NULL, "horizon" TIMESTAMP NOT NULL, "horizon_order" VARCHAR(20) '
            'NOT NULL, "recorded_at" TIMESTAMP NOT NULL)'
        ),
        record_horizon_sql(HORIZONS, [LEDGER], moment, "2026-02-01 10:00:00.000000"): (
            'INSERT INTO "s3redshift"."load_horizon" ("ledger_table", "horizon", '
            '"horizon_order", "recorded_at") VALUES (\'load_ledger_public_kpis_54cfea16\', '
            "CAST('2026-01-01 00:00:00.000000' AS TIMESTAMP), '20260101000000000000', "
            "CAST('2026-02-01 10:00:00.000000' AS TIMESTAMP))"
        ),
        horizons_sql(HORIZONS, LEDGER): (
            'SELECT "ledger_table", MAX("horizon") FROM "s3redshift"."load_horizon" WHERE '
            '"ledger_table" = \'load_ledger_public_kpis_54cfea16\' GROUP BY "ledger_table"'
        ),
        prune_count_sql(LEDGER, "2025-12-31 23:00:00.000000"): (
            'SELECT "target_table", COUNT(*), SUM(CASE WHEN "loaded_at" < '
            "CAST('2025-12-31 23:00:00.000000' AS TIMESTAMP) THEN 1 ELSE 0 END) FROM "
            '"s3redshift"."load_ledger_public_kpis_54cfea16" GROUP BY "target_table"'
        ),
        prune_sql(LEDGER, "2025-12-31 23:00:00.000000"): (
            'DELETE FROM "s3redshift"."load_ledger_public_kpis_54cfea16" WHERE "loaded_at" < '
            "CAST('2025-12-31 23:00:00.000000' AS TIMESTAMP)"
        ),
        horizon_guard_sql(LEDGER): (
            "SELECT CAST('s3redshift: older than the horizon: ' || h.\"horizon_order\" AS "
            'INTEGER) FROM "s3redshift_batch" AS b, (SELECT MAX("horizon_order") AS '
            '"horizon_order" FROM "s3redshift"."load_horizon" WHERE "ledger_table" = '
            "'load_ledger_public_kpis_54cfea16') AS h WHERE "
            'COALESCE(LEFT(b."object_order", 20), \'\') < h."horizon_order" LIMIT 1'
        ),
        horizon_guard_sql(LEDGER, newest_only=True): (
            "SELECT CAST('s3redshift: older than the horizon: ' || h.\"horizon_order\" AS "
            'INTEGER) FROM (SELECT MAX(LEFT(b."object_order", 20)) AS "object_order" FROM '
            '"s3redshift_batch" AS b) AS b, (SELECT MAX("horizon_order") AS "horizon_order" '
            'FROM "s3redshift"."load_horizon" WHERE "ledger_table" = '
            "'load_ledger_public_kpis_54cfea16') AS h WHERE "
            'COALESCE(b."object_order", \'\') < h."horizon_order" LIMIT 1'
        ),
    }
    for sql, exact in expected.items():
        assert sql == exact
        [parsed] = sqlglot.parse(sql, read="redshift")
        assert parsed is not None


def test_replace_a_snapshot_with_parts_on_both_sides_of_the_horizon_loads_or_fails_whole(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    """A replace loads a whole snapshot, so its parts load together or are refused together.

    Day 1's first part was written before the prune's horizon, its second
    after, and both events arrive in one batch. The snapshot is as new as
    its newest part: it loads whole, and both parts say so (refusing the
    first alone reported it failed while its rows were in the table).
    """
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    loader = make_loader(SNAPSHOT)
    day0 = put(s3, bucket, "kpis/d0/part-0.csv", "id,name\n1,d0\n2,d0\n", at=None)
    assert loader.load([day0]).outcomes() == ["loaded"]
    first = put(s3, bucket, "kpis/d1/part-0.csv", "id,name\n3,d1\n", at=None)
    horizon = datetime.now(UTC) + timedelta(seconds=1)  # after S3's time of every object so far
    assert prune_ledger(loader, horizon, confirm=True, now=horizon).horizon == horizon
    first = first.model_copy(update={"event_time": horizon - timedelta(hours=1)})
    second = put(
        s3, bucket, "kpis/d1/part-1.csv", "id,name\n4,d1\n", at=horizon + timedelta(seconds=1)
    )

    report = loader.load([first, second])

    assert report.outcomes() == ["loaded", "loaded"]
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(3, "d1"), (4, "d1")]
    assert loader.load([first, second]).outcomes() == ["duplicate", "duplicate"]

    # An older snapshot, all of whose parts are before the horizon, never loads over it.
    old = [
        put(s3, bucket, f"kpis/d-old/part-{n}.csv", f"id,name\n{n},old\n", at=None).model_copy(
            update={"event_time": horizon - timedelta(hours=2 - n)}
        )
        for n in range(2)
    ]
    assert loader.load(old).outcomes() == ["superseded", "superseded"]
    assert rows(pg, "SELECT id, name FROM kpis ORDER BY id") == [(3, "d1"), (4, "d1")]


def test_a_horizon_read_that_fails_after_the_guard_fired_is_retried_not_called_a_bug(
    world: LedgerWorld,
) -> None:
    """The guard refused; the read of the horizon (to say which objects) loses its connection.

    The attempt ends as any lost connection does, and the next one refuses the
    object naming the horizon: not "unexpected ... while loading this target".
    """
    horizon, _ = load_history(world)
    assert world.cli("ledger", "prune", "--before", horizon.isoformat(), "--confirm").code == 0
    before = kpis_ids(world)
    old = put(
        world.s3, world.bucket, "kpis/late.csv", "id,name\n7,late\n", at=horizon - timedelta(days=2)
    )
    dropped: list[str] = []

    def drop(sql: str) -> None:
        if sql.startswith('SELECT "ledger_table", MAX("horizon")') and not dropped:
            dropped.append(sql)
            raise ConnectionResetError(104, "Connection reset by peer")

    sessions = StandInConnector.from_config(world.config, s3_client=world.s3)
    transport = stand_in_transport(lambda: RecordingConnection(sessions(), drop))
    with Loader(world.config, transport=transport, s3_client=world.s3) as loader:
        report = loader.load([old])
    assert dropped  # the read failed once
    assert report.outcomes() == ["failed"]
    assert isinstance(report.objects[0].error, BeforeHorizonError)
    assert kpis_ids(world) == before


def test_ledger_object_of_a_pruned_object_says_its_row_may_have_been_pruned(
    world: LedgerWorld,
) -> None:
    """A loaded object whose row was pruned is not called never triggered without a word."""
    horizon, objects = load_history(world)
    assert world.cli("ledger", "prune", "--before", horizon.isoformat(), "--confirm").code == 0
    told = world.cli("ledger", "--object", objects["old_a"].uri, "--json")
    document = json.loads(told.out)
    assert told.code == 1
    assert document["status"] == "never_seen"
    assert document["loads"] == []
    assert (
        f"older than the horizon {horizon:%Y-%m-%d %H:%M:%S} UTC: if it loaded, its ledger row "
        "was pruned; a load refuses it"
    ) in document["reason"]
