"""What a table must hold once everything delivered is acknowledged: one oracle per load mode.

The contracts of issue #21, written as pure functions of what was delivered
(and, for upsert without ``order_by``, of the order the ledger says the loads
committed in), so that the harness judges the table and not only the ledger.
No database here: a row is a tuple in the table's column order, NULL is None.

A *write* is one delivered event: an S3 key's write, its place in
``load_order`` and whether its content is still the key's content when the
loader reads it (``current``). A write overwritten since (B in A -> B -> A on
an unversioned bucket, or an older version on a versioned one) cannot be read
by COPY any more: it is ``superseded`` and contributes nothing.

Under ``on_error = "skip_rows"`` a write's ``rows`` are its good lines and
``rejected`` its bad ones, which ``load_rejects`` must hold once per object
version loaded; a write with more bad lines than ``max_rejected_rows`` is
``refused``: it never loads, so it contributes nothing either.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Expected",
    "Write",
    "append_oracle",
    "compare",
    "rejects_oracle",
    "replace_oracle",
    "upsert_latest_oracle",
    "upsert_oracle",
]

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Write:
    """One delivered write of an S3 key: its load order, its rows, whether COPY can read it.

    ``identity`` is the event's (version id, else ETag), ``etag`` its ETag;
    by default both are the key, as if each write had its own content.
    """

    key: str
    order: tuple[Any, ...]
    rows: tuple[Row, ...]
    current: bool = True
    identity: str = ""
    etag: str = ""
    rejected: tuple[Row, ...] = ()
    """Its lines COPY must reject under skip_rows: (line number, column, raw line) each."""
    refused: bool = False
    """Over ``max_rejected_rows``: the object fails and keeps nothing."""

    def named_by(self, identity: str) -> bool:
        """Whether a ledger identity may name this write.

        Its own identity, or (unversioned bucket, replace and upsert) one the
        loader qualifies with the write, ETag first: the format is the
        loader's, so the ETag is all that is compared.
        """
        own, etag = self.identity or self.key, self.etag or self.key
        return identity == own or identity.startswith(etag)


@dataclass(frozen=True)
class Expected:
    """The rows a table must hold.

    ``fixed`` must be there with exactly these multiplicities; of each set in
    ``open`` (a key whose winner the delivery left undetermined) exactly one
    row must be there. Nothing else may be.
    """

    fixed: Counter[Row] = field(default_factory=Counter)
    open: tuple[frozenset[Row], ...] = ()


def compare(expected: Expected, actual: Iterable[Row]) -> tuple[list[str], list[Row]]:
    """What the table lacks (as text) and what it holds beyond the oracle; both empty if right."""
    rest = Counter(actual)
    missing = [repr(row) for row, n in (expected.fixed - rest).items() for _ in range(n)]
    rest -= expected.fixed
    for choices in expected.open:
        found = next((row for row in sorted(choices, key=repr) if rest[row] > 0), None)
        if found is None:
            missing.append("one of " + " | ".join(sorted(repr(r) for r in choices)))
        else:
            rest[found] -= 1
    extra = [row for row, n in sorted(rest.items(), key=repr) for _ in range(n) if n > 0]
    return sorted(missing), extra


def _rank(value: Any) -> tuple[Any, ...]:
    """NULL below every value (the contract's rule for order_by and for ties)."""
    return (0,) if value is None else (1, value)


def _tie_rank(row: Row, skip: int | None) -> tuple[tuple[Any, ...], ...]:
    """The tie rule: the other columns in table order, each greater value wins, NULL lowest."""
    return tuple(_rank(v) for i, v in enumerate(row) if i != skip)


def _current(writes: Iterable[Write]) -> list[Write]:
    return [w for w in writes if w.current and not w.refused]


def append_oracle(writes: Sequence[Write]) -> Expected:
    """append: the rows of each object version COPY could read, exactly once.

    An object version is a key's identity: the version id on a versioned
    bucket, the ETag on an unversioned one, where a rewrite with identical
    content is the same version (``duplicate``).
    """
    seen: dict[tuple[str, str], Write] = {}
    for w in _current(writes):
        seen.setdefault((w.key, w.identity or w.key), w)
    return Expected(Counter(row for w in seen.values() for row in w.rows))


def rejects_oracle(writes: Sequence[Write], loaded: Iterable[tuple[str, str]]) -> Expected:
    """load_rejects: each rejected line of each loaded object version once, nothing else.

    ``loaded`` are the ledger's (S3 key, identity) pairs of one table: a row
    is recorded in the transaction that records its object in the ledger,
    so an object not in the ledger (failed, refused, rolled back) has none.
    A row is ``(key, line, column, raw line)``.
    """
    done = set(loaded)
    seen: dict[tuple[str, str], Write] = {}
    for w in _current(writes):
        if any(key == w.key and w.named_by(identity) for key, identity in done):
            seen.setdefault((w.key, w.identity or w.key), w)
    return Expected(Counter((w.key, *line) for w in seen.values() for line in w.rejected))


def replace_oracle(writes: Sequence[Write]) -> Expected:
    """replace: exactly the rows of the newest (``load_order``) current write, nothing else."""
    current = _current(writes)
    if not current:
        return Expected()
    newest = max(current, key=lambda w: w.order)
    return Expected(Counter(newest.rows))


def _null_key_rows(writes: Iterable[Write], key_at: int) -> Counter[Row]:
    """Rows with a NULL key: every one kept, once per delivered current write (object version).

    A key written twice with identical content (A -> B -> A) is two object
    versions whose first may or may not load depending on delivery, so the
    harness draws no NULL keys into rewritten objects.
    """
    return Counter(row for w in _current(writes) for row in w.rows if row[key_at] is None)


def upsert_oracle(writes: Sequence[Write], *, key_at: int, order_at: int) -> Expected:
    """upsert with order_by: per key, the greatest row over everything delivered.

    Greatest by ``order_by`` (NULL lowest), ties broken by the other columns
    in table order (greater wins, NULL lowest): the same winner whatever the
    delivery order and batching. NULL-key rows: see :func:`_null_key_rows`.
    """
    best: dict[Any, Row] = {}
    for w in _current(writes):
        for row in w.rows:
            k = row[key_at]
            if k is None:
                continue
            if k not in best or _upsert_rank(row, order_at) > _upsert_rank(best[k], order_at):
                best[k] = row
    return Expected(Counter(best.values()) + _null_key_rows(writes, key_at))


def _upsert_rank(row: Row, order_at: int) -> tuple[tuple[Any, ...], ...]:
    return (_rank(row[order_at]), *_tie_rank(row, order_at))


MAX_ASSIGNMENTS = 64
"""Beyond this many readings of the ledger, :func:`upsert_latest_oracle` checks keys only."""


def upsert_latest_oracle(
    writes: Sequence[Write], *, key_at: int, loads: Sequence[tuple[int, str, str]]
) -> Expected:
    """upsert without order_by: the later load wins, as the ledger says loads committed.

    ``loads`` are the ledger's rows of this table: (place of the transaction in
    commit order, S3 key, identity). Loads merge in commit order, and inside
    one transaction in ``load_order``; inside one object, rows of one key tie
    and the tie rule picks. What is ambiguous is checked only as far as it is
    determined: a ledger row names the key and content it loaded, but on an
    unversioned bucket not which write of that content (A -> B -> A has two
    writes of A, at two places in ``load_order``; see :meth:`Write.named_by`).
    Every reading is merged; a key on which the readings agree must hold
    that row, a key on which they differ must hold one of the candidates.
    NULL-key rows: see :func:`_null_key_rows`.
    """
    current = _current(writes)
    readings = [
        [(place, w) for w in current if w.key == key and w.named_by(identity)]
        for place, key, identity in loads
    ]
    readings = [r for r in readings if r]
    if math.prod(len(r) for r in readings) > MAX_ASSIGNMENTS:
        # Too many readings to merge each: any loaded row of a key may have won.
        outcomes = [{row[key_at]: row} for r in readings for _, w in r for row in w.rows]
    else:
        outcomes = [_merge_latest(a, key_at) for a in itertools.product(*readings)]
    fixed: Counter[Row] = _null_key_rows(writes, key_at)
    open_sets: list[frozenset[Row]] = []
    for k in sorted({k for o in outcomes for k in o}, key=repr):
        rows = frozenset(o[k] for o in outcomes if k in o)
        if len(rows) == 1 and all(k in o for o in outcomes):
            fixed[next(iter(rows))] += 1
        else:
            open_sets.append(rows)
    return Expected(fixed, tuple(open_sets))


def _merge_latest(loads: Iterable[tuple[int, Write]], key_at: int) -> dict[Any, Row]:
    """Merge loads one by one in (commit place, load_order): the later object's row wins."""
    table: dict[Any, Row] = {}
    for _, w in sorted(loads, key=lambda load: (load[0], load[1].order)):
        winners: dict[Any, Row] = {}
        for row in w.rows:
            k = row[key_at]
            if k is None:
                continue
            if k not in winners or _tie_rank(row, None) > _tie_rank(winners[k], None):
                winners[k] = row
        table.update(winners)
    return table
