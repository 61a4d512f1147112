"""Parquet, ORC and Avro files read for the stand-in's COPY: their rows as Python values.

:mod:`~s3redshift.local.copy_emulation` hands the bytes of each object of a
``FORMAT AS PARQUET | ORC | AVRO`` COPY to this module and turns the rows it
gets back into the same records as its text parsers' (the same conversion of
values into column text, the same streaming into PostgreSQL). This module
holds what is particular to the three formats (Redshift Developer Guide,
COPY from columnar data formats and FORMAT AS AVRO; see
``shared/reference/redshift.md`` section 1):

* Reading: pyarrow for Parquet and ORC (every internal codec pyarrow reads:
  snappy, zlib, gzip, zstd...), fastavro for Avro. Both are imported inside
  the functions, so that importing the stand-in costs neither.
* Parquet and ORC columns pair with the COPY's columns **by position**, and
  the counts must be equal; a nested column (struct, list, map) pairs only
  with a SUPER column. A file that breaks either rule is rejected as a whole,
  before any of its rows is loaded, naming the first column that does not fit.
* Avro: the file's codec must be one COPY reads (null, deflate or snappy) and
  its rows records; the caller maps their fields to columns by name.
* Values: :func:`as_json` gives each value the shape a parsed JSON value has
  (dicts with string keys, lists, strings, numbers, booleans, ``None``), so
  that the caller's JSON rules apply unchanged: dates, times and timestamps
  become ISO text (a time-zone aware timestamp converted to UTC, with
  ``+00``), UUIDs their text; a binary value, or a type with no text COPY
  could load (a duration), raises :class:`UnloadableValue`.

Errors are this module's own and do not name the file (the caller does):
:class:`FileRejected` for a file that cannot load at all or breaks off while
it is read, and :class:`CodecMissing` for an Avro codec no installed library
decodes.
"""

from __future__ import annotations

import importlib.util
import io
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import ModuleType
from typing import Any

from s3redshift.local.sessions import _import_extra

__all__ = [
    "AVRO_CODECS",
    "FILE_FORMAT",
    "SCHEMA",
    "VALUE_TYPE",
    "CodecMissing",
    "FileRejected",
    "UnloadableValue",
    "as_json",
    "avro_records",
    "table_rows",
]

AVRO_CODECS = ("null", "deflate", "snappy")
"""Avro's internal codecs that COPY reads (docs, FORMAT AS AVRO)."""

# The stand-in's own load error codes: Redshift reports these as Spectrum scan
# errors or Avro parse errors whose codes the docs do not list.
SCHEMA = "schema"
"""The file's columns do not fit the COPY's columns."""
FILE_FORMAT = "format"
"""Not a readable file of the format, or one compressed with a codec COPY does not read."""
VALUE_TYPE = "type"
"""A value the stand-in cannot write as text: binary data, durations."""


class FileRejected(Exception):  # noqa: N818 - it is a rejection, named as the others
    """A file COPY cannot load; ``row`` is where reading broke off, else ``None``."""

    def __init__(
        self, reason: str, code: str, *, row: int | None = None, column: str | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.row = row
        self.column = column


class CodecMissing(Exception):  # noqa: N818 - a condition, not a failure of the file
    """The file is compressed with a codec no installed library decodes."""

    def __init__(self, codec: str, why: str) -> None:
        super().__init__(why)
        self.codec = codec
        self.why = why


class UnloadableValue(Exception):  # noqa: N818 - a rejection, as FileRejected
    """A value with no text COPY could load into a character or SUPER column."""


# --- Parquet and ORC ---------------------------------------------------------------


def table_rows(
    data: bytes,
    keyword: str,
    names: Sequence[str],
    super_columns: Sequence[bool],
    serialize_to_json: bool = False,
) -> Iterator[list[Any]]:
    """The rows of a Parquet (``keyword`` ``"PARQUET"``) or ORC file, values by position.

    ``names`` are the columns COPY fills, in order, and ``super_columns``
    says which of them are SUPER (nested columns load into them only with
    ``serialize_to_json``, SERIALIZETOJSON). The file is read and checked here, before
    the first row is asked for; the rows come a record batch at a time, as
    lists of the file's values (not yet :func:`as_json`).

    Raises:
        FileRejected: not a valid file of the format, a column count other
            than ``len(names)``, or a nested column paired with a column that
            is not SUPER.
    """
    table = _read_table(data, keyword)
    _check_positions(table, keyword, names, super_columns, serialize_to_json)
    return _batches(table)


def _pyarrow(module: str = "pyarrow") -> ModuleType:
    return _import_extra(module, "pyarrow")


def _read_table(data: bytes, keyword: str) -> Any:
    """The file's ``pyarrow.Table``, its timestamps and times cut to microseconds."""
    pa = _pyarrow()
    reader = _pyarrow("pyarrow.parquet" if keyword == "PARQUET" else "pyarrow.orc")
    try:
        table = reader.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileRejected(
            f"not a valid {keyword} file ({exc}); check that the object is a whole "
            f"{keyword} file and that the COPY names its format",
            FILE_FORMAT,
        ) from None
    # Redshift keeps microseconds; nanoseconds (Parquet INT96, ORC) are cut off. [verify]
    schema = pa.schema([field.with_type(_microseconds(field.type)) for field in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema, safe=False)


def _microseconds(kind: Any) -> Any:
    """The ``pyarrow.DataType`` ``kind``, nanosecond timestamps and times (nested too) in µs."""
    pa = _pyarrow()
    types = pa.types
    if types.is_timestamp(kind) and kind.unit == "ns":
        return pa.timestamp("us", kind.tz)
    if types.is_time64(kind) and kind.unit == "ns":
        return pa.time64("us")
    if types.is_struct(kind):
        return pa.struct([field.with_type(_microseconds(field.type)) for field in kind])
    if types.is_map(kind):
        key, item = kind.key_field, kind.item_field
        return pa.map_(
            key.with_type(_microseconds(key.type)), item.with_type(_microseconds(item.type))
        )
    if types.is_list(kind):
        return pa.list_(kind.value_field.with_type(_microseconds(kind.value_type)))
    if types.is_large_list(kind):
        return pa.large_list(kind.value_field.with_type(_microseconds(kind.value_type)))
    return kind


def _check_positions(
    table: Any,
    keyword: str,
    names: Sequence[str],
    super_columns: Sequence[bool],
    serialize_to_json: bool,
) -> None:
    """Refuse the file unless its columns pair up with the COPY's by position."""
    fields = list(table.schema)
    if len(fields) != len(names):
        column = None
        if len(fields) > len(names):
            extra = fields[len(names)]
            unmatched = f"file column {len(names) + 1} ({extra.name!r}) has no table column"
        else:
            column = names[len(fields)]
            unmatched = f"table column {len(fields) + 1} ({column!r}) has no file column"
        raise FileRejected(
            f"the {keyword} file has {len(fields)} columns and the COPY fills {len(names)} "
            f"({', '.join(names)}): {unmatched}. {keyword} columns load by position, so the "
            "counts must be equal: write the file with exactly the target columns, in their "
            f"order, or give the COPY a column list of the {len(fields)} table columns the "
            "file's columns load into, in the file's order",
            SCHEMA,
            column=column,
        )
    is_nested = _pyarrow().types.is_nested
    pairs = zip(fields, names, super_columns, strict=True)
    for position, (field, name, is_super) in enumerate(pairs, start=1):
        if is_nested(field.type) and not is_super:
            raise FileRejected(
                f"file column {position} ({field.name!r}) is nested ({field.type}), and "
                f"Redshift loads nested {keyword} columns only into SUPER (its error: "
                f"incompatible {keyword} schema for column); make column {name!r} SUPER, or "
                "write the value as a string",
                SCHEMA,
                column=name,
            )
        if is_nested(field.type) and not serialize_to_json:
            raise FileRejected(
                f"file column {position} ({field.name!r}) is nested ({field.type}): Redshift "
                f"loads nested {keyword} columns into SUPER only with SERIALIZETOJSON; set "
                "format.serialize_to_json = true",
                SCHEMA,
                column=name,
            )


def _batches(table: Any) -> Iterator[list[Any]]:
    for batch in table.to_batches():
        values = [array.to_pylist(maps_as_pydicts="strict") for array in batch.columns]
        for row in zip(*values, strict=True):
            yield list(row)


# --- Avro --------------------------------------------------------------------------


def avro_records(data: bytes) -> Iterator[dict[str, Any]]:
    """The records of an Avro object container file, as fastavro reads them.

    The header is read and checked here, before the first record is asked
    for. A block that cannot be read raises :class:`FileRejected` from the
    iterator, with ``row`` the number of the record it was to give.

    Raises:
        FileRejected: not an Avro file, a codec COPY does not read, or rows
            that are not records.
        CodecMissing: a snappy file while neither cramjam nor python-snappy is
            installed for fastavro.
    """
    fastavro = _import_extra("fastavro", "fastavro")
    try:
        reader = fastavro.reader(io.BytesIO(data))
    except (ValueError, EOFError, OSError, TypeError) as exc:
        raise FileRejected(
            f"not a valid Avro file ({exc}); check that the object is a whole Avro object "
            "container file and that the COPY names its format",
            FILE_FORMAT,
        ) from None
    codec = reader.metadata.get("avro.codec", "null")
    if codec not in AVRO_CODECS:
        raise FileRejected(
            f"the Avro file is compressed with the codec {codec!r}, which COPY does not read "
            f"(it reads {', '.join(AVRO_CODECS)}); write the file with one of those",
            FILE_FORMAT,
        )
    if codec == "snappy" and not _snappy_installed():
        raise CodecMissing(
            codec, "fastavro reads snappy only with cramjam or python-snappy, neither installed"
        )
    schema = reader.writer_schema
    kind = schema.get("type") if isinstance(schema, dict) else schema
    if kind != "record":
        raise FileRejected(
            f"the Avro file's rows are of type {kind!r}, and COPY 'auto' loads records "
            "only; write the rows as an Avro record",
            FILE_FORMAT,
        )
    return _guarded(reader)


def _guarded(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``records``, a block fastavro cannot read rejected at the record it held."""
    number = 0
    try:
        for record in records:
            number += 1
            yield record
    except (ValueError, EOFError, OSError, TypeError, IndexError, zlib.error) as exc:
        raise FileRejected(
            f"the Avro file cannot be read after record {number} "
            f"({type(exc).__name__}: {exc}); the file is damaged or cut short",
            FILE_FORMAT,
            row=number + 1,
        ) from None


def _snappy_installed() -> bool:
    # fastavro's snappy codec imports cramjam, else python-snappy ("snappy").
    return any(importlib.util.find_spec(name) is not None for name in ("cramjam", "snappy"))


# --- values ------------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A value pyarrow or fastavro read, in the shapes of a parsed JSON value.

    Numbers (int, float, Decimal), strings, booleans and ``None`` are kept;
    dates, times and timestamps become ISO text, time-zone aware timestamps
    in UTC with ``+00``; UUIDs their text; maps and structs dicts with string
    keys, lists and tuples lists.

    Raises:
        UnloadableValue: binary data, or a type with no such shape.
    """
    if value is None or isinstance(value, bool | str | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat(sep=" ")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") + "+00"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, bytes | bytearray):
        raise UnloadableValue(
            "binary data cannot be loaded into a character or SUPER column (Redshift loads "
            "it into VARBYTE, which the stand-in lacks [verify]); write the value as a "
            "string, or test this load against Redshift"
        )
    raise UnloadableValue(
        f"the stand-in cannot write a {type(value).__name__} value as text for COPY; write "
        "the value as a string or a number, or test this load against Redshift"
    )
