"""`s3redshift plan` shows a schema policy's DDL and `check` reports it, on the stand-in.

Both run as subprocesses against the embedded PostgreSQL and moto; neither
may change the table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from helpers import put
from test_check import line_of, marks
from test_cli_commands import Run, cli, config_file, s3_event
from test_loader import execute, rows

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["cli", "config_file"]  # fixtures shared with test_cli_commands

pytestmark = pytest.mark.standin

EVOLVE = '[tables.schema_policy]\nmatch = "name"\nevolve = ["add_columns", "widen"]\n'
CREATE = '[tables.schema_policy]\nmatch = "name"\ncreate = true\n'


def with_policy(config_file: Path, policy: str) -> None:
    config_file.write_text(config_file.read_text() + policy)


def event_file(tmp_path: Path, s3: S3Client, bucket: str, key: str, body: str) -> Path:
    obj = put(s3, bucket, key, body)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(s3_event(bucket, key, obj.size or 0, obj.etag or "")))
    return path


def columns(pg: Any) -> list[str]:
    return [
        str(r[0])
        for r in rows(
            pg,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'kpis' "
            "ORDER BY ordinal_position",
        )
    ]


def test_plan_shows_the_ddl_and_the_copy_by_name_and_changes_nothing(
    cli: Run, s3: S3Client, bucket: str, config_file: Path, pg: Any, tmp_path: Path
) -> None:
    with_policy(config_file, EVOLVE)
    event = event_file(
        tmp_path, s3, bucket, "kpis/a.csv", "name,id,city\n" + "b" * 30 + ",1,Oslo\n"
    )
    result = cli("plan", str(event))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("-- schema: run first, each statement on its own (outside the transaction)")
    assert lines[start + 1 : start + 3] == [
        'ALTER TABLE "public"."kpis" ADD COLUMN "city" VARCHAR(65535);',
        'ALTER TABLE "public"."kpis" ALTER COLUMN "name" TYPE VARCHAR(65535);',
    ]
    [copy] = [line for line in lines if line.startswith('COPY "public"."kpis"')]
    assert copy.startswith('COPY "public"."kpis" ("name", "id", "city") FROM ')
    document = json.loads(cli("plan", str(event), "--json").stdout)
    assert document["targets"][0]["ddl"] == [
        line.removesuffix(";") for line in lines[start + 1 : start + 3]
    ]
    assert columns(pg) == ["id", "name"]  # plan ran nothing


def test_plan_skips_a_file_that_cannot_load_saying_why(
    cli: Run, s3: S3Client, bucket: str, config_file: Path, tmp_path: Path
) -> None:
    with_policy(config_file, '[tables.schema_policy]\nmatch = "name"\n')
    event = event_file(tmp_path, s3, bucket, "kpis/a.csv", "id,name,city\n1,a,Oslo\n")
    result = cli("plan", str(event))
    assert result.returncode == 0, result.stderr
    assert "-- skipped" in result.stdout
    assert "'city' is not in table public.kpis" in result.stdout
    assert "-- nothing to load" in result.stdout


def test_plan_creates_a_missing_table(
    cli: Run, s3: S3Client, bucket: str, config_file: Path, pg: Any, tmp_path: Path
) -> None:
    execute(pg, "DROP TABLE kpis")
    with_policy(config_file, CREATE)
    event = event_file(tmp_path, s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    result = cli("plan", str(event))
    assert result.returncode == 0, result.stderr
    expected = 'CREATE TABLE IF NOT EXISTS "public"."kpis" ("id" BIGINT, "name" VARCHAR(256));'
    assert expected in result.stdout.splitlines()


def test_check_reports_the_columns_a_load_would_add(
    cli: Run, s3: S3Client, bucket: str, config_file: Path, pg: Any
) -> None:
    with_policy(config_file, EVOLVE)
    put(s3, bucket, "kpis/a.csv", "id,name,city\n1,a,Oslo\n")
    result = cli("check", f"s3://{bucket}/kpis/")
    assert result.returncode == 0, result.stdout + result.stderr
    line = line_of(result.stdout, "schema public.kpis")
    assert line == (
        f"\N{HEAVY CHECK MARK} schema public.kpis: a load of s3://{bucket}/kpis/a.csv "
        "adds column(s) city"
    )
    assert columns(pg) == ["id", "name"]


def test_check_says_the_first_load_creates_a_missing_table(
    cli: Run, s3: S3Client, bucket: str, config_file: Path, pg: Any
) -> None:
    execute(pg, "DROP TABLE kpis")
    with_policy(config_file, CREATE)
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    result = cli("check", f"s3://{bucket}/kpis/")
    assert result.returncode == 0, result.stdout + result.stderr
    found = marks(result.stdout)
    assert found["table public.kpis"] == "-"
    assert "the first load creates the table: id, name" in line_of(
        result.stdout, "schema public.kpis"
    )


def test_check_fails_a_file_that_would_put_text_into_a_number(
    cli: Run, s3: S3Client, bucket: str, config_file: Path
) -> None:
    with_policy(config_file, EVOLVE)
    put(s3, bucket, "kpis/a.csv", "id,name\nx1,a\n")
    result = cli("check", f"s3://{bucket}/kpis/")
    assert result.returncode == 1
    line = line_of(result.stdout, "schema public.kpis")
    assert line.startswith("\N{HEAVY BALLOT X}")
    assert "column 'id' is INTEGER" in line
    assert "VARCHAR(2)" in line


def test_plan_and_check_say_when_the_table_is_missing_and_not_created(
    cli: Run, s3: S3Client, bucket: str, config_file: Path, pg: Any, tmp_path: Path
) -> None:
    execute(pg, "DROP TABLE kpis")
    with_policy(config_file, '[tables.schema_policy]\nmatch = "name"\n')
    event = event_file(tmp_path, s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    planned = cli("plan", str(event))
    assert planned.returncode == 0, planned.stderr
    assert (
        "-- schema: the table does not exist; create it, or set schema_policy.create = true"
        in planned.stdout.splitlines()
    )
    checked = cli("check", f"s3://{bucket}/kpis/")
    assert checked.returncode == 1
    assert "does not exist" in line_of(checked.stdout, "schema public.kpis")


def test_plan_json_says_why_a_tables_schema_was_not_planned(
    embedded_env: Any, s3: S3Client, bucket: str, config_file: Path, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    with_policy(config_file, EVOLVE)
    text = config_file.read_text()
    port = re.search(r"port = (\d+)", text)
    assert port is not None
    config_file.write_text(text.replace(f"port = {port.group(1)}", "port = 9"))  # nothing there
    event = event_file(tmp_path, s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    env = {k: v for k, v in os.environ.items() if k != "S3REDSHIFT_CONFIG"} | embedded_env.aws_env
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3redshift.local",
            "plan",
            str(event),
            "--json",
            "--timeout",
            "5",
            "--config",
            str(config_file),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [target] = json.loads(result.stdout)["targets"]
    assert "ddl" not in target
    assert target["schema_not_planned"]
