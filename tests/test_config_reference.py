"""The configuration reference: the schema describes every key, and the README's tables are it.

Each key's meaning is its field's ``description`` (one source); the
README's "Configuration reference" tables are rendered from the JSON Schema
here, row for row. ``python tests/test_config_reference.py`` prints them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from s3redshift.config import LoaderConfig

README = Path(__file__).resolve().parents[1] / "README.md"

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("[target]", ("DataApiTarget", "ConnectorTarget")),
    ("[credentials]", ("CredentialsConfig",)),
    ("[copy]", ("CopyConfig",)),
    ("[ledger]", ("LedgerConfig",)),
    ("[notifications]", ("NotificationsConfig",)),
    ("[[tables]]", ("MappingRule",)),
    (
        "[tables.format]",
        (
            "CsvFormat",
            "DelimitedFormat",
            "JsonFormat",
            "AvroFormat",
            "ParquetFormat",
            "OrcFormat",
            "FixedWidthFormat",
        ),
    ),
    ("[tables.options]", ("CopyOptions",)),
    ("[tables.schema_policy]", ("SchemaPolicy",)),
)
"""The README's tables, in its order, and the schema definitions each one lists."""
LABELS = {"DataApiTarget": "data-api", "ConnectorTarget": "connector"}


def properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(definition, key, property)`` for every property of the schema and its definitions."""
    found = [("$", name, prop) for name, prop in schema["properties"].items()]
    for model, definition in schema["$defs"].items():
        found += [(model, name, prop) for name, prop in definition.get("properties", {}).items()]
    return found


def _default(definition: dict[str, Any], name: str) -> str:
    prop = definition["properties"][name]
    if name in definition.get("required", ()):
        return "required" if "const" not in prop else f"`{json.dumps(prop['const'])}`"
    if "default" not in prop:
        return "see below"
    value = prop["default"]
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "CSV" if value.get("type") == "csv" else "see below"
    return f"`{json.dumps(value)}`"


def markdown_table(schema: dict[str, Any], models: tuple[str, ...]) -> str:
    """One README table: each key once, its default (per model where they differ), its meaning."""
    rows: dict[str, tuple[dict[str, str], str]] = {}
    for model in models:
        definition = schema["$defs"][model]
        for name, prop in definition["properties"].items():
            defaults, meaning = rows.setdefault(name, ({}, prop["description"]))
            label = LABELS.get(model, model.removesuffix("Format").lower())
            defaults[label] = _default(definition, name)
    lines = ["| Key | Default | Meaning |", "|---|---|---|"]
    for name, (defaults, meaning) in rows.items():
        shown = sorted(set(defaults.values()), key=list(defaults.values()).index)
        if len(shown) > 1 and name not in ("type", "transport"):
            default = ", ".join(f"{v} ({m})" for m, v in defaults.items())
        else:
            default = shown[0]
        cell = meaning.replace("|", "\\|")
        lines.append(f"| `{name}` | {default.replace('|', chr(92) + '|')} | {cell} |")
    return "\n".join(lines) + "\n"


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


def test_every_definition_is_in_exactly_one_readme_table() -> None:
    schema = LoaderConfig.json_schema()
    listed = [model for _, models in SECTIONS for model in models]
    assert sorted(listed) == sorted(schema["$defs"])


def test_the_readme_tables_are_the_schema_row_for_row() -> None:
    schema = LoaderConfig.json_schema()
    text = README.read_text(encoding="utf-8")
    reference = text[text.index("## Configuration reference") : text.index("## Upgrading")]
    for name, models in SECTIONS:
        heading = f"### `{name}`\n"
        start = reference.index(heading)
        following = reference.find("\n### ", start + len(heading))
        body = reference[start : following if following != -1 else len(reference)]
        table = "\n".join(line for line in body.splitlines() if line.startswith("|")) + "\n"
        assert table == markdown_table(schema, models), name
    headings = re.findall(r"^### `(.+)`$", reference, flags=re.MULTILINE)
    assert headings == [name for name, _ in SECTIONS]


if __name__ == "__main__":
    for section, section_models in SECTIONS:
        print(f"### `{section}`\n\n{markdown_table(LoaderConfig.json_schema(), section_models)}")
