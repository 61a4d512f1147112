"""The transaction a load runs for one target, as data.

A :class:`TransactionPlan` is the complete list of steps of one load
transaction: plain SQL steps and COPY steps. It is built without I/O (by
:mod:`s3redshift.planner`), shown by ``s3redshift plan``, and carried out
unchanged by every transport; a transport
decides only how to connect and how a COPY step is executed (Redshift runs the
COPY text; the local stand-in streams the objects itself).

The shape of every plan, per mode (``[ledger]`` steps only when the ledger is
enabled)::

    LOCK <target's ledger>, <target>              one fixed order: no deadlocks
    [CREATE TEMP TABLE s3redshift_batch ...]      the batch's object list
    [COPY s3redshift_batch FROM <objects.csv>]
    [SELECT CAST('s3redshift: already loaded: '...)]   the exactly-once guard
    append:  COPY <target> FROM <manifest> ...
    replace: DELETE FROM <target>; COPY <target> FROM <manifest> ...
    upsert:  CREATE TEMP TABLE s3redshift_stage (LIKE <target>)
             per group: COPY stage; keep one row per key (the latest by order_by);
                        DELETE matching rows from <target>; INSERT by column name;
                        empty the stage
             DROP TABLE s3redshift_stage
    [INSERT INTO <ledger> SELECT ... FROM s3redshift_batch]
    [DROP TABLE s3redshift_batch]

``replace`` deletes instead of truncating because TRUNCATE commits the
transaction in Redshift, which would leave an empty table behind on failure.
Upsert inserts by column name, never ``SELECT *``, so it does not depend on
the column order of the staging table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from s3redshift.copy import CopyCommand
from s3redshift.identifiers import TableRef, quote_identifier
from s3redshift.ledger import (
    BATCH_TABLE,
    batch_table_sql,
    guard_sql,
    ledger_insert_sql,
)

__all__ = [
    "GUARD_PURPOSE",
    "LATEST_TABLE",
    "STAGE_TABLE",
    "UNLIMITED",
    "CopyStep",
    "Limits",
    "SqlStep",
    "Step",
    "TransactionPlan",
    "build_plan",
]

GUARD_PURPOSE = "abort if any object is already loaded"
"""The purpose of the ledger guard step; transports recognise a failure there."""

STAGE_TABLE = TableRef.temporary("s3redshift_stage")
LATEST_TABLE = TableRef.temporary("s3redshift_latest")
_RANK = "s3redshift_rank"

Mode = Literal["append", "upsert", "replace"]


@dataclass(frozen=True)
class SqlStep:
    """A statement without secrets, run as is."""

    sql: str
    purpose: str

    def text(self, *, redact: bool = True) -> str:
        """The statement (it holds no secret, so ``redact`` changes nothing)."""
        return self.sql


@dataclass(frozen=True)
class CopyStep:
    """A COPY; ``objects`` are the S3 URIs it reads, for error attribution."""

    command: CopyCommand
    purpose: Literal["data", "batch-list"]
    objects: tuple[str, ...]

    def text(self, *, redact: bool = True) -> str:
        """The COPY text; redacted unless asked otherwise."""
        return self.command.redacted() if redact else self.command.to_sql()


Step = SqlStep | CopyStep


@dataclass(frozen=True)
class TransactionPlan:
    """Every step of one target's load transaction, in order."""

    target: TableRef
    batch_id: str
    mode: Mode
    steps: tuple[Step, ...]

    def statements(self, *, redact: bool = True) -> list[str]:
        """The statements as text (secrets redacted by default)."""
        return [step.text(redact=redact) for step in self.steps]

    @property
    def data_objects(self) -> tuple[str, ...]:
        """Every data object the plan loads, in load order."""
        seen: list[str] = []
        for step in self.steps:
            if isinstance(step, CopyStep) and step.purpose == "data":
                seen.extend(step.objects)
        return tuple(seen)


@dataclass(frozen=True)
class Limits:
    """How large one transaction may be on a transport (None: no limit).

    The Data API takes at most 40 statements and 100 KB of statement text per
    batch; a driver session takes any number. Planning splits a batch so
    every transaction fits, and the transport still refuses one that does not.
    """

    statements: int | None = None
    sql_bytes: int | None = None

    def admit(self, plan: TransactionPlan) -> bool:
        """Whether ``plan`` fits (sizes of the unredacted text, as it is sent)."""
        if self.statements is None and self.sql_bytes is None:
            return True
        sqls = plan.statements(redact=False)
        if self.statements is not None and len(sqls) > self.statements:
            return False
        if self.sql_bytes is None:
            return True
        size = sum(len(sql.encode("utf-8", errors="surrogatepass")) for sql in sqls)
        return size <= self.sql_bytes


UNLIMITED = Limits()
"""A transport that takes transactions of any size."""


def _key_match(left: TableRef, right: TableRef, keys: Sequence[str]) -> str:
    return " AND ".join(
        f"{left.sql}.{quote_identifier(k)} = {right.sql}.{quote_identifier(k)}" for k in keys
    )


def _upsert_group(
    target: TableRef,
    copies: Sequence[CopyStep],
    *,
    keys: Sequence[str],
    order_by: str,
    columns: Sequence[str],
) -> list[Step]:
    cols = ", ".join(quote_identifier(c) for c in columns)
    partition = ", ".join(quote_identifier(k) for k in keys)
    # Without order_by the group is one object, so any row of a key is as
    # good as another; ROW_NUMBER still needs an ORDER BY to be portable.
    # NULLS LAST: both Redshift and PostgreSQL sort NULL first in DESC order,
    # which would let a row without an order_by value beat every dated one.
    order = quote_identifier(order_by) + " DESC NULLS LAST" if order_by else partition
    return [
        *copies,
        SqlStep(
            f"CREATE TEMP TABLE {LATEST_TABLE.sql} AS SELECT {cols} FROM "
            f"(SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order}) "
            f"AS {quote_identifier(_RANK)} FROM {STAGE_TABLE.sql}) AS ranked "
            f"WHERE {quote_identifier(_RANK)} = 1",
            "keep the latest row per key",
        ),
        SqlStep(
            f"DELETE FROM {target.sql} USING {LATEST_TABLE.sql} "
            f"WHERE {_key_match(target, LATEST_TABLE, keys)}",
            "remove rows being replaced",
        ),
        SqlStep(
            f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {LATEST_TABLE.sql}",
            "insert new rows by column name",
        ),
        SqlStep(f"DROP TABLE {LATEST_TABLE.sql}", "clean up"),
        SqlStep(f"DELETE FROM {STAGE_TABLE.sql}", "empty the stage for the next group"),
    ]


def build_plan(
    *,
    target: TableRef,
    batch_id: str,
    mode: Mode,
    data_copies: Sequence[CopyStep],
    ledger: TableRef | None,
    batch_list_copy: CopyStep | None,
    loaded_at: str,
    keys: Sequence[str] = (),
    order_by: str = "",
    columns: Sequence[str] = (),
) -> TransactionPlan:
    """Assemble one target's transaction.

    For ``upsert``, ``data_copies`` must already target :data:`STAGE_TABLE`;
    with ``order_by`` they are staged together, otherwise each COPY is one
    object, in load order, and is merged before the next one is staged, so a
    later object's row wins over an earlier one's for the same key.
    ``columns`` (upsert only) are the target's columns, inserted by name.
    """
    if (ledger is None) != (batch_list_copy is None):
        raise ValueError("the ledger and its batch-list COPY go together")
    steps: list[Step] = []
    locked = [t.sql for t in (ledger, target) if t is not None]
    steps.append(SqlStep(f"LOCK {', '.join(locked)}", "serialize loads of this target"))
    if ledger is not None and batch_list_copy is not None:
        steps += [
            SqlStep(batch_table_sql(), "hold the batch's object list"),
            batch_list_copy,
            SqlStep(guard_sql(ledger), GUARD_PURPOSE),
        ]
    if mode == "append":
        steps += data_copies
    elif mode == "replace":
        steps.append(SqlStep(f"DELETE FROM {target.sql}", "replace: empty the table"))
        steps += data_copies
    else:
        if not keys or not columns:
            raise ValueError("upsert needs keys and the target's columns")
        steps.append(
            SqlStep(f"CREATE TEMP TABLE {STAGE_TABLE.sql} (LIKE {target.sql})", "staging table")
        )
        groups = [list(data_copies)] if order_by else [[c] for c in data_copies]
        for group in groups:
            steps += _upsert_group(target, group, keys=keys, order_by=order_by, columns=columns)
        steps.append(SqlStep(f"DROP TABLE {STAGE_TABLE.sql}", "clean up"))
    if ledger is not None:
        steps += [
            SqlStep(ledger_insert_sql(ledger, target, batch_id, loaded_at), "record the batch"),
            SqlStep(f"DROP TABLE {BATCH_TABLE.sql}", "clean up"),
        ]
    return TransactionPlan(target=target, batch_id=batch_id, mode=mode, steps=tuple(steps))
