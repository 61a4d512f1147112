"""The configuration reference: the schema describes every key, in the README's words."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from s3redshift.config import LoaderConfig
from s3redshift.config_reference import SECTIONS, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(definition, key, property)`` for every property of the schema and its definitions."""
    found = [("$", name, prop) for name, prop in schema["properties"].items()]
    for model, definition in schema["$defs"].items():
        found += [(model, name, prop) for name, prop in definition.get("properties", {}).items()]
    return found


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
    texts += [d["description"] for d in schema["$defs"].values()]
    # Nothing written for the code's readers: no review notes, no reStructuredText.
    assert not [t for t in texts if "[verify]" in t or "``" in t or ":class:" in t]
    ignore_header = schema["$defs"]["CsvFormat"]["properties"]["ignore_header"]["description"]
    assert ignore_header.startswith("csv, delimited, fixedwidth: header lines to skip")
    encoding = schema["$defs"]["CopyOptions"]["properties"]["encoding"]["description"]
    assert encoding == "COPY option: ENCODING AS UTF8 | UTF16 | UTF16LE | UTF16BE"


def test_every_property_has_exactly_one_row_and_every_row_a_property() -> None:
    schema = LoaderConfig.model_json_schema(by_alias=True)
    for section in SECTIONS:
        names = {k.name for k in section.keys}
        assert len(names) == len(section.keys), f"{section.name}: a key listed twice"
        seen: set[str] = set()
        for model in section.models:
            seen |= set(schema["$defs"][model]["properties"])
        assert seen == names, section.name


def test_the_readme_tables_are_the_reference_row_for_row() -> None:
    text = README.read_text(encoding="utf-8")
    reference = text[text.index("## Configuration reference") : text.index("## Upgrading")]
    for section in SECTIONS:
        heading = f"### `{section.name}`\n"
        start = reference.index(heading)
        following = reference.find("\n### ", start + len(heading))
        body = reference[start : following if following != -1 else len(reference)]
        table = "\n".join(line for line in body.splitlines() if line.startswith("|")) + "\n"
        assert table == markdown_table(section), section.name
    headings = re.findall(r"^### `(.+)`$", reference, flags=re.MULTILINE)
    assert headings == [section.name for section in SECTIONS]
