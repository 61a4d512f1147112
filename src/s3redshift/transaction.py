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
    [SELECT CAST('s3redshift: older than the horizon: '...)]   after a prune
    append:  COPY <target> FROM <manifest> ...
    replace: [SELECT CAST('s3redshift: a newer object is loaded: '...)]
             DELETE FROM <target>; COPY <target> FROM <manifest> ...
    upsert:  CREATE TEMP TABLE s3redshift_stage (LIKE <target> INCLUDING DEFAULTS)
             COPY stage (one per compression; or per object, each merged alone,
                         the stage emptied between them)
             [no order_by: SELECT CAST('s3redshift: a key repeats ...')]
             keep the winning row per key (greatest order_by over the stage and
                  the table's own row; ties by the other columns)
             DELETE the rows it replaces; INSERT the winners by column name;
             INSERT every staged row whose key has a NULL
             DROP TABLE s3redshift_stage
    on_error = "skip_rows": after each data COPY above,
             INSERT INTO <ledger schema>.load_rejects SELECT ... FROM <error log>
             WHERE query = pg_last_copy_id()
    [INSERT INTO <ledger> SELECT ... FROM s3redshift_batch]
    [DROP TABLE s3redshift_batch]

``replace`` deletes instead of truncating because TRUNCATE commits the
transaction in Redshift, which would leave an empty table behind on failure.
Upsert inserts by column name, never ``SELECT *``, so it does not depend on
the column order of the staging table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from s3redshift.copy import CopyCommand
from s3redshift.errors import (
    BatchConflictError,
    BeforeHorizonError,
    KeyCollisionError,
    S3RedshiftError,
)
from s3redshift.identifiers import TableRef, portable_literal, quote_identifier
from s3redshift.ledger import (
    BATCH_TABLE,
    GUARD_PREFIX,
    batch_table_sql,
    guard_sql,
    horizon_guard_sql,
    ledger_insert_sql,
    newer_guard_sql,
)

__all__ = [
    "GUARD_ERRORS",
    "GUARD_PURPOSE",
    "HORIZON_GUARD_PURPOSE",
    "INTERNAL_PREFIX",
    "KEYS_GUARD_PURPOSE",
    "KEYS_MARKER",
    "LATEST_TABLE",
    "NEWER_GUARD_PURPOSE",
    "STAGE_TABLE",
    "UNLIMITED",
    "UNORDERED_TYPES",
    "CopyStep",
    "DataCopy",
    "Limits",
    "ShapedCopy",
    "SqlStep",
    "Step",
    "TransactionPlan",
    "build_plan",
    "keys_guard_sql",
    "tie_breakers",
]

GUARD_PURPOSE = "abort if any object is already loaded"
"""The purpose of the ledger guard step; transports recognise a failure there."""

NEWER_GUARD_PURPOSE = "abort if a newer object is loaded"
"""The purpose of replace's guard against overwriting a newer snapshot."""

HORIZON_GUARD_PURPOSE = "abort if any object is older than the ledger's horizon"
"""The purpose of the guard refusing objects a prune may have removed from the ledger."""

KEYS_GUARD_PURPOSE = "abort if a key repeats among the objects"
"""The purpose of upsert's guard (no ``order_by``) against merging objects it cannot order."""

KEYS_MARKER = GUARD_PREFIX + "a key repeats among the objects: "
"""Text of the keys guard's deliberate error."""

GUARD_ERRORS: Mapping[str, tuple[type[S3RedshiftError], str]] = {
    GUARD_PURPOSE: (
        BatchConflictError,
        "some objects of the batch were loaded by a concurrent transaction",
    ),
    NEWER_GUARD_PURPOSE: (
        BatchConflictError,
        "a newer object was loaded into the table by a concurrent transaction",
    ),
    HORIZON_GUARD_PURPOSE: (
        BeforeHorizonError,
        "some objects of the batch are older than the ledger's horizon (s3redshift ledger "
        "prune): they are refused",
    ),
    KEYS_GUARD_PURPOSE: (
        KeyCollisionError,
        "a key repeats among the batch's objects; they are merged one object at a time",
    ),
}
"""What a guard step's deliberate failure means, by the step's purpose.

Each guard aborts by casting its marker text to an integer. Redshift may
report the failed cast without the text ("Invalid digit"), so transports
recognise a guard by the step that failed and a cast failure, and raise the
class named here with its message; the one place that says what each means.
"""

INTERNAL_PREFIX = "s3redshift_"
"""How the loader's own temporary tables and column aliases begin: no column of a file may."""

STAGE_TABLE = TableRef.temporary("s3redshift_stage")
LATEST_TABLE = TableRef.temporary("s3redshift_latest")
_RANK = "s3redshift_rank"
_SOURCE = "s3redshift_source"

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
class ShapedCopy:
    """Columnar files loaded by name: a COPY into a table shaped like them, then INSERT.

    Redshift's COPY from Parquet and ORC fills columns by position and needs
    as many columns as the file has, so files whose columns differ from the
    table's (in order or number) are copied into a temporary table of their
    own shape (``copy`` targets it) and moved into the destination by name.
    """

    copy: CopyStep
    columns: tuple[tuple[str, str], ...]
    """The files' columns in file order: folded name and type SQL."""
    empty: frozenset[str] = frozenset()
    """Columns the files declare with no type (always null): not moved, the target's DEFAULT."""

    @property
    def objects(self) -> tuple[str, ...]:
        """The S3 URIs its COPY reads."""
        return self.copy.objects

    def steps(self, into: TableRef) -> list[Step]:
        """Create the shaped table, COPY, INSERT by name into ``into``, drop it."""
        shaped = self.copy.command.table
        moved = [name for name, _ in self.columns if name not in self.empty]
        names = ", ".join(quote_identifier(name) for name in moved)
        body = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in self.columns)
        return [
            SqlStep(f"CREATE TEMP TABLE {shaped.sql} ({body})", "a table shaped like the files"),
            self.copy,
            SqlStep(
                f"INSERT INTO {into.sql} ({names}) SELECT {names} FROM {shaped.sql}",
                "load the files' columns by name",
            ),
            SqlStep(f"DROP TABLE {shaped.sql}", "clean up"),
        ]


DataCopy = CopyStep | ShapedCopy
"""How a plan's files reach the target (or an upsert's stage)."""


def _into(copies: Sequence[DataCopy], into: TableRef) -> list[Step]:
    steps: list[Step] = []
    for copy in copies:
        steps += copy.steps(into) if isinstance(copy, ShapedCopy) else [copy]
    return steps


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


UNORDERED_TYPES = frozenset(
    {"super", "geometry", "geography", "hllsketch", "binary varying", "varbyte", "json", "xml"}
)
"""Column types (``information_schema.columns.data_type``) with no ordering to break a tie.

Redshift's SUPER, spatial, HLL sketch and VARBYTE types, and the stand-in's
JSON and XML, cannot be compared with ``>``; ties skip them.
"""


def tie_breakers(
    columns: Sequence[tuple[str, str]], *, keys: Sequence[str], order_by: str
) -> tuple[str, ...]:
    """The columns that break a tie between rows of one key: the other orderable ones, in order.

    ``columns`` are ``(name, data_type)`` pairs in table order.
    """
    return tuple(
        name
        for name, kind in columns
        if name not in keys and name != order_by and kind.lower() not in UNORDERED_TYPES
    )


def _keys_not_null(keys: Sequence[str]) -> str:
    return " AND ".join(f"{quote_identifier(k)} IS NOT NULL" for k in keys)


def _ranking(order_by: str, tie_columns: Sequence[str], keys: Sequence[str]) -> str:
    """The ``ORDER BY`` of the rows of one key, the winner first (see :func:`build_plan`)."""
    terms = [f"{quote_identifier(c)} DESC NULLS LAST" for c in (order_by, *tie_columns) if c]
    if order_by:
        terms.append(f"{quote_identifier(_SOURCE)}")  # fully equal: the table's row stays
    return ", ".join(terms or [quote_identifier(k) for k in keys])


def _candidates(
    target: TableRef, keys: Sequence[str], order_by: str, columns: Sequence[str]
) -> str:
    """The stage's rows with a whole key; with ``order_by`` also the table's rows of those keys."""
    cols = ", ".join(quote_identifier(c) for c in columns)
    staged = (
        f"SELECT {cols}, 1 AS {quote_identifier(_SOURCE)} FROM {STAGE_TABLE.sql} "
        f"WHERE {_keys_not_null(keys)}"
    )
    if not order_by:
        return staged
    held = ", ".join(f"t.{quote_identifier(c)}" for c in columns)
    distinct = ", ".join(quote_identifier(k) for k in keys)
    match = " AND ".join(f"t.{quote_identifier(k)} = s.{quote_identifier(k)}" for k in keys)
    return (
        f"{staged} UNION ALL SELECT {held}, 0 FROM {target.sql} AS t "
        f"JOIN (SELECT DISTINCT {distinct} FROM {STAGE_TABLE.sql}) AS s ON {match}"
    )


def _merge(
    target: TableRef,
    *,
    keys: Sequence[str],
    order_by: str,
    columns: Sequence[str],
    tie_columns: Sequence[str],
) -> list[Step]:
    """Merge the stage into ``target``: per key the winning row, and every row without a key."""
    cols = ", ".join(quote_identifier(c) for c in columns)
    partition = ", ".join(quote_identifier(k) for k in keys)
    rank, source = quote_identifier(_RANK), quote_identifier(_SOURCE)
    # Where the table's own row wins, it is left as it is (with every column
    # the merge does not insert); only keys a staged row wins are rewritten.
    staged_won = f" AND {source} = 1" if order_by else ""
    any_null = " OR ".join(f"{quote_identifier(k)} IS NULL" for k in keys)
    return [
        SqlStep(
            f"CREATE TEMP TABLE {LATEST_TABLE.sql} AS SELECT {cols} FROM "
            f"(SELECT {cols}, {source}, ROW_NUMBER() OVER (PARTITION BY {partition} "
            f"ORDER BY {_ranking(order_by, tie_columns, keys)}) AS {rank} "
            f"FROM ({_candidates(target, keys, order_by, columns)}) AS candidates) AS ranked "
            f"WHERE {rank} = 1{staged_won}",
            "keep the winning row per key where a staged row wins",
        ),
        SqlStep(
            f"DELETE FROM {target.sql} USING {LATEST_TABLE.sql} "
            f"WHERE {_key_match(target, LATEST_TABLE, keys)}",
            "remove the rows being replaced",
        ),
        SqlStep(
            f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {LATEST_TABLE.sql}",
            "insert the winning rows by column name",
        ),
        SqlStep(
            f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {STAGE_TABLE.sql} "
            f"WHERE {any_null}",
            "keep every row whose key has a NULL",
        ),
        SqlStep(f"DROP TABLE {LATEST_TABLE.sql}", "clean up"),
    ]


def keys_guard_sql(keys: Sequence[str]) -> str:
    """Abort when a key repeats in the stage (upsert without ``order_by``, several objects).

    Rows of one COPY cannot be told apart by object, so "the later object
    wins" needs each object staged alone: the loader plans again that way.
    """
    partition = ", ".join(quote_identifier(k) for k in keys)
    return (
        f"SELECT CAST({portable_literal(KEYS_MARKER)} || CAST(COUNT(*) AS VARCHAR) "
        f"AS INTEGER) FROM {STAGE_TABLE.sql} WHERE {_keys_not_null(keys)} "
        f"GROUP BY {partition} HAVING COUNT(*) > 1 LIMIT 1"
    )


def _upsert(
    target: TableRef,
    data_copies: Sequence[DataCopy],
    *,
    keys: Sequence[str],
    order_by: str,
    columns: Sequence[str],
    tie_columns: Sequence[str] | None,
    per_object: bool,
) -> list[Step]:
    if not keys or not columns:
        raise ValueError("upsert needs keys and the target's columns")
    if tie_columns is None:
        tie_columns = [c for c in columns if c not in keys and c != order_by]
    steps: list[Step] = [
        SqlStep(
            f"CREATE TEMP TABLE {STAGE_TABLE.sql} (LIKE {target.sql} INCLUDING DEFAULTS)",
            "staging table",
        )
    ]
    groups = [[c] for c in data_copies] if per_object else [list(data_copies)]
    guard = not order_by and not per_object and sum(len(c.objects) for c in data_copies) > 1
    for n, group in enumerate(groups):
        if n:
            steps.append(SqlStep(f"DELETE FROM {STAGE_TABLE.sql}", "empty the stage"))
        steps += _into(group, STAGE_TABLE)
        if guard:
            steps.append(SqlStep(keys_guard_sql(keys), KEYS_GUARD_PURPOSE))
        steps += _merge(
            target, keys=keys, order_by=order_by, columns=columns, tie_columns=tie_columns
        )
    steps.append(SqlStep(f"DROP TABLE {STAGE_TABLE.sql}", "clean up"))
    return steps


def _guard_steps(ledger: TableRef, batch_list_copy: CopyStep, mode: Mode) -> list[Step]:
    """The batch's object list, and the guards that abort when the ledger holds any of it.

    The horizon guard comes after the ledger guard: its reason to be safe
    against a concurrent prune is that order (:func:`~s3redshift.ledger.horizon_guard_sql`);
    a replace's compares the batch's newest object only, as its newer guard does.
    Replace also aborts when the ledger holds a newer object than the batch's newest.
    """
    steps: list[Step] = [
        SqlStep(batch_table_sql(), "hold the batch's object list"),
        batch_list_copy,
        SqlStep(guard_sql(ledger), GUARD_PURPOSE),
        SqlStep(horizon_guard_sql(ledger, newest_only=mode == "replace"), HORIZON_GUARD_PURPOSE),
    ]
    if mode == "replace":
        steps.append(SqlStep(newer_guard_sql(ledger), NEWER_GUARD_PURPOSE))
    return steps


def _after_data_copies(steps: Sequence[Step], step: SqlStep) -> list[Step]:
    """``steps`` with ``step`` right after each data COPY (it reads that COPY's id).

    ``step`` keeps the rows the COPY rejected, for a rule with ``on_error =
    "skip_rows"`` (:mod:`s3redshift.rejects`); it attributes them through the
    ledger's object list, so it goes only with the ledger.
    """
    placed: list[Step] = []
    for each in steps:
        placed.append(each)
        if isinstance(each, CopyStep) and each.purpose == "data":
            placed.append(step)
    return placed


def build_plan(
    *,
    target: TableRef,
    batch_id: str,
    mode: Mode,
    data_copies: Sequence[DataCopy],
    ledger: TableRef | None,
    batch_list_copy: CopyStep | None,
    loaded_at: str,
    keys: Sequence[str] = (),
    order_by: str = "",
    columns: Sequence[str] = (),
    tie_columns: Sequence[str] | None = None,
    per_object: bool = False,
    record_rejects: str | None = None,
) -> TransactionPlan:
    """Assemble one target's transaction.

    For ``upsert``, a ``CopyStep`` of ``data_copies`` must already target
    :data:`STAGE_TABLE` (a :class:`ShapedCopy` inserts into it);
    ``columns`` are the target's columns, inserted by name. Per key the
    winner is the row with the greatest ``order_by`` among the staged rows
    and the table's own row (NULL lowest); a tie goes to the greater row by
    ``tie_columns`` in order (default: the other columns; NULL lowest), so
    the result does not depend on delivery order. Without ``order_by`` the
    staged row wins: all objects are staged by one COPY and a key repeated
    among them aborts (:data:`KEYS_GUARD_PURPOSE`), and with ``per_object``
    each object is staged and merged alone, in load order, so a later
    object's row wins. Rows with a NULL in a key column are kept, every one.
    ``record_rejects``: see :func:`_after_data_copies`.
    """
    if (ledger is None) != (batch_list_copy is None) or (record_rejects and ledger is None):
        raise ValueError("the ledger goes with its batch-list COPY, and rejected rows with both")
    steps: list[Step] = []
    locked = [t.sql for t in (ledger, target) if t is not None]
    steps.append(SqlStep(f"LOCK {', '.join(locked)}", "serialize loads of this target"))
    if ledger is not None and batch_list_copy is not None:
        steps += _guard_steps(ledger, batch_list_copy, mode)
    if mode == "append":
        steps += _into(data_copies, target)
    elif mode == "replace":
        steps.append(SqlStep(f"DELETE FROM {target.sql}", "replace: empty the table"))
        steps += _into(data_copies, target)
    else:
        steps += _upsert(
            target,
            data_copies,
            keys=keys,
            order_by=order_by,
            columns=columns,
            tie_columns=tie_columns,
            per_object=per_object,
        )
    if record_rejects is not None:  # a skip_rows rule's: only then is rejects.py loaded
        from s3redshift.rejects import RECORD_REJECTS_PURPOSE

        steps = _after_data_copies(steps, SqlStep(record_rejects, RECORD_REJECTS_PURPOSE))
    if ledger is not None:
        steps += _record_batch(ledger, target, batch_id, loaded_at, mode)
    return TransactionPlan(target=target, batch_id=batch_id, mode=mode, steps=tuple(steps))


def _record_batch(
    ledger: TableRef, target: TableRef, batch_id: str, loaded_at: str, mode: Mode
) -> list[Step]:
    """The transaction's last steps: the batch into the ledger, its object list dropped."""
    insert = ledger_insert_sql(ledger, target, batch_id, loaded_at, order=mode == "replace")
    return [
        SqlStep(insert, "record the batch"),
        SqlStep(f"DROP TABLE {BATCH_TABLE.sql}", "clean up"),
    ]
