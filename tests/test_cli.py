"""The `s3redshift` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlglot
from sqlglot import exp

SEED_ENV = {
    "DB_HOST": "example.abc.eu-west-1.redshift.amazonaws.com",
    "DB_PORT": "5439",
    "DB_NAME": "dev",
    "DB_USER": "loader",
    "DB_PW_PARAM": "/prod/redshift/loader-password",
    "DB_SCHEMA": "analytics",
    "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
}
SENTINEL = "SENTINEL-CLI-PW-91b2"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "s3redshift.cli", *args],
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_record_event(tmp_path: Path, key: str = "kpis/2026/11/a.csv") -> Path:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-28T12:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "data-bucket", "arn": "arn:aws:s3:::data-bucket"},
            "object": {"key": key, "size": 120, "eTag": "0123456789abcdef0123456789abcdef"},
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"Records": [record]}))
    return path


def test_plan_on_seed_env_prints_the_seeds_copy_through_a_manifest(tmp_path: Path) -> None:
    result = run("plan", str(one_record_event(tmp_path)), env=SEED_ENV)
    assert result.returncode == 0, result.stderr
    copies = [line for line in result.stdout.splitlines() if line.startswith('COPY "analytics"')]
    assert len(copies) == 1
    copy = copies[0]
    assert copy.startswith(
        'COPY "analytics"."kpis" FROM \'s3://data-bucket/_s3redshift/manifests/analytics.kpis/'
    )
    assert copy.endswith(
        ".manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS CSV "
        "MANIFEST IGNOREHEADER AS 1 COMPUPDATE OFF MAXERROR AS 0 STATUPDATE OFF;"
    )
    [parsed] = sqlglot.parse(copy.rstrip(";"), read="redshift")
    assert isinstance(parsed, exp.Copy)
    assert parsed.this.sql(dialect="redshift") == '"analytics"."kpis"'


def test_plan_json_matches_the_design_shape(tmp_path: Path) -> None:
    result = run("plan", "--json", str(one_record_event(tmp_path)), env=SEED_ENV)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"targets", "skipped"}
    [target] = document["targets"]
    assert set(target) == {"table", "objects", "statements"}
    assert target["table"] == "analytics.kpis"
    assert target["objects"] == ["s3://data-bucket/kpis/2026/11/a.csv"]
    assert document["skipped"] == []


def test_plan_never_prints_a_configured_password(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[target]\ntransport = "connector"\nhost = "localhost"\ndatabase = "db"\n'
        f'[credentials]\nprovider = "static"\nuser = "u"\npassword = "{SENTINEL}"\n'
    )
    for extra in ((), ("--json",)):
        result = run("plan", "--config", str(cfg), *extra, str(one_record_event(tmp_path)))
        assert result.returncode == 0, result.stderr
        assert SENTINEL not in result.stdout + result.stderr


def test_bad_event_exits_2_with_one_line_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"Records": [{"eventSource": "aws:s3", "eventVersion": "2.1"}]}))
    result = run("plan", str(path), env=SEED_ENV)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("s3redshift: error: ")
    assert "Records[0]" in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_config_key_exits_2_naming_it(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[copy]\niam_rol = "default"\n')
    result = run("plan", "--config", str(cfg), str(one_record_event(tmp_path)))
    assert result.returncode == 2
    assert "copy.iam_rol: unknown key" in result.stderr


def test_plan_with_the_removed_stand_in_kind_exits_2_naming_what_replaced_it(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[target]\nkind = "postgres"\ndsn = "postgresql://loader:{SENTINEL}@db:5432/dev"\n'
    )
    result = run("plan", "--config", str(cfg), str(one_record_event(tmp_path)))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("s3redshift: error: invalid configuration in ")
    assert "target.kind = 'postgres' and target.dsn were removed" in line
    assert "s3redshift.local" in line
    assert SENTINEL not in result.stdout + result.stderr
    assert result.stdout == ""


def test_missing_configuration_exits_2(tmp_path: Path) -> None:
    result = run("plan", str(one_record_event(tmp_path)))
    assert result.returncode == 2
    assert "no configuration" in result.stderr


def test_config_schema_prints_the_contract_keys() -> None:
    result = run("config-schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == {
        "target",
        "credentials",
        "copy",
        "ledger",
        "tables",
        "notifications",
    }
    assert schema["additionalProperties"] is False


def test_plan_text_shows_how_each_transport_sends_the_transaction(tmp_path: Path) -> None:
    event = str(one_record_event(tmp_path))
    connector = run("plan", event, env=SEED_ENV)
    assert connector.returncode == 0, connector.stderr
    lines = connector.stdout.splitlines()
    assert lines[1] == "-- redshift_connector: one transaction on one session"
    assert lines[2] == "BEGIN;"
    assert lines[3] == "-- SET LOCAL statement_timeout TO <the time budget, in ms>;"
    assert lines[4].startswith(
        'LOCK "s3redshift"."load_ledger_analytics_kpis_11df77cc", "analytics"."kpis"'
    )
    assert "COMMIT;" in lines
    cfg = tmp_path / "data-api.toml"
    cfg.write_text(
        '[target]\nkind = "redshift"\ntransport = "data-api"\nworkgroup = "analytics-wg"\n'
        '[credentials]\nprovider = "iam"\n'
    )
    data_api = run("plan", "--config", str(cfg), event)
    assert data_api.returncode == 0, data_api.stderr
    framing = data_api.stdout.splitlines()[1]
    assert framing.startswith(
        "-- Redshift Data API: one BatchExecuteStatement = one transaction; 8 statements "
        "(at most 40), "
    )
    statements = [line for line in data_api.stdout.splitlines() if line.endswith(";")]
    size = sum(len(s[:-1].encode()) for s in statements)
    assert framing.endswith(f" {size} bytes of SQL (at most 100000)")
    assert "BEGIN;" not in data_api.stdout


# --- every error is one line, in TOML/JSON words, with the fix ----------------------

CONFIG_HEAD = '[target]\ntransport = "connector"\nhost = "127.0.0.1"\nport = 5\ndatabase = "db"\n'


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("s3redshift: error: ")
    assert "Input should be" not in line  # pydantic's Python wording
    return line


def test_a_format_written_as_a_string_says_it_must_be_a_table(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG_HEAD + '[[tables]]\npattern = "kpis/**"\nformat = "csv"\n')
    line = one_error_line(run("plan", "--config", str(cfg), str(one_record_event(tmp_path))))
    assert f"invalid configuration in {cfg}: tables[0].format: must be a table" in line
    assert "[tables.format]" in line
    assert "got a string" in line


def test_tables_written_as_one_table_says_to_use_double_brackets(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG_HEAD + '[tables]\npattern = "kpis/**"\n')
    line = one_error_line(run("plan", "--config", str(cfg), str(one_record_event(tmp_path))))
    assert "tables: must be a list" in line
    assert "[[tables]]" in line
    assert "got a table" in line


def test_a_misspelt_key_suggests_the_nearest_valid_one_at_its_level(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        CONFIG_HEAD
        + '[ledgr]\nenabled = true\n[[tables]]\npattern = "kpis/**"\n'
        + '[tables.format]\ntype = "csv"\nignore_heder = 1\n'
    )
    line = one_error_line(run("plan", "--config", str(cfg), str(one_record_event(tmp_path))))
    assert "ledgr: unknown key (did you mean `ledger`?)" in line
    assert "tables[0].format.ignore_heder: unknown key (did you mean `ignore_header`?)" in line


def test_usage_errors_are_one_line_naming_the_command_and_its_help() -> None:
    missing = one_error_line(run("plan"))
    assert missing == (
        "s3redshift: error: plan: the following arguments are required: EVENT.json "
        "(see s3redshift plan --help)"
    )
    unknown = one_error_line(run("plna"))
    assert "invalid choice: 'plna'" in unknown
    assert unknown.endswith("(see s3redshift --help)")


def test_a_csv_rule_without_ignore_header_is_warned_about_naming_both_fixes(
    tmp_path: Path,
) -> None:
    event = str(one_record_event(tmp_path))
    unset = tmp_path / "unset.toml"
    unset.write_text(CONFIG_HEAD + '[[tables]]\npattern = "{table}/**"\n')
    result = run("plan", "--config", str(unset), event)
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning == (
        "s3redshift: warning: tables[0] (pattern '{table}/**') is CSV without ignore_header, "
        "so a header row loads as data: set ignore_header = 1 if the files have one, "
        "or ignore_header = 0 to say they do not"
    )
    for said in ("0", "1"):
        explicit = tmp_path / f"explicit{said}.toml"
        explicit.write_text(
            CONFIG_HEAD + f'[[tables]]\npattern = "{{table}}/**"\n[tables.format]\n'
            f'type = "csv"\nignore_header = {said}\n'
        )
        quiet = run("plan", "--config", str(explicit), event)
        assert quiet.returncode == 0, quiet.stderr
        assert "warning" not in quiet.stderr
    seed = tmp_path / "seed.toml"
    seed.write_text(CONFIG_HEAD)  # no rule: the seed's, which skips one header line
    assert "warning" not in run("plan", "--config", str(seed), event).stderr


def test_a_reader_closing_the_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    keys = [f"t{n:03d}/a.csv" for n in range(400)]  # 400 tables: far more than a pipe holds
    records = [json.loads(one_record_event(tmp_path, k).read_text())["Records"][0] for k in keys]
    event = tmp_path / "big.json"
    event.write_text(json.dumps({"Records": records}))
    base = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "s3redshift.cli", "plan", str(event)],
        env=base | SEED_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("-- ")  # as `| head -1` reads
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert stderr == ""
    assert process.returncode == 141


def test_the_exit_codes_the_cli_returns_are_those_the_epilog_and_the_docs_list() -> None:
    from scripts.docs_pages import cli_page

    from s3redshift.cli import common
    from s3redshift.cli.parser import EPILOG

    codes = sorted(getattr(common, name) for name in common.__all__ if name.startswith("EXIT_"))
    listed = [int(line.split()[0]) for line in EPILOG.splitlines() if line[:3].strip().isdigit()]
    assert listed == codes == [0, 1, 2, 130, 141]
    table = cli_page().split("## Exit codes", 1)[1].split("\n#", 1)[0]
    rows = [
        int(line.split("|")[1]) for line in table.splitlines() if line[:3].strip("| ").isdigit()
    ]
    assert rows == codes
