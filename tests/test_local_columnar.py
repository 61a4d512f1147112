"""The stand-in's COPY of Parquet, ORC and Avro files, and of JSON into SUPER.

Every test writes a real file with pyarrow or fastavro, puts it on the moto S3
server, carries out a real :class:`CopyCommand` with the stand-in's COPY and
reads the table back.
"""

from __future__ import annotations

import importlib.util
import io
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import fastavro
import pyarrow as pa
import pytest

from file_writers import avro_bytes, orc_bytes, parquet_bytes
from helpers import put
from s3redshift.copy import (
    AvroFormat,
    CopyCommand,
    FixedWidthFormat,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
)
from s3redshift.local import EmbeddedEnvironment, NotSupportedLocally
from s3redshift.local.copy_emulation import run_copy_locally
from test_local_copy import (
    DEFAULT_ROLE,
    TABLE,
    assert_aborted_then_empty,
    bucket,
    command,
    execute,
    load,
    module_database,
    module_s3,
    pg,
    rejected,
    rows,
    s3,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["bucket", "module_database", "module_s3", "pg", "s3"]  # fixtures of test_local_copy

BERLIN = timezone(timedelta(hours=1))


def create(pg: Any, ddl: str) -> None:
    execute(pg, ddl)
    pg.commit()


# --- Parquet: types, nulls, lengths -----------------------------------------------------


EVERY_TYPE_DDL = (
    "CREATE TABLE t (s smallint, i int, b bigint, d double precision, r real,"
    " n numeric(10, 2), ok boolean, day date, at timestamp, atz timestamptz,"
    " utc_at timestamp, ns_at timestamp, clock time, name varchar(20))"
)
EVERY_TYPE_ROW = (
    -3,
    2147483647,
    9007199254740993,  # not exact as a float: the text keeps it
    0.1,
    1.5,
    Decimal("12345678.90"),
    True,
    date(2024, 2, 29),
    datetime(2024, 3, 1, 12, 30, 45, 123456),
    datetime(2024, 3, 1, 13, 0, tzinfo=BERLIN),
    datetime(2024, 3, 1, 13, 0, tzinfo=BERLIN),
    1_709_294_400_123_456_789,  # nanoseconds since the epoch
    time(23, 59, 58, 500000),
    'héllo, "world"\n',
)


def every_type_table() -> pa.Table:
    types = [
        pa.int16(),
        pa.int32(),
        pa.int64(),
        pa.float64(),
        pa.float32(),
        pa.decimal128(10, 2),
        pa.bool_(),
        pa.date32(),
        pa.timestamp("us"),
        pa.timestamp("us", tz="Europe/Berlin"),
        pa.timestamp("ms", tz="UTC"),
        pa.timestamp("ns"),
        pa.time64("us"),
        pa.string(),
    ]
    names = ["s", "i", "b", "d", "r", "n", "ok", "day", "at", "atz", "utc_at", "ns_at", "clock"]
    names.append("name")
    arrays = [
        pa.array([value, None], kind) for value, kind in zip(EVERY_TYPE_ROW, types, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=names)


EXPECTED_EVERY_TYPE = [
    (
        -3,
        2147483647,
        9007199254740993,
        0.1,
        1.5,
        Decimal("12345678.90"),
        True,
        date(2024, 2, 29),
        datetime(2024, 3, 1, 12, 30, 45, 123456),
        datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 0),  # written as UTC (+00); TIMESTAMP keeps the UTC time
        datetime(2024, 3, 1, 12, 0, 0, 123456),  # nanoseconds cut to microseconds
        time(23, 59, 58, 500000),
        'héllo, "world"\n',
    ),
    (None,) * 14,
]

SELECT_EVERY_TYPE = (
    "SELECT s, i, b, d, r, n, ok, day, at, atz, utc_at, ns_at, clock, name FROM t ORDER BY s"
)


def test_parquet_loads_every_type_and_nulls_into_matching_columns(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, EVERY_TYPE_DDL)
    put(s3, bucket, "all.parquet", parquet_bytes(every_type_table()))
    assert load(pg, s3, command(bucket, "all.parquet", ParquetFormat())) == 2
    assert rows(pg, SELECT_EVERY_TYPE) == EXPECTED_EVERY_TYPE


def test_orc_zlib_and_snappy_load_every_type(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, EVERY_TYPE_DDL)
    # ORC has no time of day type: the clock column is written as a string.
    table = every_type_table()
    clock = table.schema.get_field_index("clock")
    table = table.set_column(clock, "clock", pa.array(["23:59:58.5", None]))
    put(s3, bucket, "orc/a.zlib.orc", orc_bytes(table, "zlib"))
    put(s3, bucket, "orc/b.snappy.orc", orc_bytes(table, "snappy"))
    assert load(pg, s3, command(bucket, "orc/", OrcFormat())) == 4
    expected = sorted(EXPECTED_EVERY_TYPE * 2, key=lambda row: row[0] is None)
    assert rows(pg, SELECT_EVERY_TYPE) == expected


def test_parquet_string_too_long_for_varchar_is_rejected_at_its_row(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(5))")
    table = pa.table({"id": [1, 2, 3], "name": ["abc", "abcde", "äbcde"]})  # ä is two bytes
    put(s3, bucket, "long.parquet", parquet_bytes(table))
    error = rejected(pg, s3, command(bucket, "long.parquet", ParquetFormat()))
    [detail] = error.details
    assert (detail.file, detail.line, detail.column, detail.code) == (
        f"s3://{bucket}/long.parquet",
        3,
        "name",
        "1204",
    )
    assert "6 bytes for a column of 5" in detail.reason
    assert_aborted_then_empty(pg)


def test_parquet_binary_value_is_rejected_naming_row_and_column(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, payload varchar(20))")
    table = pa.table({"id": [1, 2], "payload": pa.array([None, b"\x00\x01"], pa.binary())})
    put(s3, bucket, "bin.parquet", parquet_bytes(table))
    error = rejected(pg, s3, command(bucket, "bin.parquet", ParquetFormat()))
    [detail] = error.details
    assert (detail.line, detail.column, detail.code) == (2, "payload", "type")
    assert "binary data cannot be loaded into a character or SUPER column" in detail.reason
    assert_aborted_then_empty(pg)


# --- Parquet and ORC: columns by position ----------------------------------------------


@pytest.mark.parametrize(
    ("file_columns", "counts", "unmatched"),
    [
        (
            {"id": [1], "name": ["a"], "note": ["b"], "extra": ["c"]},
            "has 4 columns and the COPY fills 3 (id, name, note)",
            "file column 4 ('extra') has no table column",
        ),
        (
            {"id": [1], "name": ["a"]},
            "has 2 columns and the COPY fills 3 (id, name, note)",
            "table column 3 ('note') has no file column",
        ),
    ],
    ids=["one-more", "one-fewer"],
)
@pytest.mark.parametrize("fmt", [ParquetFormat(), OrcFormat()], ids=["parquet", "orc"])
def test_column_count_mismatch_rejects_the_file_naming_both_counts(
    pg: Any,
    s3: S3Client,
    bucket: str,
    fmt: ParquetFormat | OrcFormat,
    file_columns: dict[str, list[Any]],
    counts: str,
    unmatched: str,
) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(20), note varchar(50))")
    table = pa.table(file_columns)
    data = parquet_bytes(table) if isinstance(fmt, ParquetFormat) else orc_bytes(table)
    put(s3, bucket, "wide/f", data)
    error = rejected(pg, s3, command(bucket, "wide/f", fmt))
    [detail] = error.details
    assert detail.file == f"s3://{bucket}/wide/f"
    assert (detail.line, detail.code) == (None, "schema")
    assert f"the {fmt.keyword} file {counts}" in detail.reason
    assert unmatched in detail.reason
    assert "load by position" in detail.reason
    assert f"s3://{bucket}/wide/f" in str(error)
    pg.rollback()
    assert rows(pg, "SELECT count(*) FROM t") == [(0,)]


def test_parquet_columns_load_by_position_not_by_name(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, "CREATE TABLE t (first_name varchar(20), last_name varchar(20))")
    # The file names its columns the other way round: Redshift pays no heed.
    swapped = pa.table({"last_name": ["Lovelace", "Hopper"], "first_name": ["Ada", "Grace"]})
    put(s3, bucket, "people.parquet", parquet_bytes(swapped))
    assert load(pg, s3, command(bucket, "people.parquet", ParquetFormat())) == 2
    assert rows(pg, "SELECT first_name, last_name FROM t ORDER BY 1") == [
        ("Hopper", "Grace"),
        ("Lovelace", "Ada"),
    ]


def test_parquet_columns_by_position_give_a_type_rejection(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(20))")
    swapped = pa.table({"name": ["a"], "id": [1]})
    put(s3, bucket, "swapped.parquet", parquet_bytes(swapped))
    error = rejected(pg, s3, command(bucket, "swapped.parquet", ParquetFormat()))
    [detail] = error.details
    assert (detail.line, detail.column, detail.code) == (1, "id", "22P02")
    assert "invalid input syntax for type integer" in detail.reason
    assert_aborted_then_empty(pg)


def test_a_column_list_pairs_the_file_columns_with_those_columns(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(20), note varchar(50) DEFAULT 'none')")
    put(s3, bucket, "two.parquet", parquet_bytes(pa.table({"n": ["a", "b"], "i": [1, 2]})))
    cmd = command(bucket, "two.parquet", ParquetFormat(), columns=("name", "id"))
    assert load(pg, s3, cmd) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, "a", "none"),
        (2, "b", "none"),
    ]


def test_parquet_float_into_an_integer_column_is_rejected_by_postgresql(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int)")
    put(s3, bucket, "f.parquet", parquet_bytes(pa.table({"id": [1.0, 2.5]})))
    error = rejected(pg, s3, command(bucket, "f.parquet", ParquetFormat()))
    [detail] = error.details
    assert (detail.line, detail.column, detail.code) == (1, "id", "22P02")
    assert '"1.0"' in detail.reason
    assert_aborted_then_empty(pg)


# --- nested values and SUPER --------------------------------------------------------


def test_nested_parquet_columns_load_into_super_as_json(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, "CREATE TABLE t (id int, address super, tags super, scores super)")
    table = pa.table(
        {
            "id": [1, 2],
            "address": pa.array(
                [{"city": "Oslo", "zip": 150, "since": date(2020, 1, 2)}, None],
                pa.struct([("city", pa.string()), ("zip", pa.int32()), ("since", pa.date32())]),
            ),
            "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
            "scores": pa.array([[("x", 1.5)], [("y", None)]], pa.map_(pa.string(), pa.float64())),
        }
    )
    put(s3, bucket, "nested.parquet", parquet_bytes(table))
    # As Redshift, only with SERIALIZETOJSON.
    refused = rejected(pg, s3, command(bucket, "nested.parquet", ParquetFormat()))
    assert "only with SERIALIZETOJSON" in refused.details[0].reason
    pg.rollback()
    nested = ParquetFormat(serialize_to_json=True)
    assert load(pg, s3, command(bucket, "nested.parquet", nested)) == 2
    assert rows(pg, "SELECT id, address, tags, scores FROM t ORDER BY id") == [
        (1, {"city": "Oslo", "zip": 150, "since": "2020-01-02"}, ["a", "b"], {"x": 1.5}),
        (2, None, [], {"y": None}),
    ]


def test_nested_parquet_column_into_varchar_rejects_the_file(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, tags varchar(100))")
    table = pa.table({"id": [1], "tags": pa.array([["a"]], pa.list_(pa.string()))})
    put(s3, bucket, "tags.parquet", parquet_bytes(table))
    error = rejected(pg, s3, command(bucket, "tags.parquet", ParquetFormat()))
    [detail] = error.details
    assert (detail.line, detail.column, detail.code) == (None, "tags", "schema")
    assert "file column 2 ('tags') is nested" in detail.reason
    assert "only into SUPER" in detail.reason


def test_json_lines_into_super_load_as_json_values(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, "CREATE TABLE t (id int, doc super)")
    lines = [
        '{"id": 1, "doc": {"a": 1, "b": [2, {"c": null}], "d": "text"}}',
        '{"id": 2, "doc": "a string stays a string"}',
        '{"id": 3, "doc": 12.50}',
        '{"id": 4, "doc": true}',
        '{"id": 5}',
        '{"id": 6, "doc": null}',
    ]
    put(s3, bucket, "docs.json", "\n".join(lines) + "\n")
    assert load(pg, s3, command(bucket, "docs.json", JsonFormat())) == 6
    assert rows(pg, "SELECT id, doc FROM t ORDER BY id") == [
        (1, {"a": 1, "b": [2, {"c": None}], "d": "text"}),
        (2, "a string stays a string"),
        (3, Decimal("12.50")),
        (4, True),
        (5, None),
        (6, None),
    ]
    # The value is JSON in the column, not text holding JSON.
    navigated = "SELECT doc #>> '{b,0}', doc::text FROM t WHERE id IN (1, 3) ORDER BY id"
    assert rows(pg, navigated) == [
        ("2", '{"a": 1, "b": [2, {"c": null}], "d": "text"}'),
        (None, "12.50"),
    ]
    assert rows(pg, "SELECT jsonb_typeof(doc) FROM t WHERE id <= 4 ORDER BY id") == [
        ("object",),
        ("string",),
        ("number",),
        ("boolean",),
    ]


def test_every_database_of_the_embedded_server_takes_super(
    embedded_env: EmbeddedEnvironment, pg_database: str
) -> None:
    # The server's own database, and one made later from template1 (conftest's).
    for database in (None, pg_database):
        conn = embedded_env.connect(database=database)
        try:
            cursor = conn.cursor()
            cursor.execute("CREATE TEMPORARY TABLE s (c SUPER)")
            cursor.execute("""INSERT INTO s VALUES ('{"a": [1, "x"]}')""")
            cursor.execute("SELECT c FROM s")
            assert [tuple(row) for row in cursor.fetchall()] == [({"a": [1, "x"]},)]
        finally:
            conn.rollback()
            conn.close()


# --- corrupt files and manifests ------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "named"),
    [
        (ParquetFormat(), "not a valid PARQUET file"),
        (OrcFormat(), "not a valid ORC file"),
        (AvroFormat(), "not a valid Avro file"),
    ],
    ids=["parquet", "orc", "avro"],
)
def test_a_file_that_is_not_of_the_format_is_rejected_naming_it(
    pg: Any, s3: S3Client, bucket: str, fmt: Any, named: str
) -> None:
    create(pg, "CREATE TABLE t (id int)")
    put(s3, bucket, "bad/data.csv", "id\n1\n")
    error = rejected(pg, s3, command(bucket, "bad/data.csv", fmt))
    [detail] = error.details
    assert (detail.file, detail.line, detail.code) == (
        f"s3://{bucket}/bad/data.csv",
        None,
        "format",
    )
    assert named in detail.reason
    pg.rollback()
    assert rows(pg, "SELECT count(*) FROM t") == [(0,)]


def test_a_manifest_of_two_parquet_files_loads_both(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(20))")
    first = parquet_bytes(pa.table({"id": [1, 2], "name": ["a", "b"]}))
    second = parquet_bytes(pa.table({"id": [3], "name": ["c"]}), compression="gzip")
    put(s3, bucket, "p/1.parquet", first)
    put(s3, bucket, "p/2.parquet", second)
    entries = [
        {"url": f"s3://{bucket}/p/{name}", "mandatory": True, "meta": {"content_length": size}}
        for name, size in (("1.parquet", len(first)), ("2.parquet", len(second)))
    ]
    put(s3, bucket, "p.manifest", json.dumps({"entries": entries}))
    cmd = command(bucket, "p.manifest", ParquetFormat(), manifest=True)
    assert load(pg, s3, cmd) == 3
    assert rows(pg, "SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, "b"), (3, "c")]


def test_a_parquet_manifest_entry_without_content_length_is_refused(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int)")
    put(s3, bucket, "q/1.parquet", parquet_bytes(pa.table({"id": [1]})))
    entries = [{"url": f"s3://{bucket}/q/1.parquet", "mandatory": True}]
    put(s3, bucket, "q.manifest", json.dumps({"entries": entries}))
    error = rejected(pg, s3, command(bucket, "q.manifest", ParquetFormat(), manifest=True))
    [detail] = error.details
    assert detail.code == "manifest"
    assert '"content_length"' in detail.reason
    assert "PARQUET" in detail.reason


def test_a_bad_row_in_the_second_file_names_that_file_and_its_row(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(3))")
    put(s3, bucket, "r/1.parquet", parquet_bytes(pa.table({"id": [1], "name": ["ok"]})))
    put(s3, bucket, "r/2.parquet", parquet_bytes(pa.table({"id": [2, 3], "name": ["ok", "long"]})))
    error = rejected(pg, s3, command(bucket, "r/", ParquetFormat()))
    [detail] = error.details
    assert (detail.file, detail.line, detail.column) == (f"s3://{bucket}/r/2.parquet", 2, "name")
    assert_aborted_then_empty(pg)


# --- Avro ---------------------------------------------------------------------------


PERSON = {
    "type": "record",
    "name": "person",
    "fields": [
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "ignored", "type": "bytes"},
    ],
}


ID_ONLY = {"type": "record", "name": "r", "fields": [{"name": "id", "type": "int"}]}


def test_avro_auto_maps_fields_by_name(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(20), score numeric(5, 1), note varchar(50))")
    records = [
        {"note": "first", "id": 1, "name": "Ada", "ignored": b"\x00"},
        {"note": None, "id": 2, "name": "Grace", "ignored": b"\x01"},
    ]
    put(s3, bucket, "people.avro", avro_bytes(PERSON, records, codec="deflate"))
    assert load(pg, s3, command(bucket, "people.avro", AvroFormat())) == 2
    # Fields in another order than the columns, a column no field names (score:
    # NULL), and a field no column names (ignored, even though it is binary).
    assert rows(pg, "SELECT id, name, score, note FROM t ORDER BY id") == [
        (1, "Ada", None, "first"),
        (2, "Grace", None, None),
    ]


def test_avro_auto_is_case_sensitive_and_auto_ignorecase_is_not(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int, name varchar(20))")
    schema = {
        "type": "record",
        "name": "r",
        "fields": [{"name": "ID", "type": "int"}, {"name": "Name", "type": "string"}],
    }
    put(s3, bucket, "upper.avro", avro_bytes(schema, [{"ID": 7, "Name": "x"}]))
    assert load(pg, s3, command(bucket, "upper.avro", AvroFormat())) == 1
    fmt = AvroFormat(json_paths="auto ignorecase")
    assert load(pg, s3, command(bucket, "upper.avro", fmt)) == 1
    assert rows(pg, "SELECT id, name FROM t ORDER BY id NULLS FIRST") == [(None, None), (7, "x")]


def test_avro_types_and_nested_values(pg: Any, s3: S3Client, bucket: str) -> None:
    create(
        pg,
        "CREATE TABLE t (id bigint, ok boolean, ratio double precision, amount numeric(6, 2),"
        " day date, at timestamptz, key varchar(36), kind varchar(5), extra super,"
        " labels varchar(100))",
    )
    schema = {
        "type": "record",
        "name": "row",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "ok", "type": "boolean"},
            {"name": "ratio", "type": "double"},
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
            },
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "key", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "kind", "type": {"type": "enum", "name": "kind", "symbols": ["A", "B"]}},
            {
                "name": "extra",
                "type": {
                    "type": "record",
                    "name": "extra",
                    "fields": [
                        {"name": "n", "type": "int"},
                        {"name": "m", "type": {"type": "map", "values": "double"}},
                    ],
                },
            },
            {"name": "labels", "type": {"type": "array", "items": "string"}},
        ],
    }
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    record = {
        "id": 2**40,
        "ok": False,
        "ratio": 0.25,
        "amount": Decimal("1234.50"),
        "day": date(2024, 1, 31),
        "at": datetime(2024, 1, 31, 23, 0, 0, 125000, tzinfo=UTC),
        "key": key,
        "kind": "B",
        "extra": {"n": 3, "m": {"k": 0.5}},
        "labels": ["x", "y"],
    }
    put(s3, bucket, "typed.avro", avro_bytes(schema, [record]))
    assert load(pg, s3, command(bucket, "typed.avro", AvroFormat())) == 1
    assert rows(pg, "SELECT * FROM t") == [
        (
            2**40,
            False,
            0.25,
            Decimal("1234.50"),
            date(2024, 1, 31),
            datetime(2024, 1, 31, 23, 0, 0, 125000, tzinfo=UTC),
            str(key),
            "B",
            {"n": 3, "m": {"k": 0.5}},
            '["x","y"]',  # nested into VARCHAR: compact JSON text, as JSON 'auto' loads it
        )
    ]


def test_avro_codec_copy_does_not_read_is_rejected(pg: Any, s3: S3Client, bucket: str) -> None:
    create(pg, "CREATE TABLE t (id int)")
    put(s3, bucket, "b.avro", avro_bytes(ID_ONLY, [{"id": 1}], codec="bzip2"))
    error = rejected(pg, s3, command(bucket, "b.avro", AvroFormat()))
    [detail] = error.details
    assert detail.code == "format"
    assert "codec 'bzip2', which COPY does not read" in detail.reason


@pytest.mark.skipif(
    any(importlib.util.find_spec(name) for name in ("cramjam", "snappy")),
    reason="a snappy decoder for fastavro is installed",
)
def test_avro_snappy_without_a_decoder_is_not_supported_locally(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int)")
    # fastavro cannot write snappy either: the codec is named in the header only.
    data = avro_bytes(ID_ONLY, [{"id": 1}]).replace(
        b"\x14avro.codec\x08null", b"\x14avro.codec\x0csnappy", 1
    )
    assert fastavro.reader(io.BytesIO(data)).metadata["avro.codec"] == "snappy"
    put(s3, bucket, "s.avro", data)
    with pytest.raises(NotSupportedLocally, match="snappy codec") as info:
        load(pg, s3, command(bucket, "s.avro", AvroFormat()))
    assert f"s3://{bucket}/s.avro" in str(info.value)
    assert "cramjam" in str(info.value)


def test_a_damaged_avro_file_is_rejected_at_the_row_it_breaks(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    create(pg, "CREATE TABLE t (id int)")
    whole = avro_bytes(ID_ONLY, [{"id": i} for i in range(1000)], codec="deflate")
    put(s3, bucket, "cut.avro", whole[:-40])
    error = rejected(pg, s3, command(bucket, "cut.avro", AvroFormat()))
    [detail] = error.details
    assert (detail.line, detail.code) == (1, "format")  # one block: it breaks at its first row
    assert "damaged or cut short" in detail.reason
    assert_aborted_then_empty(pg)


# --- what stays refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "named", "fix"),
    [
        (
            FixedWidthFormat(widths="id:3,name:10"),
            "the stand-in cannot parse FIXEDWIDTH files",
            "test this rule against Redshift",
        ),
        (
            AvroFormat(json_paths="s3://other/paths.json"),
            "a JSONPaths file for AVRO",
            "use json_paths = 'auto' if the field names are the column names",
        ),
    ],
    ids=["fixedwidth", "avro-jsonpaths"],
)
def test_what_stays_refused_says_so_without_dropping_an_option(
    fmt: Any, named: str, fix: str
) -> None:
    cmd = CopyCommand(
        table=TABLE, source="s3://no-such-bucket-anywhere/k", format=fmt, authorization=DEFAULT_ROLE
    )
    with pytest.raises(NotSupportedLocally) as info:
        run_copy_locally(object(), cmd, object())  # refused before any I/O
    message = str(info.value)
    assert named in message
    assert fix in message
    assert "drop the option" not in message
