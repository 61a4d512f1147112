"""The injector's aim and the statements it recognises, without the stand-in.

A fault with ``where`` counts only the arrivals it names: the head_fault
schedules rely on it to break the second HeadObject of one table's batch
whatever the other tables do. A target's DDL is the ``ddl`` point, the
ledger's own DDL is not: the schema_evolve schedules rely on it. The
insert into ``load_rejects`` is the ``rejects_insert`` point, its DDL none:
the skip_rows schedules rely on it.
"""

from __future__ import annotations

from reliability.faults import FaultSpec, Injector, classify
from s3redshift.column_types import ColumnType
from s3redshift.identifiers import TableRef
from s3redshift.ledger import LEDGER_TABLE_PREFIX
from s3redshift.rejects import create_rejects_sql, record_rejects_sql, rejects_table_for
from s3redshift.schema_plan import add_column_sql, create_table_sql, widen_sql


def test_an_aimed_fault_fires_on_the_nth_arrival_of_its_own_requests() -> None:
    aimed = FaultSpec("head", "slow_down", 2, where="/t0/")
    plain = FaultSpec("head", "exception", 3)
    injector = Injector((aimed, plain))
    paths = ["/b/t1/o0.csv", "/b/t0/o0.csv", "/b/t1/o1.csv", "/b/t0/o1.csv", "/b/t0/o2.csv"]
    fired = [injector.hit("head", "loader0", path) for path in paths]
    # The third HEAD of any table is the plain fault's; the second of t0 (the fourth
    # HEAD) the aimed one's; nothing fires twice.
    assert fired == [None, None, plain, aimed, None]
    assert injector.reached == {"head": 5, "head[/t0/]": 3}


def test_a_targets_schema_statements_are_the_ddl_point_and_the_ledgers_are_not() -> None:
    prefix = f'"rel_ledger"."{LEDGER_TABLE_PREFIX}'
    target = TableRef("rel", "t0")
    text = ColumnType("VARCHAR", length=300, observed=True)
    ddl = [
        create_table_sql(target, {"row_id": ColumnType("BIGINT"), "note": text}),
        add_column_sql(target, "note", text),
        widen_sql(target, "note", ColumnType("VARCHAR", length=4096)),
    ]
    assert [classify(sql, prefix, in_load=False) for sql in ddl] == ["ddl"] * 3
    ledger = f'"rel_ledger"."{LEDGER_TABLE_PREFIX}abc"'
    others = [
        f"CREATE TABLE IF NOT EXISTS {ledger} (bucket VARCHAR(63)) SORTKEY (object_key)",
        f'ALTER TABLE {ledger} ADD COLUMN "object_order" VARCHAR(64)',
        'CREATE TABLE IF NOT EXISTS "rel_ledger"."s3redshift_failures" (bucket VARCHAR(63))',
        'ALTER TABLE "rel"."t0" DROP COLUMN x',
        'CREATE TEMP TABLE "s3redshift_stage" (LIKE "rel"."t0" INCLUDING DEFAULTS)',
    ]
    assert [classify(sql, prefix, in_load=False) for sql in others] == [None] * len(others)


def test_the_rejects_insert_is_its_own_point_and_its_ddl_none() -> None:
    prefix = f'"rel_ledger"."{LEDGER_TABLE_PREFIX}'
    rejects = rejects_table_for("rel_ledger")
    insert = record_rejects_sql(rejects, TableRef("rel", "t0"), "b1", "2026-12-07 12:00:00", "stl")
    assert classify(insert, prefix, in_load=True) == "rejects_insert"
    assert classify(insert, prefix, in_load=False) is None
    assert classify(create_rejects_sql(rejects), prefix, in_load=False) is None
    # Another schema's load_rejects is not this ledger's.
    other = record_rejects_sql(
        rejects_table_for("other"), TableRef("rel", "t0"), "b1", "2026-12-07 12:00:00", "stl"
    )
    assert classify(other, prefix, in_load=True) is None
