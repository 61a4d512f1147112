"""The local stand-in for Redshift: a pg8000 session that understands COPY from S3.

:class:`StandInConnector` is a connection factory for
:class:`~s3redshift.transports.connector.ConnectorTransport`, in place of the
production :class:`~s3redshift.transports.connector.RedshiftConnector`: the
transport's code -- transaction, statement timeout, error translation, the
load-error read-back -- runs unchanged; only what answers it differs, and the
COPY runner that hands each command over (:mod:`s3redshift.local.transport`). It is
"a DB-API connection of the same lineage": ``redshift_connector`` descends
from pg8000, with the same ``format`` parameter style, autocommit off, and
server errors whose ``args[0]`` is the protocol's field dict.

What it does not prove: the production driver's own exceptions and
transaction handling (pg8000's differ in places: a FATAL error at start-up
arrives as a lost connection). ``redshift_connector`` cannot log in to
PostgreSQL directly (reference section 9); the project's tests run the
transport on it through a loopback relay (``tests/redshift_relay.py``) that
carries out these same emulations with :meth:`StandInConnection.emulates`
and :class:`StandInCursor`.

What the wrapper does, and what it emulates rather than runs:

* COPY is never read back from text. The stand-in transport's COPY runner
  (:func:`hand_over_copy`) hands the plan's
  :class:`~s3redshift.copy.CopyCommand` over, keyed by the exact text it then
  sends, and :func:`~s3redshift.local.copy_emulation.run_copy_locally`
  carries that command out inside the session's transaction. COPY text that
  was not handed over is refused with SQLSTATE 42601. ``rowcount`` is the
  rows loaded.
* Rejected data raises what Redshift raises: a ``ProgrammingError`` whose
  ``args[0]`` has ``'C': 'XX000'`` and an ``'M'`` of the form "Load into table
  't' failed.  Check 'sys_load_error_detail' system table for details." The
  rejected rows are kept **in the wrapper**, per session, under a query id
  from a process-wide counter; ``pg_last_copy_id()`` is that id (set when a
  COPY starts loading, kept across rollback, -1 before any COPY), as in
  Redshift. Every detail of the stand-in's
  :class:`~s3redshift.errors.DataRejectedError` becomes a row, including
  missing files and manifest problems, which Redshift may report differently.
* Exactly three read statements are answered from that memory instead of
  PostgreSQL: :data:`~s3redshift.transports.connector.SYS_LOAD_ERRORS_SQL`,
  :data:`~s3redshift.transports.connector.STL_LOAD_ERRORS_SQL` (each only
  when that table is in ``load_error_tables``; otherwise it goes to
  PostgreSQL, which has no such relation and answers 42P01 as a cluster
  without it would) and ``SELECT pg_last_copy_id()``. The STL answer pads and
  cuts values like that table's CHAR columns (filename 256, colname 127,
  err_reason 100 characters); the SYS answer cuts error_message at 512.
* A COPY with ``MAXERROR AS n`` also writes the rows it skipped into the
  session's load error log, a temporary ``stl_load_errors`` table with a
  ``sys_load_error_detail`` view over it (:data:`ERROR_LOG_SQL`, both of
  Redshift's names, blank-padded CHAR columns cut as Redshift's are), under
  the COPY's id; after every COPY that loads, the session's
  ``pg_last_copy_id()`` (a SQL function made with the server's types,
  :data:`LAST_COPY_ID_FUNCTION_SQL`) returns that id. The product's
  ``INSERT INTO load_rejects SELECT ... FROM stl_load_errors WHERE query =
  pg_last_copy_id()`` then runs on PostgreSQL as it is, in the load's
  transaction. Unlike Redshift's log, these rows roll back with it.
* Other errors of the emulated COPY: one that PostgreSQL raised is re-raised
  as PostgreSQL's own driver error (so the transport classifies the
  database's SQLSTATE); one the stand-in raised itself (S3 refused or
  throttled a read, an option it cannot honour) passes through as the
  project's error, since Redshift's text for those is not documented.
* Every session reads string literals as Redshift does: a backslash is an
  escape (``standard_conforming_strings = off``, with PostgreSQL's warning
  about it silenced), set once when the connector opens the session and
  committed, so no rollback undoes it. A value written with
  :func:`~s3redshift.identifiers.quote_literal` then reads back as itself.
* A statement naming an identifier longer than PostgreSQL keeps
  (:data:`STANDIN_IDENTIFIER_BYTES`, 63 bytes; Redshift allows 127) is refused
  with SQLSTATE 42622 (name_too_long) before it reaches the server, which
  would silently cut the name and so make two long names one table. Names
  are found by scanning the text outside literals and comments, with
  Redshift's reading of literals; dollar-quoted bodies are not recognised.
* ``statement_timeout`` bounds each PostgreSQL statement the emulation sends
  (one ``COPY ... FROM STDIN`` per file), not the emulated COPY as a whole;
  reading S3 is not bounded by it.
* After any error the wrapper, like Redshift, refuses further statements
  (25P02) until ``rollback``; ``commit`` of such a transaction rolls back.
* ``CREATE TABLE IF NOT EXISTS ... SORTKEY (c)`` (the ledger's DDL) becomes
  the table without the sort key and ``CREATE INDEX IF NOT EXISTS`` on ``c``
  (:func:`sortkey_as_index`): PostgreSQL has no sort keys, and the index is
  what makes its look-ups independent of the table's size, as the sort key
  does in Redshift.
* Everything else passes through to pg8000 unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.copy import CopyCommand
from s3redshift.errors import DataRejectedError, LoadErrorDetail, S3RedshiftError
from s3redshift.identifiers import MAX_IDENTIFIER_BYTES
from s3redshift.transports.connector import (
    LOAD_ERROR_LIMIT,
    STL_LOAD_ERRORS_SQL,
    SYS_LOAD_ERRORS_SQL,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from s3redshift.config import LoaderConfig
    from s3redshift.local.copy_emulation import SkippedRow

__all__ = [
    "ERROR_LOG_SQL",
    "HANDED_OVER",
    "LAST_COPY_ID_FUNCTION_SQL",
    "LAST_COPY_ID_SETTING",
    "LAST_COPY_ID_SQL",
    "REDSHIFT_LITERALS_SQL",
    "STANDIN_IDENTIFIER_BYTES",
    "StandInConnection",
    "StandInConnector",
    "StandInCursor",
    "hand_over_copy",
    "sortkey_as_index",
]

LAST_COPY_ID_SQL = "SELECT pg_last_copy_id()"
"""The one other statement the stand-in answers itself."""

LAST_COPY_ID_SETTING = "s3redshift.last_copy_id"
"""The session setting holding the id of the session's last COPY, for ``pg_last_copy_id()``."""

LAST_COPY_ID_FUNCTION_SQL = (
    "CREATE FUNCTION pg_last_copy_id() RETURNS integer LANGUAGE sql STABLE AS $$ "
    f"SELECT COALESCE(CAST(NULLIF(current_setting('{LAST_COPY_ID_SETTING}', true), '') "
    "AS integer), -1) $$"
)
"""Redshift's ``pg_last_copy_id()`` in SQL: a query may join it to tables, as on Redshift.

Made with the server's Redshift types (``REDSHIFT_TYPES_SQL``); it reads the
setting the stand-in sets after each COPY, so, as on Redshift, a COPY whose
transaction rolls back leaves the id as it was.
"""

ERROR_LOG_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS stl_load_errors (userid integer, slice integer, "
    "tbl integer, starttime timestamp, session integer, query integer, filename char(256), "
    "line_number bigint, colname char(127), type char(10), col_length char(10), "
    "position integer, raw_line char(1024), raw_field_value char(1024), err_code varchar(32), "
    "err_reason char(100), error_message char(512))",
    "CREATE OR REPLACE TEMP VIEW sys_load_error_detail AS SELECT userid AS user_id, "
    "query AS query_id, session AS session_id, tbl AS table_id, starttime AS start_time, "
    "filename AS file_name, line_number, colname AS column_name, type AS column_type, "
    "col_length AS column_length, position, err_code AS error_code, error_message "
    "FROM stl_load_errors",
)
"""The session's load error log, readable as both of Redshift's (STL and SYS names).

Temporary, so each session sees its own COPYs' rows; made in the COPY's
transaction when a COPY with MAXERROR first runs there.
"""

REDSHIFT_LITERALS_SQL = (
    "SET SESSION standard_conforming_strings = off",
    "SET SESSION escape_string_warning = off",
)
"""Run on every new session: read backslashes in literals as escapes, as Redshift does."""

STANDIN_IDENTIFIER_BYTES = 63
"""PostgreSQL's longest identifier (NAMEDATALEN - 1), in bytes; Redshift's is 127."""

LoadErrorTable = Literal["sys", "stl"]


# --- the hand-over of COPY commands ----------------------------------------------------


class _HandedOver:
    """The commands the stand-in's transport is running, by the text it sends for each.

    The text is only a key: what the stand-in carries out is the command
    itself, so nothing reads COPY text back. A command is held while its
    statement runs (the same text twice is counted), then forgotten.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[CopyCommand, int]] = {}

    def hold(self, sql: str, command: CopyCommand) -> None:
        with self._lock:
            count = self._held.get(sql, (command, 0))[1]
            self._held[sql] = (command, count + 1)

    def release(self, sql: str) -> None:
        with self._lock:
            command, count = self._held.pop(sql, (None, 0))
            if command is not None and count > 1:
                self._held[sql] = (command, count - 1)

    def get(self, sql: str) -> CopyCommand | None:
        with self._lock:
            held = self._held.get(sql)
        return None if held is None else held[0]


HANDED_OVER = _HandedOver()
"""Every stand-in session (and the tests' relay) finds its COPY command here."""


def hand_over_copy(cursor: Any, command: CopyCommand) -> int:
    """The stand-in transport's COPY runner: hand ``command`` over, then send its text.

    The statement goes through the cursor like any other (so wrappers around
    the session see it), and the stand-in's cursor carries out the command
    handed over for that text.
    """
    sql = command.to_sql()
    HANDED_OVER.hold(sql, command)
    try:
        cursor.execute(sql)
        return max(int(cursor.rowcount), 0)
    finally:
        HANDED_OVER.release(sql)


# --- the wrapped session ----------------------------------------------------------------

_copy_ids = itertools.count(1001)
_copy_ids_lock = threading.Lock()


def _next_copy_id() -> int:
    with _copy_ids_lock:
        return next(_copy_ids)


def _dbapi() -> Any:
    return importlib.import_module("pg8000.dbapi")


def _server_error(code: str, message: str, detail: str | None = None) -> Exception:
    fields = {"S": "ERROR", "V": "ERROR", "C": code, "M": message}
    if detail is not None:
        fields["D"] = detail
    error: Exception = _dbapi().ProgrammingError(fields)
    return error


def _char(value: str, width: int) -> str:
    """A value as a CHAR(width) column returns it: cut, then blank-padded."""
    return value[:width].ljust(width)


def _code_value(code: str | None) -> int | str | None:
    # Redshift's error codes are integers; the stand-in's own may be words.
    if code is not None and code.isdigit():
        return int(code)
    return code


# Redshift's reading of a statement, only as far as finding its names needs:
# comments and literals (a backslash escapes the next character) are skipped;
# a bare word is what PostgreSQL's lexer takes for one (any non-ASCII
# character counts as a letter). Tokens are taken whole, left to right, so a
# word is never entered in its middle.
_NAMES = re.compile(
    r"""
      (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<literal>[EeNn]?'(?:[^'\\]|''|\\.)*(?:'|\Z))
    | (?P<quoted>"(?:[^"]|"")*(?:"|\Z))
    | (?P<word>[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*)
    | (?P<other>[0-9]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _too_long_name(sql: str) -> str | None:
    """The first identifier of ``sql`` that PostgreSQL would cut short, if any."""
    if len(sql.encode("utf-8", errors="surrogatepass")) <= STANDIN_IDENTIFIER_BYTES:
        return None  # nothing in it can be that long
    for match in _NAMES.finditer(sql):
        kind = match.lastgroup
        if kind == "quoted":
            name = match.group()[1:].removesuffix('"').replace('""', '"')
        elif kind == "word":
            name = match.group()
        else:
            continue
        if len(name.encode("utf-8", errors="surrogatepass")) > STANDIN_IDENTIFIER_BYTES:
            return name
    return None


def _name_too_long(name: str) -> Exception:
    size = len(name.encode("utf-8", errors="surrogatepass"))
    return _server_error(
        "42622",
        f'identifier "{name}" is {size} bytes long: the local stand-in (PostgreSQL) keeps '
        f"at most {STANDIN_IDENTIFIER_BYTES} bytes of a name and would silently cut it, "
        f"where Redshift allows {MAX_IDENTIFIER_BYTES}; use a name of at most "
        f"{STANDIN_IDENTIFIER_BYTES} bytes with the stand-in",
    )


_SORTKEY = re.compile(
    r"(?P<create>CREATE TABLE IF NOT EXISTS (?P<table>\S+) \(.*?\))"
    r"(?P<distkey> DISTKEY \([^()]*\))?(?: SORTKEY \((?P<columns>[^()]*)\))?",
    re.DOTALL,
)
_ALTER_TYPE = re.compile(r"ALTER TABLE \S+ ALTER COLUMN \S+ TYPE ", re.IGNORECASE)


def sortkey_as_index(sql: str) -> list[str]:
    """``CREATE TABLE ... [DISTKEY (d)] SORTKEY (c)`` as PostgreSQL's table and an index on ``c``.

    A sort key lets Redshift skip the blocks whose key range holds none of
    the values asked for; PostgreSQL has no sort keys, and an index is what
    gives its look-ups the same independence from the table's size. A
    distribution key only places rows on slices: PostgreSQL's table leaves it
    out. Any other statement is returned as it is.
    """
    match = _SORTKEY.fullmatch(sql)
    if match is None or not (match["columns"] or match["distkey"]):
        return [sql]
    if not match["columns"]:
        return [match["create"]]
    table = match["table"]
    digest = hashlib.sha256(table.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return [
        match["create"],
        f'CREATE INDEX IF NOT EXISTS "s3redshift_sortkey_{digest}" ON {table} ({match["columns"]})',
    ]


class StandInCursor:
    """A pg8000 cursor that carries out Redshift's COPY and answers the load-error reads."""

    def __init__(self, session: StandInConnection, cursor: Any) -> None:
        self._session = session
        self._cursor = cursor
        self._answer: list[tuple[Any, ...]] | None = None
        self._answer_columns: tuple[str, ...] = ()
        self._copied: int | None = None

    @property
    def rowcount(self) -> int:
        if self._answer is not None:
            return len(self._answer)
        if self._copied is not None:
            return self._copied
        return int(self._cursor.rowcount)

    @property
    def description(self) -> Any:
        if self._answer is not None:
            return [(name, 25, None, None, None, None, None) for name in self._answer_columns]
        if self._copied is not None:
            return None
        return self._cursor.description

    def execute(self, sql: str, args: Any = None, stream: Any = None) -> None:
        session = self._session
        session.refuse_if_aborted()
        self._answer = None
        self._copied = None
        too_long = _too_long_name(sql)
        if too_long is not None:
            session.aborted = True  # an error aborts the transaction, as the server's would
            raise _name_too_long(too_long)
        answer = session.answer(sql)
        if answer is not None:
            self._answer_columns, self._answer = answer
            return
        if sql.startswith("COPY ") and args is None and stream is None:
            self._copied = session.copy(self._cursor, sql)
            return
        if _ALTER_TYPE.match(sql) and not session.autocommit:
            session.aborted = True  # Redshift's rule, which PostgreSQL does not have
            raise _server_error(
                "25001", "ALTER TABLE ALTER COLUMN cannot run inside a transaction block"
            )
        statements = [sql] if args is not None else sortkey_as_index(sql)
        try:
            for statement in statements:
                if args is None:
                    self._cursor.execute(statement, stream=stream)
                else:
                    self._cursor.execute(statement, args, stream=stream)
        except Exception:
            session.aborted = True
            raise

    def fetchall(self) -> list[Any]:
        if self._answer is not None:
            rows, self._answer = self._answer, []
            return list(rows)
        return list(self._cursor.fetchall())

    def fetchone(self) -> Any:
        if self._answer is not None:
            return self._answer.pop(0) if self._answer else None
        return self._cursor.fetchone()

    def close(self) -> None:
        self._cursor.close()


class StandInConnection:
    """A pg8000 connection whose cursors are :class:`StandInCursor` s.

    Holds the session state Redshift keeps for COPY: the last copy id and
    the rejected rows of this session's COPYs.
    """

    def __init__(
        self,
        connection: Any,
        *,
        s3_client: S3Client,
        load_error_tables: Sequence[LoadErrorTable] = ("sys",),
    ) -> None:
        self._connection = connection
        self._s3 = s3_client
        self._tables = tuple(load_error_tables)
        self.aborted = False
        self.last_copy_id = -1
        self._rejected: dict[int, tuple[LoadErrorDetail, ...]] = {}

    @property
    def raw(self) -> Any:
        """The pg8000 connection underneath."""
        return self._connection

    @property
    def autocommit(self) -> bool:
        """DB-API's switch: each statement commits alone, no transaction block is opened.

        Behind a relay there is no connection here, and the driver's switch is
        on the client's side: taken as on (nothing is refused for it).
        """
        return bool(getattr(self._connection, "autocommit", True))

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._connection.autocommit = value

    def cursor(self) -> StandInCursor:
        return StandInCursor(self, self._connection.cursor())

    def commit(self) -> None:
        if self.aborted:  # as PostgreSQL and Redshift do: COMMIT of a failed block rolls back
            self.rollback()
            return
        self._connection.commit()

    def rollback(self) -> None:
        self.aborted = False
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()

    def refuse_if_aborted(self) -> None:
        if self.aborted:
            raise _server_error(
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
            )

    def emulates(self, sql: str) -> bool:
        """Whether the stand-in answers ``sql`` (without arguments) itself.

        The statements :meth:`StandInCursor.execute` does not pass to
        PostgreSQL unchanged: names too long for it, the three reads, COPY
        from S3 and the ledger's SORTKEY DDL. A relay in front of the server
        uses this to know what to run through the stand-in's code.
        """
        return (
            _too_long_name(sql) is not None
            or self.answer(sql) is not None
            or sql.startswith("COPY ")
            or sortkey_as_index(sql) != [sql]
        )

    def answer(self, sql: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]] | None:
        """The emulated result of one of the three read statements, else None."""
        text = sql.strip()
        rejected = _as_read_back(self._rejected.get(self.last_copy_id, ()))
        if text == SYS_LOAD_ERRORS_SQL and "sys" in self._tables:
            columns = ("file_name", "line_number", "column_name", "error_message", "error_code")
            sys_rows = [
                (d.file, d.line, d.column or "", d.reason[:512], _code_value(d.code))
                for d in rejected
            ]
            return columns, sys_rows
        if text == STL_LOAD_ERRORS_SQL and "stl" in self._tables:
            columns = ("filename", "line_number", "colname", "err_reason", "err_code")
            stl_rows = [
                (
                    _char(d.file, 256),
                    d.line,
                    _char(d.column or "", 127),
                    _char(d.reason, 100),
                    _code_value(d.code),
                )
                for d in rejected
            ]
            return columns, stl_rows
        if text == LAST_COPY_ID_SQL:
            return ("pg_last_copy_id",), [(self.last_copy_id,)]
        return None

    def copy(self, cursor: Any, sql: str) -> int:
        """Carry out the COPY command handed over for ``sql`` on PostgreSQL, as Redshift would."""
        from s3redshift.local.copy_emulation import run_copy_locally

        command = HANDED_OVER.get(sql)
        if command is None:
            self.aborted = True
            raise _server_error(
                "42601",
                "the local stand-in carries out COPY commands its transport hands over, not "
                "COPY text: run the load through s3redshift.local (stand_in_transport)",
            )
        copy_id = _next_copy_id()
        skipped: list[SkippedRow] = []
        try:
            loaded = run_copy_locally(cursor, command, self._s3, skipped)
            if command.options.maxerror > 0:
                _log_skipped(cursor, copy_id, skipped)
            cursor.execute("SELECT set_config(%s, %s, false)", (LAST_COPY_ID_SETTING, str(copy_id)))
        except DataRejectedError as exc:
            self.aborted = True
            self.last_copy_id = copy_id
            self._rejected[copy_id] = exc.details
            raise self._load_error(command, copy_id, exc.details) from exc
        except S3RedshiftError as exc:
            self.aborted = True
            cause = exc.__cause__
            if isinstance(cause, _dbapi().DatabaseError) and cause.args:
                raise cause from None  # PostgreSQL's own error, as the server reported it
            raise
        except Exception:
            self.aborted = True
            raise
        self.last_copy_id = copy_id
        return loaded

    def _load_error(
        self, command: CopyCommand, copy_id: int, details: Sequence[LoadErrorDetail]
    ) -> Exception:
        table_name = "sys_load_error_detail" if "sys" in self._tables else "stl_load_errors"
        detail = None
        if details:
            first = details[0]
            detail = (
                f"\n  -----------------------------------------------\n"
                f"  error:  {first.reason[:512]}\n"
                f"  code:      {first.code}\n"
                f"  context:   {first.file}\n"
                f"  query:     {copy_id}\n"
                f"  -----------------------------------------------\n"
            )
        return _server_error(
            "XX000",
            f"Load into table '{command.table.table}' failed.  "
            f"Check '{table_name}' system table for details.",
            detail,
        )


def _as_read_back(details: Sequence[LoadErrorDetail]) -> list[LoadErrorDetail]:
    """A COPY's rejected rows as the two reads return them: by line number, the first few only.

    The reads say ``ORDER BY line_number LIMIT n``; Redshift honours both, so
    a COPY of several files may be read back naming fewer files than had
    rejected rows, and the loader must not take that for the whole story.
    """
    return sorted(details, key=lambda d: d.line or 0)[:LOAD_ERROR_LIMIT]


def _log_skipped(cursor: Any, copy_id: int, skipped: Sequence[SkippedRow]) -> None:
    """Write the rows a COPY skipped into the session's error log (:data:`ERROR_LOG_SQL`).

    Values are cut to the log's column widths, in bytes as Redshift counts them.
    """
    for sql in ERROR_LOG_SQL:
        cursor.execute(sql)
    if not skipped:
        return
    rows = [
        (
            copy_id,
            _cut(row.detail.file, 256),
            row.detail.line,
            _cut(row.detail.column or "", 127),
            row.raw_line,
            row.detail.code,
            _cut(row.detail.reason, 100),
            _cut(row.detail.reason, 512),
        )
        for row in skipped
    ]
    cursor.executemany(
        "INSERT INTO stl_load_errors (query, filename, line_number, colname, raw_line, "
        "err_code, err_reason, error_message, starttime) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, LOCALTIMESTAMP)",
        rows,
    )


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` bytes of UTF-8, never inside a character."""
    return text.encode("utf-8", errors="surrogatepass")[:width].decode("utf-8", errors="ignore")


class StandInConnector:
    """Connection factory for the stand-in: pg8000 sessions wrapped as :class:`StandInConnection`.

    ``connect`` opens a pg8000 connection; ``load_error_tables`` says which
    load-error tables the emulated cluster has (``("sys",)`` is Serverless;
    ``("sys", "stl")`` or ``("stl",)`` a provisioned cluster).
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        s3_client: S3Client,
        load_error_tables: Sequence[LoadErrorTable] = ("sys",),
    ) -> None:
        self._connect = connect
        self.s3_client = s3_client
        self.load_error_tables = tuple(load_error_tables)

    @classmethod
    def from_dsn(
        cls,
        dsn: str,
        *,
        s3_client: S3Client,
        load_error_tables: Sequence[LoadErrorTable] = ("sys",),
    ) -> StandInConnector:
        """Sessions on the PostgreSQL a ``postgresql://`` URI names."""
        from s3redshift.local.sessions import connect_dsn

        return cls(
            lambda: connect_dsn(dsn), s3_client=s3_client, load_error_tables=load_error_tables
        )

    @classmethod
    def from_config(
        cls,
        config: LoaderConfig,
        *,
        s3_client: S3Client,
        load_error_tables: Sequence[LoadErrorTable] = ("sys",),
    ) -> StandInConnector:
        """Sessions on the PostgreSQL a connector target names, signed in with its credentials."""
        from s3redshift.local.sessions import connect_target

        return cls(
            lambda: connect_target(config), s3_client=s3_client, load_error_tables=load_error_tables
        )

    def __call__(self) -> StandInConnection:
        connection = self._connect()
        try:
            _read_literals_as_redshift(connection)
        except BaseException:
            with contextlib.suppress(Exception):  # the first failure is the one to report
                connection.close()
            raise
        return StandInConnection(
            connection, s3_client=self.s3_client, load_error_tables=self.load_error_tables
        )

    def __repr__(self) -> str:
        return f"StandInConnector(load_error_tables={self.load_error_tables!r})"


def _read_literals_as_redshift(connection: Any) -> None:
    """Make a fresh session read literals as Redshift does, for good.

    Committed at once: a ``SET`` inside a transaction that later rolls back
    would be undone with it.
    """
    cursor = connection.cursor()
    try:
        for sql in REDSHIFT_LITERALS_SQL:
            cursor.execute(sql)
    finally:
        cursor.close()
    connection.commit()
