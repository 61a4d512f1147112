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

A ``Loader`` owns one transport connection and is used from one thread at a
time; make one loader per thread for parallel loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from s3redshift.classify import classify
from s3redshift.config import LoaderConfig
from s3redshift.deadline import Deadline
from s3redshift.errors import (
    BatchConflictError,
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
from s3redshift.failures import (
    Failure,
    by_bucket,
    create_failures_sql,
    delete_failures_sql,
    failures_table_for,
    insert_failures_sql,
    write_chunks,
)
from s3redshift.identifiers import TableRef, quote_literal
from s3redshift.ledger import (
    ORDER_COLUMN,
    PREVIOUS_LEDGER_TABLE,
    add_order_column_sql,
    create_ledger_sql,
    loaded_among,
    loaded_identities_sql,
    lookup_chunks,
    newest_order_sql,
)
from s3redshift.listing import aware, list_prefix
from s3redshift.manifest import ManifestEntry, ManifestWriter
from s3redshift.mapping import TableMapper, Target, snapshot_prefix
from s3redshift.planner import (
    NEWER_IN_BATCH,
    PlannedTransaction,
    PlanSettings,
    entries_from_events,
    entry_rank,
    ledger_timestamp,
    load_order,
    loader_mapper,
    next_transaction,
    object_identity,
    object_order,
    plan_transaction,
    snapshot_of,
)
from s3redshift.report import LoadReport, ObjectResult, TargetResult
from s3redshift.transaction import TransactionPlan, tie_breakers

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from s3redshift.transports.base import Transport

__all__ = [
    "LoadReport",
    "Loader",
    "ObjectResult",
    "TargetResult",
    "entries_from_events",
    "load_order",
]

MAX_ATTEMPTS = 5
"""Transactions tried per target before its remaining objects are reported failed."""

HEAD_CONCURRENCY = 16
"""Parallel S3 HeadObject requests per target."""

_REPEATED = "repeated in this batch"
_OVERWRITTEN = "overwritten since the event; the newer version's event loads it"
_NEWER_LOADED = "replace: a newer snapshot is already loaded into the table"

_UNRECORDABLE = (ConnectionLostError, CredentialsError, TimeBudgetExceededError)
"""Failures after which the failures table cannot be written: the database, or the time, is gone."""

FAILURE_WRITE_S = 10.0
"""Longest a failures write may take: it must not spend the time other targets need."""

_FORGET_CHUNK = 40
"""Objects per deleting statement (each key up to 1 KB: well under the Data API's 100 KB)."""


def _rank(member: _Member) -> tuple[str, str, str]:
    """A confirmed member's place in load order (:func:`~s3redshift.planner.entry_rank`)."""
    assert member.entry is not None, "ranked before S3 confirmed the object"
    return entry_rank(member.entry)


def _failure_write_budget(time_budget: float | None) -> float:
    return FAILURE_WRITE_S if time_budget is None else min(time_budget, FAILURE_WRITE_S)


@dataclass
class _Member:
    """One object of a target's batch, with what the loader learnt about it."""

    index: int
    s3_object: S3Object
    entry: ManifestEntry | None = None


class Loader:
    """Loads S3 objects into their mapped tables, exactly once.

    ``transport`` and ``s3_client`` default to the ones the configuration
    describes, created on first use; tests and other pipelines pass their own.
    ``clock``, ``sleep`` and ``now`` are injectable so retry timing is testable.
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
    ) -> None:
        self.config = config
        self.mapper = loader_mapper(config, mapper)
        self.settings = PlanSettings.from_config(config)
        self._transport = transport
        self._s3 = s3_client
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._ledgers_ready: set[TableRef] = set()  # created (or found) by this loader
        self._no_previous_ledger: set[str] = set()  # schemas checked for the earlier layout
        self._ordered_ledgers: set[TableRef] = set()  # known to have object_order
        # Keys this loader recorded in the failures table, per target: a later
        # commit of one of them deletes its row (a load that never failed pays nothing).
        self._recorded_failures: dict[TableRef, set[tuple[str, str]]] = {}
        self._failures_ready = False  # the failures table created (or found) by this loader

    # --- collaborators, created lazily -------------------------------------

    @property
    def s3(self) -> S3Client:
        """The S3 client (HEAD checks, manifest writes)."""
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3", region_name=self.config.copy_.region)
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
        return self

    def ledger_for(self, table: TableRef) -> TableRef | None:
        """The ledger table of ``table``, or None when the ledger is disabled."""
        return self.settings.ledger_for(table)

    def close(self) -> None:
        """Close the transport's connection."""
        if self._transport is not None:
            self._transport.close()

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
        groups = {
            target: [_Member(index, obj) for index, obj in members]
            for target, members in classified.groups.items()
        }
        targets: list[TargetResult] = []
        for target, members in groups.items():
            if deadline is not None and self._clock() >= deadline:
                error = TimeBudgetExceededError(
                    "the time budget ran out before this target was started",
                    table=str(target.table),
                )
                for m in members:
                    results[m.index] = self._failed(m, target, error)
                targets.append(self._target_result(target, members, error=error))
                continue
            try:
                targets.append(self._load_target(target, members, results, deadline))
            except Exception as exc:  # a bug must not cost the other targets their load
                unexpected = RetryableError(
                    f"unexpected {type(exc).__name__} while loading this target; "
                    "its objects were not loaded and a retry loads them",
                    table=str(target.table),
                )
                unexpected.__cause__ = exc
                for m in members:
                    if m.index not in results:  # a committed chunk keeps its "loaded"
                        results[m.index] = self._failed(m, target, unexpected)
                targets.append(self._target_result(target, members, error=unexpected))
        duration = int((self._clock() - started) * 1000)
        ordered = tuple(results[i] for i in range(len(items)))
        return LoadReport(objects=ordered, targets=tuple(targets), duration_ms=duration)

    def _load_target(
        self,
        target: Target,
        members: list[_Member],
        results: dict[int, ObjectResult],
        deadline: float | None,
    ) -> TargetResult:
        started = self._clock()
        table = str(target.table)
        ledger = self.ledger_for(target.table)
        pending = self._drop_repeats(target, members, results)
        headed = False  # whether S3 has confirmed the pending objects' identities
        transactions = 0
        failures = 0
        rows = 0
        batch: str | None = None
        last_error: S3RedshiftError | None = None
        details: list[LoadErrorDetail] = []
        check_ledger = True
        written: list[str] = []  # the files the current attempt put to S3
        isolate = False  # one object per transaction, once a rejection named no file
        per_object = False  # upsert's objects staged one at a time, once keys collided
        contents: list[ManifestEntry] = []  # a replace snapshot's objects, listed

        def budget() -> float | None:
            return None if deadline is None else max(deadline - self._clock(), 0.0)

        while pending:
            try:
                # Whatever makes the ledger worth asking again may have loaded
                # a newer snapshot too: replace picks its snapshot afresh then.
                pick_snapshot = check_ledger and target.rule.mode == "replace"
                if check_ledger and ledger is not None:
                    # Ledger first: a replay is answered from the identities the
                    # events carry, without a request to S3 per object.
                    self._ensure_ledger(ledger, budget(), ordered=target.rule.mode == "replace")
                    pending = self._drop_loaded(target, ledger, pending, results, budget())
                check_ledger = False
                if not headed:
                    pending = self._head_objects(target, pending, results)
                    pending = self._hold_back(target, members, pending, results)
                    headed = True
                    if ledger is not None:
                        # Only where S3 named another identity than the event
                        # (or the event named none) is the ledger asked again.
                        pending = self._drop_loaded(
                            target, ledger, pending, results, budget(), changed_only=True
                        )
                if pick_snapshot:
                    pending = self._newest_snapshot(target, ledger, pending, results, budget())
                    pending, contents = self._snapshot_contents(target, pending, results)
                if not pending:
                    break
                transactions += 1
                written.clear()
                planned = self._next_transaction(
                    target, pending, isolate, per_object, budget(), contents
                )
                chunk = pending[: len(planned.entries)]
                self._write_documents(planned, written)
                batch = planned.plan.batch_id
                loaded_rows = self.transport.run(planned.plan, time_budget=budget())
            except KeyCollisionError as exc:
                # Costs no attempt: the next plan stages objects one at a time
                # and has no keys guard, so this happens once per target.
                self._clean_up(written, exc)
                per_object = True
                continue
            except BatchConflictError as exc:
                self._clean_up(written, exc)
                last_error = exc
                failures += 1
                if failures >= MAX_ATTEMPTS:
                    break
                check_ledger = True
                continue
            except DataRejectedError as exc:
                self._clean_up(written, exc)
                last_error = exc
                failures += 1
                if exc.bad_files & set(written):
                    # Our own manifest or object list was missing: a concurrent
                    # load of the same batch committed and removed them. Ask the
                    # ledger again; the next attempt writes them anew.
                    if failures >= MAX_ATTEMPTS:
                        break
                    check_ledger = True
                    continue
                details.extend(exc.details)
                bad = {m.s3_object.uri for m in pending} & exc.bad_files
                if not bad and len(chunk) == 1 and target.rule.mode != "replace":
                    bad = {chunk[0].s3_object.uri}  # alone in its COPY: it is the bad one
                    failures -= 1  # isolating costs no attempt; it is bounded by the objects
                if not bad and len(chunk) > 1 and target.rule.mode != "replace":
                    # Rejected, but no file named (the error tables could not be
                    # read): load one object per transaction to find the bad one.
                    isolate = True
                    failures -= 1
                    continue
                # A replace is all or nothing: loading the rest without the bad
                # files would commit a partial snapshot over the old rows.
                if not bad or failures >= MAX_ATTEMPTS or target.rule.mode == "replace":
                    break
                for m in pending:
                    if m.s3_object.uri in bad:
                        mine = tuple(d for d in exc.details if d.file == m.s3_object.uri)
                        results[m.index] = self._failed(m, target, exc, mine)
                pending = [m for m in pending if m.s3_object.uri not in bad]
                continue
            except RetryableError as exc:
                self._clean_up(written, exc)
                last_error = exc
                failures += 1
                pause = min(0.25 * 2 ** (failures - 1), 8.0)
                out_of_time = deadline is not None and self._clock() + pause >= deadline
                if failures >= MAX_ATTEMPTS or out_of_time:
                    break
                self._sleep(pause)
                check_ledger = True  # the failed try may have committed before it broke
                continue
            except PermanentError as exc:
                self._clean_up(written, exc)
                last_error = exc
                break
            except BaseException:
                # The transport has rolled back or dropped its session; no COPY
                # of this attempt can still run, so its files can go.
                self._clean_up(written, None)
                raise
            self._clean_up(written, None)
            rows += loaded_rows
            for m in chunk:
                results[m.index] = ObjectResult(m.s3_object, "loaded", table=table)
            self._forget_failures(target.table, chunk, budget())
            done = {m.index for m in chunk}
            pending = [m for m in pending if m.index not in done]
            last_error = None
        for m in pending:
            assert last_error is not None
            mine = tuple(d for d in details if d.file == m.s3_object.uri)
            error = last_error
            if isinstance(last_error, DataRejectedError) and last_error.bad_files and not mine:
                # Its own data was never judged: other files' rejection stopped it.
                why = (
                    "replace loads a batch whole"
                    if target.rule.mode == "replace"
                    else f"the {MAX_ATTEMPTS} attempts ran out first"
                )
                error = RetryableError(
                    f"not loaded: other files of the batch were rejected and {why}; "
                    "a retry loads it",
                    s3_uri=m.s3_object.uri,
                    table=table,
                )
            results[m.index] = self._failed(m, target, error, mine)
        failed = [results[m.index] for m in members if results[m.index].outcome == "failed"]
        if failed and not isinstance(last_error, _UNRECORDABLE):
            self._record_failures(target.table, failed, budget())
        loaded = sum(1 for m in members if results[m.index].outcome == "loaded")
        return TargetResult(
            table=table,
            mode=target.rule.mode,
            batch_id=batch if loaded else None,
            objects=loaded,
            rows=rows,
            attempts=transactions,
            duration_ms=int((self._clock() - started) * 1000),
            error=last_error,
            load_errors=tuple(details),
        )

    # --- the failures table (best effort, outside every load) --------------------

    @property
    def _failures_table(self) -> TableRef | None:
        """Beside the ledger tables; none when the ledger is disabled."""
        ledger = self.config.ledger
        return failures_table_for(ledger.schema_name) if ledger.enabled else None

    def _record_failures(
        self, table: TableRef, failed: Sequence[ObjectResult], time_budget: float | None
    ) -> None:
        """Write why each of ``failed`` did not load; a write that fails changes nothing.

        After the load's transaction, never inside it: that transaction rolled
        back, and exactly-once rests on the ledger alone. Each piece of rows
        (under the Data API's statement size) is inserted, then the rows it
        replaces are deleted; all of it within :data:`FAILURE_WRITE_S`.
        """
        failures_table = self._failures_table
        if failures_table is None or (time_budget is not None and time_budget <= 0):
            return
        failed_at = ledger_timestamp(self._now())
        rows = [
            Failure(
                bucket=r.s3_object.bucket,
                key=r.s3_object.key,
                identity=r.s3_object.identity or "",
                table=str(table),
                failed_at=failed_at,
                error=type(r.error).__name__ if r.error is not None else "S3RedshiftError",
                retryable=r.error.retryable if r.error is not None else True,
                reason=r.explanation,
            )
            for r in failed
        ]
        deadline = Deadline.after(_failure_write_budget(time_budget), clock=self._clock)
        try:
            if not self._failures_ready:
                self.transport.execute(
                    create_failures_sql(failures_table), time_budget=deadline.remaining()
                )
                self._failures_ready = True
            for chunk in write_chunks(rows):
                if deadline.expired():
                    return
                # The new rows first, then the ones they replace: a write that
                # fails half-way leaves the older reason, never none.
                self.transport.execute(
                    insert_failures_sql(failures_table, chunk), time_budget=deadline.remaining()
                )
                replaced = [(f.bucket, f.key) for f in chunk]
                for bucket, keys in by_bucket(replaced).items():
                    self.transport.execute(
                        delete_failures_sql(
                            failures_table, str(table), bucket, keys, before=failed_at
                        ),
                        time_budget=deadline.remaining(),
                    )
                self._recorded_failures.setdefault(table, set()).update(replaced)
        except (S3RedshiftError, ValueError):
            return  # best effort: the load's own outcome stands as reported

    def _forget_failures(
        self, table: TableRef, loaded: Sequence[_Member], time_budget: float | None
    ) -> None:
        """Delete the failure rows of objects that have now loaded, where this loader wrote some."""
        recorded = self._recorded_failures.get(table)
        failures_table = self._failures_table
        if not recorded or failures_table is None:
            return
        done = [
            (m.s3_object.bucket, m.s3_object.key)
            for m in loaded
            if (m.s3_object.bucket, m.s3_object.key) in recorded
        ]
        if not done:
            return
        deadline = Deadline.after(_failure_write_budget(time_budget), clock=self._clock)
        try:
            for bucket, keys in by_bucket(done).items():
                for start in range(0, len(keys), _FORGET_CHUNK):
                    chunk = keys[start : start + _FORGET_CHUNK]
                    self.transport.execute(
                        delete_failures_sql(failures_table, str(table), bucket, chunk),
                        time_budget=deadline.remaining(),
                    )
                    recorded.difference_update((bucket, key) for key in chunk)
        except (S3RedshiftError, ValueError):
            return  # a stale row is never shown: readers list what the ledger lacks

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

    def _next_transaction(
        self,
        target: Target,
        pending: list[_Member],
        isolate: bool,
        per_object: bool,
        time_budget: float | None,
        contents: Sequence[ManifestEntry] = (),
    ) -> PlannedTransaction:
        """The next transaction: the longest head of ``pending`` the transport takes.

        Once a rejection named no file, objects go one per transaction, so the
        bad one shows itself; ``per_object`` stages an upsert's objects one at
        a time (their keys collided).
        """
        entries = [m.entry for m in pending if m.entry is not None]
        # The transaction loads the head of `pending`: every member must have its entry.
        assert len(entries) == len(pending), "a pending object without its S3 identity"
        columns, ties = self._shape(target, time_budget)
        return next_transaction(
            target,
            entries[:1] if isolate else entries,
            settings=self.settings,
            columns=columns,
            tie_columns=ties,
            loaded_at=ledger_timestamp(self._now()),
            limits=self.transport.limits,
            per_object=per_object,
            contents=contents,
        )

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

    def _drop_repeats(
        self, target: Target, members: list[_Member], results: dict[int, ObjectResult]
    ) -> list[_Member]:
        """Repeats inside the batch out, as far as the events tell copies apart."""
        table = str(target.table)
        seen: set[tuple[str, str, str | None]] = set()
        unique: list[_Member] = []
        for m in members:
            o = m.s3_object
            ident = (o.bucket, o.key, object_identity(o, target.rule.mode))
            if ident[2] is not None and ident in seen:
                results[m.index] = ObjectResult(o, "duplicate", table=table, reason=_REPEATED)
                continue
            seen.add(ident)
            unique.append(m)
        return unique

    def _newest_snapshot(
        self,
        target: Target,
        ledger: TableRef | None,
        pending: list[_Member],
        results: dict[int, ObjectResult],
        time_budget: float | None,
    ) -> list[_Member]:
        """Replace: the newest snapshot of the batch alone, unless the table holds a newer one.

        A snapshot is one object, or the objects a rule's ``snapshot``
        capture groups; the newest holds the last object in load order.
        """
        table = str(target.table)
        if not pending:
            return pending
        newest = max(pending, key=_rank)
        snapshot = snapshot_of(self.mapper, target, newest.s3_object)
        chosen = [m for m in pending if snapshot_of(self.mapper, target, m.s3_object) == snapshot]
        kept = {m.index for m in chosen}
        for m in pending:
            if m.index not in kept:
                reason = NEWER_IN_BATCH
                results[m.index] = ObjectResult(
                    m.s3_object, "superseded", table=table, reason=reason
                )
        if ledger is not None and newest.entry is not None:
            loaded = self.transport.query(newest_order_sql(ledger), time_budget=time_budget)
            held = (ManifestEntry("", str(key), "", 0, str(order)) for order, key in loaded)
            top = max(map(entry_rank, held), default=None)
            if top is not None and entry_rank(newest.entry) < top:
                for m in chosen:
                    results[m.index] = ObjectResult(
                        m.s3_object, "superseded", table=table, reason=_NEWER_LOADED
                    )
                return []
        return chosen

    def _hold_back(
        self,
        target: Target,
        members: list[_Member],
        pending: list[_Member],
        results: dict[int, ObjectResult],
    ) -> list[_Member]:
        """Objects whose outcome depends on one that could not be checked wait for it.

        Where "later wins" (replace, upsert without ``order_by``), loading an
        object before an earlier one that failed its check would let the
        earlier one win when it is redelivered: replace loads nothing if a
        failed object may be the newest; upsert loads only the objects before
        the first failed one. The others fail, retryable, and come back with it.
        """
        rule = target.rule
        if not pending or not (
            rule.mode == "replace" or (rule.mode == "upsert" and not rule.order_by)
        ):
            return pending
        unchecked = [
            m.s3_object
            for m in members
            if m.index in results and results[m.index].outcome == "failed"
        ]
        if not unchecked:
            return pending
        first = min(unchecked, key=load_order)
        if rule.mode == "replace":
            newest = max((m.s3_object for m in pending), key=load_order)
            last = max(unchecked, key=load_order)
            blocked = last.event_time is None or load_order(last) > load_order(newest)
            waiting = pending if blocked else []
        else:
            waiting = [m for m in pending if load_order(m.s3_object) > load_order(first)]
        error = RetryableError(
            f"not loaded yet: {first.uri} of the same batch could not be checked, and the "
            "later object must not load before it; a retry loads them in order",
            table=str(target.table),
        )
        for m in waiting:
            results[m.index] = self._failed(m, target, error)
        held = {m.index for m in waiting}
        return [m for m in pending if m.index not in held]

    def _snapshot_contents(
        self, target: Target, members: list[_Member], results: dict[int, ObjectResult]
    ) -> tuple[list[_Member], list[ManifestEntry]]:
        """Every object of the members' snapshot, as S3 lists it now (a rule's ``snapshot``).

        The events name the objects that arrived; the table must hold the
        whole snapshot, so its objects are listed (those the rule maps with the
        same capture value) and all of them loaded. With a ``snapshot_marker``
        the snapshot is complete only once the marker is listed beside them;
        until then its objects are ``ignored`` (the marker's event loads it).
        Returns the members still to load and what their COPY reads.
        """
        rule = target.rule
        if not rule.snapshot or not members:
            return members, []
        first = members[0].s3_object
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
            return members, sorted(found, key=entry_rank)
        reason = (
            "its snapshot lists no object to load"
            if complete
            else f"waiting for its snapshot's {rule.snapshot_marker}, whose arrival loads it"
        )
        for m in members:
            results[m.index] = ObjectResult(
                m.s3_object, "ignored", table=str(target.table), reason=reason
            )
        return [], []

    def _head_objects(
        self, target: Target, members: list[_Member], results: dict[int, ObjectResult]
    ) -> list[_Member]:
        """Overwritten and deleted objects out; fill in identity and size from S3.

        Repeats are dropped again once every object's identity is what S3
        says it is: an object named once with its ETag and once without (or
        once by version id and once by ETag) is still one object version,
        loaded once.

        The HEAD requests run in parallel (boto3 clients are thread-safe): one
        round trip each would otherwise dominate a large batch. An object whose
        HEAD fails is reported failed on its own; its neighbours go on.
        """
        table = str(target.table)
        with ThreadPoolExecutor(max_workers=HEAD_CONCURRENCY) as pool:
            heads = list(pool.map(lambda m: self._head(m.s3_object, target), members))
        pending: list[_Member] = []
        identities: set[tuple[str, str, str]] = set()
        for m, current in zip(members, heads, strict=True):
            o = m.s3_object
            if isinstance(current, S3RedshiftError):
                results[m.index] = self._failed(m, target, current)
                continue
            if current is None:
                reason = "deleted since the event"
                results[m.index] = ObjectResult(o, "superseded", table=table, reason=reason)
                continue
            etag, version, size, modified = current
            if (o.version_id not in (None, "null") and version != o.version_id) or (
                o.version_id in (None, "null") and o.etag is not None and etag != o.etag
            ):
                reason = _OVERWRITTEN
                results[m.index] = ObjectResult(o, "superseded", table=table, reason=reason)
                continue
            # The identity of what COPY will read, as S3 reports it now (the
            # checks above made sure it is the version the event means).
            now = o.model_copy(update={"etag": etag, "version_id": version})
            identity = object_identity(now, target.rule.mode)
            if identity is None:
                error = PermanentError("S3 reported no ETag", s3_uri=o.uri, table=table)
                results[m.index] = self._failed(m, target, error)
                continue
            if (o.bucket, o.key, identity) in identities:
                results[m.index] = ObjectResult(o, "duplicate", table=table, reason=_REPEATED)
                continue
            identities.add((o.bucket, o.key, identity))
            when = o if o.event_time is not None else o.model_copy(update={"event_time": modified})
            m.entry = ManifestEntry(o.bucket, o.key, identity, size, object_order(when))
            pending.append(m)
        return self._last_write_of_each_key(target, sorted(pending, key=_rank), results)

    def _last_write_of_each_key(
        self, target: Target, pending: list[_Member], results: dict[int, ObjectResult]
    ) -> list[_Member]:
        """One object per key: COPY reads a key's current content, whichever event named it.

        Two events of one key whose checks both passed (an unversioned key
        rewritten with the same content, ``A -> B -> A``) name one object; the
        later write's event loads it, the earlier one is superseded, so the
        content is never read twice into one table.
        """
        last = {(m.s3_object.bucket, m.s3_object.key): m for m in pending}  # in load order
        reason = _OVERWRITTEN
        for m in pending:
            if last[(m.s3_object.bucket, m.s3_object.key)] is not m:
                results[m.index] = ObjectResult(
                    m.s3_object, "superseded", table=str(target.table), reason=reason
                )
        return [m for m in pending if last[(m.s3_object.bucket, m.s3_object.key)] is m]

    def _head(
        self, o: S3Object, target: Target
    ) -> tuple[str | None, str | None, int, datetime | None] | S3RedshiftError | None:
        """The object's current ETag, version, size and time; None if gone; the error if any.

        Every failure is returned, never raised: it is this object's outcome.
        """
        from s3redshift.s3_errors import s3_error_code, translate_s3_error

        try:
            head = self.s3.head_object(Bucket=o.bucket, Key=o.key)
            etag = str(head.get("ETag", "")).strip('"') or None
            modified = head.get("LastModified")
            when = None if modified is None else aware(modified)
            return etag, head.get("VersionId"), int(head.get("ContentLength", 0)), when
        except Exception as exc:
            code = s3_error_code(exc)
            table = str(target.table)
            if code in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
                listing = self._list_key(o)
                if listing == "no-bucket":
                    return PermanentError(
                        f"the bucket {o.bucket!r} does not exist (HeadObject answered {code}); "
                        "check the event's bucket name",
                        s3_uri=o.uri,
                        table=table,
                    )
                if code in ("404", "NoSuchKey", "NotFound") or listing == "absent":
                    return None
            return translate_s3_error(
                exc,
                action="HeadObject",
                permission="s3:GetObject on the object (and s3:ListBucket for its key)",
                s3_uri=o.uri,
                table=table,
            )

    def _list_key(self, o: S3Object) -> Literal["listed", "absent", "no-bucket", "unknown"]:
        """What a listing says of the key: how a failed HEAD tells its causes apart.

        HEAD answers without a body, so a 404 does not say whether the key or
        the whole bucket is missing, and S3 answers HeadObject on a missing key
        with 403 instead of 404 unless the caller may list the whole bucket,
        which a role limited to its source prefixes may not. A listing whose
        prefix is the key itself is inside those prefixes; the key sorts first
        among the keys it starts, so one entry is enough. A refused or failed
        listing is ``unknown``: a 403 then stays what it may well be, a real
        permission problem.
        """
        from s3redshift.s3_errors import s3_error_code

        try:
            page = self.s3.list_objects_v2(Bucket=o.bucket, Prefix=o.key, MaxKeys=1)
        except Exception as exc:
            return "no-bucket" if s3_error_code(exc) == "NoSuchBucket" else "unknown"
        if any(item.get("Key") == o.key for item in page.get("Contents", [])):
            return "listed"
        # S3 may answer with fewer keys than asked for and say so: an empty,
        # truncated page proves nothing about the key.
        return "unknown" if page.get("IsTruncated") else "absent"

    def _ensure_ledger(
        self, ledger: TableRef, time_budget: float | None, *, ordered: bool = False
    ) -> None:
        """Create ``ledger`` (and its schema) unless this loader has already.

        ``ordered`` (replace) also makes sure it has ``object_order``.
        """
        if ordered and ledger not in self._ordered_ledgers:
            self._ensure_ledger(ledger, time_budget)
            self._add_order_column(ledger, time_budget)
            self._ordered_ledgers.add(ledger)
        if ledger in self._ledgers_ready:
            return
        self._refuse_previous_ledger(ledger, time_budget)
        statements = create_ledger_sql(ledger)
        try:
            for sql in statements:
                self.transport.execute(sql, time_budget=time_budget)
        except S3RedshiftError:
            # Two loaders creating the ledger at once: "IF NOT EXISTS" is not
            # atomic, and the loser gets a duplicate-key error. Once the
            # winner has committed, running the statements again succeeds.
            self._sleep(0.2)
            for sql in statements:
                self.transport.execute(sql, time_budget=time_budget)
        self._ledgers_ready.add(ledger)

    def _add_order_column(self, ledger: TableRef, time_budget: float | None) -> None:
        """Give a ledger made by an earlier version the ``object_order`` column.

        Two loaders may both find it missing; the loser's ``ADD COLUMN`` fails
        and is fine once the column is there.
        """
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            f"{quote_literal(ledger.schema or '')} AND table_name = {quote_literal(ledger.table)} "
            f"AND column_name = {quote_literal(ORDER_COLUMN)}"
        )
        if self.transport.query(sql, time_budget=time_budget):
            return
        try:
            self.transport.execute(add_order_column_sql(ledger), time_budget=time_budget)
        except S3RedshiftError:
            if not self.transport.query(sql, time_budget=time_budget):
                raise

    def _refuse_previous_ledger(self, ledger: TableRef, time_budget: float | None) -> None:
        """Refuse to load while the one-table ledger of an earlier version is in the schema.

        Its rows are what an upgraded loader must not load again: without them
        in the per-target tables, every replay, backfill and sweep of an object
        loaded before the upgrade would load it a second time. Checked once per
        loader and schema, before the first ledger table is made.
        """
        schema = ledger.schema or ""
        if schema in self._no_previous_ledger:
            return
        rows = self.transport.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"{quote_literal(schema)} AND table_name = {quote_literal(PREVIOUS_LEDGER_TABLE)}",
            time_budget=time_budget,
        )
        if rows:
            raise ConfigError(
                f"{schema}.{PREVIOUS_LEDGER_TABLE}, the one ledger table of an earlier version, "
                "still exists: copy its rows into the per-target ledger tables, then drop or "
                "rename it (README, 'Upgrading'); nothing loads until then, so nothing loads twice"
            )
        self._no_previous_ledger.add(schema)

    def _drop_loaded(
        self,
        target: Target,
        ledger: TableRef,
        pending: list[_Member],
        results: dict[int, ObjectResult],
        time_budget: float | None,
        *,
        changed_only: bool = False,
    ) -> list[_Member]:
        """Report objects the ledger already holds as ``duplicate``.

        An object is looked up by the identity S3 confirmed, or before the
        HEAD requests by the one its event carries (an event without one waits
        for S3). ``changed_only`` asks only for objects whose confirmed
        identity differs from their event's, the others having just been
        asked for.
        """
        asked: dict[tuple[str, str, str], list[_Member]] = {}
        for m in pending:
            claimed = object_identity(m.s3_object, target.rule.mode)
            identity = m.entry.identity if m.entry is not None else claimed
            if identity is None or (changed_only and identity == claimed):
                continue
            asked.setdefault((m.s3_object.bucket, m.s3_object.key, identity), []).append(m)
        if not asked:
            return pending
        known: set[tuple[str, str, str]] = set()
        for chunk in lookup_chunks(list(asked)):
            sql = loaded_identities_sql(ledger, chunk)
            rows = self.transport.query(sql, time_budget=time_budget)
            known.update(loaded_among(rows, chunk))
        loaded = {id(m) for ident in known & asked.keys() for m in asked[ident]}
        for m in pending:
            if id(m) in loaded:
                results[m.index] = ObjectResult(
                    m.s3_object, "duplicate", table=str(target.table), reason="already loaded"
                )
        return [m for m in pending if id(m) not in loaded]

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
        rows = self.transport.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
            f"{quote_literal(table.schema or '')} AND table_name = "
            f"{quote_literal(table.table)} ORDER BY ordinal_position",
            time_budget=time_budget,
        )
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
    ) -> TransactionPlan:
        """The one transaction loading ``entries`` (in this order) into ``target``, unsplit.

        The pure :func:`~s3redshift.planner.plan_transaction` with this
        loader's settings, the target's columns (read from the database for an
        upsert without a column list) and the current time. With ``write`` the
        manifests and the object list are put to S3 (their URIs appended to
        ``written`` as each one lands).
        """
        columns, ties = self._shape(target, time_budget)
        planned = plan_transaction(
            target,
            entries,
            settings=self.settings,
            columns=columns,
            tie_columns=ties,
            loaded_at=ledger_timestamp(self._now()),
        )
        if write:
            self._write_documents(planned, [] if written is None else written)
        return planned.plan

    # --- helpers ----------------------------------------------------------------

    def _failed(
        self,
        member: _Member,
        target: Target,
        error: S3RedshiftError,
        details: Sequence[LoadErrorDetail] = (),
    ) -> ObjectResult:
        return ObjectResult(
            member.s3_object,
            "failed",
            table=str(target.table),
            reason=error.message,
            error=error,
            load_errors=tuple(details),
        )

    def _target_result(
        self,
        target: Target,
        members: Sequence[_Member],
        *,
        error: S3RedshiftError,
    ) -> TargetResult:
        """A target that was not started (no transaction, nothing loaded)."""
        return TargetResult(
            table=str(target.table),
            mode=target.rule.mode,
            batch_id=None,
            objects=0,
            rows=0,
            attempts=0,
            duration_ms=0,
            error=error,
        )
