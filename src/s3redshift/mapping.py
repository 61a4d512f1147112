"""Which table, format and load mode an S3 object goes to.

An object key is attacker-adjacent text (anyone who may write to the bucket
chooses it), yet part of it becomes a table name. So the mapping is strict in
both directions:

* rules are checked completely when they are built, so a bad ``[[tables]]``
  entry stops the loader at start-up, not on the first file at 3 a.m.;
* a name derived from a key is validated with Redshift's standard identifier
  rules and folded to lower case, and a name that fails is *rejected* with an
  error naming the key, the rule and the fix. It is never rewritten into some
  other name, because two different keys must never silently land in the
  same "repaired" table.

Pattern language (matched against the whole decoded key, split on ``/``):

``{name}``
    captures one or more characters inside one segment; it may sit between
    literal text (``events/{table}.json``). Names are ``[a-z_][a-z0-9_]*`` and
    each is used at most once. Two captures cannot touch (``{a}{b}`` has no
    single meaning). When one segment holds several captures separated by
    literal text, earlier captures take as much as they can.
``*``
    as a whole segment, exactly one non-empty segment; inside a segment
    (``*.csv``), any run of non-``/`` characters, possibly empty, as in a
    shell glob.
``**``
    a whole segment only. Leading (``**/x.csv``) or in the middle
    (``a/**/b.csv``) it matches zero or more segments; trailing (``a/**``) it
    matches one or more, i.e. everything *inside* ``a/`` but not a file named
    ``a``, as in gitignore. Alone it matches any key.
``{{`` / ``}}``
    a literal brace; every other character matches itself.

Templates (``schema``, ``table``) are literal text with ``{capture}``
placeholders; braces cannot appear in a valid identifier, so they need no
escape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from s3redshift.copy import (
    AvroFormat,
    CopyOptions,
    CsvFormat,
    DelimitedFormat,
    FileFormat,
    FixedWidthFormat,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
    check_compatible,
)
from s3redshift.errors import (
    ConfigError,
    CopyOptionsError,
    MappingError,
    UnsafeIdentifierError,
)
from s3redshift.identifiers import TableRef, validate_identifier

__all__ = [
    "DEFAULT_IGNORE_PREFIXES",
    "MAX_KEY_BYTES",
    "MappingRule",
    "Reserved",
    "Resolution",
    "S3ObjectLike",
    "SchemaPolicy",
    "TableMapper",
    "TableRef",
    "Target",
    "default_rule",
    "marker_pattern",
    "snapshot_prefix",
    "unloadable_key",
]

DEFAULT_IGNORE_PREFIXES: tuple[str, ...] = ("_s3redshift/manifests/",)
"""The loader's own manifest prefix: it must never load its own files."""

_CAPTURE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class S3ObjectLike(Protocol):
    """What :meth:`TableMapper.resolve` needs from an object: its decoded key and URI.

    A protocol rather than ``events.S3Object`` so that mapping stays usable
    (and testable) without the events module.
    """

    @property
    def key(self) -> str: ...

    @property
    def uri(self) -> str: ...


# --- patterns ---------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Capture:
    name: str


@dataclass(frozen=True)
class _Star:
    """``*`` inside a segment, or a whole segment when it is the only token."""


_Token = _Literal | _Capture | _Star
_GLOBSTAR = "**"


@dataclass(frozen=True)
class _Pattern:
    text: str
    regex: re.Pattern[str]
    captures: tuple[str, ...]
    segments: tuple[tuple[_Token, ...] | str, ...]  # str only for "**"

    def with_literals(self, values: Mapping[str, str]) -> str | None:
        """The pattern text with the given captures replaced by literal text.

        Used to suggest a fix in an error message. None when a value cannot be
        written literally in the pattern language (it contains ``*``).
        """
        if any("*" in value for value in values.values()):
            return None
        parts: list[str] = []
        for segment in self.segments:
            if isinstance(segment, str):
                parts.append(segment)
                continue
            text = ""
            for token in segment:
                if isinstance(token, _Literal):
                    text += _escape_braces(token.text)
                elif isinstance(token, _Capture):
                    if token.name in values:
                        text += _escape_braces(values[token.name])
                    else:
                        text += "{" + token.name + "}"
                else:
                    text += "*"
            parts.append(text)
        return "/".join(parts)


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@lru_cache(maxsize=256)
def _compile_pattern(text: str) -> _Pattern:
    """Parse and compile a key pattern once; raise ValueError with the fix."""
    if not text:
        raise ValueError("the pattern is empty; write for example '{table}/**'")
    if text.endswith("/"):
        raise ValueError(
            "the pattern ends with '/', so it could only match folder markers, which are "
            "always ignored; end it with '**' or with a file name such as '*.csv'"
        )
    raw_segments = text.split("/")
    segments: list[tuple[_Token, ...] | str] = []
    captures: list[str] = []
    for raw in raw_segments:
        if raw == _GLOBSTAR:
            segments.append(_GLOBSTAR)
            continue
        tokens = _tokenize_segment(raw)
        for token in tokens:
            if isinstance(token, _Capture):
                if token.name in captures:
                    raise ValueError(
                        f"capture {{{token.name}}} is used twice; give each capture its own "
                        "name, or use '*' where the value is not needed"
                    )
                captures.append(token.name)
        segments.append(tokens)

    pieces: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if isinstance(segment, str):  # "**"
            # Not last: zero or more whole segments, each with its slash.
            # Last: at least one character after the preceding slash
            # (everything inside the folder), or any key when alone.
            pieces.append(".+" if index == last else "(?:[^/]*/)*")
            continue
        pieces.append(_segment_regex(segment))
        if index != last:
            pieces.append("/")
    regex = re.compile("".join(pieces), re.DOTALL)
    return _Pattern(text, regex, tuple(captures), tuple(segments))


def _tokenize_segment(raw: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    literal = ""
    i = 0
    while i < len(raw):
        char = raw[i]
        if raw.startswith("{{", i) or raw.startswith("}}", i):
            literal += char
            i += 2
        elif char == "{":
            end = raw.find("}", i + 1)
            if end < 0:
                raise ValueError(
                    f"'{{' in segment {raw!r} is never closed; write a capture as {{name}} "
                    "(within one segment) or a literal brace as '{{'"
                )
            name = raw[i + 1 : end]
            if _CAPTURE_NAME.fullmatch(name) is None:
                raise ValueError(
                    f"capture name {name!r} is not allowed; use lower-case letters, digits "
                    "and '_', starting with a letter or '_', e.g. {table}"
                )
            if literal:
                tokens.append(_Literal(literal))
                literal = ""
            if tokens and isinstance(tokens[-1], _Capture):
                raise ValueError(
                    f"captures {{{tokens[-1].name}}} and {{{name}}} touch, so where one ends "
                    "is ambiguous; put literal text between them"
                )
            tokens.append(_Capture(name))
            i = end + 1
        elif char == "}":
            raise ValueError(
                f"'}}' in segment {raw!r} has no opening '{{'; write a literal brace as '}}}}'"
            )
        elif char == "*":
            if raw.startswith("**", i):
                raise ValueError(
                    f"'**' must be a whole path segment, but segment {raw!r} has other text; "
                    "use '*' inside a segment, or write '**' between slashes"
                )
            if literal:
                tokens.append(_Literal(literal))
                literal = ""
            tokens.append(_Star())
            i += 1
        else:
            literal += char
            i += 1
    if literal:
        tokens.append(_Literal(literal))
    return tuple(tokens)


def _segment_regex(tokens: tuple[_Token, ...]) -> str:
    if tokens == (_Star(),):
        return "[^/]+"
    out: list[str] = []
    for token in tokens:
        if isinstance(token, _Literal):
            out.append(re.escape(token.text))
        elif isinstance(token, _Capture):
            out.append(f"(?P<{token.name}>[^/]+)")
        else:
            out.append("[^/]*")
    return "".join(out)


# --- templates --------------------------------------------------------------


@dataclass(frozen=True)
class _Template:
    text: str
    parts: tuple[_Literal | _Capture, ...]

    @property
    def captures(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if isinstance(p, _Capture))

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(p.text if isinstance(p, _Literal) else values[p.name] for p in self.parts)


_TEMPLATE_PART = re.compile(r"\{([^{}]*)\}")


@lru_cache(maxsize=256)
def _parse_template(text: str) -> _Template:
    parts: list[_Literal | _Capture] = []
    position = 0
    for match in _TEMPLATE_PART.finditer(text):
        before = text[position : match.start()]
        name = match.group(1)
        if _CAPTURE_NAME.fullmatch(name) is None:
            raise ValueError(
                f"placeholder {match.group(0)!r} is not a capture name; use lower-case "
                "letters, digits and '_', e.g. {table}"
            )
        if before:
            parts.append(_Literal(before))
        parts.append(_Capture(name))
        position = match.end()
    if position < len(text):
        parts.append(_Literal(text[position:]))
    for part in parts:
        if isinstance(part, _Literal) and ("{" in part.text or "}" in part.text):
            raise ValueError(
                "unbalanced '{' or '}'; placeholders are written {capture}, and braces "
                "cannot appear in a Redshift name"
            )
    return _Template(text, tuple(parts))


# --- rules ------------------------------------------------------------------


def _where(info: ValidationInfo) -> str:
    pattern = info.data.get("pattern")
    return f"rule {pattern!r}" if isinstance(pattern, str) else "rule"


class SchemaPolicy(BaseModel):
    """``[tables.schema_policy]``: how a rule's table follows its files' schemas.

    Opt-in: the default is COPY's own behaviour (by position, the table must
    exist, nothing changes it). Never drops, renames or narrows a column.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: Literal["position", "name"] = Field(
        "position",
        description="\"position\": COPY's own rule (the file's columns in the table's order); "
        '"name": each file column loads into the table column of its name, in any order.',
    )
    create: StrictBool = Field(
        False,
        description="Create the table from the batch's files when it does not exist.",
    )
    evolve: tuple[Literal["add_columns", "widen"], ...] = Field(
        (),
        description='Changes made before a load: "add_columns" adds a file\'s new columns '
        '(nullable); "widen" grows a VARCHAR that its values outgrow. Needs match = "name".',
    )

    @property
    def active(self) -> bool:
        """Whether the files' schemas are read at all."""
        return self.match == "name" or self.create or bool(self.evolve)


def _check_schema_policy(where: str, rule: MappingRule) -> None:
    """What the policy needs of the rule's format and columns."""
    policy, fmt = rule.schema_policy, rule.format
    field = f"{where}, field 'schema_policy'"
    if len(set(policy.evolve)) != len(policy.evolve):
        raise ValueError(f"{field}: evolve lists a change twice; list each once")
    if policy.evolve and policy.match != "name":
        raise ValueError(
            f'{field}: evolve needs match = "name" (by position, where a new column sits in '
            'the file decides which table column it fills); set match = "name" or evolve = []'
        )
    if (rule.sort_key or rule.dist_key) and not policy.create:
        raise ValueError(
            f"{where}, fields 'sort_key' and 'dist_key': only used when the loader creates "
            "the table; set schema_policy.create = true or remove them"
        )
    if not policy.active:
        return
    if isinstance(fmt, FixedWidthFormat):
        raise ValueError(
            f"{field}: fixed-width files name no columns, so their schema cannot be read; "
            "remove schema_policy or use a format whose files name their columns"
        )
    if rule.options.encoding not in (None, "UTF8") and not isinstance(
        fmt, ParquetFormat | OrcFormat | AvroFormat
    ):
        raise ValueError(
            f"{field}: the schema readers read UTF-8 text, but options.encoding is "
            f"{rule.options.encoding!r}; write the files in UTF-8, or remove schema_policy"
        )
    if isinstance(fmt, CsvFormat | DelimitedFormat) and fmt.ignore_header < 1:
        raise ValueError(
            f"{field}: the column names are read from each file's header line, but "
            "format.ignore_header is 0; set ignore_header = 1 for files with a header"
        )
    paths = getattr(fmt, "json_paths", "auto")
    if isinstance(fmt, JsonFormat | AvroFormat) and paths not in ("auto", "auto ignorecase"):
        raise ValueError(
            f"{field}: json_paths = {paths!r} maps fields by path, not by name; use "
            "json_paths = 'auto' or 'auto ignorecase', or remove schema_policy"
        )
    if policy.match == "name" and rule.columns:
        raise ValueError(
            f'{field}: with match = "name" each file\'s own columns are loaded; remove '
            'the column list (columns) or use match = "position"'
        )


class MappingRule(BaseModel):
    """One ``[[tables]]`` entry: which keys it claims and how they are loaded.

    Everything that can be checked without a key is checked here, so an
    invalid rule never reaches the loader. Errors surface as pydantic
    ``ValidationError`` whose message names the rule's pattern, the field and
    the fix; problems found by ``s3redshift.copy`` are reported the same way.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    pattern: str = Field(
        description="Key pattern. {name} captures one path segment, * matches one segment, "
        "and ** matches any depth."
    )
    target_schema: str | None = Field(
        default=None,
        alias="schema",
        description='Target schema (public when unset); may use captures, e.g. "{env}".',
    )
    table: str = Field(
        "{table}",
        description="Target table; may use captures. Names are validated as Redshift "
        "identifiers and always double-quoted.",
    )
    mode: Literal["append", "upsert", "replace"] = Field(
        "append",
        description="append; upsert (stage, replace rows with matching keys, insert); or "
        "replace (empty the table and load the newest snapshot, atomically, without TRUNCATE).",
    )
    keys: tuple[str, ...] = Field((), description="upsert: the key columns.")
    order_by: str = Field(
        "",
        description="upsert: the column whose greatest value wins per key, over every row "
        'ever loaded (see "What each load mode leaves in the table").',
    )
    snapshot: str = Field(
        "",
        description='replace: a capture of the pattern ("{day}"): the objects with one value '
        "form one snapshot, loaded whole when any of them arrives; empty: each object is one.",
    )
    snapshot_marker: str = Field(
        "",
        description='replace with snapshot: a file name ("_SUCCESS") that completes a '
        "snapshot: its objects load once the marker is beside them, and are ignored before.",
    )
    columns: tuple[str, ...] = Field((), description="Optional COPY column list.")
    format: FileFormat = Field(CsvFormat(), description="The file format ([tables.format]).")
    options: CopyOptions = Field(
        CopyOptions(), description="COPY's data conversion and load options ([tables.options])."
    )
    schema_policy: SchemaPolicy = Field(
        SchemaPolicy(),
        description="How the table follows its files' schemas ([tables.schema_policy]).",
    )
    sort_key: tuple[str, ...] = Field(
        (), description="schema_policy.create: the created table's SORTKEY columns."
    )
    dist_key: str = Field("", description="schema_policy.create: the created table's DISTKEY.")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            _compile_pattern(value)
        except ValueError as exc:
            raise ValueError(f"rule {value!r}, field 'pattern': {exc}") from None
        return value

    @field_validator("keys", "columns", "sort_key")
    @classmethod
    def _column_names(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        folded = tuple(_column(name, info) for name in value)
        seen: set[str] = set()
        for name in folded:
            if name in seen:
                raise ValueError(
                    f"{_where(info)}, field {info.field_name!r}: column {name!r} is listed "
                    "twice; list each column once"
                )
            seen.add(name)
        return folded

    @field_validator("order_by", "dist_key")
    @classmethod
    def _order_by(cls, value: str, info: ValidationInfo) -> str:
        return _column(value, info) if value else value

    @field_validator("format", "options", mode="wrap")
    @classmethod
    def _copy_settings(
        cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        # The copy models raise CopyOptionsError from their own validators,
        # which pydantic lets through untouched; re-raise it as a validation
        # error that also says which rule it belongs to.
        try:
            return handler(value)
        except CopyOptionsError as exc:
            raise ValueError(f"{_where(info)}, field {info.field_name!r}: {exc.message}") from exc

    @model_validator(mode="after")
    def _consistent(self) -> MappingRule:
        where = f"rule {self.pattern!r}"
        captures = _compile_pattern(self.pattern).captures
        templates = [("table", self.table)]
        if self.target_schema is not None:
            templates.insert(0, ("schema", self.target_schema))
        for name, text in templates:
            _check_template(where, name, text, captures)

        if self.mode == "upsert" and not self.keys:
            raise ValueError(
                f"{where}, field 'keys': mode 'upsert' needs the key columns that identify "
                'a row; set keys = ["id"] (your key columns) or use mode "append"'
            )
        if self.mode != "upsert":
            for name, value in (("keys", bool(self.keys)), ("order_by", bool(self.order_by))):
                if value:
                    raise ValueError(
                        f"{where}, field {name!r}: only used with mode 'upsert', but the mode "
                        f'is {self.mode!r}; set mode = "upsert" or remove {name}'
                    )
        if self.snapshot:
            _check_snapshot(where, self.snapshot, self.mode, captures)
        if self.snapshot_marker:
            _check_marker(where, self)
        if self.columns:
            missing = [k for k in (*self.keys, self.order_by) if k and k not in self.columns]
            if missing:
                raise ValueError(
                    f"{where}, field 'columns': the column list leaves out {missing!r}, which "
                    "upsert needs; add them to columns or drop the column list"
                )
        try:
            check_compatible(self.format, self.options, columns=self.columns)
        except (CopyOptionsError, UnsafeIdentifierError) as exc:
            raise ValueError(f"{where}, fields 'format' and 'options': {exc.message}") from exc
        _check_schema_policy(where, self)
        return self

    @property
    def snapshot_capture(self) -> str:
        """The name of the :attr:`snapshot` capture (``"day"``), or ``""``."""
        return self.snapshot.removeprefix("{").removesuffix("}")


def _check_snapshot(where: str, snapshot: str, mode: str, captures: tuple[str, ...]) -> None:
    if mode != "replace":
        raise ValueError(
            f"{where}, field 'snapshot': a snapshot is what replace loads, but the mode is "
            f'{mode!r}; set mode = "replace" or remove snapshot'
        )
    name = snapshot.removeprefix("{").removesuffix("}")
    if not (snapshot.startswith("{") and snapshot.endswith("}")) or name not in captures:
        defined = ", ".join("{" + c + "}" for c in captures) or "none"
        raise ValueError(
            f"{where}, field 'snapshot': {snapshot!r} is not a capture of the pattern "
            f'(captures: {defined}); write one of them, braces included, e.g. "{{day}}"'
        )


_MARKER_NAME = re.compile(r"[^/*{}]+")


def marker_pattern(rule: MappingRule) -> str:
    """The pattern of a rule's snapshot markers: its folders, then the marker's file name."""
    folders = rule.pattern.split("/")[:-1]
    return "/".join([*folders, rule.snapshot_marker])


def _check_marker(where: str, rule: MappingRule) -> None:
    if not rule.snapshot:
        raise ValueError(
            f"{where}, field 'snapshot_marker': a marker completes a snapshot, but the rule "
            'has none; set snapshot = "{capture}" or remove snapshot_marker'
        )
    if _MARKER_NAME.fullmatch(rule.snapshot_marker) is None:
        raise ValueError(
            f"{where}, field 'snapshot_marker': {rule.snapshot_marker!r} is not a file name; "
            "write the marker's name alone, e.g. \"_SUCCESS\" (no '/', '*' or braces)"
        )
    folders = _compile_pattern(marker_pattern(rule)).captures if "/" in rule.pattern else ()
    templates = [rule.table, rule.target_schema or ""]
    used = {c for text in templates for c in _parse_template(text).captures}
    missing = sorted((used | {rule.snapshot_capture}) - set(folders))
    if missing:
        raise ValueError(
            f"{where}, field 'snapshot_marker': the marker sits in the snapshot's folder, so "
            f"the pattern's folders must capture {missing} (the file name cannot); move "
            "those captures into a folder of the pattern or remove snapshot_marker"
        )


def snapshot_prefix(rule: MappingRule, key: str) -> str:
    """The key prefix under which every object of ``key``'s snapshot lies (listed to load it).

    Up to and including the key segment that holds the snapshot capture, or
    the one before it when that segment is the last (the file name); never
    past a ``**``, after which keys differ in depth. Listing under it and
    keeping the objects the rule maps with the same capture value gives the
    snapshot.
    """
    name = rule.snapshot_capture
    parts = key.split("/")
    segments = _compile_pattern(rule.pattern).segments
    end = len(segments) - 1
    for index, segment in enumerate(segments):
        if isinstance(segment, str):  # "**"
            end = index
            break
        if any(isinstance(t, _Capture) and t.name == name for t in segment):
            end = index + 1 if index < len(segments) - 1 else index
            break
    head = "/".join(parts[:end])
    return head + "/" if head else ""


def _column(name: str, info: ValidationInfo) -> str:
    try:
        return validate_identifier(name, what="column")
    except UnsafeIdentifierError as exc:
        raise ValueError(
            f"{_where(info)}, field {info.field_name!r}: {exc.message}; write the column "
            "name as it is in the table"
        ) from None


def _check_template(where: str, name: str, text: str, captures: tuple[str, ...]) -> None:
    try:
        template = _parse_template(text)
    except ValueError as exc:
        raise ValueError(f"{where}, field {name!r}: template {text!r}: {exc}") from None
    unknown = [c for c in template.captures if c not in captures]
    if unknown:
        defined = ", ".join("{" + c + "}" for c in captures) or "none"
        raise ValueError(
            f"{where}, field {name!r}: template {text!r} uses {{{unknown[0]}}}, which the "
            f"pattern does not capture (captures: {defined}); add {{{unknown[0]}}} to the "
            f"pattern or write a literal {name} name"
        )
    # A capture is at least one character, so if the template is invalid with
    # every capture set to "a", no key can ever make it valid: it is a
    # configuration error, not a per-object one.
    sample = template.render(dict.fromkeys(template.captures, "a"))
    try:
        validate_identifier(sample, what=name)
    except UnsafeIdentifierError as exc:
        detail = exc.message
        if template.captures:
            detail = f"no key can make it a valid name ({detail}, with each capture set to 'a')"
        raise ValueError(
            f"{where}, field {name!r}: template {text!r}: {detail}; change the template "
            "so that it gives a valid name"
        ) from None


def default_rule(schema: str = "public") -> MappingRule:
    """The seed's single rule: the first key segment is the table.

    ``kpis/2026/11/a.csv`` goes to ``<schema>.kpis`` as CSV with one header
    row, appended.
    """
    return MappingRule(
        pattern="{table}/**",
        target_schema=schema,
        table="{table}",
        mode="append",
        format=CsvFormat(delimiter=",", ignore_header=1),
    )


# --- resolution -------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a group of objects is loaded; objects with equal targets share one COPY.

    Equality and hashing use the table, the rule and its position, not the
    captures: ``kpis/2025/a.csv`` and ``KPIs/2026/b.csv`` under
    ``{table}/{year}/**`` are one target.
    """

    table: TableRef
    rule: MappingRule = field(hash=False)
    rule_index: int
    captures: Mapping[str, str] = field(compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "captures", MappingProxyType(dict(self.captures)))


@dataclass(frozen=True)
class Resolution:
    """What the mapper decided for one object, and why when it was skipped."""

    outcome: Literal["mapped", "unmapped", "ignored"]
    target: Target | None
    reason: str

    def __post_init__(self) -> None:
        if (self.outcome == "mapped") != (self.target is not None):
            raise ValueError("a Resolution has a target exactly when its outcome is 'mapped'")


@dataclass(frozen=True)
class _CompiledRule:
    rule: MappingRule
    pattern: _Pattern
    schema: _Template | None
    table: _Template
    marker: _Pattern | None = None
    """The rule's snapshot markers (mapped to its target, never ignored), if it has them."""


def _compile_rule(rule: MappingRule) -> _CompiledRule:
    """Compile once per mapper; re-checks what a ``model_construct``-ed rule skipped."""
    pattern = _compile_pattern(rule.pattern)
    schema = None if rule.target_schema is None else _parse_template(rule.target_schema)
    table = _parse_template(rule.table)
    for template in (schema, table):
        if template is not None:
            unknown = set(template.captures) - set(pattern.captures)
            if unknown:
                raise ValueError(f"template {template.text!r} uses captures {sorted(unknown)}")
    marker = _compile_pattern(marker_pattern(rule)) if rule.snapshot_marker else None
    return _CompiledRule(rule, pattern, schema, table, marker)


_COMMIT_MARKERS = ("_started_", "_committed_")
"""Databricks' transactional-commit files beside the data they commit (never data)."""

MAX_KEY_BYTES = 1024
"""S3's limit for a key, in UTF-8 bytes; the ledger's key column holds exactly that."""

_RESOLVED_CACHE_SIZE = 4096
"""Resolutions a mapper keeps, per rule and captures; later ones are computed each time."""


def unloadable_key(key: str) -> str:
    """Why ``key`` can never be loaded and recorded, or ``""`` when it can.

    Checked before any SQL is built for the object: a key that no Redshift
    ``VARCHAR`` can hold would otherwise fail inside the ledger look-up, for
    the whole batch and on every redelivery.
    """
    if "\x00" in key:
        return (
            "it contains a NUL character, which a Redshift VARCHAR cannot hold; rename the object"
        )
    if key.isascii() and len(key) <= MAX_KEY_BYTES:
        return ""  # one byte per character, so nothing to encode
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid UTF-8 (S3 keys always are); check how the event was decoded"
    if size > MAX_KEY_BYTES:
        return f"it is {size} bytes long, over S3's {MAX_KEY_BYTES}-byte limit"
    return ""


@dataclass(frozen=True)
class Reserved:
    """A table, or a whole schema, that no object may be loaded into, and why."""

    schema: str
    table: str | None
    reason: str

    def covers(self, ref: TableRef) -> bool:
        """Whether ``ref`` is this table, or any table of this schema."""
        if ref.schema != self.schema:
            return False
        return self.table is None or ref.table == self.table


def _uri(obj: S3ObjectLike | str) -> str | None:
    """The URI an error names (only errors and new targets need it)."""
    return None if isinstance(obj, str) else obj.uri


class TableMapper:
    """Maps object keys to targets with an ordered list of rules; first match wins.

    Some keys are skipped before any rule is tried because loading them is
    always wrong: the loader's own manifests (``ignore_prefixes``), Hadoop/Spark
    job leftovers (``_SUCCESS``, ``*.tmp``, ``_temporary/``, the Databricks
    commit protocol's ``_started_<id>`` and ``_committed_<id>``) and folder markers.
    """

    def __init__(
        self,
        rules: Sequence[MappingRule],
        *,
        default_schema: str = "public",
        ignore_prefixes: Sequence[str] = DEFAULT_IGNORE_PREFIXES,
        reserved: Sequence[Reserved] = (),
    ) -> None:
        self._reserved = tuple(reserved)
        try:
            self._default_schema = validate_identifier(default_schema, what="default schema")
        except UnsafeIdentifierError as exc:
            raise ConfigError(f"default_schema: {exc.message}") from None
        if isinstance(ignore_prefixes, str):  # one prefix, not its characters
            ignore_prefixes = (ignore_prefixes,)
        if any(not prefix for prefix in ignore_prefixes):
            raise ConfigError(
                "ignore_prefixes: an empty prefix would ignore every object; remove it"
            )
        self._ignore_prefixes = tuple(ignore_prefixes)
        compiled: list[_CompiledRule] = []
        for index, rule in enumerate(rules):
            if not isinstance(rule, MappingRule):
                raise ConfigError(f"tables[{index}]: expected a MappingRule, got {rule!r}")
            try:
                compiled.append(_compile_rule(rule))
            except ValueError as exc:  # only reachable for unvalidated (constructed) rules
                raise ConfigError(f"tables[{index}] (pattern {rule.pattern!r}): {exc}") from None
        self._rules = tuple(compiled)
        self._marked = tuple((i, c) for i, c in enumerate(self._rules) if c.marker is not None)
        self._resolved: dict[tuple[int, tuple[str | Any, ...]], Resolution] = {}

    def reserving(self, *reserved: Reserved) -> TableMapper:
        """This mapper, also refusing targets that fall under ``reserved``.

        The loader reserves its ledger (table and schema) this way, so that no
        key, however a rule's templates are filled in, can load into it.
        """
        copy = object.__new__(TableMapper)
        copy.__dict__.update(self.__dict__)
        copy._reserved = (*self._reserved, *reserved)
        copy._resolved = {}  # what was resolved without the new reservations
        return copy

    @property
    def rules(self) -> tuple[MappingRule, ...]:
        """The rules, in the order they are tried."""
        return tuple(c.rule for c in self._rules)

    @property
    def default_schema(self) -> str:
        """The (folded) schema for rules that do not name one."""
        return self._default_schema

    @property
    def ignore_prefixes(self) -> tuple[str, ...]:
        """Key prefixes skipped before any rule."""
        return self._ignore_prefixes

    def named_targets(self) -> tuple[list[Target], list[tuple[int, MappingRule]]]:
        """The target of each rule whose schema and table are plain names, and the other rules.

        A rule without a ``{capture}`` in its ``schema`` and ``table`` loads
        one table, known without a key (what ``s3redshift check`` checks when
        given no source); the others (index, rule) name theirs from each key.

        Raises:
            MappingError: a rule names a table reserved for the ledger.
        """
        named: list[Target] = []
        templated: list[tuple[int, MappingRule]] = []
        for index, compiled in enumerate(self._rules):
            templates = [compiled.table, *([compiled.schema] if compiled.schema else [])]
            if any(template.captures for template in templates):
                templated.append((index, compiled.rule))
                continue
            resolution = self._mapped(compiled.rule.pattern, None, index, compiled, {})
            assert resolution.target is not None  # _mapped maps or raises
            named.append(resolution.target)
        return named, templated

    def resolve(self, obj: S3ObjectLike | str) -> Target | None:
        """The target for ``obj``, or None when it is unmapped or ignored.

        Raises:
            MappingError: a rule matched but the name it gives is not a safe
                Redshift identifier (an :class:`UnsafeIdentifierError`).
        """
        return self.explain(obj).target

    def explain(self, obj: S3ObjectLike | str) -> Resolution:
        """Like :meth:`resolve`, with the reason an object is skipped.

        Raises:
            MappingError: as for :meth:`resolve`.
        """
        key = obj if isinstance(obj, str) else obj.key
        if not isinstance(key, str):
            raise TypeError(f"an object key must be a str, got {type(key).__name__}")
        marked = self._marker(key, obj)
        if marked is not None:
            return marked
        ignored = self._ignored(key)
        if ignored:
            return Resolution("ignored", None, ignored)
        unloadable = unloadable_key(key)
        if unloadable:
            raise MappingError(f"key {key!r} cannot be loaded: {unloadable}", s3_uri=_uri(obj))
        for index, compiled in enumerate(self._rules):
            match = compiled.pattern.regex.fullmatch(key)
            if match is None:
                continue
            # The target is a function of the rule and its captures alone (a
            # pattern's only groups are its captures), so keys that differ
            # only outside the captures (the usual case: many files per
            # table) share one, named and checked once. Only successes are
            # kept; a refusal names its key every time.
            memo = (index, match.groups())
            resolution = self._resolved.get(memo)
            if resolution is None:
                captures = {k: v for k, v in match.groupdict().items() if v is not None}
                resolution = self._mapped(key, _uri(obj), index, compiled, captures)
                if len(self._resolved) < _RESOLVED_CACHE_SIZE:
                    self._resolved[memo] = resolution
            return resolution
        return Resolution("unmapped", None, f"no rule matches key {key!r}")

    def _marker(self, key: str, obj: S3ObjectLike | str) -> Resolution | None:
        """A rule's snapshot marker maps to its target (``_SUCCESS`` is otherwise ignored)."""
        for index, compiled in self._marked:
            assert compiled.marker is not None
            if not key.endswith("/" + compiled.rule.snapshot_marker):
                continue
            match = compiled.marker.regex.fullmatch(key)
            if match is not None:
                captures = {k: v for k, v in match.groupdict().items() if v is not None}
                return self._mapped(key, _uri(obj), index, compiled, captures)
        return None

    def _mapped(
        self,
        key: str,
        uri: str | None,
        index: int,
        compiled: _CompiledRule,
        captures: dict[str, str],
    ) -> Resolution:
        """The resolution of a key that ``compiled`` (rule ``index``) matched."""
        if compiled.schema is None:
            schema = self._default_schema
        else:
            schema = self._name(key, uri, index, compiled, compiled.schema, "schema", captures)
        table = self._name(key, uri, index, compiled, compiled.table, "table", captures)
        ref = TableRef(schema, table)
        for reserved in self._reserved:
            if reserved.covers(ref):
                raise MappingError(
                    f"key {key!r} matched rule tables[{index}] (pattern "
                    f"{compiled.pattern.text!r}), which names {ref}: {reserved.reason}. "
                    "Nothing is loaded into it; change the rule or move the ledger "
                    "(ledger.schema) to a schema no rule loads into",
                    s3_uri=uri,
                    table=str(ref),
                )
        target = Target(ref, compiled.rule, index, captures)
        return Resolution("mapped", target, "")

    def _ignored(self, key: str) -> str:
        """Why ``key`` is always skipped, or ``""``.

        Each rule is first ruled out by one test of the whole key (a prefix,
        a substring, an ending), so a key that is not ignored, nearly every
        key, is never split into segments.
        """
        if key.startswith(self._ignore_prefixes):
            for prefix in self._ignore_prefixes:
                if key.startswith(prefix):
                    return f"ignored: loader manifest prefix {prefix!r}"
        if key.endswith("/"):
            return "ignored: folder marker"
        if "_temporary" in key and "_temporary" in key.split("/"):
            return "ignored: inside a _temporary directory"
        if key.endswith(("_SUCCESS", ".tmp")):
            basename = key.rpartition("/")[2]
            if basename == "_SUCCESS":
                return "ignored: _SUCCESS marker"
            if basename.endswith(".tmp"):
                return "ignored: temporary file (.tmp)"
        # A substring test first, so most keys are never split.
        if ("_started_" in key or "_committed_" in key) and key.rpartition("/")[2].startswith(
            _COMMIT_MARKERS
        ):
            return "ignored: commit-protocol marker (_started_/_committed_)"
        return ""

    @staticmethod
    def _name(
        key: str,
        uri: str | None,
        index: int,
        compiled: _CompiledRule,
        template: _Template,
        what: Literal["schema", "table"],
        captures: Mapping[str, str],
    ) -> str:
        value = template.render(captures)
        try:
            return validate_identifier(value, what=what)
        except UnsafeIdentifierError as exc:
            used = {name: captures[name] for name in template.captures}
            source = ""
            if [p for p in template.parts if not isinstance(p, _Capture)] or len(used) != 1:
                shown = ", ".join(f"{{{k}}}={v!r}" for k, v in used.items())
                source = f" (template {template.text!r} with {shown})"
            fix = f"add a rule before tables[{index}] with a literal {what} name for these keys"
            suggestion = compiled.pattern.with_literals(used)
            if suggestion is not None:
                fix += f', e.g. pattern = {suggestion!r}, {what} = "<valid_name>"'
            raise UnsafeIdentifierError(
                f"key {key!r} matched rule tables[{index}] (pattern "
                f"{compiled.pattern.text!r}), but {exc.message}{source}. Names are never "
                f"rewritten: {fix}",
                s3_uri=uri,
            ) from None
