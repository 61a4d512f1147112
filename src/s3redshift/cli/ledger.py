"""``s3redshift ledger``: what was loaded, (``--failed``) what under a prefix was not,
or (``--rejects``) the rows COPY rejected that ``load_rejects`` kept."""

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
        if getattr(args, "rejects", False):
            return _rejects(args, loader, table, limit, out)
        if args.failed:
            return _missing(args, loader, table, limit, out)
        rows, total = ledger_rows(loader, table=table, limit=limit, time_budget=args.timeout)
    if args.json:
        listed = [
            {
                "loaded_at": r.loaded_at,
                "table": r.table,
                "batch": r.batch_id,
                "identity": r.identity,
                "size": r.size,
                "uri": f"s3://{r.bucket}/{r.key}",
            }
            for r in rows
        ]
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
    sys.stderr.write(
        f"s3redshift: {len(rows)} of {total} ledger row(s) shown"
        + (" (--limit 0 shows all)" if len(rows) < total else "")
        + "\n"
    )
    return EXIT_OK


def _missing(
    args: argparse.Namespace, loader: Loader, table: str | None, limit: int | None, out: TextIO
) -> int:
    """``--failed``: the mapped objects under the prefix the ledger does not hold."""
    from s3redshift.ledger_queries import last_failures, not_loaded

    with ListingHeartbeat(sys.stderr, f"ledger --failed {args.failed}") as heartbeat:
        missing = not_loaded(
            loader, args.failed, table=table, time_budget=args.timeout, on_listed=heartbeat.count
        )
        shown = missing if limit is None else missing[:limit]
        reasons = last_failures(loader, shown, time_budget=args.timeout)
    _write_missing(shown, reasons, args.json, len(missing), out)
    sys.stderr.write(
        f"s3redshift: {len(missing)} mapped object(s) under {args.failed} are not in "
        f"the ledger (failed, still loading, or never triggered)"
        + (f"; {len(shown)} shown" if len(shown) < len(missing) else "")
        + "\n"
    )
    return EXIT_FAILED if missing else EXIT_OK


def _write_missing(
    shown: Sequence[tuple[S3Object, str]],
    reasons: Mapping[tuple[str, str, str], Failure],
    as_json: bool,
    total: int,
    out: TextIO,
) -> None:
    """The objects missing from the ledger, each with its last recorded failure."""
    if as_json:
        objects = [_missing_dict(o, t, reasons.get((o.bucket, o.key, t))) for o, t in shown]
        out.write(json.dumps({"missing": objects, "total": total}) + "\n")
        return
    if not shown:
        return
    rows = [("last_modified", "table", "size", "object")]
    notes = []
    for o, t in shown:
        moment = o.event_time.strftime("%Y-%m-%d %H:%M:%S") if o.event_time else ""
        rows.append((moment, t, str(o.size or 0), o.uri))
        failure = reasons.get((o.bucket, o.key, t))
        notes.append(
            "no failure recorded (never tried, still loading, or the database was unreachable)"
            if failure is None
            # a recorded time to the second, as the listing shows times
            else f"last failure {failure.failed_at[:19]}: {failure.error}: {failure.reason}"
        )
    columns(rows, out, notes)


def _missing_dict(o: S3Object, table: str, failure: Failure | None) -> dict[str, Any]:
    return {
        "uri": o.uri,
        "table": table,
        "size": o.size,
        "last_modified": o.event_time.isoformat() if o.event_time else None,
        "last_failure": None
        if failure is None
        else {
            "failed_at": failure.failed_at,
            "error": failure.error,
            "retryable": failure.retryable,
            "reason": failure.reason,
        },
    }


def _rejects(
    args: argparse.Namespace, loader: Loader, table: str | None, limit: int | None, out: TextIO
) -> int:
    """``--rejects``: the rejected rows kept, newest first (one table, one object if asked)."""
    from s3redshift.ledger_queries import rejected_rows

    uri = getattr(args, "object", None)
    rows, total = rejected_rows(loader, table=table, uri=uri, limit=limit, time_budget=args.timeout)
    if args.json:
        out.write(json.dumps({"rejects": [r.to_dict() for r in rows], "total": total}) + "\n")
    elif rows:
        listed = [("rejected_at", "table", "line", "column", "object")]
        listed += [
            (r.rejected_at, r.table, "" if r.line is None else str(r.line), r.column or "", r.uri)
            for r in rows
        ]
        columns(listed, out, [_why(r) for r in rows])
    sys.stderr.write(
        f"s3redshift: {len(rows)} of {total} rejected row(s) shown"
        + (" (--limit 0 shows all)" if len(rows) < total else "")
        + "\n"
    )
    return EXIT_OK


def _why(row: Rejected) -> str:
    """The note under a rejected row: the reason, its code, the raw line when the log had it."""
    text = row.reason + (f" (code {row.code})" if row.code else "")
    return text + (f"; raw line: {row.raw_line}" if row.raw_line else "")
