"""Avro: the record's fields from the object container's header, in one or two reads.

An Avro object container starts with ``Obj\\x01`` and a metadata map (Avro
long-counted blocks of string keys and bytes values; a negative count is
followed by the block's byte size) holding ``avro.schema``, the writer's JSON
schema. The header is never compressed (``avro.codec`` only applies to the
data blocks after it), so reading its bytes is enough whatever the codec.
"""

from __future__ import annotations

import json
from typing import Any

from s3redshift.column_types import DECIMAL_MAX_PRECISION, ColumnType
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema.model import FileColumn, RangeFetch
from s3redshift.file_schema.ranges import CHUNK, fetch_exact

__all__ = ["read_avro_columns"]

_MAGIC = b"Obj\x01"
_MAX_HEADER = 16 * 1024 * 1024
"""A header longer than this is not a schema: hostile lengths stop here."""
_PRIMITIVES: dict[str, ColumnType] = {
    "null": ColumnType("VARCHAR"),
    "boolean": ColumnType("BOOLEAN"),
    "int": ColumnType("INTEGER"),
    "long": ColumnType("BIGINT"),
    "float": ColumnType("REAL"),
    "double": ColumnType("DOUBLE PRECISION"),
    "bytes": ColumnType("VARCHAR"),
    "string": ColumnType("VARCHAR"),
}
_TIMESTAMPS = {
    "timestamp-millis",
    "timestamp-micros",
    "timestamp-nanos",
    "local-timestamp-millis",
    "local-timestamp-micros",
    "local-timestamp-nanos",
}
_NAMED = ("record", "error", "enum", "fixed")
_SUPER = ColumnType("SUPER")
_MAX_DEPTH = 32
_REWRITE = "the file is damaged or is not an Avro object container: rewrite it"


class _Short(Exception):  # noqa: N818 (a signal, not an error)
    """The header continues past the bytes read so far: ``need`` bytes at least."""

    def __init__(self, need: int) -> None:
        super().__init__(need)
        self.need = need


def read_avro_columns(size: int, fetch: RangeFetch) -> tuple[FileColumn, ...]:
    """The schema's fields, as top-level columns with their Redshift types."""
    data = fetch_exact(fetch, 0, min(size, CHUNK), "the Avro header")
    if data[:4] != _MAGIC:
        raise SchemaMismatchError(
            f"the object does not start with Avro's magic Obj\\x01; {_REWRITE}"
        )
    while True:
        try:
            return _columns(_metadata(data).get("avro.schema"))
        except _Short as short:
            if short.need > min(size, _MAX_HEADER) or len(data) >= size:
                raise SchemaMismatchError(
                    f"the Avro header needs {short.need} bytes, more than the object's {size} "
                    f"(or {_MAX_HEADER}); the file is truncated: rewrite it"
                ) from None
            end = min(size, max(short.need + CHUNK, 2 * len(data)))
            data += fetch_exact(fetch, len(data), end, "the Avro header")


def _metadata(data: bytes) -> dict[str, bytes]:
    """The header's metadata map; :class:`_Short` when it runs past ``data``."""
    found: dict[str, bytes] = {}
    pos = len(_MAGIC)
    while True:
        count, pos = _long(data, pos)
        if count == 0:
            return found
        if count < 0:
            count = -count
            _size, pos = _long(data, pos)
        for _ in range(count):
            key, pos = _bytes(data, pos)
            value, pos = _bytes(data, pos)
            found[key.decode("utf-8", "replace")] = value


def _long(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint long."""
    result = shift = 0
    while shift < 70:
        if pos >= len(data):
            raise _Short(pos + 10)
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
    raise SchemaMismatchError(f"the Avro header holds a varint over 10 bytes; {_REWRITE}")


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = _long(data, pos)
    if length < 0:
        raise SchemaMismatchError(f"the Avro header holds a negative length; {_REWRITE}")
    if pos + length > len(data):
        raise _Short(pos + length)
    return data[pos : pos + length], pos + length


def _columns(raw: bytes | None) -> tuple[FileColumn, ...]:
    """The record schema's fields, named as written."""
    try:
        schema = json.loads(raw.decode("utf-8")) if raw is not None else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        schema = None
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if (
        not isinstance(schema, dict)
        or schema.get("type") != "record"
        or not isinstance(fields, list)
    ):
        raise SchemaMismatchError(
            "the Avro header holds no record schema (avro.schema, a JSON record with fields); "
            "write the files with a record schema"
        )
    named = _named_types(schema)
    columns = []
    for field in fields:
        name = field.get("name") if isinstance(field, dict) else None
        if not isinstance(name, str) or not isinstance(field, dict):
            raise SchemaMismatchError(f"an Avro field has no name; {_REWRITE}")
        columns.append(FileColumn(name, _avro_type(field.get("type"), named, name, 0)))
    return tuple(columns)


def _named_types(schema: Any) -> dict[str, dict[str, Any]]:
    """Every record, enum and fixed the schema defines, by short and full name."""
    named: dict[str, dict[str, Any]] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            name, space = node.get("name"), node.get("namespace")
            if node.get("type") in _NAMED and isinstance(name, str):
                named[name] = named[name.rsplit(".", 1)[-1]] = node
                if isinstance(space, str):
                    named[f"{space}.{name}"] = node
            stack.extend(node.values())
    return named


def _avro_type(avro: Any, named: dict[str, dict[str, Any]], name: str, depth: int) -> ColumnType:
    """One field's type: a union with null unwraps; record, array, map are SUPER."""
    if depth > _MAX_DEPTH:
        return _SUPER
    if isinstance(avro, list):
        others = [branch for branch in avro if branch != "null"]
        if len(others) == 1:
            return _avro_type(others[0], named, name, depth + 1)
        return _SUPER if others else _PRIMITIVES["null"]
    if isinstance(avro, str):
        if avro in _PRIMITIVES:
            return _PRIMITIVES[avro]
        if avro in named:
            return _avro_type(named[avro], named, name, depth + 1)
    if isinstance(avro, dict):
        return _complex(avro, named, name, depth)
    raise SchemaMismatchError(
        f"Avro field {name!r} has a type the schema does not define: {avro!r}"
    )


def _complex(
    avro: dict[str, Any], named: dict[str, dict[str, Any]], name: str, depth: int
) -> ColumnType:
    kind, logical = avro.get("type"), avro.get("logicalType")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        return _decimal(avro, name)
    if kind in ("record", "error", "array", "map"):
        return _SUPER
    if kind in ("enum", "fixed"):
        return ColumnType("VARCHAR")
    if kind == "int" and logical == "date":
        return ColumnType("DATE")
    if kind == "long" and logical in _TIMESTAMPS:
        return ColumnType("TIMESTAMP")
    return _avro_type(kind, named, name, depth + 1)


def _decimal(avro: dict[str, Any], name: str) -> ColumnType:
    precision, scale = avro.get("precision"), avro.get("scale", 0)
    if (
        not isinstance(precision, int)
        or not isinstance(scale, int)
        or not 0 <= scale <= precision
        or not 0 < precision <= DECIMAL_MAX_PRECISION
    ):
        raise SchemaMismatchError(
            f"Avro field {name!r} is a decimal of precision {precision!r} and scale {scale!r}, "
            f"which Redshift cannot hold (precision 1 to {DECIMAL_MAX_PRECISION}); write it with "
            "a smaller precision, or as a string or double"
        )
    return ColumnType("DECIMAL", precision=precision, scale=scale)
