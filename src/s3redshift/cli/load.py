"""``s3redshift load``: a backfill of every object under a prefix not loaded yet."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from s3redshift.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    configuration,
    write_traceback,
)
from s3redshift.cli.output import ProgressPrinter, format_bytes
from s3redshift.errors import S3RedshiftError
from s3redshift.unreachable import database_down

if TYPE_CHECKING:
    from s3redshift.backfill import BackfillSummary
    from s3redshift.config import LoaderConfig
    from s3redshift.events import S3Object
    from s3redshift.loader import Loader
    from s3redshift.report import ObjectResult

__all__ = ["run", "summary_line"]

MAX_FAILURE_LINES = 20
"""Failed objects `load` names one by one on stderr; the rest are counted."""
UNMAPPED_KEYS = 3
"""Unmapped keys `load` names, as examples of what no rule matched."""
SHARED_REASON = 3
"""Failed objects sharing one reason and table that `load` names in one line."""
DRY_RUN_KEYS = 20
"""Keys a dry run names per table; the rest are counted."""


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Backfill ``args.prefix``: progress on stderr, the summary on stdout."""
    from s3redshift.backfill import backfill

    config = configuration(args)
    # A dry run loads no batch: there is nothing to beat for while it reads the ledger.
    printer = ProgressPrinter(sys.stderr, heartbeat=not args.dry_run)
    started = datetime.now(UTC)
    with args.make_loader(config) as loader:
        try:
            summary = backfill(
                loader,
                args.prefix,
                since=args.since,
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                progress=printer,
                time_budget=args.timeout,
            )
        except KeyboardInterrupt as exc:
            printer.close()
            return _interrupted(exc, loader, started)
        finally:
            printer.close()
    code = _explain(summary, config, args)
    _warn_unannounced(summary)
    _write_summary(summary, args.json, out)
    return code


INTERRUPT_WAIT_S = 30.0
"""How long, after Ctrl-C, `load` waits for transactions still ending and for the ledger."""
TABLES_NAMED = 5
"""Tables an interrupted `load` names with their counts; the rest are counted."""


def _interrupted(exc: KeyboardInterrupt, loader: Loader, started: datetime) -> int:
    """Ctrl-C: what committed (per table), that nothing partial was kept, how to go on.

    The batches that ended are counted from their reports; of the batch that
    was loading, the ledger says which objects committed (a table's
    transaction that ended before the interrupt stays committed; the one it
    stopped is rolled back, its session closed). Another Ctrl-C stops the wait.
    """
    from s3redshift.backfill import BackfillInterrupted

    reports = exc.reports if isinstance(exc, BackfillInterrupted) else ()
    loading = exc.in_progress if isinstance(exc, BackfillInterrupted) else ()
    if not reports and not loading:  # still listing, or reading the ledger for a dry run
        sys.stderr.write("s3redshift: interrupted before any batch was loaded: nothing changed\n")
        return EXIT_INTERRUPTED
    committed = {
        (r.s3_object.bucket, r.s3_object.key, r.s3_object.identity or ""): r.table or "?"
        for report in reports
        for r in report.objects
        if r.outcome == "loaded"
    }
    ledger_on = loader.config.ledger.active_schema is not None
    unknown = ""
    if loading and ledger_on:
        committed |= _asked(loader, loading, started)
    elif loading:
        unknown = (
            f"; of the {len(loading)} object(s) of the batch in progress, some may have "
            "committed (the ledger, which would say which, is disabled)"
        )
    per_table: dict[str, int] = {}
    for table in committed.values():
        per_table[table] = per_table.get(table, 0) + 1
    named = ", ".join(f"{t} {n}" for t, n in sorted(per_table.items())[:TABLES_NAMED])
    more = len(per_table) - TABLES_NAMED
    tables = f" ({named}{f' and {more} more table(s)' if more > 0 else ''})" if named else ""
    sys.stderr.write(
        f"s3redshift: interrupted: {len(committed)} object(s) committed{tables}{unknown}\n"
        "s3redshift: nothing partial was kept: each table's load is one transaction, "
        "committed whole or not at all, and the one the interrupt stopped was rolled back\n"
    )
    sys.stderr.write(
        "s3redshift: run the same command again to load the rest: what committed is skipped "
        "as a duplicate\n"
        if ledger_on
        else "s3redshift: the ledger is disabled ([ledger] enabled = false): running the same "
        "command again loads every object again, those committed included\n"
    )
    return EXIT_INTERRUPTED


def _asked(
    loader: Loader, loading: Sequence[S3Object], started: datetime
) -> dict[tuple[str, str, str], str]:
    """Which objects of the batch in progress committed, as the ledger says (within a bound).

    The interrupted transaction can no longer commit (its session is
    closed), but it may hold its locks until the server notices: the ledger
    may answer only then, so the wait is bounded, said, and a second Ctrl-C
    ends it.
    """
    from s3redshift.deadline import Deadline
    from s3redshift.ledger_queries import committed_since
    from s3redshift.loader import wait_for_interrupted_loads

    sys.stderr.write(
        f"s3redshift: interrupted; asking the ledger which of the {len(loading)} object(s) of "
        "the batch in progress committed (Ctrl-C again to stop asking)\n"
    )
    sys.stderr.flush()
    why = ""
    try:
        wait_for_interrupted_loads(INTERRUPT_WAIT_S)
        return committed_since(loader, loading, started, Deadline.after(INTERRUPT_WAIT_S))
    except S3RedshiftError as error:
        why = error.message
    except KeyboardInterrupt:
        why = "asking was stopped"
    sys.stderr.write(
        f"s3redshift: the ledger did not say which of them committed ({why}): "
        "`s3redshift ledger` shows it\n"
    )
    return {}


def _warn_unannounced(summary: BackfillSummary) -> None:
    """Committed loads whose notification failed: loaded all the same, and not announced later."""
    missed = [
        (commit, commit.notification_error)
        for report in summary.reports
        for target in report.targets
        for commit in target.commits
        if commit.notification_error is not None
    ]
    if missed:
        commit, error = missed[0]
        sys.stderr.write(
            f"s3redshift: warning: {len(missed)} committed load(s) were not announced (they "
            f"are loaded; the ledger has them), e.g. {commit.table} batch {commit.batch_id}: "
            f"{error}\n"
        )


def _explain(summary: BackfillSummary, config: LoaderConfig, args: argparse.Namespace) -> int:
    """What went wrong, on stderr, and the exit code it makes."""
    if summary.stopped_by is not None:
        # The database, not the objects: one line, not one per object.
        stopped = summary.stopped_by
        if args.debug:
            write_traceback(stopped)
        down = database_down(stopped, config.target)
        what = (
            down.line()
            if down is not None
            else f"{stopped.message}; fix: check [target] and [credentials]"
        )
        sys.stderr.write(
            f"s3redshift: error: {what}; the load stopped and {len(summary.failures)} "
            "object(s) did not load: run the same command again once that is fixed\n"
        )
        return EXIT_FAILED if stopped.retryable else EXIT_USAGE
    if summary.listed == 0:
        # Often a typo, sometimes a quiet day: said, without failing a scheduled run.
        sys.stderr.write(
            f"s3redshift: warning: nothing under {summary.prefix_uri} (0 objects listed): "
            "check the prefix's spelling; S3 prefixes are case-sensitive\n"
        )
    unmapped = [r for r in summary.skipped if r.outcome == "unmapped"]
    nothing = _no_rule_maps(summary, unmapped, config)
    if nothing is not None:
        sys.stderr.write(f"s3redshift: error: {nothing}\n")
        return EXIT_USAGE
    _warn_unmapped(unmapped)
    _name_failures(summary.failures, args.debug, args.prefix)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _name_failures(failures: Sequence[ObjectResult], debug: bool, prefix: str) -> None:
    """Up to MAX_FAILURE_LINES lines on stderr; one cause of many objects is said once."""
    lines = named = 0
    for group in _same_reason(failures):
        if lines >= MAX_FAILURE_LINES:
            break
        if len(group) >= SHARED_REASON and not debug:
            # One cause, many objects (the time ran out, say): said once.
            first = group[0]
            where = f" -> {first.table}" if first.table else ""
            sys.stderr.write(
                f"s3redshift: failed: {len(group)} object(s){where}, {first.s3_object.uri} "
                f"first: {first.explanation}\n"
            )
            lines += 1
            continue
        for result in group[: MAX_FAILURE_LINES - lines]:
            # The rejected lines when COPY named them, else the reason.
            where = f" -> {result.table}" if result.table else ""
            sys.stderr.write(
                f"s3redshift: failed: {result.s3_object.uri}{where}: {result.explanation}\n"
            )
            if debug and result.error is not None:
                _debug_failure(result)
            lines += 1
            named += 1
    hidden = len(failures) - named
    if hidden > 0:
        sys.stderr.write(
            f"s3redshift: ... {hidden} failed object(s) not named one by one; "
            f"`s3redshift ledger --failed {prefix}` lists every object not loaded\n"
        )


def _same_reason(failures: Sequence[ObjectResult]) -> list[list[ObjectResult]]:
    """Failures grouped by table and reason, in the order each group first appears.

    A rejection of a file's own rows is that file's alone (two files may fail on
    the same line and column): it is never grouped.
    """
    groups: dict[tuple[str | None, str, str], list[ObjectResult]] = {}
    for result in failures:
        own = result.s3_object.uri if result.load_errors else ""
        groups.setdefault((result.table, result.explanation, own), []).append(result)
    return list(groups.values())


def _no_rule_maps(
    summary: BackfillSummary, unmapped: Sequence[ObjectResult], config: LoaderConfig
) -> str | None:
    """Why a run none of whose keys any rule maps is a configuration problem, else None.

    Every listed key unmapped (ignored files and ``--since`` aside) means the
    patterns do not match the layout; it would otherwise read as success,
    ``loaded 0``.
    """
    if summary.pending or summary.counts["failed"] or not unmapped:
        return None
    if len(unmapped) + summary.counts["ignored"] + summary.before_since < summary.listed:
        return None
    examples = "; ".join(f"{r.s3_object.key} ({r.reason})" for r in unmapped[:UNMAPPED_KEYS])
    patterns = ", ".join(repr(rule.pattern) for rule in config.tables)
    return (
        f"no rule maps any of the {len(unmapped)} key(s) under {summary.prefix_uri}, e.g. "
        f"{examples}: check the [[tables]] patterns ({patterns}) against these keys"
    )


def _warn_unmapped(unmapped: Sequence[ObjectResult]) -> None:
    if unmapped:
        keys = ", ".join(r.s3_object.key for r in unmapped[:UNMAPPED_KEYS])
        more = f" and {len(unmapped) - UNMAPPED_KEYS} more" if len(unmapped) > UNMAPPED_KEYS else ""
        sys.stderr.write(
            f"s3redshift: warning: {len(unmapped)} key(s) map to no table and were not loaded: "
            f"{keys}{more}\n"
        )


def _debug_failure(result: ObjectResult) -> None:
    """With --debug: the error's kind and the chain of causes, with their tracebacks."""
    error = result.error
    assert error is not None
    kind = "retryable" if error.retryable else "permanent"
    sys.stderr.write(f"s3redshift: debug: {error.kind} ({kind}) for {result.s3_object.uri}\n")
    cause = error.__cause__ or error.__context__
    if cause is not None:
        write_traceback(cause)


def _write_summary(summary: BackfillSummary, as_json: bool, out: TextIO) -> None:
    if summary.dry_run and not as_json:
        # Like `aws s3 sync --dryrun`: what would load, per table, then the summary.
        for table, objects in sorted(summary.would_load.items()):
            for o in objects[:DRY_RUN_KEYS]:
                out.write(f"(dry run) load {o.uri} -> {table}\n")
            if len(objects) > DRY_RUN_KEYS:
                out.write(f"(dry run) ... and {len(objects) - DRY_RUN_KEYS} more -> {table}\n")
    out.write((json.dumps(summary.to_dict()) if as_json else summary_line(summary)) + "\n")


def summary_line(summary: BackfillSummary) -> str:
    """The one line ``s3redshift load`` prints on stdout."""
    c = summary.counts
    if summary.dry_run:
        plan = summary.would_load
        count = sum(len(objects) for objects in plan.values())
        size = sum(o.size or 0 for objects in plan.values() for o in objects)
        tables = ", ".join(f"{t} {len(o)}" for t, o in sorted(plan.items()) if o) or "none"
        return (
            f"dry run {summary.prefix_uri}: {count} object(s), {format_bytes(size)} would load "
            f"(tables: {tables}); already loaded {c['duplicate']}, unmapped {c['unmapped']}, "
            f"ignored {c['ignored']}, before --since {summary.before_since}, "
            f"failed {c['failed']}; nothing loaded"
        )
    outcomes = ", ".join(f"{name} {n}" for name, n in c.items())
    rejected = summary.rejected_rows
    kept = f", rejected {rejected} (s3redshift ledger --rejects)" if rejected else ""
    return (
        f"{summary.prefix_uri}: {outcomes}; rows {summary.rows}{kept} "
        f"({summary.listed} listed, {summary.before_since} before --since)"
    )
