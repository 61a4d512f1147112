"""``s3redshift ledger --rejects``: the rejected rows kept, as an operator reads them.

The CLI runs as a process (``python -m s3redshift.local``, the CLI tests'
``cli`` fixture on this module's configuration) on the embedded stand-in,
after a real ``load`` under ``on_error = "skip_rows"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import stand_in_toml
from helpers import put
from s3redshift.local import EmbeddedEnvironment
from test_cli_commands import Run, cli  # noqa: F401 - the fixture, on this module's config_file
from test_exactly_once_attacks import execute

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def config_file(
    tmp_path: Path, embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any
) -> Path:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))", "CREATE TABLE sales (LIKE kpis)")
    path = tmp_path / "s3redshift.toml"
    rules = ""
    for table in ("kpis", "sales"):
        rules += (
            f'[[tables]]\npattern = "{table}/**"\ntable = "{table}"\n'
            '[tables.format]\ntype = "csv"\nignore_header = 1\n'
            '[tables.options]\non_error = "skip_rows"\nmax_rejected_rows = 5\n'
        )
    path.write_text(stand_in_toml(embedded_env.database_dsn(pg_database)) + rules)
    return path


def test_ledger_rejects_lists_each_rejected_row_and_narrows_by_table_and_object(
    cli: Run,  # noqa: F811 - test_cli_commands' fixture, imported above
    s3: S3Client,
    bucket: str,
) -> None:
    empty = cli("ledger", "--rejects")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == ""
    assert "0 of 0 rejected row(s) shown" in empty.stderr

    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\nx,b\n3,c\n")
    put(s3, bucket, "kpis/b.csv", "id,name\ny,d\n")
    put(s3, bucket, "sales/c.csv", "id,name\n1,e\n2,f,extra\n")
    loaded = cli("load", f"s3://{bucket}/")
    assert loaded.returncode == 0, loaded.stderr
    assert "rows 3, rejected 3 (s3redshift ledger --rejects)" in loaded.stdout

    listing = cli("ledger", "--rejects")
    assert listing.returncode == 0, listing.stderr
    header, *lines = listing.stdout.splitlines()
    assert header.split() == ["rejected_at", "table", "line", "column", "object"]
    rows = lines[0::2]
    notes = lines[1::2]
    assert sorted((r.split()[2], r.split()[3], r.split()[-1]) for r in rows) == [
        ("public.kpis", "2", f"s3://{bucket}/kpis/b.csv"),
        ("public.kpis", "3", f"s3://{bucket}/kpis/a.csv"),
        ("public.sales", "3", f"s3://{bucket}/sales/c.csv"),
    ]
    assert all(note.startswith("    ") for note in notes)
    assert any("raw line: x,b" in note for note in notes)
    assert any("raw line: 2,f,extra" in note and "1202" in note for note in notes)
    assert "3 of 3 rejected row(s) shown" in listing.stderr

    by_table = cli("ledger", "--rejects", "--table", "public.sales", "--json")
    assert by_table.returncode == 0, by_table.stderr
    document = json.loads(by_table.stdout)
    assert document["total"] == 1
    [row] = document["rejects"]
    assert (row["uri"], row["line"], row["raw_line"], row["code"]) == (
        f"s3://{bucket}/sales/c.csv",
        3,
        "2,f,extra",
        "1202",
    )

    by_object = cli("ledger", "--rejects", "--object", f"s3://{bucket}/kpis/a.csv", "--json")
    document = json.loads(by_object.stdout)
    assert [(r["line"], r["column"]) for r in document["rejects"]] == [(3, "id")]

    limited = cli("ledger", "--rejects", "--limit", "1")
    assert "1 of 3 rejected row(s) shown (--limit 0 shows all)" in limited.stderr

    bad = cli("ledger", "--rejects", "--object", f"s3://{bucket}")
    assert bad.returncode == 2
    assert "s3://BUCKET/KEY" in bad.stderr
