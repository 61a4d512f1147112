"""A stand-in world for the `ledger` commands: one table, a configuration file, the CLI in-process.

``LedgerWorld.cli`` runs ``s3redshift ARGS --config FILE`` through the
command's real entry (:func:`s3redshift.cli.main`) on the embedded stand-in,
as ``python -m s3redshift.local`` does, and returns its exit code, stdout
and stderr. ``loader(now=...)`` is a loader of the same configuration whose
clock (what the ledger records as ``loaded_at``) the test chooses.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import stand_in_toml
from s3redshift.cli import main
from s3redshift.config import LoaderConfig
from s3redshift.local import EmbeddedEnvironment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from s3redshift.loader import Loader

RULES = """\
[[tables]]
pattern = "kpis/**"
table = "kpis"
[tables.format]
type = "csv"
ignore_header = 1
"""
"""One rule: keys under kpis/ load into public.kpis (CSV with a header)."""


@dataclass(frozen=True)
class Ran:
    """One command's exit code and output."""

    code: int
    out: str
    err: str


@dataclass
class LedgerWorld:
    env: EmbeddedEnvironment
    config_file: Path
    bucket: str
    s3: S3Client
    pg: Any
    capsys: pytest.CaptureFixture[str]

    @property
    def config(self) -> LoaderConfig:
        return LoaderConfig.load(str(self.config_file))

    def loader(self, *, now: datetime | None = None, **options: Any) -> Loader:
        """A loader on the stand-in; ``now`` is its clock (the ledger's ``loaded_at``)."""
        if now is not None:
            moment = now
            options["now"] = lambda: moment
        return self.env.loader(self.config, **options)

    def cli(self, *args: str, make_loader: Callable[[LoaderConfig], Loader] | None = None) -> Ran:
        """``s3redshift ARGS --config FILE`` in this process."""
        self.capsys.readouterr()  # what came before is not this command's
        out = io.StringIO()
        code = main(
            [*args, "--config", str(self.config_file)],
            out=out,
            make_loader=make_loader or (lambda config: self.env.loader(config)),
        )
        return Ran(code, out.getvalue(), self.capsys.readouterr().err)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.pg.cursor()
        cursor.execute(sql)
        found = [tuple(row) for row in cursor.fetchall()]
        self.pg.commit()
        return found


@pytest.fixture(name="world")
def world_fixture(
    tmp_path: Path,
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    bucket: str,
    s3: S3Client,
    capsys: pytest.CaptureFixture[str],
) -> LedgerWorld:
    """A fresh database with ``public.kpis``, a fresh bucket, and a configuration naming both."""
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    path = tmp_path / "s3redshift.toml"
    path.write_text(stand_in_toml(embedded_env.database_dsn(pg_database)) + RULES)
    return LedgerWorld(embedded_env, path, bucket, s3, pg, capsys)
