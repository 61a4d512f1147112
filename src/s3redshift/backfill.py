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

:func:`ledger_rows` and :func:`not_loaded` answer the other two operator
questions (``s3redshift ledger``): what was loaded, and what under a prefix
was not. The ledger records successes only, in the load's own transaction, so
"not loaded" is found by listing and comparing, never from a failure record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
from s3redshift.failures import (
    FAILURES_TABLE,
    Failure,
    failures_table_for,
    latest_failures,
    select_failures_sql,
)
from s3redshift.identifiers import TableRef, portable_literal, quote_identifier
from s3redshift.ledger import (
    is_ledger_table,
    loaded_among,
    loaded_identities_sql,
    lookup_chunks,
)
from s3redshift.listing import aware, list_prefix, parse_s3_uri
from s3redshift.planner import load_order
from s3redshift.report import OUTCOMES, LoadReport, ObjectResult

if TYPE_CHECKING:
    from s3redshift.loader import Loader
    from s3redshift.mapping import Target

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "BackfillProgress",
    "BackfillSummary",
    "LedgerRow",
    "backfill",
    "ledger_rows",
    "list_prefix",
    "not_loaded",
    "parse_s3_uri",
]

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

    ``since`` keeps only objects last modified at or after it (a naive value
    is taken as UTC). ``dry_run`` lists, maps and reads the ledger
    (:attr:`BackfillSummary.would_load`; objects it holds count as
    ``duplicate``), and writes nothing. ``progress`` is called once after
    listing (nothing done yet) and once after each batch. ``time_budget``
    (seconds, for the Lambda sweep) bounds the whole run: each batch gets
    what is left of it, and batches that cannot start any more are reported
    ``failed`` with a retryable
    :class:`~s3redshift.errors.TimeBudgetExceededError`, so the next run
    picks them up.

    Raises:
        ConfigError: ``prefix_uri`` is not an S3 URI, the bucket does not
            exist, or ``batch_size`` is not positive.
        PermissionDeniedError, RetryableError: listing the bucket failed.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    started = clock()
    bucket, prefix = parse_s3_uri(prefix_uri)
    if since is not None:
        since = aware(since)
    listed = before_since = 0
    candidates: list[S3Object] = []
    for obj in list_prefix(loader.s3, bucket, prefix):
        listed += 1
        if since is not None and obj.event_time is not None and obj.event_time < since:
            before_since += 1
            continue
        candidates.append(obj)
    classified = classify(loader.mapper, candidates)
    failures = [r for r in classified.skipped.values() if r.outcome == "failed"]
    skipped = [r for r in classified.skipped.values() if r.outcome != "failed"]
    tables: dict[str, int] = {}
    pending: list[S3Object] = []
    for target, members in classified.groups.items():
        tables[str(target.table)] = tables.get(str(target.table), 0) + len(members)
        pending += (obj for _, obj in members)
    pending.sort(key=load_order)
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
    total_bytes = sum(o.size or 0 for o in pending)
    done = done_bytes = 0

    def report_progress(batches_done: int) -> None:
        if progress is not None:
            progress(
                BackfillProgress(
                    done, len(pending), done_bytes, total_bytes, batches_done, len(batches)
                )
            )

    report_progress(0)
    reports: list[LoadReport] = []
    would_load: dict[str, tuple[S3Object, ...]] = {}
    already = 0
    if dry_run:
        would_load, already = _dry_run(loader, classified.groups, time_budget)
    deadline = Deadline(None if time_budget is None else started + time_budget, clock)
    stopped_by: S3RedshiftError | None = None
    if not dry_run:
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
                report = loader.load(chunk, time_budget=deadline.remaining())
                reports.append(report)
                failures.extend(report.failed)
                stopped_by = _target_failure(report)
            done += len(chunk)
            done_bytes += sum(o.size or 0 for o in chunk)
            report_progress(number)
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for result in skipped:
        counts[result.outcome] += 1
    for report in reports:
        for name, n in report.counts.items():
            if name != "failed":
                counts[name] += n
    counts["failed"] = len(failures)
    counts["duplicate"] += already
    return BackfillSummary(
        prefix_uri=prefix_uri,
        dry_run=dry_run,
        listed=listed,
        before_since=before_since,
        pending=len(pending),
        pending_bytes=total_bytes,
        tables=tables,
        counts=counts,
        rows=sum(r.rows for r in reports),
        reports=tuple(reports),
        failures=tuple(failures),
        duration_ms=int((clock() - started) * 1000),
        skipped=tuple(skipped),
        stopped_by=stopped_by,
        would_load=would_load,
    )


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
    if loader.config.ledger.enabled:
        schema = loader.config.ledger.schema_name
        known = _in_ledger(loader, schema, by_table, Deadline.after(time_budget))
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


# --- what the ledger says ---------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    """One loaded object version, as the ledger records it."""

    bucket: str
    key: str
    identity: str
    size: int
    table: str
    batch_id: str
    loaded_at: str


def _ledger_schema(loader: Loader) -> str:
    if not loader.config.ledger.enabled:
        raise ConfigError(
            "the ledger is disabled (ledger.enabled = false), so nothing records what was "
            "loaded; enable it to use this command"
        )
    return loader.config.ledger.schema_name


def _schema_tables(loader: Loader, schema: str, deadline: Deadline) -> list[str]:
    """The names of the tables in the ledger's schema, in name order."""
    rows = loader.transport.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        f"{portable_literal(schema)} ORDER BY table_name",
        time_budget=deadline.remaining(),
    )
    return [str(name) for (name,) in rows]


def _ledger_tables(loader: Loader, schema: str, deadline: Deadline) -> list[TableRef]:
    """Every ledger table there is (one per target loaded so far), in name order."""
    names = _schema_tables(loader, schema, deadline)
    return [TableRef(schema, name) for name in names if is_ledger_table(name)]


def last_failures(
    loader: Loader,
    objects: Sequence[tuple[S3Object, str]],
    *,
    time_budget: float | None = None,
) -> dict[tuple[str, str, str], Failure]:
    """The last recorded failure of each ``(object, table)``, keyed ``(bucket, key, table)``.

    For the objects :func:`not_loaded` returns: the failures table says why
    their last load failed. A failure of another version of the key (the
    object was overwritten since) is not this object's and is left out; an
    object with no row failed where the table could not be written (the
    database was down, the time ran out) or was never tried.
    """
    if not objects:
        return {}
    schema = _ledger_schema(loader)
    deadline = Deadline.after(time_budget)
    if FAILURES_TABLE not in _schema_tables(loader, schema, deadline):
        return {}
    table = failures_table_for(schema)
    wanted = {(o.bucket, o.key, t): o.identity or "" for o, t in objects}
    found: dict[tuple[str, str, str], Failure] = {}
    keys = [(o.bucket, o.key, o.identity or "") for o, _ in objects]
    for chunk in lookup_chunks(keys):
        rows = loader.transport.query(
            select_failures_sql(table, (key for _, key, _ in chunk)),
            time_budget=deadline.remaining(),
        )
        for slot, failure in latest_failures(rows).items():
            if slot in wanted and failure.identity in ("", wanted[slot]):
                found[slot] = failure
    return found


def _table_filter(table: str | None) -> str | None:
    """A ``--table`` as the ledger writes table names (``Public.KPIs`` is ``public.kpis``)."""
    if not table:
        return None
    try:
        return str(TableRef.parse(table))
    except S3RedshiftError:
        return table  # matches nothing the ledger can hold


def _timestamp_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def ledger_rows(
    loader: Loader,
    *,
    table: str | None = None,
    limit: int | None = None,
    time_budget: float | None = None,
) -> tuple[list[LedgerRow], int]:
    """The newest ``limit`` ledger rows (all when None), and how many there are in all.

    ``table`` (``schema.table`` as the ledger writes it) keeps one target's rows.
    A ledger table that does not exist yet means nothing was loaded: ``([], 0)``.
    ``time_budget`` (seconds) bounds all of its reads together.

    Raises:
        ConfigError: the ledger is disabled in the configuration.
    """
    schema = _ledger_schema(loader)
    deadline = Deadline.after(time_budget)
    ledgers = _ledger_tables(loader, schema, deadline)
    where = ""
    table = _table_filter(table)
    if table:
        where = f" WHERE {quote_identifier('target_table')} = {portable_literal(table)}"
        try:
            mine = loader.ledger_for(TableRef.parse(table))
        except S3RedshiftError:
            return [], 0  # no table of that name can have been loaded
        ledgers = [ledger for ledger in ledgers if ledger == mine]
    names = (
        "bucket",
        "object_key",
        "object_identity",
        "object_size",
        "target_table",
        "batch_id",
        "loaded_at",
    )
    order = ", ".join(
        quote_identifier(n) + (" DESC" if n == "loaded_at" else "")
        for n in ("loaded_at", "bucket", "object_key")
    )
    total = 0
    found: list[tuple[Any, ...]] = []
    for ledger in ledgers:
        [(count,)] = loader.transport.query(
            f"SELECT COUNT(*) FROM {ledger.sql}{where}", time_budget=deadline.remaining()
        )
        total += int(count)
        sql = (
            f"SELECT {', '.join(quote_identifier(n) for n in names)} FROM {ledger.sql}{where} "
            f"ORDER BY {order}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"  # the newest of all are among each table's newest
        found += loader.transport.query(sql, time_budget=deadline.remaining())
    # Newest first across the tables, then by object (two stable sorts).
    found.sort(key=lambda row: (str(row[0]), str(row[1])))
    found.sort(key=lambda row: row[6], reverse=True)
    if limit is not None:
        found = found[: int(limit)]
    rows = [
        LedgerRow(
            bucket=str(b),
            key=str(k),
            identity=str(i),
            size=int(n),
            table=str(t),
            batch_id=str(batch),
            loaded_at=_timestamp_text(at),
        )
        for b, k, i, n, t, batch, at in found
    ]
    return rows, total


def not_loaded(
    loader: Loader,
    prefix_uri: str,
    *,
    table: str | None = None,
    time_budget: float | None = None,
    on_listed: Callable[[int], None] | None = None,
) -> list[tuple[S3Object, str]]:
    """Objects under ``prefix_uri`` that map to a table but are not in the ledger.

    The ledger records successful loads only, in the load's own transaction, so
    "not in the ledger" is the one truthful account of what did not load: the
    load failed, is still running, or was never triggered. Each object comes with
    its target table (``table`` keeps one); keys whose mapping gives an unsafe
    name can never load and are listed with the table ``"(unsafe name)"``.
    For a ``replace`` table only the newest object counts: older snapshots are
    never loaded by design. Objects are in load order. ``time_budget`` (seconds) bounds the ledger's
    reads together. ``on_listed`` hears the number of keys listed so far, after
    each one (for a heartbeat while a large prefix is listed).

    Raises:
        ConfigError: the ledger is disabled, or ``prefix_uri`` is not an S3 URI.
    """
    schema = _ledger_schema(loader)
    deadline = Deadline.after(time_budget)
    bucket, prefix = parse_s3_uri(prefix_uri)
    listed = list_prefix(loader.s3, bucket, prefix)
    if on_listed is not None:
        listed = _counted(listed, on_listed)
    classified = classify(loader.mapper, listed)
    candidates: list[tuple[S3Object, str]] = []
    if table is None:
        candidates += (
            (r.s3_object, "(unsafe name)")
            for r in classified.skipped.values()
            if r.outcome == "failed"
        )
    wanted = _table_filter(table)
    # Several rules may load one table: their objects share its ledger.
    groups: dict[TableRef, list[S3Object]] = {}
    for target, members in classified.groups.items():
        if wanted is None or str(target.table) == wanted:
            objects = [obj for _, obj in members]
            if target.rule.mode == "replace" and objects:
                # Older snapshots are superseded by design; only the newest must load.
                objects = [max(objects, key=load_order)]
            groups.setdefault(target.table, []).extend(objects)
    for target_table, objects in groups.items():
        candidates += ((obj, str(target_table)) for obj in objects)
    known = _in_ledger(loader, schema, groups, deadline)
    missing = [(o, t) for o, t in candidates if (o.bucket, o.key, o.identity or "") not in known]
    missing.sort(key=lambda pair: load_order(pair[0]))
    return missing


def _counted(objects: Iterator[S3Object], on_listed: Callable[[int], None]) -> Iterator[S3Object]:
    """``objects``, telling ``on_listed`` how many have come so far (a heartbeat's figure)."""
    for count, obj in enumerate(objects, start=1):
        on_listed(count)
        yield obj


def _in_ledger(
    loader: Loader,
    schema: str,
    groups: Mapping[TableRef, Sequence[S3Object]],
    deadline: Deadline,
) -> set[tuple[str, str, str]]:
    """Which ``(bucket, key, identity)`` of each table's objects its ledger holds."""
    known: set[tuple[str, str, str]] = set()
    ledgers = set(_ledger_tables(loader, schema, deadline)) if groups else set()
    for target_table, objects in groups.items():
        ledger = loader.ledger_for(target_table)
        if ledger not in ledgers:
            continue  # nothing was ever loaded into this table
        keys = [(o.bucket, o.key, o.identity or "") for o in objects]
        for chunk in lookup_chunks(keys):
            sql = loaded_identities_sql(ledger, chunk)
            rows = loader.transport.query(sql, time_budget=deadline.remaining())
            known.update(loaded_among(rows, chunk))
    return known
