"""scripts/terraform_check.py: the offline Terraform runs skip loudly and never reach a registry.

The runs themselves are ``make terraform-validate`` (part of ``make test``)
and ``make terraform-e2e``; these tests pin what makes them trustworthy: a
missing binary or mirror is one printed line and exit 0 (never a silent
pass), the CLI configuration installs from the mirror only, and the
end-to-end override points every endpoint at loopback with fake keys.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "terraform_check.py"


runner = load_script("terraform_check")


def run_script(command: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), command],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["validate", "e2e"])
def test_without_terraform_the_targets_say_so_in_one_line(tmp_path: Path, command: str) -> None:
    result = run_script(command, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"terraform-{command}: skipped: terraform is not on PATH"]


def test_without_a_mirror_the_target_says_so_in_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")  # must never be run
    fake.chmod(0o755)
    empty = tmp_path / "mirror"
    empty.mkdir()
    result = run_script("validate", str(fake.parent), S3REDSHIFT_TERRAFORM_MIRROR=str(empty))
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("terraform-validate: skipped: no provider mirror with hashicorp/aws")
    assert str(empty) in line


def test_a_mirror_is_found_only_where_the_aws_provider_lies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runner.MIRROR_ENV, str(tmp_path))
    assert runner.find_mirror() is None
    binary = tmp_path / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64"
    binary.mkdir(parents=True)
    (binary / "terraform-provider-aws_v5.100.0_x5").write_bytes(b"")
    assert runner.find_mirror() == tmp_path
    assert runner.mirror_versions(tmp_path) == ["5.100.0"]


def test_a_packed_mirror_as_terraform_providers_mirror_writes_it_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runner.MIRROR_ENV, str(tmp_path))
    folder = tmp_path / "registry.terraform.io/hashicorp/aws"
    folder.mkdir(parents=True)
    (folder / "index.json").write_text('{"versions": {"6.2.0": {}}}', encoding="utf-8")
    (folder / "terraform-provider-aws_6.2.0_linux_amd64.txt").write_bytes(b"")
    assert runner.find_mirror() is None  # an index alone, or another file, is no provider
    (folder / "terraform-provider-aws_6.2.0_linux_amd64.zip").write_bytes(b"")
    assert runner.find_mirror() == tmp_path
    assert runner.mirror_versions(tmp_path) == ["6.2.0"]


def test_cli_configuration_installs_from_the_mirror_and_never_directly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "BUILD", tmp_path)
    text = runner.write_cli_config(Path("/srv/mirror")).read_text(encoding="utf-8")
    assert 'filesystem_mirror {\n    path    = "/srv/mirror"' in text
    assert 'direct {\n    exclude = ["registry.terraform.io/*/*"]' in text
    assert f'plugin_cache_dir = "{tmp_path / "plugin-cache"}"' in text


def test_terraform_runs_with_no_inherited_aws_or_terraform_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "inherited")
    monkeypatch.setenv("TF_VAR_db_password", "inherited")
    env = runner.terraform_env(tmp_path / "cli.tfrc", {"AWS_ACCESS_KEY_ID": "testing"})
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "cli.tfrc")
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert "AWS_PROFILE" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "TF_VAR_db_password" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


def test_the_e2e_override_points_every_endpoint_at_loopback_with_fake_keys() -> None:
    text = runner.provider_override("http://127.0.0.1:4566")
    endpoints = [line.split("=", 1) for line in text.splitlines() if '"http://' in line]
    assert sorted(name.strip() for name, _ in endpoints) == sorted(runner.ENDPOINT_SERVICES)
    assert {value.strip() for _, value in endpoints} == {'"http://127.0.0.1:4566"'}
    assert 'access_key                  = "testing"' in text
    assert "skip_credentials_validation = true" in text
    # The only thing moto cannot read back is left out of this run alone.
    assert 'module "loader" {\n  create_dlq_redrive_allow_policy = false\n}' in text


def test_second_plan_tolerates_only_listed_moto_gaps() -> None:
    update = {
        "before": {"description": None, "redrive_policy": '{"a":1}', "timeout": 300},
        "after": {"description": "x", "redrive_policy": '{"a": 1}', "timeout": 300},
        "after_unknown": {"policy": True, "tags": False},
    }
    differ, unknown = runner.changed_attributes(update)
    assert differ == {"description", "redrive_policy"}
    assert unknown == {"policy"}
    assert ("aws_sqs_queue", "redrive_policy") in runner.MOTO_DRIFT
    assert ("aws_sqs_queue", "visibility_timeout_seconds") not in runner.MOTO_DRIFT
    assert ("aws_lambda_function", "environment") not in runner.MOTO_DRIFT


def test_the_e2e_sample_event_is_one_object_the_loader_reads() -> None:
    """What `s3redshift plan` gets in the end-to-end run: S3's own event shape."""
    from s3redshift.events import parse_event

    (found,) = parse_event(runner.s3_event("data-bucket", "incoming/orders/a+b%20c.csv"))
    assert (found.bucket, found.key) == ("data-bucket", "incoming/orders/a b c.csv")
