"""The failures table: why an object did not load, kept so an operator can ask later.

The ledger records successes only, in the load's own transaction, and that is
what exactly-once rests on. A failure cannot be recorded the same way: the
transaction that failed has rolled back, and everything it wrote with it.
So failures are written *after* the failed transaction, in a statement of
their own, best effort: when the write fails (the database is what failed,
the time is up, a permission is missing) the load's outcome is unchanged and
nothing is retried. ``s3redshift ledger --failed`` reads the table to say, for
each object missing from the ledger, the last reason its load failed.

One table per ledger schema, ``<schema>.load_failures``, holding one row per
object and target: recording a failure first deletes the object's earlier
rows, and a load that commits deletes the rows of the objects it loaded
(when the loader recorded failures for that target before, so a load that
never failed pays nothing). A row of an object that loaded anyway, by
another loader, is never shown: readers list objects the ledger does not
hold. Loads never read or lock this table inside their transaction, so it
adds no wait between loads into different tables.

:class:`FailureLog` is the loader's side of it: it writes and deletes the
rows through the loader's transport. All SQL here is built from validated
identifiers and portable literals only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from s3redshift.deadline import Deadline
from s3redshift.errors import S3RedshiftError
from s3redshift.identifiers import TableRef, portable_literal, quote_identifier, quote_identifiers
from s3redshift.ledger import create_table_sql

if TYPE_CHECKING:
    from s3redshift.events import S3Object
    from s3redshift.report import ObjectResult
    from s3redshift.transports.base import Transport

__all__ = [
    "FAILURES_TABLE",
    "FAILURE_COLUMNS",
    "FAILURE_WRITE_S",
    "REASON_BYTES",
    "WRITE_BYTES",
    "Failure",
    "FailureLog",
    "by_bucket",
    "create_failures_sql",
    "delete_failures_sql",
    "failures_table_for",
    "insert_failures_sql",
    "latest_failures",
    "select_failures_sql",
    "write_chunks",
]

FAILURES_TABLE = "load_failures"
"""The failures table's name, in the ledger's schema."""

REASON_BYTES = 1000
"""Longest reason kept, in UTF-8 bytes (the column's width: Redshift counts bytes)."""

WRITE_BYTES = 80_000
"""Bytes of SQL per failures statement at most: under the Data API's 100 KB, with room to spare."""

FAILURE_WRITE_S = 10.0
"""Longest a failures write may take: it must not spend the time other targets need."""

_FORGET_CHUNK = 40
"""Objects per deleting statement (each key up to 1 KB: well under the Data API's 100 KB)."""

_ROW_BYTES = 300
"""What a row's SQL costs besides its texts' literals (time, flags, separators), rounded up."""

FAILURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bucket", "VARCHAR(63) NOT NULL"),
    ("object_key", "VARCHAR(1024) NOT NULL"),
    ("object_identity", "VARCHAR(1024) NOT NULL"),
    ("target_table", "VARCHAR(300) NOT NULL"),
    ("failed_at", "TIMESTAMP NOT NULL"),
    ("error", "VARCHAR(100) NOT NULL"),
    ("retryable", "BOOLEAN NOT NULL"),
    ("reason", f"VARCHAR({REASON_BYTES}) NOT NULL"),
)
"""The table's columns and types, valid in Redshift and PostgreSQL alike."""

_KEY = quote_identifier("object_key")
_TARGET = quote_identifier("target_table")


@dataclass(frozen=True)
class Failure:
    """One object's last failed load into one table."""

    bucket: str
    key: str
    identity: str
    table: str
    failed_at: str
    error: str
    retryable: bool
    reason: str


def failures_table_for(schema: str) -> TableRef:
    """``<schema>.load_failures``: beside the ledger tables, never a load target."""
    return TableRef(schema, FAILURES_TABLE)


_names = quote_identifiers


def create_failures_sql(table: TableRef) -> str:
    """Idempotent DDL for the failures table (its schema exists with the ledger's)."""
    return create_table_sql(table, FAILURE_COLUMNS, sort_key="object_key")


def _clipped(text: str) -> str:
    """``text`` cut to :data:`REASON_BYTES` bytes of UTF-8, at a character boundary."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= REASON_BYTES:
        return data.decode("utf-8")
    return data[: REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."


def _printable(text: str) -> str:
    """One line without control characters: a reason is shown on one terminal line."""
    return "".join(c if c.isprintable() else " " for c in text)


def insert_failures_sql(table: TableRef, failures: Sequence[Failure]) -> str:
    """One INSERT of every row of ``failures`` (the objects of one target's load)."""
    rows = []
    for f in failures:
        values = [
            portable_literal(f.bucket),
            portable_literal(f.key),
            portable_literal(f.identity),
            portable_literal(f.table),
            f"CAST({portable_literal(f.failed_at)} AS TIMESTAMP)",
            portable_literal(f.error[:100]),
            "TRUE" if f.retryable else "FALSE",
            portable_literal(_clipped(_printable(f.reason))),
        ]
        rows.append(f"({', '.join(values)})")
    names = _names(name for name, _ in FAILURE_COLUMNS)
    return f"INSERT INTO {table.sql} ({names}) VALUES {', '.join(rows)}"


def delete_failures_sql(
    table: TableRef, target: str, bucket: str, keys: Iterable[str], *, before: str | None = None
) -> str:
    """Delete the rows of ``keys`` in ``bucket`` for ``target`` (loaded, or older than ``before``).

    With ``before`` (a recorded time) only rows older than it go: the ones a
    new record has just replaced, so a record is written before its
    predecessor is removed and a failed write never leaves an object with
    no reason at all.
    """
    listed = ", ".join(dict.fromkeys(portable_literal(k) for k in keys))
    sql = (
        f"DELETE FROM {table.sql} WHERE {_TARGET} = {portable_literal(target)} "
        f"AND {quote_identifier('bucket')} = {portable_literal(bucket)} "
        f"AND {_KEY} IN ({listed or 'NULL'})"
    )
    if before is not None:
        moment = f"CAST({portable_literal(before)} AS TIMESTAMP)"
        sql += f" AND {quote_identifier('failed_at')} < {moment}"
    return sql


def by_bucket(objects: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``(bucket, key)`` pairs as keys per bucket: one deleting statement names one bucket."""
    grouped: dict[str, list[str]] = {}
    for bucket, key in objects:
        grouped.setdefault(bucket, []).append(key)
    return grouped


def _literal_bytes(text: str) -> int:
    return len(portable_literal(text).encode("utf-8", errors="replace"))


def write_chunks(failures: Sequence[Failure]) -> list[list[Failure]]:
    """``failures`` in pieces whose INSERT (and DELETE) stays under :data:`WRITE_BYTES`.

    A row costs its key twice over at most (its literal in the INSERT and in
    the DELETE's list) and its reason; a batch of 500 failures with long keys
    is several statements, each one a Data API request under its 100 KB limit.
    """
    chunks: list[list[Failure]] = [[]]
    size = 0
    for f in failures:
        texts = (f.bucket, f.key, f.identity, f.table)
        cost = sum(_literal_bytes(t) for t in texts) + _literal_bytes(f.key) + _ROW_BYTES
        cost += _literal_bytes(_clipped(_printable(f.reason)))
        if chunks[-1] and size + cost > WRITE_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(f)
        size += cost
    return [c for c in chunks if c]


def select_failures_sql(table: TableRef, keys: Iterable[str]) -> str:
    """The rows of ``keys``, for :func:`latest_failures` to pick from."""
    listed = ", ".join(dict.fromkeys(portable_literal(k) for k in keys))
    names = _names(name for name, _ in FAILURE_COLUMNS)
    return f"SELECT {names} FROM {table.sql} WHERE {_KEY} IN ({listed or 'NULL'})"


def latest_failures(rows: Iterable[Sequence[object]]) -> dict[tuple[str, str, str], Failure]:
    """Per ``(bucket, key, table)``, the newest row of :func:`select_failures_sql`.

    Keys are compared exactly: a row read back with its trailing blanks trimmed
    (Redshift's VARCHAR comparison) names another key and is not matched.
    """
    latest: dict[tuple[str, str, str], Failure] = {}
    for bucket, key, identity, target, failed_at, error, retryable, reason in rows:
        failure = Failure(
            str(bucket),
            str(key),
            str(identity),
            str(target),
            str(failed_at),
            str(error),
            retryable in (True, "true", "t", 1),
            str(reason),
        )
        slot = (failure.bucket, failure.key, failure.table)
        if slot not in latest or latest[slot].failed_at <= failure.failed_at:
            latest[slot] = failure
    return latest


@dataclass
class FailureLog:
    """One loader's writes to the failures table ``table`` (None: the ledger is disabled).

    It remembers the keys it recorded, per target, so that a later commit of
    one of them deletes its row while a load that never failed pays nothing.
    Every write is best effort and bounded by :data:`FAILURE_WRITE_S`. The
    targets of a batch, loading side by side, share it: each writes its own
    target's rows, one write at a time (:attr:`_writing`; a write that cannot
    have its turn within its time is skipped): the table is created once, and
    two transactions on it never conflict with each other.
    """

    table: TableRef | None
    clock: Callable[[], float] = time.monotonic
    _ready: bool = False
    _recorded: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    _writing: threading.Lock = field(default_factory=threading.Lock)

    def _deadline(self, time_budget: float | None) -> Deadline:
        seconds = FAILURE_WRITE_S if time_budget is None else min(time_budget, FAILURE_WRITE_S)
        return Deadline.after(seconds, clock=self.clock)

    def record(
        self,
        transport: Transport,
        target: str,
        failed: Sequence[ObjectResult],
        failed_at: str,
        time_budget: float | None,
    ) -> None:
        """Write why each of ``failed`` did not load; a write that fails changes nothing.

        After the load's transaction, never inside it: that transaction rolled
        back, and exactly-once rests on the ledger alone. Each piece of rows
        (under the Data API's statement size) is inserted, then the rows it
        replaces are deleted.
        """
        if self.table is None or (time_budget is not None and time_budget <= 0):
            return
        rows = [
            Failure(
                bucket=r.s3_object.bucket,
                key=r.s3_object.key,
                identity=r.s3_object.identity or "",
                table=target,
                failed_at=failed_at,
                error=type(r.error).__name__ if r.error is not None else "S3RedshiftError",
                retryable=r.error.retryable if r.error is not None else True,
                reason=r.explanation,
            )
            for r in failed
        ]
        deadline = self._deadline(time_budget)
        if not self._writing.acquire(timeout=deadline.remaining() or 0.0):
            return  # other tables' writes took the time: best effort
        try:
            self._write(transport, target, rows, failed_at, deadline)
        except (S3RedshiftError, ValueError):
            return  # best effort: the load's own outcome stands as reported
        finally:
            self._writing.release()

    def _write(
        self,
        transport: Transport,
        target: str,
        rows: Sequence[Failure],
        failed_at: str,
        deadline: Deadline,
    ) -> None:
        """Create the table once, then each piece: its new rows, then the rows they replace."""
        assert self.table is not None
        if not self._ready:
            transport.execute(create_failures_sql(self.table), time_budget=deadline.remaining())
            self._ready = True
        for chunk in write_chunks(rows):
            if deadline.expired():
                return
            # The new rows first, then the ones they replace: a write that
            # fails half-way leaves the older reason, never none.
            transport.execute(
                insert_failures_sql(self.table, chunk), time_budget=deadline.remaining()
            )
            replaced = [(f.bucket, f.key) for f in chunk]
            for bucket, keys in by_bucket(replaced).items():
                sql = delete_failures_sql(self.table, target, bucket, keys, before=failed_at)
                transport.execute(sql, time_budget=deadline.remaining())
            self._recorded.setdefault(target, set()).update(replaced)

    def forget(
        self,
        transport: Transport,
        target: str,
        loaded: Iterable[S3Object],
        time_budget: float | None,
    ) -> None:
        """Delete the rows of objects that have now loaded, where this log wrote some."""
        recorded = self._recorded.get(target)
        if not recorded or self.table is None:
            return
        done = [(o.bucket, o.key) for o in loaded if (o.bucket, o.key) in recorded]
        if not done:
            return
        deadline = self._deadline(time_budget)
        if not self._writing.acquire(timeout=deadline.remaining() or 0.0):
            return  # a stale row is never shown (below)
        try:
            for bucket, keys in by_bucket(done).items():
                for start in range(0, len(keys), _FORGET_CHUNK):
                    chunk = keys[start : start + _FORGET_CHUNK]
                    sql = delete_failures_sql(self.table, target, bucket, chunk)
                    transport.execute(sql, time_budget=deadline.remaining())
                    recorded.difference_update((bucket, key) for key in chunk)
        except (S3RedshiftError, ValueError):
            return  # a stale row is never shown: readers list what the ledger lacks
        finally:
            self._writing.release()
