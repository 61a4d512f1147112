"""``s3redshift plan``: the SQL each target of an event would run, without a database."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from s3redshift.cli.common import EXIT_OK, configuration, read_event_file

if TYPE_CHECKING:
    from collections.abc import Sequence

    from s3redshift.config import LoaderConfig
    from s3redshift.events import ParsedEvent
    from s3redshift.identifiers import TableRef
    from s3redshift.manifest import ManifestEntry
    from s3redshift.mapping import Target
    from s3redshift.planner import EventPlan
    from s3redshift.schema_plan import SchemaPlan

__all__ = ["run"]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the plan of the event in ``args.event``, as SQL or (``--json``) as JSON."""
    from s3redshift.events import read_event
    from s3redshift.planner import plan_event

    config = configuration(args)
    parsed = read_event(read_event_file(args.event))
    if parsed.invalid:
        raise parsed.invalid[0]
    if any(rule.schema_policy.active for rule in config.tables):
        result = _with_schemas(args, config, parsed)
    else:
        result = plan_event(config, parsed)
    if args.json:
        out.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    connector = config.target.transport == "connector"
    parts: dict[str, int] = {}
    for target in result.targets:
        parts[str(target.plan.target)] = parts.get(str(target.plan.target), 0) + 1
    seen: dict[str, int] = {}
    for target in result.targets:
        statements = target.plan.statements()
        table = str(target.plan.target)
        seen[table] = seen.get(table, 0) + 1
        part = f", transaction {seen[table]} of {parts[table]}" if parts[table] > 1 else ""
        out.write(
            f"-- {target.plan.target} ({target.plan.mode}): {len(target.objects)} object(s), "
            f"batch {target.plan.batch_id}{part}\n"
        )
        if seen[table] == 1:
            out.write(_schema_changes(result, target.plan.target))
        out.write(_framing(config, statements))
        if connector:
            out.write("BEGIN;\n-- SET LOCAL statement_timeout TO <the time budget, in ms>;\n")
        out.writelines(statement + ";\n" for statement in statements)
        out.write("COMMIT;\n\n" if connector else "\n")
    if result.skipped:
        out.write("-- skipped\n")
        out.writelines(f"--   {skip.uri}: {skip.reason}\n" for skip in result.skipped)
    for table_ref, why in result.unplanned.items():
        out.write(f"-- {table_ref}: schema changes not planned: {why}\n")
    if not result.targets:
        out.write("-- nothing to load\n")
    return EXIT_OK


def _with_schemas(args: argparse.Namespace, config: LoaderConfig, parsed: ParsedEvent) -> EventPlan:
    """The plan with the schema statements, read from the files and the tables.

    A database that cannot be reached leaves the plan without them (each
    table says why); it is said on stderr as every command says it.
    """
    from s3redshift.deadline import Deadline
    from s3redshift.errors import DatabaseConnectionError
    from s3redshift.planner import plan_event
    from s3redshift.unreachable import database_down

    deadline = Deadline.after(args.timeout)
    down: list[DatabaseConnectionError] = []

    def schema(target: Target, entries: Sequence[ManifestEntry]) -> SchemaPlan:
        try:
            plan: SchemaPlan = loader.schema_plan(target, entries, time_budget=deadline.remaining())
        except DatabaseConnectionError as exc:
            down.append(exc)
            raise
        return plan

    with args.make_loader(config) as loader:
        result = plan_event(config, parsed, schema=schema)
    said = database_down(down[0], config.target) if down else None
    if said is not None:
        tables = ", ".join(sorted(str(t) for t in result.unplanned))
        sys.stderr.write(
            f"s3redshift: warning: {said.line()}; the plan has no schema statements for {tables}\n"
        )
    return result


def _schema_changes(result: EventPlan, table: TableRef) -> str:
    """A table's schema statements, each run on its own before the load transaction."""
    if table in result.missing:
        return (
            "-- schema: the table does not exist; create it, or set schema_policy.create = true\n"
        )
    ddl = result.ddl.get(table)
    if ddl is None:
        return ""
    if not ddl:
        return "-- schema: the table fits the files; no change\n"
    lines = "".join(f"{sql};\n" for sql in ddl)
    return f"-- schema: run first, each statement on its own (outside the transaction)\n{lines}"


def _framing(config: LoaderConfig, statements: list[str]) -> str:
    """How the transport sends one target's transaction, as a comment line."""
    if config.target.transport == "data-api":
        size = sum(len(text.encode()) for text in statements)
        return (
            f"-- Redshift Data API: one BatchExecuteStatement = one transaction; "
            f"{len(statements)} statements (at most 40), {size} bytes of SQL (at most 100000)\n"
        )
    return "-- redshift_connector: one transaction on one session\n"
