"""Typed Redshift ``COPY`` statements: formats, options, authorization, SQL text.

Nothing here does I/O. A :class:`CopyCommand` is an immutable value that can
only exist if Redshift would accept its combination of options, so a bad
configuration fails when it is read, not halfway through a load, and its SQL
text is a pure function of its fields (same input, same text).

How the checks are split:

* pydantic checks shapes, types, ranges and closed value sets (these show up
  in the JSON Schema that ``s3redshift config-schema`` prints) and raises
  :class:`pydantic.ValidationError`. Whole numbers and switches are strict
  (``True`` is not a row count, ``"false"`` is not a switch) because these
  models are read straight from configuration files; sequences still accept
  lists for tuples;
* every rule of Redshift's COPY grammar that needs an explanation -- two
  options that cannot go together, a delimiter that is not one ASCII
  character, a case-sensitive keyword written in the wrong case -- raises
  :class:`~s3redshift.errors.CopyOptionsError` whose message names both
  options (their Redshift keywords and configuration keys) and the fix.
  pydantic lets these propagate unchanged from its validators.

The statement has one fixed clause order, one spelling per option and single
spaces; it is a single line unless a literal itself holds a line break (an S3
key may)::

    COPY <schema>.<table> [(<col>, ...)]
    FROM '<s3 uri>'
    <authorization>              IAM_ROLE default | IAM_ROLE '<arn>[,<arn>...]'
                                 | ACCESS_KEY_ID '..' SECRET_ACCESS_KEY '..' [SESSION_TOKEN '..']
    <format>                     FORMAT AS CSV [QUOTE AS 'q'] [DELIMITER AS 'd']
                                 | DELIMITER AS 'd' | FIXEDWIDTH 'label:width,...'
                                 | FORMAT AS JSON '<paths>' | FORMAT AS AVRO '<paths>'
                                 | FORMAT AS PARQUET | FORMAT AS ORC
    [GZIP | BZIP2 | ZSTD | LZOP]
    [REGION AS '<region>']
    [MANIFEST]
    data conversion, alphabetical:
      [ACCEPTANYDATE] [ACCEPTINVCHARS AS 'c'] [BLANKSASNULL] [DATEFORMAT AS 'f']
      [EMPTYASNULL] [ENCODING AS e] [ESCAPE] [EXPLICIT_IDS] [FILLRECORD]
      [IGNOREBLANKLINES] [IGNOREHEADER AS n] [NULL AS 's'] [REMOVEQUOTES] [ROUNDEC]
      [TIMEFORMAT AS 'f'] [TRIMBLANKS] [TRUNCATECOLUMNS]
    load, alphabetical:
      [COMPROWS n] [COMPUPDATE OFF|ON|PRESET] [IGNOREALLERRORS] [MAXERROR AS n]
      [NOLOAD] [STATUPDATE OFF|ON]

``AS`` is written wherever the grammar allows it, and nowhere else. CSV's
``QUOTE`` and ``DELIMITER`` appear only when they differ from Redshift's CSV
defaults (``"`` and ``,``); the delimited format always states its delimiter.
``COMPUPDATE OFF``, ``MAXERROR AS 0`` and ``STATUPDATE OFF`` are written by
default (safe for incremental loads, and explicit in logs), except where
Redshift refuses them: Parquet/ORC take neither COMPUPDATE nor MAXERROR, and
MAXERROR cannot go with IGNOREALLERRORS.

Every literal goes through :func:`~s3redshift.identifiers.quote_literal`, which
doubles backslashes because Redshift reads them as escapes inside literals.
Values that COPY itself gives a backslash meaning -- an octal ``DELIMITER``
such as ``\\036``, ``NULL AS '\\N'`` or ``'\\0'`` -- are therefore configured
as the text COPY should receive and written with the backslash doubled.
[verify] on a real cluster that ``DELIMITER AS '\\\\036'`` reaches COPY as
``\\036`` (the open literal-escaping question in the reference notes).

Sources: Redshift Developer Guide pages on COPY (see
``shared/reference/redshift.md`` section 1).
"""

# No ``from __future__ import annotations`` here: pydantic would compile each
# of the models' annotations from its text when the module is imported.
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    StrictBool,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from s3redshift.errors import CopyOptionsError, UnsafeIdentifierError
from s3redshift.identifiers import TableRef, quote_identifier, quote_literal, validate_identifier

__all__ = [
    "MAX_ERROR_LIMIT",
    "REGION_NAME",
    "Authorization",
    "AvroFormat",
    "Compression",
    "CompressionSetting",
    "CopyCommand",
    "CopyOptions",
    "CsvFormat",
    "DelimitedFormat",
    "FileFormat",
    "FixedWidthFormat",
    "IamRole",
    "JsonFormat",
    "OnError",
    "OrcFormat",
    "ParquetFormat",
    "TemporaryKeys",
    "check_compatible",
    "resolve_compression",
]


class Compression(enum.StrEnum):
    """The compression keywords COPY accepts (text, CSV, fixed-width and JSON files)."""

    GZIP = "GZIP"
    BZIP2 = "BZIP2"
    ZSTD = "ZSTD"
    LZOP = "LZOP"


CompressionSetting = Literal["auto", "none", "gzip", "bzip2", "zstd", "lzop"]
"""The ``compression`` key of a format: ``auto`` infers it from the object key."""

# Longest suffix first is not needed (no suffix is a suffix of another), but the
# order is fixed so inference never depends on dict ordering.
_EXTENSIONS: tuple[tuple[str, Compression], ...] = (
    (".gz", Compression.GZIP),
    (".bz2", Compression.BZIP2),
    (".zst", Compression.ZSTD),
    (".zstd", Compression.ZSTD),
    (".lzo", Compression.LZOP),
)

_MODEL_CONFIG = ConfigDict(frozen=True, extra="forbid")

_Count = Annotated[StrictInt, Field(ge=0)]
"""A whole number of rows; strict, so ``true`` or ``"1"`` in a file is refused."""

# Format-level keys that only some formats have, with the COPY keyword each one
# becomes: a key given to a format that lacks it is reported as a pair of
# incompatible COPY options rather than as a bare "extra input".
_FORMAT_KEY_KEYWORDS: dict[str, str] = {
    "delimiter": "DELIMITER",
    "quote": "QUOTE",
    "ignore_header": "IGNOREHEADER",
    "null_as": "NULL AS",
    "widths": "FIXEDWIDTH",
    "json_paths": "JSON/AVRO paths",
    "serialize_to_json": "SERIALIZETOJSON",
}

_OCTAL_CHARACTER = re.compile(r"\\[0-7]{3}")
_AUTO_PATHS = ("auto", "auto ignorecase")
_DATE_KEYWORDS = ("auto",)
_TIME_KEYWORDS = ("auto", "epochsecs", "epochmillisecs")
# Docs (DATEFORMAT and TIMEFORMAT strings): "You can't include a time zone
# specifier (TZ, tz, or OF) in the timeformat_string." Case as documented.
_TIME_ZONE_SPECIFIERS = ("TZ", "tz", "OF")
# Fixed-width files must be UTF-8 (docs, ENCODING): widths count characters.
_UTF16_ENCODINGS = frozenset({"UTF16", "UTF16LE", "UTF16BE"})
# Legacy S3 bucket names (us-east-1 before 2018) could be up to 255 characters
# with upper case and '_'; accept the loosest form ever allowed, never more.
_S3_URI = re.compile(r"s3://(?P<bucket>[A-Za-z0-9._-]{3,255})(?:/(?P<key>.*))?", re.DOTALL)
REGION_NAME = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
"""An AWS Region's name, such as ``eu-west-1``: COPY's ``REGION`` and ``[copy] region``."""
# Role names allow ',' in IAM, but a ',' would split a chained-role literal, so
# it is refused here: no ARN with a comma can be passed to IAM_ROLE anyway.
_ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=.@/-]+")
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9]{16,128}")
_SECRET_FIELDS = ("secret_access_key", "session_token")


def _conflict(first: str, second: str, fix: str) -> CopyOptionsError:
    return CopyOptionsError(f"{first} cannot be used with {second}: {fix}")


# --- formats ---------------------------------------------------------------


_TYPE = "csv, delimited, json, avro, parquet, orc or fixedwidth."
_DELIMITER = "Field delimiter, one character."
_IGNORE_HEADER = (
    "csv, delimited, fixedwidth: header lines to skip in each file. The seed's rule (no "
    "[[tables]]) skips 1; a CSV rule that leaves it unset gets a warning, so say 1 or 0."
)
_NULL_AS = "csv, delimited, fixedwidth: the text that means NULL."
_JSON_PATHS = "json, avro: auto, auto ignorecase, an s3:// JSONPaths file (json also noshred)."
_COMPRESSION = "auto (from the extension: .gz, .bz2, .zst, .lzo), none, gzip, bzip2, zstd or lzop."


class _Format(BaseModel):
    """Shared behaviour of the file formats."""

    model_config = _MODEL_CONFIG

    keyword: ClassVar[str]
    """How COPY and error messages name the format."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_other_formats_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if key in _FORMAT_KEY_KEYWORDS and key not in cls.model_fields:
                    raise _conflict(
                        f"{_FORMAT_KEY_KEYWORDS[key]} ({key})",
                        f"{cls.keyword} (type = {cls.model_fields['type'].default!r})",
                        f"remove {key} or choose a format that takes it",
                    )
        return data


def _check_delimiter(value: str, keyword: str) -> str:
    # Docs: "the single ASCII character ... ASCII characters can also be
    # represented in octal, using the format '\ddd'".
    single = len(value) == 1 and value.isascii() and value != "\x00"
    if single or _OCTAL_CHARACTER.fullmatch(value):
        return value
    raise CopyOptionsError(
        f"DELIMITER (delimiter = {value!r}) is not valid for {keyword}: use one ASCII "
        "character, or an octal code written as '\\ddd' (for example '\\011' for a tab)"
    )


def _check_null_as(value: str | None) -> str | None:
    # Docs: "Do not use '\n' (newline) for the null_string value. Amazon Redshift
    # reserves '\n' for use as a line delimiter."
    if value == "\n":
        raise CopyOptionsError(
            "NULL AS (null_as) cannot be a newline: Redshift reserves '\\n' as the line "
            "delimiter; choose another null string such as '\\N' or ''"
        )
    if value is not None and "\x00" in value:
        raise CopyOptionsError(
            "NULL AS (null_as) cannot contain a NUL character: write it as the text '\\0' "
            "or '\\000', which COPY reads as NUL"
        )
    return value


def _check_columnar_compression(value: CompressionSetting, keyword: str, why: str) -> str:
    if value in ("auto", "none"):
        return value
    raise _conflict(
        f"{value.upper()} (compression = {value!r})",
        keyword,
        f"{why}; set compression = 'auto' or 'none'",
    )


def _check_paths(value: str, keyword: str, *, noshred: bool) -> str:
    if value in _AUTO_PATHS or (noshred and value == "noshred"):
        return value
    if value == "noshred":
        raise _conflict(
            "'noshred' (json_paths)", keyword, "noshred exists only for JSON; use 'auto'"
        )
    if value.startswith("s3://"):
        match = _S3_URI.fullmatch(value)
        key = match.group("key") if match else None
        if key and not key.endswith("/") and "\x00" not in value:
            return value
        raise CopyOptionsError(
            f"{keyword} JSONPaths file (json_paths = {value!r}) must be the S3 URI of one "
            "object, s3://bucket/key, not a bucket or a prefix"
        )
    allowed = "'auto', 'auto ignorecase', " + ("'noshred', " if noshred else "")
    raise CopyOptionsError(
        f"{keyword} (json_paths = {value!r}) is not a valid option: use {allowed}or the "
        "s3:// URI of a JSONPaths file (the keywords are lower case)"
    )


class CsvFormat(_Format):
    """``FORMAT AS CSV``: fields may be quoted, a quote inside one is doubled."""

    keyword: ClassVar[str] = "CSV"

    type: Literal["csv"] = Field("csv", description=_TYPE)
    delimiter: str = Field(",", description=_DELIMITER)
    quote: str = Field('"', description="csv: the quote character.")
    ignore_header: _Count = Field(0, description=_IGNORE_HEADER)
    null_as: str | None = Field(None, description=_NULL_AS)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        return _check_delimiter(value, "CSV")

    @field_validator("quote")
    @classmethod
    def _quote(cls, value: str) -> str:
        # Docs: "Specifies the character to be used as the quote character".
        # [verify] whether it must be ASCII; the docs only say "the character".
        if len(value) == 1 and value != "\x00":
            return value
        raise CopyOptionsError(
            f"QUOTE (quote = {value!r}) for CSV must be exactly one character, "
            "for example '\"' (the default) or \"'\""
        )

    @field_validator("null_as")
    @classmethod
    def _null_as(cls, value: str | None) -> str | None:
        return _check_null_as(value)

    @model_validator(mode="after")
    def _quote_is_not_delimiter(self) -> Self:
        if self.quote == self.delimiter:
            raise _conflict(
                f"QUOTE (quote = {self.quote!r})",
                f"DELIMITER (delimiter = {self.delimiter!r})",
                "the quote and the delimiter must be different characters",
            )
        return self


class DelimitedFormat(_Format):
    """Redshift's plain text format: one delimiter character, no quoting rules."""

    keyword: ClassVar[str] = "DELIMITER (delimited text)"

    type: Literal["delimited"] = Field("delimited", description=_TYPE)
    delimiter: str = Field("|", description=_DELIMITER)
    ignore_header: _Count = Field(0, description=_IGNORE_HEADER)
    null_as: str | None = Field(None, description=_NULL_AS)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        return _check_delimiter(value, "delimited text")

    @field_validator("null_as")
    @classmethod
    def _null_as(cls, value: str | None) -> str | None:
        return _check_null_as(value)


class JsonFormat(_Format):
    """``FORMAT AS JSON 'auto' | 'auto ignorecase' | 's3://jsonpaths' | 'noshred'``.

    ``ignore_header`` skips that many lines at the top of each file
    (``IGNOREHEADER``, a data-conversion parameter the docs allow with JSON).
    """

    keyword: ClassVar[str] = "JSON"

    type: Literal["json"] = Field("json", description=_TYPE)
    json_paths: str = Field("auto", description=_JSON_PATHS)
    ignore_header: _Count = Field(0, description=_IGNORE_HEADER)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)

    @field_validator("json_paths")
    @classmethod
    def _paths(cls, value: str) -> str:
        return _check_paths(value, "JSON", noshred=True)


class AvroFormat(_Format):
    """``FORMAT AS AVRO 'auto' | 'auto ignorecase' | 's3://jsonpaths'``.

    Avro files compress their blocks themselves (deflate or snappy codecs, which
    COPY reads); the docs list no compression keyword for AVRO, so only
    ``auto``/``none`` are accepted and neither emits one. [verify] GZIP with AVRO.
    """

    keyword: ClassVar[str] = "AVRO"

    type: Literal["avro"] = Field("avro", description=_TYPE)
    json_paths: str = Field("auto", description=_JSON_PATHS)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)

    @field_validator("json_paths")
    @classmethod
    def _paths(cls, value: str) -> str:
        return _check_paths(value, "AVRO", noshred=False)

    @field_validator("compression")
    @classmethod
    def _compression(cls, value: CompressionSetting) -> str:
        return _check_columnar_compression(
            value, "AVRO", "Avro files are compressed inside (deflate or snappy codecs)"
        )


_COLUMNAR_WHY = "Redshift decompresses .gz, .snappy and .bz2 Parquet/ORC files itself"
_SERIALIZE = (
    "parquet, orc: SERIALIZETOJSON, so nested columns (structs, lists, maps) load into SUPER "
    "columns; a schema policy adds it for files with nested columns."
)


class ParquetFormat(_Format):
    """``FORMAT AS PARQUET``: read through Spectrum, columns mapped by position."""

    keyword: ClassVar[str] = "PARQUET"

    type: Literal["parquet"] = Field("parquet", description=_TYPE)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)
    serialize_to_json: StrictBool = Field(False, description=_SERIALIZE)

    @field_validator("compression")
    @classmethod
    def _compression(cls, value: CompressionSetting) -> str:
        return _check_columnar_compression(value, "PARQUET", _COLUMNAR_WHY)


class OrcFormat(_Format):
    """``FORMAT AS ORC``: read through Spectrum, columns mapped by position."""

    keyword: ClassVar[str] = "ORC"

    type: Literal["orc"] = Field("orc", description=_TYPE)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)
    serialize_to_json: StrictBool = Field(False, description=_SERIALIZE)

    @field_validator("compression")
    @classmethod
    def _compression(cls, value: CompressionSetting) -> str:
        return _check_columnar_compression(value, "ORC", _COLUMNAR_WHY)


class FixedWidthFormat(_Format):
    """``FIXEDWIDTH 'label:width,...'``: one label/width pair per column, in order.

    ``widths`` may be given as pairs, as a mapping (a TOML table keeps its
    order) or as Redshift's own ``'label:width,...'`` text.
    """

    keyword: ClassVar[str] = "FIXEDWIDTH"

    type: Literal["fixedwidth"] = Field("fixedwidth", description=_TYPE)
    widths: Annotated[
        tuple[tuple[str, Annotated[StrictInt, Field(gt=0)]], ...],
        Field(
            min_length=1,
            description='fixedwidth: "label:width,...", a table of label = width, or a list '
            "of pairs.",
        ),
    ]
    ignore_header: _Count = Field(0, description=_IGNORE_HEADER)
    null_as: str | None = Field(None, description=_NULL_AS)
    compression: CompressionSetting = Field("auto", description=_COMPRESSION)

    @field_validator("widths", mode="before")
    @classmethod
    def _widths_shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            pairs = []
            for item in value.split(","):
                label, colon, width = item.rpartition(":")
                if not colon or not width.strip().isdigit():
                    raise CopyOptionsError(
                        f"FIXEDWIDTH (widths = {value!r}) must read 'label:width,...' "
                        "with a positive whole width for every label"
                    )
                pairs.append((label, int(width)))
            return tuple(pairs)
        if isinstance(value, Mapping):
            return tuple(value.items())
        return value

    @field_validator("widths")
    @classmethod
    def _labels(cls, value: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        for label, _width in value:
            if not label or any(c in label for c in ":,\x00"):
                raise CopyOptionsError(
                    f"FIXEDWIDTH label {label!r} (widths) must be non-empty and contain "
                    "neither ':' nor ',', which separate the label/width pairs"
                )
        return value

    @field_validator("null_as")
    @classmethod
    def _null_as(cls, value: str | None) -> str | None:
        return _check_null_as(value)


FileFormat = Annotated[
    CsvFormat
    | DelimitedFormat
    | JsonFormat
    | AvroFormat
    | ParquetFormat
    | OrcFormat
    | FixedWidthFormat,
    Field(discriminator="type"),
]
"""Any one file format; the ``type`` key picks the model."""

_TextFormat = CsvFormat | DelimitedFormat | JsonFormat | FixedWidthFormat

_REJECTS_FORMATS = (CsvFormat, DelimitedFormat, JsonFormat, FixedWidthFormat)
"""Formats whose rejected rows ``on_error = "skip_rows"`` keeps: a rejected row is a file line."""

OnError = Literal["fail_file", "skip_rows"]
"""What a rule does with a row COPY rejects (``[tables.options] on_error``)."""

MAX_ERROR_LIMIT = 100_000
"""Redshift's largest MAXERROR (COPY data load parameters: "the maximum value is 100000")."""


def _is_columnar(format: FileFormat) -> bool:
    return isinstance(format, ParquetFormat | OrcFormat)


def resolve_compression(format: FileFormat, key: str) -> Compression | None:
    """The compression keyword COPY needs for one object, or ``None`` for none.

    ``auto`` reads the key's extension (case-insensitively, since ``.GZ`` is
    still gzip): ``.gz`` GZIP, ``.bz2`` BZIP2, ``.zst``/``.zstd`` ZSTD, ``.lzo``
    LZOP, anything else uncompressed. Avro, Parquet and ORC always give
    ``None``: those files carry their own compression and COPY takes no keyword.
    """
    if not isinstance(format, _TextFormat):
        return None
    if format.compression == "none":
        return None
    if format.compression != "auto":
        return Compression(format.compression.upper())
    lowered = key.lower()
    for suffix, compression in _EXTENSIONS:
        if lowered.endswith(suffix):
            return compression
    return None


# --- options ---------------------------------------------------------------


def _check_format_keyword(value: str | None, keyword: str, keywords: tuple[str, ...]) -> None:
    if value is None:
        return
    if not value:
        raise CopyOptionsError(f"{keyword} cannot be empty: omit it to use Redshift's default")
    if value.lower() in keywords and value not in keywords:
        raise CopyOptionsError(
            f"{keyword} {value!r}: the keywords {', '.join(repr(k) for k in keywords)} are "
            f"case-sensitive; write {value.lower()!r}"
        )
    if "\x00" in value:
        raise CopyOptionsError(f"{keyword} cannot contain a NUL character")


class CopyOptions(BaseModel):
    """COPY's data-conversion and load options, Redshift's names in snake_case.

    Defaults emit nothing, except the three the loader wants explicit:
    ``comp_update=False`` (``COMPUPDATE OFF``: automatic compression only helps
    an empty table), ``max_error=0`` (``MAXERROR AS 0``: any bad row fails the
    load) and ``stat_update=False`` (``STATUPDATE OFF``). Set ``comp_update`` or
    ``stat_update`` to ``None`` to leave the clause out and get Redshift's default.
    """

    model_config = _MODEL_CONFIG

    # data conversion
    accept_any_date: StrictBool = Field(False, description="COPY option: ACCEPTANYDATE")
    accept_inv_chars: str | None = Field(None, description="COPY option: ACCEPTINVCHARS AS 'c'")
    blanks_as_null: StrictBool = Field(False, description="COPY option: BLANKSASNULL")
    date_format: str | None = Field(
        None, description="COPY option: DATEFORMAT AS '…' (auto or a format)"
    )
    empty_as_null: StrictBool = Field(False, description="COPY option: EMPTYASNULL")
    encoding: Literal["UTF8", "UTF16", "UTF16LE", "UTF16BE"] | None = Field(
        None, description="COPY option: ENCODING AS UTF8 | UTF16 | UTF16LE | UTF16BE"
    )
    escape: StrictBool = Field(False, description="COPY option: ESCAPE (delimited text only)")
    explicit_ids: StrictBool = Field(False, description="COPY option: EXPLICIT_IDS")
    fill_record: StrictBool = Field(False, description="COPY option: FILLRECORD")
    ignore_blank_lines: StrictBool = Field(False, description="COPY option: IGNOREBLANKLINES")
    remove_quotes: StrictBool = Field(False, description="COPY option: REMOVEQUOTES")
    round_dec: StrictBool = Field(False, description="COPY option: ROUNDEC")
    time_format: str | None = Field(
        None,
        description="COPY option: TIMEFORMAT AS '…' (auto, epochsecs, epochmillisecs or a format)",
    )
    trim_blanks: StrictBool = Field(False, description="COPY option: TRIMBLANKS")
    truncate_columns: StrictBool = Field(False, description="COPY option: TRUNCATECOLUMNS")
    # load
    comp_rows: Annotated[StrictInt, Field(ge=1000, le=2147483647)] | None = Field(
        None, description="COPY option: COMPROWS n"
    )
    comp_update: StrictBool | Literal["preset"] | None = Field(
        False,
        description='COPY option: COMPUPDATE OFF | ON | PRESET ("preset"); JSON null leaves it out',
    )
    ignore_all_errors: StrictBool = Field(False, description="COPY option: IGNOREALLERRORS")
    max_error: Annotated[StrictInt, Field(ge=0, le=MAX_ERROR_LIMIT)] = Field(
        0, description="COPY option: MAXERROR AS n"
    )
    no_load: StrictBool = Field(False, description="COPY option: NOLOAD")
    stat_update: StrictBool | None = Field(
        False, description="COPY option: STATUPDATE OFF | ON; JSON null leaves it out"
    )
    # what the loader does with rejected rows (not a COPY keyword of its own)
    on_error: OnError = Field(
        "fail_file",
        description='"fail_file": a rejected row fails the object (MAXERROR AS max_error); '
        '"skip_rows": the good rows load and each rejected row is kept in the ledger '
        "schema's load_rejects table, in the load's own transaction (csv, delimited, "
        "fixedwidth, json).",
    )
    max_rejected_rows: Annotated[StrictInt, Field(ge=1, le=MAX_ERROR_LIMIT)] | None = Field(
        None,
        description='on_error = "skip_rows": the most rows one COPY may reject (MAXERROR AS n, '
        f"1 to {MAX_ERROR_LIMIT}); above it the object fails as with fail_file.",
    )

    @field_validator("accept_inv_chars")
    @classmethod
    def _replacement(cls, value: str | None) -> str | None:
        # Docs: "The replacement character can be any ASCII character except NULL."
        if value is None or (len(value) == 1 and value.isascii() and value != "\x00"):
            return value
        raise CopyOptionsError(
            f"ACCEPTINVCHARS (accept_inv_chars = {value!r}) takes one ASCII character "
            "other than NUL, for example '?'"
        )

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        # Docs: "The 'auto' keyword is case-sensitive."
        _check_format_keyword(value, "DATEFORMAT (date_format)", _DATE_KEYWORDS)
        return value

    @field_validator("time_format")
    @classmethod
    def _time_format(cls, value: str | None) -> str | None:
        # Docs: "The 'auto', 'epochsecs', and 'epochmillisecs' keywords are case-sensitive."
        _check_format_keyword(value, "TIMEFORMAT (time_format)", _TIME_KEYWORDS)
        for specifier in _TIME_ZONE_SPECIFIERS:
            if value is not None and specifier in value:
                raise CopyOptionsError(
                    f"TIMEFORMAT (time_format = {value!r}) contains the time-zone specifier "
                    f"{specifier!r}: COPY does not accept TZ, tz or OF in a TIMEFORMAT string; "
                    "remove it, or use time_format = 'auto', which reads TIMESTAMPTZ values "
                    "with their UTC offset"
                )
        return value

    @field_validator("comp_update", mode="before")
    @classmethod
    def _comp_update(cls, value: Any) -> Any:
        # One message instead of one per branch of the union (bool, 'preset').
        if value is None or isinstance(value, bool) or value == "preset":
            return value
        raise ValueError("COMPUPDATE (comp_update) must be true, false or 'preset'")

    @model_validator(mode="after")
    def _error_handling(self) -> Self:
        if self.max_error and self.ignore_all_errors:
            raise _conflict(
                f"MAXERROR (max_error = {self.max_error})",
                "IGNOREALLERRORS (ignore_all_errors = true)",
                "set max_error = 0 or ignore_all_errors = false",
            )
        _check_on_error(self)
        return self

    @property
    def skip_rows(self) -> bool:
        """Whether rejected rows are skipped and kept (``on_error = "skip_rows"``)."""
        return self.on_error == "skip_rows"

    @property
    def maxerror(self) -> int:
        """The n of ``MAXERROR AS n``: ``max_rejected_rows`` under skip_rows, else ``max_error``."""
        if self.skip_rows and self.max_rejected_rows is not None:
            return self.max_rejected_rows
        return self.max_error


def _check_on_error(options: CopyOptions) -> None:
    """``max_rejected_rows`` goes with skip_rows alone, and skip_rows owns MAXERROR.

    One number bounds the rows a COPY may reject: under skip_rows it is
    ``max_rejected_rows`` (each rejected row is recorded), so ``max_error``
    (rows skipped and lost) and IGNOREALLERRORS (every row skipped) are refused
    beside it.
    """
    if not options.skip_rows:
        if options.max_rejected_rows is not None:
            raise CopyOptionsError(
                f"max_rejected_rows = {options.max_rejected_rows} is only used with "
                'on_error = "skip_rows", but on_error is "fail_file"; set on_error = '
                '"skip_rows" or remove max_rejected_rows'
            )
        return
    if options.max_rejected_rows is None:
        raise CopyOptionsError(
            'on_error = "skip_rows" needs max_rejected_rows, the most rows one COPY may '
            f"reject before the object fails (1 to {MAX_ERROR_LIMIT}); set for example "
            "max_rejected_rows = 100"
        )
    if options.max_error:
        raise _conflict(
            f"MAXERROR (max_error = {options.max_error})",
            'on_error = "skip_rows"',
            "with skip_rows, max_rejected_rows sets MAXERROR and every rejected row is "
            "recorded; remove max_error",
        )
    if options.ignore_all_errors:
        raise _conflict(
            "IGNOREALLERRORS (ignore_all_errors = true)",
            'on_error = "skip_rows"',
            "IGNOREALLERRORS skips rows without bound; remove it and set max_rejected_rows",
        )


# Options Redshift accepts with Parquet and ORC (besides authorization and MANIFEST).
_COLUMNAR_ALLOWED = frozenset({"accept_inv_chars", "fill_record", "stat_update", "explicit_ids"})

# Options that JSON and AVRO refuse (NULL AS is a format key those formats lack).
# Docs list these for JSON; the AVRO restrictions are taken to be the same
# because COPY maps both the same way. [verify] for AVRO.
_NOT_WITH_JSON = ("escape", "fill_record", "ignore_blank_lines", "remove_quotes")

_OPTION_KEYWORDS: dict[str, str] = {
    "accept_any_date": "ACCEPTANYDATE",
    "accept_inv_chars": "ACCEPTINVCHARS",
    "blanks_as_null": "BLANKSASNULL",
    "date_format": "DATEFORMAT",
    "empty_as_null": "EMPTYASNULL",
    "encoding": "ENCODING",
    "escape": "ESCAPE",
    "explicit_ids": "EXPLICIT_IDS",
    "fill_record": "FILLRECORD",
    "ignore_blank_lines": "IGNOREBLANKLINES",
    "remove_quotes": "REMOVEQUOTES",
    "round_dec": "ROUNDEC",
    "time_format": "TIMEFORMAT",
    "trim_blanks": "TRIMBLANKS",
    "truncate_columns": "TRUNCATECOLUMNS",
    "comp_rows": "COMPROWS",
    "comp_update": "COMPUPDATE",
    "ignore_all_errors": "IGNOREALLERRORS",
    "max_error": "MAXERROR",
    "on_error": "MAXERROR",
    "no_load": "NOLOAD",
    "stat_update": "STATUPDATE",
}


def _option_is_set(options: CopyOptions, name: str) -> bool:
    """Whether ``name`` would put a clause into a columnar COPY.

    ``comp_update=False`` and ``max_error=0`` are defaults the builder simply
    leaves out for Parquet/ORC, so they do not count as set.
    """
    value = getattr(options, name)
    if name == "max_error":
        return bool(value)
    if name == "on_error":
        return bool(options.skip_rows)
    return value is not None and value is not False


def _describe(options: CopyOptions, name: str) -> str:
    value = getattr(options, name)
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    return f"{_OPTION_KEYWORDS[name]} ({name} = {shown})"


def _format_label(format: FileFormat) -> str:
    return f"{format.keyword} (type = {format.type!r})"


def _check_rejects_format(format: FileFormat, options: CopyOptions, label: str) -> None:
    """``on_error = "skip_rows"`` keeps rejected rows of text formats only: a row is a file line."""
    if options.skip_rows and not isinstance(format, _REJECTS_FORMATS):
        raise _conflict(
            'on_error = "skip_rows"',
            label,
            "rejected rows are kept for text formats only (csv, delimited, fixedwidth, "
            'json), whose error log names a file line; use on_error = "fail_file"',
        )


def check_compatible(
    format: FileFormat,
    options: CopyOptions,
    *,
    columns: Sequence[str] = (),
) -> None:
    """Raise if Redshift would refuse ``format`` together with ``options``.

    Called by mapping rules when the configuration is read and again by
    :class:`CopyCommand`, so a bad rule never reaches a load.

    Raises:
        CopyOptionsError: two options that COPY does not accept together, or a
            column named twice; the message names both and the fix.
        UnsafeIdentifierError: a column name that is not a valid Redshift name.
    """
    seen: dict[str, str] = {}
    for column in columns:
        folded = validate_identifier(column, what="column")
        if folded in seen:
            # A column named twice is refused by Redshift as by PostgreSQL. [verify]
            raise CopyOptionsError(
                f"column list names {folded!r} twice ({seen[folded]!r} and {column!r}): "
                "list every column once"
            )
        seen[folded] = column

    label = _format_label(format)
    _check_rejects_format(format, options, label)
    if _is_columnar(format):
        for name in _OPTION_KEYWORDS:
            if name not in _COLUMNAR_ALLOWED and _option_is_set(options, name):
                raise _conflict(
                    _describe(options, name),
                    label,
                    "Parquet and ORC accept only ACCEPTINVCHARS, FILLRECORD, STATUPDATE and "
                    f"EXPLICIT_IDS; remove {name}",
                )
        return

    refused: tuple[str, ...] = ()
    if isinstance(format, JsonFormat | AvroFormat):
        refused = _NOT_WITH_JSON
    elif isinstance(format, CsvFormat):
        refused = ("escape", "remove_quotes")  # docs: CSV not with REMOVEQUOTES or ESCAPE
    elif isinstance(format, FixedWidthFormat):
        refused = ("escape",)  # docs: "You cannot use the ESCAPE parameter for FIXEDWIDTH"
        if options.encoding in _UTF16_ENCODINGS:
            raise _conflict(
                _describe(options, "encoding"),
                label,
                "fixed-width files must be UTF-8, since the widths count UTF-8 characters; "
                "convert the files to UTF-8 and set encoding = 'UTF8' or leave it out",
            )
    for name in refused:
        if _option_is_set(options, name):
            raise _conflict(_describe(options, name), label, f"remove {name} or change the format")


# --- authorization ---------------------------------------------------------


class IamRole(BaseModel):
    """``IAM_ROLE default`` or ``IAM_ROLE 'arn[,arn...]'`` (role chaining).

    ``arns`` is ``"default"`` for the cluster's default role, or one or more
    role ARNs; the first must be attached to the cluster. A string is read as
    ``"default"`` or a comma-separated chain, so the configuration's
    ``iam_role = "arn:..."`` can be passed as is.
    """

    model_config = _MODEL_CONFIG

    arns: Literal["default"] | tuple[str, ...]

    @model_validator(mode="before")
    @classmethod
    def _mask_unknown(cls, data: Any) -> Any:
        return _mask_secrets(data, cls.model_fields)

    @field_validator("arns", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "default":
            return tuple(part.strip() for part in value.split(","))
        return value

    @field_validator("arns")
    @classmethod
    def _arns(cls, value: Literal["default"] | tuple[str, ...]) -> Any:
        if value == "default":
            return value
        if not value:
            raise ValueError("IAM_ROLE needs at least one role ARN, or 'default'")
        for arn in value:
            if _ROLE_ARN.fullmatch(arn) is None:
                raise ValueError(
                    f"IAM_ROLE {arn!r} is not an IAM role ARN: expected "
                    "arn:aws:iam::<12-digit account>:role/<name> (or 'default')"
                )
        return value

    @property
    def is_default(self) -> bool:
        """Whether this is the cluster's default role."""
        return self.arns == "default"

    @property
    def sql(self) -> str:
        """The authorization clause (no secrets in it)."""
        if self.arns == "default":
            return "IAM_ROLE default"
        return "IAM_ROLE " + quote_literal(",".join(self.arns))


class TemporaryKeys(BaseModel):
    """``ACCESS_KEY_ID '..' SECRET_ACCESS_KEY '..' [SESSION_TOKEN '..']``.

    Not recommended (keys must outlive the COPY; roles refresh themselves), but
    needed where no role can be attached. The secret key and token are
    :class:`~pydantic.SecretStr` and inputs are hidden from validation errors,
    so neither can leak through ``repr``, ``str`` or an error message. Built
    on first use (``defer_build``): the configuration only names roles.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, defer_build=True
    )

    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _mask_early(cls, data: Any) -> Any:
        return _mask_secrets(data, cls.model_fields)

    @field_validator("access_key_id")
    @classmethod
    def _key_id(cls, value: str) -> str:
        if _ACCESS_KEY_ID.fullmatch(value) is None:
            raise ValueError("ACCESS_KEY_ID must be 16 to 128 ASCII letters or digits")
        return value

    @field_validator("secret_access_key", "session_token")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            if not text or "\x00" in text:
                raise ValueError("must be non-empty and contain no NUL character")
        return value

    def clause(self, *, reveal: bool) -> str:
        """The authorization clause, with the secrets as ``'***'`` unless ``reveal``."""

        def secret(value: SecretStr) -> str:
            return quote_literal(value.get_secret_value()) if reveal else "'***'"

        parts = [
            "ACCESS_KEY_ID",
            quote_literal(self.access_key_id),
            "SECRET_ACCESS_KEY",
            secret(self.secret_access_key),
        ]
        if self.session_token is not None:
            parts += ["SESSION_TOKEN", secret(self.session_token)]
        return " ".join(parts)


def _authorization_kind(value: Any) -> str:
    if isinstance(value, IamRole | str) or (isinstance(value, Mapping) and "arns" in value):
        return "iam_role"
    return "temporary_keys"


Authorization = Annotated[
    Annotated[IamRole, Tag("iam_role")] | Annotated[TemporaryKeys, Tag("temporary_keys")],
    Discriminator(_authorization_kind),
]
"""How Redshift gets at S3: a role (preferred) or temporary keys.

A dict with ``arns`` is a role, anything else temporary keys. Picking one
model up front, instead of letting pydantic try both, matters for secrets:
a failed try as ``IamRole`` would report the keys' inputs as its own.
"""


class _Hidden:
    """Stands in for a secret of the wrong type: invalid like it, printed as ``'***'``."""

    def __repr__(self) -> str:
        return "'***'"


_HIDDEN = _Hidden()


def _mask_secrets(data: Any, fields: Mapping[str, Any]) -> Any:
    """Take raw secrets out of an authorization model's input before validation.

    ``hide_input_in_errors`` only acts when the model is validated on its own;
    nested in a configuration model, a ``ValidationError`` shows (and its
    ``errors()`` always carry) each input. Wrapping the secret fields in
    :class:`SecretStr` first, and masking unknown keys (a misspelt
    ``secret_key`` holds a secret too), keeps raw values out of every error.
    """
    if not isinstance(data, Mapping):
        return data
    masked: dict[Any, Any] = {}
    for key, value in data.items():
        if key in _SECRET_FIELDS and isinstance(value, str):
            masked[key] = SecretStr(value)
        elif key in _SECRET_FIELDS and value is not None and not isinstance(value, SecretStr):
            masked[key] = _HIDDEN  # the wrong type: still refused, never echoed
        elif key in fields:
            masked[key] = value
        else:
            masked[key] = "***"
    return masked


# --- the statement -----------------------------------------------------------


_DEFAULT_OPTIONS = CopyOptions()


@dataclass(frozen=True, kw_only=True, repr=False)
class CopyCommand:
    """One complete, valid COPY statement.

    ``compression`` is already resolved for the object(s) being loaded (see
    :func:`resolve_compression`); ``region`` must be ``None`` for Parquet/ORC,
    which COPY refuses a REGION for. With ``manifest=True``, ``source`` is the
    manifest object.

    Raises (at construction):
        CopyOptionsError: an invalid source, region or combination of options.
        UnsafeIdentifierError: a column that is not a valid Redshift name.
    """

    table: TableRef
    source: str
    format: FileFormat
    authorization: Authorization
    manifest: bool = False
    compression: Compression | None = None
    region: str | None = None
    columns: tuple[str, ...] = ()
    options: CopyOptions = field(default=_DEFAULT_OPTIONS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        try:
            self._validate()
        except (CopyOptionsError, UnsafeIdentifierError) as exc:
            # Re-raised with the object and table named, so a report can say which;
            # a source no log line could encode is named by its escaped form.
            printable = "\x00" not in self.source and _is_encodable(self.source)
            uri = self.source if printable else ascii(self.source)
            raise type(exc)(exc.message, s3_uri=uri, table=str(self.table)) from None

    def _validate(self) -> None:
        if "\x00" in self.source or not _is_encodable(self.source):
            raise CopyOptionsError(
                "FROM (source) contains a NUL character or invalid Unicode; such a key "
                "cannot be written as a SQL literal"
            )
        if _S3_URI.fullmatch(self.source) is None:
            raise CopyOptionsError(
                f"FROM (source = {self.source!r}) must be an S3 URI s3://bucket/key with a "
                "bucket name of at least 3 letters, digits, '.', '-' or '_'"
            )
        if self.region is not None and REGION_NAME.fullmatch(self.region) is None:
            raise CopyOptionsError(
                f"REGION (region = {self.region!r}) is not an AWS Region name such as 'eu-west-1'"
            )
        check_compatible(self.format, self.options, columns=self.columns)
        label = _format_label(self.format)
        if self.compression is not None:
            if not isinstance(self.format, _TextFormat):
                raise _conflict(
                    f"{self.compression.value} (compression)",
                    label,
                    "COPY takes no compression keyword for this format; pass compression=None",
                )
            setting = self.format.compression
            if setting not in ("auto", self.compression.value.lower()):
                raise _conflict(
                    f"{self.compression.value} (compression)",
                    f"{label} with compression = {setting!r}",
                    "resolve the compression with resolve_compression()",
                )
        elif self.format.compression not in ("auto", "none"):
            raise _conflict(
                "no compression (compression=None)",
                f"{label} with compression = {self.format.compression!r}",
                "resolve the compression with resolve_compression()",
            )
        if self.region is not None and _is_columnar(self.format):
            # Live docs: "COPY from columnar data formats doesn't support the REGION parameter".
            raise _conflict(
                f"REGION (region = {self.region!r})",
                label,
                "the bucket must be in the cluster's Region; pass region=None",
            )
        paths = getattr(self.format, "json_paths", "")
        if not self.manifest and paths.startswith("s3://") and paths.startswith(self.source):
            # Docs: a JSONPaths file under the FROM prefix is read as a data file.
            raise _conflict(
                f"{self.format.keyword} JSONPaths file {paths!r}",
                f"FROM {self.source!r}",
                "the FROM prefix would load the JSONPaths file as data; move it elsewhere "
                "or load through a manifest",
            )

    def to_sql(self) -> str:
        """The exact statement to run, secrets included. Never log this."""
        return self._render(reveal=True)

    def redacted(self) -> str:
        """The statement with the secret key and session token as ``'***'``."""
        return self._render(reveal=False)

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return (
            f"CopyCommand(table={self.table!r}, source={self.source!r}, "
            f"format={self.format!r}, authorization={self.authorization!r}, "
            f"manifest={self.manifest!r}, compression={self.compression!r}, "
            f"region={self.region!r}, columns={self.columns!r}, options={self.options!r})"
        )

    def _render(self, *, reveal: bool) -> str:
        parts = ["COPY", self.table.sql]
        if self.columns:
            quoted = (quote_identifier(c, what="column") for c in self.columns)
            parts.append("(" + ", ".join(quoted) + ")")
        parts += ["FROM", quote_literal(self.source)]
        if isinstance(self.authorization, TemporaryKeys):
            parts.append(self.authorization.clause(reveal=reveal))
        else:
            parts.append(self.authorization.sql)
        parts += _format_clause(self.format)
        if self.compression is not None:
            parts.append(self.compression.value)
        if self.region is not None:
            parts += ["REGION AS", quote_literal(self.region)]
        if self.manifest:
            parts.append("MANIFEST")
        parts += _conversion_clauses(self.format, self.options)
        parts += _load_clauses(self.format, self.options)
        return " ".join(parts)


def _format_clause(format: FileFormat) -> list[str]:
    if isinstance(format, CsvFormat):
        parts = ["FORMAT AS CSV"]
        if format.quote != '"':
            parts += ["QUOTE AS", quote_literal(format.quote)]
        if format.delimiter != ",":
            parts += ["DELIMITER AS", quote_literal(format.delimiter)]
        return parts
    if isinstance(format, DelimitedFormat):
        return ["DELIMITER AS", quote_literal(format.delimiter)]
    if isinstance(format, FixedWidthFormat):
        spec = ",".join(f"{label}:{width}" for label, width in format.widths)
        return ["FIXEDWIDTH", quote_literal(spec)]
    if isinstance(format, JsonFormat | AvroFormat):
        return [f"FORMAT AS {format.keyword}", quote_literal(format.json_paths)]
    if isinstance(format, ParquetFormat | OrcFormat) and format.serialize_to_json:
        return [f"FORMAT AS {format.keyword}", "SERIALIZETOJSON"]
    return [f"FORMAT AS {format.keyword}"]


def _conversion_clauses(format: FileFormat, options: CopyOptions) -> list[str]:
    ignore_header = getattr(format, "ignore_header", 0)
    null_as: str | None = getattr(format, "null_as", None)
    parts: list[str] = []
    if options.accept_any_date:
        parts.append("ACCEPTANYDATE")
    if options.accept_inv_chars is not None:
        parts += ["ACCEPTINVCHARS AS", quote_literal(options.accept_inv_chars)]
    if options.blanks_as_null:
        parts.append("BLANKSASNULL")
    if options.date_format is not None:
        parts += ["DATEFORMAT AS", quote_literal(options.date_format)]
    if options.empty_as_null:
        parts.append("EMPTYASNULL")
    if options.encoding is not None:
        parts += ["ENCODING AS", options.encoding]
    if options.escape:
        parts.append("ESCAPE")
    if options.explicit_ids:
        parts.append("EXPLICIT_IDS")
    if options.fill_record:
        parts.append("FILLRECORD")
    if options.ignore_blank_lines:
        parts.append("IGNOREBLANKLINES")
    if ignore_header:
        parts += ["IGNOREHEADER AS", str(ignore_header)]
    if null_as is not None:
        parts += ["NULL AS", quote_literal(null_as)]
    if options.remove_quotes:
        parts.append("REMOVEQUOTES")
    if options.round_dec:
        parts.append("ROUNDEC")
    if options.time_format is not None:
        parts += ["TIMEFORMAT AS", quote_literal(options.time_format)]
    if options.trim_blanks:
        parts.append("TRIMBLANKS")
    if options.truncate_columns:
        parts.append("TRUNCATECOLUMNS")
    return parts


def _load_clauses(format: FileFormat, options: CopyOptions) -> list[str]:
    columnar = _is_columnar(format)
    parts: list[str] = []
    if options.comp_rows is not None:
        parts += ["COMPROWS", str(options.comp_rows)]
    if options.comp_update is not None and not columnar:
        parts.append("COMPUPDATE " + _switch(options.comp_update))
    if options.ignore_all_errors:
        parts.append("IGNOREALLERRORS")
    elif not columnar:
        parts += ["MAXERROR AS", str(options.maxerror)]
    if options.no_load:
        parts.append("NOLOAD")
    if options.stat_update is not None:
        parts.append("STATUPDATE " + _switch(options.stat_update))
    return parts


def _switch(value: bool | Literal["preset"]) -> str:
    if value == "preset":
        return "PRESET"
    return "ON" if value else "OFF"


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
