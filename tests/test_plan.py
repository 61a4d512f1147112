"""Each mode's whole transaction, as text: exact where it matters, parsed with sqlglot."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError
from s3redshift.events import read_event
from s3redshift.manifest import ManifestEntry
from s3redshift.mapping import Target
from s3redshift.planner import (
    NEWER_IN_BATCH,
    PlanSettings,
    plan_event,
    plan_transaction,
    split_batch,
)
from s3redshift.transaction import Limits, keys_guard_sql
from s3redshift.transports.data_api import DATA_API_LIMITS

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"


def s3_event(*keys: str, bucket: str = "data-bucket") -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": f"2026-11-28T12:00:0{n}.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": 10 + n, "eTag": f"{n:032x}"},
                },
            }
            for n, key in enumerate(keys)
        ]
    }


def config(rule: dict[str, Any], *, ledger: bool = True) -> LoaderConfig:
    return LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg"},
            "copy": {"iam_role": ROLE, "region": "eu-west-1"},
            "ledger": {"enabled": ledger},
            "tables": [{"pattern": "{table}/**", "schema": "public"} | rule],
        }
    )


def statements(cfg: LoaderConfig, *keys: str) -> list[str]:
    plan = plan_event(cfg, read_event(s3_event(*keys)))
    [target] = plan.targets
    return target.plan.statements()


def kinds(sqls: list[str]) -> list[str]:
    """The sqlglot expression type of each statement, requiring exactly one each."""
    found = []
    for sql in sqls:
        parsed = sqlglot.parse(sql, read="redshift")
        assert len(parsed) == 1, sql
        node = parsed[0]
        assert node is not None
        if isinstance(node, exp.Command):
            # sqlglot has no grammar for LOCK; it keeps the text as a command.
            assert node.name.upper() == "LOCK", sql
            found.append("Lock")
        else:
            found.append(type(node).__name__)
    return found


HORIZON_GUARD = (
    "SELECT CAST('s3redshift: older than the horizon: ' || h.\"horizon_order\" AS INTEGER) "
    'FROM "s3redshift_batch" AS b, (SELECT MAX("horizon_order") AS "horizon_order" FROM '
    '"s3redshift"."load_horizon" WHERE "ledger_table" = \'load_ledger_public_kpis_54cfea16\') '
    'AS h WHERE COALESCE(LEFT(b."object_order", 20), \'\') < h."horizon_order" LIMIT 1'
)
"""The horizon guard of public.kpis's ledger, right after the ledger guard (after a prune)."""

REPLACE_HORIZON_GUARD = (
    "SELECT CAST('s3redshift: older than the horizon: ' || h.\"horizon_order\" AS INTEGER) "
    'FROM (SELECT MAX(LEFT(b."object_order", 20)) AS "object_order" FROM "s3redshift_batch" '
    'AS b) AS b, (SELECT MAX("horizon_order") AS "horizon_order" FROM '
    '"s3redshift"."load_horizon" WHERE "ledger_table" = \'load_ledger_public_kpis_54cfea16\') '
    'AS h WHERE COALESCE(b."object_order", \'\') < h."horizon_order" LIMIT 1'
)
"""Replace's horizon guard: the batch's newest object only (a snapshot loads whole or not)."""


def test_append_plan_is_exactly_the_documented_transaction() -> None:
    sqls = statements(config({"format": {"type": "csv", "ignore_header": 1}}), "kpis/a.csv")
    batch = re.search(r"/([0-9a-f]{32})\.objects\.csv'", sqls[2]).group(1)  # type: ignore[union-attr]
    prefix = f"s3://data-bucket/_s3redshift/manifests/public.kpis/{batch}"
    assert sqls[:7] == [
        'LOCK "s3redshift"."load_ledger_public_kpis_54cfea16", "public"."kpis"',
        'CREATE TEMP TABLE "s3redshift_batch" ("bucket" VARCHAR(63), "object_key" '
        'VARCHAR(1024), "object_identity" VARCHAR(1024), "object_size" BIGINT, '
        '"object_order" VARCHAR(64))',
        f"COPY \"s3redshift_batch\" FROM '{prefix}.objects.csv' IAM_ROLE '{ROLE}' "
        "FORMAT AS CSV REGION AS 'eu-west-1' COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF",
        "SELECT CAST('s3redshift: already loaded: ' || b.\"object_key\" AS INTEGER) "
        'FROM "s3redshift_batch" AS b JOIN "s3redshift"."load_ledger_public_kpis_54cfea16" AS l ON '
        'l."bucket" = b."bucket" AND l."object_key" = b."object_key" AND '
        'OCTET_LENGTH(l."object_key") = OCTET_LENGTH(b."object_key") AND '
        'l."object_identity" = b."object_identity" LIMIT 1',
        HORIZON_GUARD,
        f"COPY \"public\".\"kpis\" FROM '{prefix}.manifest' IAM_ROLE '{ROLE}' FORMAT AS CSV "
        "REGION AS 'eu-west-1' MANIFEST IGNOREHEADER AS 1 COMPUPDATE OFF MAXERROR AS 0 "
        "STATUPDATE OFF",
        'INSERT INTO "s3redshift"."load_ledger_public_kpis_54cfea16" ("bucket", "object_key", '
        '"object_identity", '
        '"object_size", "target_table", "batch_id", "loaded_at") SELECT "bucket", '
        f'"object_key", "object_identity", "object_size", \'public.kpis\', \'{batch}\', '
        + sqls[6].split(f"'{batch}', ")[-1],
    ]
    assert re.fullmatch(
        r".*, CAST\('\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}' AS TIMESTAMP\) "
        r'FROM "s3redshift_batch"',
        sqls[6],
    )
    assert sqls[7] == 'DROP TABLE "s3redshift_batch"'
    assert len(sqls) == 8
    assert kinds(sqls) == ["Lock", "Create", "Copy", "Select", "Select", "Copy", "Insert", "Drop"]


def test_replace_deletes_then_copies_and_never_truncates() -> None:
    sqls = statements(config({"mode": "replace"}), "kpis/a.csv")
    assert kinds(sqls) == [
        "Lock",
        "Create",
        "Copy",
        "Select",
        "Select",
        "Select",
        "Delete",
        "Copy",
        "Insert",
        "Drop",
    ]
    ledger = '"s3redshift"."load_ledger_public_kpis_54cfea16"'
    assert sqls[4] == REPLACE_HORIZON_GUARD
    assert sqls[5] == (
        "SELECT CAST('s3redshift: a newer object is loaded: ' || l.\"object_order\" AS INTEGER) "
        f'FROM {ledger} AS l WHERE LEFT(l."object_order", 20) > '
        '(SELECT MAX(LEFT(b."object_order", 20)) FROM "s3redshift_batch" AS b) LIMIT 1'
    )
    assert sqls[6] == 'DELETE FROM "public"."kpis"'
    assert sqls[8].startswith(
        f'INSERT INTO {ledger} ("bucket", "object_key", "object_identity", "object_size", '
        '"object_order", "target_table", "batch_id", "loaded_at") SELECT "bucket", '
        '"object_key", "object_identity", "object_size", "object_order", '
    )
    assert not any("TRUNCATE" in s.upper() for s in sqls)


def test_replace_plans_only_the_newest_snapshot_of_an_event() -> None:
    plan = plan_event(config({"mode": "replace"}), read_event(s3_event("kpis/b.csv", "kpis/a.csv")))
    [target] = plan.targets
    # a.csv's event is the later one (12:00:01), so it is the newest snapshot.
    assert target.objects == ("s3://data-bucket/kpis/a.csv",)
    assert [(s.uri, s.reason) for s in plan.skipped] == [
        ("s3://data-bucket/kpis/b.csv", NEWER_IN_BATCH)
    ]


def test_upsert_with_order_by_stages_once_and_inserts_by_column_name() -> None:
    rule = {"mode": "upsert", "keys": ["id"], "order_by": "ts", "columns": ["id", "val", "ts"]}
    sqls = statements(config(rule), "kpis/a.csv", "kpis/b.csv")
    assert kinds(sqls) == [
        "Lock",
        "Create",
        "Copy",
        "Select",
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
    ]
    assert sqls[5] == (
        'CREATE TEMP TABLE "s3redshift_stage" (LIKE "public"."kpis" INCLUDING DEFAULTS)'
    )
    assert sqls[6].startswith('COPY "s3redshift_stage" ("id", "val", "ts") FROM ')
    # Per key: the greatest ts among the staged rows and the table's own row,
    # a tie to the greater val, a full tie to the row already there.
    assert sqls[7] == (
        'CREATE TEMP TABLE "s3redshift_latest" AS SELECT "id", "val", "ts" FROM (SELECT "id", '
        '"val", "ts", "s3redshift_source", ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "ts" '
        'DESC NULLS LAST, "val" DESC NULLS LAST, "s3redshift_source") AS "s3redshift_rank" FROM '
        '(SELECT "id", "val", "ts", 1 AS "s3redshift_source" FROM "s3redshift_stage" WHERE "id" '
        'IS NOT NULL UNION ALL SELECT t."id", t."val", t."ts", 0 FROM "public"."kpis" AS t JOIN '
        '(SELECT DISTINCT "id" FROM "s3redshift_stage") AS s ON t."id" = s."id") AS candidates) '
        'AS ranked WHERE "s3redshift_rank" = 1 AND "s3redshift_source" = 1'
    )
    assert sqls[8] == (
        'DELETE FROM "public"."kpis" USING "s3redshift_latest" WHERE '
        '"public"."kpis"."id" = "s3redshift_latest"."id"'
    )
    assert sqls[9] == (
        'INSERT INTO "public"."kpis" ("id", "val", "ts") SELECT "id", "val", "ts" '
        'FROM "s3redshift_latest"'
    )
    assert sqls[10] == (
        'INSERT INTO "public"."kpis" ("id", "val", "ts") SELECT "id", "val", "ts" '
        'FROM "s3redshift_stage" WHERE "id" IS NULL'
    )
    assert not any("SELECT *" in s for s in sqls)


def test_upsert_without_order_by_stages_once_behind_a_keys_guard() -> None:
    rule = {"mode": "upsert", "keys": ["id"], "columns": ["id", "val"]}
    sqls = statements(config(rule), "kpis/a.csv", "kpis/b.csv")
    copies = [s for s in sqls if s.startswith('COPY "s3redshift_stage"')]
    assert len(copies) == 1
    guard = sqls.index(keys_guard_sql(["id"]))
    assert sqls[guard - 1] == copies[0]
    assert sqls[guard] == (
        "SELECT CAST('s3redshift: a key repeats among the objects: ' || CAST(COUNT(*) AS VARCHAR) "
        'AS INTEGER) FROM "s3redshift_stage" WHERE "id" IS NOT NULL GROUP BY "id" '
        "HAVING COUNT(*) > 1 LIMIT 1"
    )
    assert "UNION ALL" not in sqls[guard + 1]  # no order_by: the staged row wins
    assert all(kind != "Command" for kind in kinds(sqls[1:]))


def test_upsert_without_order_by_object_by_object_after_keys_collided() -> None:
    target, settings = _split_setup(PER_OBJECT)
    planned = plan_transaction(
        target,
        _entries(2),
        settings=settings,
        columns=("id", "val"),
        loaded_at="t",
        per_object=True,
    )
    sqls = planned.plan.statements()
    copies = [s for s in sqls if s.startswith('COPY "s3redshift_stage"')]
    assert len(copies) == 2
    assert copies[0].split("'")[1].endswith("-00001.manifest")
    assert copies[1].split("'")[1].endswith("-00002.manifest")
    assert keys_guard_sql(["id"]) not in sqls
    assert sqls.count('DELETE FROM "s3redshift_stage"') == 1  # emptied between the objects


def test_ledger_disabled_plan_has_no_bookkeeping() -> None:
    sqls = statements(config({}, ledger=False), "kpis/a.csv")
    assert kinds(sqls) == ["Lock", "Copy"]
    assert sqls[0] == 'LOCK "public"."kpis"'


def test_mixed_compression_gives_one_copy_per_compression_in_one_transaction() -> None:
    sqls = statements(config({}), "kpis/a.csv", "kpis/b.csv.gz", "kpis/c.csv")
    data = [s for s in sqls if s.startswith('COPY "public"."kpis"')]
    assert len(data) == 2
    assert " GZIP " not in data[0]
    assert " GZIP " in data[1]


def test_parquet_plan_omits_region_for_the_data_copy() -> None:
    sqls = statements(config({"format": {"type": "parquet"}}), "kpis/a.parquet")
    [data] = [s for s in sqls if s.startswith('COPY "public"."kpis"')]
    assert data.endswith("FORMAT AS PARQUET MANIFEST STATUPDATE OFF")
    assert "REGION" not in data


def test_plan_json_shape_and_skips() -> None:
    event = s3_event("kpis/a.csv", "_s3redshift/manifests/public.kpis/x.manifest", "loose")
    result = plan_event(config({}), read_event(event)).to_dict()
    assert [t["table"] for t in result["targets"]] == ["public.kpis"]
    assert result["targets"][0]["objects"] == ["s3://data-bucket/kpis/a.csv"]
    assert [s["uri"] for s in result["skipped"]] == [
        "s3://data-bucket/_s3redshift/manifests/public.kpis/x.manifest",
        "s3://data-bucket/loose",
    ]


def test_offline_upsert_plan_without_columns_says_what_to_configure() -> None:
    with pytest.raises(ConfigError, match="needs the rule's 'columns'"):
        statements(config({"mode": "upsert", "keys": ["id"]}), "kpis/a.csv")


# --- splitting to the transport's limits (planner.next_transaction) ----------------------


def _entries(count: int, *, key_bytes: int = 20) -> list[ManifestEntry]:
    return [
        ManifestEntry("data-bucket", f"kpis/{n:05d}".ljust(key_bytes, "x") + ".csv", f"{n:032x}", 9)
        for n in range(count)
    ]


def _split_setup(rule: dict[str, Any]) -> tuple[Target, PlanSettings]:
    cfg = config(rule)
    target = cfg.mapper().resolve("kpis/a.csv")
    assert target is not None
    return target, PlanSettings.from_config(cfg)


PER_OBJECT = {"mode": "upsert", "keys": ["id"], "columns": ["id", "val"]}


@pytest.mark.parametrize("statements", [13, 14, 19, 20, 26, 40, 41, 100])
def test_each_transaction_is_the_longest_head_that_fits_the_statement_limit(
    statements: int,
) -> None:
    target, settings = _split_setup(PER_OBJECT)
    limits = Limits(statements=statements)
    entries = _entries(37)

    def plan(objects: list[ManifestEntry]) -> list[str]:
        planned = plan_transaction(
            target,
            objects,
            settings=settings,
            columns=("id", "val"),
            loaded_at="t",
            per_object=True,
        )
        return planned.plan.statements()

    parts = list(
        split_batch(
            target,
            entries,
            settings=settings,
            columns=("id", "val"),
            loaded_at="t",
            limits=limits,
            per_object=True,
        )
    )
    assert [e for p in parts for e in p.entries] == entries  # all of them, in order, once
    rest = entries
    for part in parts:
        size = len(part.entries)
        assert part.plan.statements() == plan(rest[:size])
        assert len(part.plan.steps) <= statements or size == 1
        if size < len(rest):  # one more object would not have fitted
            assert len(plan(rest[: size + 1])) > statements
        rest = rest[size:]


def test_a_byte_limit_splits_too_and_a_lone_object_over_it_is_left_to_the_transport() -> None:
    target, settings = _split_setup(PER_OBJECT)
    one = plan_transaction(
        target,
        _entries(1),
        settings=settings,
        columns=("id", "val"),
        loaded_at="t",
        per_object=True,
    )
    size_one = sum(len(s.encode()) for s in one.plan.statements(redact=False))
    limits = Limits(sql_bytes=size_one * 2)
    parts = list(
        split_batch(
            target,
            _entries(10),
            settings=settings,
            columns=("id", "val"),
            loaded_at="t",
            limits=limits,
            per_object=True,
        )
    )
    assert all(limits.admit(p.plan) for p in parts)
    assert len(parts) > 1
    lone = next(
        split_batch(
            target,
            _entries(3),
            settings=settings,
            columns=("id", "val"),
            loaded_at="t",
            limits=Limits(sql_bytes=10),
            per_object=True,
        )
    )
    assert len(lone.entries) == 1
    assert not Limits(sql_bytes=10).admit(lone.plan)


def test_an_append_is_never_split_by_the_data_api_limits() -> None:
    target, settings = _split_setup({})
    parts = list(
        split_batch(
            target, _entries(5000), settings=settings, loaded_at="t", limits=DATA_API_LIMITS
        )
    )
    assert [len(p.entries) for p in parts] == [5000]


def test_the_manifest_is_one_compact_line_with_every_entry_mandatory_and_sized() -> None:
    import json

    from s3redshift.manifest import manifest_json

    entries = [
        ManifestEntry("data-bucket", 'kpis/é "quoted", ünïcode.csv', "v1", 12),
        ManifestEntry("data-bucket", "kpis/2026/b.csv.gz", "v2", 0),
    ]
    text = manifest_json(entries)
    assert text.endswith("}\n")
    assert text.count("\n") == 1
    assert "é" in text  # UTF-8 as it is, not \\u escapes
    # The document the indented rendering wrote before, value for value.
    assert json.loads(text) == {
        "entries": [
            {
                "url": 's3://data-bucket/kpis/é "quoted", ünïcode.csv',
                "mandatory": True,
                "meta": {"content_length": 12},
            },
            {
                "url": "s3://data-bucket/kpis/2026/b.csv.gz",
                "mandatory": True,
                "meta": {"content_length": 0},
            },
        ]
    }


@pytest.mark.parametrize("order_by", ["", "val"])
def test_an_upsert_of_a_thousand_objects_is_one_data_api_transaction(order_by: str) -> None:
    """One commit per target per batch: the upsert plan does not grow with the objects."""
    target, settings = _split_setup(PER_OBJECT | {"order_by": order_by})
    parts = list(
        split_batch(
            target,
            _entries(1000),
            settings=settings,
            columns=("id", "val"),
            loaded_at="t",
            limits=DATA_API_LIMITS,
        )
    )
    assert [len(p.entries) for p in parts] == [1000]
    assert len(parts[0].plan.steps) <= 20
