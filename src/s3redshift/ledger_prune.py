"""Ledger retention: ``s3redshift ledger prune --before DATE``.

The ledger grows by one row per object loaded, for ever. Pruning removes old
rows, and with them the proof that those objects were loaded; exactly-once
then rests on the *horizon*: every load transaction refuses an object older
than its ledger's horizon (:func:`~s3redshift.ledger.horizon_guard_sql`,
:class:`~s3redshift.errors.BeforeHorizonError`), so no pruned object loads
again, whether its event is replayed or a backfill lists it.

Which rows go, and why by ``loaded_at``: the refusal is by the object's time
(its event time, or S3's last-modified time), the only time a replayed event
or a listing carries; so a pruned row's object must be older than the
horizon. An object exists before it loads, so its time is at most its
``loaded_at``, up to the skew between the loader's clock (``loaded_at``)
and S3's (the event time). A row is therefore removed only when it was
loaded :data:`PRUNE_MARGIN` before the horizon: its object is older than the
horizon by the margin, less any skew under it. Rows loaded within the margin
stay (a later prune removes them), so their objects' replays stay duplicates:
a load asks the ledger before the horizon. Pruning by event time instead
would need every ledger to keep an event time, which ledgers of append and
upsert tables made before it do not.

The horizon is recorded, and committed, before any row is removed, and a
DATE in the future is refused: see :func:`~s3redshift.ledger.horizon_guard_sql`
for why a load running during a prune can neither load a pruned object
again nor lose one. The cost is the horizon's meaning: an object older than
it that never loaded is refused too (reported, never dropped); write it again
to load it. Prune only once every loader runs a version with the horizon guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from s3redshift.deadline import Deadline
from s3redshift.errors import ConfigError
from s3redshift.identifiers import TableRef
from s3redshift.ledger import (
    create_horizon_sql,
    horizon_table_for,
    ledger_timestamp,
    prune_count_sql,
    prune_sql,
    record_horizon_sql,
)
from s3redshift.ledger_queries import ledger_horizons, ledger_tables

if TYPE_CHECKING:
    from s3redshift.loader import Loader

__all__ = ["PRUNE_MARGIN", "PruneResult", "PrunedLedger", "prune_ledger"]

PRUNE_MARGIN = timedelta(hours=1)
"""Rows loaded this close before the horizon stay: the loader's clock may lag S3's."""

_HORIZON_ROWS = 100
"""Ledger tables per horizon INSERT (a statement stays far under the Data API's 100 KB)."""


@dataclass(frozen=True)
class PrunedLedger:
    """One ledger table: the tables its rows name, its rows, and those pruned (or to prune)."""

    ledger: TableRef
    tables: tuple[str, ...]
    rows: int
    pruned: int


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed, or (``confirmed`` false) would remove."""

    before: datetime
    """The DATE given: the horizon it records."""
    cutoff: datetime
    """Rows loaded before this go: ``before`` less :data:`PRUNE_MARGIN`."""
    ledgers: tuple[PrunedLedger, ...]
    previous: datetime | None
    """The greatest horizon of these ledgers before this prune."""
    confirmed: bool

    @property
    def pruned(self) -> int:
        """Rows removed (or to remove) from all the ledgers."""
        return sum(ledger.pruned for ledger in self.ledgers)

    @property
    def horizon(self) -> datetime:
        """The horizon once the prune is done: it never moves backwards."""
        return max(self.before, self.previous) if self.previous is not None else self.before


def prune_ledger(
    loader: Loader,
    before: datetime,
    *,
    table: str | None = None,
    confirm: bool = False,
    now: datetime | None = None,
    time_budget: float | None = None,
) -> PruneResult:
    """Remove the ledger rows loaded before ``before`` (less the margin); a dry run by default.

    ``table`` (``schema.table``) prunes that table's ledger only, else every
    ledger. With ``confirm`` the horizon ``before`` is recorded for each
    ledger first (where it moves the horizon forward), committed, and then
    each ledger's rows are deleted, one transaction per ledger: a prune that
    stops half-way leaves rows a second run removes, never a removed row
    without its horizon.

    Raises:
        ConfigError: the ledger is disabled, or ``before`` is in the future
            (every object arriving until then would be refused).
    """
    moment = now or datetime.now(UTC)
    if before > moment:
        raise ConfigError(
            f"prune --before {before:%Y-%m-%d %H:%M:%S} UTC is in the future: every object "
            "older than it would be refused, also those still to arrive; give a past date"
        )
    deadline = Deadline.after(time_budget)
    ledgers = ledger_tables(loader, table=table, time_budget=deadline.remaining())
    cutoff = before - PRUNE_MARGIN
    counted = [_count(loader, ledger, cutoff, deadline) for ledger in ledgers]
    horizons = ledger_horizons(loader, time_budget=deadline.remaining())
    previous = max((horizons[lg.table] for lg in ledgers if lg.table in horizons), default=None)
    if confirm and ledgers:
        moving = [lg for lg in ledgers if lg.table not in horizons or horizons[lg.table] < before]
        _record_horizon(loader, moving, before, ledger_timestamp(moment), deadline)
        for pruned in counted:
            if pruned.pruned:
                loader.transport.execute(
                    prune_sql(pruned.ledger, ledger_timestamp(cutoff)),
                    time_budget=deadline.remaining(),
                )
    return PruneResult(before, cutoff, tuple(counted), previous, confirm)


def _count(loader: Loader, ledger: TableRef, cutoff: datetime, deadline: Deadline) -> PrunedLedger:
    rows = loader.transport.query(
        prune_count_sql(ledger, ledger_timestamp(cutoff)), time_budget=deadline.remaining()
    )
    names = tuple(sorted(str(name) for name, _, _ in rows))
    total = sum(int(str(count)) for _, count, _ in rows)
    old = sum(int(str(count or 0)) for _, _, count in rows)
    return PrunedLedger(ledger, names, total, old)


def _record_horizon(
    loader: Loader,
    ledgers: Sequence[TableRef],
    before: datetime,
    recorded_at: str,
    deadline: Deadline,
) -> None:
    """The horizon of ``ledgers``, in one transaction that commits before any row goes."""
    if not ledgers:
        return
    horizon = horizon_table_for(ledgers[0].schema or "")
    inserts = [
        record_horizon_sql(horizon, ledgers[start : start + _HORIZON_ROWS], before, recorded_at)
        for start in range(0, len(ledgers), _HORIZON_ROWS)
    ]
    loader.transport.execute(
        create_horizon_sql(horizon), *inserts, time_budget=deadline.remaining()
    )
