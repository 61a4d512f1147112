"""What the ledger says: what was loaded, and what under a prefix was not (``s3redshift ledger``).

The ledger records successes only, in the load's own transaction, so "not
loaded" is found by listing and comparing, never from a failure record; the
failures table (:mod:`s3redshift.failures`) then says why the last load of
such an object failed. One object's whole story (:func:`object_story`) joins
the three: every ledger table, the failures table, and S3 and the rules as
they are now; the rows COPY rejected that ``load_rejects`` kept are listed
too (:func:`rejected_rows`). Every function reads, none writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.classify import classify
from s3redshift.deadline import Deadline
from s3redshift.errors import ConfigError, MappingError, S3RedshiftError
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
    HORIZON_TABLE,
    LEDGER_COLUMNS,
    ORDER_COLUMN,
    as_utc,
    horizon_table_for,
    horizons_sql,
    is_ledger_table,
    key_rows_sql,
    latest_horizons,
    ledger_timestamp,
    loaded_among,
    loaded_identities_sql,
    lookup_chunks,
    same_key,
)
from s3redshift.listing import Head, head_object, list_prefix, parse_s3_uri
from s3redshift.planner import load_order
from s3redshift.rejects import (
    REJECTS_TABLE,
    Rejected,
    count_rejects_sql,
    rejects_by_batch_sql,
    rejects_table_for,
    select_rejects_sql,
)

if TYPE_CHECKING:
    from s3redshift.loader import Loader
    from s3redshift.mapping import Target

__all__ = [
    "LedgerRow",
    "ObjectStory",
    "PrefixGaps",
    "Unmapped",
    "committed_since",
    "in_ledger",
    "last_failures",
    "ledger_horizons",
    "ledger_rows",
    "ledger_tables",
    "not_loaded",
    "object_story",
    "prefix_gaps",
    "rejected_rows",
]


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
    schema = loader.config.ledger.active_schema
    if schema is None:
        raise ConfigError(
            "the ledger is disabled (ledger.enabled = false), so nothing records what was "
            "loaded; enable it to use this command"
        )
    return schema


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


def ledger_tables(
    loader: Loader, *, table: str | None = None, time_budget: float | None = None
) -> list[TableRef]:
    """Every ledger table there is, or ``table``'s (``schema.table``) alone if it has one.

    Raises:
        ConfigError: the ledger is disabled in the configuration.
    """
    schema = _ledger_schema(loader)
    ledgers = _ledger_tables(loader, schema, Deadline.after(time_budget))
    if table is None:
        return ledgers
    mine = loader.ledger_for(TableRef.parse(table))
    return [ledger for ledger in ledgers if ledger == mine]


def ledger_horizons(loader: Loader, *, time_budget: float | None = None) -> dict[str, datetime]:
    """Every ledger table's horizon, by the ledger table's name (none before a first prune)."""
    schema = _ledger_schema(loader)
    deadline = Deadline.after(time_budget)
    if HORIZON_TABLE not in _schema_tables(loader, schema, deadline):
        return {}
    rows = loader.transport.query(
        horizons_sql(horizon_table_for(schema)), time_budget=deadline.remaining()
    )
    return {str(name): at for name, at in latest_horizons(rows).items()}


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
    total = 0
    found: list[tuple[Any, ...]] = []
    for ledger in ledgers:
        [(count,)] = loader.transport.query(
            f"SELECT COUNT(*) FROM {ledger.sql}{where}", time_budget=deadline.remaining()
        )
        total += int(count)
        sql = _ledger_rows_sql(ledger, where)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"  # the newest of all are among each table's newest
        found += loader.transport.query(sql, time_budget=deadline.remaining())
    # Newest first across the tables, then by object (two stable sorts).
    found.sort(key=lambda row: (str(row[0]), str(row[1])))
    found.sort(key=lambda row: row[6], reverse=True)
    if limit is not None:
        found = found[: int(limit)]
    rows = [
        LedgerRow(str(b), str(k), str(i), int(n), str(t), str(batch), _timestamp_text(at))
        for b, k, i, n, t, batch, at in found
    ]
    return rows, total


_LEDGER_ROW_COLUMNS = tuple(name for name, _ in LEDGER_COLUMNS if name != ORDER_COLUMN)
"""What :class:`LedgerRow` holds, in its order."""


def _ledger_rows_sql(ledger: TableRef, where: str) -> str:
    """A ledger table's rows (``where``: its filter, or ``""``), newest first."""
    names = ", ".join(quote_identifier(n) for n in _LEDGER_ROW_COLUMNS)
    order = ", ".join(quote_identifier(n) for n in ("bucket", "object_key"))
    return (
        f"SELECT {names} FROM {ledger.sql}{where} "
        f"ORDER BY {quote_identifier('loaded_at')} DESC, {order}"
    )


@dataclass(frozen=True)
class Unmapped:
    """A key under a prefix that no rule maps, and the mapper's reason."""

    s3_object: S3Object
    reason: str


@dataclass(frozen=True)
class PrefixGaps:
    """What under a prefix will not be in the ledger: mapped objects missing, keys no rule maps."""

    missing: list[tuple[S3Object, str]] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    before_horizon: int = 0
    """Objects not in the ledger but older than their table's horizon: pruned, or refused."""


def not_loaded(
    loader: Loader,
    prefix_uri: str,
    *,
    table: str | None = None,
    time_budget: float | None = None,
    on_listed: Callable[[int], None] | None = None,
) -> list[tuple[S3Object, str]]:
    """Objects under ``prefix_uri`` that map to a table but are not in the ledger.

    :func:`prefix_gaps`' ``missing``; see there.
    """
    return prefix_gaps(
        loader, prefix_uri, table=table, time_budget=time_budget, on_listed=on_listed
    ).missing


def prefix_gaps(
    loader: Loader,
    prefix_uri: str,
    *,
    table: str | None = None,
    time_budget: float | None = None,
    on_listed: Callable[[int], None] | None = None,
) -> PrefixGaps:
    """What under ``prefix_uri`` is not in the ledger: mapped objects, and keys no rule maps.

    The ledger records successful loads only, in the load's own transaction, so
    "not in the ledger" is the one truthful account of what did not load: the
    load failed, is still running, or was never triggered. Each object comes with
    its target table (``table`` keeps one); keys whose mapping gives an unsafe
    name can never load and are listed with the table ``"(unsafe name)"``.
    For a ``replace`` table only the newest object counts: older snapshots are
    never loaded by design. Objects are in load order. ``unmapped`` holds the
    keys no rule maps (in listing order; ignored keys, such as ``_SUCCESS`` or
    the manifests, are not among them), unless ``table`` names one table:
    those keys have none. ``time_budget`` (seconds) bounds the ledger's
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
    unmapped: list[Unmapped] = []
    if table is None:
        skipped = [classified.skipped[i] for i in sorted(classified.skipped)]
        candidates += ((r.s3_object, "(unsafe name)") for r in skipped if r.outcome == "failed")
        unmapped += (Unmapped(r.s3_object, r.reason) for r in skipped if r.outcome == "unmapped")
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
    known = in_ledger(loader, schema, groups, deadline)
    missing = [(o, t) for o, t in candidates if (o.bucket, o.key, o.identity or "") not in known]
    missing, old = _split_at_horizons(loader, missing, deadline)
    missing.sort(key=lambda pair: load_order(pair[0]))
    return PrefixGaps(missing, unmapped, old)


def _split_at_horizons(
    loader: Loader, missing: list[tuple[S3Object, str]], deadline: Deadline
) -> tuple[list[tuple[S3Object, str]], int]:
    """``missing`` without the objects older than their table's horizon, and how many those were.

    Their ledger rows may have been pruned (``s3redshift ledger prune``), so
    "not in the ledger" says nothing of them; a load refuses them either way.
    """
    if not missing:
        return missing, 0
    horizons = ledger_horizons(loader, time_budget=deadline.remaining())
    if not horizons:
        return missing, 0
    kept: list[tuple[S3Object, str]] = []
    for obj, table in missing:
        ledger = _ledger_of(loader, table)
        horizon = horizons.get(ledger.table) if ledger is not None else None
        if horizon is not None and obj.event_time is not None and obj.event_time < horizon:
            continue
        kept.append((obj, table))
    return kept, len(missing) - len(kept)


def _ledger_of(loader: Loader, table: str) -> TableRef | None:
    """The ledger table of a table as :func:`prefix_gaps` names it (None: an unsafe name)."""
    try:
        return loader.ledger_for(TableRef.parse(table))
    except S3RedshiftError:
        return None


def _counted(objects: Iterator[S3Object], on_listed: Callable[[int], None]) -> Iterator[S3Object]:
    """``objects``, telling ``on_listed`` how many have come so far (a heartbeat's figure)."""
    for count, obj in enumerate(objects, start=1):
        on_listed(count)
        yield obj


def in_ledger(
    loader: Loader,
    schema: str,
    groups: Mapping[TableRef, Sequence[S3Object]],
    deadline: Deadline,
    *,
    since: datetime | None = None,
) -> set[tuple[str, str, str]]:
    """Which ``(bucket, key, identity)`` of each table's objects its ledger holds.

    ``since`` (aware): only rows of loads planned at or after it count.
    """
    after = None if since is None else ledger_timestamp(since)
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
            if after is not None:  # loaded_at is the row's last column
                rows = [row for row in rows if _loaded_at_text(row[-1]) >= after]
            known.update(loaded_among(rows, chunk))
    return known


def _loaded_at_text(value: object) -> str:
    """A ledger's ``loaded_at`` as :func:`~s3redshift.ledger.ledger_timestamp` writes it.

    Drivers give a datetime (naive: the column holds UTC), the Data API the
    text; the texts then compare as the times do.
    """
    return ledger_timestamp(as_utc(value)) if isinstance(value, datetime) else str(value)


def committed_since(
    loader: Loader, objects: Sequence[S3Object], since: datetime, deadline: Deadline
) -> dict[tuple[str, str, str], str]:
    """Which ``(bucket, key, identity)`` of ``objects`` a load planned since ``since`` committed.

    Each with its table. The ledger is written in each load's own
    transaction, so it alone knows whether a transaction an interrupt met
    had committed. Empty when the ledger is disabled.
    """
    schema = loader.config.ledger.active_schema
    if schema is None or not objects:
        return {}
    groups: dict[TableRef, list[S3Object]] = {}
    for target, members in classify(loader.mapper, objects).groups.items():
        groups.setdefault(target.table, []).extend(obj for _, obj in members)
    committed: dict[tuple[str, str, str], str] = {}
    for table, listed in groups.items():
        for found in in_ledger(loader, schema, {table: listed}, deadline, since=since):
            committed[found] = str(table)
    return committed


# --- one object's story (`s3redshift ledger --object`) -----------------------------------

StoryStatus = Literal["loaded", "failed", "unmapped", "ignored", "never_seen"]

_UNION_LEDGERS = 40
"""Ledger tables one look-up of a key reads (a statement stays far under 100 KB)."""


@dataclass(frozen=True)
class ObjectStory:
    """What is known of one S3 object: each version loaded, or why none was.

    ``status``: ``loaded`` (the ledger holds a version of the key), else what
    the rules say (``ignored``, ``unmapped``), else ``failed`` (a failure is
    recorded, or the key can never be mapped safely), else ``never_seen``
    (nothing recorded: not triggered, still loading, or not in S3 at all).
    ``head`` is the object in S3 now (None: absent, or ``s3_error`` says why
    it is unknown); ``horizon`` is its table's ledger horizon, if it has one.
    ``rejected`` counts, by batch id, the key's rows COPY rejected and
    ``load_rejects`` kept (a batch it does not name kept none).
    """

    uri: str
    status: StoryStatus
    reason: str
    loads: tuple[LedgerRow, ...]
    head: Head | None
    s3_error: str
    mapping: str
    """``mapped``, ``unmapped``, ``ignored`` or ``unsafe`` (a rule matched; its name is unsafe)."""
    target: Target | None
    last_failure: Failure | None
    horizon: datetime | None
    rejected: Mapping[str, int] = field(default_factory=dict)

    def rejected_rows(self, load: LedgerRow) -> int:
        """Rows of ``load`` (one of :attr:`loads`) that COPY rejected and ``load_rejects`` kept."""
        return self.rejected.get(load.batch_id, 0)

    @property
    def in_s3(self) -> bool | None:
        """Whether the key exists in S3 now (None: S3 could not tell)."""
        if self.s3_error:
            return None
        return self.head is not None


def _key_loads(
    loader: Loader, ledgers: Sequence[TableRef], bucket: str, key: str, deadline: Deadline
) -> list[LedgerRow]:
    """Every ledger row of exactly ``key`` in ``bucket``, newest first, from all ``ledgers``.

    Every ledger, not only the one the rules name now: a rule may have
    changed since the object loaded.
    """
    found: list[tuple[datetime, LedgerRow]] = []
    if "\x00" in key:
        return []  # no VARCHAR holds it, so no ledger row can (and no literal can name it)
    for start in range(0, len(ledgers), _UNION_LEDGERS):
        chunk = ledgers[start : start + _UNION_LEDGERS]
        rows = loader.transport.query(
            key_rows_sql(chunk, bucket, key), time_budget=deadline.remaining()
        )
        found += (
            (
                as_utc(at),
                LedgerRow(str(b), str(k), str(i), int(n), str(t), str(batch), _timestamp_text(at)),
            )
            for b, k, i, n, t, batch, at, octets in rows
            if str(b) == bucket and same_key(k, octets, key)
        )
    found.sort(key=lambda pair: pair[0], reverse=True)  # by the recorded time, not its text
    return [row for _, row in found]


def _key_failure(
    loader: Loader, schema: str, bucket: str, key: str, table: str, deadline: Deadline
) -> Failure | None:
    """The last failure recorded for ``key`` into ``table``, of whichever version of it."""
    if FAILURES_TABLE not in _schema_tables(loader, schema, deadline):
        return None
    rows = loader.transport.query(
        select_failures_sql(failures_table_for(schema), [key]), time_budget=deadline.remaining()
    )
    return latest_failures(rows).get((bucket, key, table))


def _rule_text(target: Target) -> str:
    """``public.kpis by tables[0] (pattern 'kpis/**', mode append)``."""
    rule = target.rule
    return (
        f"{target.table} by tables[{target.rule_index}] "
        f"(pattern {rule.pattern!r}, mode {rule.mode})"
    )


def object_story(loader: Loader, uri: str, *, time_budget: float | None = None) -> ObjectStory:
    """Every version of ``uri`` (``s3://bucket/key``) that loaded, or why none did.

    S3 is asked (HeadObject, through the loader's S3 client and error
    translation) whether the key exists now; a failed request is told in
    ``s3_error``, not raised. The rules are today's: an object that loaded
    under another rule still shows its loads.

    Raises:
        ConfigError: the ledger is disabled, or ``uri`` names no object.
    """
    schema = _ledger_schema(loader)
    deadline = Deadline.after(time_budget)
    bucket, key = parse_s3_uri(uri)
    if not key:
        raise ConfigError(f"--object needs an object, s3://BUCKET/KEY, got {uri!r}")
    obj = S3Object(bucket=bucket, key=key)
    head = head_object(loader.s3, obj, "")
    s3_error = head.message if isinstance(head, S3RedshiftError) else ""
    now = head if isinstance(head, Head) else None
    mapping, target, why = _mapping(loader, obj)
    names = _schema_tables(loader, schema, deadline)  # read once: the ledgers and load_rejects
    ledgers = [TableRef(schema, name) for name in names if is_ledger_table(name)]
    loads = _key_loads(loader, ledgers, bucket, key, deadline)
    kept = loads and REJECTS_TABLE in names
    rejected = _key_rejects(loader, schema, bucket, key, deadline) if kept else {}
    failure = None
    horizon = None
    if target is not None:
        table = str(target.table)
        failure = _key_failure(loader, schema, bucket, key, table, deadline)
        ledger = loader.ledger_for(target.table)
        horizon = ledger_horizons(loader, time_budget=deadline.remaining()).get(
            ledger.table if ledger is not None else ""
        )
    status, reason = _status(loads, mapping, why, failure, now, s3_error)
    modified = now.modified if now is not None else None
    if status == "never_seen" and modified and horizon and modified < horizon:
        reason += (
            f"; older than the horizon {horizon:%Y-%m-%d %H:%M:%S} UTC: if it loaded, its "
            "ledger row was pruned; a load refuses it"
        )
    return ObjectStory(
        uri=obj.uri,
        status=status,
        reason=reason,
        loads=tuple(loads),
        head=now,
        s3_error=s3_error,
        mapping=mapping,
        target=target,
        last_failure=failure,
        horizon=horizon,
        rejected=rejected,
    )


def _key_rejects(
    loader: Loader, schema: str, bucket: str, key: str, deadline: Deadline
) -> dict[str, int]:
    """The key's rejected rows that ``load_rejects`` (which must exist) kept, by batch."""
    rows = loader.transport.query(
        rejects_by_batch_sql(rejects_table_for(schema), bucket, key),
        time_budget=deadline.remaining(),
    )
    return {str(batch): int(str(count)) for batch, count in rows}


def _mapping(loader: Loader, obj: S3Object) -> tuple[str, Target | None, str]:
    """What today's rules do with ``obj``: the outcome, the target, and why when there is none."""
    try:
        resolution = loader.mapper.explain(obj)
    except MappingError as exc:
        return "unsafe", None, exc.message
    if resolution.target is not None:
        return "mapped", resolution.target, _rule_text(resolution.target)
    if resolution.outcome == "ignored":
        return "ignored", None, resolution.reason
    patterns = ", ".join(f"tables[{n}] {r.pattern!r}" for n, r in enumerate(loader.mapper.rules))
    return "unmapped", None, f"{resolution.reason} (rules: {patterns or 'none'})"


def _status(
    loads: Sequence[LedgerRow],
    mapping: str,
    why: str,
    failure: Failure | None,
    head: Head | None,
    s3_error: str,
) -> tuple[StoryStatus, str]:
    """The story's one-word answer, and its reason."""
    if loads:
        return "loaded", f"{len(loads)} version(s) loaded"
    if mapping in ("ignored", "unmapped"):
        return ("ignored" if mapping == "ignored" else "unmapped"), why
    if mapping == "unsafe":
        return "failed", f"it can never load: {why}"
    if failure is not None:
        return "failed", (
            f"mapped, not loaded; last failure {failure.failed_at[:19]}: "
            f"{failure.error}: {failure.reason}"
        )
    if head is not None:
        return "never_seen", (
            "in S3, but no load or failure is recorded: never triggered, still loading, or "
            "the database was unreachable (s3redshift load on its prefix loads it)"
        )
    if s3_error:
        return "never_seen", f"no load or failure is recorded; S3 could not tell: {s3_error}"
    return "never_seen", "not in S3, and no load or failure is recorded"


# --- the rejected rows kept (`s3redshift ledger --rejects`) ----------------------------


def rejected_rows(
    loader: Loader,
    *,
    table: str | None = None,
    uri: str | None = None,
    limit: int | None = None,
    time_budget: float | None = None,
) -> tuple[list[Rejected], int]:
    """The rows COPY rejected and ``load_rejects`` kept, newest first; and how many there are.

    ``table`` and ``uri`` (``s3://bucket/key``) narrow the listing to one
    target table and/or one object. No ``load_rejects`` table yet (no rule
    has kept a rejected row) lists nothing.

    Raises:
        ConfigError: the ledger is disabled, or ``uri`` is not an S3 object URI.
    """
    schema = _ledger_schema(loader)
    bucket = key = None
    if uri is not None:
        bucket, key = parse_s3_uri(uri)
        if not key:
            raise ConfigError(f"--object {uri!r} must name one object: s3://BUCKET/KEY")
    deadline = Deadline.after(time_budget)
    if REJECTS_TABLE not in _schema_tables(loader, schema, deadline):
        return [], 0
    rejects = rejects_table_for(schema)
    target = _table_filter(table)
    rows = loader.transport.query(
        select_rejects_sql(rejects, target=target, bucket=bucket, key=key, limit=limit),
        time_budget=deadline.remaining(),
    )
    listed = [Rejected.from_row(_with_text_time(row)) for row in rows]
    if limit is None or len(listed) < limit:
        return listed, len(listed)
    counted = loader.transport.query(
        count_rejects_sql(rejects, target=target, bucket=bucket, key=key),
        time_budget=deadline.remaining(),
    )
    return listed, int(str(counted[0][0]))


def _with_text_time(row: Sequence[object]) -> list[object]:
    """A row with its first value, a time, as the ledger listing writes times."""
    return [_timestamp_text(row[0]), *row[1:]]
