"""COPY rules checked against the Redshift Developer Guide, one test per rule.

* IGNOREHEADER is a data-conversion parameter that COPY accepts with JSON
  (``copy-parameters-data-conversion``); it is written at its place in the
  alphabetical run of those parameters, as for the other text formats.
* Fixed-width files must be UTF-8 (ENCODING): any UTF-16 variant is refused.
* A TIMEFORMAT string may not contain a time-zone specifier (TZ, tz or OF)
  (``r_DATEFORMAT_and_TIMEFORMAT_strings``): 'auto' reads TIMESTAMPTZ offsets.
"""

from __future__ import annotations

import pytest
import sqlglot
from pydantic import ValidationError
from sqlglot import exp

from s3redshift.copy import (
    AvroFormat,
    CopyCommand,
    CopyOptions,
    CsvFormat,
    FixedWidthFormat,
    IamRole,
    JsonFormat,
    check_compatible,
)
from s3redshift.errors import CopyOptionsError
from s3redshift.identifiers import TableRef

TABLE = TableRef("public", "events")
SRC = "s3://my-bucket/events/2026/11/a.json"
HEAD = f'COPY "public"."events" FROM \'{SRC}\' IAM_ROLE default'
TAIL = "COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF"


def build(fmt: JsonFormat | FixedWidthFormat | CsvFormat, options: CopyOptions) -> str:
    command = CopyCommand(
        table=TABLE,
        source=SRC,
        format=fmt,
        authorization=IamRole(arns="default"),
        options=options,
    )
    sql = command.to_sql()
    [statement] = sqlglot.parse(sql, read="redshift")
    assert isinstance(statement, exp.Copy)
    assert statement.this.sql(dialect="redshift") == '"public"."events"'
    assert [f.this for f in statement.args["files"]] == [SRC]
    return sql


# --- IGNOREHEADER with JSON ----------------------------------------------------------


def test_json_takes_ignoreheader_in_the_data_conversion_run() -> None:
    fmt = JsonFormat(ignore_header=1)
    assert build(fmt, CopyOptions()) == f"{HEAD} FORMAT AS JSON 'auto' IGNOREHEADER AS 1 {TAIL}"
    options = CopyOptions(blanks_as_null=True, time_format="auto", truncate_columns=True)
    assert build(JsonFormat(json_paths="auto ignorecase", ignore_header=2), options) == (
        f"{HEAD} FORMAT AS JSON 'auto ignorecase' BLANKSASNULL IGNOREHEADER AS 2 "
        f"TIMEFORMAT AS 'auto' TRUNCATECOLUMNS {TAIL}"
    )


def test_json_ignoreheader_reads_from_the_configuration_form() -> None:
    fmt = JsonFormat.model_validate({"type": "json", "json_paths": "auto", "ignore_header": 3})
    assert fmt.ignore_header == 3
    assert JsonFormat().ignore_header == 0
    with pytest.raises(ValidationError):
        JsonFormat.model_validate({"ignore_header": -1})


def test_avro_still_refuses_ignoreheader() -> None:
    with pytest.raises(CopyOptionsError) as caught:
        AvroFormat.model_validate({"ignore_header": 1})
    assert "IGNOREHEADER (ignore_header)" in caught.value.message
    assert "AVRO (type = 'avro')" in caught.value.message


# --- FIXEDWIDTH is UTF-8 only ---------------------------------------------------------


@pytest.mark.parametrize("encoding", ["UTF16", "UTF16LE", "UTF16BE"])
def test_fixedwidth_refuses_utf16(encoding: str) -> None:
    fmt = FixedWidthFormat(widths="id:3,name:25")
    options = CopyOptions.model_validate({"encoding": encoding})
    expected = (
        f"ENCODING (encoding = {encoding!r}) cannot be used with FIXEDWIDTH "
        "(type = 'fixedwidth'): fixed-width files must be UTF-8, since the widths count "
        "UTF-8 characters; convert the files to UTF-8 and set encoding = 'UTF8' or leave "
        "it out"
    )
    with pytest.raises(CopyOptionsError) as caught:
        check_compatible(fmt, options)
    assert caught.value.message == expected
    with pytest.raises(CopyOptionsError) as caught:
        CopyCommand(
            table=TABLE,
            source=SRC,
            format=fmt,
            authorization=IamRole(arns="default"),
            options=options,
        )
    assert caught.value.message == expected
    assert caught.value.table == "public.events"


def test_fixedwidth_with_utf8_and_csv_with_utf16_are_fine() -> None:
    assert build(FixedWidthFormat(widths="id:3"), CopyOptions(encoding="UTF8")) == (
        f"{HEAD} FIXEDWIDTH 'id:3' ENCODING AS UTF8 {TAIL}"
    )
    assert build(CsvFormat(), CopyOptions(encoding="UTF16BE")) == (
        f"{HEAD} FORMAT AS CSV ENCODING AS UTF16BE {TAIL}"
    )


# --- TIMEFORMAT without a time zone ---------------------------------------------------


@pytest.mark.parametrize(
    ("time_format", "specifier"),
    [
        ("YYYY-MM-DD HH:MI:SSOF", "OF"),
        ("YYYY-MM-DD HH:MI:SS TZ", "TZ"),
        ("YYYY-MM-DD HH24:MI:SS tz", "tz"),
        ("MM/DD/YYYY HH:MI:SS.SSOF", "OF"),
    ],
)
def test_timeformat_refuses_a_time_zone_specifier(time_format: str, specifier: str) -> None:
    with pytest.raises(CopyOptionsError) as caught:
        CopyOptions(time_format=time_format)
    assert caught.value.message == (
        f"TIMEFORMAT (time_format = {time_format!r}) contains the time-zone specifier "
        f"{specifier!r}: COPY does not accept TZ, tz or OF in a TIMEFORMAT string; remove it, "
        "or use time_format = 'auto', which reads TIMESTAMPTZ values with their UTC offset"
    )


@pytest.mark.parametrize(
    "time_format",
    ["YYYY-MM-DD HH:MI:SS", "MON DD YYYY HH12:MI:SS AM", "YYYY-MM-DDTHH:MI:SS", "epochsecs"],
)
def test_timeformat_without_a_time_zone_is_kept(time_format: str) -> None:
    sql = build(CsvFormat(), CopyOptions(time_format=time_format))
    assert f"TIMEFORMAT AS '{time_format}'" in sql
