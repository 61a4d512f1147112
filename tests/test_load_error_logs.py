"""The reads of a COPY's rejected rows from Redshift's two load error logs: exact text, parsed.

Column names as the Redshift Developer Guide gives them (STL_LOAD_ERRORS:
query, filename, line_number, colname, err_reason, err_code;
SYS_LOAD_ERROR_DETAIL: query_id, file_name, line_number, column_name,
error_message, error_code).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from s3redshift.load_error_logs import load_errors_sql
from s3redshift.transports.connector import STL_LOAD_ERRORS_SQL, SYS_LOAD_ERRORS_SQL


def test_the_connectors_reads_of_the_last_copy_are_the_logs_own_columns() -> None:
    assert SYS_LOAD_ERRORS_SQL == (
        "SELECT file_name, line_number, column_name, error_message, error_code "
        "FROM sys_load_error_detail WHERE query_id = pg_last_copy_id() "
        "ORDER BY line_number LIMIT 100"
    )
    assert STL_LOAD_ERRORS_SQL == (
        "SELECT filename, line_number, colname, err_reason, err_code "
        "FROM stl_load_errors WHERE query = pg_last_copy_id() "
        "ORDER BY line_number LIMIT 100"
    )


def test_a_read_by_query_id_orders_by_file_then_line_and_parses_as_redshift() -> None:
    qid = "CAST('42' AS BIGINT)"
    sys_read = load_errors_sql("sys", qid, limit=7, by_file=True)
    stl_read = load_errors_sql("stl", qid, limit=7, by_file=True)
    assert sys_read.endswith(
        "WHERE query_id = CAST('42' AS BIGINT) ORDER BY file_name, line_number LIMIT 7"
    )
    assert stl_read.endswith(
        "WHERE query = CAST('42' AS BIGINT) ORDER BY filename, line_number LIMIT 7"
    )
    for sql in (sys_read, stl_read, SYS_LOAD_ERRORS_SQL, STL_LOAD_ERRORS_SQL):
        assert isinstance(sqlglot.parse_one(sql, read="redshift"), exp.Select)
