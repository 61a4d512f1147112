"""The ways in: `s3redshift --version`, `python -m s3redshift`, `Loader.load` of one object."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import s3redshift
from helpers import put
from s3redshift.config import LoaderConfig
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment, connector_config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCRIPT = Path(sys.executable).with_name("s3redshift")


@pytest.mark.parametrize(
    "command",
    [[str(SCRIPT)], [sys.executable, "-m", "s3redshift"]],
    ids=["script", "python-m"],
)
def test_version_is_printed_and_exits_0(command: list[str]) -> None:
    run = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"s3redshift {s3redshift.__version__}"


def test_python_m_runs_the_same_command() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "s3redshift", "config-schema"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert '"properties"' in run.stdout


def _config(dsn: str) -> LoaderConfig:
    return LoaderConfig.from_mapping(
        {
            **connector_config(dsn),
            "copy": {"iam_role": "default"},
            "tables": [{"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}}],
        }
    )


def test_load_takes_one_object_as_well_as_many(
    pg: Any, s3: S3Client, bucket: str, embedded_env: EmbeddedEnvironment, pg_database: str
) -> None:
    pg.cursor().execute("CREATE TABLE kpis (id INT)")
    pg.commit()
    one = put(s3, bucket, "kpis/a.csv", b"1\n", at=None)
    with embedded_env.loader(
        _config(embedded_env.database_dsn(pg_database)), s3_client=s3
    ) as loader:
        assert loader.load(one).outcomes() == ["loaded"]
        assert loader.load([one]).outcomes() == ["duplicate"]


def test_load_of_something_else_is_a_type_error_naming_what_it_takes() -> None:
    loader = Loader(_config("postgresql://loader@127.0.0.1:5432/dev"))
    with pytest.raises(TypeError, match=r"takes S3Object values .* got \['dict'\]"):
        loader.load([{"bucket": "b", "key": "kpis/a.csv"}])  # type: ignore[list-item]
