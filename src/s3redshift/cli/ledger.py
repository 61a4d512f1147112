"""``s3redshift ledger``: what was loaded, what under a prefix was not (``--failed``), one
object's story (``--object``), the rows COPY rejected that ``load_rejects`` kept
(``--rejects``), and ``ledger prune``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from s3redshift.cli.common import EXIT_FAILED, EXIT_OK, configuration
from s3redshift.cli.output import ListingHeartbeat, columns

if TYPE_CHECKING:
    from s3redshift.events import S3Object
    from s3redshift.failures import Failure
    from s3redshift.ledger_prune import PruneResult
    from s3redshift.ledger_queries import LedgerRow, ObjectStory, Unmapped
    from s3redshift.loader import Loader
    from s3redshift.rejects import Rejected

__all__ = ["run"]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the ledger's rows, newest first, or the mapped objects missing from it."""
    from s3redshift.identifiers import TableRef
    from s3redshift.ledger_queries import ledger_rows

    config = configuration(args)
    table = str(TableRef.parse(args.table)) if args.table else None
    limit = args.limit or None
    with args.make_loader(config) as loader:
        if args.ledger_action == "prune":
            return _prune(args, loader, table, out)
        if args.rejects:
            return _rejects(args, loader, table, limit, out)
        if args.object:
            return _story(args, loader, out)
        if args.failed:
            return _missing(args, loader, table, limit, out)
        rows, total = ledger_rows(loader, table=table, limit=limit, time_budget=args.timeout)
    if args.json:
        listed = [{**_load_dict(r), "uri": f"s3://{r.bucket}/{r.key}"} for r in rows]
        out.write(json.dumps({"rows": listed, "total": total}) + "\n")
    elif rows:
        columns(
            [("loaded_at", "table", "batch", "identity", "object")]
            + [
                (r.loaded_at, r.table, r.batch_id, r.identity, f"s3://{r.bucket}/{r.key}")
                for r in rows
            ],
            out,
        )
    _write_shown(len(rows), total, "ledger row(s)")
    return EXIT_OK


def _write_shown(shown: int, total: int, what: str) -> None:
    """The listings' last line, on stderr: how many were shown of how many there are."""
    more = " (--limit 0 shows all)" if shown < total else ""
    sys.stderr.write(f"s3redshift: {shown} of {total} {what} shown{more}\n")


def _load_dict(row: LedgerRow) -> dict[str, Any]:
    """A ledger row as ``--json`` shows it (the listing and ``--object``'s loads alike)."""
    return {
        "loaded_at": row.loaded_at,
        "table": row.table,
        "batch": row.batch_id,
        "identity": row.identity,
        "size": row.size,
    }


def _missing(
    args: argparse.Namespace, loader: Loader, table: str | None, limit: int | None, out: TextIO
) -> int:
    """``--failed``: the mapped objects under the prefix the ledger does not hold, and the
    keys there no rule maps (never loaded, whatever happens)."""
    from s3redshift.ledger_queries import last_failures, prefix_gaps

    with ListingHeartbeat(sys.stderr, f"ledger --failed {args.failed}") as heartbeat:
        gaps = prefix_gaps(
            loader, args.failed, table=table, time_budget=args.timeout, on_listed=heartbeat.count
        )
        shown = gaps.missing if limit is None else gaps.missing[:limit]
        reasons = last_failures(loader, shown, time_budget=args.timeout)
    unmapped = gaps.unmapped if limit is None else gaps.unmapped[:limit]
    if args.json:
        document = _missing_document(shown, reasons, len(gaps.missing))
        document["unmapped"] = [_unmapped_dict(u) for u in unmapped]
        document["unmapped_total"] = len(gaps.unmapped)
        document["before_horizon"] = gaps.before_horizon
        out.write(json.dumps(document) + "\n")
    else:
        _write_missing(shown, reasons, out)
        _write_unmapped(unmapped, bool(shown), out)
    sys.stderr.write(
        f"s3redshift: {len(gaps.missing)} mapped object(s) under {args.failed} are not in "
        f"the ledger (failed, still loading, or never triggered)"
        + (f"; {len(shown)} shown" if len(shown) < len(gaps.missing) else "")
        + f"; {len(gaps.unmapped)} key(s) no rule maps"
        + (f" ({len(unmapped)} shown)" if len(unmapped) < len(gaps.unmapped) else "")
        + (
            f"; {gaps.before_horizon} object(s) older than their table's horizon not compared "
            "(their ledger rows may be pruned; a load refuses them)"
            if gaps.before_horizon
            else ""
        )
        + "\n"
    )
    return EXIT_FAILED if gaps.missing or gaps.unmapped else EXIT_OK


def _missing_document(
    shown: Sequence[tuple[S3Object, str]],
    reasons: Mapping[tuple[str, str, str], Failure],
    total: int,
) -> dict[str, Any]:
    objects = [_missing_dict(o, t, reasons.get((o.bucket, o.key, t))) for o, t in shown]
    return {"missing": objects, "total": total}


def _write_missing(
    shown: Sequence[tuple[S3Object, str]],
    reasons: Mapping[tuple[str, str, str], Failure],
    out: TextIO,
) -> None:
    """The objects missing from the ledger, each with its last recorded failure."""
    if not shown:
        return
    rows = [("last_modified", "table", "size", "object")]
    notes = []
    for o, t in shown:
        rows.append((_moment(o), t, str(o.size or 0), o.uri))
        failure = reasons.get((o.bucket, o.key, t))
        notes.append(
            "no failure recorded (never tried, still loading, or the database was unreachable)"
            if failure is None
            # a recorded time to the second, as the listing shows times
            else f"last failure {failure.failed_at[:19]}: {failure.error}: {failure.reason}"
        )
    columns(rows, out, notes)


def _write_unmapped(unmapped: Sequence[Unmapped], after: bool, out: TextIO) -> None:
    """The keys no rule maps, in a section of their own: they never load."""
    if not unmapped:
        return
    if after:
        out.write("\n")
    out.write("unmapped: no rule maps these keys, so they never load (add a rule, or move them)\n")
    rows = [("last_modified", "size", "object")]
    rows += [(_moment(u.s3_object), str(u.s3_object.size or 0), u.s3_object.uri) for u in unmapped]
    columns(rows, out, [u.reason for u in unmapped])


def _moment(o: S3Object) -> str:
    return o.event_time.strftime("%Y-%m-%d %H:%M:%S") if o.event_time else ""


def _unmapped_dict(u: Unmapped) -> dict[str, Any]:
    o = u.s3_object
    return {
        "uri": o.uri,
        "size": o.size,
        "last_modified": o.event_time.isoformat() if o.event_time else None,
        "reason": u.reason,
    }


def _missing_dict(o: S3Object, table: str, failure: Failure | None) -> dict[str, Any]:
    return {
        "uri": o.uri,
        "table": table,
        "size": o.size,
        "last_modified": o.event_time.isoformat() if o.event_time else None,
        "last_failure": _failure_dict(failure),
    }


def _failure_dict(failure: Failure | None) -> dict[str, Any] | None:
    """A recorded failure as ``--json`` shows it (``--failed`` and ``--object`` alike)."""
    if failure is None:
        return None
    return {
        "failed_at": failure.failed_at,
        "error": failure.error,
        "retryable": failure.retryable,
        "reason": failure.reason,
    }


# --- --object ---------------------------------------------------------------------------

_ROWS_UNKNOWN = "rows: unknown (the ledger records objects, not each one's row count)"


def _story(args: argparse.Namespace, loader: Loader, out: TextIO) -> int:
    """``--object``: every version of one object that loaded, or why none did.

    Exit 0 when it loaded or is ignored (never meant to load), 1 otherwise.
    """
    from s3redshift.ledger_queries import object_story

    story = object_story(loader, args.object, time_budget=args.timeout)
    if args.json:
        out.write(json.dumps(_story_dict(story)) + "\n")
    else:
        _write_story(story, out)
    return EXIT_OK if story.status in ("loaded", "ignored") else EXIT_FAILED


def _in_s3(story: ObjectStory) -> str:
    head = story.head
    if story.s3_error:
        return f"unknown: {story.s3_error}"
    if head is None:
        return "no (HeadObject: not found)"
    when = head.modified.strftime("%Y-%m-%d %H:%M:%S UTC") if head.modified else "unknown"
    identity = head.version_id or head.etag or "?"
    return f"yes: identity {identity}, {head.size} B, last modified {when}"


def _write_story(story: ObjectStory, out: TextIO) -> None:
    lines = [
        ("object", story.uri),
        ("status", story.status),
        ("why", story.reason),
        ("in S3", _in_s3(story)),
        ("maps to", _mapping_text(story)),
    ]
    if story.horizon is not None:
        lines.append(
            ("horizon", f"{story.horizon:%Y-%m-%d %H:%M:%S} UTC: older objects are refused")
        )
    for name, text in lines:
        out.write(f"{name + ':':<10}{text}\n")
    if story.loads:
        out.write("\n")
        rows: list[tuple[str, ...]] = [
            ("loaded_at", "table", "batch", "identity", "size", "rows", "rejected")
        ]
        rows += [_load_cells(story, r) for r in story.loads]
        columns(rows, out)
        out.write(_ROWS_UNKNOWN + "\n")


def _load_cells(story: ObjectStory, load: LedgerRow) -> tuple[str, ...]:
    """One loaded version as ``--object`` lists it; its rows are unknown (``_ROWS_UNKNOWN``)."""
    size, rejected = str(load.size), str(story.rejected_rows(load))
    return (load.loaded_at, load.table, load.batch_id, load.identity, size, "unknown", rejected)


def _mapping_text(story: ObjectStory) -> str:
    if story.target is not None:
        rule = story.target.rule
        return (
            f"{story.target.table} by tables[{story.target.rule_index}] "
            f"(pattern {rule.pattern!r}, mode {rule.mode})"
        )
    return f"nothing ({story.mapping})"


def _story_dict(story: ObjectStory) -> dict[str, Any]:
    head = story.head
    target = story.target
    failure = story.last_failure
    return {
        "uri": story.uri,
        "status": story.status,
        "reason": story.reason,
        "in_s3": story.in_s3,
        "s3": None
        if head is None
        else {
            "etag": head.etag,
            "version_id": head.version_id,
            "size": head.size,
            "last_modified": head.modified.isoformat() if head.modified else None,
        },
        "s3_error": story.s3_error or None,
        "mapping": {
            "outcome": story.mapping,
            "table": None if target is None else str(target.table),
            "rule": None if target is None else target.rule_index,
            "pattern": None if target is None else target.rule.pattern,
            "mode": None if target is None else target.rule.mode,
        },
        "loads": [
            # rows: unknown, the ledger keeps no per-object row count
            {**_load_dict(r), "rows": None, "rejected_rows": story.rejected_rows(r)}
            for r in story.loads
        ],
        "last_failure": None
        if failure is None
        else {**(_failure_dict(failure) or {}), "identity": failure.identity},
        "horizon": story.horizon.isoformat() if story.horizon is not None else None,
    }


# --- prune ------------------------------------------------------------------------------


def _prune(args: argparse.Namespace, loader: Loader, table: str | None, out: TextIO) -> int:
    """``ledger prune``: what goes (or would go), per ledger table; the horizon recorded."""
    from s3redshift.ledger_prune import prune_ledger

    result = prune_ledger(
        loader, args.before, table=table, confirm=args.confirm, time_budget=args.timeout
    )
    if args.json:
        out.write(json.dumps(_prune_dict(result)) + "\n")
    elif result.ledgers:
        rows = [("table", "rows", "pruned" if result.confirmed else "would_prune", "ledger")]
        rows += [
            (", ".join(p.tables) or "(empty)", str(p.rows), str(p.pruned), str(p.ledger))
            for p in result.ledgers
        ]
        columns(rows, out)
    sys.stderr.write(_prune_summary(result) + "\n")
    return EXIT_OK


def _prune_summary(result: PruneResult) -> str:
    when = f"{result.before:%Y-%m-%d %H:%M:%S} UTC"
    cutoff = f"{result.cutoff:%Y-%m-%d %H:%M:%S} UTC"
    horizon = f"{result.horizon:%Y-%m-%d %H:%M:%S} UTC"
    tables = len(result.ledgers)
    if not result.confirmed:
        return (
            f"s3redshift: dry run: {result.pruned} ledger row(s) loaded before {cutoff} "
            f"(an hour before {when}) would be removed from {tables} ledger table(s), and "
            f"their horizon would be {horizon}: objects older than it are then refused. "
            "Nothing was changed; add --confirm to prune"
        )
    return (
        f"s3redshift: pruned {result.pruned} ledger row(s) loaded before {cutoff} from "
        f"{tables} ledger table(s); their horizon is {horizon}: objects older than it are "
        "refused from now on (BeforeHorizonError)"
    )


def _prune_dict(result: PruneResult) -> dict[str, Any]:
    return {
        "dry_run": not result.confirmed,
        "before": result.before.isoformat(),
        "cutoff": result.cutoff.isoformat(),
        "horizon": result.horizon.isoformat(),
        "previous_horizon": result.previous.isoformat() if result.previous else None,
        "ledgers": [
            {"ledger": str(p.ledger), "tables": list(p.tables), "rows": p.rows, "pruned": p.pruned}
            for p in result.ledgers
        ],
        "pruned": result.pruned,
    }


def _rejects(
    args: argparse.Namespace, loader: Loader, table: str | None, limit: int | None, out: TextIO
) -> int:
    """``--rejects``: the rejected rows kept, newest first (one table, one object if asked)."""
    from s3redshift.ledger_queries import rejected_rows

    rows, total = rejected_rows(
        loader, table=table, uri=args.object, limit=limit, time_budget=args.timeout
    )
    if args.json:
        out.write(json.dumps({"rejects": [r.to_dict() for r in rows], "total": total}) + "\n")
    elif rows:
        listed = [("rejected_at", "table", "line", "column", "object")]
        listed += [
            (r.rejected_at, r.table, "" if r.line is None else str(r.line), r.column or "", r.uri)
            for r in rows
        ]
        columns(listed, out, [_why(r) for r in rows])
    _write_shown(len(rows), total, "rejected row(s)")
    return EXIT_OK


def _why(row: Rejected) -> str:
    """The note under a rejected row: the reason, its code, the raw line when the log had it."""
    text = row.reason + (f" (code {row.code})" if row.code else "")
    return text + (f"; raw line: {row.raw_line}" if row.raw_line else "")
