"""Exactly-once bookkeeping: the ledger tables and the SQL that guards them.

The ledger records every loaded object version ``(bucket, key, identity)``
*in the same transaction as the COPY that loaded it*. Either both commit or
neither does, so there is no window in which data is loaded but not recorded
(a duplicate on retry) or recorded but not loaded (a loss) -- the failure mode
of loaders that keep their bookkeeping outside the warehouse.

Each target table has a ledger table of its own, in the ledger's schema
(:func:`ledger_table_for`). A load transaction reads and writes only its
target's ledger, so loads into different tables share no table: they neither
wait for each other's locks nor abort each other with Redshift's
serializable-isolation error (1023), which Redshift raises per table. Loads
into one table still serialise on that table's lock. The ledger is sorted by
key (``SORTKEY``; the local stand-in builds an index in its place) and a
look-up names the batch's keys, so the stand-in reads only their rows; on
Redshift, whose zone maps keep the first 8 bytes of a VARCHAR sort key, keys
sharing a longer prefix skip few blocks, and a look-up scans the key column
of one target's ledger.

Inside the transaction the batch's object list is COPYed into a temporary
table, and a *guard* statement aborts the whole transaction when any of those
objects is already in the ledger. The guard needs no client logic between
statements, so the same plan is safe on the Redshift Data API, where a batch
of statements runs without the client seeing intermediate results. It aborts
by casting a text that starts with :data:`GUARD_MARKER` to an integer, which
both Redshift and PostgreSQL refuse with an error whose message contains the
text; transports recognise the marker and raise
:class:`~s3redshift.errors.BatchConflictError`.

Two comparisons differ between Redshift and PostgreSQL, and the ledger is
written to depend on neither:

* Redshift reads a backslash in a string literal as an escape; PostgreSQL
  (``standard_conforming_strings = on``) does not. Every value written into
  this SQL goes through :func:`~s3redshift.identifiers.portable_literal`,
  which holds no backslash, so a key means the same on both.
* Redshift ignores trailing blanks when it compares VARCHAR values
  (``'k.csv' = 'k.csv '`` is true), so ``k.csv`` and ``k.csv `` -- two S3
  objects -- would be one ledger entry and the second would never load. Keys
  are therefore also compared by their length in bytes (``OCTET_LENGTH``,
  which counts trailing blanks of a VARCHAR in both): equal after trimming
  and equal in length means identical. Bucket names cannot hold blanks, and
  identities (ETags, version ids) never end in one, so plain equality is
  exact for those two. The check needs no column of its own, so ledgers
  created before it keep working unchanged.

Retention: ``s3redshift ledger prune`` removes old rows
(:func:`prune_sql`) and records, per ledger table, a *horizon* in
``<schema>.load_horizon`` (:func:`record_horizon_sql`) before it removes
anything. Every load transaction then runs :func:`horizon_guard_sql` right
after the ledger guard: it aborts when an object of the batch is older (by
its event time, the time part of ``object_order``) than its ledger's horizon,
so an object whose row may have been pruned is refused, never loaded again.
Why this keeps exactly-once is told at :func:`horizon_guard_sql`.

All SQL here is built from validated identifiers and portable literals only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from s3redshift.events import WRITE_SEPARATOR
from s3redshift.identifiers import (
    TableRef,
    portable_literal,
    quote_identifier,
    quote_identifiers,
)

__all__ = [
    "BATCH_TABLE",
    "GUARD_MARKER",
    "GUARD_PREFIX",
    "HORIZON_COLUMNS",
    "HORIZON_MARKER",
    "HORIZON_TABLE",
    "LEDGER_COLUMNS",
    "LEDGER_QUERY_BYTES",
    "LEDGER_QUERY_CHUNK",
    "LEDGER_TABLE_PREFIX",
    "LEDGER_TIME_FORMAT",
    "NEWER_MARKER",
    "ORDER_COLUMN",
    "ORDER_TIME_DIGITS",
    "PREVIOUS_LEDGER_TABLE",
    "abort_sql",
    "add_order_column_sql",
    "as_utc",
    "batch_table_sql",
    "committed_batch_sql",
    "create_horizon_sql",
    "create_ledger_sql",
    "create_schema_sql",
    "create_table_sql",
    "guard_fired",
    "guard_sql",
    "horizon_guard_sql",
    "horizon_table_for",
    "horizons_sql",
    "is_ledger_table",
    "key_rows_sql",
    "latest_horizons",
    "ledger_insert_sql",
    "ledger_table_for",
    "ledger_timestamp",
    "loaded_among",
    "loaded_identities_sql",
    "lookup_chunks",
    "newer_guard_sql",
    "newest_order_sql",
    "order_moment",
    "order_time",
    "prune_count_sql",
    "prune_sql",
    "record_horizon_sql",
    "same_key",
]

GUARD_PREFIX = "s3redshift: "
"""How every guard's deliberate error starts (:mod:`s3redshift.transaction`'s guards' too)."""

GUARD_MARKER = GUARD_PREFIX + "already loaded: "
"""Text of the guard's deliberate error; transports look for it."""

NEWER_MARKER = GUARD_PREFIX + "a newer object is loaded: "
"""Text of the replace guard's deliberate error (:func:`newer_guard_sql`)."""

HORIZON_MARKER = GUARD_PREFIX + "older than the horizon: "
"""Text of the horizon guard's deliberate error (:func:`horizon_guard_sql`)."""
_GUARD_CAST_FAILURE = re.compile(
    rf"Invalid digit, Value '{re.escape(GUARD_PREFIX[0])}', Pos 0, Type: Integer", re.IGNORECASE
)
"""Redshift's compute-node text for a guard's failed cast (code 1207).

It names only the first character of the value, not the marker. [verify] on a
cluster whether the error's DETAIL also carries the whole value.
"""


def guard_fired(text: str, *, at_guard: bool) -> bool:
    """Whether a database error's text is a guard's own abort.

    The ledger guard's marker means it anywhere. At a guard step
    (``at_guard``: the ledger guard, or one of :mod:`s3redshift.transaction`'s
    other guards), any marker (they share :data:`GUARD_PREFIX`) or Redshift's
    cast failure naming the prefix's first character at position 0 means it:
    that step's cast is the only one it runs. Any other error at a guard (a
    permission, a serialization conflict, a timeout) is not the guard firing
    and keeps its own cause.
    """
    if GUARD_MARKER in text:
        return True
    return at_guard and (GUARD_PREFIX in text or _GUARD_CAST_FAILURE.search(text) is not None)


BATCH_TABLE = TableRef.temporary("s3redshift_batch")
"""Session-temporary table holding the objects of the batch being loaded."""

LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bucket", "VARCHAR(63) NOT NULL"),
    ("object_key", "VARCHAR(1024) NOT NULL"),
    ("object_identity", "VARCHAR(1024) NOT NULL"),
    ("object_size", "BIGINT NOT NULL"),
    ("target_table", "VARCHAR(300) NOT NULL"),
    ("batch_id", "VARCHAR(64) NOT NULL"),
    ("loaded_at", "TIMESTAMP NOT NULL"),
    ("object_order", "VARCHAR(64)"),
)
"""The ledger's columns and types, valid in Redshift and PostgreSQL alike.

``object_order`` (see :func:`~s3redshift.planner.object_order`) came later
and only replace reads and writes it: a replace load gives a ledger made
before it the column (:func:`add_order_column_sql`), its rows NULL, which
counts as older than every object (``MAX`` skips it).
"""

ORDER_COLUMN = "object_order"

LEDGER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How the ledger writes a time (``loaded_at``, a horizon): UTC, microseconds."""


def ledger_timestamp(moment: datetime) -> str:
    """``moment`` as the ledger writes a time (:data:`LEDGER_TIME_FORMAT`, UTC).

    The one spelling of ``loaded_at``, ``failed_at``, a horizon and a prune's
    cutoff, so that they compare as text where a driver gives text back.
    """
    return moment.astimezone(UTC).strftime(LEDGER_TIME_FORMAT)


ORDER_TIME_DIGITS = 20
"""Characters of an order's time part: ``YYYYmmddHHMMSSffffff`` (``planner.object_order``)."""


_ORDER_TIME_FORMAT = "%Y%m%d%H%M%S%f"


def order_time(moment: datetime) -> str:
    """``moment`` (UTC) as an order's time part: digits that sort alike on Redshift and PostgreSQL.

    The one spelling of a time in ``object_order`` and in the horizon, so the
    two compare as text.
    """
    return moment.astimezone(UTC).strftime(_ORDER_TIME_FORMAT)


def order_moment(order: str) -> datetime | None:
    """The time :func:`order_time` wrote at the head of ``order`` (None: it holds none)."""
    digits = order[:ORDER_TIME_DIGITS]
    if len(digits) != ORDER_TIME_DIGITS or not digits.isdigit():
        return None
    return datetime.strptime(digits, _ORDER_TIME_FORMAT).replace(tzinfo=UTC)


_OBJECT_COLUMNS = ("bucket", "object_key", "object_identity", "object_size", ORDER_COLUMN)

_KEY = quote_identifier("object_key")


PREVIOUS_LEDGER_TABLE = "load_ledger"
"""The one ledger table of earlier versions (same schema); loaders refuse to run beside it."""

LEDGER_TABLE_PREFIX = "load_ledger_"
"""Every ledger table's name starts so; ``s3redshift ledger`` reads all of them."""

_LEDGER_NAME_BYTES = 63
"""A ledger table's name fits the stand-in's limit (PostgreSQL's), below Redshift's 127."""

_UNREADABLE = re.compile(r"[^a-z0-9_]+")


def ledger_table_for(schema: str, target: TableRef) -> TableRef:
    """The ledger table recording loads into ``target``: ``<schema>.load_ledger_<name>_<hash>``.

    The readable part (the target's name, cut to fit) is for operators; the
    hash of the full name keeps two targets whose readable parts agree
    (``a.b_c`` and ``a_b.c``, or long names cut alike) apart. The name
    depends on the target alone, so every loader of this layout, warm or
    cold, uses the same ledger for the same table. The hash is of the name as
    :class:`TableRef` spells it (ASCII folded, as Redshift folds it; other
    letters kept), so two tables Redshift tells apart get two ledgers.
    """
    full = str(target)
    digest = hashlib.sha256(full.encode("utf-8", errors="surrogatepass")).hexdigest()[:8]
    readable = _UNREADABLE.sub("_", full.lower().replace(".", "_"))
    head = (LEDGER_TABLE_PREFIX + readable)[: _LEDGER_NAME_BYTES - len(digest) - 1]
    return TableRef(schema, f"{head}_{digest}")


_LEDGER_NAME = re.compile(re.escape(LEDGER_TABLE_PREFIX) + r"[a-z0-9_]*_[0-9a-f]{8}")


def is_ledger_table(name: str) -> bool:
    """Whether a table of the ledger's schema is a ledger table, by the whole shape of its name.

    An operator's ``load_ledger_backup`` beside them is not one.
    """
    return _LEDGER_NAME.fullmatch(name) is not None


_columns = quote_identifiers


def create_table_sql(
    table: TableRef, columns: Sequence[tuple[str, str]], *, sort_key: str | None = None
) -> str:
    """Idempotent DDL of one bookkeeping table of the ledger's schema (``(name, type)`` columns).

    The one form of the tables beside the data (ledgers, failures, rejected
    rows): valid in Redshift and, through the stand-in's reading of
    ``SORTKEY``, in PostgreSQL.
    """
    body = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in columns)
    sort = "" if sort_key is None else f" SORTKEY ({quote_identifier(sort_key)})"
    return f"CREATE TABLE IF NOT EXISTS {table.sql} ({body}){sort}"


def create_schema_sql(table: TableRef) -> list[str]:
    """Idempotent DDL of ``table``'s schema, if it names one."""
    if table.schema is None:
        return []
    return [f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(table.schema)}"]


def create_ledger_sql(ledger: TableRef) -> list[str]:
    """Idempotent DDL creating the ledger's schema and one ledger table (run outside a load).

    Sorted by key: a look-up names its keys, and blocks whose key range
    (by the first 8 bytes Redshift's zone maps keep) holds none are skipped.
    """
    table = create_table_sql(ledger, LEDGER_COLUMNS, sort_key="object_key")
    return [*create_schema_sql(ledger), table]


def add_order_column_sql(ledger: TableRef) -> str:
    """Give a ledger made before ``object_order`` the column (run outside a load, once)."""
    kind = dict(LEDGER_COLUMNS)[ORDER_COLUMN]
    return f"ALTER TABLE {ledger.sql} ADD COLUMN {quote_identifier(ORDER_COLUMN)} {kind}"


def newest_order_sql(ledger: TableRef) -> str:
    """``(object_order, object_key)`` of the objects of the newest time the ledger's table holds.

    Objects of one time are ordered by key, then sequencer: the client picks
    the newest of them (sequencers of different keys do not compare).
    """
    order = quote_identifier(ORDER_COLUMN)
    time = f"LEFT({order}, {ORDER_TIME_DIGITS})"
    return (
        f"SELECT {order}, {_KEY} FROM {ledger.sql} "
        f"WHERE {time} = (SELECT MAX({time}) FROM {ledger.sql})"
    )


def newer_guard_sql(ledger: TableRef) -> str:
    """Abort when the table already holds a newer object than the batch's newest (replace).

    The check before the transaction answers the usual case; this one, under
    the target's lock, stops a concurrent loader's newer snapshot from being
    overwritten by an older one that passed that check at the same time. It
    compares the orders' time parts only: objects of one time are ordered by
    key, which the client compares (see :func:`newest_order_sql`).
    """
    order = quote_identifier(ORDER_COLUMN)
    return (
        f"SELECT CAST({portable_literal(NEWER_MARKER)} || l.{order} AS INTEGER) "
        f"FROM {ledger.sql} AS l WHERE LEFT(l.{order}, {ORDER_TIME_DIGITS}) > "
        f"(SELECT MAX(LEFT(b.{order}, {ORDER_TIME_DIGITS})) FROM {BATCH_TABLE.sql} AS b) LIMIT 1"
    )


def batch_table_sql() -> str:
    """The temporary table the batch's object list is COPYed into."""
    columns = ", ".join(
        f"{quote_identifier(name)} {kind.removesuffix(' NOT NULL')}"
        for name, kind in LEDGER_COLUMNS
        if name in _OBJECT_COLUMNS
    )
    return f"CREATE TEMP TABLE {BATCH_TABLE.sql} ({columns})"


def _key_bytes(column: str) -> str:
    """The key's length in bytes, trailing blanks included (see the module docstring)."""
    return f"OCTET_LENGTH({column})"


def _same_object(left: str, right: str) -> str:
    equal = [
        f"{left}.{quote_identifier(c)} = {right}.{quote_identifier(c)}"
        for c in ("bucket", "object_key", "object_identity")
    ]
    equal.insert(2, f"{_key_bytes(f'{left}.{_KEY}')} = {_key_bytes(f'{right}.{_KEY}')}")
    return " AND ".join(equal)


def guard_sql(ledger: TableRef) -> str:
    """Abort the transaction when any object of the batch is already in the ledger."""
    return (
        f"SELECT CAST({portable_literal(GUARD_MARKER)} || b.{_KEY} "
        f"AS INTEGER) FROM {BATCH_TABLE.sql} AS b JOIN {ledger.sql} AS l "
        f"ON {_same_object('l', 'b')} LIMIT 1"
    )


def abort_sql(note: str) -> str:
    """A statement that always fails the way the guard does, ending in a rollback.

    ``s3redshift check`` ends its probe transactions with it, so that what
    they ran is undone on every transport (a Data API batch cannot end with a
    ROLLBACK), and every transport reports its failure as the guard's own
    (:class:`~s3redshift.errors.BatchConflictError`) when the step carries
    the guard's purpose.
    """
    return f"SELECT CAST({portable_literal(GUARD_MARKER + note)} AS INTEGER)"


def ledger_insert_sql(
    ledger: TableRef, target: TableRef, batch: str, loaded_at: str, *, order: bool = False
) -> str:
    """Record every object of the batch as loaded into ``target``.

    ``loaded_at`` is an ISO timestamp from the client: there is no current-time
    function spelt the same in Redshift and PostgreSQL. ``order`` also records
    each object's ``object_order`` (replace compares it): only replace needs
    the column, so a ledger of an earlier version works unchanged in the
    other modes.
    """
    objects = _OBJECT_COLUMNS if order else _OBJECT_COLUMNS[:-1]
    names = (*objects, "target_table", "batch_id", "loaded_at")
    values = (
        _columns(objects),
        portable_literal(str(target)),
        portable_literal(batch),
        f"CAST({portable_literal(loaded_at)} AS TIMESTAMP)",
    )
    return (
        f"INSERT INTO {ledger.sql} ({_columns(names)}) "
        f"SELECT {', '.join(values)} FROM {BATCH_TABLE.sql}"
    )


def committed_batch_sql(ledger: TableRef, batch: str, loaded_at: str) -> str:
    """How many rows ``ledger`` holds of one transaction: ``batch`` written at ``loaded_at``.

    Asked when a transaction's answer was lost: ``loaded_at`` is the
    client's time to the microsecond, so a row found is that transaction's,
    not another loader's commit of the same batch id.
    """
    return (
        f"SELECT COUNT(*) FROM {ledger.sql} WHERE {quote_identifier('batch_id')} = "
        f"{portable_literal(batch)} AND {quote_identifier('loaded_at')} = "
        f"CAST({portable_literal(loaded_at)} AS TIMESTAMP)"
    )


def loaded_identities_sql(ledger: TableRef, objects: Sequence[tuple[str, str, str]]) -> str:
    """Ledger rows for the keys of ``(bucket, key, identity)`` (a read outside the load).

    The ``IN`` list on the key (the sort key; the stand-in's index) bounds
    what is read to the batch's keys, whatever the ledger's history. It names
    each key once and nothing else, so a batch of a thousand objects fits one
    statement (one Data API round trip); :func:`loaded_among` then picks the
    exact versions from the rows, by the same rule as the guard. The key's
    length in bytes comes back with each row so that rule holds however the
    server pads or trims what it returns.

    Raises:
        ValueError: a value contains a NUL character (no literal can hold one).
    """
    names = _columns(("bucket", "object_key", "object_identity"))
    listed = f"{names}, {_key_bytes(_KEY)}, {quote_identifier('loaded_at')}"
    if not objects:
        return f"SELECT {listed} FROM {ledger.sql} WHERE FALSE"
    keys = ", ".join(dict.fromkeys(portable_literal(key) for _, key, _ in objects))
    return f"SELECT {listed} FROM {ledger.sql} WHERE {_KEY} IN ({keys})"


def loaded_among(
    rows: Iterable[Sequence[object]], objects: Iterable[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which of ``objects`` the rows of :func:`loaded_identities_sql` hold.

    Two keys are one object when they are equal without trailing blanks and
    equal in length in bytes (see the module docstring); buckets compare
    exactly. An identity naming one write (``etag@sequencer``, see
    :func:`~s3redshift.events.write_identity`) matches that write, or the
    key's last load when a listing (which knows no sequencer) recorded it with
    this content: the event of a write a sweep loaded first is a duplicate,
    while a later rewrite with earlier content (``A -> B -> A``) is not. One
    naming content (an ETag from a listing, a version id) matches any write
    of that content.
    """
    writes: set[tuple[str, str, str, int]] = set()
    contents: set[tuple[str, str, str, int]] = set()
    latest: dict[tuple[str, str, int], tuple[Any, str]] = {}
    for bucket, key, identity, size, *loaded_at in rows:
        trimmed, octets = _key_slot(str(key), int(str(size)))
        slot = (str(bucket), trimmed, str(identity), octets)
        writes.add(slot)
        contents.add((*slot[:2], slot[2].partition(WRITE_SEPARATOR)[0], slot[3]))
        where = (slot[0], slot[1], slot[3])
        if loaded_at and (where not in latest or loaded_at[0] > latest[where][0]):
            latest[where] = (loaded_at[0], slot[2])

    def held(obj: tuple[str, str, str]) -> bool:
        bucket, identity = obj[0], obj[2]
        key, size = _key_slot(obj[1], _octets(obj[1]))
        if WRITE_SEPARATOR not in identity:
            return (bucket, key, identity, size) in contents
        if (bucket, key, identity, size) in writes:
            return True
        # The key's last load was a listing's (content only) of this content.
        last = latest.get((bucket, key, size))
        return last is not None and last[1] == identity.partition(WRITE_SEPARATOR)[0]

    return {obj for obj in objects if held(obj)}


def _octets(key: str) -> int:
    return len(key.encode("utf-8", errors="surrogatepass"))


LEDGER_QUERY_CHUNK = 5_000
"""Objects per ledger look-up statement at most (a batch is far smaller)."""

LEDGER_QUERY_BYTES = 90_000
"""Bytes of keys per ledger look-up at most: under the Data API's 100 KB with the SQL around."""


def lookup_chunks(
    keys: Sequence[tuple[str, str, str]],
) -> list[list[tuple[str, str, str]]]:
    """Split ledger look-ups by count and by size: a key may be 1,024 bytes long.

    The one rule for every look-up (load, sweep, ``ledger --failed``): each
    statement stays under the Data API's 100 KB limit.
    """
    chunks: list[list[tuple[str, str, str]]] = [[]]
    size = 0
    for key in keys:
        # Each object costs its key's literal as written (quotes double, a
        # backslash adds a REPLACE) and a separator.
        cost = len(portable_literal(key[1]).encode("utf-8", errors="surrogatepass")) + 2
        if chunks[-1] and (
            len(chunks[-1]) >= LEDGER_QUERY_CHUNK or size + cost > LEDGER_QUERY_BYTES
        ):
            chunks.append([])
            size = 0
        chunks[-1].append(key)
        size += cost
    return [c for c in chunks if c]


# --- one object's rows ----------------------------------------------------------------


def _key_slot(key: str, octets: int) -> tuple[str, int]:
    """What identifies a key across Redshift and PostgreSQL: trimmed text and length in bytes."""
    return key.rstrip(" "), octets


def same_key(row_key: object, row_octets: object, key: str) -> bool:
    """Whether a row read back (its key and ``OCTET_LENGTH``) holds exactly ``key``.

    The rule of the module docstring, as :func:`loaded_among` applies it.
    """
    return _key_slot(str(row_key), int(str(row_octets))) == _key_slot(key, _octets(key))


def key_rows_sql(ledgers: Sequence[TableRef], bucket: str, key: str) -> str:
    """Every row of ``bucket``/``key`` (any identity) in ``ledgers``, in one statement.

    Each row comes with its key's length in bytes, for :func:`same_key`:
    Redshift's ``=`` also matches the key with trailing blanks added.

    Raises:
        ValueError: the key contains a NUL character (no literal can hold one).
    """
    names = _columns(
        ("bucket", "object_key", "object_identity", "object_size", "target_table", "batch_id")
    )
    loaded_at = quote_identifier("loaded_at")
    where = f"{_KEY} = {portable_literal(key)} AND {quote_identifier('bucket')} = " + (
        portable_literal(bucket)
    )
    return " UNION ALL ".join(
        f"SELECT {names}, {loaded_at}, {_key_bytes(_KEY)} FROM {ledger.sql} WHERE {where}"
        for ledger in ledgers
    )


# --- retention: the horizon and the prune ------------------------------------------------

HORIZON_TABLE = "load_horizon"
"""The horizons' table, in the ledger's schema."""

HORIZON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ledger_table", "VARCHAR(127) NOT NULL"),
    ("horizon", "TIMESTAMP NOT NULL"),
    ("horizon_order", f"VARCHAR({ORDER_TIME_DIGITS}) NOT NULL"),
    ("recorded_at", "TIMESTAMP NOT NULL"),
)
"""One row per prune and ledger table; a ledger's horizon is its rows' greatest.

``horizon_order`` is the horizon as :func:`order_time` spells it, compared
as text with the time part of ``object_order``. Rows are only ever added, so
a horizon never moves backwards, whatever order prunes commit in.
"""


def horizon_table_for(schema: str) -> TableRef:
    """``<schema>.load_horizon``: beside the ledger tables, never a load target."""
    return TableRef(schema, HORIZON_TABLE)


def create_horizon_sql(horizon: TableRef) -> str:
    """Idempotent DDL for the horizons' table (made with the ledgers, before any load)."""
    columns = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in HORIZON_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {horizon.sql} ({columns})"


def horizon_guard_sql(ledger: TableRef, *, newest_only: bool = False) -> str:
    """Abort when an object of the batch is older than the ledger's horizon.

    ``newest_only`` (replace): when the batch's newest object is older. A
    replace loads a whole snapshot, listed, whichever of its parts the batch
    names, so its parts are refused or loaded together: refusing an older
    part alone would report it failed while the snapshot loaded its rows.
    Going back to an older snapshot is what the horizon must stop, and only
    the newest object says how old a snapshot is.

    An object's age is the time part of its ``object_order`` (its event time,
    or S3's last-modified time when it came without one); an empty or
    missing order is older than every horizon. With no horizon (nothing
    pruned) ``MAX`` is NULL and nothing compares: the guard passes.

    Why exactly-once holds across a prune (:func:`prune_sql`): a prune
    commits the horizon *before* it deletes any row, and deletes only rows
    loaded an hour or more before it, whose objects are older than it. This
    guard runs after the ledger guard, in the same transaction, under the
    ledger's lock. So the ledger guard either still sees an object's row (and
    aborts: a duplicate) or sees it deleted, and then the horizon committed
    before, and this later statement sees it (Redshift's snapshot, or
    PostgreSQL's per-statement one): a pruned object is never loaded again.
    A load that read no horizon yet and commits before the prune's delete
    records ``loaded_at`` after the horizon: that row is not pruned.
    """
    horizon = horizon_table_for(ledger.schema or "")
    order = quote_identifier(ORDER_COLUMN)
    latest = quote_identifier("horizon_order")
    time = f"LEFT(b.{order}, {ORDER_TIME_DIGITS})"
    batch = f"{BATCH_TABLE.sql} AS b"
    if newest_only:
        batch = f"(SELECT MAX({time}) AS {order} FROM {batch}) AS b"
        time = f"b.{order}"
    return (
        f"SELECT CAST({portable_literal(HORIZON_MARKER)} || h.{latest} AS INTEGER) "
        f"FROM {batch}, (SELECT MAX({latest}) AS {latest} FROM {horizon.sql} "
        f"WHERE {quote_identifier('ledger_table')} = {portable_literal(ledger.table)}) AS h "
        f"WHERE COALESCE({time}, '') < h.{latest} LIMIT 1"
    )


def horizons_sql(horizon: TableRef, ledger: TableRef | None = None) -> str:
    """Each ledger table's horizon (the greatest recorded), as ``(ledger_table, horizon)``.

    ``ledger``: that ledger table's alone.
    """
    table = quote_identifier("ledger_table")
    where = "" if ledger is None else f" WHERE {table} = {portable_literal(ledger.table)}"
    return (
        f"SELECT {table}, MAX({quote_identifier('horizon')}) FROM {horizon.sql}{where} "
        f"GROUP BY {table}"
    )


def as_utc(value: object) -> datetime:
    """A TIMESTAMP read back (a datetime, or the Data API's text) as an aware UTC time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def latest_horizons(rows: Iterable[Sequence[object]]) -> dict[str, datetime]:
    """The rows of :func:`horizons_sql` as each ledger table's horizon, by the table's name."""
    found: dict[str, datetime] = {}
    for name, at in rows:
        if at is not None:
            moment = as_utc(at)
            found[str(name)] = max(moment, found.get(str(name), moment))
    return found


def record_horizon_sql(
    horizon: TableRef, ledgers: Sequence[TableRef], moment: datetime, recorded_at: str
) -> str:
    """Record ``moment`` as the horizon of each of ``ledgers`` (``recorded_at``: an ISO time).

    Run, and committed, before :func:`prune_sql` deletes anything.
    """
    stamp = ledger_timestamp(moment)
    rows = ", ".join(
        f"({portable_literal(ledger.table)}, CAST({portable_literal(stamp)} AS TIMESTAMP), "
        f"{portable_literal(order_time(moment))}, "
        f"CAST({portable_literal(recorded_at)} AS TIMESTAMP))"
        for ledger in ledgers
    )
    names = _columns([name for name, _ in HORIZON_COLUMNS])
    return f"INSERT INTO {horizon.sql} ({names}) VALUES {rows}"


def _loaded_before(cutoff: str) -> str:
    return f"{quote_identifier('loaded_at')} < CAST({portable_literal(cutoff)} AS TIMESTAMP)"


def prune_count_sql(ledger: TableRef, cutoff: str) -> str:
    """Per target table of ``ledger``: its rows, and those loaded before ``cutoff`` (ISO time)."""
    table = quote_identifier("target_table")
    return (
        f"SELECT {table}, COUNT(*), SUM(CASE WHEN {_loaded_before(cutoff)} THEN 1 ELSE 0 END) "
        f"FROM {ledger.sql} GROUP BY {table}"
    )


def prune_sql(ledger: TableRef, cutoff: str) -> str:
    """Delete the rows of ``ledger`` loaded before ``cutoff`` (an ISO time; see the horizon)."""
    return f"DELETE FROM {ledger.sql} WHERE {_loaded_before(cutoff)}"
