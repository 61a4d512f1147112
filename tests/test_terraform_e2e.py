"""Terraform's own checks and the end-to-end run, as tests of the suite.

``make terraform-validate`` (init from the mirror, validate, ``terraform
test``) runs here, as part of the suite rather than before it: its half
minute overlaps the other workers' tests. The end-to-end run (every
example applied against moto, checked, destroyed) takes a few minutes, so it
runs only with S3REDSHIFT_TERRAFORM_E2E=1, as ``make test`` sets it;
``make terraform-e2e`` runs the same thing directly. Both are marked
``long`` (started first), so they run side by side on two workers; the
script takes its ``terraform init`` runs one at a time, as they share the
provider cache under build/terraform.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "terraform_check.py"


@pytest.mark.long
@pytest.mark.timeout(600)
def test_the_module_and_every_example_validate_and_pass_terraform_test() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "validate"],
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    if "skipped:" in result.stdout:
        pytest.skip(result.stdout.strip())
    for folder in ("", "examples/complete", "examples/seed"):
        assert f"valid: infra/terraform/{folder} (" in result.stdout
    assert "terraform test: Success!" in result.stdout
    assert "terraform-validate: passed" in result.stdout


@pytest.mark.long
@pytest.mark.timeout(1200)
@pytest.mark.skipif(
    os.environ.get("S3REDSHIFT_TERRAFORM_E2E") != "1",
    reason="set S3REDSHIFT_TERRAFORM_E2E=1 (or run `make terraform-e2e`): several minutes",
)
def test_every_example_applies_checks_and_destroys_against_moto() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "e2e"],
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
