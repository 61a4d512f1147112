"""The configuration boundary takes numbers and switches as they are written.

TOML and JSON have real integers and booleans, so a configuration that says
``port = true`` or ``enabled = "yes"`` is a mistake to report, not a value to
coerce (``true`` used to become port 1). The seed's environment variables are
text by nature and are converted explicitly, naming the variable when one is
wrong. The removed stand-in kind (``kind = "postgres"`` with ``dsn``) is refused
when the configuration is read, naming what replaced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from s3redshift.config import LoaderConfig
from s3redshift.copy import CopyOptions, CsvFormat, FixedWidthFormat
from s3redshift.errors import ConfigError
from s3redshift.mapping import MappingRule

SENTINEL = "SENTINEL-DSN-PW-77c1"
SEED = {
    "DB_HOST": "example.abc.eu-west-1.redshift.amazonaws.com",
    "DB_PORT": "5439",
    "DB_NAME": "dev",
    "DB_USER": "loader",
    "DB_PW_PARAM": "/prod/redshift/loader-password",
    "DB_SCHEMA": "analytics",
    "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
}
CONNECTOR = {"kind": "redshift", "transport": "connector", "host": "h.example"}


def _rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"pattern": "{table}/**", "format": {"type": "csv"}, "options": {}}
    for section, values in changes.items():
        rule[section].update(values)
    return rule


def _error(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        LoaderConfig.from_mapping(document, source="c.toml")
    return str(caught.value)


# --- TOML: the file form -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            '[target]\nkind = "redshift"\ntransport = "connector"\nhost = "h"\nport = true\n',
            "  target.port: must be a whole number written without quotes (got a boolean)",
        ),
        (
            '[target]\nkind = "redshift"\ntransport = "connector"\nhost = "h"\nport = 5439.0\n',
            "  target.port: must be a whole number written without quotes (got a number "
            "with a fraction)",
        ),
        (
            '[target]\ntransport = "connector"\nhost = "h"\n[ledger]\nenabled = "yes"\n',
            "  ledger.enabled: must be true or false, written without quotes (got a string)",
        ),
        (
            '[target]\ntransport = "connector"\nhost = "h"\n'
            '[[tables]]\npattern = "{table}/**"\n[tables.options]\ntruncate_columns = "false"\n',
            "  tables[0].options.truncate_columns: must be true or false, written without quotes "
            "(got a string)",
        ),
        (
            '[target]\ntransport = "connector"\nhost = "h"\n'
            '[[tables]]\npattern = "{table}/**"\n[tables.format]\ntype = "csv"\n'
            "ignore_header = true\n",
            "  tables[0].format.ignore_header: must be a whole number written without quotes "
            "(got a boolean)",
        ),
    ],
)
def test_toml_values_of_the_wrong_type_are_refused_naming_the_key(
    tmp_path: Path, toml: str, line: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        LoaderConfig.from_file(path)
    # One line: every problem after the file's name.
    assert str(caught.value) == f"invalid configuration in {path}: {line.strip()}"


# --- JSON: the file form and S3REDSHIFT_CONFIG -----------------------------------------------


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"target": CONNECTOR | {"port": "5439"}}, "target.port"),
        ({"target": CONNECTOR, "ledger": {"enabled": 1}}, "ledger.enabled"),
        ({"target": CONNECTOR, "tables": [_rule(options={"max_error": "10"})]}, "max_error"),
        ({"target": CONNECTOR, "tables": [_rule(options={"max_error": 10.0})]}, "max_error"),
        ({"target": CONNECTOR, "tables": [_rule(options={"comp_rows": True})]}, "comp_rows"),
        ({"target": CONNECTOR, "tables": [_rule(options={"blanks_as_null": 0})]}, "blanks_as_null"),
        ({"target": CONNECTOR, "tables": [_rule(options={"stat_update": "off"})]}, "stat_update"),
        ({"target": CONNECTOR, "tables": [_rule(format={"ignore_header": "1"})]}, "ignore_header"),
        (
            {
                "target": CONNECTOR,
                "tables": [_rule(format={"type": "fixedwidth", "widths": {"id": "3"}})],
            },
            "tables[0].format.widths",
        ),
    ],
)
def test_json_values_of_the_wrong_type_are_refused_naming_the_key(
    document: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        LoaderConfig.from_json(json.dumps(document))
    assert key in str(caught.value)
    assert "without quotes" in str(caught.value)


def test_comp_update_takes_a_switch_or_preset_and_says_so() -> None:
    message = _error({"target": CONNECTOR, "tables": [_rule(options={"comp_update": "true"})]})
    assert message.partition(": ")[2] == (
        "tables[0].options.comp_update: COMPUPDATE (comp_update) must be true, false or 'preset'"
    )
    config = LoaderConfig.from_mapping(
        {"target": CONNECTOR, "tables": [_rule(options={"comp_update": "preset"})]}
    )
    assert config.tables[0].options.comp_update == "preset"


def test_python_callers_keep_lists_for_tuples() -> None:
    rule = MappingRule.model_validate(
        {
            "pattern": "{table}/**",
            "keys": ["id"],
            "columns": ["id", "ts"],
            "mode": "upsert",
            "format": {"type": "fixedwidth", "widths": [["id", 3], ["ts", 19]]},
        }
    )
    assert rule.keys == ("id",)
    assert rule.columns == ("id", "ts")
    assert isinstance(rule.format, FixedWidthFormat)
    assert rule.format.widths == (("id", 3), ("ts", 19))
    assert FixedWidthFormat(widths=[("a", 1)]).widths == (("a", 1),)  # type: ignore[arg-type]
    assert CsvFormat(ignore_header=1).ignore_header == 1
    assert CopyOptions(max_error=5, truncate_columns=True).max_error == 5
    config = LoaderConfig.from_mapping({"target": CONNECTOR | {"port": 5440}, "tables": [rule]})
    assert config.target.port == 5440
    assert config.tables == (rule,)


# --- the seed's environment variables ----------------------------------------------------


@pytest.mark.parametrize("port", ["abc", "5_439", "+5439", " 5439", "0", "70000", "5439.0"])
def test_seed_port_is_converted_explicitly_naming_the_variable(port: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LoaderConfig.load(environ=SEED | {"DB_PORT": port})
    assert str(caught.value) == (
        "DB_PORT must be a port number from 1 to 65535 written in digits, such as 5439"
    )


def test_seed_port_in_digits_is_read() -> None:
    assert LoaderConfig.load(environ=SEED | {"DB_PORT": "5440"}).target.port == 5440


# --- the removed stand-in kind ------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        {"kind": "postgres", "dsn": f"mysql://loader:{SENTINEL}@db:3306/dev"},
        {"kind": "postgres", "dsn": f"postgresql://loader:{SENTINEL}@db:port/dev"},
        {"kind": "postgres", "dsn": f"postgresql://loader:{SENTINEL}@db.example:5439/dev"},
        {"kind": "postgres", "dsn": "postgresql://postgres@/postgres?host=/tmp/x/pgdata"},
        {"kind": "postgres"},
        {**CONNECTOR, "dsn": f"postgresql://loader:{SENTINEL}@db/dev"},
    ],
)
def test_the_stand_in_kind_is_refused_naming_what_replaced_it(target: dict[str, Any]) -> None:
    message = _error({"target": target})
    assert "target.kind = 'postgres' and target.dsn were removed" in message
    assert "s3redshift.local" in message
    assert 'transport = "connector"' in message
    assert SENTINEL not in message


@pytest.mark.parametrize("name", ["s3redshift.yaml", "s3redshift.yml", "s3redshift.ini", "conf"])
def test_a_configuration_file_that_is_not_toml_or_json_is_refused_by_name(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_text("target:\n  kind: postgres\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        LoaderConfig.from_file(path)
    message = str(caught.value)
    assert name in message
    assert "TOML (.toml) or JSON (.json)" in message
    assert "Expected" not in message  # not a TOML parser's complaint
