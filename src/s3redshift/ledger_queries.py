"""What the ledger says: what was loaded, and what under a prefix was not (``s3redshift ledger``).

The ledger records successes only, in the load's own transaction, so "not
loaded" is found by listing and comparing, never from a failure record; the
failures table (:mod:`s3redshift.failures`) then says why the last load of
such an object failed. Every function reads, none writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from s3redshift.classify import classify
from s3redshift.deadline import Deadline
from s3redshift.errors import ConfigError, S3RedshiftError
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
    LEDGER_COLUMNS,
    ORDER_COLUMN,
    is_ledger_table,
    loaded_among,
    loaded_identities_sql,
    lookup_chunks,
)
from s3redshift.listing import list_prefix, parse_s3_uri
from s3redshift.planner import LEDGER_TIME_FORMAT, ledger_timestamp, load_order

if TYPE_CHECKING:
    from s3redshift.loader import Loader

__all__ = [
    "LedgerRow",
    "committed_since",
    "in_ledger",
    "last_failures",
    "ledger_rows",
    "not_loaded",
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
    known = in_ledger(loader, schema, groups, deadline)
    missing = [(o, t) for o, t in candidates if (o.bucket, o.key, o.identity or "") not in known]
    missing.sort(key=lambda pair: load_order(pair[0]))
    return missing


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
    """A ledger's ``loaded_at`` as :func:`~s3redshift.planner.ledger_timestamp` writes it.

    Drivers give a datetime (naive: the column holds UTC), the Data API the
    text; the texts then compare as the times do.
    """
    if isinstance(value, datetime):
        return ledger_timestamp(value) if value.tzinfo else value.strftime(LEDGER_TIME_FORMAT)
    return str(value)


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
