"""The SQL of rejected rows kept: exact text, Redshift's grammar, and which error log.

No database: the statements are compared with the text Redshift's documentation
leads to (STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL column names, pg_last_copy_id()),
and parsed with sqlglot's Redshift dialect, as the other SQL tests do.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from s3redshift.config import LoaderConfig
from s3redshift.copy import CopyCommand, CopyOptions, CsvFormat, IamRole, JsonFormat, ParquetFormat
from s3redshift.errors import CopyOptionsError
from s3redshift.identifiers import TableRef
from s3redshift.mapping import MappingRule
from s3redshift.rejects import (
    create_rejects_sql,
    error_log_for,
    record_rejects_sql,
    rejected_counts_sql,
    rejects_by_batch_sql,
    rejects_table_for,
    select_rejects_sql,
)

REJECTS = rejects_table_for("s3redshift")
TARGET = TableRef("public", "kpis")
COLUMNS = (
    '"bucket", "object_key", "object_identity", "file_name", "target_table", "batch_id", '
    '"line_number", "column_name", "raw_line", "reason", "error_code", "rejected_at"'
)
JOIN = (
    "LEFT JOIN \"s3redshift_batch\" AS b ON RTRIM(e.{file}) = 's3://' || b.\"bucket\" || '/' "
    '|| b."object_key"'
)


def parsed(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="redshift")


STL_SELECT = (
    'SELECT b."bucket", b."object_key", b."object_identity", RTRIM(e.filename), '
    "'public.kpis', 'b1', e.line_number, RTRIM(e.colname), RTRIM(e.raw_line), "
    "RTRIM(e.err_reason), CAST(e.err_code AS VARCHAR(32)), "
    "CAST('2026-12-07 19:00:00' AS TIMESTAMP) "
    f"FROM stl_load_errors AS e {JOIN.format(file='filename')} "
    "WHERE e.query = pg_last_copy_id()"
)
"""Provisioned: STL_LOAD_ERRORS, its raw line kept."""

SYS_SELECT = (
    'SELECT b."bucket", b."object_key", b."object_identity", RTRIM(e.file_name), '
    "'public.kpis', 'b1', e.line_number, RTRIM(e.column_name), CAST(NULL AS VARCHAR), "
    "RTRIM(e.error_message), CAST(e.error_code AS VARCHAR(32)), "
    "CAST('2026-12-07 19:00:00' AS TIMESTAMP) "
    f"FROM sys_load_error_detail AS e {JOIN.format(file='file_name')} "
    "WHERE e.query_id = pg_last_copy_id()"
)
"""Serverless: SYS_LOAD_ERROR_DETAIL, which has no raw line."""


@pytest.mark.parametrize(
    ("log", "select", "relation"),
    [("stl", STL_SELECT, "stl_load_errors"), ("sys", SYS_SELECT, "sys_load_error_detail")],
)
def test_the_insert_reads_the_error_log_of_the_last_copy(
    log: Any, select: str, relation: str
) -> None:
    sql = record_rejects_sql(REJECTS, TARGET, "b1", "2026-12-07 19:00:00", log)
    assert sql == f'INSERT INTO "s3redshift"."load_rejects" ({COLUMNS}) {select}'
    tree = parsed(sql)
    assert isinstance(tree, exp.Insert)
    assert {t.name for t in tree.find_all(exp.Table)} >= {"load_rejects", relation}
    assert any(f.name.lower() == "pg_last_copy_id" for f in tree.find_all(exp.Anonymous))


def test_the_table_and_the_reads_parse_as_redshift() -> None:
    create = create_rejects_sql(REJECTS)
    assert create.startswith('CREATE TABLE IF NOT EXISTS "s3redshift"."load_rejects" (')
    assert '"raw_line" VARCHAR(1024)' in create
    assert isinstance(parsed(create), exp.Create)
    counts = rejected_counts_sql(REJECTS, "b'1")
    assert counts == (
        'SELECT "file_name", COUNT(*) FROM "s3redshift"."load_rejects" '
        "WHERE \"batch_id\" = 'b''1' GROUP BY \"file_name\""
    )
    listing = select_rejects_sql(REJECTS, target="public.kpis", bucket="b", key="k'.csv", limit=5)
    assert "(\"bucket\" = 'b' AND \"object_key\" = 'k''.csv')" in listing
    assert "OR \"file_name\" = 's3://b/k''.csv'" in listing
    assert listing.endswith(
        'ORDER BY "rejected_at" DESC, "file_name" ASC, "line_number" ASC LIMIT 5'
    )
    by_batch = rejects_by_batch_sql(REJECTS, "b", "k'.csv")
    assert by_batch == (
        'SELECT "batch_id", COUNT(*) FROM "s3redshift"."load_rejects" '
        "WHERE ((\"bucket\" = 'b' AND \"object_key\" = 'k''.csv') "
        "OR \"file_name\" = 's3://b/k''.csv') GROUP BY \"batch_id\""
    )
    for sql in (counts, listing, by_batch):
        assert isinstance(parsed(sql), exp.Select)


def _config(target: dict[str, Any]) -> LoaderConfig:
    return LoaderConfig.from_mapping({"target": target, "copy": {"iam_role": "default"}})


@pytest.mark.parametrize(
    ("target", "log"),
    [
        ({"transport": "data-api", "cluster_identifier": "analytics"}, "stl"),
        ({"transport": "data-api", "workgroup": "analytics-wg"}, "sys"),
        (
            {
                "transport": "connector",
                "host": "wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com",
            },
            "sys",
        ),
        ({"transport": "connector", "host": "c.abc.eu-west-1.redshift.amazonaws.com"}, "stl"),
        ({"transport": "connector", "host": "10.0.0.5", "workgroup": "analytics-wg"}, "sys"),
        ({"transport": "connector", "host": "redshift-serverless.example.com"}, "stl"),
    ],
)
def test_the_error_log_follows_the_warehouse_the_target_names(
    target: dict[str, Any], log: str
) -> None:
    assert error_log_for(_config(target)) == log


def test_skip_rows_writes_maxerror_as_max_rejected_rows() -> None:
    command = CopyCommand(
        table=TARGET,
        source="s3://bkt/k.csv",
        format=CsvFormat(ignore_header=1),
        authorization=IamRole(arns="default"),
        options=CopyOptions(on_error="skip_rows", max_rejected_rows=100000),
    )
    sql = command.to_sql()
    assert sql.endswith("IGNOREHEADER AS 1 COMPUPDATE OFF MAXERROR AS 100000 STATUPDATE OFF")
    assert isinstance(parsed(sql), exp.Copy)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_rejected_rows": 3}, 'on_error = "skip_rows"'),
        ({"on_error": "skip_rows"}, "needs max_rejected_rows"),
        ({"on_error": "skip_rows", "max_rejected_rows": 3, "max_error": 2}, "remove max_error"),
        ({"on_error": "skip_rows", "max_rejected_rows": 3, "ignore_all_errors": True}, "IGNORE"),
    ],
)
def test_inconsistent_error_options_are_refused_with_the_fix(
    options: dict[str, Any], named: str
) -> None:
    with pytest.raises(CopyOptionsError, match=named):
        CopyOptions(**options)


@pytest.mark.parametrize("limit", [0, 100001])
def test_max_rejected_rows_is_within_maxerror_bounds(limit: int) -> None:
    with pytest.raises(ValueError, match="max_rejected_rows"):
        CopyOptions(on_error="skip_rows", max_rejected_rows=limit)


@pytest.mark.parametrize("fmt", [{"type": "parquet"}, {"type": "orc"}, {"type": "avro"}])
def test_skip_rows_is_refused_for_formats_without_file_lines(fmt: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="text formats only"):
        MappingRule.model_validate(
            {
                "pattern": "{table}/**",
                "format": fmt,
                "options": {"on_error": "skip_rows", "max_rejected_rows": 3},
            }
        )


def test_skip_rows_takes_json_lines() -> None:
    rule = MappingRule.model_validate(
        {
            "pattern": "{table}/**",
            "format": {"type": "json"},
            "options": {"on_error": "skip_rows", "max_rejected_rows": 3},
        }
    )
    assert isinstance(rule.format, JsonFormat)
    assert not isinstance(rule.format, ParquetFormat)
