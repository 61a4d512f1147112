"""The configuration reference: the schema describes every key, and the docs page is it.

Each key's meaning is its field's ``description`` (one source); the page
``reference/configuration.md`` is rendered from the JSON Schema by
scripts/docs_pages.py, section by section and row for row.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from scripts.docs_pages import CONFIG_SECTIONS, configuration_page, configuration_table

from s3redshift.config import SEED_ENV, LoaderConfig


def properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(definition, key, property)`` for every property of the schema and its definitions."""
    found = [("$", name, prop) for name, prop in schema["properties"].items()]
    for model, definition in schema["$defs"].items():
        found += [(model, name, prop) for name, prop in definition.get("properties", {}).items()]
    return found


def _sections(page: str) -> dict[str, str]:
    """The page's ``## `[...]` `` sections by heading, each its text up to the next one."""
    parts = re.split(r"^## `(.+)`$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_config_schema_describes_every_key_in_operator_words() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "s3redshift", "config-schema"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    found = properties(schema)
    assert len(found) > 70
    undescribed = [f"{model}.{name}" for model, name, prop in found if not prop.get("description")]
    assert undescribed == []
    texts = [prop["description"] for _, _, prop in found]
    texts += [d["description"] for d in schema["$defs"].values() if "description" in d]
    # Nothing written for the code's readers: no review notes, no reStructuredText.
    assert not [t for t in texts if "[verify]" in t or "``" in t or ":class:" in t]
    ignore_header = schema["$defs"]["CsvFormat"]["properties"]["ignore_header"]["description"]
    assert ignore_header.startswith("csv, delimited, fixedwidth: header lines to skip")
    encoding = schema["$defs"]["CopyOptions"]["properties"]["encoding"]["description"]
    assert encoding == "COPY option: ENCODING AS UTF8 | UTF16 | UTF16LE | UTF16BE"


def test_every_definition_is_in_exactly_one_section_of_the_page() -> None:
    schema = LoaderConfig.json_schema()
    listed = [model for _, models, _ in CONFIG_SECTIONS for model in models]
    assert sorted(listed) == sorted(schema["$defs"])


def test_each_section_is_the_schema_row_for_row_with_every_description() -> None:
    schema = LoaderConfig.json_schema()
    sections = _sections(configuration_page())
    assert list(sections) == [name for name, _, _ in CONFIG_SECTIONS]
    for name, models, _ in CONFIG_SECTIONS:
        table = [line for line in sections[name].splitlines() if line.startswith("| `")]
        assert "\n".join(table) + "\n" == configuration_table(schema, models).split("\n", 2)[2]
        keys = {key for m in models for key in schema["$defs"][m]["properties"]}
        assert [re.match(r"\| `([a-z_]+)` \|", row).group(1) for row in table] == list(  # type: ignore[union-attr]
            dict.fromkeys(k for m in models for k in schema["$defs"][m]["properties"])
        )
        assert len(table) == len(keys)
        for row in table:  # key, default, a meaning that is not empty
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
            assert len(cells) == 3, row
            assert all(cells), row


def test_a_pipe_in_a_description_stays_inside_its_cell() -> None:
    schema = LoaderConfig.json_schema()
    table = configuration_table(schema, ("CopyOptions",))
    [row] = [line for line in table.splitlines() if line.startswith("| `encoding`")]
    assert row.endswith("| COPY option: ENCODING AS UTF8 \\| UTF16 \\| UTF16LE \\| UTF16BE |")


def test_the_page_says_what_each_seed_variable_sets() -> None:
    page = configuration_page()
    seed = page.split("## The seed's environment variables", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| `([a-z_.\[\]0-9]+)` \|$", seed, re.MULTILINE))
    assert rows == {
        "DB_HOST": "target.host",
        "DB_PORT": "target.port",
        "DB_NAME": "target.database",
        "DB_USER": "credentials.user",
        "DB_PW_PARAM": "credentials.parameter",
        "DB_SCHEMA": "tables[0].schema",
        "IAM_ROLE": "copy.iam_role",
    }
    assert list(rows) == list(SEED_ENV)
    [shown] = re.findall(r"```json\n(.*?)```", seed, flags=re.DOTALL)
    assert LoaderConfig.from_json(shown).target.transport == "connector"
