"""The local stand-in's COPY: Redshift's semantics carried out on PostgreSQL.

Every test loads real objects from the moto S3 server into the embedded
PostgreSQL through a real :class:`CopyCommand`, then reads the table back.
"""

from __future__ import annotations

import bz2
import gzip
import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import zstandard
from pg8000.dbapi import DatabaseError

from helpers import put
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
)
from s3redshift.errors import (
    DataRejectedError,
    LoadErrorDetail,
    PermissionDeniedError,
    TargetMissingError,
)
from s3redshift.identifiers import TableRef, quote_identifier
from s3redshift.local import EmbeddedEnvironment, NotSupportedLocally
from s3redshift.local.copy_emulation import run_copy_locally

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_ROLE = IamRole(arns="default")
TABLE = TableRef("public", "t")


def command(
    bucket: str,
    key: str,
    fmt: Any = None,
    *,
    table: TableRef = TABLE,
    **kwargs: Any,
) -> CopyCommand:
    return CopyCommand(
        table=table,
        source=f"s3://{bucket}/{key}",
        format=fmt if fmt is not None else CsvFormat(),
        authorization=DEFAULT_ROLE,
        **kwargs,
    )


def execute(pg: Any, sql: str) -> None:
    pg.cursor().execute(sql)


def rows(pg: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = pg.cursor()
    cursor.execute(sql)
    return [tuple(row) for row in cursor.fetchall()]


def load(pg: Any, s3: S3Client, cmd: CopyCommand) -> int:
    return run_copy_locally(pg.cursor(), cmd, s3)


def rejected(pg: Any, s3: S3Client, cmd: CopyCommand) -> DataRejectedError:
    with pytest.raises(DataRejectedError) as info:
        load(pg, s3, cmd)
    return info.value


def assert_aborted_then_empty(pg: Any, table: str = "t") -> None:
    """The failed COPY left the transaction aborted, and nothing of it survives."""
    cursor = pg.cursor()
    with pytest.raises(DatabaseError) as info:
        cursor.execute("SELECT 1")
    assert info.value.args[0]["C"] == "25P02"  # in_failed_sql_transaction
    pg.rollback()
    assert rows(pg, f"SELECT count(*) FROM {table}") == [(0,)]


@pytest.fixture(scope="module")
def module_database(embedded_env: EmbeddedEnvironment) -> Iterator[str]:
    """One database for this module: conftest's per-test database costs ~0.7 s a test.

    ``pg``, ``bucket`` and ``s3`` below override conftest's fixtures of the same
    names with cheaper ones of the same meaning, to keep this module fast.
    """
    name = f"test_local_copy_{uuid.uuid4().hex}"
    admin = embedded_env.connect()
    admin.autocommit = True
    try:
        admin.cursor().execute(f"CREATE DATABASE {quote_identifier(name)}")
        yield name
        admin.cursor().execute(f"DROP DATABASE {quote_identifier(name)} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture
def pg(embedded_env: EmbeddedEnvironment, module_database: str) -> Iterator[Any]:
    """A fresh connection to the module's database; the test's tables are dropped after it."""
    conn = embedded_env.connect(database=module_database)
    try:
        yield conn
    finally:
        conn.rollback()
        cursor = conn.cursor()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE {quote_identifier(name)}")
        conn.commit()
        conn.close()


@pytest.fixture(scope="module")
def module_s3(embedded_env: EmbeddedEnvironment) -> S3Client:
    """One S3 client for this module: creating a boto3 client costs ~0.15 s."""
    return embedded_env.boto3_client("s3")


@pytest.fixture
def bucket(module_s3: S3Client) -> str:
    """A fresh bucket per test, as conftest's, made with the module's client."""
    name = f"test-{uuid.uuid4().hex}"
    module_s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(module_s3: S3Client, bucket: str) -> S3Client:
    return module_s3


@pytest.fixture
def table(pg: Any) -> str:
    """public.t (id int, name varchar(20), note varchar(50)), committed."""
    execute(pg, "CREATE TABLE t (id int, name varchar(20), note varchar(50))")
    pg.commit()
    return "t"


# --- CSV -------------------------------------------------------------------


def test_csv_with_header_quoted_newlines_doubled_quotes_and_delimiters(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(
        s3,
        bucket,
        "k/a.csv",
        'id,name,note\n1,plain,"a, b"\n2,"two\nlines","say ""hi"""\n3,x,"multi\n\nline"\n',
    )
    count = load(pg, s3, command(bucket, "k/a.csv", CsvFormat(ignore_header=1)))
    assert count == 3
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, "plain", "a, b"),
        (2, "two\nlines", 'say "hi"'),
        (3, "x", "multi\n\nline"),
    ]
    assert rows(pg, "SELECT count(*) FROM t") == [(count,)]


def test_csv_custom_delimiter_and_quote(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "semi.csv", "1;'a;b';'it''s'\n2;\"q\";'x\"y'\n")
    fmt = CsvFormat(delimiter=";", quote="'")
    assert load(pg, s3, command(bucket, "semi.csv", fmt)) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, "a;b", "it's"),
        (2, '"q"', 'x"y'),
    ]


def test_csv_octal_tab_delimiter_and_padding_around_quoted_fields(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    # Docs: white space between delimiters and quotes is ignored, but a tab
    # delimiter is never white space. The unquoted ' x ' keeps its spaces.
    put(s3, bucket, "tab.csv", '1\t  "a"  \t x \n2\t"b"\t"c"\n')
    assert load(pg, s3, command(bucket, "tab.csv", CsvFormat(delimiter="\\011"))) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [(1, "a", " x "), (2, "b", "c")]


def test_csv_crlf_line_endings(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "win.csv", 'id,name,note\r\n1,a,b\r\n2,"c\r\nd",e\r\n')
    assert load(pg, s3, command(bucket, "win.csv", CsvFormat(ignore_header=1))) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, "a", "b"),
        (2, "c\r\nd", "e"),
    ]


def test_csv_empty_fields_follow_redshift_not_postgresql(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    # Redshift: an empty field loads '' into VARCHAR and NULL into INT; quoted
    # or not makes no difference. \N is the default null string.
    put(s3, bucket, "e.csv", '1,,""\n,"  ",\\N\n  ,x,y\n')
    assert load(pg, s3, command(bucket, "e.csv")) == 3
    assert rows(pg, 'SELECT id, name, note FROM t ORDER BY name COLLATE "C"') == [
        (1, "", ""),
        (None, "  ", None),
        (None, "x", "y"),
    ]


def test_csv_emptyasnull_and_blanksasnull(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "e.csv", '1,,""\n2,"  ",z\n')
    options = CopyOptions(empty_as_null=True, blanks_as_null=True)
    assert load(pg, s3, command(bucket, "e.csv", options=options)) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, None, None),
        (2, None, "z"),
    ]


def test_csv_null_as(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "n.csv", "1,NULL,\\N\nNULL,a,\n")
    assert load(pg, s3, command(bucket, "n.csv", CsvFormat(null_as="NULL"))) == 2
    # With NULL AS set, \N is ordinary text and an empty VARCHAR field is ''.
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id NULLS LAST") == [
        (1, None, "\\N"),
        (None, "a", ""),
    ]


def test_ignoreblanklines(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "b.csv", "1,a,b\n\n2,c,d\n\n")
    options = CopyOptions(ignore_blank_lines=True)
    assert load(pg, s3, command(bucket, "b.csv", options=options)) == 2
    assert rows(pg, "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_blank_line_without_ignoreblanklines_is_rejected(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "b.csv", "1,a,b\n\n2,c,d\n")
    error = rejected(pg, s3, command(bucket, "b.csv"))
    assert error.details == (
        LoadErrorDetail(
            file=f"s3://{bucket}/b.csv",
            line=2,
            column=None,
            reason="Delimiter not found: 1 fields for 3 columns",
            code="1214",
        ),
    )


@pytest.mark.parametrize(
    ("compression", "suffix", "pack"),
    [
        (Compression.GZIP, ".gz", lambda b: gzip.compress(b[:7]) + gzip.compress(b[7:])),
        (Compression.BZIP2, ".bz2", bz2.compress),
        (Compression.ZSTD, ".zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_compressed_csv(
    pg: Any,
    s3: S3Client,
    bucket: str,
    table: str,
    compression: Compression,
    suffix: str,
    pack: Any,
) -> None:
    put(s3, bucket, "z.csv" + suffix, pack(b'id,name,note\n1,"\xc3\xa9t\xc3\xa9",x\n2,b,y\n'))
    cmd = command(bucket, "z.csv" + suffix, CsvFormat(ignore_header=1), compression=compression)
    assert load(pg, s3, cmd) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [(1, "été", "x"), (2, "b", "y")]


@pytest.mark.parametrize(
    ("compression", "data"),
    [
        (Compression.GZIP, b"1,a,b\n"),
        (Compression.GZIP, gzip.compress(b"1,a,b\n", mtime=0)[:-6]),  # one id in every process
        (Compression.BZIP2, b"BZh9 not really"),
        (Compression.ZSTD, b"\x28\xb5\x2f\xfd garbage"),
    ],
)
def test_corrupt_compressed_file_is_rejected_naming_the_file(
    pg: Any, s3: S3Client, bucket: str, table: str, compression: Compression, data: bytes
) -> None:
    put(s3, bucket, "bad.csv.x", data)
    error = rejected(pg, s3, command(bucket, "bad.csv.x", compression=compression))
    (detail,) = error.details
    assert (detail.file, detail.line, detail.code) == (
        f"s3://{bucket}/bad.csv.x",
        None,
        "decompress",
    )
    assert detail.reason.startswith(f"not valid {compression.value} data")


def test_invalid_utf8_names_its_line(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "u.csv", b"1,a,b\n2,\xff,c\n")
    (detail,) = rejected(pg, s3, command(bucket, "u.csv")).details
    assert (detail.line, detail.code) == (2, "1220")


def test_unterminated_quote_is_rejected(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "q.csv", '1,a,b\n2,"open,c\n3,d,e\n')
    (detail,) = rejected(pg, s3, command(bucket, "q.csv")).details
    assert (detail.line, detail.code) == (2, "1216")


def test_text_after_closing_quote_is_rejected(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "q.csv", 'id,name,note\n1,a,b\n2,"c"d,e\n')
    (detail,) = rejected(pg, s3, command(bucket, "q.csv", CsvFormat(ignore_header=1))).details
    assert (detail.line, detail.code) == (3, "1216")


# --- delimited text ----------------------------------------------------------


def test_delimited_default_null_and_no_quoting(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "d.txt", '1|\\N|"quoted"\n\\N|,|\n3|a|b\r\n')
    assert load(pg, s3, command(bucket, "d.txt", DelimitedFormat())) == 3
    # Delimited text ends records at \n only: the \r stays in the last field.
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id NULLS FIRST") == [
        (None, ",", ""),
        (1, None, '"quoted"'),
        (3, "a", "b\r"),
    ]


def test_delimited_null_as_header_and_emptyasnull(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "d.txt", "h1~h2~h3\nh4\n1~nil~\n~\\N~nil\n")
    fmt = DelimitedFormat(delimiter="~", null_as="nil", ignore_header=2)
    cmd = command(bucket, "d.txt", fmt, options=CopyOptions(empty_as_null=True))
    assert load(pg, s3, cmd) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id NULLS LAST") == [
        (1, None, None),
        (None, "\\N", None),
    ]


def test_delimited_extra_column_is_rejected(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    put(s3, bucket, "d.txt", "1|a|b\n2|c|d|e\n")
    (detail,) = rejected(pg, s3, command(bucket, "d.txt", DelimitedFormat())).details
    assert (detail.line, detail.column, detail.code) == (2, None, "1202")
    assert_aborted_then_empty(pg)


# --- JSON ------------------------------------------------------------------


@pytest.fixture
def json_table(pg: Any) -> str:
    execute(pg, "CREATE TABLE t (id int, name varchar(20), tags varchar(100), ok boolean)")
    pg.commit()
    return "t"


def test_json_ignoreheader_skips_lines_before_the_first_object(
    pg: Any, s3: S3Client, bucket: str, json_table: str
) -> None:
    """Redshift allows IGNOREHEADER with JSON: the lines are a header, not data."""
    put(s3, bucket, "h.json", 'exported by tool x, not JSON\n{"id": 4, "name": "kept"}\n')
    assert load(pg, s3, command(bucket, "h.json", JsonFormat(ignore_header=1))) == 1
    assert rows(pg, "SELECT id, name FROM t") == [(4, "kept")]


def test_json_auto_lines_missing_keys_nested_values(
    pg: Any, s3: S3Client, bucket: str, json_table: str
) -> None:
    put(
        s3,
        bucket,
        "j.json",
        '{"id": 1, "name": "a", "tags": ["x", {"y": 2.50}], "ok": true, "extra": 9}\n'
        '{"id": 2, "Name": "case matters"}\n'
        '{"id": 3, "name": "", "tags": {"k": null}, "ok": false}\n',
    )
    assert load(pg, s3, command(bucket, "j.json", JsonFormat())) == 3
    assert rows(pg, "SELECT id, name, tags, ok FROM t ORDER BY id") == [
        (1, "a", '["x",{"y":2.50}]', True),
        (2, None, None, None),
        (3, "", '{"k":null}', False),
    ]


def test_json_auto_ignorecase_and_concatenated_objects(
    pg: Any, s3: S3Client, bucket: str, json_table: str
) -> None:
    put(
        s3,
        bucket,
        "j.json",
        '{"ID": 1, "Name": "A"}{"id": 2,\n "NAME": "b\\nc"}\n\n  {\n"Id": "3"\n}',
    )
    assert load(pg, s3, command(bucket, "j.json", JsonFormat(json_paths="auto ignorecase"))) == 3
    assert rows(pg, "SELECT id, name FROM t ORDER BY id") == [(1, "A"), (2, "b\nc"), (3, None)]


def test_json_emptyasnull_and_empty_number(
    pg: Any, s3: S3Client, bucket: str, json_table: str
) -> None:
    put(s3, bucket, "j.json", '{"id": "", "name": ""}\n')
    cmd = command(bucket, "j.json", JsonFormat(), options=CopyOptions(empty_as_null=True))
    assert load(pg, s3, cmd) == 1
    assert rows(pg, "SELECT id, name FROM t") == [(None, None)]


def test_json_rejected_value_reports_the_objects_last_line(
    pg: Any, s3: S3Client, bucket: str, json_table: str
) -> None:
    put(s3, bucket, "j.json", '{\n  "id": 1\n}\n{\n  "id": "x",\n  "name": "n"\n}\n')
    error = rejected(pg, s3, command(bucket, "j.json", JsonFormat()))
    (detail,) = error.details
    assert (detail.file, detail.line, detail.column, detail.code) == (
        f"s3://{bucket}/j.json",
        7,
        "id",
        "22P02",
    )
    assert_aborted_then_empty(pg)


def test_malformed_json_and_top_level_arrays_are_rejected(
    pg: Any, s3: S3Client, bucket: str, json_table: str
) -> None:
    put(s3, bucket, "j.json", '{"id": 1}\n{"id": 2},\n{"id": 3}\n')
    (detail,) = rejected(pg, s3, command(bucket, "j.json", JsonFormat())).details
    assert (detail.line, detail.code) == (2, "1216")
    pg.rollback()
    put(s3, bucket, "a.json", '{"id": 1}\n[2, "b"]\n')
    (detail,) = rejected(pg, s3, command(bucket, "a.json", JsonFormat())).details
    assert (detail.line, detail.code) == (2, "1216")
    assert "JSONPaths" in detail.reason


# --- column lists, types, tables ------------------------------------------------


def test_column_list_loads_those_columns_and_defaults_the_rest(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    execute(pg, "CREATE TABLE t (id int, name varchar(20), note varchar(50) DEFAULT 'dflt')")
    put(s3, bucket, "c.csv", "a,1\nb,2\n")
    assert load(pg, s3, command(bucket, "c.csv", columns=("Name", "id"))) == 2
    assert rows(pg, "SELECT id, name, note FROM t ORDER BY id") == [
        (1, "a", "dflt"),
        (2, "b", "dflt"),
    ]


def test_column_list_naming_a_missing_column(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "c.csv", "a,1\n")
    with pytest.raises(TargetMissingError, match="'nope'"):
        load(pg, s3, command(bucket, "c.csv", columns=("id", "nope")))


def test_missing_table(pg: Any, s3: S3Client, bucket: str) -> None:
    put(s3, bucket, "c.csv", "1\n")
    with pytest.raises(TargetMissingError) as info:
        load(pg, s3, command(bucket, "c.csv", table=TableRef("public", "absent")))
    assert info.value.table == "public.absent"


def test_temporary_table_by_catalog(pg: Any, s3: S3Client, bucket: str) -> None:
    execute(pg, "CREATE TEMP TABLE stage (k int, v text)")
    put(s3, bucket, "s.csv", "1,one\n2,two\n")
    cmd = command(bucket, "s.csv", table=TableRef("pg_temp", "stage"))
    assert load(pg, s3, cmd) == 2
    assert rows(pg, "SELECT k, v FROM stage ORDER BY k") == [(1, "one"), (2, "two")]


def test_varchar_length_is_counted_in_bytes(pg: Any, s3: S3Client, bucket: str) -> None:
    # PostgreSQL would accept 'éé' in VARCHAR(3) (2 characters); Redshift counts 4 bytes.
    execute(pg, "CREATE TABLE t (id int, s varchar(3), c char(2))")
    put(s3, bucket, "v.csv", "1,abc,ab\n2,éé,x\n")
    (detail,) = rejected(pg, s3, command(bucket, "v.csv")).details
    assert (detail.line, detail.column, detail.code) == (2, "s", "1204")
    pg.rollback()
    execute(pg, "CREATE TABLE t (id int, s varchar(3), c char(2))")
    put(s3, bucket, "v.csv", "1,abc,ab\n2,x,é\n")
    (detail,) = rejected(pg, s3, command(bucket, "v.csv")).details
    assert (detail.line, detail.column, detail.code) == (2, "c", "1220")


def test_numeric_scale_is_truncated_unless_roundec(pg: Any, s3: S3Client, bucket: str) -> None:
    execute(pg, "CREATE TABLE t (id int, amount numeric(8,2))")
    put(s3, bucket, "n.csv", "1,20.259\n2,-1.999\n3,  \n4,1.5e1\n")
    assert load(pg, s3, command(bucket, "n.csv")) == 4
    assert rows(pg, "SELECT id, amount::text FROM t ORDER BY id") == [
        (1, "20.25"),
        (2, "-1.99"),
        (3, None),
        (4, "15.00"),
    ]
    execute(pg, "DELETE FROM t")
    assert load(pg, s3, command(bucket, "n.csv", options=CopyOptions(round_dec=True))) == 4
    assert rows(pg, "SELECT amount::text FROM t ORDER BY id") == [
        ("20.26",),
        ("-2.00",),
        (None,),
        ("15.00",),
    ]


def test_identity_column_is_left_out_without_a_column_list(
    pg: Any, s3: S3Client, bucket: str
) -> None:
    execute(pg, "CREATE TABLE t (seq int GENERATED ALWAYS AS IDENTITY, name text)")
    put(s3, bucket, "i.csv", "a\nb\n")
    assert load(pg, s3, command(bucket, "i.csv")) == 2
    assert rows(pg, "SELECT seq, name FROM t ORDER BY seq") == [(1, "a"), (2, "b")]


def test_permission_denied(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    role = f"reader_{uuid.uuid4().hex}"  # roles are cluster-wide; rolled back below
    execute(pg, f"CREATE ROLE {role}")
    execute(pg, f"SET ROLE {role}")
    put(s3, bucket, "c.csv", "1,a,b\n")
    with pytest.raises(PermissionDeniedError, match="42501"):
        load(pg, s3, command(bucket, "c.csv"))
    pg.rollback()


# --- which objects: prefix and manifest -----------------------------------------


@pytest.fixture
def seq_table(pg: Any) -> str:
    """t (seq identity, id int, name text): seq records the load order."""
    execute(pg, "CREATE TABLE t (seq int GENERATED ALWAYS AS IDENTITY, id int, name text)")
    pg.commit()
    return "t"


def test_prefix_match_loads_every_object_starting_with_the_key(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    # Redshift's FROM 's3://b/data/a.csv' also loads data/a.csv.bak: faithfully so here.
    put(s3, bucket, "data/a.csv", "1,a\n")
    put(s3, bucket, "data/a.csv.bak", "2,bak\n")
    put(s3, bucket, "data/a.csvx/deeper", "3,deeper\n")
    put(s3, bucket, "data/b.csv", "4,b\n")
    assert load(pg, s3, command(bucket, "data/a.csv")) == 3
    assert rows(pg, "SELECT id, name FROM t ORDER BY seq") == [
        (1, "a"),
        (2, "bak"),
        (3, "deeper"),
    ]


def test_prefix_matching_nothing_is_an_error(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    put(s3, bucket, "data/b.csv", "4,b\n")
    error = rejected(pg, s3, command(bucket, "data/a.csv"))
    (detail,) = error.details
    assert (detail.file, detail.line, detail.code) == (f"s3://{bucket}/data/a.csv", None, "1212")
    assert error.s3_uri == f"s3://{bucket}/data/a.csv"


def manifest(s3: S3Client, bucket: str, entries: list[dict[str, Any]]) -> str:
    put(s3, bucket, "_m/load.manifest", json.dumps({"entries": entries}))
    return "_m/load.manifest"


def test_manifest_loads_exactly_its_entries_in_order(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    put(s3, bucket, "in/a.csv", "1,a1\n2,a2\n")
    put(s3, bucket, "in/a.csv.bak", "9,never\n")
    put(s3, bucket, "in/b.csv", "3,b1\n")
    key = manifest(
        s3,
        bucket,
        [
            {"url": f"s3://{bucket}/in/b.csv", "mandatory": True},
            {"url": f"s3://{bucket}/in/a.csv", "mandatory": True},
            {"url": f"s3://{bucket}/in/b.csv"},  # listed twice: loaded twice
        ],
    )
    assert load(pg, s3, command(bucket, key, manifest=True)) == 4
    assert rows(pg, "SELECT id, name FROM t ORDER BY seq") == [
        (3, "b1"),
        (1, "a1"),
        (2, "a2"),
        (3, "b1"),
    ]


def _requests_during(s3: S3Client, run: Any) -> list[str]:
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(f"{request.method} {request.url.split('?')[0].rsplit('/', 1)[-1]}")

    s3.meta.events.register("before-send.s3", record)
    try:
        run()
    finally:
        s3.meta.events.unregister("before-send.s3", record)
    return sent


def test_manifest_files_are_read_once_each(
    pg: Any, s3: S3Client, bucket: str, seq_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        put(s3, bucket, f"in/{name}.csv", f"1,{name}\n")
    entries = [{"url": f"s3://{bucket}/in/{n}.csv", "mandatory": True} for n in "abc"]
    key = manifest(s3, bucket, entries)
    cmd = command(bucket, key, manifest=True)
    # The existence check is the read: the manifest and each file, one GET each.
    sent = _requests_during(s3, lambda: load(pg, s3, cmd))
    assert sent == ["GET load.manifest", "GET a.csv", "GET b.csv", "GET c.csv"]
    # Past the bytes it keeps, a file is checked with HEAD and read when loaded.
    monkeypatch.setattr("s3redshift.local.copy_emulation._PREFETCH_BYTES", 4)
    sent = _requests_during(s3, lambda: load(pg, s3, cmd))
    assert sent == [
        "GET load.manifest", "GET a.csv", "HEAD b.csv", "HEAD c.csv", "GET b.csv", "GET c.csv",
    ]  # fmt: skip
    assert rows(pg, "SELECT name FROM t ORDER BY seq") == [("a",), ("b",), ("c",)] * 2


def test_manifest_missing_mandatory_entry_fails_before_loading(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    put(s3, bucket, "in/a.csv", "1,a1\n")
    gone = f"s3://{bucket}/in/gone.csv"
    key = manifest(
        s3,
        bucket,
        [{"url": f"s3://{bucket}/in/a.csv", "mandatory": True}, {"url": gone, "mandatory": True}],
    )
    error = rejected(pg, s3, command(bucket, key, manifest=True))
    assert [(d.file, d.line, d.code) for d in error.details] == [(gone, None, "1212")]
    assert error.bad_files == frozenset({gone})
    assert gone in str(error)
    # Checked before any row was written: the transaction is still usable and empty.
    assert rows(pg, "SELECT count(*) FROM t") == [(0,)]


def test_manifest_missing_optional_entry_is_skipped(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    put(s3, bucket, "in/a.csv", "1,a1\n")
    key = manifest(
        s3,
        bucket,
        [{"url": f"s3://{bucket}/in/gone.csv"}, {"url": f"s3://{bucket}/in/a.csv"}],
    )
    assert load(pg, s3, command(bucket, key, manifest=True)) == 1
    assert rows(pg, "SELECT id, name FROM t") == [(1, "a1")]


def test_manifest_whose_entries_all_vanished_or_that_is_missing(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    gone = f"s3://{bucket}/in/gone.csv"
    key = manifest(s3, bucket, [{"url": gone, "mandatory": False}])
    error = rejected(pg, s3, command(bucket, key, manifest=True))
    assert [(d.file, d.code) for d in error.details] == [(gone, "1212")]
    error = rejected(pg, s3, command(bucket, "_m/absent.manifest", manifest=True))
    assert [(d.file, d.code) for d in error.details] == [
        (f"s3://{bucket}/_m/absent.manifest", "1212")
    ]
    put(s3, bucket, "_m/broken.manifest", '{"entries": [{"url": 5}]}')
    error = rejected(pg, s3, command(bucket, "_m/broken.manifest", manifest=True))
    assert [(d.file, d.code) for d in error.details] == [
        (f"s3://{bucket}/_m/broken.manifest", "manifest")
    ]
    assert "entries[0]" in str(error)


def test_manifest_with_a_prefix_url_is_refused(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    key = manifest(s3, bucket, [{"url": f"s3://{bucket}/in/", "mandatory": True}])
    (detail,) = rejected(pg, s3, command(bucket, key, manifest=True)).details
    assert (detail.file, detail.code) == (f"s3://{bucket}/in/", "8001")


def test_bad_row_in_second_manifest_file_names_that_file(
    pg: Any, s3: S3Client, bucket: str, seq_table: str
) -> None:
    put(s3, bucket, "in/a.csv", "id,name\n1,a\n")
    put(s3, bucket, "in/b.csv", "id,name\n2,b\nthree,c\n")
    key = manifest(
        s3,
        bucket,
        [
            {"url": f"s3://{bucket}/in/a.csv", "mandatory": True},
            {"url": f"s3://{bucket}/in/b.csv", "mandatory": True},
        ],
    )
    error = rejected(pg, s3, command(bucket, key, CsvFormat(ignore_header=1), manifest=True))
    assert error.details == (
        LoadErrorDetail(
            file=f"s3://{bucket}/in/b.csv",
            line=3,
            column="id",
            reason='invalid input syntax for type integer: "three"',
            code="22P02",
        ),
    )
    assert error.s3_uri == f"s3://{bucket}/in/b.csv"
    assert error.table == "public.t"
    assert "line 3" in str(error)
    assert_aborted_then_empty(pg)


# --- rejected rows --------------------------------------------------------------


def test_bad_row_reports_file_line_and_column(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "r.csv", "id,name,note\n1,a,b\nx,c,d\n4,e,f\n")
    error = rejected(pg, s3, command(bucket, "r.csv", CsvFormat(ignore_header=1)))
    (detail,) = error.details
    assert (detail.file, detail.line, detail.column, detail.code) == (
        f"s3://{bucket}/r.csv",
        3,
        "id",
        "22P02",
    )
    assert_aborted_then_empty(pg)


def test_line_numbers_count_quoted_line_breaks(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "r.csv", 'id,name,note\n1,"a\nb\nc",d\n2,e,f\nbad,g,h\n')
    (detail,) = rejected(pg, s3, command(bucket, "r.csv", CsvFormat(ignore_header=1))).details
    assert (detail.line, detail.column) == (6, "id")


def test_parser_rejection_after_good_rows_keeps_them_out(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    good = "".join(f"{i},n{i},x\n" for i in range(5000))
    put(s3, bucket, "p.csv", good + "5000,only two\n")
    (detail,) = rejected(pg, s3, command(bucket, "p.csv")).details
    assert (detail.line, detail.code) == (5001, "1214")
    assert_aborted_then_empty(pg)


def test_not_null_violation_names_the_column(pg: Any, s3: S3Client, bucket: str) -> None:
    execute(pg, "CREATE TABLE t (id int NOT NULL, name text)")
    put(s3, bucket, "r.csv", "1,a\n,b\n")
    (detail,) = rejected(pg, s3, command(bucket, "r.csv")).details
    assert (detail.line, detail.column, detail.code) == (2, "id", "23502")


def test_rows_skipped_under_maxerror_leave_no_savepoint_open(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    # Each row the database refuses is rolled back to a savepoint; one left
    # open would put every later statement of the load's transaction (its
    # ledger row) in a subtransaction of its own, with an xmin of its own.
    put(s3, bucket, "m.csv", "1,a,x\nx2,b,x\n3,c,x\ny4,d,x\n5,e,x\n")
    cmd = command(bucket, "m.csv", options=CopyOptions(max_error=5))
    assert load(pg, s3, cmd) == 3
    cursor = pg.cursor()
    cursor.execute("INSERT INTO t VALUES (6, 'f', 'x') RETURNING xmin::text")
    [(xmin,)] = cursor.fetchall()
    assert rows(pg, "SELECT (txid_current() % 4294967296)::text") == [(xmin,)]
    assert rows(pg, "SELECT id FROM t ORDER BY id") == [(1,), (3,), (5,), (6,)]


def test_a_few_megabytes(pg: Any, s3: S3Client, bucket: str, table: str) -> None:
    lines = [f'{i},"name {i}","note, with ""quotes"" {i}"\n' for i in range(60000)]
    data = "".join(lines).encode()
    assert len(data) > 2_000_000
    put(s3, bucket, "big.csv.gz", gzip.compress(data))
    cmd = command(bucket, "big.csv.gz", compression=Compression.GZIP)
    assert load(pg, s3, cmd) == 60000
    assert rows(pg, 'SELECT count(*), sum(id), max(note COLLATE "C") FROM t') == [
        (60000, sum(range(60000)), 'note, with "quotes" 9999')
    ]


# --- refused options --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options", "kwargs", "named"),
    [
        (FixedWidthFormat(widths="a:1"), {}, {}, "FIXEDWIDTH"),
        (JsonFormat(json_paths="noshred"), {}, {}, "noshred"),
        (JsonFormat(json_paths="s3://other/paths.json"), {}, {}, "JSONPaths"),
        (AvroFormat(json_paths="s3://other/paths.json"), {}, {}, "JSONPaths"),
        (ParquetFormat(), {"accept_inv_chars": "?"}, {}, "ACCEPTINVCHARS"),
        (OrcFormat(), {"explicit_ids": True}, {}, "EXPLICIT_IDS"),
        (CsvFormat(), {}, {"compression": Compression.LZOP}, "LZOP"),
        (CsvFormat(), {"encoding": "UTF16"}, {}, "ENCODING"),
        (CsvFormat(), {"accept_any_date": True}, {}, "ACCEPTANYDATE"),
        (CsvFormat(), {"accept_inv_chars": "?"}, {}, "ACCEPTINVCHARS"),
        (CsvFormat(), {"date_format": "YYYY-MM-DD"}, {}, "DATEFORMAT"),
        (CsvFormat(), {"time_format": "epochsecs"}, {}, "TIMEFORMAT"),
        (CsvFormat(), {"no_load": True}, {}, "NOLOAD"),
        (CsvFormat(), {"ignore_all_errors": True}, {}, "IGNOREALLERRORS"),
        (AvroFormat(), {"max_error": 10}, {}, "MAXERROR"),
        (CsvFormat(), {"truncate_columns": True}, {}, "TRUNCATECOLUMNS"),
        (CsvFormat(), {"fill_record": True}, {}, "FILLRECORD"),
        (CsvFormat(), {"trim_blanks": True}, {}, "TRIMBLANKS"),
        (CsvFormat(), {"explicit_ids": True}, {}, "EXPLICIT_IDS"),
        (DelimitedFormat(), {"escape": True}, {}, "ESCAPE"),
        (DelimitedFormat(), {"remove_quotes": True}, {}, "REMOVEQUOTES"),
    ],
)
def test_unsupported_options_are_refused_by_name(
    fmt: Any, options: dict[str, Any], kwargs: dict[str, Any], named: str
) -> None:
    cmd = CopyCommand(
        table=TABLE,
        source="s3://no-such-bucket-anywhere/key",
        format=fmt,
        authorization=DEFAULT_ROLE,
        options=CopyOptions(**options),
        **kwargs,
    )
    # Refused before any I/O: neither the cursor nor the S3 client is touched.
    with pytest.raises(NotSupportedLocally, match=named) as info:
        run_copy_locally(object(), cmd, object())
    assert info.value.s3_uri == "s3://no-such-bucket-anywhere/key"
    assert info.value.table == "public.t"


def test_options_that_do_not_change_rows_are_accepted(
    pg: Any, s3: S3Client, bucket: str, table: str
) -> None:
    put(s3, bucket, "o.csv", "1,a,b\n")
    options = CopyOptions(
        comp_update=True,
        stat_update=True,
        comp_rows=5000,
        date_format="auto",
        time_format="auto",
        encoding="UTF8",
    )
    cmd = CopyCommand(
        table=TABLE,
        source=f"s3://{bucket}/o.csv",
        format=CsvFormat(),
        authorization=IamRole(arns="arn:aws:iam::123456789012:role/Copy"),
        region="eu-west-1",
        options=options,
    )
    assert load(pg, s3, cmd) == 1
    assert rows(pg, "SELECT id, name, note FROM t") == [(1, "a", "b")]
