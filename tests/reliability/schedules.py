"""Seeded schedules of concurrent loaders under faults, replayed until acknowledged.

A schedule is drawn from its seed alone: 2-4 tables (each in one load mode),
a pool of small CSV objects with unique row ids, 2-4 loaders, a few faults
and a kind (:data:`KINDS`) that shapes one table: out-of-order delivery, a
key rewritten A -> B -> A, a column added or dropped between batches, a
HeadObject fault inside one table's batch, files whose columns the
loaders themselves create, add and widen (a schema policy), or files with
bad lines whose rejected rows the loaders keep (``on_error = "skip_rows"``).
The bucket is unversioned, now and then versioned; every event carries an S3-like sequencer.
Each round deals the unacknowledged objects to the loaders in overlapping
batches (and, like SQS, now and then delivers an acknowledged one again); the
loaders run at once, each on its own thread with its own warm ``Loader``,
whose batch's tables load side by side (``target.max_in_flight``), each on a
session of its own.
An object reported ``loaded`` or ``duplicate`` (or skipped with a reason) is
acknowledged; a failed one comes back next round; an escaped
``BaseException`` is a crashed invocation whose whole batch comes back.
Afterwards the ledger is read back and every object judged (lost,
duplicated), and each table is compared with :mod:`reliability.oracle`
(wrong).
"""

from __future__ import annotations

import random
import re
import string
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reliability import oracle
from reliability.faults import (
    COMBINATIONS,
    COMMIT_ORDER_SEQUENCE,
    DDL_POINTS,
    REJECTS_POINTS,
    S3_KINDS,
    FaultConnection,
    FaultSpec,
    HookedS3,
    InjectedInterrupt,
    Injector,
    Terminator,
)
from s3redshift.config import LoaderConfig
from s3redshift.errors import DataRejectedError, S3RedshiftError
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef, quote_identifier
from s3redshift.ledger import LEDGER_TABLE_PREFIX, is_ledger_table, ledger_table_for
from s3redshift.loader import Loader
from s3redshift.local import connector_config
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport
from s3redshift.planner import load_order
from s3redshift.rejects import rejects_table_for
from s3redshift.report import LoadReport, ObjectResult

if TYPE_CHECKING:
    from s3redshift.local import EmbeddedEnvironment

__all__ = [
    "SEED_ENV_VAR",
    "Outcome",
    "Run",
    "Schedule",
    "draw_schedule",
]

SEED_ENV_VAR = "S3REDSHIFT_RELIABILITY_SEED"
MAX_LOADERS = 4
MAX_ROUNDS = 10
DIFF_LINES = 6
"""Rows shown per side of a wrong table's diff."""
ALTER_LOCK_TIMEOUT_S = 10
"""How long a schema change between rounds waits for a lock (none should be held)."""
LOAD_BUDGET_S = 8.0
"""Each ``load()``'s time budget, as the Lambda's remaining time would be."""
SCHEDULE_DEADLINE_S = 60.0
MODES = ("append", "upsert", "upsert_latest", "replace")
"""``upsert`` has keys and order_by; ``upsert_latest`` keys only (later object wins)."""
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TEMP_TABLES = ("s3redshift_batch", "s3redshift_stage", "s3redshift_latest")
ACKED = frozenset({"loaded", "duplicate", "superseded", "unmapped", "ignored"})
"""Outcomes SQS would see as success (a skip always carries its reason)."""
REFUSED = "refused"
"""How the harness acknowledges a file over ``max_rejected_rows`` that failed as it must.

Its failure is permanent (SQS would move it to the dead-letter queue after
its last try): the harness stops delivering it, except as a redelivery.
"""


# --- the schedule, drawn from a seed --------------------------------------------------

BASE_COLUMNS = ("row_id", "k", "ts", "src")
COLUMN_TYPES = {"row_id": "INT", "k": "INT", "ts": "INT", "src": "VARCHAR(200)"}
COLUMN_TYPES |= {"x": "INT", "w": "INT"}  # a column dropped, a column added
KINDS = (
    "plain",
    "plain",
    "out_of_order",
    "rewrite",
    "schema_change",
    "head_fault",
    "schema_evolve",
    "skip_rows",
)
"""What a schedule attacks beside the walk's faults (``plain``: nothing more), drawn per seed.

``out_of_order``: one table's newest object is delivered and acknowledged
before its older ones. ``rewrite``: one key written A -> B -> A, each write
once the last is acknowledged or all before any delivery (sometimes at one
event time, the sequencer deciding). ``schema_change``: a column added
to and/or dropped from one table between its two phases of files.
``head_fault``: one table's objects always come in one batch, and the
HeadObject of one of them (mostly the oldest) fails. ``schema_evolve``: one
table's rule has a schema policy (by name, add columns, widen; sometimes the
loader creates the table): its files name their columns in any order, some
add ``w`` or a long text ``note``, and the loaders change the table at once.
A schedule whose walk injects a fault at a DDL point is always of this kind.
``skip_rows``: one table's rule keeps rejected rows (``on_error =
"skip_rows"``): some of its files hold a few lines with text in an INT
column, a few of them more than ``max_rejected_rows``. A schedule whose walk
injects a fault at the rejects insert is always of this kind.
"""
EVOLVE_POLICY = {"match": "name", "evolve": ["add_columns", "widen"]}
"""The schema policy of a ``schema_evolve`` table (``create`` drawn with it)."""
NOTE_LENGTHS = ((1, 128), (257, 512), (1025, 2048), (2049, 4096), (4097, 6000))
"""Byte lengths of ``note`` values, by bracket: each needs a longer VARCHAR than the last.

The loader sizes a text column at twice the longest value seen, rounded up
to a power of two, at least 256: 256, 1024, 4096, 8192, 16384.
"""

LONG_KEY_PART = "long-key/"
"""Repeated, it makes keys of 245-371 bytes: longer than ``src`` is made (200) or created (256)."""
_LONG_KEY = re.compile(f"(?:{LONG_KEY_PART}){{2,}}")

SCHEMA_CHANGES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # name: (columns before, ALTER TABLE clauses, columns after)
    "add": (BASE_COLUMNS, ("ADD COLUMN w INT",), (*BASE_COLUMNS, "w")),
    "drop": ((*BASE_COLUMNS, "x"), ("DROP COLUMN x",), BASE_COLUMNS),
    "both": ((*BASE_COLUMNS, "x"), ("DROP COLUMN x", "ADD COLUMN w INT"), (*BASE_COLUMNS, "w")),
}


@dataclass(frozen=True)
class Row:
    row_id: int
    k: int | None
    ts: int | None
    extra: int | None = None
    """The value of ``x`` or ``w``, written only by files that carry that column."""
    note: str | None = None
    """The value of ``note`` (text), written only by files that carry that column."""


@dataclass(frozen=True)
class ObjectSpec:
    """One write of an S3 key (a key written A -> B -> A has three)."""

    key: str
    rows: tuple[Row, ...]
    at: datetime
    sequencer: str
    columns: tuple[str, ...] = BASE_COLUMNS
    phase: int = 1
    """Written (and delivered) once the table's earlier phases are acknowledged.

    Before its phase 2, a table's ALTER runs.
    """
    bad: frozenset[int] = frozenset()
    """Places in ``rows`` written with a wrong type (:func:`bad_column`): COPY rejects them."""

    def value(self, row: Row, column: str) -> Any:
        """``row``'s value for ``column`` as the table stores it (None: NULL)."""
        known = {"row_id": row.row_id, "k": row.k, "ts": row.ts, "src": self.key}
        if column in known:
            return known[column]
        if column not in self.columns:
            return None  # a by-name load leaves it NULL
        return row.note if column == "note" else row.extra

    def lines(self) -> list[str]:
        """The file's lines, header first; a bad row's line has text in an INT column."""
        lines = [",".join(self.columns)]
        for i, r in enumerate(self.rows):
            values = [self.value(r, c) for c in self.columns]
            if i in self.bad:
                values[self.columns.index(bad_column(r))] = f"x{r.row_id}"
            lines.append(",".join("" if v is None else str(v) for v in values))
        return lines

    def csv(self) -> str:
        return "\n".join(self.lines()) + "\n"

    def table_rows(self, columns: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
        """The rows this file puts into a table with ``columns`` (its bad rows never go in)."""
        good = (r for i, r in enumerate(self.rows) if i not in self.bad)
        return tuple(tuple(self.value(r, c) for c in columns) for r in good)

    def rejected(self) -> tuple[tuple[Any, ...], ...]:
        """Its bad rows as load_rejects records them: (line number, column, raw line).

        Line numbers are the file's, header counted, as Redshift reports them.
        """
        lines = self.lines()
        return tuple(
            (i + 2, bad_column(r), lines[i + 1]) for i, r in enumerate(self.rows) if i in self.bad
        )


BAD_COLUMNS = ("row_id", "k", "ts")
"""The INT columns a bad row breaks, one per row by its id."""


def bad_column(row: Row) -> str:
    """The column ``row`` holds text in when it is written bad."""
    return BAD_COLUMNS[row.row_id % len(BAD_COLUMNS)]


@dataclass(frozen=True)
class TableSpec:
    name: str
    mode: str
    objects: tuple[ObjectSpec, ...]
    """Every write, in the order they are made."""
    columns: tuple[str, ...] = BASE_COLUMNS
    alter: tuple[str, ...] = ()
    """ALTER TABLE clauses run once every phase-1 file is acknowledged."""
    after: tuple[str, ...] = BASE_COLUMNS
    together: bool = False
    """All of its pending objects go to one batch of the first loader, every round."""
    newest_first: bool = False
    """Its older objects are held back until its newest is acknowledged."""
    create: bool | None = None
    """With a schema policy (``schema_evolve``): whether the loader creates the table.

    None: no schema policy. False: the table is made at set-up, as the
    others are, and the loaders add to and widen it.
    """
    note: str = ""
    max_rejected: int | None = None
    """With ``on_error = "skip_rows"`` (``skip_rows``): its ``max_rejected_rows``; else None."""

    def describe(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.name}:{self.mode}x{len(self.objects)}{note}"

    def over_limit(self, obj: ObjectSpec) -> bool:
        """Whether ``obj`` has more bad rows than its rule lets a COPY skip: it must fail."""
        return self.max_rejected is not None and len(obj.bad) > self.max_rejected


@dataclass(frozen=True)
class Schedule:
    seed: int
    tables: tuple[TableSpec, ...]
    loaders: int
    fresh_after_crash: bool
    faults: tuple[FaultSpec, ...]
    deal_seed: int
    kind: str = "plain"
    versioned: bool = False

    def describe(self) -> str:
        tables = ", ".join(t.describe() for t in self.tables)
        crash = "fresh Loader" if self.fresh_after_crash else "warm Loader"
        faults = ", ".join(str(f) for f in self.faults)
        bucket = "versioned" if self.versioned else "unversioned"
        return (
            f"{self.kind}; {bucket} bucket; tables [{tables}]; {self.loaders} loaders; "
            f"after a crash: {crash}; faults [{faults}]"
        )


class _Draw:
    """The random choices of one schedule, in the order they are made."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids = iter(range(1, 10**6))
        times = list(range(1000))
        rng.shuffle(times)
        self.clock = iter(times)
        self.sequencer = 0x0055AED6DCD90281

    def time(self) -> datetime:
        return T0 + timedelta(seconds=next(self.clock))

    def next_sequencer(self) -> str:
        """S3-like: grows with each write, hex, sometimes with more leading zeros."""
        self.sequencer += self.rng.randint(1, 2**20)
        return format(self.sequencer, "X").zfill(self.rng.randint(16, 18))

    def rows(self, mode: str, *, nulls: bool = True, ts_base: int | None = None) -> tuple[Row, ...]:
        """A file's rows; upsert draws repeated keys, NULL keys and NULL or equal order_by."""
        rng, count = self.rng, self.rng.randint(1, 3)
        if mode == "upsert":
            rows = []
            for _ in range(count):
                ts = None if rng.random() < 0.15 else rng.randint(1, 6) * 10
                if ts_base is not None:  # ts grows with the file's time
                    ts = ts_base + rng.randint(0, 9)
                k = self._key(rng.randint(1, 3), nulls)
                rows.append(Row(next(self.ids), k, ts, rng.randint(1, 99)))
            return tuple(rows)
        if mode == "upsert_latest":  # a key may repeat inside a file: the tie rule picks
            keys = rng.sample(range(1, 5), count)
            keys += keys[:1] if rng.random() < 0.3 else []
            return tuple(
                Row(next(self.ids), self._key(k, nulls), 0, rng.randint(1, 99)) for k in keys
            )
        return tuple(Row((i := next(self.ids)), i, 0, rng.randint(1, 99)) for _ in range(count))

    def _key(self, k: int, nulls: bool) -> int | None:
        """``k``, or now and then NULL (every NULL-key row is kept, never merged)."""
        return None if nulls and self.rng.random() < 0.15 else k

    def write(
        self, key: str, mode: str, *, at: datetime | None = None, **options: Any
    ) -> ObjectSpec:
        at = at or self.time()
        columns, phase = options.pop("columns", BASE_COLUMNS), options.pop("phase", 1)
        if options.pop("ordered", False):
            options["ts_base"] = int((at - T0).total_seconds()) * 10
        rows = options.pop("rows", None) or self.rows(mode, **options)
        return ObjectSpec(key, rows, at, self.next_sequencer(), columns, phase)

    def table(self, n: int, mode: str) -> TableSpec:
        count = self.rng.randint(2, 4)
        objects = tuple(self.write(f"t{n}/o{j}.csv", mode) for j in range(count))
        return TableSpec(f"t{n}", mode, objects)


def _out_of_order(draw: _Draw, n: int) -> TableSpec:
    """The newest file first; for upsert, later files carry later order_by values."""
    mode = draw.rng.choice(("replace", "upsert", "upsert_latest"))
    count = draw.rng.randint(2, 4)
    objects = tuple(draw.write(f"t{n}/o{j}.csv", mode, ordered=True) for j in range(count))
    return TableSpec(f"t{n}", mode, objects, newest_first=True, note="newest first")


def _rewrite(draw: _Draw, n: int) -> TableSpec:
    """One key written A -> B -> A among other files; at one event time now and then."""
    mode = draw.rng.choice(MODES)
    base = draw.table(n, mode)
    times = sorted(draw.time() for _ in range(3))
    same_time = draw.rng.random() < 0.3
    if same_time:
        times = [times[0]] * 3
    # Interleaved: each write once the one before is acknowledged (B is loaded);
    # else all three before any delivery (only the last content can be read).
    interleaved = draw.rng.random() < 0.5
    phases = (1, 2, 3) if interleaved else (1, 1, 1)
    key = f"t{n}/r.csv"
    a = draw.write(key, mode, at=times[0], nulls=False, phase=phases[0])
    b = draw.write(key, mode, at=times[1], nulls=False, phase=phases[1])
    again = ObjectSpec(key, a.rows, times[2], draw.next_sequencer(), phase=phases[2])
    note = f"A->B->A of {key}, " + ("interleaved" if interleaved else "written at once")
    note += ", one event time" if same_time else ""
    return replace(base, objects=(*base.objects, a, b, again), note=note)


def _schema_change(draw: _Draw, n: int) -> TableSpec:
    """Files of the old shape, the ALTER, then files of the new shape, all to one loader."""
    mode = draw.rng.choice(MODES)
    change = draw.rng.choice(sorted(SCHEMA_CHANGES))
    before, clauses, after = SCHEMA_CHANGES[change]
    counts = (draw.rng.randint(1, 2), draw.rng.randint(1, 2))
    times = iter(sorted(draw.time() for _ in range(sum(counts))))  # new files are newer
    first = [
        draw.write(f"t{n}/a{j}.csv", mode, at=next(times), columns=before) for j in range(counts[0])
    ]
    second = [
        draw.write(f"t{n}/b{j}.csv", mode, at=next(times), columns=after, phase=2)
        for j in range(counts[1])
    ]
    note = "then ".join(f"{c} " for c in clauses).strip()
    objects = (*first, *second)
    # One warm loader loads both phases: the one whose picture of the table may be stale.
    return TableSpec(f"t{n}", mode, objects, before, clauses, after, together=True, note=note)


def _schema_evolve(draw: _Draw, n: int) -> TableSpec:
    """Files that the loaders fit the table to: by name, new columns, longer values.

    Phase 1 (2-3 files): the base columns in any order, some with ``w``
    (one at least): the loaders create the table (``create``) or it has the
    base columns and they add ``w``. Phase 2 (1-3 files) adds ``note``, text
    of random lengths, and phase 3 (sometimes) longer notes still, so ADD
    COLUMN and widening run in every schedule, often in two loaders at once.
    Some keys are long: ``src`` (the key) outgrows its column too. Each phase
    is newer than the last; its files go to several loaders.
    """
    rng = draw.rng
    mode = rng.choice(MODES)
    create = rng.random() < 0.5
    counts = (rng.randint(2, 3), rng.randint(1, 3), rng.choice((0, 0, 1, 2)))
    times = iter(sorted(draw.time() for _ in range(sum(counts))))
    objects: list[ObjectSpec] = []
    brackets: tuple[tuple[int, int], ...] = NOTE_LENGTHS[:3]
    for phase, count in enumerate(counts, start=1):
        for j in range(count):
            extras = []
            last_chance = (
                phase == 1 and j == count - 1 and not any("w" in o.columns for o in objects)
            )
            if last_chance or rng.random() < 0.5:
                extras.append("w")
            if phase > 1 and (j == 0 or rng.random() < 0.7):
                extras.append("note")
            columns = [*BASE_COLUMNS, *extras]
            rng.shuffle(columns)
            rows = draw.rows(mode)
            if create and phase == 1:
                # A column none of the creating files holds a value in is created VARCHAR
                # (docs/schema.md), not the INT the oracle compares with: each holds one.
                rows = (replace(rows[0], k=rows[0].k or 1, ts=rows[0].ts or 10), *rows[1:])
            if "note" in extras:
                rows = tuple(replace(r, note=_note(rng, rng.choice(brackets))) for r in rows)
            long_key = LONG_KEY_PART * rng.randint(26, 40) if rng.random() < 0.25 else ""
            key = f"t{n}/{long_key}p{phase}e{j}.csv"
            obj = draw.write(
                key, mode, at=next(times), columns=tuple(columns), phase=phase, rows=rows
            )
            objects.append(obj)
        if phase == 2:  # phase 3's notes need a longer VARCHAR than any of phase 2's
            longest = max(len(r.note or "") for o in objects for r in o.rows)
            brackets = tuple(b for b in NOTE_LENGTHS if b[0] > longest)
    longest = max(len(r.note or "") for o in objects for r in o.rows)
    carried_w = sum("w" in o.columns for o in objects)
    note = (
        f"{'the loader creates it' if create else 'made at set-up'}, by name; w in {carried_w} "
        f"files, notes up to {longest} bytes, phases {'/'.join(str(c) for c in counts if c)}"
    )
    return TableSpec(f"t{n}", mode, tuple(objects), create=create, note=note)


def _note(rng: random.Random, bracket: tuple[int, int]) -> str:
    """Lower-case letters (sorted alike by Python and the database's collation)."""
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(*bracket)))


def _skip_rows(draw: _Draw, n: int) -> TableSpec:
    """Files with a few bad lines under ``on_error = "skip_rows"``; now and then too many.

    Append, or upsert with order_by; ``max_rejected_rows`` 1-3. Each file
    has 0 up to the limit bad lines (often exactly the limit, so that one
    COPY of several files goes over while no file does); in a phase of two
    or more files, half the time one has one or two more: it must fail and
    keep nothing. Two phases, each with a file under the limit, so every
    schedule reaches the rejects insert at least twice.
    """
    rng = draw.rng
    mode = rng.choice(("append", "append", "upsert"))
    limit = rng.randint(1, 3)
    counts = (rng.randint(2, 3), rng.randint(1, 2))
    times = iter(sorted(draw.time() for _ in range(sum(counts))))
    objects: list[ObjectSpec] = []
    for phase, count in enumerate(counts, start=1):
        over = rng.randrange(count) if count > 1 and rng.random() < 0.5 else -1
        for j in range(count):
            bad = (
                limit + rng.randint(1, 2)
                if j == over
                else rng.choice((0, limit, rng.randint(0, limit)))
            )
            rows = list(draw.rows(mode))
            while len(rows) <= bad:  # one good row at least
                rows += draw.rows(mode)
            places = frozenset(rng.sample(range(len(rows)), bad))
            obj = draw.write(
                f"t{n}/p{phase}e{j}.csv", mode, at=next(times), phase=phase, rows=tuple(rows)
            )
            objects.append(replace(obj, bad=places))
    spec = TableSpec(f"t{n}", mode, tuple(objects), max_rejected=limit)
    bad_lines = "/".join(str(len(o.bad)) for o in objects)
    over_count = sum(spec.over_limit(o) for o in objects)
    note = f"skip_rows, max_rejected_rows {limit}; bad lines {bad_lines}; {over_count} over"
    return replace(spec, note=note)


def _head_fault(draw: _Draw, n: int) -> tuple[TableSpec, FaultSpec]:
    """A replace or upsert batch in which one object's HeadObject fails, mostly the oldest's.

    The batch splits: the others load, the failed one comes back later, an
    older object after newer ones (issue #21's points 1 and 5).
    """
    mode = draw.rng.choice(("replace", "upsert", "upsert_latest"))
    table = draw.table(n, mode)
    oldest = min(table.objects, key=lambda o: o.at)
    aim = oldest if draw.rng.random() < 0.7 else draw.rng.choice(table.objects)
    note = f"one batch, HEAD of {aim.key} fails"
    fault = FaultSpec("head", draw.rng.choice(S3_KINDS), 1, where=f"/{aim.key}")
    return replace(table, together=True, note=note), fault


def walk(seed: int) -> list[tuple[str, str]]:
    """The two (point, kind) pairs ``seed``'s schedule injects first, whatever else it draws.

    Seed n takes pairs 2n and 2n + 1 of :data:`COMBINATIONS` (cyclically):
    ``k`` consecutive seeds walk ``2k`` consecutive pairs.
    """
    return [COMBINATIONS[(2 * seed + i) % len(COMBINATIONS)] for i in range(2)]


def draw_schedule(seed: int) -> Schedule:
    """The schedule of ``seed``: the same seed always gives the same schedule.

    Its first two faults walk through :data:`COMBINATIONS` with the seed, so
    any run of consecutive seeds at least half as long as that list injects
    every (point, kind) pair; the others are drawn at random. The kind
    (:data:`KINDS`) shapes table t0; the bucket is versioned now and then.
    A walk's fault at a DDL point makes the kind ``schema_evolve``, the only
    one whose loaders run DDL (at least two statements, so the second arrival
    comes too); one at the rejects insert makes it ``skip_rows`` (two phases:
    two loads at least).
    """
    rng = random.Random(seed)
    draw = _Draw(rng)
    kind = rng.choice(KINDS)
    tables = [draw.table(n, rng.choice(MODES)) for n in range(1, rng.randint(2, 4))]
    forced = walk(seed)
    if any(point in DDL_POINTS for point, _ in forced):
        kind = "schema_evolve"
    if any(point in REJECTS_POINTS for point, _ in forced):
        kind = "skip_rows"
    faults = [FaultSpec(p, k, 1 + i) for i, (p, k) in enumerate(forced)]
    if kind == "head_fault":
        subject, aimed = _head_fault(draw, 0)
        faults.append(aimed)
    else:
        shapes = {"out_of_order": _out_of_order, "rewrite": _rewrite}
        shapes |= {"schema_change": _schema_change, "schema_evolve": _schema_evolve}
        shapes |= {"skip_rows": _skip_rows}
        subject = shapes.get(kind, lambda d, n: d.table(n, rng.choice(MODES)))(draw, 0)
    for _ in range(rng.randint(0, 1 if kind == "head_fault" else 2)):
        point, fault_kind = rng.choice(COMBINATIONS)
        faults.append(FaultSpec(point, fault_kind, rng.randint(1, 4)))
    unique: dict[tuple[str, str, int], FaultSpec] = {}
    for fault in faults:  # one fault per arrival; the walk's two come first
        unique.setdefault((fault.point, fault.where, fault.occurrence), fault)
    return Schedule(
        seed=seed,
        tables=(subject, *tables),
        loaders=rng.randint(2, MAX_LOADERS),
        fresh_after_crash=rng.random() < 0.5,
        faults=tuple(unique.values()),
        deal_seed=rng.randrange(2**32),
        kind=kind,
        versioned=rng.random() < 0.25,
    )


# --- the outcome of one schedule ------------------------------------------------------


@dataclass
class Outcome:
    """What one schedule did and what the checks found."""

    schedule: Schedule
    fired: list[tuple[FaultSpec, str]] = field(default_factory=list)
    lost: dict[str, str] = field(default_factory=dict)
    duplicated: dict[str, str] = field(default_factory=dict)
    wrong: dict[str, str] = field(default_factory=dict)
    """Table -> how its content differs from the oracle of its mode."""
    problems: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    rounds: int = 0
    seconds: float = 0.0

    @property
    def injected(self) -> list[str]:
        """The faults that fired, and by which loader."""
        return [f"{fault} by {who}" for fault, who in self.fired]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong or self.problems)

    def report(self, command: str) -> str:
        """A failure report: seed, schedule, what happened, how to rerun it."""
        lines = [
            f"schedule seed {self.schedule.seed} FAILED "
            f"({len(self.lost)} lost, {len(self.duplicated)} duplicated, "
            f"{len(self.wrong)} wrong tables)",
            f"  schedule: {self.schedule.describe()}",
            f"  injected: {', '.join(self.injected) or 'nothing'}",
        ]
        lines += [f"  lost {key}: {why}" for key, why in sorted(self.lost.items())]
        lines += [f"  duplicated {key}: {why}" for key, why in sorted(self.duplicated.items())]
        lines += [f"  wrong {text}" for _, text in sorted(self.wrong.items())]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  round log: {e}" for e in self.events]
        lines.append(f"  rerun: {SEED_ENV_VAR}={self.schedule.seed} {command}")
        return _LONG_KEY.sub(
            lambda m: f"[{LONG_KEY_PART} x{len(m[0]) // len(LONG_KEY_PART)}]", "\n".join(lines)
        )


# --- the run: one server, one moto, many schedules ------------------------------------


class Run:
    """Runs schedules on one embedded environment, in a database of their own.

    Each schedule gets fresh schemas (tables, ledger) and a fresh bucket; the
    S3 clients are made once per loader slot and reused.
    """

    def __init__(self, env: EmbeddedEnvironment) -> None:
        self.env = env
        self.database = f"reliability_{uuid.uuid4().hex[:12]}"
        admin = env.connect()
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {quote_identifier(self.database)}")
        admin.close()
        self.dsn = env.database_dsn(self.database)
        self.admin = env.connect(database=self.database)
        self.admin.autocommit = True
        self.sql(f"CREATE SEQUENCE {COMMIT_ORDER_SEQUENCE}")
        self.terminator = Terminator(lambda: env.connect(database=self.database))
        self.s3 = env.boto3_client("s3")
        self.slots = [
            (HookedS3(env.boto3_client("s3"), "loader"), HookedS3(env.boto3_client("s3"), "copy"))
            for _ in range(MAX_LOADERS)
        ]

    def close(self) -> None:
        """Drop the run's database and close every connection and client."""
        self.terminator.close()
        self.admin.close()
        admin = self.env.connect()
        admin.autocommit = True
        try:
            admin.cursor().execute(f"DROP DATABASE {quote_identifier(self.database)} WITH (FORCE)")
        finally:
            admin.close()
        for pair in self.slots:
            for hooked in pair:
                hooked.client.close()
        self.s3.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        cursor = self.admin.cursor()
        cursor.execute(statement)
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    # --- one schedule ---------------------------------------------------------------

    def run(self, schedule: Schedule) -> Outcome:
        started = time.monotonic()
        outcome = Outcome(schedule)
        stamp = uuid.uuid4().hex[:10]
        world = _World(self, schedule, stamp)
        self.terminator.survivors.clear()
        try:
            world.set_up()
            world.replay(outcome)
            world.verify(outcome)
        finally:
            world.tear_down()
        outcome.fired = list(world.injector.fired)
        if self.terminator.survivors:
            outcome.problems.append(f"backends not terminated: {self.terminator.survivors}")
        outcome.seconds = time.monotonic() - started
        return outcome


@dataclass
class _Delivery:
    """One loader's invocation in one round."""

    slot: int
    batch: list[int]
    report: LoadReport | None = None
    crash: BaseException | None = None


class _World:
    """One schedule's schemas, bucket, objects, loaders and replay state."""

    def __init__(self, run: Run, schedule: Schedule, stamp: str) -> None:
        self.run = run
        self.schedule = schedule
        self.schema = f"rel_{stamp}"
        self.ledger_schema = f"rel_{stamp}_ledger"
        self.bucket = f"reliability-{stamp}"
        self.injector = Injector(schedule.faults)
        self.writes = [(t, o) for t in schedule.tables for o in t.objects]
        """Every write the schedule makes, by index (an event's index is its write's)."""
        self.objects: dict[int, S3Object] = {}
        """The events of the writes made so far."""
        self.table_of = {o.key: t for t, o in self.writes}
        self.columns = {t.name: t.columns for t in schedule.tables}
        """Each table's columns now (they change when its ALTER runs)."""
        self.phase = {t.name: 0 for t in schedule.tables}
        """Each table's last phase whose writes are made."""
        self.after: dict[int, int] = {}
        """Event -> the event that must be acknowledged before it is delivered."""
        self.latest: dict[str, int] = {}
        """S3 key -> its last write made so far."""
        self.current: dict[int, bool] = {}
        """Event -> whether COPY could read its write when it was first delivered."""
        self.loaders: list[Loader | None] = [None] * schedule.loaders
        self.closed: list[Loader] = []
        self.acked: dict[int, set[str]] = {}
        """Acknowledged event -> the outcomes it was acknowledged with."""
        self.last_error: dict[int, str] = {}
        self.config = LoaderConfig.from_mapping(
            {
                **connector_config(run.dsn),
                "copy": {"iam_role": "default"},
                "ledger": {"enabled": True, "schema": self.ledger_schema},
                "tables": [self._rule(t) for t in schedule.tables],
            }
        )

    def _rule(self, table: TableSpec) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "pattern": f"{table.name}/**",
            "schema": self.schema,
            "table": table.name,
            "format": {"type": "csv", "ignore_header": 1},
            "mode": "upsert" if table.mode.startswith("upsert") else table.mode,
        }
        if table.mode.startswith("upsert"):
            rule["keys"] = ["k"]
            rule["order_by"] = "ts" if table.mode == "upsert" else ""
        if table.create is not None:
            rule["schema_policy"] = {**EVOLVE_POLICY, "create": table.create}
        if table.max_rejected is not None:
            rule["options"] = {"on_error": "skip_rows", "max_rejected_rows": table.max_rejected}
        return rule

    def table(self, spec: TableSpec) -> TableRef:
        return TableRef(self.schema, spec.name)

    # --- set-up and tear-down -------------------------------------------------------

    def set_up(self) -> None:
        self.run.sql(f"CREATE SCHEMA {quote_identifier(self.schema)}")
        for spec in self.schedule.tables:
            if spec.create:
                continue  # its loaders create it, typed from their files
            columns = ", ".join(f"{c} {COLUMN_TYPES[c]}" for c in spec.columns)
            self.run.sql(f"CREATE TABLE {self.table(spec).sql} ({columns})")
        self.run.s3.create_bucket(Bucket=self.bucket)
        if self.schedule.versioned:
            self.run.s3.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        for spec in self.schedule.tables:
            self._make_phase(spec, 1)
            if spec.newest_first:  # all its writes are phase 1
                mine = [i for i, (t, _) in enumerate(self.writes) if t is spec]
                newest = max(mine, key=lambda i: load_order(self.objects[i]))
                self.after.update({i: newest for i in mine if i != newest})
        for slot in range(self.schedule.loaders):
            for hooked in self.run.slots[slot]:
                hooked.injector = self.injector
                hooked.who = f"loader{slot}"
            self.loaders[slot] = self._loader(slot)

    def _make_phase(self, spec: TableSpec, phase: int) -> None:
        """Write ``spec``'s files of ``phase`` to S3, in order, keeping the events S3 sends."""
        for index, (t, obj) in enumerate(self.writes):
            if t is not spec or obj.phase != phase:
                continue
            body = obj.csv().encode()
            put = self.run.s3.put_object(Bucket=self.bucket, Key=obj.key, Body=body)
            self.objects[index] = S3Object(
                bucket=self.bucket,
                key=obj.key,
                size=len(body),
                etag=put["ETag"],
                version_id=put.get("VersionId") if self.schedule.versioned else None,
                sequencer=obj.sequencer,
                event_time=obj.at,
                event_name="ObjectCreated:Put",
                message_id=f"msg-{index}-{obj.key}",
            )
            self.latest[obj.key] = index
        self.phase[spec.name] = phase

    def _loader(self, slot: int) -> Loader:
        """A Loader with its own transport, whose connections can be broken."""
        hooked_loader, hooked_copy = self.run.slots[slot]
        sessions = StandInConnector.from_dsn(self.run.dsn, s3_client=hooked_copy.client)

        def connect() -> FaultConnection:
            return FaultConnection(
                sessions(),
                injector=self.injector,
                terminator=self.run.terminator,
                ledger_prefix=f'{quote_identifier(self.ledger_schema)}."{LEDGER_TABLE_PREFIX}',
                who=f"loader{slot}",
            )

        return Loader(
            self.config,
            # Its tables in flight together, a session each (target.max_in_flight).
            transport=stand_in_transport(connect, max_in_flight=self.config.target.max_in_flight),
            s3_client=hooked_loader.client,
            # Real pauses, shortened: backoff shapes the race, not its outcome.
            sleep=lambda seconds: time.sleep(min(seconds, 0.2)),
        )

    def tear_down(self) -> None:
        for loader in [*self.loaders, *self.closed]:
            if loader is not None:
                loader.close()
        for slot in range(self.schedule.loaders):
            for hooked in self.run.slots[slot]:
                hooked.injector = None
        for schema in (self.schema, self.ledger_schema):
            self.run.sql(f"DROP SCHEMA IF EXISTS {quote_identifier(schema)} CASCADE")

    # --- the replay -------------------------------------------------------------------

    def _deal(self, rng: random.Random, pending: Sequence[int]) -> list[list[int]]:
        """Overlapping batches covering ``pending``; SQS may redeliver an acknowledged one."""
        batches: list[list[int]] = [[] for _ in range(self.schedule.loaders)]
        for index in pending:
            if self.writes[index][0].together:  # one batch for all of them, no second copy
                batches[0].append(index)
                continue
            first = rng.randrange(len(batches))
            batches[first].append(index)
            if rng.random() < 0.35:
                batches[(first + rng.randrange(1, len(batches))) % len(batches)].append(index)
        for index in sorted(self.acked):
            if rng.random() < 0.08:
                batches[rng.randrange(len(batches))].append(index)
        for batch in batches:
            rng.shuffle(batch)
        return batches

    def _invoke(self, delivery: _Delivery) -> _Delivery:
        loader = self.loaders[delivery.slot]
        assert loader is not None
        try:
            delivery.report = loader.load(
                [self.objects[i] for i in delivery.batch], time_budget=LOAD_BUDGET_S
            )
        except (InjectedInterrupt, Exception) as exc:
            delivery.crash = exc
        return delivery

    def replay(self, outcome: Outcome) -> None:
        rng = random.Random(self.schedule.deal_seed)
        deadline = time.monotonic() + SCHEDULE_DEADLINE_S
        waiting = list(range(len(self.writes)))
        with ThreadPoolExecutor(max_workers=self.schedule.loaders) as pool:
            while waiting and outcome.rounds < MAX_ROUNDS and time.monotonic() < deadline:
                outcome.rounds += 1
                self._next_phases(outcome)
                pending = [i for i in waiting if i in self.objects and self._released(i)]
                batches = self._deal(rng, pending)
                for i in (i for b in batches for i in b if i not in self.current):
                    self.current[i] = self._readable(i)  # its first delivery
                deliveries = [_Delivery(slot, b) for slot, b in enumerate(batches) if b]
                for delivery in pool.map(self._invoke, deliveries):
                    self._settle(delivery, outcome)
                waiting = [i for i in range(len(self.writes)) if i not in self.acked]
        if waiting:
            keys = ", ".join(self.writes[i][1].key for i in waiting)
            outcome.problems.append(
                f"not acknowledged after {outcome.rounds} rounds: {keys} "
                f"(last errors: {'; '.join(self._last_errors(waiting)) or 'none'})"
            )

    def _released(self, index: int) -> bool:
        """Whether the event may be delivered: what it waits for (if anything) is acknowledged."""
        return index not in self.after or self.after[index] in self.acked

    def _next_phases(self, outcome: Outcome) -> None:
        """Between batches: a table's next files once all of its earlier ones are acknowledged.

        Before its phase 2, a table's ALTER runs: the schema changes between batches.
        """
        for spec in self.schedule.tables:
            phase = self.phase[spec.name] + 1
            mine = [(i, o) for i, (t, o) in enumerate(self.writes) if t is spec]
            if not any(o.phase == phase for _, o in mine):
                continue
            if any(o.phase < phase and i not in self.acked for i, o in mine):
                continue
            if phase == 2 and spec.alter and not self._alter(spec, outcome):
                continue
            self._make_phase(spec, phase)
            outcome.events.append(f"before round {outcome.rounds}: {spec.name} phase {phase}")

    def _alter(self, spec: TableSpec, outcome: Outcome) -> bool:
        """Run ``spec``'s ALTER TABLE; False (and a problem) if a loader's lock blocks it.

        Between rounds no load runs, so a lock still held on the table is a
        transaction some loader left open: waiting for it would hang the run.
        """
        try:
            self.run.sql(f"SET lock_timeout = '{ALTER_LOCK_TIMEOUT_S}s'")
            for clause in spec.alter:
                self.run.sql(f"ALTER TABLE {self.table(spec).sql} {clause}")
        except Exception as exc:
            outcome.problems.append(f"ALTER TABLE {spec.name} failed between rounds: {exc}")
            self.phase[spec.name] = 2  # its new files are never written: not acknowledged
            return False
        finally:
            self.run.sql("RESET lock_timeout")
        self.columns[spec.name] = spec.after
        return True

    def _readable(self, index: int) -> bool:
        """Whether COPY can read what event ``index`` wrote: it is what its key holds now."""
        latest = self.latest[self.writes[index][1].key]
        if self.schedule.versioned:
            return latest == index
        return self.writes[index][1].csv() == self.writes[latest][1].csv()

    def _last_errors(self, pending: Sequence[int]) -> list[str]:
        return [self.last_error[i] for i in pending if i in self.last_error]

    def _settle(self, delivery: _Delivery, outcome: Outcome) -> None:
        """Acknowledge what the invocation reported done; note crashes and raw errors."""
        who = f"round {outcome.rounds} loader{delivery.slot}"
        if delivery.crash is not None:
            self._crashed(delivery, who, outcome)
            return
        assert delivery.report is not None
        failed = []
        for index, result in zip(delivery.batch, delivery.report.objects, strict=True):
            if self._acknowledge(index, result, who, outcome):
                continue
            failed.append(result.s3_object.key)
            error = result.error
            name = type(error).__name__ if error is not None else "?"
            self.last_error[index] = f"{result.s3_object.key}: {name}: {result.reason[:160]}"
        if failed:
            outcome.events.append(f"{who}: failed {', '.join(sorted(failed))}")

    def _acknowledge(self, index: int, result: ObjectResult, who: str, outcome: Outcome) -> bool:
        """Acknowledge one object the report says is done; False when it must come back.

        A file over ``max_rejected_rows`` refused (``DataRejectedError``) is done
        (:data:`REFUSED`); a file within it refused is a problem: it would
        never load, though its good rows should.
        """
        spec, obj = self.writes[index]
        refused = result.outcome == "failed" and isinstance(result.error, DataRejectedError)
        if result.outcome in ACKED or (refused and spec.over_limit(obj)):
            self.acked.setdefault(index, set()).add(REFUSED if refused else result.outcome)
            return True
        if refused and spec.max_rejected is not None:
            outcome.problems.append(
                f"{who}: {obj.key} has {len(obj.bad)} bad lines, within max_rejected_rows "
                f"{spec.max_rejected}, yet was refused: {result.reason[:160]}"
            )
        return False

    def _crashed(self, delivery: _Delivery, who: str, outcome: Outcome) -> None:
        """A crashed invocation: its whole batch comes back; the process may be a new one."""
        exc = delivery.crash
        assert exc is not None
        if not isinstance(exc, InjectedInterrupt):
            kind = "project error" if isinstance(exc, S3RedshiftError) else "raw exception"
            outcome.problems.append(
                f"{who}: Loader.load() raised ({kind}) {type(exc).__name__}: {exc}"
            )
        outcome.events.append(f"{who}: crashed with {type(exc).__name__}: {exc}")
        for i in delivery.batch:
            self.last_error[i] = f"{self.objects[i].key}: crash {type(exc).__name__}"
        if self.schedule.fresh_after_crash:
            old = self.loaders[delivery.slot]
            assert old is not None
            old.close()  # the process died: its session ends, the server rolls back
            self.closed.append(old)
            self.loaders[delivery.slot] = self._loader(delivery.slot)

    # --- the checks --------------------------------------------------------------------

    def verify(self, outcome: Outcome) -> None:
        self._check_temp_tables(outcome)
        ledger = self._ledger(outcome)
        for spec in self.schedule.tables:
            columns = self.columns[spec.name]
            if spec.create is not None:
                found = self._evolved_columns(spec, ledger, outcome)
                if found is None:
                    continue
                columns = found
            names = ", ".join(quote_identifier(c) for c in columns)
            rows = self.run.sql(f"SELECT {names} FROM {self.table(spec).sql}")
            self._check_exactly_once(spec, columns, rows, ledger, outcome)
            self._check_contents(spec, columns, rows, ledger, outcome)
        self._check_rejects(ledger, outcome)
        for index, outcomes in sorted(self.acked.items()):
            key = self.objects[index].key
            if outcomes & {"loaded", "duplicate"} and not ledger.get(key):
                outcome.lost.setdefault(key, "acknowledged, but the ledger does not hold it")

    def _check_rejects(self, ledger: dict[str, list[tuple[str, int]]], outcome: Outcome) -> None:
        """load_rejects as :func:`oracle.rejects_oracle` says; a file over the limit never loads.

        Each recorded row must name the object version and batch the ledger
        says loaded it: both commit in one transaction. A table without
        ``skip_rows`` has no rejected rows at all.
        """
        rejects = rejects_table_for(self.ledger_schema)
        if not self._exists(rejects):
            return
        recorded: dict[str, list[tuple[Any, ...]]] = {}
        for target, *row in self.run.sql(
            "SELECT target_table, object_key, object_identity, batch_id, line_number, "
            f"column_name, raw_line FROM {rejects.sql}"
        ):
            recorded.setdefault(str(target), []).append(tuple(row))
        for spec in self.schedule.tables:
            rows = recorded.pop(str(self.table(spec)), [])
            if spec.max_rejected is not None:
                self._check_refused(spec, ledger, outcome)
                self._check_rejects_of(spec, rows, outcome)
            elif rows:
                _wrong(outcome, spec.name, f"{spec.name}: {len(rows)} rejected rows recorded")
        for target, rows in sorted(recorded.items()):
            outcome.problems.append(f"{len(rows)} rejected rows recorded for {target}")

    def _check_refused(
        self, spec: TableSpec, ledger: dict[str, list[tuple[str, int]]], outcome: Outcome
    ) -> None:
        """A file over ``max_rejected_rows`` is neither in the ledger nor reported loaded."""
        for i, (t, obj) in enumerate(self.writes):
            if t is not spec or not spec.over_limit(obj):
                continue
            said = self.acked.get(i, set()) & {"loaded", "duplicate"}
            if obj.key in ledger or said:
                _wrong(
                    outcome,
                    spec.name,
                    f"{spec.name}: {obj.key} has {len(obj.bad)} bad lines, over "
                    f"max_rejected_rows {spec.max_rejected}, yet "
                    + ("the ledger holds it" if obj.key in ledger else f"it was {min(said)}"),
                )

    def _check_rejects_of(
        self, spec: TableSpec, rows: Sequence[tuple[Any, ...]], outcome: Outcome
    ) -> None:
        """One skip_rows table's rejected rows: the oracle's, each in its ledger row's batch."""
        ledger_rows = self.run.sql(
            "SELECT object_key, object_identity, batch_id "
            f"FROM {ledger_table_for(self.ledger_schema, self.table(spec)).sql}"
        )
        batch_of = {(str(k), str(i)): str(b) for k, i, b in ledger_rows}
        writes = self._oracle_writes(spec, self.columns[spec.name])
        expected = oracle.rejects_oracle(writes, batch_of)
        actual = [(key, int(line), column, raw) for key, _, _, line, column, raw in rows]
        missing, extra = oracle.compare(expected, actual)
        problems = [f"{spec.name} load_rejects lacks {m}" for m in missing]
        problems += [f"{spec.name} load_rejects holds {e!r} beyond the oracle" for e in extra]
        for key, identity, batch, line, *_ in rows:
            loaded = batch_of.get((str(key), str(identity)))
            if loaded is not None and loaded != batch:
                problems.append(
                    f"{spec.name} load_rejects: {key} line {line} recorded by batch {batch}, "
                    f"the ledger says batch {loaded} loaded it"
                )
        if len(problems) > DIFF_LINES:
            problems = [*problems[:DIFF_LINES], f"... and {len(problems) - DIFF_LINES} more"]
        if problems:
            _wrong(outcome, spec.name, "\n      ".join(problems))

    def _exists(self, table: TableRef) -> bool:
        """Whether ``table`` exists (the loaders create the ledger's tables)."""
        name = table.sql.replace("'", "''")
        return self.run.sql(f"SELECT to_regclass('{name}') IS NOT NULL") == [(True,)]

    def _evolved_columns(
        self, spec: TableSpec, ledger: dict[str, list[tuple[str, int]]], outcome: Outcome
    ) -> tuple[str, ...] | None:
        """A schema policy's table: its columns now, each loaded file's among them.

        Every column a file that was loaded (acknowledged ``loaded`` or
        ``duplicate``, or in the ledger) carried must be in the table: else
        the table is wrong ("column lost"). None when there is no table.
        """
        rows = self.run.sql(
            "SELECT column_name, character_maximum_length FROM information_schema.columns "
            f"WHERE table_schema = '{self.schema}' AND table_name = '{spec.name}' "
            "ORDER BY ordinal_position"
        )
        columns = tuple(str(name) for name, _ in rows)
        self._check_never_narrowed(spec, {str(n): size for n, size in rows}, outcome)
        loaded = [
            obj
            for i, (t, obj) in enumerate(self.writes)
            if t is spec
            and (self.acked.get(i, set()) & {"loaded", "duplicate"} or obj.key in ledger)
        ]
        lost = {c: o.key for o in loaded for c in o.columns if c not in columns}
        if lost:
            _wrong(
                outcome,
                spec.name,
                f"{spec.name}: column lost: "
                + ", ".join(f"{c} (carried by {_short(repr(k))})" for c, k in sorted(lost.items()))
                + f"; the table has {', '.join(columns) if columns else 'not been created'}",
            )
        return columns or None

    def _check_never_narrowed(
        self, spec: TableSpec, sizes: dict[str, int | None], outcome: Outcome
    ) -> None:
        """Each VARCHAR at least as long as any ADD COLUMN or widening that ran made it.

        A schema policy never narrows a column; a widening planned from a
        stale catalog read, run after another loader's longer one, would.
        (A CREATE TABLE IF NOT EXISTS may have been a no-op: it proves nothing.)
        """
        widest: dict[str, tuple[int, str]] = {}
        for who, sql in self.injector.ddl:
            if not sql.startswith(f"ALTER TABLE {self.table(spec).sql} "):
                continue
            for match in _DDL_VARCHAR.finditer(sql):
                name, length = match["column"], int(match["length"])
                if length > widest.get(name, (0, ""))[0]:
                    widest[name] = (length, who)
        for name, (length, who) in sorted(widest.items()):
            now = sizes.get(name)
            if now is not None and now < length:
                outcome.problems.append(
                    f"{spec.name}.{name} is VARCHAR({now}), but {who} had made it "
                    f"VARCHAR({length}): a later schema change narrowed it"
                )

    def _check_temp_tables(self, outcome: Outcome) -> None:
        """No load's temp table in a live session (a killed one may still be exiting)."""
        names = ", ".join(f"'{n}'" for n in TEMP_TABLES)
        query = (
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE n.nspname LIKE 'pg_temp%' AND c.relname IN ({names})"
        )
        left = self.run.sql(query)
        for _ in range(40):
            if not left:
                return
            time.sleep(0.05)
            left = self.run.sql(query)
        outcome.problems.append(
            "temp tables left in live sessions: " + ", ".join(f"{s}.{t}" for s, t in left)
        )

    def _ledger(self, outcome: Outcome) -> dict[str, list[tuple[str, int]]]:
        """Ledger rows per object key: (identity, place of its transaction in commit order)."""
        # One ledger table per target: read them all.
        tables = self.run.sql(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{self.ledger_schema}' ORDER BY table_name"
        )
        rows = []
        for (name,) in tables:
            if not is_ledger_table(name):
                continue  # the failures table lives beside the ledgers; it proves nothing
            ledger = TableRef(self.ledger_schema, name)
            for row in self.run.sql(
                "SELECT bucket, object_key, object_identity, target_table, batch_id, "
                f"xmin::text::bigint FROM {ledger.sql}"
            ):
                if ledger_table_for(self.ledger_schema, TableRef.parse(row[3])) != ledger:
                    outcome.problems.append(f"ledger row of {row[1]} in another table's ledger")
                rows.append(row)
        by_key: dict[str, list[tuple[str, int]]] = {}
        identities: Counter[tuple[str, str]] = Counter()
        order = self.injector.commit_order
        for bucket, key, identity, target, _batch, xid in rows:
            if int(xid) not in order:
                outcome.problems.append(f"ledger row of {key} from a commit no loader asked for")
                continue
            spec = self.table_of.get(key)
            if bucket != self.bucket or spec is None or not self._known(key, str(identity)):
                outcome.problems.append(f"ledger row for an unknown object: {bucket}/{key}")
                continue
            if target != str(self.table(spec)):
                outcome.problems.append(f"ledger says {key} went to {target}")
            identities[key, str(identity)] += 1
            by_key.setdefault(key, []).append((str(identity), order[int(xid)]))
        for (key, identity), n in identities.items():
            if n > 1:
                outcome.duplicated[key] = f"identity {identity} in the ledger {n} times"
        for key, entries in by_key.items():
            if len(entries) > self._loadable(key):
                outcome.duplicated.setdefault(key, f"in the ledger {len(entries)} times")
        return by_key

    def _known(self, key: str, identity: str) -> bool:
        """Whether a ledger identity names a write of ``key`` (:meth:`oracle.Write.named_by`)."""
        return any(w.named_by(identity) for w in self._writes_of(key))

    def _writes_of(self, key: str) -> list[oracle.Write]:
        return [w for w in self._oracle_writes(self.table_of[key], ()) if w.key == key]

    def _loadable(self, key: str) -> int:
        """How many ledger rows ``key`` may have: one per object version COPY could read.

        On an unversioned bucket, A -> B -> A makes two writes of A's content:
        append's identity (the ETag) makes them one object version, replace's
        and upsert's (the write) two.
        """
        readable = [w for w in self._writes_of(key) if w.current]
        if self.table_of[key].mode == "append":
            return len({w.identity for w in readable})
        return len(readable)

    def _check_exactly_once(
        self,
        spec: TableSpec,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        ledger: dict[str, list[tuple[str, int]]],
        outcome: Outcome,
    ) -> None:
        """Each row once per object version holding it, only from objects the ledger holds.

        Append must hold every row of every version (a row of A is in the
        table twice after A -> B -> A on a versioned bucket: two versions).
        """
        at_id, at_src = columns.index("row_id"), columns.index("src")
        counts = Counter((int(r[at_id]), str(r[at_src])) for r in rows)
        versions: Counter[tuple[int, str]] = Counter()
        if spec.mode == "append":
            for row, n in oracle.append_oracle(self._oracle_writes(spec, columns)).fixed.items():
                versions[row[at_id], row[at_src]] += n
        for (row_id, src), n in counts.items():
            if src not in ledger:
                outcome.duplicated.setdefault(
                    src, f"row {row_id} is in {spec.name} but the ledger has no record of {src}"
                )
            elif n > max(1, versions[row_id, src]):
                outcome.duplicated.setdefault(src, f"row {row_id} is in {spec.name} {n} times")
        for (row_id, src), n in versions.items():
            if counts[row_id, src] < n:
                outcome.lost.setdefault(src, f"row {row_id} is missing from {spec.name}")

    def _oracle_writes(self, spec: TableSpec, columns: Sequence[str]) -> list[oracle.Write]:
        """What was delivered to ``spec``'s table, as the oracle takes it."""
        writes = []
        for i, (t, obj) in enumerate(self.writes):
            if t is spec and i in self.current:
                event = self.objects[i]
                writes.append(
                    oracle.Write(
                        obj.key,
                        load_order(event),
                        obj.table_rows(columns),
                        self.current[i],
                        identity=event.identity or "",
                        etag=event.etag or "",
                        rejected=obj.rejected(),
                        refused=spec.over_limit(obj),
                    )
                )
        return writes

    def _check_contents(
        self,
        spec: TableSpec,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        ledger: dict[str, list[tuple[str, int]]],
        outcome: Outcome,
    ) -> None:
        """The table against the oracle of its mode; a short diff when they differ."""
        writes = self._oracle_writes(spec, columns)
        key_at = columns.index("k")
        if spec.mode == "append":
            expected = oracle.append_oracle(writes)
        elif spec.mode == "replace":
            expected = oracle.replace_oracle(writes)
        elif spec.mode == "upsert":
            expected = oracle.upsert_oracle(writes, key_at=key_at, order_at=columns.index("ts"))
        else:
            loads = [
                (place, key, identity)
                for key, entries in ledger.items()
                if self.table_of[key] is spec
                for identity, place in entries
            ]
            expected = oracle.upsert_latest_oracle(writes, key_at=key_at, loads=loads)
        missing, extra = oracle.compare(expected, rows)
        if missing or extra:
            _wrong(outcome, spec.name, _diff(spec, columns, expected, rows, missing, extra))


def _wrong(outcome: Outcome, table: str, text: str) -> None:
    """Note what is wrong with ``table`` (beside what was noted already)."""
    outcome.wrong[table] = "\n".join(filter(None, (outcome.wrong.get(table), text)))


_DDL_VARCHAR = re.compile(
    r'(?:ADD COLUMN|ALTER COLUMN) "(?P<column>[^"]+)" (?:TYPE )?VARCHAR\((?P<length>\d+)\)'
)
"""The column and length an ADD COLUMN or a widening gives a text column."""
_LONG_TEXT = re.compile(r"'([a-z0-9/.-]{12})[a-z0-9/.-]{28,}'")
"""A note or a long key in a row's repr (never the text between two strings)."""


def _short(text: str) -> str:
    """Long strings (a note, a long key) cut to their start and length, for a report."""
    return _LONG_TEXT.sub(lambda m: f"'{m[1]}...'[{len(m[0]) - 2} chars]", text)


def _diff(
    spec: TableSpec,
    columns: Sequence[str],
    expected: oracle.Expected,
    rows: Sequence[tuple[Any, ...]],
    missing: Sequence[str],
    extra: Sequence[tuple[Any, ...]],
) -> str:
    """Which table, which mode, the expected and the actual rows and their difference.

    Both sides are listed in full when they are short (up to
    :data:`DIFF_LINES` rows each); the difference always, cut at as many lines.
    """
    want = sorted(repr(r) for r in expected.fixed.elements())
    want += ["one of " + " | ".join(sorted(repr(r) for r in o)) for o in expected.open]
    have = sorted(repr(r) for r in rows)
    lines = [
        f"{spec.name} ({spec.mode}, columns {', '.join(columns)}): "
        f"expected {len(want)} rows, the table holds {len(have)}"
    ]
    if len(want) <= DIFF_LINES and len(have) <= DIFF_LINES:
        lines += [f"      expected: {', '.join(want) or 'no rows'}"]
        lines += [f"      actual:   {', '.join(have) or 'no rows'}"]
    for label, items in (("missing", missing), ("unexpected", [repr(r) for r in extra])):
        lines += [f"      {label}: {item}" for item in items[:DIFF_LINES]]
        if len(items) > DIFF_LINES:
            lines.append(f"      {label}: ... and {len(items) - DIFF_LINES} more")
    return _short("\n".join(lines))


# --- many schedules: what `make reliability` and the test subset share ----------------


COUNT_ENV_VAR = "S3REDSHIFT_RELIABILITY_SCHEDULES"


def seeds_from_env(default_count: int, environ: dict[str, str]) -> list[int]:
    """One seed to replay (``S3REDSHIFT_RELIABILITY_SEED``), else a random run of seeds.

    Consecutive seeds walk through every (point, kind) pair; the start is
    random, so each run covers different schedules.
    """
    if environ.get(SEED_ENV_VAR):
        return [int(environ[SEED_ENV_VAR])]
    count = int(environ.get(COUNT_ENV_VAR) or default_count)
    start = random.SystemRandom().randrange(10**6)
    return list(range(start, start + count))


@dataclass
class Summary:
    """Totals of a run of schedules."""

    schedules: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    """Schedules that left a table whose content differs from the oracle of its mode."""
    failures: list[Outcome] = field(default_factory=list)
    injected: set[tuple[str, str]] = field(default_factory=set)
    walked: set[tuple[str, str]] = field(default_factory=set)
    """The pairs the seeds' walks aimed at (:func:`walk`): each must fire."""
    by_point: Counter[str] = field(default_factory=Counter)
    """How many faults fired at each point."""
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.schedules} schedules, {self.faults} faults injected, "
            f"{self.lost} lost, {self.duplicated} duplicated, {self.wrong} wrong"
        )

    def points(self) -> str:
        """Faults fired per point, in the order of :data:`COMBINATIONS`."""
        points = dict.fromkeys(p for p, _ in COMBINATIONS)
        return ", ".join(f"{p} {self.by_point[p]}" for p in points)

    @property
    def missed(self) -> list[tuple[str, str]]:
        """(point, kind) pairs the walk aimed at but that were never injected in this run.

        Each walked pair fires in its seed's schedule: one that does not is a
        step no longer recognised, and the harness tests less than it says.
        """
        return [c for c in COMBINATIONS if c in self.walked and c not in self.injected]

    @property
    def unwalked(self) -> list[tuple[str, str]]:
        """(point, kind) pairs no seed of this run walked (a run shorter than the walk)."""
        return [c for c in COMBINATIONS if c not in self.walked]


def run_schedules(
    env: EmbeddedEnvironment,
    seeds: Sequence[int],
    *,
    command: str,
    echo: Callable[[str], None] = lambda _: None,
) -> Summary:
    """Run each seed's schedule on ``env`` and add up what they found."""
    summary = Summary()
    started = time.monotonic()
    with Run(env) as run:
        for seed in seeds:
            outcome = run.run(draw_schedule(seed))
            summary.schedules += 1
            summary.faults += len(outcome.fired)
            summary.lost += len(outcome.lost)
            summary.duplicated += len(outcome.duplicated)
            summary.wrong += 1 if outcome.wrong else 0
            summary.injected |= {(fault.point, fault.kind) for fault, _ in outcome.fired}
            summary.walked |= set(walk(seed))
            summary.by_point.update(fault.point for fault, _ in outcome.fired)
            if not outcome.ok:
                summary.failures.append(outcome)
                echo(outcome.report(command))
    summary.seconds = time.monotonic() - started
    return summary
