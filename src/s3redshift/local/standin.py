"""The local stand-in for Redshift: a pg8000 session that understands COPY from S3.

:class:`StandInConnector` is a connection factory for
:class:`~s3redshift.transports.connector.ConnectorTransport`, in place of the
production :class:`~s3redshift.transports.connector.RedshiftConnector`: the
transport's code -- transaction, statement timeout, error translation, the
load-error read-back -- runs unchanged; only what answers it differs. It is
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

* A statement starting with ``COPY`` is Redshift's COPY from S3 as
  :meth:`~s3redshift.copy.CopyCommand.to_sql` writes it. :func:`parse_copy`
  reads that canonical text back into the :class:`CopyCommand` (text in any
  other form is refused with SQLSTATE 42601, as a syntax error), and
  :func:`~s3redshift.local.copy_emulation.run_copy_locally` carries it out
  inside the session's transaction. ``rowcount`` is the rows loaded.
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.copy import (
    AvroFormat,
    Compression,
    CopyCommand,
    CopyOptions,
    CsvFormat,
    DelimitedFormat,
    FixedWidthFormat,
    IamRole,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
    TemporaryKeys,
)
from s3redshift.errors import DataRejectedError, LoadErrorDetail, S3RedshiftError
from s3redshift.identifiers import MAX_IDENTIFIER_BYTES, TableRef
from s3redshift.transports.connector import STL_LOAD_ERRORS_SQL, SYS_LOAD_ERRORS_SQL

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "LAST_COPY_ID_SQL",
    "REDSHIFT_LITERALS_SQL",
    "STANDIN_IDENTIFIER_BYTES",
    "CopyTextError",
    "StandInConnection",
    "StandInConnector",
    "StandInCursor",
    "parse_copy",
    "sortkey_as_index",
]

LAST_COPY_ID_SQL = "SELECT pg_last_copy_id()"
"""The one other statement the stand-in answers itself."""

REDSHIFT_LITERALS_SQL = (
    "SET SESSION standard_conforming_strings = off",
    "SET SESSION escape_string_warning = off",
)
"""Run on every new session: read backslashes in literals as escapes, as Redshift does."""

STANDIN_IDENTIFIER_BYTES = 63
"""PostgreSQL's longest identifier (NAMEDATALEN - 1), in bytes; Redshift's is 127."""

LoadErrorTable = Literal["sys", "stl"]


# --- reading the builder's COPY text back --------------------------------------------


class CopyTextError(ValueError):
    """COPY text that is not in the exact form :meth:`CopyCommand.to_sql` writes."""


_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<literal>'(?:[^'\\]|''|\\\\)*')
    | (?P<punct>[(),.])
    | (?P<word>[^\s"'(),.]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_COMPRESSIONS = {c.value: c for c in Compression}
_FLAGS_BEFORE_HEADER = (
    ("ESCAPE", "escape"),
    ("EXPLICIT_IDS", "explicit_ids"),
    ("FILLRECORD", "fill_record"),
    ("IGNOREBLANKLINES", "ignore_blank_lines"),
)
_FLAGS_AFTER_NULL = (("REMOVEQUOTES", "remove_quotes"), ("ROUNDEC", "round_dec"))
_FLAGS_AFTER_TIME = (("TRIMBLANKS", "trim_blanks"), ("TRUNCATECOLUMNS", "truncate_columns"))
_SWITCHES: dict[str, bool | Literal["preset"]] = {"OFF": False, "ON": True, "PRESET": "preset"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(sql: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            raise CopyTextError(
                f"COPY text is not canonical at character {position}: {sql[position:][:20]!r}"
            )
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            found.append(_Token(kind, match.group(), position))
        position = match.end()
    return found


class _Reader:
    """A cursor over the tokens that knows the canonical spellings."""

    def __init__(self, sql: str) -> None:
        self._tokens = _tokens(sql)
        self._at = 0

    def _peek(self, ahead: int = 0) -> _Token | None:
        index = self._at + ahead
        return self._tokens[index] if index < len(self._tokens) else None

    def error(self, expected: str) -> CopyTextError:
        """The error for finding something else than ``expected`` here."""
        token = self._peek()
        found = "the end" if token is None else f"{token.text[:30]!r} at {token.position}"
        return CopyTextError(f"COPY text: expected {expected}, found {found}")

    def accept(self, *words: str) -> bool:
        """Consume ``words`` if the next tokens are exactly these bare words."""
        for offset, word in enumerate(words):
            token = self._peek(offset)
            if token is None or token.kind != "word" or token.text != word:
                return False
        self._at += len(words)
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(" ".join(words))

    def accept_punct(self, mark: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "punct" and token.text == mark:
            self._at += 1
            return True
        return False

    def _take(self, kind: str, expected: str) -> str:
        token = self._peek()
        if token is None or token.kind != kind:
            raise self.error(expected)
        self._at += 1
        return token.text

    def word(self) -> str:
        return self._take("word", "a keyword")

    def number(self) -> int:
        text = self._take("word", "a whole number")
        if not text.isdigit() or not text.isascii():
            raise CopyTextError(f"COPY text: expected a whole number, found {text!r}")
        return int(text)

    def identifier(self) -> str:
        return self._take("ident", 'a "quoted" identifier')[1:-1].replace('""', '"')

    def literal(self) -> str:
        raw = self._take("literal", "a 'quoted' literal")[1:-1]
        # quote_literal doubled backslashes first, then quotes: undo in reverse.
        return raw.replace("''", "'").replace("\\\\", "\\")

    def end(self) -> None:
        if self._peek() is not None:
            raise self.error("the end of the statement")


def parse_copy(sql: str) -> CopyCommand:
    """The :class:`CopyCommand` whose :meth:`~CopyCommand.to_sql` is ``sql``.

    Reads exactly the builder's grammar (see :mod:`s3redshift.copy`): clauses
    in its order, its spellings, each at most once. What the text does not
    show is given its canonical value: the format's ``compression`` setting
    is ``'auto'`` (the resolved keyword is kept in ``compression``), and for
    Parquet/ORC, which never show COMPUPDATE or MAXERROR, those options keep
    their defaults. So ``parse_copy(c.to_sql()).to_sql() == c.to_sql()`` for
    every command, and ``parse_copy(c.to_sql()) == c`` for canonical ones.

    Raises:
        CopyTextError: the text is not in the builder's form.
        CopyOptionsError, UnsafeIdentifierError: the parts do not make a
            valid command (the builder would never have written it).
    """
    r = _Reader(sql)
    r.expect("COPY")
    first = r.identifier()
    table = TableRef(first, r.identifier()) if r.accept_punct(".") else TableRef.temporary(first)
    columns: list[str] = []
    if r.accept_punct("("):
        columns.append(r.identifier())
        while r.accept_punct(","):
            columns.append(r.identifier())
        if not r.accept_punct(")"):
            raise r.error("')' closing the column list")
    r.expect("FROM")
    source = r.literal()
    authorization = _authorization(r)
    kind, format_fields = _format(r)
    compression = None
    for value, member in _COMPRESSIONS.items():
        if r.accept(value):
            compression = member
            break
    region = r.literal() if r.accept("REGION", "AS") else None
    manifest = r.accept("MANIFEST")
    options: dict[str, Any] = {}
    if r.accept("ACCEPTANYDATE"):
        options["accept_any_date"] = True
    if r.accept("ACCEPTINVCHARS", "AS"):
        options["accept_inv_chars"] = r.literal()
    if r.accept("BLANKSASNULL"):
        options["blanks_as_null"] = True
    if r.accept("DATEFORMAT", "AS"):
        options["date_format"] = r.literal()
    if r.accept("EMPTYASNULL"):
        options["empty_as_null"] = True
    if r.accept("ENCODING", "AS"):
        options["encoding"] = r.word()
    for keyword, name in _FLAGS_BEFORE_HEADER:
        if r.accept(keyword):
            options[name] = True
    if r.accept("IGNOREHEADER", "AS"):
        format_fields["ignore_header"] = r.number()
    if r.accept("NULL", "AS"):
        format_fields["null_as"] = r.literal()
    for keyword, name in _FLAGS_AFTER_NULL:
        if r.accept(keyword):
            options[name] = True
    if r.accept("TIMEFORMAT", "AS"):
        options["time_format"] = r.literal()
    for keyword, name in _FLAGS_AFTER_TIME:
        if r.accept(keyword):
            options[name] = True
    columnar = kind in (ParquetFormat, OrcFormat)
    if r.accept("COMPROWS"):
        options["comp_rows"] = r.number()
    if r.accept("COMPUPDATE"):
        options["comp_update"] = _switch(r, allow_preset=True)
    elif not columnar:
        options["comp_update"] = None  # the builder writes it unless it is None
    if r.accept("IGNOREALLERRORS"):
        options["ignore_all_errors"] = True
    if r.accept("MAXERROR", "AS"):
        options["max_error"] = r.number()
    elif not columnar and not options.get("ignore_all_errors"):
        raise r.error("MAXERROR AS n (the builder always writes it for this format)")
    if r.accept("NOLOAD"):
        options["no_load"] = True
    options["stat_update"] = _switch(r, allow_preset=False) if r.accept("STATUPDATE") else None
    r.end()
    return CopyCommand(
        table=table,
        source=source,
        format=kind(**format_fields),
        authorization=authorization,
        manifest=manifest,
        compression=compression,
        region=region,
        columns=tuple(columns),
        options=CopyOptions(**options),
    )


def _authorization(r: _Reader) -> IamRole | TemporaryKeys:
    if r.accept("IAM_ROLE"):
        return IamRole(arns="default" if r.accept("default") else r.literal())
    if r.accept("ACCESS_KEY_ID"):
        key_id = r.literal()
        r.expect("SECRET_ACCESS_KEY")
        secret = r.literal()
        token = r.literal() if r.accept("SESSION_TOKEN") else None
        return TemporaryKeys.model_validate(
            {"access_key_id": key_id, "secret_access_key": secret, "session_token": token}
        )
    raise r.error("IAM_ROLE or ACCESS_KEY_ID")


_FormatKind = (
    type[CsvFormat]
    | type[DelimitedFormat]
    | type[FixedWidthFormat]
    | type[JsonFormat]
    | type[AvroFormat]
    | type[ParquetFormat]
    | type[OrcFormat]
)


def _format(r: _Reader) -> tuple[_FormatKind, dict[str, Any]]:
    if r.accept("FORMAT", "AS", "CSV"):
        fields: dict[str, Any] = {}
        if r.accept("QUOTE", "AS"):
            fields["quote"] = r.literal()
        if r.accept("DELIMITER", "AS"):
            fields["delimiter"] = r.literal()
        return CsvFormat, fields
    for keyword, kind in (("JSON", JsonFormat), ("AVRO", AvroFormat)):
        if r.accept("FORMAT", "AS", keyword):
            return kind, {"json_paths": r.literal()}
    if r.accept("FORMAT", "AS", "PARQUET"):
        return ParquetFormat, {}
    if r.accept("FORMAT", "AS", "ORC"):
        return OrcFormat, {}
    if r.accept("DELIMITER", "AS"):
        return DelimitedFormat, {"delimiter": r.literal()}
    if r.accept("FIXEDWIDTH"):
        return FixedWidthFormat, {"widths": r.literal()}
    raise r.error("a format clause")


def _switch(r: _Reader, *, allow_preset: bool) -> bool | Literal["preset"]:
    word = r.word()
    if word not in _SWITCHES or (word == "PRESET" and not allow_preset):
        raise CopyTextError(f"COPY text: expected OFF or ON, found {word!r}")
    return _SWITCHES[word]


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
    r"(?P<create>CREATE TABLE IF NOT EXISTS (?P<table>\S+) \(.*\)) SORTKEY \((?P<columns>[^()]*)\)",
    re.DOTALL,
)


def sortkey_as_index(sql: str) -> list[str]:
    """``CREATE TABLE ... SORTKEY (c)`` as PostgreSQL's table and an index on ``c``.

    A sort key lets Redshift skip the blocks whose key range holds none of
    the values asked for; PostgreSQL has no sort keys, and an index is what
    gives its look-ups the same independence from the table's size. Any
    other statement is returned as it is.
    """
    match = _SORTKEY.fullmatch(sql)
    if match is None:
        return [sql]
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
        rejected = self._rejected.get(self.last_copy_id, ())
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
        """Carry out Redshift COPY text on PostgreSQL; raise as Redshift would."""
        from s3redshift.local.copy_emulation import run_copy_locally

        try:
            command = parse_copy(sql)
        except (CopyTextError, S3RedshiftError) as exc:
            self.aborted = True
            message = exc.message if isinstance(exc, S3RedshiftError) else str(exc)
            raise _server_error("42601", f"syntax error in COPY: {message}") from None
        copy_id = _next_copy_id()
        try:
            loaded = run_copy_locally(cursor, command, self._s3)
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
        from s3redshift.local import connect_dsn

        return cls(
            lambda: connect_dsn(dsn), s3_client=s3_client, load_error_tables=load_error_tables
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
