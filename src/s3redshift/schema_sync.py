"""Make a table fit its files before the load transaction, safely beside other loaders.

Redshift runs ``ALTER COLUMN ... TYPE`` only outside a transaction block, so
a rule's schema changes cannot share the load's transaction. They run first,
each statement on its own, and are made idempotent by re-planning: read the
catalog, plan (:func:`~s3redshift.schema_plan.plan_schema`), run what is
left, and read again until nothing is. A loader that finds a concurrent
loader's column already there, or a retry after a crash between the DDL and
the load, plans nothing and goes on to load. The load transaction itself
stays the one exactly-once unit: a column added for a load that then fails
is an empty nullable column, never half a load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from s3redshift.column_types import from_catalog
from s3redshift.deadline import Deadline
from s3redshift.errors import PermanentError, RetryableError, S3RedshiftError
from s3redshift.identifiers import TableRef
from s3redshift.mapping import MappingRule
from s3redshift.schema_plan import (
    SchemaPlan,
    TableColumn,
    TableColumns,
    catalog_sql,
    plan_schema,
)
from s3redshift.transports.base import Transport

if TYPE_CHECKING:
    from s3redshift.file_schema import FileSchema

__all__ = ["ROUNDS", "catalog_rows", "fit_table", "table_columns"]

ROUNDS = 3
"""How many times the statements are planned and run before the loader gives up."""


def catalog_rows(
    transport: Transport, table: TableRef, time_budget: float | None
) -> list[tuple[Any, ...]]:
    """The table's columns as the catalog lists them: name, type, length, precision, scale."""
    return transport.query(catalog_sql(table), time_budget=time_budget)


def table_columns(rows: Sequence[tuple[Any, ...]]) -> TableColumns | None:
    """The typed columns of :func:`catalog_rows`' answer; None when the table does not exist."""
    if not rows:
        return None
    return [
        TableColumn(
            str(r[0]),
            from_catalog(str(r[1]), _int(r[2]), _int(r[3]), _int(r[4])),
            has_default=r[5] is not None,
        )
        for r in rows
    ]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def fit_table(
    transport: Transport,
    rule: MappingRule,
    table: TableRef,
    files: Sequence[tuple[str, FileSchema]],
    time_budget: float | None,
) -> SchemaPlan:
    """Run the DDL the files need until the catalog needs none; the plan that needs none.

    Raises:
        RetryableError, PermanentError: a statement kept failing over
            :data:`ROUNDS` rounds (the last error, as the transport raised it).
    """
    last: S3RedshiftError | None = None
    deadline = Deadline.after(time_budget)
    for round_ in range(ROUNDS + 1):
        existing = table_columns(catalog_rows(transport, table, deadline.remaining()))
        plan = plan_schema(rule, table, existing, files)
        if not plan.ddl or round_ == ROUNDS:
            break
        for sql in plan.ddl:
            try:
                transport.execute(sql, time_budget=deadline.remaining(), autocommit=True)
            except (RetryableError, PermanentError) as exc:
                # Most often a concurrent loader made the same change (a column that
                # now exists): the next statements go on, the next round reads the catalog.
                last = exc
    if not plan.ddl:
        return plan
    raise last or RetryableError(
        f"the table's columns kept changing while this load made them fit its files "
        f"({ROUNDS} rounds); a retry plans them again",
        table=str(table),
    )
