"""The COPY builder: exact statements, Redshift's option rules, secrets.

Every statement built here is also parsed with sqlglot's Redshift dialect.
sqlglot (30.x) checks the statement's frame -- one COPY, its target table,
column list, FROM literal and IAM_ROLE -- but not Redshift's parameter
grammar: after FROM/credentials it reads any run of words and literals as
generic (name, value) pairs, e.g. ``FORMAT AS CSV QUOTE AS '"'`` becomes
(FORMAT, CSV), (QUOTE, '"'). So the parse proves that quoting keeps every
literal and identifier intact and that nothing is left over (leftover tokens
turn the result into an ``exp.Command``), while the exact expected strings
below pin the parameter text itself.
"""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr, ValidationError
from sqlglot import exp

from s3redshift.copy import (
    Authorization,
    AvroFormat,
    Compression,
    CopyCommand,
    CopyOptions,
    CsvFormat,
    DelimitedFormat,
    FileFormat,
    FixedWidthFormat,
    IamRole,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
    TemporaryKeys,
    check_compatible,
    resolve_compression,
)
from s3redshift.errors import CopyOptionsError, UnsafeIdentifierError
from s3redshift.identifiers import TableRef, validate_identifier

SENTINEL = "SENTINEL-SECRET-3f9a"
ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"
ROLE2 = "arn:aws:iam::210987654321:role/path/CrossAccount"
DEFAULT_ROLE = IamRole(arns="default")
TABLE = TableRef("Public", "KPIs")
SRC = "s3://my-bucket/kpis/2026/11/a.csv"
HEAD = f'COPY "public"."kpis" FROM \'{SRC}\' IAM_ROLE default'
TAIL = "COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF"


def parsed(sql: str) -> exp.Copy:
    statements = sqlglot.parse(sql, read="redshift")
    assert len(statements) == 1
    copy = statements[0]
    assert isinstance(copy, exp.Copy)
    return copy


def check_parses(command: CopyCommand) -> exp.Copy:
    """Both renderings parse as one COPY of the intended table from the intended literal."""
    for sql in (command.to_sql(), command.redacted()):
        copy = parsed(sql)
        target = copy.this
        if command.columns:
            assert isinstance(target, exp.Schema)
            assert [c.name for c in target.expressions] == [
                validate_identifier(c) for c in command.columns
            ]
            target = target.this
        assert isinstance(target, exp.Table)
        assert (target.db, target.name) == (command.table.schema or "", command.table.table)
        assert target.this.quoted
        if command.table.schema is not None:
            assert target.args["db"].quoted
        files = copy.args["files"]
        assert len(files) == 1
        assert files[0].is_string
        assert files[0].this == command.source
    return parsed(command.to_sql())


def build(fmt: FileFormat, *, source: str = SRC, table: TableRef = TABLE, **kwargs: object) -> str:
    kwargs.setdefault("authorization", DEFAULT_ROLE)
    command = CopyCommand(table=table, source=source, format=fmt, **kwargs)  # type: ignore[arg-type]
    check_parses(command)
    return command.to_sql()


# --- formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "clause"),
    [
        (CsvFormat(), "FORMAT AS CSV"),
        (CsvFormat(quote="'", delimiter=";"), "FORMAT AS CSV QUOTE AS '''' DELIMITER AS ';'"),
        (CsvFormat(delimiter="\t"), "FORMAT AS CSV DELIMITER AS '\t'"),
        (CsvFormat(ignore_header=1, null_as=""), "FORMAT AS CSV IGNOREHEADER AS 1 NULL AS ''"),
        (DelimitedFormat(), "DELIMITER AS '|'"),
        (DelimitedFormat(delimiter="\\036"), "DELIMITER AS '\\\\036'"),
        (
            DelimitedFormat(ignore_header=2, null_as="\\N"),
            "DELIMITER AS '|' IGNOREHEADER AS 2 NULL AS '\\\\N'",
        ),
        (JsonFormat(), "FORMAT AS JSON 'auto'"),
        (JsonFormat(json_paths="auto ignorecase"), "FORMAT AS JSON 'auto ignorecase'"),
        (JsonFormat(json_paths="noshred"), "FORMAT AS JSON 'noshred'"),
        (
            JsonFormat(json_paths="s3://my-bucket/paths/kpis.jsonpaths"),
            "FORMAT AS JSON 's3://my-bucket/paths/kpis.jsonpaths'",
        ),
        (AvroFormat(), "FORMAT AS AVRO 'auto'"),
        (AvroFormat(json_paths="auto ignorecase"), "FORMAT AS AVRO 'auto ignorecase'"),
        (
            FixedWidthFormat(widths={"id": 3, "name": 25}),
            "FIXEDWIDTH 'id:3,name:25'",
        ),
        (
            FixedWidthFormat(widths="id:3,name:25", ignore_header=1, null_as="NULL"),
            "FIXEDWIDTH 'id:3,name:25' IGNOREHEADER AS 1 NULL AS 'NULL'",
        ),
    ],
)
def test_text_formats(fmt: FileFormat, clause: str) -> None:
    assert build(fmt) == f"{HEAD} {clause} {TAIL}"


@pytest.mark.parametrize(("fmt", "word"), [(ParquetFormat(), "PARQUET"), (OrcFormat(), "ORC")])
def test_columnar_formats_leave_out_what_redshift_refuses(fmt: FileFormat, word: str) -> None:
    # No COMPUPDATE and no MAXERROR: Redshift refuses both with Parquet/ORC.
    assert build(fmt, source="s3://my-bucket/kpis/a.parquet") == (
        'COPY "public"."kpis" FROM \'s3://my-bucket/kpis/a.parquet\' IAM_ROLE default '
        f"FORMAT AS {word} STATUPDATE OFF"
    )


def test_columnar_takes_its_four_options_and_manifest() -> None:
    options = CopyOptions(
        accept_inv_chars="^", fill_record=True, explicit_ids=True, stat_update=True
    )
    assert build(ParquetFormat(), manifest=True, options=options) == (
        f"{HEAD} FORMAT AS PARQUET MANIFEST ACCEPTINVCHARS AS '^' EXPLICIT_IDS FILLRECORD "
        "STATUPDATE ON"
    )


def test_fixed_width_pairs_and_text_forms_are_the_same() -> None:
    assert FixedWidthFormat(widths=[("id", 3), ("name", 25)]) == FixedWidthFormat(
        widths="id:3,name:25"
    )
    assert FixedWidthFormat(widths={"id": 3}).widths == (("id", 3),)


def test_formats_come_from_config_dicts_by_type() -> None:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[FileFormat] = TypeAdapter(FileFormat)
    assert adapter.validate_python({"type": "json", "json_paths": "auto"}) == JsonFormat()
    assert adapter.validate_python({"type": "orc"}) == OrcFormat()
    assert adapter.validate_python({"type": "fixedwidth", "widths": {"a": 1}}) == FixedWidthFormat(
        widths="a:1"
    )
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "xml"})


# --- compression ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a.csv.gz", Compression.GZIP),
        ("a.CSV.GZ", Compression.GZIP),
        ("a.csv.bz2", Compression.BZIP2),
        ("a.csv.zst", Compression.ZSTD),
        ("a.csv.zstd", Compression.ZSTD),
        ("a.csv.lzo", Compression.LZOP),
        ("a.csv", None),
        ("a.gzip", None),
        ("gz", None),
    ],
)
def test_compression_is_inferred_from_the_extension(key: str, expected: Compression | None) -> None:
    fmt = CsvFormat()
    assert resolve_compression(fmt, key) is expected
    source = "s3://my-bucket/" + key
    word = f" {expected.value}" if expected else ""
    assert build(fmt, source=source, compression=expected) == (
        f'COPY "public"."kpis" FROM \'{source}\' IAM_ROLE default FORMAT AS CSV{word} {TAIL}'
    )


@pytest.mark.parametrize(
    ("fmt", "key", "expected"),
    [
        (CsvFormat(compression="none"), "a.csv.gz", None),
        (CsvFormat(compression="gzip"), "a.csv", Compression.GZIP),
        (JsonFormat(compression="zstd"), "a.json", Compression.ZSTD),
        (DelimitedFormat(compression="lzop"), "a", Compression.LZOP),
        (FixedWidthFormat(widths="a:1", compression="bzip2"), "a", Compression.BZIP2),
        (JsonFormat(), "a.json.gz", Compression.GZIP),
        (ParquetFormat(), "a.parquet.gz", None),
        (OrcFormat(), "a.orc.bz2", None),
        (AvroFormat(), "a.avro.gz", None),
    ],
)
def test_compression_given_or_left_to_the_file(
    fmt: FileFormat, key: str, expected: Compression | None
) -> None:
    assert resolve_compression(fmt, key) is expected


def test_json_with_compression_and_region() -> None:
    assert build(JsonFormat(), compression=Compression.BZIP2, region="eu-west-1") == (
        f"{HEAD} FORMAT AS JSON 'auto' BZIP2 REGION AS 'eu-west-1' {TAIL}"
    )


# --- options -------------------------------------------------------------------


def test_every_conversion_option_in_its_fixed_order() -> None:
    options = CopyOptions(
        truncate_columns=True,
        trim_blanks=True,
        time_format="epochmillisecs",
        round_dec=True,
        remove_quotes=True,
        ignore_blank_lines=True,
        fill_record=True,
        explicit_ids=True,
        escape=True,
        encoding="UTF16LE",
        empty_as_null=True,
        date_format="MM-DD-YYYY",
        blanks_as_null=True,
        accept_inv_chars="?",
        accept_any_date=True,
    )
    fmt = DelimitedFormat(ignore_header=1, null_as="")
    assert build(fmt, options=options) == (
        f"{HEAD} DELIMITER AS '|' ACCEPTANYDATE ACCEPTINVCHARS AS '?' BLANKSASNULL "
        "DATEFORMAT AS 'MM-DD-YYYY' EMPTYASNULL ENCODING AS UTF16LE ESCAPE EXPLICIT_IDS "
        "FILLRECORD IGNOREBLANKLINES IGNOREHEADER AS 1 NULL AS '' REMOVEQUOTES ROUNDEC "
        f"TIMEFORMAT AS 'epochmillisecs' TRIMBLANKS TRUNCATECOLUMNS {TAIL}"
    )


@pytest.mark.parametrize(
    ("options", "tail"),
    [
        (CopyOptions(), "COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF"),
        (
            CopyOptions(comp_rows=1000, comp_update=True, max_error=100000, stat_update=True),
            "COMPROWS 1000 COMPUPDATE ON MAXERROR AS 100000 STATUPDATE ON",
        ),
        (
            CopyOptions(comp_rows=2147483647, comp_update="preset", no_load=True),
            "COMPROWS 2147483647 COMPUPDATE PRESET MAXERROR AS 0 NOLOAD STATUPDATE OFF",
        ),
        (
            CopyOptions(ignore_all_errors=True, comp_update=None, stat_update=None),
            "IGNOREALLERRORS",
        ),
        (CopyOptions(max_error=7, stat_update=None), "COMPUPDATE OFF MAXERROR AS 7"),
    ],
)
def test_load_options(options: CopyOptions, tail: str) -> None:
    assert build(CsvFormat(), options=options) == f"{HEAD} FORMAT AS CSV {tail}"


def test_design_example_options() -> None:
    options = CopyOptions.model_validate(
        {
            "date_format": "auto",
            "time_format": "auto",
            "max_error": 0,
            "truncate_columns": False,
            "blanks_as_null": False,
            "empty_as_null": False,
            "accept_inv_chars": "?",
            "comp_update": False,
            "stat_update": False,
        }
    )
    fmt = CsvFormat.model_validate(
        {"type": "csv", "delimiter": ",", "quote": '"', "ignore_header": 1, "null_as": ""}
    )
    assert build(fmt, options=options) == (
        f"{HEAD} FORMAT AS CSV ACCEPTINVCHARS AS '?' DATEFORMAT AS 'auto' IGNOREHEADER AS 1 "
        f"NULL AS '' TIMEFORMAT AS 'auto' {TAIL}"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"comp_rows": 999},
        {"comp_rows": 2147483648},
        {"max_error": -1},
        {"max_error": 100001},
        {"encoding": "LATIN1"},
        {"comp_update": "maybe"},
        {"nonsense": True},
    ],
)
def test_option_ranges_and_value_sets(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CopyOptions.model_validate(fields)


def test_option_models_are_frozen() -> None:
    options = CopyOptions()
    with pytest.raises(ValidationError):
        options.max_error = 3


# --- authorization, region, manifest, columns --------------------------------


def test_iam_role_single_chained_default() -> None:
    assert build(CsvFormat(), authorization=IamRole(arns=ROLE)) == (
        f"COPY \"public\".\"kpis\" FROM '{SRC}' IAM_ROLE '{ROLE}' FORMAT AS CSV {TAIL}"
    )
    chained = IamRole(arns=(ROLE, ROLE2))
    assert chained == IamRole(arns=f"{ROLE}, {ROLE2}")
    sql = build(CsvFormat(), authorization=chained)
    assert sql == (
        f"COPY \"public\".\"kpis\" FROM '{SRC}' IAM_ROLE '{ROLE},{ROLE2}' FORMAT AS CSV {TAIL}"
    )
    assert parsed(sql).args["credentials"].args["iam_role"].this == f"{ROLE},{ROLE2}"
    assert build(CsvFormat(), authorization=IamRole(arns="default")) == (
        f"{HEAD} FORMAT AS CSV {TAIL}"
    )
    assert IamRole(arns="default").is_default
    assert not chained.is_default


@pytest.mark.parametrize(
    "arns",
    [
        "",
        (),
        "arn:aws:iam::12345678901:role/R",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::123456789012:user/R",
        "arn:aws:iam::123456789012:role/a,b' --",
        "Default",
    ],
)
def test_bad_role_arns_are_refused(arns: object) -> None:
    with pytest.raises(ValidationError):
        IamRole.model_validate({"arns": arns})


def test_gov_and_china_partitions_are_role_arns() -> None:
    assert IamRole(arns="arn:aws-us-gov:iam::123456789012:role/R").arns == (
        "arn:aws-us-gov:iam::123456789012:role/R",
    )
    assert IamRole(arns="arn:aws-cn:iam::123456789012:role/R").sql == (
        "IAM_ROLE 'arn:aws-cn:iam::123456789012:role/R'"
    )


def test_temporary_keys_with_and_without_token() -> None:
    keys = TemporaryKeys(access_key_id="TESTACCESSKEYID00000", secret_access_key=SecretStr("s/k+1"))
    command = CopyCommand(table=TABLE, source=SRC, format=CsvFormat(), authorization=keys)
    check_parses(command)
    assert command.to_sql() == (
        f"COPY \"public\".\"kpis\" FROM '{SRC}' ACCESS_KEY_ID 'TESTACCESSKEYID00000' "
        f"SECRET_ACCESS_KEY 's/k+1' FORMAT AS CSV {TAIL}"
    )
    with_token = TemporaryKeys(
        access_key_id="ASIAIOSFODNN7EXAMPLE",
        secret_access_key=SecretStr("s'k"),
        session_token=SecretStr("tok\\en"),
    )
    command = CopyCommand(table=TABLE, source=SRC, format=CsvFormat(), authorization=with_token)
    check_parses(command)
    assert command.to_sql() == (
        f"COPY \"public\".\"kpis\" FROM '{SRC}' ACCESS_KEY_ID 'ASIAIOSFODNN7EXAMPLE' "
        f"SECRET_ACCESS_KEY 's''k' SESSION_TOKEN 'tok\\\\en' FORMAT AS CSV {TAIL}"
    )
    assert command.redacted() == (
        f"COPY \"public\".\"kpis\" FROM '{SRC}' ACCESS_KEY_ID 'ASIAIOSFODNN7EXAMPLE' "
        f"SECRET_ACCESS_KEY '***' SESSION_TOKEN '***' FORMAT AS CSV {TAIL}"
    )
    values = {
        p.this.name: p.args["expression"].this for p in parsed(command.to_sql()).args["params"]
    }
    assert values["SECRET_ACCESS_KEY"] == "s'k"
    assert values["SESSION_TOKEN"] == "tok\\en"


def test_region_manifest_and_column_list() -> None:
    sql = build(
        CsvFormat(),
        source="s3://my-bucket/_s3redshift/manifests/batch-1.json",
        manifest=True,
        region="us-gov-west-1",
        columns=("ID", "ts", "value"),
    )
    assert sql == (
        'COPY "public"."kpis" ("id", "ts", "value") FROM '
        "'s3://my-bucket/_s3redshift/manifests/batch-1.json' IAM_ROLE default FORMAT AS CSV "
        f"REGION AS 'us-gov-west-1' MANIFEST {TAIL}"
    )


@pytest.mark.parametrize(
    "source",
    [
        "my-bucket/a.csv",
        "s3:/my-bucket/a",
        "S3://my-bucket/a",
        "s3://ab/a",
        "s3:///a",
        "s3://b b/x",
    ],
)
def test_source_must_be_an_s3_uri(source: str) -> None:
    with pytest.raises(CopyOptionsError, match="FROM"):
        CopyCommand(table=TABLE, source=source, format=CsvFormat(), authorization=DEFAULT_ROLE)


@pytest.mark.parametrize("source", ["s3://my-bucket/a\x00b", "s3://my-bucket/\ud800"])
def test_source_that_no_literal_can_carry(source: str) -> None:
    with pytest.raises(CopyOptionsError, match="FROM"):
        CopyCommand(table=TABLE, source=source, format=CsvFormat(), authorization=DEFAULT_ROLE)


@pytest.mark.parametrize("region", ["EU-WEST-1", "eu-west", "eu-west-1'", ""])
def test_region_must_look_like_one(region: str) -> None:
    with pytest.raises(CopyOptionsError, match="REGION"):
        CopyCommand(
            table=TABLE, source=SRC, format=CsvFormat(), authorization=DEFAULT_ROLE, region=region
        )


def test_unsafe_column_is_refused_with_object_and_table() -> None:
    with pytest.raises(UnsafeIdentifierError) as caught:
        CopyCommand(
            table=TABLE,
            source=SRC,
            format=CsvFormat(),
            authorization=DEFAULT_ROLE,
            columns=("ok", 'x"); DROP TABLE t; --'),
        )
    assert caught.value.s3_uri == SRC
    assert caught.value.table == "public.kpis"


def test_key_with_quotes_backslashes_and_newline_is_one_literal() -> None:
    source = "s3://my-bucket/it's\\a;\n-- 'x'.csv"
    sql = build(CsvFormat(), source=source)
    assert sql == (
        "COPY \"public\".\"kpis\" FROM 's3://my-bucket/it''s\\\\a;\n-- ''x''.csv' "
        f"IAM_ROLE default FORMAT AS CSV {TAIL}"
    )


# --- invalid combinations: one test per rule ----------------------------------


def assert_names_both(error: CopyOptionsError, first: str, second: str) -> None:
    assert first in error.message
    assert second in error.message


def test_ignoreheader_with_parquet() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        ParquetFormat.model_validate({"type": "parquet", "ignore_header": 1})
    assert_names_both(caught.value, "IGNOREHEADER", "PARQUET")


def test_ignoreheader_with_orc() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        OrcFormat.model_validate({"ignore_header": 1})
    assert_names_both(caught.value, "IGNOREHEADER", "ORC")


@pytest.mark.parametrize(
    ("option", "keyword"), [("escape", "ESCAPE"), ("remove_quotes", "REMOVEQUOTES")]
)
def test_escape_and_removequotes_with_csv(option: str, keyword: str) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        check_compatible(CsvFormat(), CopyOptions.model_validate({option: True}))
    assert_names_both(caught.value, keyword, "CSV")


def test_escape_and_removequotes_are_fine_with_delimited_text() -> None:
    check_compatible(DelimitedFormat(), CopyOptions(escape=True, remove_quotes=True))


def test_quote_only_with_csv() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        DelimitedFormat.model_validate({"quote": "'"})
    assert_names_both(caught.value, "QUOTE", "DELIMITER (delimited text)")
    with pytest.raises(CopyOptionsError) as caught:
        JsonFormat.model_validate({"quote": "'"})
    assert_names_both(caught.value, "QUOTE", "JSON")


def test_fixedwidth_with_delimiter() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        FixedWidthFormat.model_validate({"widths": "a:1", "delimiter": ","})
    assert_names_both(caught.value, "DELIMITER", "FIXEDWIDTH")


def test_fixedwidth_with_csv() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        CsvFormat.model_validate({"widths": "a:1"})
    assert_names_both(caught.value, "FIXEDWIDTH", "CSV")


def test_fixedwidth_with_escape() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        check_compatible(FixedWidthFormat(widths="a:1"), CopyOptions(escape=True))
    assert_names_both(caught.value, "ESCAPE", "FIXEDWIDTH")


@pytest.mark.parametrize("fmt", [JsonFormat(), AvroFormat()])
@pytest.mark.parametrize(
    ("option", "keyword"),
    [
        ("escape", "ESCAPE"),
        ("fill_record", "FILLRECORD"),
        ("ignore_blank_lines", "IGNOREBLANKLINES"),
        ("remove_quotes", "REMOVEQUOTES"),
    ],
)
def test_json_and_avro_refuse_text_options(fmt: FileFormat, option: str, keyword: str) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        check_compatible(fmt, CopyOptions.model_validate({option: True}))
    assert_names_both(caught.value, keyword, fmt.type.upper())


@pytest.mark.parametrize("model", [JsonFormat, AvroFormat])
def test_json_and_avro_refuse_null_as(model: type[JsonFormat | AvroFormat]) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        model.model_validate({"null_as": ""})
    assert_names_both(caught.value, "NULL AS", model.keyword)


@pytest.mark.parametrize("model", [ParquetFormat, OrcFormat])
@pytest.mark.parametrize(
    ("fields", "keyword"),
    [
        ({"accept_any_date": True}, "ACCEPTANYDATE"),
        ({"blanks_as_null": True}, "BLANKSASNULL"),
        ({"date_format": "auto"}, "DATEFORMAT"),
        ({"empty_as_null": True}, "EMPTYASNULL"),
        ({"encoding": "UTF8"}, "ENCODING"),
        ({"escape": True}, "ESCAPE"),
        ({"ignore_blank_lines": True}, "IGNOREBLANKLINES"),
        ({"remove_quotes": True}, "REMOVEQUOTES"),
        ({"round_dec": True}, "ROUNDEC"),
        ({"time_format": "auto"}, "TIMEFORMAT"),
        ({"trim_blanks": True}, "TRIMBLANKS"),
        ({"truncate_columns": True}, "TRUNCATECOLUMNS"),
        ({"comp_rows": 5000}, "COMPROWS"),
        ({"comp_update": True}, "COMPUPDATE"),
        ({"comp_update": "preset"}, "COMPUPDATE"),
        ({"ignore_all_errors": True}, "IGNOREALLERRORS"),
        ({"max_error": 1}, "MAXERROR"),
        ({"no_load": True}, "NOLOAD"),
    ],
)
def test_columnar_refuses_all_but_four_options(
    model: type[ParquetFormat | OrcFormat], fields: dict[str, object], keyword: str
) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        check_compatible(model(), CopyOptions.model_validate(fields))
    assert_names_both(caught.value, keyword, model.keyword)


def test_maxerror_with_ignoreallerrors() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        CopyOptions(max_error=5, ignore_all_errors=True)
    assert_names_both(caught.value, "MAXERROR", "IGNOREALLERRORS")
    assert "max_error = 0" in caught.value.message  # the fix


@pytest.mark.parametrize("model", [ParquetFormat, OrcFormat, AvroFormat])
@pytest.mark.parametrize("setting", ["gzip", "bzip2", "zstd", "lzop"])
def test_compression_keyword_settings_with_self_compressed_formats(
    model: type[ParquetFormat | OrcFormat | AvroFormat], setting: str
) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        model.model_validate({"compression": setting})
    assert_names_both(caught.value, setting.upper(), model.keyword)


@pytest.mark.parametrize("fmt", [ParquetFormat(), OrcFormat(), AvroFormat()])
def test_compression_keyword_with_self_compressed_formats(fmt: FileFormat) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        CopyCommand(
            table=TABLE,
            source=SRC,
            format=fmt,
            authorization=DEFAULT_ROLE,
            compression=Compression.GZIP,
        )
    assert_names_both(caught.value, "GZIP", fmt.type.upper())
    assert caught.value.s3_uri == SRC


@pytest.mark.parametrize("fmt", [ParquetFormat(), OrcFormat()])
def test_region_with_columnar(fmt: FileFormat) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        CopyCommand(
            table=TABLE, source=SRC, format=fmt, authorization=DEFAULT_ROLE, region="eu-west-1"
        )
    assert_names_both(caught.value, "REGION", fmt.type.upper())


def test_resolved_compression_must_match_an_explicit_setting() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        CopyCommand(
            table=TABLE,
            source=SRC,
            format=CsvFormat(compression="gzip"),
            authorization=DEFAULT_ROLE,
            compression=Compression.BZIP2,
        )
    assert_names_both(caught.value, "BZIP2", "compression = 'gzip'")
    with pytest.raises(CopyOptionsError):
        CopyCommand(
            table=TABLE,
            source=SRC,
            format=CsvFormat(compression="zstd"),
            authorization=DEFAULT_ROLE,
        )


@pytest.mark.parametrize("delimiter", ["", ";;", "é", "\\36", "\\038", "\\0366", "\x00", "\\t"])
def test_delimiter_is_one_ascii_character_or_octal(delimiter: str) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        DelimitedFormat(delimiter=delimiter)
    assert_names_both(caught.value, "DELIMITER", "'\\ddd'")
    with pytest.raises(CopyOptionsError):
        CsvFormat(delimiter=delimiter)


@pytest.mark.parametrize("delimiter", ["\t", "\x1f", "~", "\\001", "\\177"])
def test_valid_delimiters(delimiter: str) -> None:
    assert DelimitedFormat(delimiter=delimiter).delimiter == delimiter


@pytest.mark.parametrize("quote", ["", "''", "\x00"])
def test_csv_quote_is_one_character(quote: str) -> None:
    with pytest.raises(CopyOptionsError, match="QUOTE"):
        CsvFormat(quote=quote)


@pytest.mark.parametrize("model", [CsvFormat, DelimitedFormat])
def test_null_as_newline(model: type[CsvFormat | DelimitedFormat]) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        model(null_as="\n")
    assert_names_both(caught.value, "NULL AS", "newline")
    with pytest.raises(CopyOptionsError):
        FixedWidthFormat(widths="a:1", null_as="\n")


@pytest.mark.parametrize(
    "paths",
    [
        "AUTO",
        "Auto ignorecase",
        "auto  ignorecase",
        "",
        "http://my-bucket/p.json",
        "s3://my-bucket",
        "s3://my-bucket/",
        "s3://my-bucket/paths/",
        "s3://b/p.json",
    ],
)
def test_json_paths_values(paths: str) -> None:
    with pytest.raises(CopyOptionsError, match="json_paths"):
        JsonFormat(json_paths=paths)
    with pytest.raises(CopyOptionsError, match="json_paths"):
        AvroFormat(json_paths=paths)


def test_noshred_with_avro() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        AvroFormat(json_paths="noshred")
    assert_names_both(caught.value, "noshred", "AVRO")


def test_jsonpaths_file_under_the_from_prefix() -> None:
    fmt = JsonFormat(json_paths="s3://my-bucket/data/kpis.jsonpaths")
    with pytest.raises(CopyOptionsError) as caught:
        CopyCommand(
            table=TABLE, source="s3://my-bucket/data/kpis", format=fmt, authorization=DEFAULT_ROLE
        )
    assert_names_both(caught.value, "JSONPaths", "FROM")
    # Through a manifest the prefix rule does not apply.
    assert build(fmt, source="s3://my-bucket/data/kpis", manifest=True) == (
        'COPY "public"."kpis" FROM \'s3://my-bucket/data/kpis\' IAM_ROLE default FORMAT AS JSON '
        f"'s3://my-bucket/data/kpis.jsonpaths' MANIFEST {TAIL}"
    )


@pytest.mark.parametrize(
    ("fields", "keyword"),
    [
        ({"time_format": "EPOCHSECS"}, "TIMEFORMAT"),
        ({"time_format": "Auto"}, "TIMEFORMAT"),
        ({"time_format": ""}, "TIMEFORMAT"),
        ({"date_format": "AUTO"}, "DATEFORMAT"),
        ({"accept_inv_chars": "??"}, "ACCEPTINVCHARS"),
        ({"accept_inv_chars": "é"}, "ACCEPTINVCHARS"),
        ({"accept_inv_chars": ""}, "ACCEPTINVCHARS"),
    ],
)
def test_option_values(fields: dict[str, object], keyword: str) -> None:
    with pytest.raises(CopyOptionsError, match=keyword):
        CopyOptions.model_validate(fields)


def test_format_strings_are_kept_as_written() -> None:
    options = CopyOptions(time_format="YYYY-MM-DD HH:MI:SS", date_format="DD/MM/YYYY")
    assert "TIMEFORMAT AS 'YYYY-MM-DD HH:MI:SS'" in build(CsvFormat(), options=options)


@pytest.mark.parametrize("widths", ["", "a", "a:0", "a:-1", "a:x", ":3", "a,b:3"])
def test_fixedwidth_spec(widths: str) -> None:
    with pytest.raises((CopyOptionsError, ValidationError)):
        FixedWidthFormat(widths=widths)


def test_duplicate_column() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        check_compatible(CsvFormat(), CopyOptions(), columns=("id", "ID"))
    assert "'id'" in caught.value.message


# --- secrets ---------------------------------------------------------------------


def sentinel_keys() -> TemporaryKeys:
    return TemporaryKeys(
        access_key_id="TESTACCESSKEYID00000",
        secret_access_key=SecretStr(SENTINEL),
        session_token=SecretStr(SENTINEL),
    )


def test_secrets_never_leave_the_sql() -> None:
    keys = sentinel_keys()
    command = CopyCommand(table=TABLE, source=SRC, format=CsvFormat(), authorization=keys)
    assert command.to_sql().count(SENTINEL) == 2
    shown = [
        str(command),
        repr(command),
        command.redacted(),
        repr(keys),
        str(keys),
        keys.model_dump_json(),
        f"{command}",
    ]
    for text in shown:
        assert SENTINEL not in text
    assert "TESTACCESSKEYID00000" in command.redacted()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"options": CopyOptions(escape=True)},
        {"region": "nowhere"},
        {"source": "ftp://x/y"},
        {"format": ParquetFormat(), "compression": Compression.GZIP},
        {"columns": ("a", "a")},
        {"columns": ("bad name",)},
    ],
)
def test_errors_while_building_with_keys_do_not_show_them(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "table": TABLE,
        "source": SRC,
        "format": CsvFormat(),
        "authorization": sentinel_keys(),
        **kwargs,
    }
    with pytest.raises((CopyOptionsError, UnsafeIdentifierError)) as caught:
        CopyCommand(**arguments)  # type: ignore[arg-type]
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert SENTINEL not in text


@pytest.mark.parametrize(
    "fields",
    [
        {"access_key_id": "short", "secret_access_key": SENTINEL, "session_token": SENTINEL},
        {"access_key_id": "TESTACCESSKEYID00000", "secret_key": SENTINEL},
        {"secret_access_key": SENTINEL, "session_token": SENTINEL},
        {
            "access_key_id": "TESTACCESSKEYID00000",
            "secret_access_key": 1,
            "session_token": SENTINEL,
        },
        {"access_key_id": "TESTACCESSKEYID00000", "secret_access_key": SENTINEL + "\x00"},
        {
            "access_key_id": "TESTACCESSKEYID00000",
            "secret_access_key": SENTINEL,
            "session_token": "",
        },
    ],
)
def test_validation_errors_of_keys_do_not_show_them(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        TemporaryKeys.model_validate(fields)
    assert SENTINEL not in str(caught.value)
    assert SENTINEL not in repr(caught.value)
    assert SENTINEL not in repr(caught.value.errors())


# --- determinism -------------------------------------------------------------------


def test_same_input_same_text() -> None:
    def make() -> CopyCommand:
        return CopyCommand(
            table=TableRef("Analytics", "Events"),
            source="s3://my-bucket/events/x.json.gz",
            format=JsonFormat.model_validate({"type": "json", "json_paths": "auto ignorecase"}),
            authorization=IamRole(arns=[ROLE, ROLE2]),
            compression=resolve_compression(JsonFormat(), "x.json.gz"),
            region="eu-west-1",
            columns=("id", "payload"),
            options=CopyOptions.model_validate(
                {"truncate_columns": True, "time_format": "auto", "max_error": 10}
            ),
        )

    first, second = make(), make()
    assert first == second
    assert hash(first) == hash(second)
    assert first.to_sql() == second.to_sql()
    assert first.to_sql() == (
        'COPY "analytics"."events" ("id", "payload") FROM \'s3://my-bucket/events/x.json.gz\' '
        f"IAM_ROLE '{ROLE},{ROLE2}' FORMAT AS JSON 'auto ignorecase' GZIP REGION AS 'eu-west-1' "
        "TIMEFORMAT AS 'auto' TRUNCATECOLUMNS COMPUPDATE OFF MAXERROR AS 10 STATUPDATE OFF"
    )
    check_parses(first)


# --- arbitrary keys and table names ---------------------------------------------

_NASTY = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("'\";\\\n\r\t -_$.é€𝄞\u2028\x00/")),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
)
_NAMES = st.one_of(_NASTY, st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,10}", fullmatch=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_NAMES, table=_NAMES, key=_NASTY, columns=st.lists(_NAMES, max_size=3))
def test_any_key_and_table_either_fail_typed_or_parse_exactly(
    schema: str, table: str, key: str, columns: list[str]
) -> None:
    source = "s3://bucket/" + key
    try:
        ref = TableRef(schema, table)
        command = CopyCommand(
            table=ref,
            source=source,
            format=CsvFormat(),
            authorization=DEFAULT_ROLE,
            columns=tuple(columns),
        )
    except (UnsafeIdentifierError, CopyOptionsError):
        assert "\x00" in key or not _all_valid(schema, table, columns) or _duplicate(columns)
        return
    copy = check_parses(command)
    target = copy.this.this if columns else copy.this
    assert (target.db, target.name) == (ref.schema, ref.table)
    assert copy.args["files"][0].this == source


def _all_valid(schema: str, table: str, columns: list[str]) -> bool:
    try:
        TableRef(schema, table)
        for column in columns:
            validate_identifier(column)
    except UnsafeIdentifierError:
        return False
    return True


def _duplicate(columns: list[str]) -> bool:
    folded = [validate_identifier(c) for c in columns]
    return len(set(folded)) != len(folded)


def test_every_literal_reads_back_as_written() -> None:
    # sqlglot's Redshift reader undoes quote_literal (\\ -> \, '' -> '), so each
    # parameter literal must come back exactly as configured.
    fmt = CsvFormat(quote="'", delimiter="\\", null_as="\\N'x", ignore_header=1)
    options = CopyOptions(accept_inv_chars="'", date_format="YYYY'MM", time_format="\\HH")
    command = CopyCommand(
        table=TABLE, source=SRC, format=fmt, authorization=IamRole(arns=ROLE), options=options
    )
    copy = check_parses(command)
    literals = [
        p.args["expression"].this
        for p in copy.args["params"]
        if isinstance(p.args.get("expression"), exp.Literal) and p.args["expression"].is_string
    ]
    assert literals == ["'", "\\", "'", "YYYY'MM", "\\N'x", "\\HH"]
    assert copy.args["credentials"].args["iam_role"].this == ROLE


class _Config(BaseModel):
    """A configuration model holding an authorization, as the loader's config does."""

    authorization: Authorization


@pytest.mark.parametrize(
    "value",
    [
        {"access_key_id": "bad", "secret_access_key": SENTINEL, "session_token": SENTINEL},
        {"secret_access_key": SENTINEL},
        {"access_key_id": "TESTACCESSKEYID00000", "secret_access_key": SENTINEL, "token": SENTINEL},
        {"arns": "default", "secret_access_key": SENTINEL},
        {"arns": "arn:aws:iam::1:role/R", "session_token": SENTINEL},
    ],
)
def test_nested_authorization_errors_do_not_show_keys(value: dict[str, object]) -> None:
    # Nested in another model, hide_input_in_errors no longer applies: only
    # masking the input before validation keeps the secret out.
    with pytest.raises(ValidationError) as caught:
        _Config.model_validate({"authorization": value})
    assert SENTINEL not in str(caught.value)
    assert SENTINEL not in repr(caught.value.errors())


def test_authorization_is_picked_by_its_keys() -> None:
    role = _Config.model_validate({"authorization": {"arns": ROLE}}).authorization
    assert role == IamRole(arns=ROLE)
    keys = _Config.model_validate(
        {"authorization": {"access_key_id": "TESTACCESSKEYID00000", "secret_access_key": "x"}}
    ).authorization
    assert isinstance(keys, TemporaryKeys)
    assert keys.secret_access_key.get_secret_value() == "x"


def test_copy_into_a_session_temporary_table() -> None:
    # Upsert stages into a temporary table, which Redshift refuses to qualify.
    staging = TableRef.temporary("Stage_KPIs")
    assert build(CsvFormat(), table=staging) == (
        f"COPY \"stage_kpis\" FROM '{SRC}' IAM_ROLE default FORMAT AS CSV {TAIL}"
    )
    with pytest.raises(CopyOptionsError) as caught:
        CopyCommand(
            table=staging,
            source=SRC,
            format=CsvFormat(),
            authorization=DEFAULT_ROLE,
            options=CopyOptions(escape=True),
        )
    assert caught.value.table == "stage_kpis"


def test_csv_quote_and_delimiter_must_differ() -> None:
    with pytest.raises(CopyOptionsError) as info:
        CsvFormat(quote=",", delimiter=",")
    assert "QUOTE" in str(info.value)
    assert "DELIMITER" in str(info.value)


def test_a_secret_of_the_wrong_type_is_not_echoed_in_nested_errors() -> None:
    from pydantic import BaseModel, ValidationError

    class Holder(BaseModel):
        auth: TemporaryKeys

    sentinel = "SENTINEL-NESTED-7a1f"
    with pytest.raises(ValidationError) as info:
        Holder.model_validate(
            {"auth": {"access_key_id": "TESTACCESSKEYID00000", "secret_access_key": [sentinel]}}
        )
    assert sentinel not in str(info.value)
    assert sentinel not in repr(info.value.errors())
