"""The Terraform module's reference page, generated from its own files.

``page()`` reads infra/terraform/variables.tf and outputs.tf with
python-hcl2 and returns a markdown page: every input (type, default,
whether it is required, description) and every output (description), in the
files' order. The descriptions in the ``.tf`` files are the one source, so
the page cannot drift from the module; the docs site builds it from here
(``docs/reference/terraform.md``) and ``python scripts/terraform_reference.py``
prints it.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from s3redshift.extras import GIT_TAG

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "infra" / "terraform"
OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)
HEREDOC = re.compile(r"^<<-?(\w+)\n(.*)\n\s*\1\s*$", re.DOTALL)
SOURCE = f"git::https://git.example.com/your-org/s3redshift.git//infra/terraform?ref={GIT_TAG}"


@dataclass(frozen=True)
class Entry:
    """One input or output of the module, as its ``.tf`` file declares it."""

    name: str
    description: str
    type: str | None = None
    required: bool = False
    default: Any = None


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    parsed = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=OPTIONS)
    return [(name, body) for block in parsed.get(kind, []) for name, body in block.items()]


def _text(value: object) -> str:
    """A description as written: a heredoc loses its markers and indentation."""
    text = str(value)
    match = HEREDOC.match(text)
    if match:
        text = textwrap.dedent(match.group(2))
    return " ".join(text.split())


def _type(value: object) -> str:
    """``${list(string)}`` as Terraform spells it: ``list(string)``."""
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def inputs() -> list[Entry]:
    """Every ``variable`` of the module, in file order."""
    return [
        Entry(
            name,
            _text(body.get("description", "")),
            _type(body.get("type", "any")),
            "default" not in body,
            body.get("default"),
        )
        for name, body in _blocks(MODULE / "variables.tf", "variable")
    ]


def outputs() -> list[Entry]:
    """Every ``output`` of the module, in file order."""
    return [
        Entry(name, _text(body.get("description", "")))
        for name, body in _blocks(MODULE / "outputs.tf", "output")
    ]


def _prose(text: str) -> str:
    """Markdown for a description: ``<name>`` outside code spans is text, not HTML."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _code(text: str) -> str:
    """An inline code span holding ``text``, even when it contains backticks."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _heading(kind: str, name: str) -> list[str]:
    """A heading with a stable anchor, ``#input_<name>`` or ``#output_<name>``.

    Some names are both an input and an output (``copy_role_arn``): the
    heading's own anchor would tell them apart only by a counter.
    """
    return [f'<a id="{kind}_{name}"></a>', "", f"### {name}", ""]


def _input(entry: Entry) -> list[str]:
    assert entry.type is not None
    usage = "required" if entry.required else f"default {_code(json.dumps(entry.default))}"
    lines = [*_heading("input", entry.name), _prose(entry.description), ""]
    if len(entry.type) <= 60:
        return [*lines, f"Type {_code(entry.type)}, {usage}.", ""]
    return [*lines, f"{usage.capitalize()}. Type:", "", "```hcl", entry.type, "```", ""]


def page() -> str:
    """The module's inputs and outputs as one markdown page."""
    ins, outs = inputs(), outputs()
    lines = [
        "# Terraform module reference",
        "",
        "The inputs and outputs of the module in `infra/terraform`, generated from its",
        "`variables.tf` and `outputs.tf` (the descriptions there are the source). Use it",
        "at a release tag:",
        "",
        "```hcl",
        'module "loader" {',
        f'  source = "{SOURCE}"',
        "  # ...",
        "}",
        "```",
        "",
        f"## Inputs ({len(ins)}; required: " + ", ".join(e.name for e in ins if e.required) + ")",
        "",
    ]
    for entry in ins:
        lines += _input(entry)
    lines += [f"## Outputs ({len(outs)})", ""]
    for entry in outs:
        lines += [*_heading("output", entry.name), _prose(entry.description), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(page())
