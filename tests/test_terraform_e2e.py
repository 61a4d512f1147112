"""The whole end-to-end run (every example applied against moto, checked, destroyed).

It takes a few minutes, so it runs here only with S3REDSHIFT_TERRAFORM_E2E=1,
as ``make test`` sets it (marked ``long``: started first, on a worker of its
own); ``make terraform-e2e`` runs the same thing directly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.long
@pytest.mark.timeout(1200)
@pytest.mark.skipif(
    os.environ.get("S3REDSHIFT_TERRAFORM_E2E") != "1",
    reason="set S3REDSHIFT_TERRAFORM_E2E=1 (or run `make terraform-e2e`): several minutes",
)
def test_every_example_applies_checks_and_destroys_against_moto() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "terraform_check.py"), "e2e"],
        capture_output=True,
        text=True,
        timeout=1150,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    if "skipped:" in result.stdout:
        pytest.skip(result.stdout.strip())
    for example in ("complete", "seed"):
        assert f"== examples/{example}: applied, checked and destroyed" in result.stdout
    assert "terraform-e2e: passed" in result.stdout
