"""CSV, delimited text and JSON lines: columns named by a header or by the objects.

Text formats declare no types, so a sample decides: the first 64 KiB of the
object (a second read of up to 1 MiB only when that holds no whole header
line), decompressed when the object is, cut to whole lines. The header names
the columns of CSV and delimited text; JSON lines name theirs in every
object. Each column's type is read off the sampled values, so every type is
``observed``: a lower bound for the next file, not a declaration.
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from s3redshift.column_types import DECIMAL_MAX_PRECISION, NOTHING_SEEN, ColumnType, Kind, merge
from s3redshift.copy import Compression, CsvFormat, DelimitedFormat, JsonFormat
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema.model import FileColumn, RangeFetch
from s3redshift.file_schema.ranges import CHUNK, fetch_exact

__all__ = ["infer_text_type", "read_text_columns"]

_MORE = 1024 * 1024
"""The second read, when the first holds no whole header line (a bzip2 block is ~900 KB)."""
_TEXT_LIMIT = 4 * 1024 * 1024
"""The most text a compressed sample inflates to."""
# A leading zero ("007", a code or a postcode) is text: a number column would drop it.
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)\.([0-9]+)")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_BOOLEANS = {"true", "false", "t", "f"}
_INTEGER_BITS: tuple[tuple[Kind, int], ...] = (("SMALLINT", 16), ("INTEGER", 32), ("BIGINT", 64))
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class _Sample:
    """The sample's whole lines; ``complete``: they are the whole object."""

    text: str
    complete: bool


def read_text_columns(
    format: CsvFormat | DelimitedFormat | JsonFormat,
    compression: Compression | None,
    size: int,
    fetch: RangeFetch,
    *,
    iso_times: bool = False,
) -> tuple[FileColumn, ...]:
    """The header's (or the objects') columns, typed from the sampled values.

    ``iso_times``: COPY reads ISO 8601 times (``T``, ``Z``, an offset), as
    with ``TIMEFORMAT 'auto'``; otherwise only its default form is a time.
    """
    sample = _sample(compression, size, fetch, format.ignore_header + 1)
    if isinstance(format, JsonFormat):
        return _json_columns(sample, format.ignore_header, iso_times)
    return _header_columns(sample, format, iso_times)


# --- the sample ------------------------------------------------------------------


def _sample(compression: Compression | None, size: int, fetch: RangeFetch, lines: int) -> _Sample:
    """Whole lines from the object's start: 64 KiB, or 1 MiB more when no line ends in it."""
    end = min(size, CHUNK)
    raw = fetch_exact(fetch, 0, end, "the text sample")
    data, complete = _inflate(raw, compression, end == size)
    if data.count(b"\n") < lines and not complete and end < size:
        more = min(size, end + _MORE)
        raw += fetch_exact(fetch, end, more, "the text sample")
        data, complete = _inflate(raw, compression, more == size)
    if not complete:
        data = data[: data.rfind(b"\n") + 1]
    try:
        return _Sample(data.decode("utf-8-sig"), complete)
    except UnicodeDecodeError as error:
        raise SchemaMismatchError(
            f"the file's first lines are not UTF-8 text ({error.reason} at byte {error.start}); "
            "write the files in UTF-8"
        ) from None


def _inflate(raw: bytes, compression: Compression | None, whole: bool) -> tuple[bytes, bool]:
    """The text a prefix of the object holds, and whether it is all of the object's text."""
    if compression is None:
        return raw, whole
    if compression in (Compression.GZIP, Compression.BZIP2):
        data, ended = _decompress(raw, compression)
        return data, whole and ended
    why = (
        "the standard library has no zstd decompressor before Python 3.14"
        if compression == Compression.ZSTD
        else "the standard library has no LZO decompressor"
    )
    raise SchemaMismatchError(
        f"the file is {compression.value}-compressed and {why}, so its header cannot be read; "
        'write the files with gzip or bzip2 compression, or use match = "position" without '
        "create or evolve"
    )


def _decompress(raw: bytes, compression: Compression) -> tuple[bytes, bool]:
    """gzip or bzip2 streams (one after another), at most :data:`_TEXT_LIMIT` bytes out."""
    out = bytearray()
    while raw and len(out) < _TEXT_LIMIT:
        if compression == Compression.GZIP:
            stream: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            stream = bz2.BZ2Decompressor()
        try:
            out += stream.decompress(raw, _TEXT_LIMIT - len(out))
        except (zlib.error, OSError, EOFError) as error:
            raise SchemaMismatchError(
                f"the file is not {compression.value.lower()} data ({error}); check the object's "
                "compression (the key's extension or the rule's compression)"
            ) from None
        if not stream.eof:
            return bytes(out), False
        raw = stream.unused_data
    return bytes(out), not raw


# --- CSV and delimited text ---------------------------------------------------------


def _header_columns(
    sample: _Sample, format: CsvFormat | DelimitedFormat, iso_times: bool
) -> tuple[FileColumn, ...]:
    """The header's names, typed by the rows after it.

    The header is the last line IGNOREHEADER skips (the first line when it
    skips none): COPY must skip it, and any lines above it are not columns.
    """
    records = _records(sample, format)
    header = max(format.ignore_header, 1) - 1
    if len(records) <= header:
        raise SchemaMismatchError(
            f"the file has no header line (line {header + 1}) in its first "
            f"{len(sample.text)} characters read; write a header, or use "
            'match = "position" without create or evolve'
        )
    names, rows = records[header], records[header + 1 :]
    if not sample.complete and rows:
        rows.pop()  # a quoted value may run past the sample's end
    nulls = {"", "\\N" if format.null_as is None else format.null_as}
    columns = []
    for index, name in enumerate(names):
        if not name.strip():
            raise SchemaMismatchError(
                f"column {index + 1} of the header has an empty name; name every column in "
                'the header, or use match = "position" without create or evolve'
            )
        values = [row[index] for row in rows if index < len(row) and row[index] not in nulls]
        columns.append(FileColumn(name, infer_text_type(values, iso_times=iso_times)))
    return tuple(columns)


def _records(sample: _Sample, format: CsvFormat | DelimitedFormat) -> list[list[str]]:
    """The sample's records, blank lines left out."""
    delimiter = _character(format.delimiter)
    if isinstance(format, DelimitedFormat):
        lines = sample.text.split("\n")
        return [line.rstrip("\r").split(delimiter) for line in lines if line.strip("\r")]
    quote = format.quote
    reader = csv.reader(io.StringIO(sample.text, newline=""), delimiter=delimiter, quotechar=quote)
    try:
        return [record for record in reader if record]
    except csv.Error as error:
        raise SchemaMismatchError(
            f"the CSV sample cannot be parsed ({error}); check the rule's delimiter and quote"
        ) from None


def _character(value: str) -> str:
    """A delimiter as COPY takes it: one character, or ``\\ddd`` in octal."""
    octal = _OCTAL.fullmatch(value)
    return chr(int(octal.group(1), 8)) if octal else value


# --- types from text ------------------------------------------------------------------


def infer_text_type(values: Iterable[str], *, iso_times: bool = False) -> ColumnType:
    """The type holding every sampled text value (empty ones say nothing), ``observed``.

    Integers get the smallest integer kind holding their range, decimals
    DECIMAL(38, the largest scale seen), true/false/t/f BOOLEAN, ISO dates
    DATE, timestamps TIMESTAMP (TIMESTAMPTZ with an offset); a mix, or
    anything else, VARCHAR as long as the longest value in UTF-8 bytes; no
    value at all, :data:`~s3redshift.column_types.NOTHING_SEEN`. A
    timestamp is COPY's default ``YYYY-MM-DD HH:MI:SS[.ffffff]``, and with
    ``iso_times`` (``TIMEFORMAT 'auto'``) also ISO 8601's ``T``, ``Z`` and offsets.
    """
    present = [value for value in values if value]
    if not present:
        return NOTHING_SEEN
    kinds = {_kind(value, iso_times) for value in present}
    typed = _typed(kinds, present)
    longest = max((len(value.encode("utf-8")) for value in present), default=0)
    return typed or ColumnType("VARCHAR", length=longest, observed=True)


def _kind(value: str, iso_times: bool) -> str:
    """What one value is: int, decimal, bool, date, timestamp, timestamptz or text."""
    if _INTEGER.fullmatch(value):
        return "int"
    if _DECIMAL.fullmatch(value):
        return "decimal"
    if value.lower() in _BOOLEANS:
        return "bool"
    if (match := _DATE.fullmatch(value)) and _is_date(match.groups()):
        return "date"
    if (match := _TIMESTAMP.fullmatch(value)) and _is_timestamp(match.groups()[:6]):
        if iso_times:
            return "timestamptz" if match.group(7) else "timestamp"
        if " " in value and not match.group(7):
            return "timestamp"
    return "text"


def _is_date(parts: tuple[str | Any, ...]) -> bool:
    try:
        date(*(int(part) for part in parts))
    except ValueError:
        return False
    return True


def _is_timestamp(parts: tuple[str | Any, ...]) -> bool:
    year, month, day, hour, minute, second = (int(part) for part in parts)
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _typed(kinds: set[str], values: list[str]) -> ColumnType | None:
    """The one type of a set of value kinds, or None for a mix (then VARCHAR)."""
    if kinds == {"int"}:
        numbers = [int(value) for value in values]
        return _integer_type(min(numbers), max(numbers))
    if kinds <= {"int", "decimal"}:
        return _decimal_type(values)
    if kinds <= {"date", "timestamp"}:
        return ColumnType("DATE" if kinds == {"date"} else "TIMESTAMP", observed=True)
    if kinds == {"bool"}:
        return ColumnType("BOOLEAN", observed=True)
    if kinds == {"timestamptz"}:
        return ColumnType("TIMESTAMPTZ", observed=True)
    return None


def _integer_type(low: int, high: int) -> ColumnType | None:
    """The smallest integer kind holding ``[low, high]``; DECIMAL(38,0) past BIGINT."""
    for kind, bits in _INTEGER_BITS:
        if -(1 << (bits - 1)) <= low and high < 1 << (bits - 1):
            return ColumnType(kind, observed=True)
    digits = max(len(str(abs(low))), len(str(abs(high))))
    if digits <= DECIMAL_MAX_PRECISION:
        return ColumnType("DECIMAL", precision=digits, scale=0, observed=True)
    return None


def _decimal_type(values: list[str]) -> ColumnType | None:
    """DECIMAL(the most digits before the point seen + the largest scale seen, that scale).

    None when 38 digits cannot hold them. The sizes are what the sample held:
    a created column gets room for more (:attr:`ColumnType.sql`).
    """
    digits = scale = 0
    for value in values:
        whole, _point, fraction = value.lstrip("-").partition(".")
        digits, scale = max(digits, len(whole.lstrip("0"))), max(scale, len(fraction))
    if digits + scale > DECIMAL_MAX_PRECISION:
        return None
    return ColumnType("DECIMAL", precision=max(digits + scale, 1), scale=scale, observed=True)


# --- JSON lines -------------------------------------------------------------------------


class _Number(str):
    """A JSON number with a fraction or an exponent, kept as written."""

    __slots__ = ()


@dataclass
class _Values:
    """What one key held across the sampled objects."""

    iso_times: bool
    strings: list[str] = field(default_factory=list)
    integers: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    fixed: set[Kind] = field(default_factory=set)
    longest: int = 0

    def add(self, value: object) -> None:
        if value is None:
            return
        self.longest = max(self.longest, _text_length(value))
        if isinstance(value, bool):
            self.fixed.add("BOOLEAN")
        elif isinstance(value, int):
            self.integers.append(value)
        elif isinstance(value, _Number):
            self.numbers.append(value)
        elif isinstance(value, str):
            self.strings.append(value)
        else:
            self.fixed.add("SUPER")

    def type(self) -> ColumnType:
        """The merged type of every part, VARCHAR of the longest value for a mix."""
        parts = [ColumnType(kind, observed=True) for kind in sorted(self.fixed)]
        if self.strings:
            parts.append(infer_text_type(self.strings, iso_times=self.iso_times))
        if self.integers:
            huge = ColumnType("VARCHAR", length=self.longest, observed=True)  # past DECIMAL(38)
            parts.append(_integer_type(min(self.integers), max(self.integers)) or huge)
        if self.numbers:
            plain = all(_DECIMAL.fullmatch(number) for number in self.numbers)
            parts.append((_decimal_type(self.numbers) if plain else None) or _DOUBLE)
        if not parts:
            return NOTHING_SEEN
        merged: ColumnType | None = parts[0]
        for part in parts[1:]:
            merged = merge(merged, part) if merged else None
        if merged is None or (len(parts) > 1 and merged.kind == "VARCHAR"):
            return ColumnType("VARCHAR", length=self.longest, observed=True)
        return merged


_DOUBLE = ColumnType("DOUBLE PRECISION", observed=True)


def _text_length(value: object) -> int:
    """A scalar's length as text in UTF-8 bytes (a string's without quotes).

    An object or an array makes the key SUPER, which holds any other value,
    so its length is never the one a VARCHAR needs.
    """
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(json.dumps(value)) if isinstance(value, int) else 0


def _json_columns(sample: _Sample, ignore_header: int, iso_times: bool) -> tuple[FileColumn, ...]:
    """Every key of the sampled objects, in order of first appearance."""
    keys: dict[str, _Values] = {}
    lines = sample.text.split("\n")[ignore_header:]
    objects = 0
    for number, line in enumerate(lines, start=ignore_header + 1):
        if not line.strip():
            continue
        for key, value in _object(line, number).items():
            keys.setdefault(key, _Values(iso_times)).add(value)
        objects += 1
    if not objects:
        raise SchemaMismatchError(
            f"the file has no JSON object in its first {len(sample.text)} characters read; "
            'write one object per line, or use match = "position" without create or evolve'
        )
    return tuple(FileColumn(key, values.type()) for key, values in keys.items())


def _object(line: str, number: int) -> dict[str, Any]:
    """One line's object; anything else is refused with its line number."""
    try:
        value = json.loads(line, parse_float=_Number, parse_constant=_Number)
    except (ValueError, RecursionError) as error:
        raise SchemaMismatchError(
            f"line {number} is not valid JSON ({error}); write one JSON object per line"
        ) from None
    if not isinstance(value, dict):
        raise SchemaMismatchError(
            f"line {number} is a JSON {type(value).__name__}, not an object; write one JSON "
            "object per line"
        )
    return value
