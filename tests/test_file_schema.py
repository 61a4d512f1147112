"""The file-schema readers, on files written by real writers (pyarrow, fastavro, gzip, bz2).

Every read goes through a counting ``fetch``: a reader takes at most two
ranged reads for an ordinary file, and never reads the whole of an object
larger than 128 KiB in one go. Hand-built footers cover what the writers no
longer write (converted types only, VARCHAR(n)/CHAR(n) in ORC) and the
Thrift skipper's every wire type; hostile bytes only ever end as
:class:`SchemaMismatchError`.
"""

from __future__ import annotations

import ast
import bz2
import contextlib
import datetime
import decimal
import gzip
import json
import random
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from file_writers import avro_bytes, orc_bytes, parquet_bytes
from s3redshift.column_types import NOTHING_SEEN, ColumnType
from s3redshift.copy import (
    AvroFormat,
    Compression,
    CsvFormat,
    DelimitedFormat,
    FileFormat,
    FixedWidthFormat,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
)
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema import FileColumn, FileSchema, read_file_schema
from s3redshift.file_schema import snappy as snappy_codec
from s3redshift.file_schema.text import infer_text_type

KIB = 1024
BIG = 128 * KIB


class CountingFetch:
    """``data[start:end]``, recording every range asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, end: int) -> bytes:
        self.calls.append((start, end))
        return self.data[start:end]


def read(
    format: FileFormat,
    data: bytes,
    compression: Compression | None = None,
    max_fetches: int = 2,
    *,
    iso_times: bool = False,
) -> tuple[FileSchema, CountingFetch]:
    """The schema of ``data``, checking the fetch budget on the way."""
    fetch = CountingFetch(data)
    schema = read_file_schema(format, compression, len(data), fetch, iso_times=iso_times)
    assert 1 <= len(fetch.calls) <= max_fetches, fetch.calls
    if len(data) > BIG:
        assert all(end - start < len(data) for start, end in fetch.calls), fetch.calls
    return schema, fetch


def types(schema: FileSchema) -> dict[str, ColumnType]:
    return {column.name: column.type for column in schema.columns}


def observed(kind: Any, **sizes: Any) -> ColumnType:
    return ColumnType(kind, observed=True, **sizes)


# --- writers ------------------------------------------------------------------------------


def typed_table() -> pa.Table:
    """One column of each Arrow type whose Parquet/ORC form the readers map."""
    return pa.table(
        {
            "Flag": pa.array([True, False]),
            "tiny": pa.array([1, -1], pa.int8()),
            "small": pa.array([1, -1], pa.int16()),
            "int": pa.array([1, -1], pa.int32()),
            "big": pa.array([1, -1], pa.int64()),
            "real": pa.array([1.5, 2.5], pa.float32()),
            "double": pa.array([1.5, 2.5], pa.float64()),
            "text": pa.array(["a", "b"]),
            "blob": pa.array([b"a", b"b"]),
            "price": pa.array([decimal.Decimal("1.25")] * 2, pa.decimal128(10, 2)),
            "day": pa.array([datetime.date(2024, 1, 2)] * 2, pa.date32()),
            "at": pa.array([1, 2], pa.timestamp("ms")),
            "atTZ": pa.array([1, 2], pa.timestamp("us", tz="UTC")),
            "record": pa.array([{"a": 1, "b": [1, 2]}] * 2),
            "items": pa.array([[1, 2], []]),
            "After": pa.array([7, 8], pa.int64()),
        }
    )


TYPED_EXPECTED = {
    "Flag": ColumnType("BOOLEAN"),
    "tiny": ColumnType("SMALLINT"),
    "small": ColumnType("SMALLINT"),
    "int": ColumnType("INTEGER"),
    "big": ColumnType("BIGINT"),
    "real": ColumnType("REAL"),
    "double": ColumnType("DOUBLE PRECISION"),
    "text": ColumnType("VARCHAR"),
    "blob": ColumnType("VARCHAR"),
    "price": ColumnType("DECIMAL", precision=10, scale=2),
    "day": ColumnType("DATE"),
    "at": ColumnType("TIMESTAMP"),
    "atTZ": ColumnType("TIMESTAMPTZ"),
    "record": ColumnType("SUPER"),
    "items": ColumnType("SUPER"),
    "After": ColumnType("BIGINT"),
}


# --- Parquet --------------------------------------------------------------------------------


def test_parquet_maps_every_type_and_keeps_names_as_written() -> None:
    table = typed_table().append_column(
        "lookup", pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int32()))
    )
    more = {
        "u8": pa.array([1, 2], pa.uint8()),
        "u16": pa.array([1, 2], pa.uint16()),
        "u32": pa.array([1, 2], pa.uint32()),
        "u64": pa.array([1, 2], pa.uint64()),
        "half": pa.array([1.0, 2.0], pa.float16()),
        "t_ms": pa.array([1, 2], pa.time32("ms")),
        "t_us": pa.array([1, 2], pa.time64("us")),
        "ns": pa.array([1, 2], pa.timestamp("ns")),
        "wide": pa.array([decimal.Decimal("1.5")] * 2, pa.decimal128(38, 10)),
        "fixed": pa.array([b"0123456789abcdef"] * 2, pa.binary(16)),
        "id": pa.array([b"0123456789abcdef"] * 2, pa.uuid()),
        "dict": pa.array(["x", "y"]).dictionary_encode(),
        "large": pa.array(["x", "y"], pa.large_string()),
        "last": pa.array([1, 2], pa.int32()),
    }
    for name, column in more.items():
        table = table.append_column(name, column)
    schema, fetch = read(ParquetFormat(), parquet_bytes(table), max_fetches=1)
    assert [c.name for c in schema.columns] == table.column_names
    assert types(schema) == TYPED_EXPECTED | {
        "lookup": ColumnType("SUPER"),
        "u8": ColumnType("SMALLINT"),
        "u16": ColumnType("INTEGER"),
        "u32": ColumnType("BIGINT"),
        "u64": ColumnType("DECIMAL", precision=20, scale=0),
        "half": ColumnType("REAL"),
        "t_ms": ColumnType("TIME"),
        "t_us": ColumnType("TIME"),
        "ns": ColumnType("TIMESTAMP"),
        "wide": ColumnType("DECIMAL", precision=38, scale=10),
        "fixed": ColumnType("VARCHAR"),
        "id": ColumnType("VARCHAR"),
        "dict": ColumnType("VARCHAR"),
        "large": ColumnType("VARCHAR"),
        "last": ColumnType("INTEGER"),
    }
    assert fetch.calls == [(0, len(fetch.data))]  # a small file: one read of all of it


def test_parquet_decimals_stored_as_integers_and_int96_timestamps() -> None:
    table = pa.table(
        {
            "d9": pa.array([decimal.Decimal("1.5")], pa.decimal128(9, 1)),
            "d18": pa.array([decimal.Decimal("1.5")], pa.decimal128(18, 4)),
            "legacy": pa.array([1], pa.timestamp("ns")),
        }
    )
    data = parquet_bytes(table, store_decimal_as_integer=True, use_deprecated_int96_timestamps=True)
    assert types(read(ParquetFormat(), data)[0]) == {
        "d9": ColumnType("DECIMAL", precision=9, scale=1),
        "d18": ColumnType("DECIMAL", precision=18, scale=4),
        "legacy": ColumnType("TIMESTAMP"),
    }


def test_parquet_footer_longer_than_64_kib_takes_a_second_read_of_the_rest() -> None:
    table = pa.table({f"Column_{i:04d}": pa.array([i], pa.int64()) for i in range(1500)})
    data = parquet_bytes(table)
    footer = int.from_bytes(data[-8:-4], "little")
    assert footer > 64 * KIB
    assert len(data) > BIG
    schema, fetch = read(ParquetFormat(), data)
    assert len(schema.columns) == 1500
    assert schema.columns[-1] == FileColumn("Column_1499", ColumnType("BIGINT"))
    size = len(data)
    assert fetch.calls == [(size - 64 * KIB, size), (size - 8 - footer, size - 64 * KIB)]


def test_a_large_parquet_file_costs_one_read_of_its_last_64_kib() -> None:
    rng = random.Random(1)
    table = pa.table({"n": pa.array([rng.getrandbits(62) for _ in range(40_000)], pa.int64())})
    data = parquet_bytes(table, compression="none")
    assert len(data) > BIG
    schema, fetch = read(ParquetFormat(), data)
    assert types(schema) == {"n": ColumnType("BIGINT")}
    assert fetch.calls == [(len(data) - 64 * KIB, len(data))]


def test_parquet_decimal_wider_than_38_digits_is_refused() -> None:
    table = pa.table({"huge": pa.array([decimal.Decimal("1.5")], pa.decimal256(40, 2))})
    with pytest.raises(SchemaMismatchError, match=r"'huge' is DECIMAL\(40,2\).*at most 38"):
        read(ParquetFormat(), parquet_bytes(table))


# A small compact-protocol writer, for footers the writers above no longer produce.
T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY = range(1, 9)
T_LIST, T_SET, T_MAP, T_STRUCT = range(9, 13)


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def zigzag(n: int) -> bytes:
    return uvarint((n << 1) ^ (n >> 63))


def t_struct(*fields: tuple[int, int, bytes]) -> bytes:
    out, last = bytearray(), 0
    for field_id, kind, payload in fields:
        delta = field_id - last
        if 0 < delta <= 15:
            out.append(delta << 4 | kind)
        else:
            out += bytes([kind]) + zigzag(field_id)
        out += payload
        last = field_id
    return bytes(out) + b"\x00"


def t_list(kind: int, items: list[bytes]) -> bytes:
    head = bytes([len(items) << 4 | kind]) if len(items) < 15 else bytes([0xF0 | kind])
    return head + (uvarint(len(items)) if len(items) >= 15 else b"") + b"".join(items)


def t_bin(value: bytes) -> bytes:
    return uvarint(len(value)) + value


def element(name: str, physical: int | None = None, **fields: int) -> bytes:
    """A SchemaElement: ``repetition``, ``children``, ``converted``, ``scale``, ``precision``."""
    ids = {"repetition": 3, "children": 5, "converted": 6, "scale": 7, "precision": 8}
    parts = [] if physical is None else [(1, T_I32, zigzag(physical))]
    parts.append((4, T_BINARY, t_bin(name.encode())))
    parts += [(ids[key], T_I32, zigzag(value)) for key, value in fields.items()]
    return t_struct(*sorted(parts))


def parquet_file(elements: list[bytes], *before_schema: tuple[int, int, bytes]) -> bytes:
    """A Parquet file's tail: FileMetaData with ``before_schema`` fields ahead of field 2."""
    footer = t_struct(
        (1, T_I32, zigzag(1)),
        *before_schema,
        (2, T_LIST, t_list(T_STRUCT, elements)),
        (3, T_I64, zigzag(0)),
    )
    return b"PAR1" + footer + len(footer).to_bytes(4, "little") + b"PAR1"


INT32, INT64, INT96, BYTE_ARRAY, FIXED = 1, 2, 3, 6, 7


def test_parquet_converted_types_alone_and_legacy_layouts() -> None:
    elements = [
        element("schema", children=9),
        element("i16", INT32, converted=16),
        element("u32", INT32, converted=13),
        element("ts_ms", INT64, converted=9),
        element("u64", INT64, converted=14),
        element("day", INT32, converted=6),
        element("money", FIXED, converted=5, scale=3, precision=12),
        element("legacy", INT96),
        element("tags", BYTE_ARRAY, repetition=2),  # a repeated primitive: an array
        element("group", children=2),  # its descendants: inner, deeper and deeper's leaf
        element("inner", INT32),
        element("deeper", children=1),
        element("leaf", INT64),
    ]
    assert types(read(ParquetFormat(), parquet_file(elements))[0]) == {
        "i16": ColumnType("SMALLINT"),
        "u32": ColumnType("BIGINT"),
        "ts_ms": ColumnType("TIMESTAMP"),
        "u64": ColumnType("DECIMAL", precision=20, scale=0),
        "day": ColumnType("DATE"),
        "money": ColumnType("DECIMAL", precision=12, scale=3),
        "legacy": ColumnType("TIMESTAMP"),
        "tags": ColumnType("SUPER"),
        "group": ColumnType("SUPER"),
    }


def test_the_thrift_skipper_steps_over_every_wire_type() -> None:
    """Fields nobody reads, ahead of the schema and inside an element, of each compact type."""
    nested = t_struct((1, T_TRUE, b""), (2, T_BINARY, t_bin(b"x")), (3, T_STRUCT, t_struct()))
    pair = bytes([T_BINARY << 4 | T_STRUCT])
    unread = [
        (20, T_TRUE, b""),
        (21, T_FALSE, b""),
        (22, T_BYTE, b"\xff"),
        (23, T_I16, zigzag(-300)),
        (24, T_DOUBLE, b"\x00" * 8),
        (25, T_LIST, t_list(T_TRUE, [b"\x01", b"\x02"])),  # in a list, a bool takes a byte
        (26, T_SET, t_list(T_I64, [zigzag(n) for n in range(20)])),  # the long list header
        (27, T_MAP, uvarint(2) + pair + (t_bin(b"k") + nested) * 2),
        (28, T_MAP, uvarint(0)),  # an empty map has no key/value byte
        (29, T_STRUCT, t_struct((1, T_LIST, t_list(T_STRUCT, [nested])), (300, T_I32, b"\x02"))),
        (60, T_BINARY, t_bin(b"a field id 31 past the last: the long header form")),
    ]
    column = t_struct((1, T_I32, zigzag(2)), (4, T_BINARY, t_bin(b"Kept")), *unread)
    data = parquet_file([element("schema", children=1), column], *unread)
    assert types(read(ParquetFormat(), data)[0]) == {"Kept": ColumnType("BIGINT")}


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"PAR1" + b"\x00" * 8 + b"XXXX", "does not end with Parquet's magic PAR1"),
        (b"PAR1" + b"\x00" * 8 + (4).to_bytes(4, "little") + b"PARE", "encrypted"),
        (b"PAR1" + b"\x00" * 8 + (99).to_bytes(4, "little") + b"PAR1", "truncated"),
        (b"PAR1PAR1", "too short for Parquet"),
        (parquet_file([]), "no root element"),
        (parquet_file([element("schema", children=3), element("a", INT32)]), "fewer elements"),
        (parquet_file([element("schema", children=1), element("a", 9)]), "unknown physical type"),
        (parquet_file([element("s", children=1), element("d", INT32, converted=5)]), "precision"),
        (b"PAR1" + b"\x19\x0c" + (2).to_bytes(4, "little") + b"PAR1", "cannot be decoded"),
    ],
)
def test_unreadable_parquet_says_why(tail: bytes, message: str) -> None:
    with pytest.raises(SchemaMismatchError, match=message):
        read(ParquetFormat(), tail)


# --- ORC --------------------------------------------------------------------------------------


def orc_table() -> pa.Table:
    """The typed table and a map (pyarrow's ORC writer takes no unsigned or time types)."""
    lookup = pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int32()))
    return typed_table().append_column("lookup", lookup)


@pytest.mark.parametrize("compression", ["zlib", "snappy", "uncompressed"])
def test_orc_maps_every_type_with_each_readable_codec(compression: str) -> None:
    schema, _fetch = read(OrcFormat(), orc_bytes(orc_table(), compression), max_fetches=1)
    assert [c.name for c in schema.columns] == orc_table().column_names
    assert types(schema) == TYPED_EXPECTED | {"lookup": ColumnType("SUPER")}


def test_orc_compressed_with_zstd_is_refused_naming_the_codec_and_the_fix() -> None:
    with pytest.raises(SchemaMismatchError) as raised:
        read(OrcFormat(), orc_bytes(orc_table(), "zstd"))
    assert raised.value.message == (
        "the ORC footer is compressed with ZSTD, which the schema reader cannot decompress; "
        'write the files with ZLIB or SNAPPY compression, or use match = "position" without '
        "create or evolve"
    )
    assert raised.value.s3_uri is None
    assert raised.value.table is None


def test_a_large_orc_file_costs_one_read_of_its_last_64_kib() -> None:
    rng = random.Random(2)
    table = pa.table({"n": pa.array([rng.getrandbits(62) for _ in range(40_000)], pa.int64())})
    data = orc_bytes(table, "uncompressed")
    assert len(data) > BIG
    schema, fetch = read(OrcFormat(), data)
    assert types(schema) == {"n": ColumnType("BIGINT")}
    assert fetch.calls == [(len(data) - 64 * KIB, len(data))]


def test_an_orc_footer_longer_than_64_kib_takes_a_second_read_of_the_rest() -> None:
    names = [f"a_rather_long_column_name_number_{i:05d}" for i in range(2500)]
    table = pa.table({name: pa.array([1], pa.int32()) for name in names})
    data = orc_bytes(table, "uncompressed")
    schema, fetch = read(OrcFormat(), data)
    assert [c.name for c in schema.columns] == names
    assert len(fetch.calls) == 2
    assert fetch.calls[0] == (len(data) - 64 * KIB, len(data))


# A small protobuf writer, for ORC types pyarrow does not write.
def pb(*fields: tuple[int, int | bytes]) -> bytes:
    out = bytearray()
    for number, value in fields:
        if isinstance(value, int):
            out += uvarint(number << 3) + uvarint(value)
        else:
            out += uvarint(number << 3 | 2) + uvarint(len(value)) + value
    return bytes(out)


def orc_type(kind: int, *fields: tuple[int, int | bytes]) -> bytes:
    return pb((1, kind), *fields)


def orc_file(
    types_: list[bytes], codec: int = 0, compress: Callable[[bytes], bytes] | None = None
) -> bytes:
    footer = pb((3, b"stripe info, unread"), *[(4, t) for t in types_], (6, 1))
    if compress is not None:
        footer = compress(footer)
    postscript = pb((1, len(footer)), (2, codec), (3, 256 * KIB), (8000, b"ORC"))
    return b"ORC" + footer + postscript + bytes([len(postscript)])


def with_postscript(postscript: bytes) -> bytes:
    return b"ORC" + postscript + bytes([len(postscript)])


def chunk(payload: bytes, original: bool) -> bytes:
    return (len(payload) * 2 + original).to_bytes(3, "little") + payload


HAND_TYPES = [
    orc_type(
        12,
        (2, b"".join(uvarint(i) for i in (1, 2, 3, 4, 5))),
        *[(3, n) for n in (b"Code", b"Tag", b"Pick", b"At", b"Amount")],
    ),
    orc_type(16, (4, 20)),
    orc_type(17, (4, 3)),
    orc_type(13, (2, b"\x06\x07")),
    orc_type(18),
    orc_type(14, (5, 12), (6, 4)),
    orc_type(3),
    orc_type(7),
]
HAND_EXPECTED = {
    "Code": ColumnType("VARCHAR"),  # ORC's 20 characters: 20 to 80 bytes, no length to check
    "Tag": ColumnType("VARCHAR"),
    "Pick": ColumnType("SUPER"),
    "At": ColumnType("TIMESTAMPTZ"),
    "Amount": ColumnType("DECIMAL", precision=12, scale=4),
}


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("codec", "compress"),
    [
        (0, None),
        (
            1,
            lambda f: (
                chunk(deflate(f[:10]), False)
                + chunk(f[10:20], True)
                + chunk(deflate(f[20:]), False)
            ),
        ),
        (2, lambda f: chunk(pa.compress(f, codec="snappy", asbytes=True), False)),
    ],
)
def test_orc_varchar_char_union_instant_and_decimal(codec: int, compress: Any) -> None:
    assert types(read(OrcFormat(), orc_file(HAND_TYPES, codec, compress))[0]) == HAND_EXPECTED


def test_orc_subtypes_may_be_unpacked() -> None:
    root = orc_type(12, (2, 1), (2, 2), (3, b"a"), (3, b"b"))
    data = orc_file([root, orc_type(4), orc_type(15)])
    assert types(read(OrcFormat(), data)[0]) == {"a": ColumnType("BIGINT"), "b": ColumnType("DATE")}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_postscript(pb((1, 0), (8000, b"NOT"))), "lacks the magic 'ORC'"),
        (with_postscript(pb((1, 500), (8000, b"ORC"))), "past the start of the object"),
        (with_postscript(b""), "lacks the magic 'ORC'"),
        (orc_file(HAND_TYPES, codec=4), "compressed with LZ4"),
        (orc_file(HAND_TYPES, codec=3), "compressed with LZO"),
        (orc_file(HAND_TYPES, codec=9), "unknown codec 9"),
        (orc_file([orc_type(3)]), "root is not a struct"),
        (
            orc_file([orc_type(12, (2, b"\x01"), (3, b"d")), orc_type(14, (5, 40), (6, 2))]),
            r"DECIMAL\(40,2\)",
        ),
        (orc_file([orc_type(12, (2, b"\x05"), (3, b"x"))]), "names 1 fields for 1 types"),
        (orc_file([orc_type(12, (2, b"\x01"), (3, b"x")), orc_type(30)]), "unknown type kind 30"),
        (orc_file([orc_type(12, (2, b"\x01"), (3, b"\xff")), orc_type(3)]), "not UTF-8"),
        (orc_file(HAND_TYPES, 1, lambda f: chunk(b"not deflate", False)), "cannot be decoded"),
        (orc_file(HAND_TYPES, 2, lambda f: chunk(b"\x05\x00", False)), "cannot be decoded"),
        (b"OR", "too short for ORC"),
    ],
)
def test_unreadable_orc_says_why(data: bytes, message: str) -> None:
    with pytest.raises(SchemaMismatchError, match=message):
        read(OrcFormat(), data)


def test_snappy_decodes_long_literals_and_every_copy_width() -> None:
    rng = random.Random(3)
    data = bytes(rng.getrandbits(8) for _ in range(70_000)) + b"abcd" * 5000 + b"x" * 3000
    assert snappy_codec.decompress(pa.compress(data, codec="snappy", asbytes=True), 1 << 20) == data
    # A 4-byte-offset copy (pyarrow never writes one): 8 literal bytes, then copy 5 from 8 back.
    block = (
        uvarint(13)
        + bytes([7 << 2])
        + b"abcdefgh"
        + bytes([4 << 2 | 3])
        + (8).to_bytes(4, "little")
    )
    assert snappy_codec.decompress(block, 100) == b"abcdefghabcde"
    # A 60+ literal length in the next byte; an overlapping 1-byte-offset copy.
    block = uvarint(70 + 9) + bytes([60 << 2, 69]) + b"y" * 70 + bytes([(9 - 4) << 2 | 1, 1])
    assert snappy_codec.decompress(block, 100) == b"y" * 79
    with pytest.raises(snappy_codec.SnappyError, match="more than the 10 allowed"):
        snappy_codec.decompress(uvarint(11) + b"\x28" + b"x" * 11, 10)


# --- Avro --------------------------------------------------------------------------------------

AVRO_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Row",
    "namespace": "example",
    "fields": [
        {"name": "Id", "type": "long"},
        {"name": "count", "type": ["null", "int"]},
        {"name": "ratio", "type": "float"},
        {"name": "score", "type": "double"},
        {"name": "ok", "type": "boolean"},
        {"name": "label", "type": ["string", "null"]},
        {"name": "raw", "type": "bytes"},
        {"name": "mood", "type": {"type": "enum", "name": "Mood", "symbols": ["HAPPY", "SAD"]}},
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "at_us", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {
            "name": "big",
            "type": {
                "type": "fixed",
                "name": "Big",
                "size": 16,
                "logicalType": "decimal",
                "precision": 30,
                "scale": 4,
            },
        },
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
        {
            "name": "inner",
            "type": {"type": "record", "name": "Inner", "fields": [{"name": "a", "type": "int"}]},
        },
        {"name": "list", "type": {"type": "array", "items": "int"}},
        {"name": "dict", "type": {"type": "map", "values": "string"}},
        {"name": "either", "type": ["null", "int", "string"]},
        {"name": "mood2", "type": "Mood"},
        {"name": "inner2", "type": ["null", "example.Inner"]},
    ],
}
AVRO_EXPECTED = {
    "Id": ColumnType("BIGINT"),
    "count": ColumnType("INTEGER"),
    "ratio": ColumnType("REAL"),
    "score": ColumnType("DOUBLE PRECISION"),
    "ok": ColumnType("BOOLEAN"),
    "label": ColumnType("VARCHAR"),
    "raw": ColumnType("VARCHAR"),
    "mood": ColumnType("VARCHAR"),
    "hash": ColumnType("VARCHAR"),
    "day": ColumnType("DATE"),
    "at_ms": ColumnType("TIMESTAMP"),
    "at_us": ColumnType("TIMESTAMP"),
    "price": ColumnType("DECIMAL", precision=10, scale=2),
    "big": ColumnType("DECIMAL", precision=30, scale=4),
    "uid": ColumnType("VARCHAR"),
    "inner": ColumnType("SUPER"),
    "list": ColumnType("SUPER"),
    "dict": ColumnType("SUPER"),
    "either": ColumnType("SUPER"),
    "mood2": ColumnType("VARCHAR"),
    "inner2": ColumnType("SUPER"),
}


def avro_record(i: int) -> dict[str, Any]:
    return {
        "Id": i,
        "count": None,
        "ratio": 1.5,
        "score": 2.5,
        "ok": True,
        "label": f"row {i}",
        "raw": b"\x00\x01",
        "mood": "SAD",
        "hash": b"abcd",
        "day": datetime.date(2024, 1, 2),
        "at_ms": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
        "at_us": None,
        "price": decimal.Decimal("1.25"),
        "big": decimal.Decimal("12.5000"),
        "uid": "0b2c5a2e-6d1f-4a55-9a1d-3f4b7f0c2b11",
        "inner": {"a": 1},
        "list": [1, 2],
        "dict": {"k": "v"},
        "either": "x",
        "mood2": "HAPPY",
        "inner2": None,
    }


def avro_codecs() -> list[str]:
    codecs = ["null", "deflate"]
    try:
        avro_bytes({"type": "record", "name": "R", "fields": []}, [{}], codec="snappy")
    except (ValueError, ImportError):
        return codecs  # fastavro's snappy needs cramjam, which this environment lacks
    return [*codecs, "snappy"]


@pytest.mark.parametrize("codec", avro_codecs())
def test_avro_maps_every_type(codec: str) -> None:
    data = avro_bytes(AVRO_SCHEMA, [avro_record(i) for i in range(3)], codec)
    schema, _fetch = read(AvroFormat(), data, max_fetches=1)
    assert types(schema) == AVRO_EXPECTED
    assert [c.name for c in schema.columns] == list(AVRO_EXPECTED)


def test_a_large_avro_file_costs_one_read_of_its_first_64_kib() -> None:
    data = avro_bytes(AVRO_SCHEMA, [avro_record(i) for i in range(5000)])
    assert len(data) > BIG
    schema, fetch = read(AvroFormat(), data)
    assert types(schema) == AVRO_EXPECTED
    assert fetch.calls == [(0, 64 * KIB)]


def test_an_avro_header_longer_than_64_kib_takes_a_second_read() -> None:
    fields = [{"name": f"Field_{i:05d}", "type": "long", "doc": "x" * 40} for i in range(1500)]
    schema = {"type": "record", "name": "Wide", "fields": fields}
    data = avro_bytes(schema, [dict.fromkeys((f["name"] for f in fields), 1)] * 40)
    assert data.find(b"Field_01499") > 64 * KIB
    assert len(data) > BIG
    result, fetch = read(AvroFormat(), data)
    assert [c.name for c in result.columns] == [f["name"] for f in fields]
    assert len(fetch.calls) == 2
    assert fetch.calls[0] == (0, 64 * KIB)


def avro_header(schema: Any, *, count: int = 1) -> bytes:
    """An Avro header holding ``schema`` (JSON text or bytes), with fastavro's encoding."""
    raw = schema if isinstance(schema, bytes) else json.dumps(schema).encode()
    entry = zigzag(len(b"avro.schema")) + b"avro.schema" + zigzag(len(raw)) + raw
    size = zigzag(len(entry)) if count < 0 else b""
    return b"Obj\x01" + zigzag(count) + size + entry + zigzag(0) + b"\x00" * 16


def test_avro_negative_block_counts_carry_a_byte_size() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    assert types(read(AvroFormat(), avro_header(schema, count=-1))[0]) == {
        "a": ColumnType("INTEGER")
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PAR1" + b"\x00" * 20, "does not start with Avro's magic"),
        (avro_header({"type": "array", "items": "int"}), "no record schema"),
        (avro_header(b"{not json"), "no record schema"),
        (avro_header(b"\xff\xfe"), "no record schema"),
        (avro_header({"type": "record", "name": "R", "fields": [{"type": "int"}]}), "has no name"),
        (
            avro_header({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]}),
            "does not define",
        ),
        (
            avro_header(
                {
                    "type": "record",
                    "name": "R",
                    "fields": [
                        {
                            "name": "d",
                            "type": {"type": "bytes", "logicalType": "decimal", "precision": 40},
                        }
                    ],
                }
            ),
            "precision 40",
        ),
        (avro_header({"type": "record", "name": "R", "fields": []})[:30], "truncated"),
        (b"Obj\x01" + zigzag(1) + zigzag(-5), "negative length"),
        (b"Obj\x01" + b"\xff" * 12, "varint over 10 bytes"),
    ],
)
def test_unreadable_avro_says_why(data: bytes, message: str) -> None:
    with pytest.raises(SchemaMismatchError, match=message):
        read(AvroFormat(), data)


# --- CSV and delimited text -----------------------------------------------------------------

CSV_TEXT = (
    '"Small",Int,Big,Dec,Flag,Day,At,AtTz,Name,Empty,"with, comma",Mixed,"Say ""hi"""\r\n'
    "1,70000,5000000000,1.5,true,2024-01-02,2024-01-02 03:04:05,"
    "2024-01-02T03:04:05Z,héllo,,x,1,\r\n"
    "-2,-70000,-5000000000,-22.125,F,2024-12-31,2024-12-31T23:59:59.123456,"
    '2024-12-31 23:59:59+02:00,"quoted, ""value""",,y,a,\\N\r\n'
    ",,,,,,,,,,,,\r\n"
)
CSV_EXPECTED = {
    "Small": observed("SMALLINT"),
    "Int": observed("INTEGER"),
    "Big": observed("BIGINT"),
    "Dec": observed("DECIMAL", precision=5, scale=3),  # 22.125: 2 digits before, 3 after
    "Flag": observed("BOOLEAN"),
    "Day": observed("DATE"),
    "At": observed("TIMESTAMP"),
    "AtTz": observed("TIMESTAMPTZ"),
    "Name": observed("VARCHAR", length=len('quoted, "value"')),
    "Empty": NOTHING_SEEN,
    "with, comma": observed("VARCHAR", length=1),
    "Mixed": observed("VARCHAR", length=1),
    'Say "hi"': NOTHING_SEEN,
}


def gzip_bytes(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


@pytest.mark.parametrize(
    ("compress", "compression"),
    [
        (str.encode, None),
        (gzip_bytes, Compression.GZIP),
        (lambda t: bz2.compress(t.encode()), Compression.BZIP2),
    ],
)
def test_csv_header_names_and_sampled_types(compress: Any, compression: Compression | None) -> None:
    schema, _fetch = read(
        CsvFormat(ignore_header=1), compress(CSV_TEXT), compression, max_fetches=1, iso_times=True
    )
    assert types(schema) == CSV_EXPECTED
    assert [c.name for c in schema.columns] == list(CSV_EXPECTED)


def test_without_timeformat_auto_only_copys_default_timestamps_are_times() -> None:
    schema, _fetch = read(CsvFormat(ignore_header=1), CSV_TEXT.encode())
    assert types(schema) | {"At": CSV_EXPECTED["At"], "AtTz": CSV_EXPECTED["AtTz"]} == CSV_EXPECTED
    assert types(schema)["At"] == observed("VARCHAR", length=26)  # one value has a "T"
    assert types(schema)["AtTz"] == observed("VARCHAR", length=25)
    plain = "at\n2024-01-02 03:04:05\n2024-01-02 03:04:05.25\n"
    schema, _fetch = read(CsvFormat(ignore_header=1), plain.encode())
    assert types(schema) == {"at": observed("TIMESTAMP")}


def test_csv_header_is_the_last_skipped_line_and_null_as_is_ignored() -> None:
    text = "a comment line\nid;name\n1;NULL\n2;bob\n"
    schema, _ = read(CsvFormat(delimiter=";", ignore_header=2, null_as="NULL"), text.encode())
    assert types(schema) == {"id": observed("SMALLINT"), "name": observed("VARCHAR", length=3)}


def test_csv_with_another_quote_and_a_quoted_newline() -> None:
    text = "'first\nname',b\n'x\ny',1\n"
    schema, _ = read(CsvFormat(quote="'", ignore_header=1), text.encode())
    assert types(schema) == {
        "first\nname": observed("VARCHAR", length=3),
        "b": observed("SMALLINT"),
    }


def test_delimited_text_splits_on_the_delimiter_without_quotes() -> None:
    text = 'id|"Quoted"|note\n1|2|a "b" c\n'
    schema, _ = read(DelimitedFormat(ignore_header=1), text.encode())
    assert types(schema) == {
        "id": observed("SMALLINT"),
        '"Quoted"': observed("SMALLINT"),
        "note": observed("VARCHAR", length=7),
    }
    tabbed = read(DelimitedFormat(delimiter="\\011"), b"a\tb\r\n1.25\tt\r\n")[0]
    assert types(tabbed) == {
        "a": observed("DECIMAL", precision=3, scale=2),
        "b": observed("BOOLEAN"),
    }


def numbered_rows(count: int, rng: random.Random) -> str:
    rows = [
        f"{i},{rng.getrandbits(40)},{rng.random():.6f},{rng.getrandbits(64):x}"
        for i in range(count)
    ]
    return "Row,Value,Fraction,Hex\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("compression", [None, Compression.GZIP])
def test_a_large_text_file_costs_one_read_of_its_first_64_kib(
    compression: Compression | None,
) -> None:
    text = numbered_rows(60_000, random.Random(4))
    data = text.encode() if compression is None else gzip_bytes(text)
    assert len(data) > BIG
    schema, fetch = read(CsvFormat(), data, compression)
    assert fetch.calls == [(0, 64 * KIB)]
    assert types(schema)["Row"].kind in ("SMALLINT", "INTEGER")
    assert types(schema)["Value"] == observed("BIGINT")
    assert (types(schema)["Fraction"].kind, types(schema)["Fraction"].scale) == ("DECIMAL", 6)
    assert types(schema)["Hex"].kind == "VARCHAR"


def test_bzip2_whose_first_block_outgrows_64_kib_takes_a_second_read() -> None:
    data = bz2.compress(numbered_rows(60_000, random.Random(5)).encode())
    assert len(data) > BIG
    schema, fetch = read(CsvFormat(), data, Compression.BZIP2)
    assert [c.name for c in schema.columns] == ["Row", "Value", "Fraction", "Hex"]
    assert len(fetch.calls) == 2
    assert fetch.calls[0] == (0, 64 * KIB)


def test_a_header_line_longer_than_64_kib_takes_a_second_read() -> None:
    names = [f"column_{i:05d}" for i in range(6000)]
    data = (",".join(names) + "\n" + ",".join("1" for _ in names) + "\n").encode()
    schema, fetch = read(CsvFormat(), data)
    assert [c.name for c in schema.columns] == names
    assert len(fetch.calls) == 2


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-32768", "32767"], observed("SMALLINT")),
        (["1", "32768"], observed("INTEGER")),
        (["-2147483649"], observed("BIGINT")),
        (["9223372036854775808"], observed("DECIMAL", precision=19, scale=0)),
        (["1" * 39], observed("VARCHAR", length=39)),
        (["007", "12"], observed("VARCHAR", length=3)),  # a code: its zeros would be lost
        (["0", "-0"], observed("SMALLINT")),
        (["00.5"], observed("VARCHAR", length=4)),
        (["1.5", "2", "-0.125"], observed("DECIMAL", precision=4, scale=3)),
        (["1." + "0" * 40], observed("VARCHAR", length=42)),
        (["TRUE", "false", "t", "F"], observed("BOOLEAN")),
        (["2024-02-29"], observed("DATE")),
        (["2023-02-29"], observed("VARCHAR", length=10)),
        (["2024-01-02 03:04:05", "2024-01-02T03:04:05.5", "2024-01-03"], observed("TIMESTAMP")),
        (["2024-01-02 25:04:05"], observed("VARCHAR", length=19)),
        (
            ["2024-01-02T03:04:05Z", "2024-01-02 03:04:05-0530", "2024-01-02 03:04:05+01"],
            observed("TIMESTAMPTZ"),
        ),
        (["2024-01-02T03:04:05Z", "2024-01-02 03:04:05"], observed("VARCHAR", length=20)),
        (["1", "true"], observed("VARCHAR", length=4)),
        (["١٢٣"], observed("VARCHAR", length=6)),  # Arabic-Indic digits are not a number here
        (["", ""], NOTHING_SEEN),
        ([], NOTHING_SEEN),
    ],
)
def test_infer_text_type(values: list[str], expected: ColumnType) -> None:
    assert infer_text_type(values, iso_times=True) == expected


# --- JSON lines ---------------------------------------------------------------------------

JSON_LINES = [
    {
        "Id": 1,
        "small": 5,
        "big": 5_000_000_000,
        "price": 1.25,
        "ratio": 1e30,
        "ok": True,
        "name": "x",
    },
    {
        "Id": 2,
        "price": 10.5,
        "ok": False,
        "name": "yy",
        "day": "2024-01-02",
        "obj": {"a": [1]},
        "arr": [1],
    },
    {"Id": 3, "nothing": None, "mixed": 1, "flags": True, "huge": 10**30, "text_or_obj": "a"},
    {"mixed": "abc", "flags": 7, "late": "2024-01-02T00:00:00+00:00", "text_or_obj": {"b": 1}},
]
JSON_EXPECTED = {
    "Id": observed("SMALLINT"),
    "small": observed("SMALLINT"),
    "big": observed("BIGINT"),
    "price": observed("DECIMAL", precision=4, scale=2),
    "ratio": observed("DOUBLE PRECISION"),
    "ok": observed("BOOLEAN"),
    "name": observed("VARCHAR", length=2),
    "day": observed("DATE"),
    "obj": observed("SUPER"),
    "arr": observed("SUPER"),
    "nothing": NOTHING_SEEN,
    "mixed": observed("VARCHAR", length=3),
    "flags": observed("VARCHAR", length=4),
    "huge": observed("DECIMAL", precision=31, scale=0),
    "text_or_obj": observed("SUPER"),
    "late": observed("TIMESTAMPTZ"),
}


@pytest.mark.parametrize("compression", [None, Compression.GZIP, Compression.BZIP2])
def test_json_lines_keys_in_order_of_first_appearance(compression: Compression | None) -> None:
    text = "\n".join(json.dumps(line) for line in JSON_LINES) + "\n\n"
    data = {
        None: text.encode(),
        Compression.GZIP: gzip_bytes(text),
        Compression.BZIP2: bz2.compress(text.encode()),
    }[compression]
    schema, _ = read(JsonFormat(), data, compression, max_fetches=1, iso_times=True)
    assert [c.name for c in schema.columns] == list(JSON_EXPECTED)
    assert types(schema) == JSON_EXPECTED


def test_json_ints_and_plain_decimals_merge_and_an_exponent_makes_a_double() -> None:
    lines = b'{"a": 1, "b": 1.5, "c": "5"}\r\n{"a": 2.25, "b": 2E3, "c": 6}\n'
    assert types(read(JsonFormat(), lines)[0]) == {
        "a": observed("DECIMAL", precision=3, scale=2),
        "b": observed("DOUBLE PRECISION"),
        "c": observed("SMALLINT"),
    }


def test_json_skips_ignored_header_lines_and_keeps_only_whole_lines() -> None:
    lines = [json.dumps({"n": i, "pad": "p" * 50}) for i in range(3000)]
    data = ("not json at all\n" + "\n".join(lines)).encode()
    assert len(data) > 64 * KIB
    schema, fetch = read(JsonFormat(ignore_header=1), data)
    assert types(schema) == {"n": observed("SMALLINT"), "pad": observed("VARCHAR", length=50)}
    assert fetch.calls == [(0, 64 * KIB)]


# --- errors of text and of the entry point ------------------------------------------------


@pytest.mark.parametrize(
    ("format", "data", "compression", "message"),
    [
        (CsvFormat(), b"a,,c\n1,2,3\n", None, "column 2 of the header has an empty name"),
        (CsvFormat(), b'a," ",c\n', None, "column 2 of the header has an empty name"),
        (CsvFormat(ignore_header=3), b"a\nb\n", None, "no header line"),
        (CsvFormat(), b"", None, "no header line"),
        (JsonFormat(), b'{"a": 1}\n[1, 2]\n', None, "line 2 is a JSON list, not an object"),
        (JsonFormat(), b'{"a": 1}\n{"a": \n', None, "line 2 is not valid JSON"),
        (JsonFormat(), b"\n\n", None, "no JSON object"),
        (CsvFormat(), b"a\n", Compression.ZSTD, "ZSTD-compressed.*no zstd decompressor"),
        (CsvFormat(), b"a\n", Compression.LZOP, "LZOP-compressed.*no LZO decompressor"),
        (CsvFormat(), b"plain text\n", Compression.GZIP, "not gzip data"),
        (CsvFormat(), b"plain text\n", Compression.BZIP2, "not bzip2 data"),
        (CsvFormat(), b"caf\xe9,b\n", None, "not UTF-8 text"),
        (FixedWidthFormat(widths="a:1"), b"1\n", None, "fixed-width files name no columns"),
    ],
)
def test_unreadable_text_says_why(
    format: FileFormat, data: bytes, compression: Compression | None, message: str
) -> None:
    with pytest.raises(SchemaMismatchError, match=message) as raised:
        read_file_schema(format, compression, len(data), CountingFetch(data))
    assert raised.value.s3_uri is None
    assert raised.value.table is None


@pytest.mark.parametrize("format", [ParquetFormat(), OrcFormat(), AvroFormat(), CsvFormat()])
def test_an_object_shorter_than_its_size_is_a_truncated_file(format: FileFormat) -> None:
    data = {
        ParquetFormat: parquet_bytes(typed_table()),
        OrcFormat: orc_bytes(orc_table(), "zlib"),
        AvroFormat: avro_bytes(AVRO_SCHEMA, [avro_record(1)]),
        CsvFormat: CSV_TEXT.encode(),
    }[type(format)]
    with pytest.raises(SchemaMismatchError, match="truncated"):
        read_file_schema(format, None, len(data) + 10, CountingFetch(data))


# --- hostile bytes --------------------------------------------------------------------------

FORMATS: list[tuple[FileFormat, Compression | None]] = [
    (ParquetFormat(), None),
    (OrcFormat(), None),
    (AvroFormat(), None),
    (CsvFormat(), None),
    (CsvFormat(), Compression.GZIP),
    (DelimitedFormat(), Compression.BZIP2),
    (JsonFormat(), None),
    (JsonFormat(), Compression.GZIP),
]


def survives(format: FileFormat, compression: Compression | None, data: bytes) -> None:
    """The read succeeds or says the schema cannot be read; nothing else escapes."""
    with contextlib.suppress(SchemaMismatchError):
        read_file_schema(format, compression, len(data), CountingFetch(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), which=st.integers(0, len(FORMATS) - 1))
def test_random_bytes_never_escape_as_another_error(data: bytes, which: int) -> None:
    format, compression = FORMATS[which]
    survives(format, compression, data)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), codec=st.sampled_from([0, 1, 2]))
def test_random_footers_behind_valid_magic_never_escape(body: bytes, codec: int) -> None:
    survives(ParquetFormat(), None, b"PAR1" + body + len(body).to_bytes(4, "little") + b"PAR1")
    postscript = pb((1, len(body)), (2, codec), (3, 1024), (8000, b"ORC"))
    survives(OrcFormat(), None, b"ORC" + body + postscript + bytes([len(postscript)]))
    survives(AvroFormat(), None, b"Obj\x01" + body)


def valid_files() -> list[tuple[FileFormat, Compression | None, bytes]]:
    text = "\n".join(json.dumps(line) for line in JSON_LINES) + "\n"
    return [
        (ParquetFormat(), None, parquet_bytes(typed_table())),
        (OrcFormat(), None, orc_bytes(orc_table(), "zlib")),
        (OrcFormat(), None, orc_bytes(orc_table(), "snappy")),
        (
            OrcFormat(),
            None,
            orc_file(
                HAND_TYPES, 2, lambda f: chunk(pa.compress(f, codec="snappy", asbytes=True), False)
            ),
        ),
        (AvroFormat(), None, avro_bytes(AVRO_SCHEMA, [avro_record(1)], "deflate")),
        (CsvFormat(ignore_header=1), Compression.GZIP, gzip_bytes(CSV_TEXT)),
        (CsvFormat(ignore_header=1), Compression.BZIP2, bz2.compress(CSV_TEXT.encode())),
        (JsonFormat(), None, text.encode()),
    ]


def test_truncated_and_corrupted_files_never_escape() -> None:
    rng = random.Random(6)
    for format, compression, data in valid_files():
        for cut in sorted({rng.randrange(len(data)) for _ in range(60)} | {0, 1, len(data) - 1}):
            survives(format, compression, data[:cut])  # cut short at the end
            survives(format, compression, data[cut:])  # or at the start
        # Flip bytes where the schema lives: the tail of Parquet/ORC, the head of the rest.
        region = (
            range(max(0, len(data) - 2048), len(data))
            if isinstance(format, ParquetFormat | OrcFormat)
            else range(min(len(data), 2048))
        )
        for _ in range(400):
            damaged = bytearray(data)
            for _flip in range(rng.randint(1, 4)):
                damaged[rng.choice(region)] = rng.getrandbits(8)
            survives(format, compression, bytes(damaged))


def test_deep_nesting_stops_with_a_schema_error() -> None:
    deep = b"\x1c" * 200 + b"\x00" * 200  # struct field inside struct field, 200 deep
    footer = t_struct((1, T_I32, zigzag(1)))[:-1] + deep
    with pytest.raises(SchemaMismatchError, match="nested more than"):
        read(ParquetFormat(), b"PAR1" + footer + len(footer).to_bytes(4, "little") + b"PAR1")
    schema = b'{"type": "record", "name": "R", "fields": [{"name": "a", "type": ' + b"[" * 100_000
    with pytest.raises(SchemaMismatchError, match="no record schema"):
        read(AvroFormat(), avro_header(schema))


# --- the readers' dependencies ---------------------------------------------------------------


def test_the_readers_import_only_the_standard_library_and_the_project() -> None:
    package = Path(__file__).parents[1] / "src" / "s3redshift" / "file_schema"
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"s3redshift"}


def test_an_always_null_parquet_column_has_no_type_so_it_fits_any_column() -> None:
    table = pa.table({"id": [1, 2], "note": pa.array([None, None], pa.null())})
    schema, _ = read(ParquetFormat(), parquet_bytes(table))
    assert types(schema) == {"id": ColumnType("BIGINT"), "note": ColumnType("UNKNOWN")}


def test_a_json_integer_past_38_digits_is_text_not_a_rounding_float() -> None:
    huge = 10**40
    schema, _ = read(JsonFormat(), (json.dumps({"n": huge}) + "\n").encode())
    assert types(schema) == {"n": observed("VARCHAR", length=41)}
