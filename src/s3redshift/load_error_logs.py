"""Redshift's two load error logs, and how each names the parts of a rejected row.

``STL_LOAD_ERRORS`` is the log of provisioned clusters (CHAR columns,
blank-padded, with the raw line); ``SYS_LOAD_ERROR_DETAIL`` is the only one on
Serverless and exists on provisioned clusters too (no raw line). Each names a
COPY by its own query id column. The transports read a failed COPY's rows
from them (:func:`load_errors_sql`) and ``rejects.py`` copies a skipping
COPY's rows into ``load_rejects``; both take the names from here, so the two
never disagree on a column (Redshift Developer Guide: STL_LOAD_ERRORS,
SYS_LOAD_ERROR_DETAIL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ERROR_LOGS", "ErrorLog", "ErrorLogColumns", "load_errors_sql"]

ErrorLog = Literal["stl", "sys"]
"""Which load error log: provisioned clusters' (STL) or the one Serverless has too (SYS)."""


@dataclass(frozen=True)
class ErrorLogColumns:
    """How one error log names a rejected row's parts (``raw_line`` empty: it has none)."""

    relation: str
    query: str
    file: str
    column: str
    raw_line: str
    reason: str
    code: str
    line: str = "line_number"


ERROR_LOGS: dict[ErrorLog, ErrorLogColumns] = {
    "stl": ErrorLogColumns(
        "stl_load_errors", "query", "filename", "colname", "raw_line", "err_reason", "err_code"
    ),
    "sys": ErrorLogColumns(
        "sys_load_error_detail",
        "query_id",
        "file_name",
        "column_name",
        "",
        "error_message",
        "error_code",
    ),
}
"""The two logs' names, by :data:`ErrorLog`."""


def load_errors_sql(log: ErrorLog, copy_id: str, *, limit: int, by_file: bool = False) -> str:
    """``(file, line, column, reason, code)`` of one COPY's rejected rows in ``log``.

    ``copy_id`` is SQL naming the COPY (``pg_last_copy_id()``, or a cast
    literal); rows come in line order, by file first when ``by_file``.
    """
    names = ERROR_LOGS[log]
    order = f"{names.file}, {names.line}" if by_file else names.line
    return (
        f"SELECT {names.file}, {names.line}, {names.column}, {names.reason}, {names.code} "
        f"FROM {names.relation} WHERE {names.query} = {copy_id} "
        f"ORDER BY {order} LIMIT {int(limit)}"
    )
