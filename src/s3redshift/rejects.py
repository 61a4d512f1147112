"""Rejected rows kept: ``<ledger schema>.load_rejects`` and the SQL that fills and reads it.

A rule with ``on_error = "skip_rows"`` loads with ``MAXERROR AS n``
(``max_rejected_rows``): COPY skips up to n bad rows and Redshift logs each one
in its load error log. Right after each data COPY, *in the load's own
transaction*, one ``INSERT ... SELECT`` copies that COPY's entries
(``WHERE query = pg_last_copy_id()``) into ``load_rejects``, attributed to
their object through the batch's object list. The transaction commits the
loaded rows, the rejected rows and the ledger entry together, or none of
them: a replay is a ledger duplicate and records nothing; a crash before the
commit keeps neither rows nor rejects.

Which error log (:func:`error_log_for`):

* ``stl``, ``STL_LOAD_ERRORS``, on a provisioned cluster: a Data API target
  naming ``cluster_identifier``, or a connector target whose host is not a
  Serverless endpoint and which names no ``workgroup``. Its rows carry the
  raw line (``raw_line``, CHAR(1024), multibyte characters shown as ``.``).
* ``sys``, ``SYS_LOAD_ERROR_DETAIL``, on Redshift Serverless (which has no
  STL tables): a target naming ``workgroup``, or a connector host ending in
  ``.redshift-serverless.amazonaws.com``. The view has no raw line, so
  ``raw_line`` stays NULL.

Why the statement may run inside the transaction (Redshift Developer Guide):
``PG_LAST_COPY_ID`` is a session function, set when the COPY starts loading
and documented for reading ``STL_LOAD_ERRORS`` of this session's COPY; it is
not among the leader-node-only functions, which are the ones refused in a
query touching user tables or STL tables. STL tables are read by ordinary
distributed queries, and AWS's own system-table persistence utility runs
``INSERT INTO <user table> SELECT ... FROM stl_load_errors`` in a
transaction block. ``SYS_LOAD_ERROR_DETAIL`` "contains both running and
finished COPY commands". So the guarantee held is the strong one: a row is
either loaded or recorded, never both, never neither. What the documentation
does not settle and must be checked on a real warehouse ([verify]): that the
STL rows of a COPY are visible to the next statement of the same
transaction, and that on Serverless ``SYS_LOAD_ERROR_DETAIL.query_id`` is
what ``pg_last_copy_id()`` returns (SYS and STL number queries differently
on provisioned clusters, hence STL there). Where either fails, what weakens
is "never neither" -- rejected rows would go unrecorded -- never "never
both" nor exactly-once, which rest on the ledger alone.

Attribution: the log names each row's file (``s3://bucket/key``, at most 256
bytes). A row is matched to the batch's object of that URI; a row whose name
matches none (a URI cut at 256 bytes) is still recorded, with its file name
and no object. Rejected rows are counted against ``max_rejected_rows`` per
COPY, as Redshift's MAXERROR counts them; the loader loads the objects of a
batch one per COPY when a COPY of several goes over, so each object's own
rows decide whether it fails.

All SQL here is built from validated identifiers and portable literals only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3redshift.identifiers import TableRef, portable_literal, quote_identifier, quote_identifiers
from s3redshift.ledger import BATCH_TABLE, create_table_sql
from s3redshift.load_error_logs import ERROR_LOGS, ErrorLog

if TYPE_CHECKING:
    from s3redshift.config import LoaderConfig

__all__ = [
    "RAW_LINE_BYTES",
    "RECORD_REJECTS_PURPOSE",
    "REJECTS_TABLE",
    "REJECT_COLUMNS",
    "Rejected",
    "count_rejects_sql",
    "create_rejects_sql",
    "error_log_for",
    "record_rejects_sql",
    "rejected_counts_sql",
    "rejects_by_batch_sql",
    "rejects_table_for",
    "select_rejects_sql",
]

REJECTS_TABLE = "load_rejects"
"""The rejected rows' table, in the ledger's schema."""

RECORD_REJECTS_PURPOSE = "record the rows COPY rejected"
"""The purpose of the step after each data COPY of a ``skip_rows`` rule."""

RAW_LINE_BYTES = 1024
"""The longest raw line kept: STL_LOAD_ERRORS.raw_line is CHAR(1024)."""

REJECT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bucket", "VARCHAR(63)"),
    ("object_key", "VARCHAR(1024)"),
    ("object_identity", "VARCHAR(1024)"),
    ("file_name", "VARCHAR(1024) NOT NULL"),
    ("target_table", "VARCHAR(300) NOT NULL"),
    ("batch_id", "VARCHAR(64) NOT NULL"),
    ("line_number", "BIGINT"),
    ("column_name", "VARCHAR(127)"),
    ("raw_line", f"VARCHAR({RAW_LINE_BYTES})"),
    ("reason", "VARCHAR(512) NOT NULL"),
    ("error_code", "VARCHAR(32)"),
    ("rejected_at", "TIMESTAMP NOT NULL"),
)
"""The table's columns and types, valid in Redshift and PostgreSQL alike.

The object columns are NULL only for a row whose file name matched no object
of its batch; ``raw_line`` is NULL on Serverless (see the module docstring).
"""


_SERVERLESS_HOST = re.compile(r".+\.redshift-serverless\.amazonaws\.com(?:\.cn)?\.?", re.IGNORECASE)

_OBJECT = ("bucket", "object_key", "object_identity")


def error_log_for(config: LoaderConfig) -> ErrorLog:
    """The error log of the warehouse ``config`` names, decided from the target alone.

    Serverless when the target names a ``workgroup`` (Data API, or a
    connector signing in with ``GetCredentials``) or its connector host is a
    Serverless endpoint; a provisioned cluster otherwise. A Serverless
    workgroup reached through a custom domain name and a password therefore
    reads as provisioned: name its ``workgroup`` in the target too.
    """
    target = config.target
    if target.workgroup:
        return "sys"
    host = getattr(target, "host", "")
    return "sys" if _SERVERLESS_HOST.fullmatch(host) else "stl"


def rejects_table_for(schema: str) -> TableRef:
    """``<schema>.load_rejects``: beside the ledger tables, never a load target."""
    return TableRef(schema, REJECTS_TABLE)


def create_rejects_sql(table: TableRef) -> str:
    """Idempotent DDL for the rejects table (its schema exists with the ledger's)."""
    return create_table_sql(table, REJECT_COLUMNS)


def record_rejects_sql(
    table: TableRef, target: TableRef, batch: str, rejected_at: str, log: ErrorLog
) -> str:
    """Copy the last COPY's rejected rows from ``log`` into ``table``, in the load's transaction.

    Runs right after each data COPY (``pg_last_copy_id()`` names the last
    one), while the batch's object list is in :data:`~s3redshift.ledger.BATCH_TABLE`.
    The log's CHAR columns come blank-padded: each text is right-trimmed.
    """
    source = ERROR_LOGS[log]
    file = f"RTRIM(e.{source.file})"
    uri = "'s3://' || " + " || '/' || ".join(f"b.{quote_identifier(c)}" for c in _OBJECT[:2])
    raw_line = f"RTRIM(e.{source.raw_line})" if source.raw_line else "CAST(NULL AS VARCHAR)"
    values = (
        *(f"b.{quote_identifier(c)}" for c in _OBJECT),
        file,
        portable_literal(str(target)),
        portable_literal(batch),
        f"e.{source.line}",
        f"RTRIM(e.{source.column})",
        raw_line,
        f"RTRIM(e.{source.reason})",
        f"CAST(e.{source.code} AS VARCHAR(32))",
        f"CAST({portable_literal(rejected_at)} AS TIMESTAMP)",
    )
    names = [name for name, _ in REJECT_COLUMNS]
    return (
        f"INSERT INTO {table.sql} ({quote_identifiers(names)}) SELECT {', '.join(values)} "
        f"FROM {source.relation} AS e LEFT JOIN {BATCH_TABLE.sql} AS b ON {file} = {uri} "
        f"WHERE e.{source.query} = pg_last_copy_id()"
    )


def rejected_counts_sql(table: TableRef, batch: str) -> str:
    """``(file_name, count)`` of one committed batch's rejected rows: what the report shows."""
    file = quote_identifier("file_name")
    return (
        f"SELECT {file}, COUNT(*) FROM {table.sql} "
        f"WHERE {quote_identifier('batch_id')} = {portable_literal(batch)} GROUP BY {file}"
    )


@dataclass(frozen=True)
class Rejected:
    """One rejected row, as ``s3redshift ledger --rejects`` lists it."""

    rejected_at: str
    table: str
    uri: str
    identity: str | None
    batch_id: str
    line: int | None
    column: str | None
    reason: str
    code: str | None
    raw_line: str | None

    @classmethod
    def from_row(cls, row: Sequence[object]) -> Rejected:
        """A row of :func:`select_rejects_sql`."""
        at, table, bucket, key, identity, file, batch, line, column, reason, code, raw = row
        uri = f"s3://{bucket}/{key}" if bucket is not None and key is not None else str(file)
        return cls(
            rejected_at=str(at),
            table=str(table),
            uri=uri,
            identity=None if identity is None else str(identity),
            batch_id=str(batch),
            line=None if line is None else int(str(line)),
            column=None if column in (None, "") else str(column),
            reason=str(reason),
            code=None if code in (None, "") else str(code),
            raw_line=None if raw is None else str(raw),
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``ledger --rejects --json``."""
        return {
            "rejected_at": self.rejected_at,
            "table": self.table,
            "uri": self.uri,
            "identity": self.identity,
            "batch_id": self.batch_id,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "code": self.code,
            "raw_line": self.raw_line,
        }


def _rejects_where(target: str | None, bucket: str | None, key: str | None) -> str:
    """The ``WHERE`` of a listing: one target table and/or one object, when given.

    An object is matched by its columns, or by its file name where the row
    matched no object of its batch.
    """
    where = []
    if target is not None:
        where.append(f"{quote_identifier('target_table')} = {portable_literal(target)}")
    if bucket is not None and key is not None:
        by_columns = (
            f"({quote_identifier('bucket')} = {portable_literal(bucket)} AND "
            f"{quote_identifier('object_key')} = {portable_literal(key)})"
        )
        by_file = f"{quote_identifier('file_name')} = {portable_literal(f's3://{bucket}/{key}')}"
        where.append(f"({by_columns} OR {by_file})")
    return f" WHERE {' AND '.join(where)}" if where else ""


def select_rejects_sql(
    table: TableRef,
    *,
    target: str | None = None,
    bucket: str | None = None,
    key: str | None = None,
    limit: int | None = None,
) -> str:
    """The newest rejected rows (of one target table and/or one object), in file line order.

    ``target`` is the table as the ledger spells it (``schema.table``).
    """
    names = (
        "rejected_at",
        "target_table",
        *_OBJECT,
        "file_name",
        "batch_id",
        "line_number",
        "column_name",
        "reason",
        "error_code",
        "raw_line",
    )
    order = ", ".join(
        f"{quote_identifier(c)} {d}"
        for c, d in (("rejected_at", "DESC"), ("file_name", "ASC"), ("line_number", "ASC"))
    )
    bound = "" if limit is None else f" LIMIT {int(limit)}"
    return (
        f"SELECT {quote_identifiers(names)} FROM {table.sql}{_rejects_where(target, bucket, key)} "
        f"ORDER BY {order}{bound}"
    )


def rejects_by_batch_sql(table: TableRef, bucket: str, key: str) -> str:
    """``(batch_id, count)`` of one key's rejected rows: ``ledger --object``'s per-load figure."""
    batch = quote_identifier("batch_id")
    return (
        f"SELECT {batch}, COUNT(*) FROM {table.sql}{_rejects_where(None, bucket, key)} "
        f"GROUP BY {batch}"
    )


def count_rejects_sql(
    table: TableRef,
    *,
    target: str | None = None,
    bucket: str | None = None,
    key: str | None = None,
) -> str:
    """How many rows :func:`select_rejects_sql` would list without a limit."""
    return f"SELECT COUNT(*) FROM {table.sql}{_rejects_where(target, bucket, key)}"
