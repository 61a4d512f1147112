"""What a batch's files need of their table: the DDL to run first, and who cannot load.

A pure function of the rule's :class:`~s3redshift.mapping.SchemaPolicy`, the
table's columns as the catalog has them now (or None: no table), and each
file's schema. It decides the statements that make the table fit (create it,
add columns, widen VARCHARs) and, per object, either the columns the load
names (``shapes``) or the typed failure that names the object, the column
and both types. A failing file never shapes the DDL: its neighbours load as
if it were not in the batch.

The statements are idempotent by re-planning: the loader runs them, reads
the catalog again and plans again until nothing is left to do, so a
concurrent loader or a retry after a crash finds its work done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from s3redshift.column_types import VARCHAR_MAX, WIDEST_TEXT, ColumnType, Fit, fit, merge
from s3redshift.copy import AvroFormat, JsonFormat
from s3redshift.errors import S3RedshiftError, SchemaMismatchError, UnsafeIdentifierError
from s3redshift.identifiers import TableRef, quote_identifier, quote_literal, validate_identifier
from s3redshift.mapping import MappingRule
from s3redshift.transaction import INTERNAL_PREFIX

if TYPE_CHECKING:
    from s3redshift.file_schema import FileSchema

__all__ = ["FileShape", "SchemaPlan", "catalog_sql", "plan_schema"]

FileShape = tuple[tuple[str, ColumnType], ...]
"""A file's columns, folded as Redshift names them, with their types, in the file's order."""


class TableColumn(NamedTuple):
    """A table column as the catalog has it; ``kind`` None: a type the rules do not judge."""

    name: str
    kind: ColumnType | None
    has_default: bool = False
    """Redshift lengthens no column with a DEFAULT (ALTER COLUMN ... TYPE refuses it)."""


TableColumns = Sequence[TableColumn | tuple[str, ColumnType | None]]
"""A table's columns in table order."""

MAX_COLUMNS = 1600
"""Redshift's limit of columns in a table."""


@dataclass(frozen=True)
class SchemaPlan:
    """The DDL to run before the load, and each object's columns or failure."""

    ddl: tuple[str, ...] = ()
    shapes: Mapping[str, FileShape] = field(default_factory=dict)
    failures: Mapping[str, S3RedshiftError] = field(default_factory=dict)
    created: tuple[str, ...] = ()
    """The columns of the table this plan creates (empty: it creates none)."""
    added: tuple[str, ...] = ()
    widened: tuple[str, ...] = ()
    missing: bool = False
    """The table does not exist, and this plan does not create it."""


def catalog_sql(table: TableRef) -> str:
    """The table's columns with their types, in table order (no rows: no table)."""
    return (
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
        "numeric_scale, column_default FROM information_schema.columns WHERE table_schema = "
        f"{quote_literal(table.schema or 'public')} AND table_name = "
        f"{quote_literal(table.table)} ORDER BY ordinal_position"
    )


def plan_schema(
    rule: MappingRule,
    table: TableRef,
    existing: TableColumns | None,
    files: Sequence[tuple[str, FileSchema]],
) -> SchemaPlan:
    """The plan for loading ``files`` (URI and schema, in load order) into ``table``."""
    shapes: dict[str, FileShape] = {}
    failures: dict[str, S3RedshiftError] = {}
    for uri, schema in files:
        try:
            shapes[uri] = file_shape(rule, schema)
        except SchemaMismatchError as exc:
            failures[uri] = _named(exc, uri, table)
    if existing is None:
        if not rule.schema_policy.create:
            return SchemaPlan(shapes=shapes, failures=failures, missing=True)
        return _create(rule, table, shapes, failures)
    columns = [TableColumn(*column) for column in existing]
    if rule.schema_policy.match != "name":
        return _in_table_order(rule, table, columns, shapes, failures)
    return _evolve(rule, table, columns, shapes, failures)


def _by_keys(rule: MappingRule) -> bool:
    """Whether COPY itself matches the files' fields to columns by name (JSON, Avro 'auto')."""
    return isinstance(rule.format, JsonFormat | AvroFormat)


def _in_table_order(
    rule: MappingRule,
    table: TableRef,
    existing: Sequence[TableColumn],
    shapes: dict[str, FileShape],
    failures: dict[str, S3RedshiftError],
) -> SchemaPlan:
    """By position (a table the rule may create): each file must name the table's columns."""
    columns = {c.name: c.kind for c in existing}
    for uri, shape in list(shapes.items()):
        try:
            if not _by_keys(rule):
                _same_order(shape, columns)
            _widenings(table, existing, shape, widen=False)
        except SchemaMismatchError as exc:
            failures[uri] = _named(exc, uri, table)
            del shapes[uri]
    return SchemaPlan(shapes=shapes, failures=failures)


def file_shape(rule: MappingRule, schema: FileSchema) -> FileShape:
    """The file's columns named as Redshift folds them; raises for a name no column can have."""
    auto_case = _by_keys(rule) and getattr(rule.format, "json_paths", "") == "auto"
    seen: dict[str, str] = {}
    shape = []
    for column in schema.columns:
        try:
            name = validate_identifier(column.name, what="file column")
        except UnsafeIdentifierError as exc:
            raise SchemaMismatchError(f"{exc.message}; rename the column in the file") from None
        if auto_case and name != column.name:
            raise SchemaMismatchError(
                f"the file's field {column.name!r} never matches a column with json_paths = "
                f"'auto' (Redshift's column names are lower case, {name!r}); set json_paths "
                "= 'auto ignorecase'"
            )
        if name.startswith(INTERNAL_PREFIX):
            raise SchemaMismatchError(
                f"the file's column {column.name!r} begins with {INTERNAL_PREFIX!r}, which "
                "names the loader's own tables and columns; rename the column in the file"
            )
        if name in seen:
            raise SchemaMismatchError(
                f"the file's columns {seen[name]!r} and {column.name!r} both name column "
                f"{name!r}; give them different names"
            )
        seen[name] = column.name
        shape.append((name, column.type))
    if not shape:
        raise SchemaMismatchError("the file names no columns")
    return tuple(shape)


def _named(exc: SchemaMismatchError, uri: str, table: TableRef) -> SchemaMismatchError:
    return SchemaMismatchError(exc.message, s3_uri=uri, table=str(table))


def _create(
    rule: MappingRule,
    table: TableRef,
    shapes: dict[str, FileShape],
    failures: dict[str, S3RedshiftError],
) -> SchemaPlan:
    """CREATE TABLE from the files: the first file's columns, then later files' new ones."""
    in_order = rule.schema_policy.match != "name" and not _by_keys(rule)
    columns: dict[str, ColumnType] = {}
    for uri, shape in list(shapes.items()):
        try:
            if columns and in_order:
                _same_order(shape, columns)
            columns = _within_limit(_merged(columns, shape, add=True))
        except SchemaMismatchError as exc:
            failures[uri] = _named(exc, uri, table)
            del shapes[uri]
    if not columns:
        return SchemaPlan(shapes=shapes, failures=failures)
    problem = _key_problem(rule, columns)
    if problem:
        for uri in list(shapes):
            failures[uri] = SchemaMismatchError(problem, s3_uri=uri, table=str(table))
        return SchemaPlan(failures=failures)
    if "widen" in rule.schema_policy.evolve:
        columns = _widest(columns)
    ddl = create_table_sql(table, columns, sort_key=rule.sort_key, dist_key=rule.dist_key)
    return SchemaPlan((ddl,), shapes, failures, created=tuple(columns))


def _widest(columns: Mapping[str, ColumnType]) -> dict[str, ColumnType]:
    """A rule that widens makes its text columns as long as they would ever be, at once."""
    return {n: WIDEST_TEXT if t.kind in ("VARCHAR", "UNKNOWN") else t for n, t in columns.items()}


def _within_limit(columns: dict[str, ColumnType], *, more: int = 0) -> dict[str, ColumnType]:
    if len(columns) + more > MAX_COLUMNS:
        raise SchemaMismatchError(
            f"with this file the table would have {len(columns) + more} columns; Redshift allows "
            f"{MAX_COLUMNS}: check that the file's first line is its header"
        )
    return columns


def _key_problem(rule: MappingRule, columns: Mapping[str, ColumnType]) -> str:
    """Why the rule's sort_key or dist_key cannot key the created table, or ``""``."""
    for name in (*rule.sort_key, rule.dist_key):
        if name and name not in columns:
            return (
                f"sort_key/dist_key column {name!r} is not among the files' columns "
                f"({', '.join(columns)}); fix the rule's sort_key or dist_key"
            )
        if name and columns[name].kind == "SUPER":
            return (
                f"sort_key/dist_key column {name!r} holds nested values (SUPER), which "
                "Redshift cannot sort or distribute by; choose another column"
            )
    return ""


def _same_order(shape: FileShape, columns: Mapping[str, ColumnType | None]) -> None:
    names = tuple(name for name, _ in shape)
    if names != tuple(columns):
        raise SchemaMismatchError(
            f"the file's columns ({', '.join(names)}) are not the table's "
            f"({', '.join(columns)}) in order; by position they would load into the wrong "
            'columns: set schema_policy.match = "name"'
        )


def _merged(
    columns: Mapping[str, ColumnType], shape: FileShape, *, add: bool
) -> dict[str, ColumnType]:
    """``columns`` with the file's types merged in (and its new columns, with ``add``)."""
    result = dict(columns)
    for name, kind in shape:
        if name not in result:
            if add:
                result[name] = kind
            continue
        both = merge(result[name], kind)
        if both is None:
            raise SchemaMismatchError(
                f"column {name!r} is {result[name]} in an earlier file of the batch and "
                f"{kind} in this one; neither holds the other's values"
            )
        result[name] = both
    return result


def _evolve(
    rule: MappingRule,
    table: TableRef,
    existing: Sequence[TableColumn],
    shapes: dict[str, FileShape],
    failures: dict[str, S3RedshiftError],
) -> SchemaPlan:
    """ADD COLUMN and widening for the files that can load once they are made."""
    evolve = rule.schema_policy.evolve
    current = {c.name: c.kind for c in existing}
    added: dict[str, ColumnType] = {}
    widened: dict[str, ColumnType] = {}
    for uri, shape in list(shapes.items()):
        try:
            new = _merged(added, tuple(c for c in shape if c[0] not in current), add=True)
            _within_limit(new, more=len(current))
            grown = _widenings(table, existing, shape, widen="widen" in evolve)
            if new and "add_columns" not in evolve:
                raise SchemaMismatchError(
                    f"the file's column {next(iter(new))!r} is not in table {table}; add "
                    'it to the table, or set schema_policy.evolve = ["add_columns"]'
                )
        except SchemaMismatchError as exc:
            failures[uri] = _named(exc, uri, table)
            del shapes[uri]
            continue
        added = new
        for name, kind in grown.items():
            widened[name] = max(widened.get(name, kind), kind, key=_length)
    if "widen" in evolve:
        added = _widest(added)
    ddl = [add_column_sql(table, name, kind) for name, kind in added.items()]
    ddl += [widen_sql(table, name, kind) for name, kind in widened.items()]
    return SchemaPlan(tuple(ddl), shapes, failures, added=tuple(added), widened=tuple(widened))


def _length(kind: ColumnType) -> int:
    return kind.length or 0


def _widenings(
    table: TableRef, existing: Sequence[TableColumn], shape: FileShape, *, widen: bool
) -> dict[str, ColumnType]:
    """The VARCHARs this file needs longer; raises for a column it cannot load into.

    With ``widen``, a string of unknown length (Parquet, ORC, Avro) lengthens
    the column too: nothing says its values fit.
    """
    current = {c.name: c for c in existing}
    grown = {}
    for name, kind in shape:
        column = current.get(name)
        have = None if column is None else column.kind
        if column is None or have is None:
            continue
        outcome = fit(have, kind)
        if widen and outcome.outcome == "fits" and _unknown_length(have, kind):
            outcome = Fit("widen", WIDEST_TEXT)
        if outcome.outcome == "widen" and column.has_default:
            raise SchemaMismatchError(
                f"column {name!r} is {have} in table {table}, but the file holds {kind}, and "
                "Redshift lengthens no column that has a DEFAULT; drop the default or "
                "lengthen the column yourself"
            )
        if outcome.outcome == "conflict":
            raise SchemaMismatchError(
                f"column {name!r} is {have} in table {table}, but {outcome.why}; the loader "
                "never changes a column's type except to lengthen a VARCHAR: load such files "
                "into another table or change the column yourself"
            )
        if outcome.outcome == "widen" and outcome.to is not None:
            if not widen:
                raise SchemaMismatchError(
                    f"column {name!r} is {have} in table {table}, but the file holds "
                    f'{kind}; set schema_policy.evolve = ["widen"] or lengthen the column'
                )
            grown[name] = outcome.to
    return grown


def _unknown_length(have: ColumnType, kind: ColumnType) -> bool:
    text = kind.kind in ("VARCHAR", "CHAR") and kind.length is None
    return text and have.kind == "VARCHAR" and (have.length or 0) < VARCHAR_MAX


# --- the statements ------------------------------------------------------------


def create_table_sql(
    table: TableRef,
    columns: Mapping[str, ColumnType],
    *,
    sort_key: Sequence[str] = (),
    dist_key: str = "",
) -> str:
    """``CREATE TABLE IF NOT EXISTS``: a concurrent loader's table is left as it is."""
    body = ", ".join(f"{quote_identifier(n)} {t.sql}" for n, t in columns.items())
    sql = f"CREATE TABLE IF NOT EXISTS {table.sql} ({body})"
    if dist_key:
        sql += f" DISTKEY ({quote_identifier(dist_key)})"
    if sort_key:
        sql += f" SORTKEY ({', '.join(quote_identifier(c) for c in sort_key)})"
    return sql


def add_column_sql(table: TableRef, name: str, kind: ColumnType) -> str:
    """A nullable new column: rows loaded before hold NULL in it."""
    return f"ALTER TABLE {table.sql} ADD COLUMN {quote_identifier(name)} {kind.sql}"


def widen_sql(table: TableRef, name: str, kind: ColumnType) -> str:
    """A longer VARCHAR; Redshift runs it outside any transaction block."""
    return f"ALTER TABLE {table.sql} ALTER COLUMN {quote_identifier(name)} TYPE {kind.sql}"
