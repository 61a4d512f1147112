"""`s3redshift check` as a subprocess, against the embedded stand-in and moto.

Each broken set-up (the database stopped, a missing table, a wrong bucket, a
rule naming a column the table lacks) must fail the check that concerns it,
with its fix, and exit 1; a sound one passes every check and exits 0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot

from conftest import stand_in_toml
from helpers import put
from s3redshift.config import SEED_ENV
from s3redshift.local import EmbeddedEnvironment
from test_cli_commands import SENTINEL, Run, cli, config_file

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["cli", "config_file"]  # fixtures shared with test_cli_commands


def marks(stdout: str) -> dict[str, str]:
    """Each check's name, by the mark of its line (✔, ✘ or -)."""
    found = {}
    for line in stdout.splitlines():
        mark, _, rest = line.partition(" ")
        if mark in ("\N{HEAVY CHECK MARK}", "\N{HEAVY BALLOT X}", "-"):
            found[rest.split(": ", 1)[0]] = mark
    return found


def line_of(stdout: str, name: str) -> str:
    [line] = [line for line in stdout.splitlines() if line.split(": ", 1)[0].endswith(name)]
    return line


def clean_env() -> dict[str, str]:
    """This process's environment without the seed's variables or a configuration."""
    return {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}


def s3redshift(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m s3redshift.local ARGS --config CONFIG`` in ``env``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "s3redshift.local", *args, "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_sound_setup_passes_every_check(cli: Run, s3: S3Client, bucket: str) -> None:
    put(s3, bucket, "kpis/2026/a.csv", "id,name\n1,a\n")
    result = cli("check", f"s3://{bucket}/kpis/")
    assert result.returncode == 0, result.stdout + result.stderr
    found = marks(result.stdout)
    assert "\N{HEAVY BALLOT X}" not in found.values(), result.stdout
    assert found[f"list s3://{bucket}/kpis/"] == "\N{HEAVY CHECK MARK}"
    assert found[f"read s3://{bucket}/kpis/"] == "\N{HEAVY CHECK MARK}"
    assert found["table public.kpis"] == "\N{HEAVY CHECK MARK}"
    assert found["ledger (schema s3redshift)"] == "\N{HEAVY CHECK MARK}"
    assert found[f"manifest prefix s3://{bucket}/_s3redshift/manifests/"] == "\N{HEAVY CHECK MARK}"
    assert found["load transaction public.kpis"] == "\N{HEAVY CHECK MARK}"
    assert found["COPY role"] == "-"  # the stand-in reads S3 itself
    assert result.stdout.splitlines()[-1] == "9 passed, 0 failed, 2 skipped"
    # The probe object was removed again.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="_s3redshift/")
    assert listed.get("KeyCount", 0) == 0


def test_json_lists_every_check_with_its_status(cli: Run, s3: S3Client, bucket: str) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    result = cli("check", f"s3://{bucket}/", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    statuses = {c["name"]: c["status"] for c in document["checks"]}
    assert statuses["table public.kpis"] == "ok"
    assert set(statuses.values()) <= {"ok", "skipped"}


def test_a_missing_table_fails_its_check_with_the_fix(
    cli: Run, s3: S3Client, bucket: str, pg: Any
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    cursor = pg.cursor()
    cursor.execute("DROP TABLE kpis")
    pg.commit()
    result = cli("check", f"s3://{bucket}/")
    assert result.returncode == 1
    line = line_of(result.stdout, "table public.kpis")
    assert line.startswith("\N{HEAVY BALLOT X} table public.kpis: ")
    assert "does not exist" in line
    assert "fix: create public.kpis before loading" in line


def test_a_rule_naming_a_column_the_table_lacks_fails_naming_it(
    cli: Run, s3: S3Client, bucket: str, config_file: Path
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    text = config_file.read_text().replace(
        'table = "kpis"\n', 'table = "kpis"\nmode = "upsert"\nkeys = ["kpi_id"]\n'
    )
    config_file.write_text(text)
    result = cli("check", f"s3://{bucket}/")
    assert result.returncode == 1
    line = line_of(result.stdout, "table public.kpis")
    assert "kpi_id" in line
    assert "(it has id, name)" in line


def test_a_replace_rule_needs_delete_too_and_check_names_the_grant(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    role = f"loader_{bucket[-12:]}"
    cursor = pg.cursor()
    for sql in (
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        f"CREATE ROLE {role} LOGIN",
        f'GRANT CREATE ON DATABASE "{pg_database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT ON kpis TO {role}",  # no DELETE
    ):
        cursor.execute(sql)
    pg.commit()
    config = tmp_path / "replace.toml"
    config.write_text(
        stand_in_toml(embedded_env.database_dsn(pg_database), user=role)
        + '[[tables]]\npattern = "kpis/**"\ntable = "kpis"\nmode = "replace"\n'
        '[tables.format]\ntype = "csv"\nignore_header = 1\n'
    )
    try:
        result = s3redshift(
            config, "check", f"s3://{bucket}/", env=clean_env() | embedded_env.aws_env
        )
    finally:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")
        pg.commit()
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(result.stdout, "table public.kpis")
    assert line == (
        "\N{HEAVY BALLOT X} table public.kpis: a replace needs INSERT, DELETE; the database user "
        "lacks DELETE; fix: GRANT DELETE ON public.kpis to the loader's user"
    )


def test_a_wrong_bucket_and_a_mistyped_prefix_fail_the_listing(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    wrong = cli("check", "s3://no-such-bucket-s3redshift/kpis/")
    assert wrong.returncode == 1
    line = line_of(wrong.stdout, "list s3://no-such-bucket-s3redshift/kpis/")
    assert "NoSuchBucket" in line
    assert "fix: the bucket no-such-bucket-s3redshift does not exist" in line

    typo = cli("check", f"s3://{bucket}/kpi/")
    assert typo.returncode == 1
    line = line_of(typo.stdout, f"list s3://{bucket}/kpi/")
    assert "no object under this prefix" in line
    assert "case-sensitive" in line


def test_keys_no_rule_maps_fail_naming_some_of_them(cli: Run, s3: S3Client, bucket: str) -> None:
    put(s3, bucket, "sales/a.csv", "id\n1\n")
    put(s3, bucket, "sales/b.csv", "id\n2\n")
    result = cli("check", f"s3://{bucket}/sales/")
    assert result.returncode == 1
    line = line_of(result.stdout, f"map s3://{bucket}/sales/")
    assert "none of the 2 key(s) maps to a table (e.g. sales/a.csv, sales/b.csv" in line
    assert "fix: check the [[tables]] patterns" in line


def test_with_the_database_stopped_only_its_check_fails_and_the_rest_are_skipped(
    embedded_env: EmbeddedEnvironment, tmp_path: Path, s3: S3Client, bucket: str
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    config = tmp_path / "down.toml"
    # A port nothing listens on: the database is "stopped".
    config.write_text(
        stand_in_toml("postgresql://loader@127.0.0.1:9/none", password=SENTINEL)
        + '[[tables]]\npattern = "kpis/**"\ntable = "kpis"\n'
        '[tables.format]\ntype = "csv"\nignore_header = 1\n'
    )
    result = s3redshift(config, "check", f"s3://{bucket}/", env=clean_env() | embedded_env.aws_env)
    assert SENTINEL not in result.stdout + result.stderr
    assert result.returncode == 1
    found = marks(result.stdout)
    database = line_of(result.stdout, "database reachable")
    assert database.startswith(
        "\N{HEAVY BALLOT X} database reachable: cannot reach the database (127.0.0.1:9, "
        "database none): Connection refused (ConnectionRefusedError); fix: check that the "
        "database is running"
    )
    assert found["ledger"] == "-"
    assert found["table public.kpis"] == "-"
    # S3 does not depend on the database: still checked, and passing.
    assert found[f"list s3://{bucket}/"] == "\N{HEAVY CHECK MARK}"
    assert [m for m in found.values() if m == "\N{HEAVY BALLOT X}"] == ["\N{HEAVY BALLOT X}"]


def no_aws_credentials_env() -> dict[str, str]:
    """An environment in which boto3 finds no AWS credentials at all."""
    base = {k: v for k, v in clean_env().items() if not k.startswith("AWS_")}
    return base | {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_without_aws_credentials_load_exits_2_and_check_names_the_fix(tmp_path: Path) -> None:
    config = tmp_path / "offline.toml"
    config.write_text(stand_in_toml("postgresql://u@127.0.0.1:9/none"))

    load = s3redshift(config, "load", "s3://some-bucket/kpis/", env=no_aws_credentials_env())
    # Nothing was tried: a set-up problem (2), said once, with the fix.
    assert load.returncode == 2, load.stderr
    [line] = load.stderr.splitlines()
    assert line.startswith("s3redshift: error: no AWS credentials found for S3 ")
    assert "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in line

    check = s3redshift(config, "check", "s3://some-bucket/kpis/", env=no_aws_credentials_env())
    assert check.returncode == 1
    listing = line_of(check.stdout, "list s3://some-bucket/kpis/")
    assert listing.startswith("\N{HEAVY BALLOT X}")
    assert "(NoCredentialsError); fix: set AWS_PROFILE" in listing


def granted_reads(sql: str) -> list[list[dict[str, Any]]]:
    """The Data API fake's answers for a user holding every grant on ``kpis (id, name)``."""
    if "has_" in sql:
        return [[{"booleanValue": True}]]
    if "information_schema.columns" in sql:
        return [
            [{"stringValue": "id"}, {"stringValue": "integer"}],
            [{"stringValue": "name"}, {"stringValue": "character varying"}],
        ]
    return []


def test_on_redshift_the_copy_role_is_checked_by_a_noload_copy_of_a_probe_object(
    s3: S3Client, bucket: str
) -> None:
    """What the check sends to the Data API (answered in-process: Redshift cannot run here).

    It proves the statements and their order, not that Redshift accepts the role.
    """
    from answered_data_api import AnsweredDataApi, answered_client
    from s3redshift.check import run_checks
    from s3redshift.config import LoaderConfig
    from s3redshift.loader import Loader
    from s3redshift.transports.data_api import DataApiTransport

    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    api = AnsweredDataApi(reads=granted_reads)
    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"},
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"},
            "tables": [{"pattern": "{table}/**", "format": {"type": "csv", "ignore_header": 1}}],
        }
    )
    transport = DataApiTransport(database="dev", workgroup="wg-1", client=answered_client(api))
    with Loader(config, transport=transport, s3_client=s3) as loader:
        checks = run_checks(loader, [f"s3://{bucket}/kpis/"], where="workgroup wg-1")
    statuses = {c.name: c.status for c in checks}
    assert statuses["COPY role"] == "ok", checks
    assert "failed" not in statuses.values(), checks
    [probe] = [batch for batch in api.batches if any("NOLOAD" in sql for sql in batch)]
    create, copy, shaped, sample, abort = probe
    # Nothing of the probe is kept: its last statement fails, as the ledger guard does.
    assert (
        abort
        == "SELECT CAST('s3redshift: already loaded: s3redshift check, rolled back' AS INTEGER)"
    )
    assert create == 'CREATE TEMP TABLE "s3redshift_check" (probe VARCHAR(64))'
    # One object of each table is read too, with its rule's format, into a table like the target.
    assert shaped == 'CREATE TEMP TABLE "s3redshift_check_1" (LIKE "public"."kpis")'
    assert sample == (
        f"COPY \"s3redshift_check_1\" FROM 's3://{bucket}/kpis/a.csv' IAM_ROLE "
        "'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS CSV IGNOREHEADER AS 1 "
        "COMPUPDATE OFF MAXERROR AS 0 NOLOAD STATUPDATE OFF"
    )
    assert isinstance(sqlglot.parse_one(sample, read="redshift"), sqlglot.exp.Copy)
    match = re.fullmatch(
        r"COPY \"s3redshift_check\" FROM 's3://([^/]+)/_s3redshift/manifests/check-[0-9a-f]{32}"
        r"\.probe' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS CSV "
        r"(.*)NOLOAD(.*)",
        copy,
    )
    assert match is not None, copy
    assert match.group(1) == bucket
    assert isinstance(sqlglot.parse_one(copy, read="redshift"), sqlglot.exp.Copy)
    # The probe was removed once the COPY had read it.
    assert s3.list_objects_v2(Bucket=bucket, Prefix="_s3redshift/").get("KeyCount", 0) == 0
    # The load's own LOCK (after the ledger's DDL, as on a first load), rolled back the same way.
    assert statuses["load transaction public.kpis"] == "ok"
    [locked] = [batch for batch in api.batches if any(s.startswith("LOCK ") for s in batch)]
    assert locked[0] == 'CREATE SCHEMA IF NOT EXISTS "s3redshift"'
    assert re.fullmatch(
        r'LOCK "s3redshift"\."load_ledger_public_kpis_[0-9a-f]{8}", "public"\."kpis"', locked[-2]
    )
    assert locked[-1] == abort


def redshift_loader(s3: Any, api: Any, rule: dict[str, Any], **copy: str) -> Any:
    """A loader on the answered Data API (see answered_data_api: no Redshift runs here)."""
    from answered_data_api import answered_client
    from s3redshift.config import LoaderConfig
    from s3redshift.loader import Loader
    from s3redshift.transports.data_api import DataApiTransport

    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"},
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"} | copy,
            "tables": [{"pattern": "{table}/**"} | rule],
        }
    )
    transport = DataApiTransport(database="dev", workgroup="wg-1", client=answered_client(api))
    return Loader(config, transport=transport, s3_client=s3)


def test_parquet_and_orc_rules_get_a_copy_role_check_redshift_takes(
    s3: S3Client, bucket: str
) -> None:
    """Redshift refuses NOLOAD for columnar formats: their probe COPY loads a temporary table.

    What is sent to the Data API (answered in-process), not what Redshift does with it.
    """
    from answered_data_api import AnsweredDataApi
    from s3redshift.check import run_checks

    for kind in ("parquet", "orc"):
        put(s3, bucket, f"kpis/a.{kind}", "not really columnar\n")
        api = AnsweredDataApi(reads=granted_reads)
        with redshift_loader(s3, api, {"format": {"type": kind}}) as loader:
            checks = run_checks(loader, [f"s3://{bucket}/kpis/"], where="workgroup wg-1")
        statuses = {c.name: c.status for c in checks}
        assert "failed" not in statuses.values(), checks
        assert statuses["COPY role"] == "ok", checks
        [probe] = [batch for batch in api.batches if any("check_1" in sql for sql in batch)]
        assert probe[-2] == (
            f"COPY \"s3redshift_check_1\" FROM 's3://{bucket}/kpis/a.{kind}' IAM_ROLE "
            f"'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS {kind.upper()} "
            "STATUPDATE OFF"
        )
        assert probe[-1].startswith("SELECT CAST('s3redshift: already loaded: ")  # rolled back
        s3.delete_object(Bucket=bucket, Key=f"kpis/a.{kind}")


def test_an_unexpected_exception_is_a_failed_line_naming_it() -> None:
    """S3 answering with an exception nobody expected: every check still reports, none raises."""
    import boto3

    from answered_data_api import AnsweredDataApi
    from s3redshift.check import run_checks

    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    def broken(**_: Any) -> None:
        raise RuntimeError("nobody expected this")

    s3.meta.events.register_first("before-call.s3", broken)
    rule = {"format": {"type": "csv"}}
    with redshift_loader(s3, AnsweredDataApi(), rule, manifest_bucket="manifests") as loader:
        checks = run_checks(loader, ["s3://source/kpis/"], where="workgroup wg-1")
    failed = {c.name: c for c in checks if c.status == "failed" and "s3://" in c.name}
    assert set(failed) == {
        "list s3://source/kpis/",
        "manifest prefix s3://manifests/_s3redshift/manifests/",
    }
    for check in failed.values():
        assert check.detail == "the check failed unexpectedly (RuntimeError)"
        assert check.error == "RuntimeError"
        assert check.fix.startswith("no check expected this error: report it")


def test_a_denied_manifest_prefix_fails_its_check_naming_the_permission(
    embedded_env: EmbeddedEnvironment, s3: S3Client, bucket: str, cli: Run, config_file: Path
) -> None:
    """moto enforcing IAM: a user who may list and read the sources but not write manifests."""
    import urllib.request

    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    iam = embedded_env.boto3_client("iam")
    user = f"loader-{bucket[-8:]}"
    iam.create_user(UserName=user)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketVersioning"],  # what `load` lists with
                "Resource": f"arn:aws:s3:::{bucket}",
            },
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="sources", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    env = (
        clean_env()
        | {k: v for k, v in embedded_env.aws_env.items() if k != "AWS_SESSION_TOKEN"}
        | {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
    )

    def enforce(count: str) -> str:
        # moto's own switch: how many more requests go unchecked (0: none).
        request = urllib.request.Request(  # noqa: S310 - loopback, checked below
            f"{embedded_env.aws_endpoint_url}/moto-api/reset-auth",
            data=count.encode(),
            headers={"Content-Type": "text/plain"},
        )
        assert request.full_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return str(json.loads(answer.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])

    previous = enforce("0")  # from now on, every request is checked against IAM
    try:
        result = s3redshift(config_file, "check", f"s3://{bucket}/kpis/", env=env)
    finally:
        enforce(previous)
    assert result.returncode == 1, result.stdout + result.stderr
    found = marks(result.stdout)
    assert found[f"list s3://{bucket}/kpis/"] == "\N{HEAVY CHECK MARK}"
    assert found[f"read s3://{bucket}/kpis/"] == "\N{HEAVY CHECK MARK}"
    line = line_of(result.stdout, f"manifest prefix s3://{bucket}/_s3redshift/manifests/")
    assert line.startswith("\N{HEAVY BALLOT X}")
    assert "PutObject failed (AccessDenied)" in line
    assert f"fix: allow s3:PutObject on arn:aws:s3:::{bucket}/_s3redshift/manifests/*" in line


def check_as_role(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    bucket: str,
    tmp_path: Path,
    grants: tuple[str, ...],
    *,
    mode: str = "append",
    command: str = "check",
) -> subprocess.CompletedProcess[str]:
    """``s3redshift COMMAND`` signed in as a new role that has ``grants`` ({role} in them)."""
    role = f"loader_{bucket[-12:]}"
    cursor = pg.cursor()
    for sql in (
        "CREATE TABLE kpis (id INT, name VARCHAR(20))",
        f"CREATE ROLE {role} LOGIN",
        f'GRANT CREATE ON DATABASE "{pg_database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        *(grant.format(role=role, database=pg_database) for grant in grants),
    ):
        cursor.execute(sql)
    pg.commit()
    config = tmp_path / "role.toml"
    config.write_text(
        stand_in_toml(embedded_env.database_dsn(pg_database), user=role)
        + f'[[tables]]\npattern = "kpis/**"\ntable = "kpis"\nmode = "{mode}"\n'
        + ('keys = ["id"]\n' if mode == "upsert" else "")
        + '[tables.format]\ntype = "csv"\nignore_header = 1\n'
    )
    try:
        return s3redshift(
            config, command, f"s3://{bucket}/kpis/", env=clean_env() | embedded_env.aws_env
        )
    finally:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")
        pg.commit()


def test_a_user_with_insert_alone_fails_check_naming_what_lock_needs(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
) -> None:
    """Every load starts with LOCK: a user who may only INSERT passed check, then failed to load."""
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    args = (embedded_env, pg_database, pg, bucket, tmp_path, ("GRANT INSERT ON kpis TO {role}",))
    result = check_as_role(*args)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(result.stdout, "load transaction public.kpis")
    assert line.startswith("\N{HEAVY BALLOT X} load transaction public.kpis: ")
    assert "LOCK " in line
    assert "permission denied for table kpis" in line
    assert "fix: make the loader's user the owner of" in line
    assert "GRANT UPDATE, DELETE ON public.kpis" in line
    # What check foresaw is what a load meets.
    pg.cursor().execute("DROP TABLE kpis")
    pg.commit()
    load = check_as_role(*args, command="load")
    assert load.returncode != 0
    assert "42501" in load.stdout + load.stderr
    # The probe was rolled back: the ledger it created in its transaction is not there.
    cursor = pg.cursor()
    cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 's3redshift'")
    assert cursor.fetchall()[0][0] == 0


def test_a_user_without_temp_fails_check_naming_the_grant(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    grants = (
        'REVOKE TEMP ON DATABASE "{database}" FROM PUBLIC',
        "GRANT ALL ON kpis TO {role}",
    )
    result = check_as_role(embedded_env, pg_database, pg, bucket, tmp_path, grants)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(result.stdout, "load transaction public.kpis")
    assert line.startswith("\N{HEAVY BALLOT X} load transaction public.kpis: CREATE TEMP TABLE ")
    assert "permission denied to create temporary tables" in line
    assert "fix: GRANT TEMP ON DATABASE" in line
    assert "LOCK" not in line.partition("; fix:")[0]  # the LOCK itself was allowed


def test_a_user_with_every_grant_passes_the_load_transaction_check(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    grants = ("GRANT SELECT, INSERT, UPDATE, DELETE ON kpis TO {role}",)
    for mode in ("append", "replace", "upsert"):
        result = check_as_role(embedded_env, pg_database, pg, bucket, tmp_path, grants, mode=mode)
        assert result.returncode == 0, result.stdout + result.stderr
        line = line_of(result.stdout, "load transaction public.kpis")
        assert line.startswith("\N{HEAVY CHECK MARK} load transaction public.kpis: "), line
        pg.cursor().execute("DROP TABLE kpis")
        pg.commit()


def test_a_data_api_target_without_a_region_names_the_region_and_its_own_keys(
    tmp_path: Path,
) -> None:
    config = tmp_path / "data-api.toml"
    config.write_text(
        '[target]\ntransport = "data-api"\nworkgroup = "analytics"\ndatabase = "dev"\n'
        '[copy]\nregion = "eu-west-1"\n'
        '[[tables]]\npattern = "{table}/**"\n[tables.format]\ntype = "csv"\n'
    )
    env = {k: v for k, v in no_aws_credentials_env().items() if k != "AWS_DEFAULT_REGION"}
    env["AWS_REGION"] = "eu-west-1"  # boto3 does not read it: the fix must not offer it
    check = subprocess.run(
        [sys.executable, "-m", "s3redshift", "check", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 1
    database = line_of(check.stdout, "database reachable")
    assert "no AWS region is configured for " in database
    assert "set AWS_DEFAULT_REGION or a region in your AWS profile" in database
    assert database.endswith(
        "fix: check [target] (workgroup or cluster_identifier, database), [credentials], "
        "and this shell's AWS identity and Region"
    )
    assert "host, port" not in database
