"""Parquet: the top-level columns from the footer's schema, in one or two reads.

A Parquet file ends with ``<footer><4-byte little-endian footer length>PAR1``;
the footer is a Thrift FileMetaData whose field 2 lists SchemaElements in
depth-first order, the root first. Only the schema is decoded (it precedes the
row groups, which are never parsed). A nested group (struct, list, map) is one
SUPER column; its descendants are stepped over by counting children.
"""

from __future__ import annotations

from s3redshift.column_types import DECIMAL_MAX_PRECISION, ColumnType
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema.model import FileColumn, RangeFetch
from s3redshift.file_schema.ranges import Tail
from s3redshift.file_schema.thrift import LIST, STRUCT, CompactReader, Struct, ThriftError

__all__ = ["read_parquet_columns"]

# Physical types (SchemaElement field 1).
BOOLEAN, INT32, INT64, INT96, FLOAT, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY = range(8)
# LogicalType union members (SchemaElement field 10).
L_DECIMAL, L_DATE, L_TIME, L_TIMESTAMP, L_INTEGER, L_UNKNOWN, L_FLOAT16 = 5, 6, 7, 8, 10, 11, 15
# ConvertedType (SchemaElement field 6), the older annotation.
C_DECIMAL, C_DATE, C_TIME_MILLIS, C_TIME_MICROS = 5, 6, 7, 8
C_TIMESTAMP_MILLIS, C_TIMESTAMP_MICROS = 9, 10
_C_INTEGERS = {11: (8, False), 12: (16, False), 13: (32, False), 14: (64, False)}
_C_INTEGERS |= {15: (8, True), 16: (16, True), 17: (32, True), 18: (64, True)}
_REPEATED = 2

_PLAIN: dict[int, ColumnType] = {
    BOOLEAN: ColumnType("BOOLEAN"),
    INT32: ColumnType("INTEGER"),
    INT64: ColumnType("BIGINT"),
    INT96: ColumnType("TIMESTAMP"),
    FLOAT: ColumnType("REAL"),
    DOUBLE: ColumnType("DOUBLE PRECISION"),
    BYTE_ARRAY: ColumnType("VARCHAR"),
    FIXED_LEN_BYTE_ARRAY: ColumnType("VARCHAR"),
}
_SUPER = ColumnType("SUPER")
_REWRITE = "the file is damaged or is not Parquet: rewrite it"


def read_parquet_columns(size: int, fetch: RangeFetch) -> tuple[FileColumn, ...]:
    """The file's top-level columns and their Redshift types."""
    footer = _footer(size, fetch)
    try:
        elements = _schema_elements(footer)
    except ThriftError as error:
        raise SchemaMismatchError(
            f"the Parquet footer cannot be decoded ({error}); {_REWRITE}"
        ) from None
    return _columns(elements)


def _footer(size: int, fetch: RangeFetch) -> bytes:
    """The footer's bytes: the last 64 KiB hold it, or one more read gets the rest."""
    if size < 12:
        raise SchemaMismatchError(f"the object is {size} bytes, too short for Parquet; {_REWRITE}")
    tail = Tail(size, fetch, "the Parquet footer")
    end = tail.slice(size - 8, size)
    if end[4:] == b"PARE":
        raise SchemaMismatchError(
            "the Parquet footer is encrypted (magic PARE), so its schema cannot be read; write "
            'the files with a plaintext footer, or use match = "position" without create or evolve'
        )
    if end[4:] != b"PAR1":
        raise SchemaMismatchError(f"the object does not end with Parquet's magic PAR1; {_REWRITE}")
    length = int.from_bytes(end[:4], "little")
    if length > size - 12:
        raise SchemaMismatchError(
            f"the Parquet footer claims {length} bytes in an object of {size}: the file is "
            "truncated; rewrite it"
        )
    return tail.slice(size - 8 - length, size - 8)


def _schema_elements(footer: bytes) -> list[Struct]:
    """FileMetaData field 2, each SchemaElement as ``{field id: value}``; the rest unread."""
    reader = CompactReader(footer)
    for field_id, kind in reader.fields():
        if field_id == 2 and kind == LIST:
            size, element = reader.list_header()
            if element != STRUCT:
                raise ThriftError("the schema is not a list of structs")
            return [reader.struct() for _ in range(size)]
        reader.skip(kind)
    raise ThriftError("FileMetaData has no schema (field 2)")


def _columns(elements: list[Struct]) -> tuple[FileColumn, ...]:
    """The root's children: each a column, a group's descendants skipped."""
    if not elements:
        raise SchemaMismatchError(f"the Parquet schema has no root element; {_REWRITE}")
    columns = []
    index = 1
    for _ in range(_children(elements[0])):
        if index >= len(elements):
            break
        columns.append(FileColumn(_name(elements[index]), _column_type(elements[index])))
        index = _after_subtree(elements, index)
    if len(columns) != _children(elements[0]):
        raise SchemaMismatchError(
            f"the Parquet schema lists fewer elements than its root's children; {_REWRITE}"
        )
    return tuple(columns)


def _after_subtree(elements: list[Struct], index: int) -> int:
    """The index just past the element at ``index`` and all its descendants."""
    remaining = 1
    while remaining and index < len(elements):
        remaining += _children(elements[index]) - 1
        index += 1
    return index if not remaining else len(elements) + 1


def _children(element: Struct) -> int:
    return max(0, _int(element, 5) or 0)


def _int(struct: Struct, field_id: int) -> int | None:
    value = struct.get(field_id)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _name(element: Struct) -> str:
    raw = element.get(4)
    try:
        if isinstance(raw, bytes):
            return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    raise SchemaMismatchError(f"a Parquet column's name is missing or not UTF-8; {_REWRITE}")


def _column_type(element: Struct) -> ColumnType:
    """The Redshift type of one top-level element (a group or a repeated one: SUPER)."""
    physical = _int(element, 1)
    if _children(element) or physical is None or _int(element, 3) == _REPEATED:
        return _SUPER
    if physical not in _PLAIN:
        raise SchemaMismatchError(
            f"Parquet column {_name(element)!r} has unknown physical type {physical}; {_REWRITE}"
        )
    logical, params = _logical(element)
    converted = _int(element, 6)
    if logical == L_UNKNOWN:  # always null (pyarrow's null type): no value, no type
        return ColumnType("UNKNOWN")
    if logical == L_DECIMAL or converted == C_DECIMAL:
        return _decimal(element, params)
    if physical == INT32:
        return _int32(logical, params, converted)
    if physical == INT64:
        return _int64(logical, params, converted)
    if logical == L_FLOAT16 and physical == FIXED_LEN_BYTE_ARRAY:
        return ColumnType("REAL")
    return _PLAIN[physical]


def _logical(element: Struct) -> tuple[int | None, Struct]:
    """The LogicalType union's member and its fields, or ``(None, {})``."""
    union = element.get(10)
    if not isinstance(union, dict) or not union:
        return None, {}
    member, params = next(iter(union.items()))
    return member, params if isinstance(params, dict) else {}


def _int32(logical: int | None, params: Struct, converted: int | None) -> ColumnType:
    if logical == L_DATE or converted == C_DATE:
        return ColumnType("DATE")
    if logical == L_TIME or converted == C_TIME_MILLIS:
        return ColumnType("TIME")
    width, signed = _integer(logical, params, converted, 32)
    if width <= 8 or (width <= 16 and signed):
        return ColumnType("SMALLINT")
    return ColumnType("INTEGER" if width <= 16 or signed else "BIGINT")


def _int64(logical: int | None, params: Struct, converted: int | None) -> ColumnType:
    if logical == L_TIMESTAMP:
        return ColumnType("TIMESTAMPTZ" if params.get(1) is True else "TIMESTAMP")
    if converted in (C_TIMESTAMP_MILLIS, C_TIMESTAMP_MICROS):
        return ColumnType("TIMESTAMP")
    if logical == L_TIME or converted == C_TIME_MICROS:
        return ColumnType("TIME")
    _width, signed = _integer(logical, params, converted, 64)
    return ColumnType("BIGINT") if signed else ColumnType("DECIMAL", precision=20, scale=0)


def _integer(
    logical: int | None, params: Struct, converted: int | None, physical_width: int
) -> tuple[int, bool]:
    """``(bit width, signed)`` from the INTEGER annotation; the physical type's when none."""
    if logical == L_INTEGER:
        return _int(params, 1) or physical_width, params.get(2) is not False
    return _C_INTEGERS.get(converted or -1, (physical_width, True))


def _decimal(element: Struct, params: Struct) -> ColumnType:
    precision = _int(params, 2) if params else _int(element, 8)
    scale = (_int(params, 1) if params else _int(element, 7)) or 0
    name = _name(element)
    if precision is None or precision < 1 or not 0 <= scale <= precision:
        raise SchemaMismatchError(
            f"Parquet column {name!r} is a DECIMAL with precision {precision} and scale "
            f"{scale}, which is not a valid decimal; {_REWRITE}"
        )
    if precision > DECIMAL_MAX_PRECISION:
        raise SchemaMismatchError(
            f"Parquet column {name!r} is DECIMAL({precision},{scale}), wider than Redshift's "
            f"{DECIMAL_MAX_PRECISION} digits; write it with a precision of at most "
            f"{DECIMAL_MAX_PRECISION}, or as a string or double"
        )
    return ColumnType("DECIMAL", precision=precision, scale=scale)
