"""The configuration reference: one source for the README's tables and the JSON Schema.

Every configuration key is described here once, in the words an operator
reads: ``s3redshift config-schema`` puts each key's meaning into the schema
as its ``description`` (so an editor shows it), and the README's
"Configuration reference" tables are these rows, which
``tests/test_config_reference.py`` holds the README to. The models' own
docstrings are written for the code's readers and stay out of the schema.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["SECTIONS", "Key", "Section", "describe_schema", "markdown_table", "plain"]


@dataclass(frozen=True)
class Key:
    """One configuration key: its name, its default and what it means (Markdown)."""

    name: str
    default: str
    meaning: str


@dataclass(frozen=True)
class Section:
    """One table of the configuration (``[target]``, ``[[tables]]``, ...).

    ``models`` are the schema's definitions whose properties it describes;
    ``key`` is the top-level key holding it (None for nested tables);
    ``column`` heads the table's third column.
    """

    name: str
    models: tuple[str, ...]
    key: str | None
    column: str
    summary: str
    keys: tuple[Key, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        name="[target]",
        models=("TargetConfig",),
        key="target",
        column="Meaning",
        summary="Where the data goes.",
        keys=(
            Key(
                "kind",
                '`"redshift"`',
                "Always `redshift` (optional). The local stand-in is plugged in from code.",
            ),
            Key(
                "transport",
                '`"data-api"`',
                (
                    "Redshift only. `data-api` (boto3 `redshift-data`: no VPC, no driver) or "
                    "`connector` (`redshift_connector` over TCP in the VPC)."
                ),
            ),
            Key("host", "none", "Cluster or workgroup endpoint; required for `connector`."),
            Key("port", "`5439`", "Database port (`connector`)."),
            Key("database", '`"dev"`', "Database name."),
            Key("cluster_identifier", "none", "A provisioned cluster (Data API, IAM credentials)."),
            Key(
                "workgroup",
                "none",
                "A Redshift Serverless workgroup. Give it or `cluster_identifier`, not both.",
            ),
        ),
    ),
    Section(
        name="[credentials]",
        models=("CredentialsConfig",),
        key="credentials",
        column="Meaning",
        summary=(
            "How the loader signs in. Credentials are cached across warm invocations and "
            "refreshed before they expire."
        ),
        keys=(
            Key(
                "provider",
                '`"iam"`',
                (
                    "`static`, `ssm` (a SecureString parameter, as the seed did), "
                    "`secrets-manager` "
                    "(Redshift's JSON secret) or `iam` (`GetClusterCredentials` for a cluster, "
                    "`GetCredentials` for Serverless)."
                ),
            ),
            Key(
                "user",
                "none",
                (
                    "Database user (`static`, `ssm`). With `iam` on a cluster, the user to sign in "
                    "as; without it, the caller's IAM identity."
                ),
            ),
            Key("parameter", "none", "`ssm`: the parameter name."),
            Key("secret_arn", "none", "`secrets-manager`: the secret's ARN."),
            Key(
                "password",
                "none",
                "`static` only (tests, local use). Keep real passwords in SSM or Secrets Manager.",
            ),
        ),
    ),
    Section(
        name="[copy]",
        models=("CopyConfig",),
        key="copy",
        column="Meaning",
        summary="Settings that every COPY the loader runs shares.",
        keys=(
            Key(
                "iam_role",
                "none: `default`",
                (
                    "`IAM_ROLE` for COPY: an ARN, several comma-separated ARNs (role chaining), or "
                    "`default` (the cluster's default role)."
                ),
            ),
            Key(
                "region",
                "none",
                (
                    "Region of the bucket (COPY's `REGION`; not written for Parquet/ORC) and of "
                    "the "
                    "AWS clients."
                ),
            ),
            Key(
                "manifest_bucket",
                "the objects' bucket",
                "Where manifests and batch object lists are written.",
            ),
            Key(
                "manifest_prefix",
                '`"_s3redshift/manifests/"`',
                "Key prefix of manifests. Keys under it are never loaded.",
            ),
        ),
    ),
    Section(
        name="[ledger]",
        models=("LedgerConfig",),
        key="ledger",
        column="Meaning",
        summary=(
            "The exactly-once bookkeeping, written in the same transaction as the COPY: one "
            "ledger table per target table, so loads into different tables never wait for each "
            "other (see [Upgrading](#upgrading) if you ran a version with one `ledger.table`)."
        ),
        keys=(
            Key(
                "enabled",
                "`true`",
                "Turn exactly-once bookkeeping off only if something else guarantees it.",
            ),
            Key(
                "schema",
                '`"s3redshift"`',
                (
                    "Schema of the ledger tables, one per target, named "
                    "`load_ledger_<schema>_<table>_<hash>` and created on first use. The schema is "
                    "never a load target."
                ),
            ),
        ),
    ),
    Section(
        name="[[tables]]",
        models=("MappingRule",),
        key="tables",
        column="Meaning",
        summary=(
            "Mapping rules: the first rule whose pattern matches a key decides the target. "
            "Without any rule, the seed's rule applies: `{table}/**` → `public.{table}`, CSV "
            "with one header row."
        ),
        keys=(
            Key(
                "pattern",
                "required",
                (
                    "Key pattern. `{name}` captures one path segment, `*` matches one segment, and "
                    "`**` matches any depth."
                ),
            ),
            Key("schema", "`public`", 'Target schema; may use captures, e.g. `"{env}"`.'),
            Key(
                "table",
                '`"{table}"`',
                (
                    "Target table; may use captures. Names are validated as Redshift identifiers "
                    "and "
                    "always double-quoted."
                ),
            ),
            Key(
                "mode",
                '`"append"`',
                (
                    "`append`; `upsert` (stage, replace rows with matching keys, insert); or "
                    "`replace` (empty the table and load the newest snapshot, atomically, "
                    "without `TRUNCATE`)."
                ),
            ),
            Key("keys", "`[]`", "`upsert`: the key columns."),
            Key(
                "order_by",
                '`""`',
                (
                    "`upsert`: the column whose greatest value wins per key, over every row ever "
                    'loaded (see "What each load mode leaves in the table").'
                ),
            ),
            Key(
                "snapshot",
                '`""`',
                (
                    '`replace`: a capture of the pattern (`"{day}"`): the objects with one value '
                    "form one snapshot, loaded whole (the loader lists them) when any of them "
                    "arrives; empty: each object is a snapshot."
                ),
            ),
            Key(
                "snapshot_marker",
                '`""`',
                (
                    '`replace` with `snapshot`: a file name (`"_SUCCESS"`) that completes a '
                    "snapshot: its objects load once the marker is beside them (its event "
                    "loads them), and are `ignored` before."
                ),
            ),
            Key("columns", "`[]`", "Optional COPY column list."),
            Key("format", "CSV", "The file format, below."),
            Key("options", "see below", "COPY's data conversion and load options, below."),
        ),
    ),
    Section(
        name="[tables.format]",
        models=(
            "AvroFormat",
            "CsvFormat",
            "DelimitedFormat",
            "FixedWidthFormat",
            "JsonFormat",
            "OrcFormat",
            "ParquetFormat",
        ),
        key=None,
        column="Meaning",
        summary="`type` selects the format; each format takes the keys listed for it.",
        keys=(
            Key(
                "type",
                '`"csv"`',
                "`csv`, `delimited`, `json`, `avro`, `parquet`, `orc` or `fixedwidth`.",
            ),
            Key("delimiter", '`","` (csv), `"\\|"` (delimited)', "Field delimiter, one character."),
            Key("quote", "`'\"'`", "csv: the quote character."),
            Key(
                "ignore_header",
                "`0`",
                (
                    "csv, delimited, fixedwidth: header lines to skip in each file. The seed's "
                    "rule "
                    "(no `[[tables]]`) skips 1; a CSV rule that leaves it unset gets a warning on "
                    "every command (`s3redshift: warning: tables[0] … is CSV without ignore_header "
                    "…`), so say `1` or `0`."
                ),
            ),
            Key("null_as", "none", "csv, delimited, fixedwidth: the text that means NULL."),
            Key(
                "json_paths",
                '`"auto"`',
                (
                    "json, avro: `auto`, `auto ignorecase`, an `s3://` JSONPaths file (json also "
                    "`noshred`)."
                ),
            ),
            Key(
                "widths",
                "required",
                'fixedwidth: `"label:width,..."`, a table of label = width, or a list of pairs.',
            ),
            Key(
                "compression",
                '`"auto"`',
                (
                    "`auto` (from the extension: `.gz`, `.bz2`, `.zst`, `.lzo`), `none`, `gzip`, "
                    "`bzip2`, `zstd` or `lzop`."
                ),
            ),
        ),
    ),
    Section(
        name="[tables.options]",
        models=("CopyOptions",),
        key=None,
        column="COPY option",
        summary=(
            "These are Redshift's COPY options, written in snake_case. Only three are written by "
            "default: `COMPUPDATE OFF`, `MAXERROR AS 0` and `STATUPDATE OFF`. Invalid "
            "combinations are rejected when the configuration is read."
        ),
        keys=(
            Key("accept_any_date", "`false`", "`ACCEPTANYDATE`"),
            Key("accept_inv_chars", "none", "`ACCEPTINVCHARS AS 'c'`"),
            Key("blanks_as_null", "`false`", "`BLANKSASNULL`"),
            Key("date_format", "none", "`DATEFORMAT AS '…'` (`auto` or a format)"),
            Key("empty_as_null", "`false`", "`EMPTYASNULL`"),
            Key("encoding", "none", "`ENCODING AS UTF8 \\| UTF16 \\| UTF16LE \\| UTF16BE`"),
            Key("escape", "`false`", "`ESCAPE` (delimited text only)"),
            Key("explicit_ids", "`false`", "`EXPLICIT_IDS`"),
            Key("fill_record", "`false`", "`FILLRECORD`"),
            Key("ignore_blank_lines", "`false`", "`IGNOREBLANKLINES`"),
            Key("remove_quotes", "`false`", "`REMOVEQUOTES`"),
            Key("round_dec", "`false`", "`ROUNDEC`"),
            Key(
                "time_format",
                "none",
                "`TIMEFORMAT AS '…'` (`auto`, `epochsecs`, `epochmillisecs` or a format)",
            ),
            Key("trim_blanks", "`false`", "`TRIMBLANKS`"),
            Key("truncate_columns", "`false`", "`TRUNCATECOLUMNS`"),
            Key("comp_rows", "none", "`COMPROWS n`"),
            Key(
                "comp_update",
                "`false`",
                '`COMPUPDATE OFF \\| ON \\| PRESET` (`"preset"`); JSON `null` leaves it out',
            ),
            Key("ignore_all_errors", "`false`", "`IGNOREALLERRORS`"),
            Key("max_error", "`0`", "`MAXERROR AS n`"),
            Key("no_load", "`false`", "`NOLOAD`"),
            Key("stat_update", "`false`", "`STATUPDATE OFF \\| ON`; JSON `null` leaves it out"),
        ),
    ),
)
"""Every section of the configuration, in the README's order."""

_CODE = re.compile(r"`([^`]*)`")


def plain(markdown: str) -> str:
    """Markdown cell text as plain text: code spans unquoted, escaped bars unescaped."""
    return _CODE.sub(r"\1", markdown.replace("\\|", "|"))


def markdown_table(section: Section) -> str:
    """The README's table of ``section``, row for row."""
    lines = [f"| Key | Default | {section.column} |", "|---|---|---|"]
    lines += [f"| `{k.name}` | {k.default} | {k.meaning} |" for k in section.keys]
    return "\n".join(lines) + "\n"


def describe_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every property described and each definition summarised.

    Raises:
        KeyError: a property has no row here (a key added to a model but not
            to the reference), so the schema never ships a key undescribed.
    """
    described = copy.deepcopy(schema)
    definitions = described.get("$defs", {})
    for section in SECTIONS:
        lead = "COPY option: " if section.column == "COPY option" else ""
        meanings = {k.name: lead + plain(k.meaning) for k in section.keys}
        for model in section.models:
            definition = definitions[model]
            definition["description"] = plain(section.summary)
            for name, prop in definition.get("properties", {}).items():
                prop["description"] = meanings[name]
        if section.key is not None:
            described["properties"][section.key]["description"] = plain(section.summary)
    described["description"] = (
        "s3redshift's configuration: where the data goes, how the loader signs in, COPY's "
        "shared settings, the ledger and the mapping rules."
    )
    return described
