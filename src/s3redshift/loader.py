"""The loader: objects in, one exactly-once transaction per target, a report out.

``Loader(config).load(objects)`` maps each object to a target, groups the
objects per target and, for each target:

1. drops repeats inside the batch and asks the target's ledger table about
   the object versions the events name: those already loaded are reported
   ``duplicate`` without a request to S3, so a replayed batch costs one
   ledger read;
2. checks each remaining object against S3: an object whose current ETag (or
   version) differs from its event's has been overwritten since, and is
   reported ``superseded`` -- its newer event will load the new content (COPY
   can only read the current version of a key); where S3 names another
   identity than the event did, the ledger is asked again;
3. writes the manifest(s) and the batch's object list to S3 and runs the
   target's :class:`~s3redshift.transaction.TransactionPlan` in one transaction,
   whose ledger guard makes a concurrent or replayed load of the same objects
   abort rather than load twice;
4. on rejected data, leaves the files COPY named out and loads the rest in a
   fresh transaction (bounded attempts), so one bad file does not block its
   neighbours; on a retryable error, retries with backoff inside the caller's
   time budget.

The targets of a batch load side by side, up to the transport's
``max_in_flight`` at once, each on a worker thread of its own: a batch waits
about as long as its slowest table, not as long as all of them. Each target's
outcome is its own; they share no table (each has its own ledger table) and
no transaction. Before they start, every ledger of the batch is made ready in
one catalog query and one request (:meth:`Loader._ensure_ledgers`; more, side
by side, past 38 ledgers: the schema and the horizons' table come first).

A ``Loader`` is called from one thread at a time; make one per thread for
loads of separate batches in parallel.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from s3redshift.classify import classify
from s3redshift.config import LoaderConfig
from s3redshift.deadline import Deadline
from s3redshift.errors import (
    BatchConflictError,
    BeforeHorizonError,
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    DataRejectedError,
    KeyCollisionError,
    LoadErrorDetail,
    PermanentError,
    RetryableError,
    S3RedshiftError,
    TargetMissingError,
    TimeBudgetExceededError,
)
from s3redshift.events import S3Object
from s3redshift.failures import FailureLog, failures_table_for
from s3redshift.identifiers import TableRef, quote_literal
from s3redshift.ledger import (
    HORIZON_TABLE,
    ORDER_COLUMN,
    ORDER_TIME_DIGITS,
    PREVIOUS_LEDGER_TABLE,
    add_order_column_sql,
    committed_batch_sql,
    create_horizon_sql,
    create_ledger_sql,
    create_schema_sql,
    horizon_table_for,
    horizons_sql,
    latest_horizons,
    ledger_timestamp,
    loaded_among,
    loaded_identities_sql,
    lookup_chunks,
    newest_order_sql,
    order_moment,
    order_time,
)
from s3redshift.listing import HEAD_CONCURRENCY, head_objects, list_prefix
from s3redshift.manifest import ManifestEntry, ManifestWriter
from s3redshift.mapping import TableMapper, Target, snapshot_prefix
from s3redshift.planner import (
    NEWER_IN_BATCH,
    PlannedTransaction,
    PlanSettings,
    entries_from_events,
    entry_rank,
    load_order,
    loader_mapper,
    next_transaction,
    object_identity,
    object_order,
    plan_transaction,
    snapshot_of,
)
from s3redshift.report import CommittedBatch, LoadReport, ObjectResult, Outcome, TargetResult
from s3redshift.schema_plan import FileShape, SchemaPlan, plan_schema
from s3redshift.schema_sync import catalog_rows, fit_table, table_columns
from s3redshift.transaction import TransactionPlan, tie_breakers

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from s3redshift.file_schema import FileSchema
    from s3redshift.notifications import Notifier
    from s3redshift.transports.base import Transport

__all__ = [
    "LoadReport",
    "Loader",
    "ObjectResult",
    "TargetResult",
    "entries_from_events",
    "load_order",
    "wait_for_interrupted_loads",
]

MAX_ATTEMPTS = 5
"""Transactions tried per target before its remaining objects are reported failed."""

_REPEATED = "repeated in this batch"
_OVERWRITTEN = "overwritten since the event; the newer version's event loads it"
_NEWER_LOADED = "replace: a newer snapshot is already loaded into the table"

TARGET_THREADS = "s3redshift-target"
"""The name prefix of the threads that load targets side by side."""


def wait_for_interrupted_loads(timeout: float | None = None) -> bool:
    """Wait until the targets' transactions an interrupt left running have ended; True if all did.

    After an interrupt, :meth:`Loader.load` returns at once while the other
    targets' transactions end whole on their own threads (committed or
    rolled back): what committed can be counted only after this.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith(TARGET_THREADS) and thread is not threading.current_thread():
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return False
    return True


_UNRECORDABLE = (ConnectionLostError, CredentialsError, TimeBudgetExceededError)
"""Failures after which the failures table cannot be written: the database, or the time, is gone."""

Settled = dict[int, ObjectResult]
"""Outcomes a step decides, by the object's position in the batch."""

_T = TypeVar("_T")
_R = TypeVar("_R")


def _create_rejects_sql(table: TableRef) -> str:
    """``load_rejects``' DDL; rejects.py is loaded only when a ``skip_rows`` rule needs it."""
    from s3redshift.rejects import create_rejects_sql

    return create_rejects_sql(table)


def _by_schema(ledgers: Iterable[TableRef]) -> dict[str, list[TableRef]]:
    grouped: dict[str, list[TableRef]] = {}
    for ledger in ledgers:
        grouped.setdefault(ledger.schema or "", []).append(ledger)
    return grouped


def _rank(member: _Member) -> tuple[str, str, str]:
    """A confirmed member's place in load order (:func:`~s3redshift.planner.entry_rank`)."""
    assert member.entry is not None, "ranked before S3 confirmed the object"
    return entry_rank(member.entry)


def _result(member: _Member, outcome: Outcome, table: str, reason: str) -> ObjectResult:
    return ObjectResult(member.s3_object, outcome, table=table, reason=reason)


def _split_reads(
    entries: Sequence[ManifestEntry], reads: Sequence[FileSchema | S3RedshiftError]
) -> tuple[list[tuple[str, FileSchema]], dict[str, S3RedshiftError]]:
    """The files whose schema was read, by URI, and the errors of the others."""
    files = [
        (e.uri, r)
        for e, r in zip(entries, reads, strict=True)
        if not isinstance(r, S3RedshiftError)
    ]
    errors = {
        e.uri: r for e, r in zip(entries, reads, strict=True) if isinstance(r, S3RedshiftError)
    }
    return files, errors


def _order_text(order: str) -> str:
    """An order's time part (``YYYYmmddHHMMSSffffff``) as a reader writes it; ``""``: no time."""
    if len(order) < ORDER_TIME_DIGITS:
        return "no event or last-modified time"
    return f"{order[0:4]}-{order[4:6]}-{order[6:8]} {order[8:10]}:{order[10:12]}:{order[12:14]} UTC"


def _failed(
    member: _Member, table: str, error: S3RedshiftError, details: Sequence[LoadErrorDetail] = ()
) -> ObjectResult:
    return ObjectResult(
        member.s3_object,
        "failed",
        table=table,
        reason=error.message,
        error=error,
        load_errors=tuple(details),
    )


@dataclass
class _Member:
    """One object of a target's batch, with what the loader learnt about it."""

    index: int
    s3_object: S3Object
    entry: ManifestEntry | None = None


@dataclass
class _TargetLoad:
    """One target's load: what is left to load, what is settled, and how the attempts went.

    Every step and every outcome of an attempt returns the results it
    decides, and :meth:`settle` records them: a member leaves ``pending``
    exactly when it has its result. The outcome methods (one per way an
    attempt ends) also set what comes next: ``stop``, ``check_ledger``
    before the next attempt, or a smaller next transaction.
    """

    target: Target
    members: list[_Member]
    ledger: TableRef | None
    deadline: float | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    started: float
    halt: threading.Event  # set when the load was interrupted: start no further transaction
    pending: list[_Member] = field(init=False)
    settled: Settled = field(default_factory=dict)
    transactions: int = 0
    failures: int = 0
    rows: int = 0
    rejected_rows: int | None = 0  # rows COPY rejected and load_rejects kept (None: uncounted)
    batch: str | None = None
    sent_at: str | None = None  # the ledger time of the transaction sent last, until it ends
    last_error: S3RedshiftError | None = None
    details: list[LoadErrorDetail] = field(default_factory=list)
    check_ledger: bool = True  # ask the ledger before the next attempt
    headed: bool = False  # whether S3 has confirmed the pending objects' identities
    isolate: bool = False  # one object per transaction, once a rejection named no file
    per_object: bool = False  # upsert's objects staged one at a time, once keys collided
    contents: list[ManifestEntry] = field(default_factory=list)  # a replace snapshot's objects
    chunk: list[_Member] = field(default_factory=list)  # what the current attempt loads
    written: list[str] = field(default_factory=list)  # the files the current attempt put to S3
    schemas: dict[str, FileSchema | S3RedshiftError] = field(default_factory=dict)  # read once
    shapes: Mapping[str, FileShape] = field(default_factory=dict)  # the files' columns, by URI
    commits: list[CommittedBatch] = field(default_factory=list)  # each committed transaction
    stop: bool = False

    def __post_init__(self) -> None:
        self.pending = list(self.members)

    @property
    def table(self) -> str:
        """The target table's name, as results carry it."""
        return str(self.target.table)

    def budget(self) -> float | None:
        """Seconds left of the caller's time budget (None: unbounded)."""
        return Deadline(self.deadline, self.clock).remaining()

    def halted(self) -> bool:
        """Whether the load was interrupted; if so, what is pending fails with why."""
        if self.halt.is_set():
            self.last_error = RetryableError(
                "not loaded: the load was interrupted before this transaction; a retry loads it",
                table=self.table,
            )
            self.stop = True
        return self.stop

    def settle(self, settled: Settled) -> None:
        """Record ``settled``: those members are decided and leave ``pending``."""
        if settled:
            self.settled.update(settled)
            self.pending = [m for m in self.pending if m.index not in settled]

    # --- before a transaction ------------------------------------------------

    def repeats(self) -> Settled:
        """Repeats inside the batch, as far as the events tell copies apart."""
        seen: set[tuple[str, str, str | None]] = set()
        settled: Settled = {}
        for m in self.pending:
            o = m.s3_object
            ident = (o.bucket, o.key, object_identity(o, self.target.rule.mode))
            if ident[2] is not None and ident in seen:
                settled[m.index] = _result(m, "duplicate", self.table, _REPEATED)
            seen.add(ident)
        return settled

    def earlier_writes(self) -> Settled:
        """One object per key: COPY reads a key's current content, whichever event named it.

        Two events of one key whose checks both passed (an unversioned key
        rewritten with the same content, ``A -> B -> A``) name one object; the
        later write's event loads it, the earlier one is superseded, so the
        content is never read twice into one table. ``pending`` is in load order.
        """
        last = {(m.s3_object.bucket, m.s3_object.key): m for m in self.pending}
        return {
            m.index: _result(m, "superseded", self.table, _OVERWRITTEN)
            for m in self.pending
            if last[(m.s3_object.bucket, m.s3_object.key)] is not m
        }

    def held_back(self) -> Settled:
        """Objects whose outcome depends on one that could not be checked wait for it.

        Where "later wins" (replace, upsert without ``order_by``), loading an
        object before an earlier one that failed its check would let the
        earlier one win when it is redelivered: replace loads nothing if a
        failed object may be the newest; upsert loads only the objects before
        the first failed one. The others fail, retryable, and come back with it.
        """
        rule = self.target.rule
        if not self.pending or not (
            rule.mode == "replace" or (rule.mode == "upsert" and not rule.order_by)
        ):
            return {}
        unchecked = [
            m.s3_object
            for m in self.members
            if m.index in self.settled and self.settled[m.index].outcome == "failed"
        ]
        if not unchecked:
            return {}
        first = min(unchecked, key=load_order)
        if rule.mode == "replace":
            newest = max((m.s3_object for m in self.pending), key=load_order)
            last = max(unchecked, key=load_order)
            blocked = last.event_time is None or load_order(last) > load_order(newest)
            waiting = self.pending if blocked else []
        else:
            waiting = [m for m in self.pending if load_order(m.s3_object) > load_order(first)]
        error = RetryableError(
            f"not loaded yet: {first.uri} of the same batch could not be checked, and the "
            "later object must not load before it; a retry loads them in order",
            table=self.table,
        )
        return {m.index: _failed(m, self.table, error) for m in waiting}

    # --- how an attempt ended ------------------------------------------------

    def committed(
        self, rows: int | None, at: datetime, rejected: Mapping[str, int] | None
    ) -> Settled:
        """The attempt's transaction committed at ``at``: its objects are loaded.

        ``rejected``: the rows each file had rejected (by URI), for a rule with
        ``on_error = "skip_rows"``; None when they could not be counted.
        ``rows``: None when the commit's answer was lost (see
        :meth:`Loader._committed_after_all`).
        """
        self.rows += rows or 0
        self.last_error = None
        if rejected is None or self.rejected_rows is None:
            self.rejected_rows = None
        else:
            self.rejected_rows += sum(rejected.values())
        entries = tuple(m.entry for m in self.chunk if m.entry is not None)
        times = [t for t in map(order_moment, (e.order for e in entries)) if t is not None]
        assert self.batch is not None, "committed before a transaction was planned"
        self.commits.append(
            CommittedBatch(
                table=self.table,
                batch_id=self.batch,
                mode=self.target.rule.mode,
                objects=entries,
                rows=rows,
                committed_at=at,
                oldest_object_time=min(times, default=None),
            )
        )
        return {
            m.index: ObjectResult(
                m.s3_object,
                "loaded",
                table=self.table,
                rejected_rows=None if rejected is None else rejected.get(m.s3_object.uri, 0),
            )
            for m in self.chunk
        }

    def ended(self, exc: RetryableError | PermanentError) -> Settled:
        """The outcome of an attempt that failed with ``exc``, by the error's kind."""
        if isinstance(exc, KeyCollisionError):
            # Costs no attempt: the next plan stages objects one at a time
            # and has no keys guard, so this happens once per target.
            self.per_object = True
            return {}
        if isinstance(exc, BatchConflictError):
            return self.conflict(exc)
        if isinstance(exc, DataRejectedError):
            return self.rejected(exc)
        if isinstance(exc, RetryableError):
            return self.retryable(exc)
        return self.permanent(exc)

    def conflict(self, exc: S3RedshiftError) -> Settled:
        """Another load has (some of) the objects: the ledger says which, before the next try."""
        self.last_error = exc
        self.failures += 1
        if self.failures >= MAX_ATTEMPTS:
            self.stop = True
        else:
            self.check_ledger = True
        return {}

    def rejected(self, exc: DataRejectedError) -> Settled:
        """COPY rejected data: the files it named fail, the others go on without them."""
        if exc.bad_files & set(self.written):
            # Our own manifest or object list was missing: a concurrent load of
            # the same batch committed and removed them. The next attempt
            # writes them anew.
            return self.conflict(exc)
        replace = self.target.rule.mode == "replace"
        bad = {m.s3_object.uri for m in self.pending} & exc.bad_files
        skip_rows = self.target.rule.options.skip_rows
        if skip_rows and len(self.chunk) > 1 and not replace and not self.isolate:
            # MAXERROR counts a COPY's rejected rows over all its files: load
            # them one per COPY, so that each object's own rows decide. Even
            # when the rows read back name one file: they are read back in
            # line order and bounded, so other files' rows may be unread.
            self.isolate = True
            return {}
        self.last_error = exc
        self.failures += 1
        self.details.extend(exc.details)
        if not bad and len(self.chunk) == 1 and not replace:
            bad = {self.chunk[0].s3_object.uri}  # alone in its COPY: it is the bad one
            self.failures -= 1  # isolating costs no attempt; it is bounded by the objects
        if not bad and len(self.chunk) > 1 and not replace:
            # Rejected, but no file named (the error tables could not be
            # read): load one object per transaction to find the bad one.
            self.isolate = True
            self.failures -= 1
            return {}
        # A replace is all or nothing: loading the rest without the bad
        # files would commit a partial snapshot over the old rows.
        if not bad or self.failures >= MAX_ATTEMPTS or replace:
            self.stop = True
            return {}
        settled: Settled = {}
        for m in self.pending:
            if m.s3_object.uri in bad:
                mine = tuple(d for d in exc.details if d.file == m.s3_object.uri)
                settled[m.index] = _failed(m, self.table, _over_limit(exc, self.target, mine), mine)
        return settled

    def retryable(self, exc: RetryableError) -> Settled:
        """A retryable failure: try again after a pause, within the attempts and the time."""
        self.last_error = exc
        self.failures += 1
        pause = min(0.25 * 2 ** (self.failures - 1), 8.0)
        out_of_time = self.deadline is not None and self.clock() + pause >= self.deadline
        if self.failures >= MAX_ATTEMPTS or out_of_time:
            self.stop = True
            return {}
        self.sleep(pause)
        self.check_ledger = True  # the failed try may have committed before it broke
        return {}

    def permanent(self, exc: PermanentError) -> Settled:
        """A permanent failure: trying again would fail again."""
        self.last_error = exc
        self.stop = True
        return {}

    def unloaded(self) -> Settled:
        """The members still pending, failed with the last error."""
        settled: Settled = {}
        for m in self.pending:
            assert self.last_error is not None
            mine = tuple(d for d in self.details if d.file == m.s3_object.uri)
            error = self.last_error
            if isinstance(error, DataRejectedError) and error.bad_files and not mine:
                # Its own data was never judged: other files' rejection stopped it.
                why = (
                    "replace loads a batch whole"
                    if self.target.rule.mode == "replace"
                    else f"the {MAX_ATTEMPTS} attempts ran out first"
                )
                error = RetryableError(
                    f"not loaded: other files of the batch were rejected and {why}; "
                    "a retry loads it",
                    s3_uri=m.s3_object.uri,
                    table=self.table,
                )
            settled[m.index] = _failed(m, self.table, error, mine)
        return settled

    def result(self, duration_ms: int) -> TargetResult:
        """The target's line of the report, once every member is settled."""
        loaded = sum(1 for m in self.members if self.settled[m.index].outcome == "loaded")
        return TargetResult(
            table=self.table,
            mode=self.target.rule.mode,
            batch_id=self.batch if loaded else None,
            objects=loaded,
            rows=self.rows,
            attempts=self.transactions,
            duration_ms=duration_ms,
            error=self.last_error,
            load_errors=tuple(self.details),
            rejected_rows=self.rejected_rows,
            commits=tuple(self.commits),
        )


def _over_limit(
    exc: DataRejectedError, target: Target, details: Sequence[LoadErrorDetail]
) -> DataRejectedError:
    """The error of an object COPY rejected: for a ``skip_rows`` rule, one that names the limit.

    Said only where the details show more rejected rows than the rule allows
    (Redshift's are read back up to a bound); any other rejection is reported
    as COPY gave it.
    """
    limit = target.rule.options.max_rejected_rows
    if limit is None or len(details) <= limit:
        return exc
    uri = details[0].file
    first = "; ".join(
        ", ".join(p for p in (f"line {d.line}" if d.line else "", d.column or "") if p)
        + f": {d.reason}"
        for d in details[:3]
    )
    return DataRejectedError(
        f"COPY rejected more than max_rejected_rows = {limit} rows of this object"
        + (f" (first: {first})" if first else f" ({exc.message})")
        + "; nothing of it was loaded or recorded: correct the file, or raise "
        "max_rejected_rows in its rule's [tables.options]",
        details=details,
        s3_uri=uri,
        table=str(target.table),
    )


class Loader:
    """Loads S3 objects into their mapped tables, exactly once.

    ``transport`` and ``s3_client`` default to the ones the configuration
    describes, created on first use; tests and other pipelines pass their own,
    and ``notifications_client`` (an ``events`` or ``sns`` client) for
    ``[notifications]``. ``clock``, ``sleep`` and ``now`` are injectable so
    retry timing (and a commit's time) is testable.
    """

    def __init__(
        self,
        config: LoaderConfig,
        *,
        transport: Transport | None = None,
        s3_client: S3Client | None = None,
        mapper: TableMapper | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        notifications_client: Any = None,
    ) -> None:
        self.config = config
        self.mapper = loader_mapper(config, mapper)
        self.settings = PlanSettings.from_config(config)
        self._transport = transport
        self._s3 = s3_client
        self._owns_s3 = s3_client is None  # collaborators passed in are the caller's
        self._clock = clock
        self._sleep = sleep
        self._now = now
        # Ledgers this loader created or found, and those known to have
        # object_order: a ledger does not go away under a running loader.
        self._ledgers_ready: set[TableRef] = set()
        self._ordered: set[TableRef] = set()
        self._rejects_ready: set[TableRef] = set()
        schema = self.settings.ledger_schema
        failures = None if schema is None else failures_table_for(schema)
        self._failure_log = FailureLog(failures, clock=clock)
        self._notifier: Notifier | None = None
        if config.notifications is not None:
            # Imported only when configured: a loader without it pays nothing at start.
            from s3redshift.notifications import Notifier

            self._notifier = Notifier(config.notifications, client=notifications_client)

    # --- collaborators, created lazily -------------------------------------

    @property
    def s3(self) -> S3Client:
        """The S3 client (HEAD checks, manifest writes)."""
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            # A connection for each HEAD thread of each table in flight.
            lanes = self.config.target.max_in_flight
            pool = Config(max_pool_connections=HEAD_CONCURRENCY * lanes)
            self._s3 = boto3.client("s3", region_name=self.config.copy_.region, config=pool)
        return self._s3

    @property
    def transport(self) -> Transport:
        """The database transport the configuration names."""
        if self._transport is None:
            from s3redshift.transports import open_transport

            self._transport = open_transport(self.config)
        return self._transport

    def prepare(self) -> Loader:
        """Create the S3 client and the transport with its clients now; returns the loader.

        Neither AWS nor the database is called (connecting waits for the
        first load): this is the set-up a Lambda's INIT phase should pay for,
        so the first invocation does not. Raises what creating them raises
        (:class:`ConfigError` for a transport the configuration cannot open).
        """
        from s3redshift.transports.base import Preparable

        _ = self.s3
        transport = self.transport
        if isinstance(transport, Preparable):
            transport.prepare()
        if self._notifier is not None:
            self._notifier.prepare()
        return self

    def ledger_for(self, table: TableRef) -> TableRef | None:
        """The ledger table of ``table``, or None when the ledger is disabled."""
        return self.settings.ledger_for(table)

    def close(self) -> None:
        """Close the transport's connection."""
        if self._transport is not None:
            self._transport.close()

    def renew(self) -> Loader:
        """Invalidate the warm cache: what a Lambda's INIT made is made again on next use.

        For an execution environment resumed from a snapshot (Lambda
        SnapStart), which may run hours after the snapshot and beside many
        others resumed from it: database sessions are closed, cached
        database credentials forgotten, and the S3, credential-provider,
        Data API and notification clients this loader made are dropped,
        since each holds the AWS credentials and connection pool of its
        making. Collaborators passed to the constructor are the caller's:
        their sessions are closed and their cached credentials forgotten
        (:class:`~s3redshift.transports.base.Renewable`), nothing more.
        What the loader learnt of the database (ledgers that exist) stays
        true and is kept. Returns the loader, as :meth:`prepare` does.
        """
        from s3redshift.transports.base import Renewable

        if self._transport is not None:
            if isinstance(self._transport, Renewable):
                self._transport.renew()
            else:
                self._transport.close()  # the Data API transport drops a client it made
        if self._owns_s3:
            self._s3 = None
        if self._notifier is not None:
            self._notifier.renew()
        return self

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the load ------------------------------------------------------------

    def load(
        self, objects: Iterable[S3Object] | S3Object, *, time_budget: float | None = None
    ) -> LoadReport:
        """Load ``objects`` (or one object); never raises for a per-object problem, reports it.

        ``time_budget`` (seconds) bounds retries and stops new targets from
        starting once it has run out; their objects are reported ``failed``
        with a retryable :class:`TimeBudgetExceededError`.
        """
        started = self._clock()
        deadline = None if time_budget is None else started + time_budget
        items = [objects] if isinstance(objects, S3Object) else list(objects)
        strays = sorted({type(o).__name__ for o in items if not isinstance(o, S3Object)})
        if strays:
            raise TypeError(
                f"Loader.load takes S3Object values (from s3redshift.events), got {strays}; "
                "parse an event with read_event() or build S3Object(bucket=..., key=...)"
            )
        classified = classify(self.mapper, items)
        results: dict[int, ObjectResult] = dict(classified.skipped)
        groups = list(classified.groups.items())
        if groups:
            self._set_up_early([target for target, _ in groups], deadline)
        # One lane per table: rules sharing a table would only queue on its
        # lock, so they load one after another, in the batch's order.
        lanes: dict[TableRef, list[tuple[Target, Sequence[tuple[int, S3Object]]]]] = {}
        for target, group in groups:
            lanes.setdefault(target.table, []).append((target, group))
        halt = threading.Event()
        loads = self._side_by_side(
            lambda lane: [self._load_group(t, group, deadline, halt) for t, group in lane],
            list(lanes.values()),
            halt=halt,
        )
        targets: list[TargetResult] = []
        for settled, result in (load for lane in loads for load in lane):
            results.update(settled)
            targets.append(result)
        duration = int((self._clock() - started) * 1000)
        ordered = tuple(results[i] for i in range(len(items)))
        return LoadReport(objects=ordered, targets=tuple(targets), duration_ms=duration)

    def _side_by_side(
        self, work: Callable[[_T], _R], items: Sequence[_T], *, halt: threading.Event | None = None
    ) -> list[_R]:
        """``work`` on each item, up to the transport's ``max_in_flight`` at once; in order.

        One thread each: the transport waits for each target's statements on
        the thread that sent them, so the targets' waits overlap. An
        interrupt (a ``BaseException`` that is not an error, here or in one
        item) returns at once: items not started never start, ``halt`` tells
        the running ones to start no further transaction, and those in flight
        end whole, committed or rolled back, on their own threads. An error
        of one item is raised once the others have ended.
        """
        # A transport written before max_in_flight is run one call at a time.
        workers = min(len(items), getattr(self.transport, "max_in_flight", 1))
        if workers <= 1:
            return [work(item) for item in items]
        pool = ThreadPoolExecutor(workers, thread_name_prefix=TARGET_THREADS)
        try:
            done = [future.result() for future in [pool.submit(work, i) for i in items]]
        except Exception:
            pool.shutdown(cancel_futures=True)  # an error: the others end before it is raised
            raise
        except BaseException:
            if halt is not None:
                halt.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return done

    def _load_group(
        self,
        target: Target,
        group: Sequence[tuple[int, S3Object]],
        deadline: float | None,
        halt: threading.Event,
    ) -> tuple[Settled, TargetResult]:
        """One target's objects settled, and its line of the report; never raises.

        A target's failure (or a bug met while loading it) is its own: the
        other targets' transactions are neither stopped nor touched by it.
        """
        members = [_Member(index, obj) for index, obj in group]
        table = str(target.table)
        if deadline is not None and self._clock() >= deadline:
            error: S3RedshiftError = TimeBudgetExceededError(
                "the time budget ran out before this target was started", table=table
            )
            settled: Settled = {}
            commits: tuple[CommittedBatch, ...] = ()
        else:
            ledger = self.ledger_for(target.table)
            run = _TargetLoad(
                target, members, ledger, deadline, self._clock, self._sleep, self._clock(), halt
            )
            try:
                return run.settled, self._load_target(run)
            except Exception as exc:  # a bug must not cost the other targets their load
                error = RetryableError(
                    f"unexpected {type(exc).__name__} while loading this target; "
                    "its objects were not loaded and a retry loads them",
                    table=table,
                )
                error.__cause__ = exc
                settled = dict(run.settled)  # a committed chunk keeps its "loaded"
                commits = tuple(run.commits)  # and its commit, its lag
        for m in members:
            settled.setdefault(m.index, _failed(m, table, error))
        # Not started, or stopped by a bug: no transaction is reported.
        return settled, TargetResult(
            table, target.rule.mode, None, 0, 0, 0, 0, error, commits=commits
        )

    def _load_target(self, run: _TargetLoad) -> TargetResult:
        """Settle every member of one target: the steps, then attempts until none is pending."""
        run.settle(run.repeats())
        while run.pending and not run.halted():
            run.sent_at = None
            try:
                self._narrow(run)
                if not run.pending or run.halted():
                    break
                self._follow_schema(run)
                if not run.pending:
                    break
                loaded_rows = self._attempt(run)
            except BeforeHorizonError as exc:
                self._clean_up(run.written, exc)
                try:
                    run.settle(self._refuse_before_horizon(run, exc))
                except (RetryableError, PermanentError) as unread:  # the horizon's read failed
                    run.settle(run.ended(unread))
                continue
            except (RetryableError, PermanentError) as exc:
                self._clean_up(run.written, exc)
                if not self._committed_after_all(run, exc):
                    run.settle(run.ended(exc))
                    continue
                loaded_rows = None
            except BaseException:
                # The transport has rolled back or dropped its session; no COPY
                # of this attempt can still run, so its files can go.
                self._clean_up(run.written, None)
                raise
            else:
                self._clean_up(run.written, None)
            self._settle_commit(run, loaded_rows)
        run.settle(run.unloaded())
        failed = [run.settled[m.index] for m in run.members]
        failed = [r for r in failed if r.outcome == "failed"]
        if failed and not isinstance(run.last_error, _UNRECORDABLE) and not run.halt.is_set():
            failed_at = ledger_timestamp(self._now())
            self._failure_log.record(self.transport, run.table, failed, failed_at, run.budget())
        return run.result(int((self._clock() - run.started) * 1000))

    def _settle_commit(self, run: _TargetLoad, rows: int | None) -> None:
        """The attempt committed: its objects loaded and announced, their failures forgotten."""
        run.settle(run.committed(rows, self._now(), self._rejected_counts(run)))
        if self._notifier is not None:  # never raises: a failed delivery is only logged
            run.commits[-1] = self._notifier.deliver(run.commits[-1], run.budget())
        loaded = [m.s3_object for m in run.chunk]
        self._failure_log.forget(self.transport, run.table, loaded, run.budget())

    def _committed_after_all(self, run: _TargetLoad, exc: S3RedshiftError) -> bool:
        """Whether the transaction whose answer ``exc`` replaced committed all the same.

        The connection lost at COMMIT (or a Data API batch lost sight of) may
        have committed: the ledger then holds the batch, written with this
        attempt's own ``loaded_at`` (no other loader's, to the microsecond).
        Counted as this attempt's commit, it is reported loaded and announced
        once, instead of found ``duplicate`` by the retry and never announced.
        Its row count is unknown. Any failure to ask leaves the retry to tell.
        """
        unknown = isinstance(exc, ConnectionLostError) or exc.batch_may_still_run
        if not unknown or run.ledger is None or run.batch is None or run.sent_at is None:
            return False
        sql = committed_batch_sql(run.ledger, run.batch, run.sent_at)
        try:
            rows = self.transport.query(sql, time_budget=run.budget())
        except S3RedshiftError:
            return False
        return bool(rows) and int(str(rows[0][0])) > 0

    def _rejected_counts(self, run: _TargetLoad) -> dict[str, int] | None:
        """The rows each file of a committed transaction had rejected (``skip_rows`` rules).

        Read from ``load_rejects`` after the commit, by the batch: one query,
        only for rules that keep rejected rows. None when the read fails: the
        load stands, the report says the count is unknown.
        """
        if not run.target.rule.options.skip_rows or run.batch is None:
            return {}
        if (table := self.settings.rejects_table) is None:
            return {}
        from s3redshift.rejects import rejected_counts_sql

        try:
            rows = self.transport.query(
                rejected_counts_sql(table, run.batch), time_budget=run.budget()
            )
        except S3RedshiftError:
            return None
        return {str(file).rstrip(" "): int(str(count)) for file, count in rows}

    def _refuse_before_horizon(self, run: _TargetLoad, exc: BeforeHorizonError) -> Settled:
        """The horizon guard fired: the objects older than the horizon fail, the others go on.

        The horizon is read now, after the guard saw it, never from an earlier
        read: a horizon only moves forward, so every object the guard refused
        is older than what is read. Nothing is read before a transaction
        (loads pay for no horizon until a prune made one and an old object
        comes); the guard, under the ledger's lock, is the check. Should no
        pending object be older (it cannot be, but a loop must not follow),
        the attempt counts as a conflict.
        """
        assert run.ledger is not None, "only a ledger's transaction has the horizon guard"
        sql = horizons_sql(horizon_table_for(run.ledger.schema or ""), run.ledger)
        rows = self.transport.query(sql, time_budget=run.budget())
        horizon = latest_horizons(rows).get(run.ledger.table)
        if horizon is None:
            return run.conflict(exc)
        bound = order_time(horizon)
        shown = horizon.strftime("%Y-%m-%d %H:%M:%S UTC")
        refused: Settled = {}
        for m in run.pending:
            when = m.entry.order[:ORDER_TIME_DIGITS] if m.entry is not None else ""
            if when < bound:
                error = BeforeHorizonError(
                    f"refused: its time ({_order_text(when)}) is before the ledger's horizon "
                    f"{shown}; older loads were pruned from the ledger (s3redshift ledger "
                    "prune), so loading it could load it twice. To load it anyway, write the "
                    "object again: the new write is newer than the horizon",
                    horizon=horizon.isoformat(),
                    s3_uri=m.s3_object.uri,
                    table=run.table,
                )
                refused[m.index] = _failed(m, run.table, error)
        if not refused:
            return run.conflict(exc)
        run.last_error = next(iter(refused.values())).error
        return refused

    def _narrow(self, run: _TargetLoad) -> None:
        """Settle what is known before a transaction: loaded already, gone, held back, older.

        The ledger first: a replay is answered from the identities the events
        carry, without a request to S3 per object. Then S3 confirms the rest
        (once), and only where it named another identity than the event (or
        the event named none) is the ledger asked again.
        """
        mode = run.target.rule.mode
        # Whatever makes the ledger worth asking again may have loaded a newer
        # snapshot too: replace picks its snapshot afresh then.
        pick_snapshot = run.check_ledger and mode == "replace"
        if run.check_ledger and run.ledger is not None:
            self._ensure_ledgers([run.target], run.budget())
            run.settle(self._drop_loaded(run, run.ledger))
        run.check_ledger = False
        if not run.headed:
            run.settle(self._head_objects(run))
            run.pending.sort(key=_rank)
            run.settle(run.earlier_writes())
            run.settle(run.held_back())
            run.headed = True
            if run.ledger is not None:
                run.settle(self._drop_loaded(run, run.ledger, changed_only=True))
        if pick_snapshot:
            run.settle(self._newest_snapshot(run))
            settled, run.contents = self._snapshot_contents(run)
            run.settle(settled)

    def _attempt(self, run: _TargetLoad) -> int:
        """One transaction: the longest head of ``pending`` the transport takes; the rows loaded.

        Once a rejection named no file, objects go one per transaction, so the
        bad one shows itself; ``per_object`` stages an upsert's objects one at
        a time (their keys collided). The manifests and the object list land
        in S3 first, each noted in ``run.written`` as it lands, so a failure
        half-way still knows what to remove.
        """
        run.transactions += 1
        run.written.clear()
        entries = [m.entry for m in run.pending if m.entry is not None]
        # The transaction loads the head of `pending`: every member must have its entry.
        assert len(entries) == len(run.pending), "a pending object without its S3 identity"
        columns, ties = self._shape(run.target, run.budget())
        loaded_at = ledger_timestamp(self._now())
        planned = next_transaction(
            run.target,
            entries[:1] if run.isolate else entries,
            settings=self.settings,
            columns=columns,
            tie_columns=ties,
            loaded_at=loaded_at,
            limits=self.transport.limits,
            per_object=run.per_object,
            contents=run.contents,
            shapes=run.shapes,
        )
        run.chunk = run.pending[: len(planned.entries)]
        self._write_documents(planned, run.written)
        run.batch = planned.plan.batch_id
        run.sent_at = loaded_at
        return self.transport.run(planned.plan, time_budget=run.budget())

    def _follow_schema(self, run: _TargetLoad) -> None:
        """With a schema policy: read the files' schemas, make the table fit, note each shape.

        Before every attempt, from the catalog as it is then (another loader
        may have changed the table); each file is read once per load. A file
        that cannot load fails alone; a failing object of a replace snapshot
        fails the snapshot.
        """
        rule = run.target.rule
        if not rule.schema_policy.active:
            return
        entries = run.contents or [m.entry for m in run.pending if m.entry is not None]
        unread = [e for e in entries if e.uri not in run.schemas]
        run.schemas.update(
            zip([e.uri for e in unread], self._read_files(run.target, unread), strict=True)
        )
        files, errors = _split_reads(entries, [run.schemas[e.uri] for e in entries])
        plan = fit_table(self.transport, rule, run.target.table, files, run.budget())
        errors.update(plan.failures)
        run.shapes = plan.shapes
        if run.contents and errors:
            error = next(iter(errors.values()))
            run.settle({m.index: _failed(m, run.table, error) for m in run.pending})
            return
        failing = [m for m in run.pending if m.s3_object.uri in errors]
        run.settle({m.index: _failed(m, run.table, errors[m.s3_object.uri]) for m in failing})

    def _read_files(
        self, target: Target, entries: Sequence[ManifestEntry]
    ) -> list[FileSchema | S3RedshiftError]:
        # The readers are imported by the first rule that reads a schema, not at cold start.
        from s3redshift.schema_reads import read_schemas

        return read_schemas(self.s3, entries, target.rule, str(target.table))

    def schema_plan(
        self,
        target: Target,
        entries: Sequence[ManifestEntry],
        *,
        time_budget: float | None = None,
    ) -> SchemaPlan:
        """What a load of ``entries`` would first do to the table, as it is now; runs nothing.

        The files' schemas are read (ranged GETs) and the table's columns
        too; ``failures`` also holds the objects whose schema could not be read.
        """
        files, errors = _split_reads(entries, self._read_files(target, entries))
        existing = table_columns(catalog_rows(self.transport, target.table, time_budget))
        plan = plan_schema(target.rule, target.table, existing, files)
        return replace(plan, failures={**errors, **plan.failures})

    def _head_objects(self, run: _TargetLoad) -> Settled:
        """Overwritten and deleted objects out; fill in identity and size from S3.

        Repeats are dropped again once every object's identity is what S3
        says it is: an object named once with its ETag and once without (or
        once by version id and once by ETag) is still one object version,
        loaded once. An object whose HEAD fails is reported failed on its own;
        its neighbours go on.
        """
        if not run.pending:
            return {}
        table = run.table
        heads = head_objects(self.s3, [m.s3_object for m in run.pending], table)
        settled: Settled = {}
        identities: set[tuple[str, str, str]] = set()
        for m, head in zip(run.pending, heads, strict=True):
            o = m.s3_object
            if isinstance(head, S3RedshiftError):
                settled[m.index] = _failed(m, table, head)
                continue
            if head is None:
                settled[m.index] = _result(m, "superseded", table, "deleted since the event")
                continue
            if (o.version_id not in (None, "null") and head.version_id != o.version_id) or (
                o.version_id in (None, "null") and o.etag is not None and head.etag != o.etag
            ):
                settled[m.index] = _result(m, "superseded", table, _OVERWRITTEN)
                continue
            # The identity of what COPY will read, as S3 reports it now (the
            # checks above made sure it is the version the event means).
            now = o.model_copy(update={"etag": head.etag, "version_id": head.version_id})
            identity = object_identity(now, run.target.rule.mode)
            if identity is None:
                error = PermanentError("S3 reported no ETag", s3_uri=o.uri, table=table)
                settled[m.index] = _failed(m, table, error)
                continue
            if (o.bucket, o.key, identity) in identities:
                settled[m.index] = _result(m, "duplicate", table, _REPEATED)
                continue
            identities.add((o.bucket, o.key, identity))
            when = (
                o
                if o.event_time is not None
                else o.model_copy(update={"event_time": head.modified})
            )
            m.entry = ManifestEntry(o.bucket, o.key, identity, head.size, object_order(when))
        return settled

    def _drop_loaded(
        self, run: _TargetLoad, ledger: TableRef, *, changed_only: bool = False
    ) -> Settled:
        """Objects the ledger already holds, ``duplicate``.

        An object is looked up by the identity S3 confirmed, or before the
        HEAD requests by the one its event carries (an event without one waits
        for S3). ``changed_only`` asks only for objects whose confirmed
        identity differs from their event's, the others having just been
        asked for.
        """
        asked: dict[tuple[str, str, str], list[_Member]] = {}
        for m in run.pending:
            claimed = object_identity(m.s3_object, run.target.rule.mode)
            identity = m.entry.identity if m.entry is not None else claimed
            if identity is None or (changed_only and identity == claimed):
                continue
            asked.setdefault((m.s3_object.bucket, m.s3_object.key, identity), []).append(m)
        if not asked:
            return {}
        known: set[tuple[str, str, str]] = set()
        for chunk in lookup_chunks(list(asked)):
            sql = loaded_identities_sql(ledger, chunk)
            rows = self.transport.query(sql, time_budget=run.budget())
            known.update(loaded_among(rows, chunk))
        return {
            m.index: _result(m, "duplicate", run.table, "already loaded")
            for ident in known & asked.keys()
            for m in asked[ident]
        }

    def _newest_snapshot(self, run: _TargetLoad) -> Settled:
        """Replace: the newest snapshot of the batch alone, unless the table holds a newer one.

        A snapshot is one object, or the objects a rule's ``snapshot``
        capture groups; the newest holds the last object in load order.
        """
        if not run.pending:
            return {}
        target = run.target
        newest = max(run.pending, key=_rank)
        snapshot = snapshot_of(self.mapper, target, newest.s3_object)
        chosen = [
            m for m in run.pending if snapshot_of(self.mapper, target, m.s3_object) == snapshot
        ]
        kept = {m.index for m in chosen}
        settled = {
            m.index: _result(m, "superseded", run.table, NEWER_IN_BATCH)
            for m in run.pending
            if m.index not in kept
        }
        if run.ledger is not None and newest.entry is not None:
            loaded = self.transport.query(newest_order_sql(run.ledger), time_budget=run.budget())
            held = (ManifestEntry("", str(key), "", 0, str(order)) for order, key in loaded)
            top = max(map(entry_rank, held), default=None)
            if top is not None and entry_rank(newest.entry) < top:
                settled.update(
                    (m.index, _result(m, "superseded", run.table, _NEWER_LOADED)) for m in chosen
                )
        return settled

    def _snapshot_contents(self, run: _TargetLoad) -> tuple[Settled, list[ManifestEntry]]:
        """Every object of the members' snapshot, as S3 lists it now (a rule's ``snapshot``).

        The events name the objects that arrived; the table must hold the
        whole snapshot, so its objects are listed (those the rule maps with the
        same capture value) and all of them loaded. With a ``snapshot_marker``
        the snapshot is complete only once the marker is listed beside them;
        until then its objects are ``ignored`` (the marker's event loads it).
        Returns what it settles and what the COPY reads.
        """
        target, rule = run.target, run.target.rule
        if not rule.snapshot or not run.pending:
            return {}, []
        first = run.pending[0].s3_object
        value = snapshot_of(self.mapper, target, first)
        complete = not rule.snapshot_marker
        found = []
        for o in list_prefix(self.s3, first.bucket, snapshot_prefix(rule, first.key)):
            try:
                if self.mapper.resolve(o) != target or snapshot_of(self.mapper, target, o) != value:
                    continue
            except S3RedshiftError:
                continue  # a key the rule cannot map safely is not part of any snapshot
            if rule.snapshot_marker and o.key.rpartition("/")[2] == rule.snapshot_marker:
                complete = True
                continue
            identity = o.identity or ""
            found.append(ManifestEntry(o.bucket, o.key, identity, o.size or 0, object_order(o)))
        if complete and found:
            return {}, sorted(found, key=entry_rank)
        reason = (
            "its snapshot lists no object to load"
            if complete
            else f"waiting for its snapshot's {rule.snapshot_marker}, whose arrival loads it"
        )
        return {m.index: _result(m, "ignored", run.table, reason) for m in run.pending}, []

    def _set_up_early(self, targets: Sequence[Target], deadline: float | None) -> None:
        """The clients and every ledger of the batch made ready before the targets start.

        The clients are made here, on the calling thread: botocore does not
        promise that clients are made safely from several threads at once. A
        failure here is left to each target, which meets it again on its own
        (:meth:`_ensure_ledgers`), translated, and reports it.
        """
        with contextlib.suppress(Exception):  # each target meets it again, as said above
            self.prepare()
        with contextlib.suppress(Exception):
            self._ensure_ledgers(targets, Deadline(deadline, self._clock).remaining())

    def _ensure_ledgers(self, targets: Sequence[Target], time_budget: float | None) -> None:
        """Create the ledgers of ``targets`` (with their schema) unless this loader has already.

        One catalog query finds what exists, one request creates the rest
        (past 38 ledgers, or for an earlier version's ledger getting
        ``object_order``, more, side by side: :meth:`_run_set_up`): two
        round trips for a new container, none once they are ready.
        """
        wanted: dict[TableRef, bool] = {}
        for target in targets:
            ledger = self.ledger_for(target.table)
            if ledger is not None:
                wanted[ledger] = wanted.get(ledger, False) or target.rule.mode == "replace"
        todo = {
            ledger: ordered
            for ledger, ordered in wanted.items()
            if ledger not in self._ledgers_ready or (ordered and ledger not in self._ordered)
        }
        keeps = any(t.rule.options.skip_rows for t in targets)
        rejects = self.settings.rejects_table if keeps else None
        new_rejects = {rejects} - self._rejects_ready if rejects is not None else set()
        if not todo and not new_rejects:
            return
        deadline = Deadline.after(time_budget, clock=self._clock)
        try:
            self._create_ledgers(todo, new_rejects, deadline.remaining())
        except (ConfigError, TimeBudgetExceededError):
            raise
        except S3RedshiftError:
            # Two loaders creating a ledger at once: "IF NOT EXISTS" is not
            # atomic, and the loser's request fails. Once the winner has
            # committed, asking again finds the ledger there.
            self._sleep(0.2)
            self._create_ledgers(todo, new_rejects, deadline.remaining())
        self._ledgers_ready.update(todo)
        self._ordered.update(ledger for ledger, ordered in todo.items() if ordered)
        self._rejects_ready.update(new_rejects)

    def _create_ledgers(
        self, todo: Mapping[TableRef, bool], rejects: set[TableRef], time_budget: float | None
    ) -> None:
        """Ask the catalog which of ``todo`` exist, then create the others (:meth:`_run_set_up`).

        ``rejects``: the ``load_rejects`` table to make too, where a rule keeps
        rejected rows; it must exist before a load's transaction writes to it.

        Refuses to go on while the one-table ledger of an earlier version is
        in the schema: its rows are what an upgraded loader must not load
        again (Upgrading, in docs/upgrading.md).
        """
        schemas: list[str] = []
        tables: list[str] = []
        alters: list[str] = []
        grouped = _by_schema(todo)
        for table in rejects:
            grouped.setdefault(table.schema or "", [])
        for schema, ledgers in grouped.items():
            kept = [t for t in rejects if (t.schema or "") == schema]
            names = [ledger.table for ledger in ledgers] + [t.table for t in kept]
            found = self._ledger_columns(schema, names, time_budget)
            if HORIZON_TABLE not in found:  # every load's horizon guard reads it
                tables.append(create_horizon_sql(horizon_table_for(schema)))
            if PREVIOUS_LEDGER_TABLE in found:
                raise ConfigError(
                    f"{schema}.{PREVIOUS_LEDGER_TABLE}, the one ledger table of an earlier "
                    "version, still exists: copy its rows into the per-target ledger tables, "
                    "then drop or rename it (Upgrading, in docs/upgrading.md); nothing loads "
                    "until then, so nothing loads twice"
                )
            for ledger in ledgers:
                columns = found.get(ledger.table)
                if columns is None:
                    *schema_sql, table_sql = create_ledger_sql(ledger)
                    schemas += schema_sql
                    tables.append(table_sql)
                elif todo[ledger] and ORDER_COLUMN not in columns:
                    alters.append(add_order_column_sql(ledger))
            for table in kept:
                if table.table not in found:
                    schemas += create_schema_sql(table)
                    tables.append(_create_rejects_sql(table))
        self._run_set_up(list(dict.fromkeys(schemas)), tables, alters, time_budget)

    def _run_set_up(
        self, schemas: list[str], tables: list[str], alters: list[str], time_budget: float | None
    ) -> None:
        """The schemas with as many tables as one request takes first; then the rest side by side.

        Past one request's statements (the Data API takes 40), the other
        tables' requests run together once the schema exists; an earlier
        version's ledger getting ``object_order`` is a request of its own, so
        a lock held on it holds back no other ledger.
        """
        limit = self.transport.limits.statements
        size = max(len(tables) if limit is None else limit - len(schemas), 1)
        chunks = [tables[i : i + size] for i in range(0, len(tables), size)]
        requests = [*chunks[1:], *([sql] for sql in alters)]
        execute = partial(self.transport.execute, time_budget=time_budget)
        if chunks:  # the schema's request alone first: two making it at once would collide
            execute(*schemas, *chunks[0])
        self._side_by_side(lambda sqls: execute(*sqls), requests)

    def _ledger_columns(
        self, schema: str, tables: Sequence[str], time_budget: float | None
    ) -> dict[str, set[str]]:
        """The columns of those of ``tables`` that exist, and of two more tables if they do.

        The one-table ledger of earlier versions, and the horizons' table.
        """
        names = ", ".join(quote_literal(t) for t in (*tables, PREVIOUS_LEDGER_TABLE, HORIZON_TABLE))
        rows = self.transport.query(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            f"table_schema = {quote_literal(schema)} AND table_name IN ({names})",
            time_budget=time_budget,
        )
        found: dict[str, set[str]] = {}
        for table, column in rows:
            found.setdefault(str(table), set()).add(str(column))
        return found

    def _shape(
        self, target: Target, time_budget: float | None
    ) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        """An upsert's insert columns and tie breakers, as the table is now.

        Read at every transaction, never cached: a column added or dropped
        since the last batch must change what a warm loader inserts (one
        catalog query per upsert transaction). The rule's ``columns``, when
        given, are inserted instead; ties are broken by the orderable ones of
        the inserted columns, in table order.
        """
        rule = target.rule
        if rule.mode != "upsert":
            return (), None
        typed = self._typed_columns(target.table, time_budget)
        inserted = rule.columns or tuple(name for name, _ in typed)
        ties = tie_breakers(
            [(name, kind) for name, kind in typed if name in inserted],
            keys=rule.keys,
            order_by=rule.order_by,
        )
        return tuple(inserted), ties

    def table_columns(
        self, table: TableRef, *, time_budget: float | None = None
    ) -> tuple[str, ...]:
        """The target's columns in table order, as the database has them now."""
        return tuple(name for name, _ in self._typed_columns(table, time_budget))

    def _typed_columns(self, table: TableRef, time_budget: float | None) -> list[tuple[str, str]]:
        rows = catalog_rows(self.transport, table, time_budget)
        if not rows:
            raise TargetMissingError(
                "the target table does not exist; create it before loading", table=str(table)
            )
        return [(str(r[0]), str(r[1])) for r in rows]

    # --- planning ---------------------------------------------------------------

    def plan_target(
        self,
        target: Target,
        entries: Sequence[ManifestEntry],
        *,
        write: bool,
        time_budget: float | None = None,
        written: list[str] | None = None,
        shapes: Mapping[str, FileShape] | None = None,
    ) -> TransactionPlan:
        """The one transaction loading ``entries`` (in this order) into ``target``, unsplit.

        The pure :func:`~s3redshift.planner.plan_transaction` with this
        loader's settings, the target's columns (read from the database for an
        upsert without a column list) and the current time. With ``write`` the
        manifests and the object list are put to S3 (their URIs appended to
        ``written`` as each one lands). ``shapes``: the files' columns, as
        :meth:`schema_plan` gives them, for a rule that loads by name.
        """
        columns, ties = self._shape(target, time_budget)
        planned = plan_transaction(
            target,
            entries,
            settings=self.settings,
            columns=columns,
            tie_columns=ties,
            loaded_at=ledger_timestamp(self._now()),
            shapes=shapes or {},
        )
        if write:
            self._write_documents(planned, [] if written is None else written)
        return planned.plan

    # --- steps ----------------------------------------------------------------

    def _clean_up(self, written: list[str], error: S3RedshiftError | None) -> None:
        """Remove the attempt's manifests and object list once nothing can read them.

        After a commit or a definite failure no COPY of the attempt can still
        run. After an error whose ``batch_may_still_run`` is set (a time-out, a
        batch of unknown fate) Redshift may still be running it, so its files
        stay (the manifest prefix's lifecycle rule expires them); the retry
        writes the same names again.
        """
        if not written or (error is not None and error.batch_may_still_run):
            return
        ManifestWriter(self.s3).remove(written)

    def _write_documents(self, planned: PlannedTransaction, written: list[str]) -> None:
        """Put the plan's manifests and object list to S3, noting each as it lands.

        ``written`` grows file by file, so a failure half-way still knows
        what to remove.
        """
        writer = ManifestWriter(self.s3)
        for document in planned.documents:
            written.append(
                writer.put(document.bucket, document.key, document.body(), document.content_type)
            )
