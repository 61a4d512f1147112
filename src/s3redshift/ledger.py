"""Exactly-once bookkeeping: the ledger table and the SQL that guards it.

The ledger records every loaded object version ``(bucket, key, identity)``
*in the same transaction as the COPY that loaded it*. Either both commit or
neither does, so there is no window in which data is loaded but not recorded
(a duplicate on retry) or recorded but not loaded (a loss) -- the failure mode
of loaders that keep their bookkeeping outside the warehouse.

Inside the transaction the batch's object list is COPYed into a temporary
table, and a *guard* statement aborts the whole transaction when any of those
objects is already in the ledger. The guard needs no client logic between
statements, so the same plan is safe on the Redshift Data API, where a batch
of statements runs without the client seeing intermediate results. It aborts
by casting a text that starts with :data:`GUARD_MARKER` to an integer, which
both Redshift and PostgreSQL refuse with an error whose message contains the
text; transports recognise the marker and raise
:class:`~s3redshift.errors.BatchConflictError`.

All SQL here is built from validated identifiers and escaped literals only.
"""

from __future__ import annotations

from collections.abc import Sequence

from s3redshift.identifiers import TableRef, quote_identifier, quote_literal

__all__ = [
    "BATCH_TABLE",
    "GUARD_MARKER",
    "LEDGER_COLUMNS",
    "batch_table_sql",
    "create_ledger_sql",
    "guard_sql",
    "ledger_insert_sql",
    "loaded_identities_sql",
]

GUARD_MARKER = "s3redshift: already loaded: "
"""Text of the guard's deliberate error; transports look for it."""

BATCH_TABLE = TableRef.temporary("s3redshift_batch")
"""Session-temporary table holding the objects of the batch being loaded."""

LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bucket", "VARCHAR(63) NOT NULL"),
    ("object_key", "VARCHAR(1024) NOT NULL"),
    ("object_identity", "VARCHAR(1024) NOT NULL"),
    ("object_size", "BIGINT NOT NULL"),
    ("target_table", "VARCHAR(300) NOT NULL"),
    ("batch_id", "VARCHAR(64) NOT NULL"),
    ("loaded_at", "TIMESTAMP NOT NULL"),
)
"""The ledger's columns and types, valid in Redshift and PostgreSQL alike."""

_OBJECT_COLUMNS = ("bucket", "object_key", "object_identity", "object_size")


def _columns(names: Sequence[str]) -> str:
    return ", ".join(quote_identifier(n) for n in names)


def create_ledger_sql(ledger: TableRef) -> list[str]:
    """Idempotent DDL creating the ledger's schema and table (run outside a load)."""
    statements = []
    if ledger.schema is not None:
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(ledger.schema)}")
    columns = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in LEDGER_COLUMNS)
    statements.append(f"CREATE TABLE IF NOT EXISTS {ledger.sql} ({columns})")
    return statements


def batch_table_sql() -> str:
    """The temporary table the batch's object list is COPYed into."""
    columns = ", ".join(
        f"{quote_identifier(name)} {kind.removesuffix(' NOT NULL')}"
        for name, kind in LEDGER_COLUMNS
        if name in _OBJECT_COLUMNS
    )
    return f"CREATE TEMP TABLE {BATCH_TABLE.sql} ({columns})"


def _same_object(left: str, right: str) -> str:
    return " AND ".join(
        f"{left}.{quote_identifier(c)} = {right}.{quote_identifier(c)}"
        for c in ("bucket", "object_key", "object_identity")
    )


def guard_sql(ledger: TableRef) -> str:
    """Abort the transaction when any object of the batch is already in the ledger."""
    return (
        f"SELECT CAST({quote_literal(GUARD_MARKER)} || b.{quote_identifier('object_key')} "
        f"AS INTEGER) FROM {BATCH_TABLE.sql} AS b JOIN {ledger.sql} AS l "
        f"ON {_same_object('l', 'b')} LIMIT 1"
    )


def ledger_insert_sql(ledger: TableRef, target: TableRef, batch: str, loaded_at: str) -> str:
    """Record every object of the batch as loaded into ``target``.

    ``loaded_at`` is an ISO timestamp from the client: there is no current-time
    function spelt the same in Redshift and PostgreSQL.
    """
    names = (*_OBJECT_COLUMNS, "target_table", "batch_id", "loaded_at")
    values = (
        _columns(_OBJECT_COLUMNS),
        quote_literal(str(target)),
        quote_literal(batch),
        f"CAST({quote_literal(loaded_at)} AS TIMESTAMP)",
    )
    return (
        f"INSERT INTO {ledger.sql} ({_columns(names)}) "
        f"SELECT {', '.join(values)} FROM {BATCH_TABLE.sql}"
    )


def loaded_identities_sql(ledger: TableRef, objects: Sequence[tuple[str, str, str]]) -> str:
    """Which of ``(bucket, key, identity)`` are in the ledger (a read outside the load).

    Written as OR-ed equalities rather than a row-value ``IN`` list, which not
    every Redshift version accepts; callers chunk long lists.
    """
    names = ("bucket", "object_key", "object_identity")
    conditions = " OR ".join(
        "("
        + " AND ".join(
            f"{quote_identifier(n)} = {quote_literal(v)}" for n, v in zip(names, obj, strict=True)
        )
        + ")"
        for obj in objects
    )
    return f"SELECT {_columns(names)} FROM {ledger.sql} WHERE {conditions or 'FALSE'}"
