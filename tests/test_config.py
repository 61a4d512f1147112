"""LoaderConfig: the three sources, strictness, and what it never shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s3redshift.config import LoaderConfig
from s3redshift.credentials import (
    ClusterIamProvider,
    SecretsManagerProvider,
    ServerlessIamProvider,
    SsmPasswordProvider,
    StaticCredentials,
)
from s3redshift.errors import ConfigError

SEED = {
    "DB_HOST": "example.abc.eu-west-1.redshift.amazonaws.com",
    "DB_PORT": "5439",
    "DB_NAME": "dev",
    "DB_USER": "loader",
    "DB_PW_PARAM": "/prod/redshift/loader-password",
    "DB_SCHEMA": "analytics",
    "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
}
SENTINEL = "SENTINEL-DSN-PW-5d0e"

# The file form of design §4, with every key of the contract.
DESIGN_TOML = """
[target]
kind = "redshift"
transport = "data-api"
database = "dev"
workgroup = "analytics-wg"

[credentials]
provider = "secrets-manager"
secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rs-AbCdEf"

[copy]
iam_role = "arn:aws:iam::123456789012:role/RedshiftCopy"
region = "eu-west-1"
manifest_bucket = "my-bucket"
manifest_prefix = "_s3redshift/manifests/"

[ledger]
enabled = true
schema = "s3redshift"

[[tables]]
pattern = "{table}/**"
schema = "public"
table = "{table}"
mode = "upsert"
keys = ["id"]
order_by = "ts"
columns = []
  [tables.format]
  type = "csv"
  delimiter = ","
  quote = '"'
  ignore_header = 1
  null_as = ""
  compression = "auto"
  [tables.options]
  date_format = "auto"
  time_format = "auto"
  max_error = 0
  truncate_columns = false
  blanks_as_null = false
  empty_as_null = false
  accept_inv_chars = "?"
  comp_update = false
  stat_update = false
"""


def test_the_design_file_form_reads_with_every_contract_key(tmp_path: Path) -> None:
    path = tmp_path / "s3redshift.toml"
    path.write_text(DESIGN_TOML)
    config = LoaderConfig.from_file(path)
    assert config.target.workgroup == "analytics-wg"
    # host and port are the connector's keys: the same file with that transport reads them.
    connector = 'transport = "connector"\nhost = "example.abc.redshift.amazonaws.com"\nport = 5439'
    path.write_text(DESIGN_TOML.replace('transport = "data-api"', connector))
    other = LoaderConfig.from_file(path)
    assert (other.target.transport, other.target.port) == ("connector", 5439)
    path.write_text(DESIGN_TOML.replace('transport = "data-api"', 'host = "h"'))
    with pytest.raises(ConfigError, match=r"target\.host: is not a key of 'data-api'"):
        LoaderConfig.from_file(path)
    assert config.copy_.manifest_bucket == "my-bucket"
    [rule] = config.tables
    assert (rule.mode, rule.keys, rule.order_by) == ("upsert", ("id",), "ts")
    assert rule.format.type == "csv"
    assert rule.options.accept_inv_chars == "?"
    target = config.mapper().resolve("kpis/2026/a.csv")
    assert target is not None
    assert str(target.table) == "public.kpis"


def test_seed_variables_mean_the_seed_setup_and_ignore_lambdas_region() -> None:
    config = LoaderConfig.load(environ=SEED | {"AWS_REGION": "eu-west-1"})
    assert (config.target.kind, config.target.transport) == ("redshift", "connector")
    assert (config.target.host, config.target.port) == (SEED["DB_HOST"], 5439)
    assert config.copy_.region is None
    assert config.copy_.iam_role == SEED["IAM_ROLE"]
    provider = config.credential_provider()
    assert isinstance(provider, SsmPasswordProvider)
    assert (provider.parameter, provider.user) == (SEED["DB_PW_PARAM"], "loader")
    target = config.mapper().resolve("kpis/2026/11/a.csv")
    assert target is not None
    assert str(target.table) == "analytics.kpis"


def test_incomplete_seed_variables_name_the_missing_ones() -> None:
    partial = {k: v for k, v in SEED.items() if k not in ("DB_PW_PARAM", "IAM_ROLE")}
    with pytest.raises(ConfigError, match="set DB_PW_PARAM, IAM_ROLE"):
        LoaderConfig.load(environ=partial)


def test_json_in_the_environment_wins_over_seed_variables() -> None:
    document = {"target": {"transport": "connector", "host": "from-json.example"}}
    env = SEED | {"S3REDSHIFT_CONFIG": json.dumps(document)}
    assert LoaderConfig.load(environ=env).target.host == "from-json.example"


def test_unknown_keys_at_any_level_are_errors_naming_them() -> None:
    with pytest.raises(ConfigError) as info:
        LoaderConfig.from_mapping(
            {
                "target": {"transport": "connector", "host": "h", "hots": "x"},
                "tables": [{"pattern": "{table}/**", "fromat": {}}],
            }
        )
    message = str(info.value)
    assert "target.hots: unknown key" in message
    assert "tables[0].fromat: unknown key" in message


@pytest.mark.parametrize(
    ("copy", "expected"),
    [
        ({"region": "EU west 1"}, "copy.region 'EU west 1' is not a Region name"),
        ({"manifest_bucket": "s3://bucket"}, "copy.manifest_bucket must be a bucket name"),
        ({"iam_role": "not-an-arn"}, "copy.iam_role"),
    ],
)
def test_copy_settings_are_checked_when_read(copy: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        LoaderConfig.from_mapping({"target": {"transport": "connector", "host": "h"}, "copy": copy})


def test_a_static_password_never_shows_in_repr_dump_or_errors() -> None:
    target = {"transport": "connector", "host": "db.internal"}
    config = LoaderConfig.from_mapping(
        {
            "target": target,
            "credentials": {"provider": "static", "user": "u", "password": SENTINEL},
        }
    )
    assert SENTINEL not in repr(config)
    assert SENTINEL not in str(config)
    assert SENTINEL not in config.model_dump_json()
    assert config.credentials.password is not None
    assert config.credentials.password.get_secret_value() == SENTINEL
    with pytest.raises(ConfigError) as info:
        LoaderConfig.from_mapping(
            {
                "target": {**target, "port": "nope"},
                "credentials": {"provider": "ssm", "user": "u", "password": SENTINEL},
            }
        )
    assert SENTINEL not in str(info.value)


@pytest.mark.parametrize(
    ("section", "kind"),
    [
        ({"provider": "static", "user": "u", "password": "p"}, StaticCredentials),
        (
            {
                "provider": "secrets-manager",
                "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
            },
            SecretsManagerProvider,
        ),
        ({"provider": "iam", "user": "loader"}, ClusterIamProvider),
    ],
)
def test_credential_provider_follows_the_configuration(section: dict[str, str], kind: type) -> None:
    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "cluster_identifier": "c1"},
            "credentials": section,
        }
    )
    assert isinstance(config.credential_provider(), kind)


def test_iam_on_serverless_uses_get_credentials() -> None:
    config = LoaderConfig.from_mapping(
        {"target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg1"}}
    )
    assert isinstance(config.credential_provider(), ServerlessIamProvider)


def test_no_configuration_at_all_says_how_to_give_one() -> None:
    with pytest.raises(ConfigError, match="no configuration: pass --config FILE"):
        LoaderConfig.load(environ={})
