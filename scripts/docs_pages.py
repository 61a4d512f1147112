"""The docs site's generated pages, each a plain function of the code it documents.

A reference written by hand drifts from the code the day a flag or a key
changes; these pages cannot. ``docs/gen_pages.py`` writes them into the site
at build time (mkdocs-gen-files) and the tests read the same functions, so
what the tests hold is what the site shows:

``reference/cli.md``            the argument parser (``s3redshift.cli.parser``)
``reference/configuration.md``  the configuration's JSON Schema (each field's description)
``performance.md``              ``bench/results.json`` and what each figure measures
                                (``bench/figures.py``)

``python scripts/docs_pages.py PAGE`` prints one page.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, or by mkdocs: `bench` lives at the root
    sys.path.insert(0, str(ROOT))

from bench.figures import FIGURES, Figure  # noqa: E402
from scripts import terraform_reference  # noqa: E402

from s3redshift.cli.parser import EXIT_MEANINGS, build_parser  # noqa: E402
from s3redshift.config import CONFIG_ENV, SEED_ENV, LoaderConfig  # noqa: E402

__all__ = [
    "CONFIG_SECTIONS",
    "PAGES",
    "cli_page",
    "configuration_page",
    "configuration_table",
    "performance_page",
    "prose",
    "subcommands",
]

RESULTS = ROOT / "bench" / "results.json"

_CODE_SPAN = re.compile(r"(`[^`]*`)")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_<>\[\]|#])")


def prose(text: str) -> str:
    """Plain help text as Markdown: code spans kept, every other special character escaped.

    Help texts are written for a terminal, where ``<ledger schema>`` or
    ``*.tmp`` are plain text; in Markdown they would be an HTML tag or
    emphasis, and a ``|`` would end a table cell.
    """
    parts = _CODE_SPAN.split(text)
    return "".join(
        part if part.startswith("`") else _MARKDOWN_SPECIAL.sub(r"\\\1", part) for part in parts
    )


def _cell(text: str) -> str:
    """Text for a table cell: one line (Markdown keeps a `|` inside a code span)."""
    return prose(" ".join(text.split()))


# --- the CLI reference ------------------------------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(name, parser)`` of every command, depth first: ``ledger`` before ``ledger prune``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for child, grandchild in subcommands(sub):
                    yield f"{name} {child}", grandchild


def _help(action: argparse.Action) -> str:
    """The action's help as ``--help`` prints it (``%(default)s`` filled in)."""
    return argparse.HelpFormatter("s3redshift")._expand_help(action)


def _argument_rows(parser: argparse.ArgumentParser, skip: tuple[str, ...]) -> list[str]:
    rows = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if set(action.option_strings) & set(skip):
            continue
        if action.option_strings:
            flag = ", ".join(action.option_strings)
            shown = f"{flag} {action.metavar}" if action.metavar else flag
        else:
            shown = str(action.metavar or action.dest)
        rows.append(f"| `{shown}` | {_cell(_help(action))} |")
    return rows


def _paragraphs(text: str) -> str:
    """A help description (paragraphs wrapped for a terminal) as Markdown paragraphs."""
    return "\n\n".join(prose(" ".join(p.split())) for p in text.split("\n\n") if p.strip())


COMMON_OPTIONS = ("-h", "--help", "--config", "--debug")
"""Options every command takes, described once at the top of the page."""


def _usage_and_description(parser: argparse.ArgumentParser) -> list[str]:
    """A command's usage line (as ``--help`` prints it) and its description."""
    usage = ["```text", parser.format_usage().strip(), "```", ""]
    return [*usage, _paragraphs(parser.description or ""), ""]


def cli_page() -> str:
    """The CLI reference: the program's and each command's description, usage and options."""
    parser = build_parser()
    lines = [
        "# CLI reference",
        "",
        "Generated from the command's argument parser: each section is what "
        "`s3redshift COMMAND --help` prints. `python -m s3redshift` runs the same command.",
        "",
        *_usage_and_description(parser),
        "| Option | Meaning |",
        "|---|---|",
        *_argument_rows(parser, skip=("-h", "--help")),
        "",
    ]
    for name, sub in subcommands(parser):
        lines += [
            f"## `s3redshift {name}`",
            "",
            *_usage_and_description(sub),
        ]
        rows = _argument_rows(sub, skip=COMMON_OPTIONS)
        if rows:
            lines += ["| Argument | Meaning |", "|---|---|", *rows, ""]
    lines += [
        "## Exit codes",
        "",
        "Every command ends with one of these codes.",
        "",
        "| Code | Meaning |",
        "|---|---|",
        *(f"| {code} | {_cell(meaning)} |" for code, meaning in EXIT_MEANINGS),
        "",
    ]
    return "\n".join(lines)


# --- the configuration reference --------------------------------------------------

CONFIG_SECTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("[target]", ("DataApiTarget", "ConnectorTarget"), "Where the data goes."),
    (
        "[credentials]",
        ("CredentialsConfig",),
        "How the loader signs in. Credentials are cached across warm invocations and "
        "refreshed before they expire.",
    ),
    ("[copy]", ("CopyConfig",), "Settings that every COPY the loader runs shares."),
    (
        "[ledger]",
        ("LedgerConfig",),
        "The exactly-once bookkeeping, written in the same transaction as the COPY: one "
        "ledger table per target table, so loads into different tables never wait for each "
        "other (see [Upgrading](../upgrading.md) if you ran a version with one `ledger.table`).",
    ),
    (
        "[notifications]",
        ("NotificationsConfig",),
        "Optional: one event per committed transaction on an EventBridge bus or an SNS topic, "
        "best effort and at most once.",
    ),
    (
        "[[tables]]",
        ("MappingRule",),
        "Mapping rules: the first rule whose pattern matches a key decides the target. "
        "Without any rule, the seed's rule applies: `{table}/**` → `public.{table}`, CSV with "
        "one header row.",
    ),
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
        "`type` selects the format; each format takes the keys listed for it.",
    ),
    (
        "[tables.options]",
        ("CopyOptions",),
        "Redshift's COPY options, written in snake_case. Only three are written by default: "
        "`COMPUPDATE OFF`, `MAXERROR AS 0` and `STATUPDATE OFF`. Invalid combinations are "
        "rejected when the configuration is read.",
    ),
    (
        "[tables.schema_policy]",
        ("SchemaPolicy",),
        "Opt-in: without it a rule loads as COPY does, by position, into a table that must "
        "exist (see [Tables that follow their files](../schema.md)).",
    ),
)
"""The page's sections in order: heading, the schema definitions it lists, its introduction."""

_LABELS = {"DataApiTarget": "data-api", "ConnectorTarget": "connector"}


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


def configuration_table(schema: dict[str, Any], models: tuple[str, ...]) -> str:
    """One section's table: each key once, its default (per model where they differ), meaning."""
    rows: dict[str, tuple[dict[str, str], str]] = {}
    for model in models:
        definition = schema["$defs"][model]
        for name, prop in definition["properties"].items():
            defaults, _ = rows.setdefault(name, ({}, prop["description"]))
            label = _LABELS.get(model, model.removesuffix("Format").lower())
            defaults[label] = _default(definition, name)
    lines = ["| Key | Default | Meaning |", "|---|---|---|"]
    for name, (defaults, meaning) in rows.items():
        shown = list(dict.fromkeys(defaults.values()))
        if len(shown) > 1 and name not in ("type", "transport"):
            default = ", ".join(f"{v} ({m})" for m, v in defaults.items())
        else:
            default = shown[0]
        lines.append(f"| `{name}` | {default.replace('|', chr(92) + '|')} | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"


_EXAMPLE = """\
[target]
transport = "data-api"
workgroup = "analytics-wg"
database = "dev"

[credentials]
provider = "iam"

[copy]
iam_role = "arn:aws:iam::123456789012:role/RedshiftCopy"
region = "eu-west-1"

[[tables]]
pattern = "{table}/**"
schema = "analytics"
  [tables.format]
  type = "csv"
  ignore_header = 1
"""

_SEED_SAMPLE = {
    "DB_HOST": "cluster.example.com",
    "DB_PORT": "5439",
    "DB_NAME": "dev",
    "DB_USER": "loader",
    "DB_PW_PARAM": "/prod/redshift/loader-password",
    "DB_SCHEMA": "analytics",
    "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
}
"""One distinct value per seed variable, so each one's key can be found in what it makes."""


def _paths(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, f"{path}[{index}]")
    else:
        yield path, node


def _seed_section() -> list[str]:
    """What the seed's variables mean, read back from the configuration they make."""
    config = LoaderConfig.from_seed_env(_SEED_SAMPLE)
    made = config.model_dump(mode="json", by_alias=True, exclude_unset=True)
    found = {str(value): path for path, value in _paths(made)}
    rows = [f"| `{name}` | `{found[_SEED_SAMPLE[name]]}` |" for name in SEED_ENV]
    compact = config.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for rule, shown in zip(config.tables, compact["tables"], strict=True):
        # The format's type tells the formats apart: left out as a default, it would not read.
        shown["format"] = {"type": rule.format.type, **shown.get("format", {})}
    return [
        "## The seed's environment variables",
        "",
        "Without `--config` and without `" + CONFIG_ENV + "`, the configuration comes from the "
        "seed loader's variables, which keep their meaning; all of them are then required:",
        "",
        "| Variable | Sets |",
        "|---|---|",
        *rows,
        "",
        "With the values above ("
        + ", ".join(f"`{k}={v}`" for k, v in _SEED_SAMPLE.items())
        + "), the configuration they make is, as JSON with the keys at their defaults left out:",
        "",
        "```json",
        json.dumps(compact, indent=2),
        "```",
        "",
    ]


def configuration_page() -> str:
    """The configuration reference: how it is read, then every key, section by section."""
    schema = LoaderConfig.json_schema()
    lines = [
        "# Configuration reference",
        "",
        "A configuration is one TOML or JSON document, read from `--config FILE`, else from "
        f"the JSON document in `{CONFIG_ENV}`, else from the seed's environment variables "
        "(below). Unknown keys are errors, so a misspelt option fails instead of being "
        "ignored, and whole numbers and switches are strict (`port = true` is refused, not "
        "read as 1). `s3redshift config-schema` prints the JSON Schema this page is "
        "generated from: each key's meaning below is its `description` there.",
        "",
        "```toml",
        _EXAMPLE.rstrip("\n"),
        "```",
        "",
        *_seed_section(),
    ]
    for heading, models, intro in CONFIG_SECTIONS:
        lines += [f"## `{heading}`", "", intro, "", configuration_table(schema, models)]
    return "\n".join(lines)


# --- the performance page ---------------------------------------------------------


def _number(value: float) -> str:
    """A figure as the results hold it, thousands separated: 19,774; 0.244; 1,195.3."""
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _figure_row(figure: Figure, result: dict[str, float]) -> str:
    median, low, high, runs = (result[k] for k in ("median", "min", "max", "runs"))
    spread = "" if low == high else f"{_number(low)} – {_number(high)}"
    goal = figure.goal_text(median)
    return (
        f"| `{figure.name}` | {_number(median)} | {spread} | {int(runs)} | "
        f"{_cell(goal)} | {_cell(figure.what)} |"
    )


def _bench_summary(bench: str) -> str:
    """The first line of the benchmark's docstring: what it measures, said beside its code."""
    source = (ROOT / "bench" / f"{bench}.py").read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    return prose(docstring.splitlines()[0].replace("``", "`"))


def performance_page(results: dict[str, Any] | None = None) -> str:
    """The performance page: every figure of ``bench/results.json`` with what it measures."""
    results = results or json.loads(RESULTS.read_text(encoding="utf-8"))
    machine = results["machine"]
    minutes, seconds = divmod(int(results["seconds"]), 60)
    lines = [
        "# Performance",
        "",
        "Generated from `bench/results.json`, which `make bench` writes. Measured on "
        f"{machine['date']}, {machine['cores']} cores, Python {machine['python']}, in one "
        f"run of {minutes} min {seconds} s. Each figure is the median of its runs, with "
        "their range; runs that are compared alternate within one benchmark, so both sides "
        "see the same machine. `python -m bench NAME` runs one benchmark and updates its "
        "figures only.",
        "",
        "What carries over to Redshift: the counts (commits per table, S3 requests, Data API "
        "calls), the planning time, the cold start and the sizes. The wall times of loads "
        "describe the embedded stand-in (PostgreSQL, an in-process S3 and a COPY that parses "
        "every file in the loader's own process), not Redshift, where COPY runs on the "
        "cluster. The machines these run on are noisy: compare figures of one run, not "
        "across runs.",
        "",
    ]
    by_bench: dict[str, list[Figure]] = {}
    for figure in FIGURES:
        by_bench.setdefault(figure.bench, []).append(figure)
    for bench, figures in by_bench.items():
        lines += [
            f"## `{bench}`",
            "",
            _bench_summary(bench),
            "",
            "| Figure | Median | Range | Runs | Goal or peer | What it measures |",
            "|---|---|---|---|---|---|",
            *(_figure_row(f, results["figures"][f.name]) for f in figures),
            "",
        ]
    return "\n".join(lines)


PAGES: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_page,
    "reference/configuration.md": configuration_page,
    "performance.md": performance_page,
    "reference/terraform.md": terraform_reference.page,
}
"""Every generated page, by its path in the site."""


if __name__ == "__main__":
    sys.stdout.write(PAGES[sys.argv[1]]())
