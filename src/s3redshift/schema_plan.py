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

from s3redshift.column_types import ColumnType, fit, merge
from s3redshift.copy import AvroFormat, JsonFormat
from s3redshift.errors import S3RedshiftError, SchemaMismatchError, UnsafeIdentifierError
from s3redshift.file_schema import FileSchema
from s3redshift.identifiers import TableRef, quote_identifier, quote_literal, validate_identifier
from s3redshift.mapping import MappingRule

__all__ = ["FileShape", "SchemaPlan", "catalog_sql", "plan_schema"]

FileShape = tuple[tuple[str, ColumnType], ...]
"""A file's columns, folded as Redshift names them, with their types, in the file's order."""

TableColumns = Sequence[tuple[str, ColumnType | None]]
"""A table's columns in table order; None for a type the rules do not judge."""


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


def catalog_sql(table: TableRef) -> str:
    """The table's columns with their types, in table order (no rows: no table)."""
    return (
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
        "numeric_scale FROM information_schema.columns WHERE table_schema = "
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
            return SchemaPlan(shapes=shapes, failures=failures)
        return _create(rule, table, shapes, failures)
    if rule.schema_policy.match != "name":
        return _in_table_order(table, existing, shapes, failures)
    return _evolve(rule, table, existing, shapes, failures)


def _in_table_order(
    table: TableRef,
    existing: TableColumns,
    shapes: dict[str, FileShape],
    failures: dict[str, S3RedshiftError],
) -> SchemaPlan:
    """By position (a table the rule may create): each file must name the table's columns."""
    columns = dict(existing)
    for uri, shape in list(shapes.items()):
        try:
            _same_order(shape, columns)
            _widenings(table, columns, shape, widen=False)
        except SchemaMismatchError as exc:
            failures[uri] = _named(exc, uri, table)
            del shapes[uri]
    return SchemaPlan(shapes=shapes, failures=failures)


def file_shape(rule: MappingRule, schema: FileSchema) -> FileShape:
    """The file's columns named as Redshift folds them; raises for a name no column can have."""
    auto_case = isinstance(rule.format, JsonFormat | AvroFormat) and (
        rule.format.json_paths == "auto"
    )
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
    by_name = rule.schema_policy.match == "name"
    columns: dict[str, ColumnType] = {}
    for uri, shape in list(shapes.items()):
        try:
            if columns and not by_name:
                _same_order(shape, columns)
            columns = _merged(columns, shape, add=True)
        except SchemaMismatchError as exc:
            failures[uri] = _named(exc, uri, table)
            del shapes[uri]
    if not columns:
        return SchemaPlan(shapes=shapes, failures=failures)
    missing = [c for c in (*rule.sort_key, rule.dist_key) if c and c not in columns]
    if missing:
        for uri in list(shapes):
            failures[uri] = SchemaMismatchError(
                f"sort_key/dist_key column {missing[0]!r} is not among the files' columns "
                f"({', '.join(columns)}); fix the rule's sort_key or dist_key",
                s3_uri=uri,
                table=str(table),
            )
        return SchemaPlan(failures=failures)
    ddl = create_table_sql(table, columns, sort_key=rule.sort_key, dist_key=rule.dist_key)
    return SchemaPlan((ddl,), shapes, failures, created=tuple(columns))


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
    existing: TableColumns,
    shapes: dict[str, FileShape],
    failures: dict[str, S3RedshiftError],
) -> SchemaPlan:
    """ADD COLUMN and widening for the files that can load once they are made."""
    evolve = rule.schema_policy.evolve
    current = dict(existing)
    added: dict[str, ColumnType] = {}
    widened: dict[str, ColumnType] = {}
    for uri, shape in list(shapes.items()):
        try:
            new = _merged(added, tuple(c for c in shape if c[0] not in current), add=True)
            grown = _widenings(table, current, shape, widen="widen" in evolve)
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
    ddl = [add_column_sql(table, name, kind) for name, kind in added.items()]
    ddl += [widen_sql(table, name, kind) for name, kind in widened.items()]
    return SchemaPlan(tuple(ddl), shapes, failures, added=tuple(added), widened=tuple(widened))


def _length(kind: ColumnType) -> int:
    return kind.length or 0


def _widenings(
    table: TableRef, current: Mapping[str, ColumnType | None], shape: FileShape, *, widen: bool
) -> dict[str, ColumnType]:
    """The VARCHARs this file needs longer; raises for a column it cannot load into."""
    grown = {}
    for name, kind in shape:
        have = current.get(name)
        if have is None:
            continue
        outcome = fit(have, kind)
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
