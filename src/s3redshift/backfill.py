"""Backfill: load every object already under an S3 prefix, safely re-runnable.

Notifications get lost (a misconfigured bucket, a dead-letter queue nobody
drained, data written before the pipeline existed). ``backfill`` lists a
prefix and hands what it finds to the same :class:`~s3redshift.loader.Loader`
the events go through, so the ledger decides what is new: objects loaded
before, by an event or an earlier backfill, come back as ``duplicate`` and a
second run loads nothing.

The listing (:func:`~s3redshift.listing.list_prefix`) describes each object
as its event would, so the ledger recognises what an event already loaded.

Objects are listed completely before the first load so that progress can be
reported against a known total, then sorted into load order (last-modified
time, then key) so that later writes load later, as events would have, and
loaded in batches of ``batch_size``. Keys the mapper ignores (the loader's
own manifests, ``_SUCCESS``, ``*.tmp``, ``_temporary/``, folder markers) are
counted and never handed to the loader; keys no rule maps are counted as
``unmapped``. Only the objects to load are kept in memory (a few hundred
bytes each); objects older than ``since`` are dropped as they are listed.

What was loaded, and what under a prefix was not, are
:mod:`s3redshift.ledger_queries`' answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from s3redshift.classify import classify
from s3redshift.deadline import Deadline
from s3redshift.errors import (
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    S3RedshiftError,
    TimeBudgetExceededError,
)
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef
from s3redshift.ledger_queries import in_ledger
from s3redshift.listing import aware, list_prefix, parse_s3_uri
from s3redshift.planner import load_order
from s3redshift.report import OUTCOMES, LoadReport, ObjectResult

if TYPE_CHECKING:
    from s3redshift.loader import Loader
    from s3redshift.mapping import Target

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "BackfillInterrupted",
    "BackfillProgress",
    "BackfillSummary",
    "backfill",
]

_R = TypeVar("_R")

DEFAULT_BATCH_SIZE = 500
"""Objects per :meth:`Loader.load` call: one transaction per target per batch."""


@dataclass(frozen=True)
class BackfillProgress:
    """Where a backfill stands; sent once after listing and once after each batch.

    Totals count only the objects that are handed to the loader (after the
    ``since`` filter, without ignored and unmapped keys); bytes are the sizes
    the listing reported.
    """

    objects_done: int
    objects_total: int
    bytes_done: int
    bytes_total: int
    batches_done: int
    batches_total: int

    @property
    def finished(self) -> bool:
        """True once every batch has been loaded (or skipped for lack of time)."""
        return self.batches_done >= self.batches_total


@dataclass(frozen=True)
class BackfillSummary:
    """What a backfill found and did.

    ``counts`` has one entry per outcome of :data:`s3redshift.report.OUTCOMES`:
    ``ignored`` and ``unmapped`` are decided from the listing, the others come
    from the loader's reports (all zero on a dry run). ``pending`` is the number
    of objects that were (or, on a dry run, would have been) handed to the
    loader, and ``tables`` counts them per target table. ``failures`` merges
    the failed objects of every batch, including keys whose mapping gave an
    unsafe name and batches skipped because the time budget ran out, or
    because a failure of the target itself (:attr:`stopped_by`) stopped the run.
    """

    prefix_uri: str
    dry_run: bool
    listed: int
    before_since: int
    pending: int
    pending_bytes: int
    tables: dict[str, int]
    counts: dict[str, int]
    rows: int
    reports: tuple[LoadReport, ...]
    failures: tuple[ObjectResult, ...]
    duration_ms: int
    skipped: tuple[ObjectResult, ...] = field(default=(), repr=False)
    would_load: Mapping[str, tuple[S3Object, ...]] = field(default_factory=dict)
    """On a dry run: per table, the objects a load would load (not in the ledger)."""
    stopped_by: S3RedshiftError | None = None
    """The target-level failure (the database unreachable, sign-in refused) that
    stopped the run; the batches after it were not tried and count as failed."""

    @property
    def ok(self) -> bool:
        """True when no object failed."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (objects other than failures are left out)."""
        return {
            "prefix": self.prefix_uri,
            "dry_run": self.dry_run,
            "listed": self.listed,
            "before_since": self.before_since,
            "pending": self.pending,
            "pending_bytes": self.pending_bytes,
            "tables": dict(self.tables),
            "counts": dict(self.counts),
            "rows": self.rows,
            "batches": len(self.reports),
            "duration_ms": self.duration_ms,
            "stopped_by": None if self.stopped_by is None else str(self.stopped_by),
            "would_load": {t: [o.uri for o in objects] for t, objects in self.would_load.items()},
            "failures": [r.to_dict() for r in self.failures],
        }


class BackfillInterrupted(KeyboardInterrupt):
    """An interrupt (Ctrl-C) stopped a backfill; what had ended before it.

    Still a :class:`KeyboardInterrupt`, so that a caller not asking for the
    details stops as before. ``reports`` are the batches that ended: each
    target's transaction in them committed or rolled back whole.
    ``in_progress`` is the batch that was loading, if one was: a transaction
    the interrupt stopped is rolled back (its session is closed, never
    pooled), but a target of it that had committed before stays committed,
    so only the ledger can say which of these objects are loaded.
    """

    def __init__(self, reports: Sequence[LoadReport], in_progress: Sequence[S3Object]) -> None:
        super().__init__()
        self.reports = tuple(reports)
        self.in_progress = tuple(in_progress)


def backfill(
    loader: Loader,
    prefix_uri: str,
    *,
    since: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[BackfillProgress], None] | None = None,
    time_budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> BackfillSummary:
    """List ``prefix_uri`` (``s3://bucket/prefix``) and load what is not loaded yet.

    ``since`` keeps objects last modified at or after it (naive: UTC).
    ``dry_run`` lists, maps and reads the ledger (:attr:`BackfillSummary.would_load`;
    what it holds counts as ``duplicate``) and writes nothing. ``progress``
    hears once after listing and once after each batch. ``time_budget``
    (seconds, for the Lambda sweep) bounds the whole run: batches that cannot
    start any more are reported ``failed``, retryable
    (:class:`~s3redshift.errors.TimeBudgetExceededError`), for the next run.

    Raises:
        BackfillInterrupted: an interrupt (Ctrl-C) stopped the run.
        ConfigError: ``prefix_uri`` is not an S3 URI, the bucket does not
            exist, or ``batch_size`` is not positive.
        PermissionDeniedError, RetryableError: listing the bucket failed.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    started = clock()
    listed, before_since, candidates = _listed(loader, prefix_uri, since)
    classified = classify(loader.mapper, candidates)
    skipped = [r for r in classified.skipped.values() if r.outcome != "failed"]
    tables, pending, batches = _to_load(classified.groups, batch_size)
    total_bytes = sum(o.size or 0 for o in pending)
    if progress is not None:
        progress(BackfillProgress(0, len(pending), 0, total_bytes, 0, len(batches)))
    would_load, already = _dry_run(loader, classified.groups, time_budget) if dry_run else ({}, 0)
    deadline = Deadline(None if time_budget is None else started + time_budget, clock)
    to_load = [] if dry_run else batches
    load = partial(_load_batches, loader, prefix_uri, to_load, deadline, progress)
    reports, (failed, stopped_by) = _interruptible(load)
    failures = [r for r in classified.skipped.values() if r.outcome == "failed"] + failed
    return BackfillSummary(
        prefix_uri=prefix_uri,
        dry_run=dry_run,
        listed=listed,
        before_since=before_since,
        pending=len(pending),
        pending_bytes=total_bytes,
        tables=tables,
        counts=_counts(skipped, reports, len(failures), already),
        rows=sum(r.rows for r in reports),
        reports=tuple(reports),
        failures=tuple(failures),
        duration_ms=int((clock() - started) * 1000),
        skipped=tuple(skipped),
        stopped_by=stopped_by,
        would_load=would_load,
    )


def _listed(
    loader: Loader, prefix_uri: str, since: datetime | None
) -> tuple[int, int, list[S3Object]]:
    """How many objects the prefix lists, how many are older than ``since``, and the others."""
    bucket, prefix = parse_s3_uri(prefix_uri)
    since = None if since is None else aware(since)
    listed = before_since = 0
    candidates: list[S3Object] = []
    for obj in list_prefix(loader.s3, bucket, prefix):
        listed += 1
        if since is not None and obj.event_time is not None and obj.event_time < since:
            before_since += 1
            continue
        candidates.append(obj)
    return listed, before_since, candidates


def _to_load(
    groups: Mapping[Target, Sequence[tuple[int, S3Object]]], batch_size: int
) -> tuple[dict[str, int], list[S3Object], list[list[S3Object]]]:
    """How many objects go to each table, all of them in load order, and those in batches."""
    tables: dict[str, int] = {}
    pending: list[S3Object] = []
    for target, members in groups.items():
        tables[str(target.table)] = tables.get(str(target.table), 0) + len(members)
        pending += (obj for _, obj in members)
    pending.sort(key=load_order)
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
    return tables, pending, batches


def _interruptible(
    load: Callable[[list[LoadReport], list[S3Object]], _R],
) -> tuple[list[LoadReport], _R]:
    """``load(reports, loading)`` and the reports it gave; an interrupt says what had ended.

    Raises:
        BackfillInterrupted: an interrupt arrived, with the reports so far
            and the batch being loaded, if one was.
    """
    reports: list[LoadReport] = []
    loading: list[S3Object] = []
    try:
        return reports, load(reports, loading)
    except KeyboardInterrupt as exc:
        raise BackfillInterrupted(reports, loading) from exc


def _load_batches(
    loader: Loader,
    prefix_uri: str,
    batches: Sequence[Sequence[S3Object]],
    deadline: Deadline,
    progress: Callable[[BackfillProgress], None] | None,
    reports: list[LoadReport],
    loading: list[S3Object],
) -> tuple[list[ObjectResult], S3RedshiftError | None]:
    """Load the batches in order: the failed objects, and what stopped the run.

    The loader's reports are appended to ``reports`` as each batch ends, and
    ``loading`` holds the batch being loaded (what an interrupt met). A
    batch that cannot start any more (the time is up, or a failure of the
    target itself stopped the run) is reported failed without a try.
    """
    total = sum(map(len, batches))
    total_bytes = sum(o.size or 0 for batch in batches for o in batch)
    failures: list[ObjectResult] = []
    stopped_by: S3RedshiftError | None = None
    done = done_bytes = 0
    for number, chunk in enumerate(batches, start=1):
        if deadline.expired():
            error = TimeBudgetExceededError(
                "the time budget ran out before this backfill batch was started; "
                "run the backfill again to load it",
                s3_uri=prefix_uri,
            )
            failures.extend(
                ObjectResult(o, "failed", reason=error.message, error=error) for o in chunk
            )
        elif stopped_by is not None:
            reason = f"not tried: {stopped_by.message}"
            failures.extend(
                ObjectResult(
                    o,
                    "failed",
                    reason=reason,
                    error=type(stopped_by)(reason, s3_uri=o.uri, table=stopped_by.table),
                )
                for o in chunk
            )
        else:
            loading[:] = chunk
            report = loader.load(chunk, time_budget=deadline.remaining())
            reports.append(report)
            loading.clear()  # (an interrupt in between names the batch twice: harmless)
            failures.extend(report.failed)
            stopped_by = _target_failure(report)
        done += len(chunk)
        done_bytes += sum(o.size or 0 for o in chunk)
        if progress is not None:
            progress(BackfillProgress(done, total, done_bytes, total_bytes, number, len(batches)))
    return failures, stopped_by


def _counts(
    skipped: Sequence[ObjectResult], reports: Sequence[LoadReport], failed: int, already: int
) -> dict[str, int]:
    """One count per outcome: the listing's skipped keys, the reports' outcomes, the failures."""
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for result in skipped:
        counts[result.outcome] += 1
    for report in reports:
        for name, n in report.counts.items():
            if name != "failed":
                counts[name] += n
    counts["failed"] = failed
    counts["duplicate"] += already
    return counts


def _dry_run(
    loader: Loader,
    groups: Mapping[Target, Sequence[tuple[int, S3Object]]],
    time_budget: float | None,
) -> tuple[dict[str, tuple[S3Object, ...]], int]:
    """Per table, the objects a load would load (the ledger's are left out), and how many it holds.

    Read-only: the ledger is read (when it is enabled), nothing is written.
    """
    by_table: dict[TableRef, list[S3Object]] = {}
    for target, members in groups.items():
        by_table.setdefault(target.table, []).extend(obj for _, obj in members)
    known: set[tuple[str, str, str]] = set()
    if (schema := loader.config.ledger.active_schema) is not None:
        known = in_ledger(loader, schema, by_table, Deadline.after(time_budget))
    plan: dict[str, tuple[S3Object, ...]] = {}
    already = 0
    for table, objects in by_table.items():
        fresh = [o for o in objects if (o.bucket, o.key, o.identity or "") not in known]
        already += len(objects) - len(fresh)
        plan[str(table)] = tuple(sorted(fresh, key=load_order))
    return plan, already


_TARGET_FAILURES = (ConnectionLostError, CredentialsError)
"""Failures of the database itself, not of an object: the next batch would meet them too."""


def _target_failure(report: LoadReport) -> S3RedshiftError | None:
    """The one target-level error every failed object of a batch met, if that is what happened.

    Then nothing of the batch loaded, and trying the next batches would only
    repeat it (a database that is down, a password refused) for every object.
    """
    failed = report.failed
    if not failed or report.counts["loaded"]:
        return None
    errors = {type(r.error): r.error for r in failed if r.error is not None}
    if len(errors) != 1 or len(failed) != sum(1 for r in failed if r.error is not None):
        return None
    [error] = errors.values()
    return error if isinstance(error, _TARGET_FAILURES) else None
