"""Seeded schedules of concurrent loaders under faults, replayed until acknowledged.

A schedule is drawn from its seed alone: 2-4 tables (each in one load mode),
a pool of small CSV objects with unique row ids, 2-4 loaders and a few faults.
Each round deals the unacknowledged objects to the loaders in overlapping
batches (and, like SQS, now and then delivers an acknowledged one again); the
loaders run at once, each on its own thread with its own warm ``Loader``.
An object reported ``loaded`` or ``duplicate`` (or skipped with a reason) is
acknowledged; a failed one comes back next round; an escaped
``BaseException`` is a crashed invocation whose whole batch comes back.
Afterwards the tables and the ledger are read back and every object is judged.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reliability.faults import (
    COMBINATIONS,
    COMMIT_ORDER_SEQUENCE,
    FaultConnection,
    FaultSpec,
    HookedS3,
    InjectedInterrupt,
    Injector,
    Terminator,
)
from s3redshift.config import LoaderConfig
from s3redshift.errors import S3RedshiftError
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef, quote_identifier
from s3redshift.ledger import LEDGER_TABLE_PREFIX, is_ledger_table, ledger_table_for
from s3redshift.loader import Loader, load_order
from s3redshift.local.standin import StandInConnector
from s3redshift.report import LoadReport
from s3redshift.transports.connector import ConnectorTransport

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
MAX_ROUNDS = 8
LOAD_BUDGET_S = 8.0
"""Each ``load()``'s time budget, as the Lambda's remaining time would be."""
SCHEDULE_DEADLINE_S = 60.0
MODES = ("append", "upsert", "upsert_latest", "replace")
"""``upsert`` has keys and order_by; ``upsert_latest`` keys only (later object wins)."""
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TEMP_TABLES = ("s3redshift_batch", "s3redshift_stage", "s3redshift_latest")
ACKED = frozenset({"loaded", "duplicate", "superseded", "unmapped", "ignored"})
"""Outcomes SQS would see as success (a skip always carries its reason)."""


# --- the schedule, drawn from a seed --------------------------------------------------


@dataclass(frozen=True)
class Row:
    row_id: int
    k: int
    ts: int


@dataclass(frozen=True)
class ObjectSpec:
    key: str
    rows: tuple[Row, ...]
    at: datetime

    def csv(self) -> str:
        lines = ["row_id,k,ts,src", *(f"{r.row_id},{r.k},{r.ts},{self.key}" for r in self.rows)]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TableSpec:
    name: str
    mode: str
    objects: tuple[ObjectSpec, ...]


@dataclass(frozen=True)
class Schedule:
    seed: int
    tables: tuple[TableSpec, ...]
    loaders: int
    fresh_after_crash: bool
    faults: tuple[FaultSpec, ...]
    deal_seed: int

    def describe(self) -> str:
        tables = ", ".join(f"{t.name}:{t.mode}x{len(t.objects)}" for t in self.tables)
        crash = "fresh Loader" if self.fresh_after_crash else "warm Loader"
        faults = ", ".join(str(f) for f in self.faults)
        return (
            f"tables [{tables}]; {self.loaders} loaders; after a crash: {crash}; faults [{faults}]"
        )


def _rows(mode: str, rng: random.Random, next_id: Callable[[], int]) -> tuple[Row, ...]:
    count = rng.randint(1, 3)
    if mode == "upsert":  # repeats of a key inside one object: order_by picks
        # ts is unique (the row id breaks ties), so the winner is never a toss-up.
        return tuple(
            Row((i := next_id()), rng.randint(1, 3), rng.randint(1, 999) * 10**6 + i)
            for _ in range(count)
        )
    if mode == "upsert_latest":  # one row per key and object: the later object wins
        keys = rng.sample(range(1, 5), count)
        return tuple(Row(next_id(), k, 0) for k in keys)
    return tuple(Row((i := next_id()), i, 0) for _ in range(count))


def draw_schedule(seed: int) -> Schedule:
    """The schedule of ``seed``: the same seed always gives the same schedule.

    Its first two faults walk through :data:`COMBINATIONS` with the seed, so
    any run of consecutive seeds at least half as long as that list injects
    every (point, kind) pair; the others are drawn at random.
    """
    rng = random.Random(seed)
    ids = iter(range(1, 10**6))
    times = list(range(1000))
    rng.shuffle(times)
    clock = iter(times)
    tables = []
    for n in range(rng.randint(2, 4)):
        mode = rng.choice(MODES)
        objects = tuple(
            ObjectSpec(
                f"t{n}/o{j}.csv",
                _rows(mode, rng, lambda: next(ids)),
                T0 + timedelta(seconds=next(clock)),
            )
            for j in range(rng.randint(2, 4))
        )
        tables.append(TableSpec(f"t{n}", mode, objects))
    forced = [COMBINATIONS[(2 * seed + i) % len(COMBINATIONS)] for i in range(2)]
    faults = [FaultSpec(p, k, 1 + i) for i, (p, k) in enumerate(forced)]
    for _ in range(rng.randint(0, 2)):
        point, kind = rng.choice(COMBINATIONS)
        faults.append(FaultSpec(point, kind, rng.randint(1, 4)))
    unique: dict[tuple[str, int], FaultSpec] = {}
    for fault in faults:  # one fault per arrival; the walk's two come first
        unique.setdefault((fault.point, fault.occurrence), fault)
    return Schedule(
        seed=seed,
        tables=tuple(tables),
        loaders=rng.randint(2, MAX_LOADERS),
        fresh_after_crash=rng.random() < 0.5,
        faults=tuple(unique.values()),
        deal_seed=rng.randrange(2**32),
    )


# --- the outcome of one schedule ------------------------------------------------------


@dataclass
class Outcome:
    """What one schedule did and what the checks found."""

    schedule: Schedule
    fired: list[tuple[FaultSpec, str]] = field(default_factory=list)
    lost: dict[str, str] = field(default_factory=dict)
    duplicated: dict[str, str] = field(default_factory=dict)
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
        return not (self.lost or self.duplicated or self.problems)

    def report(self, command: str) -> str:
        """A failure report: seed, schedule, what happened, how to rerun it."""
        lines = [
            f"schedule seed {self.schedule.seed} FAILED "
            f"({len(self.lost)} lost, {len(self.duplicated)} duplicated)",
            f"  schedule: {self.schedule.describe()}",
            f"  injected: {', '.join(self.injected) or 'nothing'}",
        ]
        lines += [f"  lost {key}: {why}" for key, why in sorted(self.lost.items())]
        lines += [f"  duplicated {key}: {why}" for key, why in sorted(self.duplicated.items())]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  round log: {e}" for e in self.events]
        lines.append(f"  rerun: {SEED_ENV_VAR}={self.schedule.seed} {command}")
        return "\n".join(lines)


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
        self.objects: list[S3Object] = []
        self.spec_of: dict[str, tuple[TableSpec, ObjectSpec]] = {}
        self.loaders: list[Loader | None] = [None] * schedule.loaders
        self.closed: list[Loader] = []
        self.acked: set[int] = set()
        self.last_error: dict[int, str] = {}
        self.config = LoaderConfig.from_mapping(
            {
                "target": {"kind": "postgres", "dsn": run.dsn},
                "credentials": {"provider": "static", "user": "loader", "password": "pw"},
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
        return rule

    def table(self, spec: TableSpec) -> TableRef:
        return TableRef(self.schema, spec.name)

    # --- set-up and tear-down -------------------------------------------------------

    def set_up(self) -> None:
        statements = [f"CREATE SCHEMA {quote_identifier(self.schema)}"]
        statements += [
            f"CREATE TABLE {self.table(t).sql} (row_id INT, k INT, ts INT, src VARCHAR(200))"
            for t in self.schedule.tables
        ]
        for statement in statements:
            self.run.sql(statement)
        s3 = self.run.s3
        s3.create_bucket(Bucket=self.bucket)
        for spec in self.schedule.tables:
            for obj in spec.objects:
                body = obj.csv().encode()
                put = s3.put_object(Bucket=self.bucket, Key=obj.key, Body=body)
                self.objects.append(
                    S3Object(
                        bucket=self.bucket,
                        key=obj.key,
                        size=len(body),
                        etag=put["ETag"],
                        event_time=obj.at,
                        event_name="ObjectCreated:Put",
                        message_id=f"msg-{obj.key}",
                    )
                )
                self.spec_of[obj.key] = (spec, obj)
        for slot in range(self.schedule.loaders):
            for hooked in self.run.slots[slot]:
                hooked.injector = self.injector
                hooked.who = f"loader{slot}"
            self.loaders[slot] = self._loader(slot)

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
            transport=ConnectorTransport(connect),
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

    def _deal(self, rng: random.Random, pending: Sequence[int], acked: set[int]) -> list[list[int]]:
        """Overlapping batches covering ``pending``; SQS may redeliver an acknowledged one."""
        batches: list[list[int]] = [[] for _ in range(self.schedule.loaders)]
        for index in pending:
            first = rng.randrange(len(batches))
            batches[first].append(index)
            if rng.random() < 0.35:
                batches[(first + rng.randrange(1, len(batches))) % len(batches)].append(index)
        for index in sorted(acked):
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
        acked: set[int] = set()
        deadline = time.monotonic() + SCHEDULE_DEADLINE_S
        pending = list(range(len(self.objects)))
        with ThreadPoolExecutor(max_workers=self.schedule.loaders) as pool:
            while pending and outcome.rounds < MAX_ROUNDS and time.monotonic() < deadline:
                outcome.rounds += 1
                batches = self._deal(rng, pending, acked)
                deliveries = [_Delivery(slot, b) for slot, b in enumerate(batches) if b]
                for delivery in pool.map(self._invoke, deliveries):
                    self._settle(delivery, acked, outcome)
                pending = [i for i in range(len(self.objects)) if i not in acked]
        self.acked = acked
        if pending:
            keys = ", ".join(self.objects[i].key for i in pending)
            outcome.problems.append(
                f"not acknowledged after {outcome.rounds} rounds: {keys} "
                f"(last errors: {'; '.join(self._last_errors(pending)) or 'none'})"
            )

    def _last_errors(self, pending: Sequence[int]) -> list[str]:
        return [self.last_error[i] for i in pending if i in self.last_error]

    def _settle(self, delivery: _Delivery, acked: set[int], outcome: Outcome) -> None:
        """Acknowledge what the invocation reported done; note crashes and raw errors."""
        who = f"round {outcome.rounds} loader{delivery.slot}"
        if delivery.crash is not None:
            exc = delivery.crash
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
            return
        assert delivery.report is not None
        failed = []
        for index, result in zip(delivery.batch, delivery.report.objects, strict=True):
            if result.outcome in ACKED:
                acked.add(index)
            else:
                failed.append(result.s3_object.key)
                error = result.error
                name = type(error).__name__ if error is not None else "?"
                self.last_error[index] = f"{result.s3_object.key}: {name}: {result.reason[:160]}"
        if failed:
            outcome.events.append(f"{who}: failed {', '.join(sorted(failed))}")

    # --- the checks --------------------------------------------------------------------

    def verify(self, outcome: Outcome) -> None:
        self._check_temp_tables(outcome)
        ledger = self._ledger(outcome)
        for spec in self.schedule.tables:
            rows = self.run.sql(f"SELECT row_id, k, ts, src FROM {self.table(spec).sql}")
            self._check_table(spec, rows, ledger, outcome)
        for index in sorted(self.acked):
            key = self.objects[index].key
            if not ledger.get(key):
                outcome.lost.setdefault(key, "acknowledged, but the ledger does not hold it")

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
        """Ledger rows per object key: (batch id, place of its transaction in commit order)."""
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
        etags = {o.key: o.identity for o in self.objects}
        order = self.injector.commit_order
        for bucket, key, identity, target, batch, xid in rows:
            if int(xid) not in order:
                outcome.problems.append(f"ledger row of {key} from a commit no loader asked for")
                continue
            spec = self.spec_of.get(key)
            if bucket != self.bucket or spec is None or identity != etags[key]:
                outcome.problems.append(f"ledger row for an unknown object: {bucket}/{key}")
                continue
            if target != str(self.table(spec[0])):
                outcome.problems.append(f"ledger says {key} went to {target}")
            by_key.setdefault(key, []).append((str(batch), order[int(xid)]))
        for key, entries in by_key.items():
            if len(entries) > 1:
                outcome.duplicated[key] = f"in the ledger {len(entries)} times"
        return by_key

    def _check_table(
        self,
        spec: TableSpec,
        rows: list[tuple[Any, ...]],
        ledger: dict[str, list[tuple[str, int]]],
        outcome: Outcome,
    ) -> None:
        counts = Counter((int(r[0]), str(r[3])) for r in rows)
        for (row_id, src), n in counts.items():
            if src not in ledger:
                outcome.duplicated.setdefault(
                    src, f"row {row_id} is in {spec.name} but the ledger has no record of {src}"
                )
            elif n > 1:
                outcome.duplicated.setdefault(src, f"row {row_id} is in {spec.name} {n} times")
        expected = self._expected_rows(spec, ledger)
        for row_id, src in counts:
            if src in ledger and (row_id, src) not in expected:
                outcome.duplicated.setdefault(
                    src, f"row {row_id} should no longer be in {spec.name} ({spec.mode})"
                )
        for row_id, src in expected:
            if counts.get((row_id, src), 0) == 0:
                outcome.lost.setdefault(src, f"row {row_id} is missing from {spec.name}")
        if spec.mode.startswith("upsert"):
            per_key = Counter(int(r[1]) for r in rows)
            for k, n in per_key.items():
                if n > 1:
                    outcome.problems.append(f"{spec.name}: key {k} has {n} rows")

    def _expected_rows(
        self, spec: TableSpec, ledger: dict[str, list[tuple[str, int]]]
    ) -> set[tuple[int, str]]:
        """The rows the table must hold, given what the ledger says was loaded, and when."""
        loaded = [o for o in spec.objects if o.key in ledger]
        if spec.mode == "append":
            return {(r.row_id, o.key) for o in loaded for r in o.rows}
        transactions: dict[int, list[ObjectSpec]] = {}
        for o in loaded:
            transactions.setdefault(max(x for _, x in ledger[o.key]), []).append(o)
        if not transactions:
            return set()
        if spec.mode == "replace":
            last = transactions[max(transactions)]
            return {(r.row_id, o.key) for o in last for r in o.rows}
        winners: dict[int, tuple[int, str]] = {}
        for place in sorted(transactions):
            batch = sorted(transactions[place], key=lambda o: load_order(self._event(o.key)))
            if spec.mode == "upsert":  # the latest ts per key in this batch
                best: dict[int, tuple[int, Row, str]] = {}
                for o in batch:
                    for r in o.rows:
                        if r.k not in best or r.ts > best[r.k][0]:
                            best[r.k] = (r.ts, r, o.key)
                for k, (_, r, key) in best.items():
                    winners[k] = (r.row_id, key)
            else:  # objects merged one by one in load order: the last one wins
                for o in batch:
                    for r in o.rows:
                        winners[r.k] = (r.row_id, o.key)
        return set(winners.values())

    def _event(self, key: str) -> S3Object:
        return next(o for o in self.objects if o.key == key)


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
    failures: list[Outcome] = field(default_factory=list)
    injected: set[tuple[str, str]] = field(default_factory=set)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.schedules} schedules, {self.faults} faults injected, "
            f"{self.lost} lost, {self.duplicated} duplicated"
        )

    @property
    def missed(self) -> list[tuple[str, str]]:
        """(point, kind) pairs never injected in this run."""
        return [c for c in COMBINATIONS if c not in self.injected]


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
            summary.injected |= {(fault.point, fault.kind) for fault, _ in outcome.fired}
            if not outcome.ok:
                summary.failures.append(outcome)
                echo(outcome.report(command))
    summary.seconds = time.monotonic() - started
    return summary
