"""Carry out a Redshift ``COPY ... FROM 's3://...'`` on PostgreSQL.

PostgreSQL cannot read S3, and its ``COPY`` parses files differently from
Redshift's. The local stand-in therefore reads the objects itself, parses each
file in Python with Redshift's rules, and streams the normalised rows into
``COPY <table> (<cols>) FROM STDIN WITH (FORMAT csv)``: every value is written
quoted and every NULL as a bare empty field, so PostgreSQL's own CSV rules
never decide what a value is. Tests of the loader on the stand-in then prove
the behaviour Redshift would show, not PostgreSQL's.

What is emulated (Redshift Developer Guide, COPY pages; see
``shared/reference/redshift.md`` section 1):

* FROM without MANIFEST is a key-prefix match: every object whose key starts
  with the source key is loaded (``a.csv`` also loads ``a.csv.bak``), in S3's
  key order. No object at all fails the COPY.
* MANIFEST loads exactly the ``entries[].url`` in order (a URL listed twice
  is loaded twice). A missing ``mandatory: true`` entry fails the COPY before
  any row is written; missing optional entries are skipped; nothing found at
  all fails it.
* GZIP, BZIP2 and ZSTD per file (concatenated members and frames included).
* CSV: delimiter, quote, quoted fields holding delimiters, line breaks and
  doubled quotes, white space between a delimiter and a quoted field ignored
  (the delimiter itself never counts as white space), IGNOREHEADER per file.
* Delimited text: one delimiter, no quoting, ``\\N`` as the default null.
* JSON ``'auto'`` / ``'auto ignorecase'``: concatenated or newline-delimited
  objects; keys matched to the column names (case-sensitively, or not);
  missing keys load NULL; nested objects and arrays load as their JSON text.
* Parquet and ORC (read by :mod:`~s3redshift.local.columnar` with pyarrow,
  every internal codec included): columns load by position, and a file whose
  column count differs from the columns COPY fills (the column list, else
  the table's) is rejected as a whole, naming both counts and the first
  column without a partner; a nested column (struct, list, map) loads only
  into SUPER, and only with SERIALIZETOJSON. A manifest entry needs
  ``meta.content_length``.
* Avro ``'auto'`` / ``'auto ignorecase'`` (fastavro; codecs null, deflate
  and snappy): record fields matched to column names as JSON keys are;
  missing fields load NULL, extra ones are ignored.
* Values of Parquet, ORC and Avro files take the text JSON 'auto' gives the
  same value: NULL stays NULL; numbers their exact text (``str`` of ints and
  decimals, ``repr`` of floats); booleans ``true``/``false``; dates, times
  and timestamps ISO text, time-zone aware timestamps converted to UTC and
  written with ``+00``; strings as they are; nested values compact JSON.
  Binary values are rejected (the stand-in has no VARBYTE). The "line" of a
  rejected row is its row number within the file, 1-based.
* SUPER is a domain over ``jsonb`` in the embedded server's databases. A value
  parsed from JSON, Avro, Parquet or ORC goes into a SUPER column as its JSON
  text (a string stays a JSON string); a CSV or delimited field goes in as
  it is and must be JSON text, as Redshift requires.
* ``NULL AS`` (``'\\0'``/``'\\000'`` meaning a NUL field), EMPTYASNULL,
  BLANKSASNULL, IGNOREBLANKLINES, and the rules Redshift applies without
  being asked: an empty or blank field of a non-character column loads NULL;
  a CHAR/VARCHAR value longer than the column *in bytes* is rejected (1204);
  CHAR takes single-byte characters only; a value with more decimal places
  than a ``NUMERIC(p, s)`` column is truncated (ROUNDEC: rounded half away
  from zero, as INSERT does).
* ``MAXERROR AS n`` (``max_error``, or ``max_rejected_rows`` under
  ``on_error = "skip_rows"``) for CSV, delimited text and JSON: up to n rejected
  rows of the COPY's files are skipped, the good rows load, and each skipped
  row (file, line, column, reason, code, raw line) is handed to the session's
  load error log (:mod:`s3redshift.local.standin`); the n+1-th fails the COPY
  as below, its details naming every row rejected so far. A row that stops
  the parser itself (a broken CSV quote, malformed JSON) still fails the COPY:
  Redshift goes on at the next line, the stand-in cannot tell where it starts.
* A rejected row fails the whole COPY (MAXERROR 0) with a
  :class:`~s3redshift.errors.DataRejectedError` naming the S3 URI, the line
  of the source file (1-based, header lines counted, as STL_LOAD_ERRORS
  does; the row number for Parquet, ORC and Avro), the column when known,
  the reason and a code: Redshift's load error code (``1202``, ``1204``,
  ``1212``, ``1214``, ``1216``, ``1220``, ``8001``) when the stand-in's own
  parser rejects, PostgreSQL's SQLSTATE when the database does,
  ``decompress``, ``manifest``, ``schema`` (columnar columns that do not
  fit), ``format`` (not a file of the format, an Avro codec COPY does not
  read) or ``type`` (a binary value) for the stand-in's remaining checks.

Where Redshift and the stand-in differ, and what was chosen ([verify] marks
a Redshift behaviour the docs do not settle):

* Quoting does not shield a CSV field from the null rules: the field's text
  after unquoting is compared with ``NULL AS`` and tested by EMPTYASNULL and
  BLANKSASNULL, so ``""`` and an empty unquoted field behave alike. The docs
  say EMPTYASNULL and ``NULL AS ''`` behave the same and never mention
  quoting. [verify] PostgreSQL, unlike this, never reads a quoted field as
  NULL.
* Without EMPTYASNULL an empty field loads ``''`` into CHAR/VARCHAR and NULL
  into any other type (Redshift); PostgreSQL's CSV would load NULL for both.
* ``\\N`` is also the default null string for CSV (the docs give one default
  for all text formats). [verify]
* CSV ends a record at ``\\n`` or ``\\r\\n``; delimited text only at ``\\n``,
  so a ``\\r`` of a Windows line ending stays in the last field, as Redshift
  loads it. A quote character inside an unquoted CSV field is taken
  literally; text between a closing quote and the next delimiter is
  rejected. [verify]
* IGNOREHEADER skips physical lines (the docs say so for JSON; taken to hold
  for CSV too). [verify]
* A blank line without IGNOREBLANKLINES is a record with one empty field:
  it loads for a one-column target and is rejected (1214) otherwise. [verify]
* The line of a multi-line CSV record is the line it starts on; the line of
  a JSON object is its last line (documented for STL_LOAD_ERRORS); the line
  of malformed JSON is where the parser stopped.
* JSON numbers keep their exact text; Redshift may lose precision on its way
  through a float. Nested values are written compact (``{"a":1,"b":[2]}``);
  Redshift's spacing may differ. ``true``/``false`` load as that text.
  NaN/Infinity and top-level arrays or scalars are rejected (arrays need a
  JSONPaths file, which the stand-in does not support).
* Dates and times: PostgreSQL's input functions parse them, which accepts
  ISO ``YYYY-MM-DD`` like Redshift's default and approximates DATEFORMAT /
  TIMEFORMAT ``'auto'``, but also accepts forms Redshift's default format
  rejects (``01/02/2024``). Time zones are handled PostgreSQL's way.
* PRIMARY KEY, UNIQUE, FOREIGN KEY and CHECK constraints are enforced by
  PostgreSQL (rejected rows, SQLSTATE class 23); Redshift does not enforce
  them and would load the rows.
* A NUL character in data is rejected by PostgreSQL (22021); Redshift ends the
  record there.
* Without a column list, identity and generated columns are left out (they
  are what Redshift IDENTITY columns become); Redshift would need
  EXPLICIT_IDS to load them, which the stand-in does not support.
* Rejection stops at the first bad row; Redshift may report a different bad
  row first, because it loads files in parallel.
* A ``NUMERIC`` without precision is not truncated (Redshift's default is
  ``NUMERIC(18, 0)``; PostgreSQL's is unbounded).
* Parquet and ORC values convert as text, so a value loads wherever
  PostgreSQL reads its text (an int file column into a VARCHAR column, a
  boolean into a BOOLEAN), and is rejected where it does not (``1.5`` into
  INTEGER, 22P02). Redshift checks the file's types against the columns
  before reading (Spectrum's "incompatible schema for column") and may
  refuse pairs the stand-in loads. [verify] Nanosecond timestamps are cut to
  microseconds. A whole-file ``.gz``/``.bz2``/``.snappy`` Parquet or ORC
  object, which Redshift is said to decompress by its extension [verify], is
  rejected as not a valid file. ``meta.content_length`` is required but not
  compared with the object's size. [verify]
* JSON 'auto' and Avro into SUPER: a JSON string value loads as a SUPER
  string. [verify] The stand-in's SUPER is ``jsonb``: PartiQL navigation
  and Redshift's SUPER functions do not exist, and ``jsonb`` does not keep
  the order of an object's keys.

Options the stand-in cannot honour raise
:class:`~s3redshift.local.NotSupportedLocally` naming them, before anything
is read: FIXEDWIDTH, JSONPaths files (JSON and Avro), JSON ``'noshred'``,
LZOP, ACCEPTANYDATE, ACCEPTINVCHARS, DATEFORMAT/TIMEFORMAT other than
``'auto'``, ENCODING other than UTF8, ESCAPE, EXPLICIT_IDS, FILLRECORD,
REMOVEQUOTES, TRIMBLANKS, TRUNCATECOLUMNS, IGNOREALLERRORS, MAXERROR above 0
with Avro, and NOLOAD. An Avro file compressed with snappy raises it when the file is
read, unless cramjam or python-snappy is installed for fastavro.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, NoReturn

from s3redshift.copy import (
    AvroFormat,
    Compression,
    CopyCommand,
    CsvFormat,
    DelimitedFormat,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
)
from s3redshift.errors import (
    DataRejectedError,
    LoadErrorDetail,
    LockTimeoutError,
    PermanentError,
    PermissionDeniedError,
    SerializationConflictError,
    TargetMissingError,
    ThrottledError,
)
from s3redshift.identifiers import quote_identifier, validate_identifier
from s3redshift.local import columnar

__all__ = ["NotSupportedLocally", "SkippedRow", "run_copy_locally"]


class NotSupportedLocally(PermanentError):  # noqa: N818 - the name users know it by
    """The local PostgreSQL stand-in cannot carry out a COPY option.

    Raised instead of silently ignoring the option, so that a test on the
    stand-in never passes for a load Redshift would carry out differently.
    """


# Redshift load error codes (DG r_Load_Error_Reference) used by the stand-in's parser.
_EXTRA_COLUMNS = "1202"
_VALUE_OUT_OF_RANGE = "1204"
_FILE_NOT_FOUND = "1212"
_DELIMITER_NOT_FOUND = "1214"
_INVALID_LINE = "1216"
_INVALID_UTF8 = "1220"
_MANIFEST_NEEDS_FULL_PATH = "8001"
# The stand-in's own codes, where Redshift's is not documented.
_DECOMPRESS = "decompress"
_MANIFEST = "manifest"

# The stand-in's name for Redshift's SUPER: a domain over jsonb in its databases.
_SUPER_TYPE = "super"
# Rows are handed to PostgreSQL in pieces of about this many characters.
_CHUNK_CHARS = 64 * 1024
# What BLANKSASNULL and the blank-field rule count as white space. [verify]
_BLANK = " \t\n\r\f\v"
# What may stand between a delimiter and a quoted CSV field.
_CSV_PADDING = " \t"
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
# ASCII only: Decimal() also reads other scripts' digits, which COPY would reject.
_PLAIN_DECIMAL = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)
_WIDE_CONTEXT = Context(prec=2000)
_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)/(?P<key>.*)", re.DOTALL)
_COPY_CONTEXT = re.compile(r", line (\d+)(?:, column ([^:\n]+))?")

_COLUMNS_SQL = (
    "SELECT a.attname::text, t.typname::text, t.typcategory::text, a.atttypmod,"
    " (a.attidentity <> '' OR a.attgenerated <> '')"
    " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum"
)

_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "Forbidden",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "403",
    }
)
_THROTTLED = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "503"}
)

# (CopyOptions field, COPY keyword, why the stand-in cannot honour it).
_UNSUPPORTED_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("accept_any_date", "ACCEPTANYDATE", "PostgreSQL rejects an unreadable date instead of NULL"),
    ("escape", "ESCAPE", "the stand-in does not parse backslash escapes"),
    ("explicit_ids", "EXPLICIT_IDS", "Redshift IDENTITY columns are not emulated"),
    ("fill_record", "FILLRECORD", "the stand-in does not fill short records"),
    ("remove_quotes", "REMOVEQUOTES", "the stand-in does not strip quotes from delimited text"),
    ("trim_blanks", "TRIMBLANKS", "the stand-in does not trim values"),
    ("truncate_columns", "TRUNCATECOLUMNS", "the stand-in rejects values that are too long"),
    ("ignore_all_errors", "IGNOREALLERRORS", "the stand-in fails on the first rejected row"),
    ("no_load", "NOLOAD", "the stand-in cannot check a file without loading it"),
)


@dataclass(frozen=True)
class _Column:
    """What Redshift's conversion rules need to know about one target column."""

    name: str
    character: bool  # CHAR/VARCHAR-like: EMPTYASNULL, BLANKSASNULL and byte lengths apply
    max_bytes: int | None  # CHAR(n)/VARCHAR(n): n, counted in bytes as Redshift does
    single_byte: bool  # CHAR(n): Redshift stores single-byte characters only
    scale: int | None  # NUMERIC(p, s): s
    super_type: bool  # SUPER: a value parsed from JSON, Avro, Parquet or ORC loads as JSON


@dataclass(frozen=True)
class _Conversion:
    """The data-conversion settings of one COPY, resolved once."""

    null_string: str | None
    empty_as_null: bool
    blanks_as_null: bool
    round_dec: bool


_PREFETCH_BYTES = 64 * 1024 * 1024
"""How many bytes of a manifest's files the existence check keeps for the COPY to read."""


@dataclass(frozen=True)
class _Source:
    uri: str
    bucket: str
    key: str
    mandatory: bool


@dataclass(frozen=True)
class _Record:
    line: int  # the source line Redshift would report for this record
    values: list[str | None]


class _Rejected(Exception):  # noqa: N818 - internal signal, never leaves the module
    """A row the stand-in's own parser refuses; becomes a DataRejectedError."""

    def __init__(self, line: int | None, reason: str, code: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason
        self.code = code
        self.column = column


class _JsonNumber(str):
    """A JSON number kept as its exact source text."""

    __slots__ = ()


def run_copy_locally(
    cursor: Any, command: CopyCommand, s3_client: Any, skipped: list[SkippedRow] | None = None
) -> int:
    """Carry out ``command`` on PostgreSQL with Redshift's semantics; return rows loaded.

    With ``MAXERROR AS n`` (n > 0) up to n rejected rows are skipped, across
    the COPY's files, and appended to ``skipped`` (the session's load error
    log); the n+1-th fails the COPY. Each file's COPY then runs under a
    savepoint: a row PostgreSQL rejects is taken out and the file copied
    again, so a file with k such rows costs k+1 COPYs.

    ``cursor`` is a pg8000 DB-API cursor inside the caller's transaction, which
    this function neither commits nor rolls back. The COPY is atomic only
    together with that transaction: one PostgreSQL COPY runs per file, so on
    any exception the caller must roll back. After a rejected row the
    transaction is left aborted, so nothing of a failed file can be committed.
    ``s3_client`` is a boto3 S3 client that can read the objects.

    Raises:
        NotSupportedLocally: an option the stand-in cannot honour (before any I/O),
            or an Avro file compressed with a codec it has no decoder for.
        DataRejectedError: a row, a file or the manifest was rejected, or no
            file was found; ``details`` name the file, line and column.
        TargetMissingError: the table, its schema or a listed column is absent.
        PermissionDeniedError: PostgreSQL or S3 refused access.
        ThrottledError, SerializationConflictError, LockTimeoutError: retryable
            conditions reported by S3 or PostgreSQL.
    """
    _refuse_unsupported(command)
    # Accepted and ignored, because they cannot change the loaded rows:
    # authorization and REGION (the caller's S3 client reads the objects),
    # COMPUPDATE, COMPROWS and STATUPDATE (compression encodings and planner
    # statistics), DATEFORMAT/TIMEFORMAT 'auto' (PostgreSQL's parser stands in).
    columns = _target_columns(cursor, command)
    conversion = _conversion(command)
    skipper = None
    if command.options.maxerror > 0:
        skipper = _Skipper(command, [] if skipped is None else skipped)
    loaded = 0
    fetched: dict[str, bytes] = {}
    for source in _sources(command, s3_client, fetched):
        data = _read_object(s3_client, command, source, fetched.pop(source.uri, None))
        if data is None:  # an optional manifest entry vanished since it was checked
            continue
        if skipper is not None:
            loaded += skipper.copy_file(cursor, data, columns, conversion, source.uri)
            continue
        records = _file_records(data, command, columns, conversion, source.uri)
        del data
        loaded += _copy_file(cursor, command, columns, source.uri, records)
        del records
    return loaded


@dataclass(frozen=True)
class SkippedRow:
    """One row a COPY with MAXERROR skipped: what the load error log keeps of it."""

    detail: LoadErrorDetail
    raw_line: str
    """The file's line, multibyte characters as ``.``, cut at 1,024 (STL_LOAD_ERRORS.raw_line)."""


_SKIPPING_FORMATS = (CsvFormat, DelimitedFormat, JsonFormat)
"""The formats whose rejected rows the stand-in skips under MAXERROR."""

_RAW_LINE_CHARS = 1024
_SAVEPOINT = "s3redshift_copy"


def _raw_line(text: str) -> str:
    """A line as STL_LOAD_ERRORS.raw_line shows it: multibyte characters as ``.``, cut."""
    return "".join(c if c.isascii() else "." for c in text[:_RAW_LINE_CHARS])


class _Skipper:
    """The rows one COPY with ``MAXERROR AS n`` skips, across its files.

    Rows the stand-in's parser refuses are skipped as the file is read; a
    row PostgreSQL refuses is skipped by copying the file again without it,
    under a savepoint. A row that stops the parser itself (a broken quote, a
    malformed JSON text) still fails the whole COPY: the stand-in cannot tell
    where the next record starts, where Redshift goes on at the next line.
    """

    def __init__(self, command: CopyCommand, skipped: list[SkippedRow]) -> None:
        self._command = command
        self._limit = command.options.maxerror
        self.skipped = skipped

    def skip(self, uri: str, rejected: _Rejected, lines: list[str]) -> None:
        """Keep one rejected row; the one past the limit fails the COPY with every one kept."""
        line = rejected.line
        raw = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
        detail = LoadErrorDetail(uri, line, rejected.column, rejected.reason, rejected.code)
        self.skipped.append(SkippedRow(detail, _raw_line(raw.removesuffix("\r"))))
        if len(self.skipped) > self._limit:
            details = [row.detail for row in self.skipped]
            first = ", ".join(f"line {d.line} of {d.file}" for d in details[:3])
            raise DataRejectedError(
                f"COPY into {self._command.table} rejected {len(details)} rows, more than "
                f"MAXERROR {self._limit} allows (first: {first}); correct the files or "
                "raise max_rejected_rows",
                details=details,
                s3_uri=uri,
                table=str(self._command.table),
            )

    def copy_file(
        self,
        cursor: Any,
        data: bytes,
        columns: list[_Column],
        conversion: _Conversion,
        uri: str,
    ) -> int:
        """Load one file's good rows, skipping (and keeping) the rejected ones."""
        text = _decoded_text(data, self._command, uri)
        lines = text.split("\n")

        def reject(rejected: _Rejected) -> None:
            self.skip(uri, rejected, lines)

        try:
            records = list(_records(text, self._command, columns, conversion, on_reject=reject))
        except _Rejected as fatal:
            raise _rejection(self._command, uri, fatal) from None
        while True:
            cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                loaded = _copy_file(cursor, self._command, columns, uri, iter(records))
            except DataRejectedError as exc:
                line = exc.details[0].line if len(exc.details) == 1 else None
                if line is None or not any(r.line == line for r in records):
                    raise
                # ROLLBACK TO keeps the savepoint: release it, or the next try's
                # would nest in it and the rest of the transaction run a level down.
                cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
                detail = exc.details[0]
                self.skip(
                    uri, _Rejected(line, detail.reason, detail.code or "", detail.column), lines
                )
                records = [r for r in records if r.line != line]
                continue
            cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
            return loaded


def _file_records(
    data: bytes, command: CopyCommand, columns: list[_Column], conversion: _Conversion, uri: str
) -> Iterator[_Record]:
    """The rows of one object's bytes; a file the parser refuses as a whole raises here."""
    fmt = command.format
    if not isinstance(fmt, ParquetFormat | OrcFormat | AvroFormat):
        return _records(_decoded_text(data, command, uri), command, columns, conversion)
    names = [c.name for c in columns]
    rows: Iterator[list[Any]]
    try:
        if isinstance(fmt, AvroFormat):
            ignorecase = fmt.json_paths == "auto ignorecase"
            records = columnar.avro_records(data)
            rows = (_by_name(record, names, ignorecase=ignorecase) for record in records)
        else:
            supers = [c.super_type for c in columns]
            rows = columnar.table_rows(data, fmt.keyword, names, supers, fmt.serialize_to_json)
    except columnar.FileRejected as exc:
        raise _rejection(command, uri, _Rejected(None, exc.reason, exc.code, exc.column)) from None
    except columnar.CodecMissing as exc:
        raise _unsupported(
            command,
            f"the {exc.codec} codec of the Avro file {uri}",
            exc.why,
            "install cramjam where the stand-in runs, or test this load against Redshift",
        ) from None
    return _value_records(rows, columns, conversion)


def _value_records(
    rows: Iterator[list[Any]], columns: list[_Column], conversion: _Conversion
) -> Iterator[_Record]:
    """Rows of values read from a Parquet, ORC or Avro file as records; the line is the row.

    Each value takes the shape of a parsed JSON value (:func:`columnar.as_json`)
    and then the text JSON 'auto' would give it: one rule for all these formats.
    """
    try:
        for number, row in enumerate(rows, start=1):
            shaped = []
            for value, column in zip(row, columns, strict=True):
                try:
                    shaped.append(columnar.as_json(value))
                except columnar.UnloadableValue as exc:
                    raise _Rejected(number, str(exc), columnar.VALUE_TYPE, column.name) from None
            yield _parsed_record(number, shaped, columns, conversion)
    except columnar.FileRejected as exc:  # the file broke off while it was read
        raise _Rejected(exc.row, exc.reason, exc.code, exc.column) from None


# --- what the stand-in refuses -----------------------------------------------


_DROP_THE_OPTION = (
    "run this load against Redshift, or drop the option from the rule if the data does not need it"
)


def _unsupported(
    command: CopyCommand, what: str, why: str, fix: str = _DROP_THE_OPTION
) -> NotSupportedLocally:
    return NotSupportedLocally(
        f"the local stand-in cannot honour {what}: {why}; {fix}",
        s3_uri=command.source,
        table=str(command.table),
    )


def _refuse_unsupported(command: CopyCommand) -> None:
    _refuse_unsupported_format(command)
    _refuse_unsupported_options(command)


def _refuse_unsupported_format(command: CopyCommand) -> None:
    fmt = command.format
    if not isinstance(
        fmt, CsvFormat | DelimitedFormat | JsonFormat | AvroFormat | ParquetFormat | OrcFormat
    ):
        raise _unsupported(
            command,
            f"FORMAT AS {fmt.keyword} (type = {fmt.type!r})",
            f"the stand-in cannot parse {fmt.keyword} files (it reads CSV, delimited text, "
            "JSON, Avro, Parquet and ORC)",
            "test this rule against Redshift",
        )
    paths = fmt.json_paths if isinstance(fmt, JsonFormat | AvroFormat) else "auto"
    if paths == "noshred":
        raise _unsupported(
            command,
            "JSON 'noshred' (json_paths = 'noshred')",
            "it loads JSON only shredded into columns by 'auto' or 'auto ignorecase'",
            "test this rule against Redshift",
        )
    if paths not in ("auto", "auto ignorecase"):
        raise _unsupported(
            command,
            f"a JSONPaths file for {fmt.keyword} (json_paths = {paths!r})",
            "it maps fields to columns only by name ('auto' or 'auto ignorecase')",
            "test this rule against Redshift, or use json_paths = 'auto' if the field names "
            "are the column names",
        )
    if command.compression is Compression.LZOP:
        raise _unsupported(command, "LZOP (compression = 'lzop')", "no lzop decoder is installed")
    if isinstance(fmt, CsvFormat | DelimitedFormat):
        delimiter = _delimiter(fmt.delimiter)
        if delimiter in "\r\n" or (isinstance(fmt, CsvFormat) and delimiter == fmt.quote):
            raise _unsupported(
                command,
                f"DELIMITER {fmt.delimiter!r}",
                "a line break or the quote character cannot separate fields in its parser",
            )


def _refuse_unsupported_options(command: CopyCommand) -> None:
    options = command.options
    for name, keyword, why in _UNSUPPORTED_FLAGS:
        if getattr(options, name):
            raise _unsupported(command, f"{keyword} ({name} = true)", why)
    if options.accept_inv_chars is not None:
        raise _unsupported(
            command,
            f"ACCEPTINVCHARS (accept_inv_chars = {options.accept_inv_chars!r})",
            "invalid UTF-8 is rejected, never replaced",
        )
    if options.maxerror > 0 and not isinstance(command.format, _SKIPPING_FORMATS):
        raise _unsupported(
            command,
            f"MAXERROR {options.maxerror} with {command.format.keyword}",
            "it skips rejected rows of CSV, delimited text and JSON files only",
        )
    if options.encoding not in (None, "UTF8"):
        raise _unsupported(
            command, f"ENCODING {options.encoding} (encoding)", "it reads UTF-8 files only"
        )
    for name, keyword in (("date_format", "DATEFORMAT"), ("time_format", "TIMEFORMAT")):
        value = getattr(options, name)
        if value not in (None, "auto"):
            raise _unsupported(
                command,
                f"{keyword} {value!r} ({name})",
                "PostgreSQL parses dates and times by itself; only 'auto' is approximated",
            )


def _delimiter(value: str) -> str:
    """The delimiter character; COPY also accepts it as octal ``'\\ddd'``."""
    if len(value) == 4 and value.startswith("\\"):
        return chr(int(value[1:], 8))
    return value


def _conversion(command: CopyCommand) -> _Conversion:
    fmt = command.format
    null_string: str | None = None
    if isinstance(fmt, CsvFormat | DelimitedFormat):
        null_string = "\\N" if fmt.null_as is None else fmt.null_as
        if null_string in ("\\0", "\\000"):
            # Docs: NULL AS '\0' or '\000' loads a field holding only NUL as NULL.
            null_string = "\x00"
    options = command.options
    return _Conversion(
        null_string=null_string,
        empty_as_null=options.empty_as_null,
        blanks_as_null=options.blanks_as_null,
        round_dec=options.round_dec,
    )


# --- the target table ------------------------------------------------------


def _pg_fields(exc: BaseException) -> dict[str, str] | None:
    """The error fields of a pg8000 ``DatabaseError`` (``C`` SQLSTATE, ``M``, ``W``...)."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], dict) and "C" in args[0]:
        return {str(k): str(v) for k, v in args[0].items()}
    return None


def _database_error(
    fields: dict[str, str], command: CopyCommand, s3_uri: str | None
) -> Exception | None:
    """The s3redshift error for a PostgreSQL error that is not about the data."""
    code = fields.get("C", "")
    message = fields.get("M", "")
    table = str(command.table)
    if code in ("42P01", "3F000", "42703"):
        return TargetMissingError(
            f"PostgreSQL reports {message!r} (SQLSTATE {code}) for the COPY target; "
            "create the table with the expected columns before loading",
            s3_uri=s3_uri,
            table=table,
        )
    if code == "42501":
        return PermissionDeniedError(
            f"PostgreSQL refused the COPY: {message} (SQLSTATE {code}); "
            "grant the loader's user INSERT on the table",
            s3_uri=s3_uri,
            table=table,
        )
    if code in ("40001", "40P01"):
        return SerializationConflictError(
            f"PostgreSQL aborted the COPY for a concurrent transaction: {message} "
            f"(SQLSTATE {code}); retry the load",
            s3_uri=s3_uri,
            table=table,
        )
    if code == "55P03":
        return LockTimeoutError(
            f"PostgreSQL could not lock the table: {message} (SQLSTATE {code}); retry the load",
            s3_uri=s3_uri,
            table=table,
        )
    return None


def _target_columns(cursor: Any, command: CopyCommand) -> list[_Column]:
    """The columns COPY fills, in file order: the column list, else the table's own."""
    try:
        cursor.execute(_COLUMNS_SQL, (command.table.sql,))
        rows = cursor.fetchall()
    except Exception as exc:
        fields = _pg_fields(exc)
        mapped = _database_error(fields, command, None) if fields else None
        if mapped is None:
            raise
        raise mapped from exc
    catalog: dict[str, _Column] = {}
    automatic: set[str] = set()
    for name, type_name, category, typmod, is_automatic in rows:
        catalog[name] = _column(name, type_name, category, typmod)
        if is_automatic:
            automatic.add(name)
    if not command.columns:
        names = [name for name in catalog if name not in automatic]
        if not names:
            raise TargetMissingError(
                f"table {command.table} has no column COPY can fill; add columns to it",
                s3_uri=command.source,
                table=str(command.table),
            )
        return [catalog[name] for name in names]
    chosen = []
    for given in command.columns:
        name = validate_identifier(given, what="column")
        if name not in catalog:
            raise TargetMissingError(
                f"column {name!r} of the COPY column list does not exist in table "
                f"{command.table}; add it to the table or remove it from the column list",
                s3_uri=command.source,
                table=str(command.table),
            )
        chosen.append(catalog[name])
    return chosen


def _column(name: str, type_name: str, category: str, typmod: int) -> _Column:
    super_type = type_name == _SUPER_TYPE
    character = category == "S" and not super_type
    max_bytes = None
    if type_name in ("varchar", "bpchar") and typmod >= 4:
        max_bytes = typmod - 4  # PostgreSQL stores n + 4 for CHAR(n)/VARCHAR(n)
    scale = None
    if type_name == "numeric" and typmod >= 4:
        scale = (typmod - 4) & 0xFFFF  # ((p << 16) | s) + 4
    return _Column(name, character, max_bytes, type_name == "bpchar", scale, super_type)


# --- which objects -----------------------------------------------------------


def _split_uri(uri: str) -> tuple[str, str] | None:
    match = _S3_URI.fullmatch(uri)
    if match is None:
        return None
    return match.group("bucket"), match.group("key")


def _s3_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code", ""))
    return None


def _s3_failure(exc: BaseException, command: CopyCommand, uri: str) -> Exception | None:
    """The s3redshift error for an S3 refusal that is not a missing object."""
    code = _s3_code(exc)
    table = str(command.table)
    if code in _DENIED:
        return PermissionDeniedError(
            f"S3 refused to read {uri} ({code}); allow s3:GetObject and s3:ListBucket "
            "on it for the loader",
            s3_uri=uri,
            table=table,
        )
    if code in _THROTTLED:
        return ThrottledError(
            f"S3 asked to slow down while reading {uri} ({code}); retry later",
            s3_uri=uri,
            table=table,
        )
    return None


def _not_found(command: CopyCommand, uris: Iterable[str], message: str) -> DataRejectedError:
    details = [
        LoadErrorDetail(file=uri, line=None, column=None, reason=message, code=_FILE_NOT_FOUND)
        for uri in uris
    ]
    return DataRejectedError(
        f"COPY into {command.table} failed: {message}",
        details=details,
        s3_uri=command.source,
        table=str(command.table),
    )


def _sources(command: CopyCommand, s3_client: Any, fetched: dict[str, bytes]) -> list[_Source]:
    """The files the COPY reads, in order; ``fetched`` gets the bytes already read of some."""
    if command.manifest:
        return _manifest_sources(command, s3_client, fetched)
    return _prefix_sources(command, s3_client)


def _prefix_sources(command: CopyCommand, s3_client: Any) -> list[_Source]:
    """Every object whose key starts with the source key, as Redshift's FROM does."""
    bucket, _, prefix = command.source.removeprefix("s3://").partition("/")
    sources = []
    try:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"]
                sources.append(_Source(f"s3://{bucket}/{key}", bucket, key, True))
    except Exception as exc:
        if _s3_code(exc) in _MISSING:
            sources = []
        else:
            mapped = _s3_failure(exc, command, command.source)
            if mapped is None:
                raise
            raise mapped from exc
    if not sources:
        raise _not_found(
            command,
            [command.source],
            f"the S3 prefix {command.source} matches no object; check the key, or "
            "whether the object was deleted before the load",
        )
    return sources


def _manifest_error(command: CopyCommand, problem: str) -> DataRejectedError:
    reason = f"manifest {command.source} {problem}"
    return DataRejectedError(
        f"COPY into {command.table} failed: {reason}",
        details=[
            LoadErrorDetail(
                file=command.source, line=None, column=None, reason=reason, code=_MANIFEST
            )
        ],
        s3_uri=command.source,
        table=str(command.table),
    )


def _manifest_sources(
    command: CopyCommand, s3_client: Any, fetched: dict[str, bytes]
) -> list[_Source]:
    """The manifest's entries, in order, after checking that they exist.

    Existence is checked for all entries before any row is written, so a
    missing mandatory file fails the COPY without touching the table. The
    check is the read itself while the bytes read stay under
    :data:`_PREFETCH_BYTES` (they go into ``fetched``, by URI), and a
    ``HeadObject`` past it: one request per file where there were two, which
    halved the S3 requests of a COPY of many small files.
    """
    bucket, _, key = command.source.removeprefix("s3://").partition("/")
    raw = _get_bytes(s3_client, command, command.source, bucket, key)
    if raw is None:
        raise _not_found(
            command,
            [command.source],
            f"the manifest {command.source} does not exist; write it before the COPY",
        )
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _manifest_error(command, f"is not UTF-8 JSON ({exc})") from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise _manifest_error(command, 'must be a JSON object with an "entries" list')
    sources = [_manifest_entry(command, index, entry) for index, entry in enumerate(entries)]
    return _present(command, s3_client, sources, fetched)


def _manifest_entry(command: CopyCommand, index: int, entry: object) -> _Source:
    """One entry of the manifest as a source, or the COPY's rejection naming it."""
    url = entry.get("url") if isinstance(entry, dict) else None
    mandatory = entry.get("mandatory", False) if isinstance(entry, dict) else None
    if not isinstance(url, str) or not isinstance(mandatory, bool):
        raise _manifest_error(
            command,
            f'entries[{index}] must be an object with a "url" string and an optional '
            '"mandatory" true/false',
        )
    parts = _split_uri(url)
    if parts is None or not parts[1] or parts[1].endswith("/"):
        reason = f"entries[{index}].url {url!r} is not the full S3 path of one object"
        raise DataRejectedError(
            f"COPY into {command.table} failed: manifest {command.source} {reason}",
            details=[LoadErrorDetail(url, None, None, reason, code=_MANIFEST_NEEDS_FULL_PATH)],
            s3_uri=command.source,
            table=str(command.table),
        )
    if isinstance(command.format, ParquetFormat | OrcFormat):
        meta = entry.get("meta") if isinstance(entry, dict) else None
        size = meta.get("content_length") if isinstance(meta, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            # Docs: content_length is required for ORC and Parquet. [verify] whether
            # Redshift also compares it with the object's size; the stand-in does not.
            raise _manifest_error(
                command,
                f'entries[{index}] ({url}) needs "meta": {{"content_length": <bytes>}}, '
                f"the object's size, which COPY requires for {command.format.keyword} files",
            )
    return _Source(url, parts[0], parts[1], mandatory)


def _present(
    command: CopyCommand, s3_client: Any, sources: list[_Source], fetched: dict[str, bytes]
) -> list[_Source]:
    """The sources that exist, reading the first bytes of each into ``fetched`` as it checks."""
    exists: dict[str, bool] = {}
    held = 0
    for source in sources:
        if source.uri in exists:
            continue
        if held >= _PREFETCH_BYTES:
            exists[source.uri] = _object_exists(s3_client, command, source)
            continue
        data = _get_bytes(s3_client, command, source.uri, source.bucket, source.key)
        exists[source.uri] = data is not None
        if data is not None:
            fetched[source.uri] = data
            held += len(data)
    missing_mandatory = [s.uri for s in sources if s.mandatory and not exists[s.uri]]
    if missing_mandatory:
        raise _not_found(
            command,
            dict.fromkeys(missing_mandatory),
            f"mandatory manifest entry {', '.join(dict.fromkeys(missing_mandatory))} of "
            f"{command.source} does not exist; restore the object or mark it not mandatory",
        )
    present = [s for s in sources if exists[s.uri]]
    if not present:
        raise _not_found(
            command,
            dict.fromkeys(s.uri for s in sources) or [command.source],
            f"no file of manifest {command.source} exists, and COPY needs at least one",
        )
    return present


def _object_exists(s3_client: Any, command: CopyCommand, source: _Source) -> bool:
    try:
        s3_client.head_object(Bucket=source.bucket, Key=source.key)
    except Exception as exc:
        if _s3_code(exc) in _MISSING:
            return False
        mapped = _s3_failure(exc, command, source.uri)
        if mapped is None:
            raise
        raise mapped from exc
    return True


def _get_bytes(
    s3_client: Any, command: CopyCommand, uri: str, bucket: str, key: str
) -> bytes | None:
    """The object's bytes, or ``None`` if it does not exist."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
    except Exception as exc:
        if _s3_code(exc) in _MISSING:
            return None
        mapped = _s3_failure(exc, command, uri)
        if mapped is None:
            raise
        raise mapped from exc
    return data


# --- reading one file ----------------------------------------------------------


def _rejection(command: CopyCommand, uri: str, rejected: _Rejected) -> DataRejectedError:
    where = f"line {rejected.line} of {uri}" if rejected.line is not None else uri
    if rejected.column is not None:
        where += f", column {rejected.column}"
    return DataRejectedError(
        f"COPY into {command.table} rejected {where}: {rejected.reason} (code {rejected.code}); "
        "correct the file or the table definition and load it again",
        details=[
            LoadErrorDetail(
                file=uri,
                line=rejected.line,
                column=rejected.column,
                reason=rejected.reason,
                code=rejected.code,
            )
        ],
        s3_uri=uri,
        table=str(command.table),
    )


def _read_object(
    s3_client: Any, command: CopyCommand, source: _Source, data: bytes | None = None
) -> bytes | None:
    """The bytes of one object; ``None`` if an optional one vanished.

    ``data`` is the object's bytes where they were read already.
    """
    if data is None:
        data = _get_bytes(s3_client, command, source.uri, source.bucket, source.key)
    if data is None:
        if not source.mandatory:
            return None
        raise _not_found(
            command,
            [source.uri],
            f"{source.uri} disappeared while the COPY was running; load it again",
        )
    return data


def _decoded_text(data: bytes, command: CopyCommand, uri: str) -> str:
    """The decompressed, decoded text of a text-format object."""
    try:
        data = _decompress(data, command.compression)
    except _Rejected as bad_data:
        raise _rejection(command, uri, bad_data) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        rejected = _Rejected(
            line,
            f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte {exc.start} of the file",
            _INVALID_UTF8,
        )
        raise _rejection(command, uri, rejected) from None


def _decompress(data: bytes, compression: Compression | None) -> bytes:
    if compression is None:
        return data
    if compression is Compression.ZSTD:
        import zstandard  # lazy: only the stand-in needs it

        failures: tuple[type[Exception], ...] = (zstandard.ZstdError, OSError, ValueError)
    else:
        failures = (OSError, EOFError, ValueError, zlib.error)
    try:
        if compression is Compression.GZIP:
            return gzip.decompress(data)  # concatenated members included
        if compression is Compression.BZIP2:
            return bz2.decompress(data)  # concatenated streams included
        if compression is Compression.ZSTD:
            reader = zstandard.ZstdDecompressor().stream_reader(
                io.BytesIO(data), read_across_frames=True
            )
            with reader:
                return reader.read()
    except failures as exc:
        raise _Rejected(None, f"not valid {compression.value} data ({exc})", _DECOMPRESS) from None
    # LZOP is refused before any file is read.
    raise AssertionError(f"unexpected compression {compression}")


def _records(
    text: str,
    command: CopyCommand,
    columns: list[_Column],
    conversion: _Conversion,
    on_reject: Callable[[_Rejected], None] | None = None,
) -> Iterator[_Record]:
    """The file's rows, converted with Redshift's rules; raises ``_Rejected``.

    With ``on_reject``, a record the parser refuses is handed to it and
    left out instead (MAXERROR); one that stops the parser still raises.
    """
    fmt = command.format
    if isinstance(fmt, JsonFormat):
        names = [c.name for c in columns]
        ignorecase = fmt.json_paths == "auto ignorecase"
        for line, found in _json_rows(text, skip=fmt.ignore_header):
            try:
                named = _by_name(found, names, ignorecase=ignorecase)
                yield _parsed_record(line, named, columns, conversion)
            except _Rejected as rejected:
                if on_reject is None:
                    raise
                on_reject(rejected)
        return
    assert isinstance(fmt, CsvFormat | DelimitedFormat)  # others refused up front
    delimiter = _delimiter(fmt.delimiter)
    options = command.options
    if isinstance(fmt, CsvFormat):
        rows = _csv_rows(text, delimiter, fmt.quote, fmt.ignore_header, options.ignore_blank_lines)
    else:
        rows = _delimited_rows(text, delimiter, fmt.ignore_header, options.ignore_blank_lines)
    for line, fields in rows:
        try:
            yield _delimited_record(line, fields, columns, conversion)
        except _Rejected as rejected:
            if on_reject is None:
                raise
            on_reject(rejected)


def _delimited_record(
    line: int, fields: list[str], columns: list[_Column], conversion: _Conversion
) -> _Record:
    """One CSV or delimited record's fields as a row, or ``_Rejected``."""
    width = len(columns)
    if len(fields) > width:
        raise _Rejected(
            line,
            f"Extra column(s) found: {len(fields)} fields for {width} columns",
            _EXTRA_COLUMNS,
        )
    if len(fields) < width:
        raise _Rejected(
            line,
            f"Delimiter not found: {len(fields)} fields for {width} columns",
            _DELIMITER_NOT_FOUND,
        )
    values: list[str | None] = [
        None if field == conversion.null_string else field for field in fields
    ]
    return _Record(line, _convert(values, columns, conversion, line))


def _convert(
    values: list[str | None], columns: list[_Column], conversion: _Conversion, line: int
) -> list[str | None]:
    """Apply the rules Redshift applies per column type to one row's values."""
    converted: list[str | None] = []
    for value, column in zip(values, columns, strict=True):
        if value is None:
            converted.append(None)
        elif column.character:
            converted.append(_character_value(value, column, conversion, line))
        elif not value.strip(_BLANK):
            # Docs: empty and blank fields of non-character types always load NULL.
            converted.append(None)
        elif column.scale is not None:
            converted.append(_fit_scale(value, column.scale, round_dec=conversion.round_dec))
        else:
            converted.append(value)
    return converted


def _character_value(value: str, column: _Column, conversion: _Conversion, line: int) -> str | None:
    if value == "":
        return None if conversion.empty_as_null else value
    if conversion.blanks_as_null and not value.strip(_BLANK):
        return None
    if column.single_byte and not value.isascii():
        raise _Rejected(
            line,
            "Multibyte character not supported for CHAR (Hint: try using VARCHAR)",
            _INVALID_UTF8,
            column.name,
        )
    if column.max_bytes is not None:
        size = len(value.encode("utf-8"))
        if size > column.max_bytes:
            raise _Rejected(
                line,
                f"String length exceeds DDL length: {size} bytes for a column of "
                f"{column.max_bytes} (Redshift counts bytes, not characters)",
                _VALUE_OUT_OF_RANGE,
                column.name,
            )
    return value


def _fit_scale(value: str, scale: int, *, round_dec: bool) -> str:
    """Cut a decimal to the column's scale as Redshift COPY does (ROUNDEC: round).

    Anything that is not a plain decimal number is passed on unchanged for
    PostgreSQL to accept or reject.
    """
    if _PLAIN_DECIMAL.fullmatch(value) is None:
        return value
    number = Decimal(value)
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or exponent >= -scale:
        return value
    rounding = ROUND_HALF_UP if round_dec else ROUND_DOWN
    try:
        fitted = number.quantize(
            Decimal(1).scaleb(-scale), rounding=rounding, context=_WIDE_CONTEXT
        )
    except InvalidOperation:
        return value
    return str(fitted)


# --- the three parsers ---------------------------------------------------------


def _skip_lines(text: str, count: int) -> tuple[int, int]:
    """Position and 1-based line number after the first ``count`` lines."""
    pos, line = 0, 1
    for _ in range(count):
        newline = text.find("\n", pos)
        if newline < 0:
            return len(text), line
        pos, line = newline + 1, line + 1
    return pos, line


def _delimited_rows(
    text: str, delimiter: str, ignore_header: int, ignore_blank_lines: bool
) -> Iterator[tuple[int, list[str]]]:
    end = len(text)
    pos, line = _skip_lines(text, ignore_header)
    while pos < end:
        newline = text.find("\n", pos)
        stop = end if newline < 0 else newline
        raw = text[pos:stop]
        current = line
        pos, line = stop + 1, line + 1
        if raw == "" and ignore_blank_lines:
            continue
        yield current, raw.split(delimiter)


def _csv_rows(
    text: str, delimiter: str, quote: str, ignore_header: int, ignore_blank_lines: bool
) -> Iterator[tuple[int, list[str]]]:
    end = len(text)
    padding = _CSV_PADDING.replace(delimiter, "")
    pos, line = _skip_lines(text, ignore_header)
    while pos < end:
        newline = text.find("\n", pos)
        stop = end if newline < 0 else newline
        if text.find(quote, pos, stop) < 0:  # no quoting on this line: split it
            raw = text[pos:stop].removesuffix("\r")
            current = line
            pos, line = stop + 1, line + 1
            if raw == "" and ignore_blank_lines:
                continue
            yield current, raw.split(delimiter)
            continue
        current = line
        fields, pos, line = _csv_quoted_record(text, pos, line, delimiter, quote, padding)
        yield current, fields


def _csv_quoted_record(
    text: str, pos: int, line: int, delimiter: str, quote: str, padding: str
) -> tuple[list[str], int, int]:
    """Parse one record that contains the quote character; return it, the next position and line."""
    end = len(text)
    start_line = line
    fields: list[str] = []
    while True:
        i = pos
        while i < end and text[i] in padding:
            i += 1
        if i < end and text[i] == quote:
            opened = i
            value, i = _csv_quoted_field(text, i + 1, quote, start_line)
            line += text.count("\n", opened, i)
            fields.append(value)
            while i < end and text[i] in padding:
                i += 1
            if i >= end:
                return fields, end, line + 1
            if text[i] == delimiter:
                pos = i + 1
                continue
            if text[i] == "\n":
                return fields, i + 1, line + 1
            if text[i] == "\r" and (i + 1 == end or text[i + 1] == "\n"):
                return fields, i + 2, line + 1
            raise _Rejected(
                start_line,
                f"Invalid quote formatting for CSV: {text[i]!r} follows a closing {quote!r} "
                "where a delimiter or the end of the line was expected",
                _INVALID_LINE,
            )
        # An unquoted field runs to the next delimiter or line end; a quote
        # character inside it is taken literally.
        newline = text.find("\n", pos)
        stop = end if newline < 0 else newline
        delimited = text.find(delimiter, pos, stop)
        if delimited >= 0:
            fields.append(text[pos:delimited])
            pos = delimited + 1
            continue
        fields.append(text[pos:stop].removesuffix("\r"))
        return fields, stop + 1, line + 1


def _csv_quoted_field(text: str, i: int, quote: str, start_line: int) -> tuple[str, int]:
    """The value of a quoted field whose text starts at ``i``, and the position after it."""
    chunks = []
    while True:
        closing = text.find(quote, i)
        if closing < 0:
            raise _Rejected(
                start_line,
                f"Invalid quote formatting for CSV: the field opened by {quote!r} on "
                "this line is never closed",
                _INVALID_LINE,
            )
        chunks.append(text[i:closing])
        if not text.startswith(quote, closing + 1):
            return "".join(chunks), closing + 1
        chunks.append(quote)  # a doubled quote is one quote
        i = closing + 2


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _json_rows(text: str, *, skip: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Top-level JSON objects, each with its line: the object's last line.

    ``skip`` is IGNOREHEADER: that many lines are dropped before the first
    object, as Redshift treats them as the file's header.
    """
    decoder = json.JSONDecoder(
        parse_float=_JsonNumber, parse_int=_JsonNumber, parse_constant=_refuse_constant
    )
    end = len(text)
    pos, line = _skip_lines(text, skip)
    while True:
        match = _JSON_WHITESPACE.match(text, pos)
        assert match is not None  # the pattern matches the empty string
        line += text.count("\n", pos, match.end())
        pos = match.end()
        if pos >= end:
            return
        try:
            value, stop = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _Rejected(
                exc.lineno,
                f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                _INVALID_LINE,
            ) from None
        except ValueError as exc:  # NaN, Infinity
            raise _Rejected(line, f"invalid JSON: {exc}", _INVALID_LINE) from None
        line += text.count("\n", pos, stop)
        pos = stop
        if not isinstance(value, dict):
            kind = "an array" if isinstance(value, list) else "a scalar"
            raise _Rejected(
                line,
                f"a top-level JSON value is {kind}; JSON 'auto' loads objects only "
                "(arrays need a JSONPaths file)",
                _INVALID_LINE,
            )
        yield line, value


def _by_name(found: dict[str, Any], names: list[str], *, ignorecase: bool) -> list[Any]:
    """The values of ``found`` for the columns ``names``: COPY's 'auto' mapping.

    A key missing from ``found`` gives ``None`` (NULL); keys no column names are
    ignored. With ``'auto ignorecase'`` keys are matched lower-cased, and of
    keys differing only in case the last one wins.
    """
    if ignorecase:
        found = {key.lower(): item for key, item in found.items()}
    return [found.get(name) for name in names]


def _parsed_record(
    line: int, values: list[Any], columns: list[_Column], conversion: _Conversion
) -> _Record:
    """One row of parsed values (a JSON value's shapes), in column order, as its record."""
    texts = [_field_text(value, column) for value, column in zip(values, columns, strict=True)]
    return _Record(line, _convert(texts, columns, conversion, line))


def _field_text(value: Any, column: _Column) -> str | None:
    """A parsed value (JSON's shapes: dict, list, str, number, bool, None) as ``column``'s text.

    Into SUPER every value goes as its JSON text, which the column parses: a
    string stays a string, an object an object. [verify] that COPY JSON
    'auto' loads a JSON string into SUPER as a string. Into any other column
    scalars go as their text and nested values as compact JSON.
    """
    if value is not None and column.super_type:
        return _json_text(value)
    return _json_field(value)


def _json_field(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # strings and _JsonNumber
        return str(value)
    return _json_text(value)


def _json_text(value: Any) -> str:
    """Compact JSON text of a value, numbers exactly as they were written.

    Besides parsed JSON, Python's numbers (read from Avro, Parquet or ORC)
    are written as their exact text: ``str`` of an int or Decimal, ``repr``
    of a float.
    """
    if isinstance(value, _JsonNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dict):
        members = (
            json.dumps(key, ensure_ascii=False) + ":" + _json_text(item)
            for key, item in value.items()
        )
        return "{" + ",".join(members) + "}"
    return "[" + ",".join(_json_text(item) for item in value) + "]"


# --- streaming into PostgreSQL ---------------------------------------------------


def _csv_value(value: str | None) -> str:
    # NULL is a bare empty field, every value is quoted: PostgreSQL's CSV reader
    # then takes each value literally and reads no NULL that the parser did not mean.
    if value is None:
        return ""
    return '"' + value.replace('"', '""') + '"'


def _csv_stream(
    records: Iterator[_Record], width: int, lines: list[int], failures: list[Exception]
) -> Iterator[str]:
    """The rows as PostgreSQL CSV, in chunks; ``lines[i]`` is row i+1's source line.

    An exception cannot be raised into pg8000 mid-COPY without breaking the
    connection's protocol state, so a failure of the parser is recorded in
    ``failures`` and the stream ends with a row that has one field too many:
    PostgreSQL then rejects the COPY (22P04), which aborts the transaction
    and keeps every row of the file out of the table.
    """
    parts: list[str] = []
    size = 0
    try:
        for record in records:
            row = ",".join(_csv_value(v) for v in record.values) + "\n"
            lines.append(record.line)
            parts.append(row)
            size += len(row)
            if size >= _CHUNK_CHARS:
                yield "".join(parts)
                parts, size = [], 0
    except Exception as exc:
        failures.append(exc)
        parts.append("," * width + "\n")
    if parts:
        yield "".join(parts)


def _copy_file(
    cursor: Any, command: CopyCommand, columns: list[_Column], uri: str, records: Iterator[_Record]
) -> int:
    quoted = ", ".join(quote_identifier(c.name, what="column") for c in columns)
    sql = f"COPY {command.table.sql} ({quoted}) FROM STDIN WITH (FORMAT csv)"
    lines: list[int] = []
    failures: list[Exception] = []
    try:
        cursor.execute(sql, stream=_csv_stream(records, len(columns), lines, failures))
    except Exception as exc:
        fields = _pg_fields(exc)
        if fields is None:
            raise
        match = _COPY_CONTEXT.search(fields.get("W", ""))
        row = int(match.group(1)) if match else None
        data_error = fields.get("C", "")[:2] in ("22", "23")
        if data_error and row is not None and row <= len(lines):
            # PostgreSQL rejected a row the parser let through, before any
            # later row the parser refused: that is the first bad line.
            column = (match.group(2) if match else None) or fields.get("c")
            reason = fields.get("M", "rejected by PostgreSQL")
            if fields.get("D"):
                reason += f" ({fields['D']})"
            rejected = _Rejected(lines[row - 1], reason, fields.get("C", ""), column)
            raise _rejection(command, uri, rejected) from exc
        if failures:
            raise _failure(command, uri, failures[0]) from None
        mapped = _database_error(fields, command, uri)
        if mapped is None:
            raise
        raise mapped from exc
    if failures:  # unreachable while the sentinel row works; never load a partial file
        raise _failure(command, uri, failures[0])
    return int(cursor.rowcount)


def _failure(command: CopyCommand, uri: str, failure: Exception) -> Exception:
    if isinstance(failure, _Rejected):
        return _rejection(command, uri, failure)
    return failure
