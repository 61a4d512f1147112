"""How one target's batch becomes transactions: pure, and the same for a load and a plan.

Planning is a function of the target, the batch's objects with their
identities, the table's columns and the time: it does no I/O. It returns
each transaction's :class:`~s3redshift.transaction.TransactionPlan` together
with the documents (manifests, the batch's object list) that must be in S3
before the plan runs. The loader writes those documents and runs the plans;
``s3redshift plan`` prints the very same plans, so what it shows is what a
load runs, split the same way.

A batch is split when one transaction would not fit the transport's
:class:`~s3redshift.transaction.Limits` (only an upsert without ``order_by``
whose staged rows repeated a key grows with the number of objects, merged one
at a time: seven statements per object, while the Data API takes 40 per
transaction). Each split transaction is its own exactly-once load of the
longest head of the batch that fits, loaded in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.classify import classify, reserve_ledger
from s3redshift.column_types import ColumnType
from s3redshift.copy import (
    Authorization,
    Compression,
    CopyCommand,
    CsvFormat,
    DelimitedFormat,
    FileFormat,
    OrcFormat,
    ParquetFormat,
    resolve_compression,
)
from s3redshift.errors import ConfigError, S3RedshiftError
from s3redshift.events import (
    ParsedEvent,
    S3Object,
    sequencer_key,
    write_identity,
)
from s3redshift.identifiers import TableRef
from s3redshift.ledger import (
    BATCH_TABLE,
    ORDER_TIME_DIGITS,
    ledger_table_for,
    ledger_timestamp,
    order_time,
)
from s3redshift.manifest import (
    ManifestEntry,
    batch_id,
    manifest_json,
    manifest_key,
    object_list_csv,
    object_list_key,
)
from s3redshift.mapping import MappingRule, TableMapper, Target
from s3redshift.schema_plan import FileShape, SchemaPlan
from s3redshift.transaction import (
    STAGE_TABLE,
    UNLIMITED,
    CopyStep,
    DataCopy,
    Limits,
    ShapedCopy,
    TransactionPlan,
    build_plan,
)

if TYPE_CHECKING:
    from s3redshift.config import LoaderConfig
    from s3redshift.load_error_logs import ErrorLog

__all__ = [
    "NEWER_IN_BATCH",
    "Document",
    "EventPlan",
    "PlanSettings",
    "PlannedTransaction",
    "Skip",
    "entries_from_events",
    "entry_rank",
    "load_order",
    "loader_mapper",
    "next_transaction",
    "object_identity",
    "object_order",
    "plan_event",
    "plan_transaction",
    "snapshot_of",
    "split_batch",
]

_NO_TIME = datetime.min.replace(tzinfo=UTC)

NEWER_IN_BATCH = "replace: a newer snapshot of the table is in the same batch"
"""Why a replace batch's older objects are not loaded (reported ``superseded``)."""


def load_order(o: S3Object) -> tuple[datetime, str, str]:
    """Sort key of the order objects are loaded in (what "later" means for upsert).

    Event time orders objects across keys (sequencers of different keys are
    not comparable); for one key, the sequencer breaks ties, since AWS makes
    it grow with each write of that key.
    """
    return (o.event_time or _NO_TIME, o.key, sequencer_key(o.sequencer))


def object_order(o: S3Object) -> str:
    """:func:`load_order` as text that sorts alike in Redshift and PostgreSQL (the ledger's).

    Digits and upper-case hex only, fixed width but for the sequencer: no
    collation orders them differently. The key is left out: it only orders
    objects of equal event time, and keys are not comparable text in both.
    Empty without an event time (older than every object with one).
    """
    if o.event_time is None:
        return ""
    return order_time(o.event_time) + sequencer_key(o.sequencer)


def entry_rank(entry: ManifestEntry) -> tuple[str, str, str]:
    """:func:`load_order` of a confirmed object: its time, its key, then its sequencer.

    The time is the event's, or S3's last-modified time where the event
    named none (the loader fills it in from ``HeadObject``).
    """
    return (entry.order[:ORDER_TIME_DIGITS], entry.key, entry.order[ORDER_TIME_DIGITS:])


def snapshot_of(mapper: TableMapper, target: Target, o: S3Object) -> str | None:
    """Which replace snapshot ``o`` belongs to: the object, or its bucket and capture value.

    A rule's ``snapshot`` names a capture; the objects of one bucket it maps
    with one value of it are one snapshot (listed in that bucket). None when
    ``o`` does not map to ``target``'s rule.
    """
    name = target.rule.snapshot_capture
    if not name:
        return o.uri
    resolved = mapper.resolve(o)
    value = None if resolved is None else resolved.captures.get(name)
    return None if value is None else f"s3://{o.bucket}/{{{name}={value}}}"


def object_identity(o: S3Object, mode: str) -> str | None:
    """What a load in ``mode`` records ``o`` as: its content (append), or its write.

    Loading equal content again adds rows in append, so a rewrite with equal
    content is a duplicate there. Replace and upsert must see a later write of
    a key as newer even when its content equals an earlier one (``A -> B ->
    A``), so they record the write (:func:`~s3redshift.events.write_identity`).
    """
    if mode == "append":
        return o.identity
    return write_identity(o.version_id, o.etag, o.sequencer)


_URI = attrgetter("uri")
_NO_SHAPES: Mapping[str, FileShape] = MappingProxyType({})


@dataclass(frozen=True)
class PlanSettings:
    """What of the configuration planning reads, as plain values."""

    manifest_prefix: str
    manifest_bucket: str | None
    region: str | None
    authorization: Authorization
    ledger_schema: str | None
    """The schema of the per-target ledger tables; None when the ledger is off."""
    error_log: ErrorLog = "stl"
    """Where the warehouse logs rejected rows (:func:`~s3redshift.rejects.error_log_for`).

    Read only for ``skip_rows`` rules; without one it stays ``stl``, unread.
    """

    @property
    def rejects_table(self) -> TableRef | None:
        """``<ledger schema>.load_rejects``, or None when the ledger is off.

        Asked only for ``skip_rows`` rules: rejects.py is loaded then, not at
        a cold start whose rules keep no rejected rows.
        """
        if self.ledger_schema is None:
            return None
        from s3redshift.rejects import rejects_table_for

        return rejects_table_for(self.ledger_schema)

    def ledger_for(self, table: TableRef) -> TableRef | None:
        """The ledger table of ``table``, or None when the ledger is off."""
        return None if self.ledger_schema is None else ledger_table_for(self.ledger_schema, table)

    @classmethod
    def from_config(cls, config: LoaderConfig) -> PlanSettings:
        """The settings of ``config``."""
        return cls(
            manifest_prefix=config.copy_.manifest_prefix,
            manifest_bucket=config.copy_.manifest_bucket,
            region=config.copy_.region,
            authorization=config.copy_.authorization,
            ledger_schema=config.ledger.active_schema,
            error_log=_error_log(config),
        )


def _error_log(config: LoaderConfig) -> ErrorLog:
    """The warehouse's error log when a rule keeps rejected rows (else unread: ``stl``)."""
    if not any(rule.options.skip_rows for rule in config.tables):
        return "stl"
    from s3redshift.rejects import error_log_for

    return error_log_for(config)


@dataclass(frozen=True)
class Document:
    """A file that must be in S3 before a plan runs: a manifest or the object list.

    The body is rendered on demand: a plan that is only shown, or a split
    that tries several sizes, never pays for it.
    """

    bucket: str
    key: str
    kind: Literal["manifest", "object-list"]
    entries: tuple[ManifestEntry, ...]

    @property
    def uri(self) -> str:
        """``s3://bucket/key``, as the plan's COPY names it."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def content_type(self) -> str:
        """The Content-Type it is written with."""
        return "application/json" if self.kind == "manifest" else "text/csv"

    def body(self) -> str:
        """The document's text."""
        if self.kind == "manifest":
            return manifest_json(self.entries)
        return object_list_csv(self.entries)


@dataclass(frozen=True)
class PlannedTransaction:
    """One transaction of a batch: its plan, the objects it loads, the files it reads."""

    plan: TransactionPlan
    entries: tuple[ManifestEntry, ...]
    """The objects the transaction records as loaded (the batch's, in load order)."""
    documents: tuple[Document, ...]
    contents: tuple[ManifestEntry, ...] = ()
    """What its COPYs read, when more than ``entries`` (a replace snapshot's listed objects)."""

    @property
    def objects(self) -> tuple[str, ...]:
        """The ``s3://`` URIs of the objects it loads, in load order."""
        return tuple(e.uri for e in self.contents or self.entries)


_Group = tuple[Compression | None, FileShape | None, list[ManifestEntry]]


def _copy_groups(
    target: Target,
    entries: Sequence[ManifestEntry],
    per_object: bool,
    shapes: Mapping[str, FileShape],
) -> list[_Group]:
    """One COPY per compression and file shape (COPY takes one of each for all its files).

    ``per_object``: one COPY per object, in load order (an upsert without
    ``order_by`` whose objects share keys). A shape is only told apart where
    the load names the files' columns (:func:`_loaded_shape`).
    """
    rule = target.rule
    compressions = [resolve_compression(rule.format, e.key) for e in entries]
    if shapes and rule.schema_policy.match == "name":
        loaded = [_loaded_shape(rule, shapes.get(e.uri)) for e in entries]
    else:
        loaded = [None] * len(entries)  # the usual rule: no file's shape matters
    keys = list(zip(compressions, loaded, strict=True))
    if per_object:
        return [(c, shape, [e]) for (c, shape), e in zip(keys, entries, strict=True)]
    if len(set(keys)) == 1:  # the usual batch: one kind of file
        return [(*keys[0], list(entries))]
    merged: dict[tuple[Compression | None, FileShape | None], list[ManifestEntry]] = {}
    for key, entry in zip(keys, entries, strict=True):
        merged.setdefault(key, []).append(entry)
    return [(*key, group) for key, group in merged.items()]


def _loaded_shape(rule: MappingRule, shape: FileShape | None) -> FileShape | None:
    """The part of a file's shape its COPY depends on, when the rule loads by name.

    CSV and delimited text: the header's names (a column list); Parquet and
    ORC: names and types (a table shaped like the file). JSON and Avro match
    by name on their own ('auto').
    """
    if shape is None:
        return None
    if isinstance(rule.format, ParquetFormat | OrcFormat):
        return shape
    if isinstance(rule.format, CsvFormat | DelimitedFormat):
        return tuple((name, _ANY) for name, _ in shape)
    return None


_ANY = ColumnType("VARCHAR")


def plan_transaction(
    target: Target,
    entries: Sequence[ManifestEntry],
    *,
    settings: PlanSettings,
    columns: Sequence[str] = (),
    tie_columns: Sequence[str] | None = None,
    loaded_at: str,
    per_object: bool = False,
    contents: Sequence[ManifestEntry] = (),
    shapes: Mapping[str, FileShape] = _NO_SHAPES,
) -> PlannedTransaction:
    """The one transaction that loads ``entries`` (in this order) into ``target``.

    ``columns`` are the target's columns (upsert inserts by name),
    ``tie_columns`` those that break ties between rows of one key (default:
    every other column); ``loaded_at`` is the time the ledger records.
    ``per_object`` stages an upsert's objects one at a time. ``contents``: what
    the COPYs read instead of ``entries`` (a replace snapshot's every object,
    the ledger recording the events'); ``shapes``: the files' columns by URI.
    """
    if not entries:
        raise ValueError("a transaction loads at least one object")
    rule, table = target.rule, target.table
    data = list(contents) or list(entries)
    batch = batch_id(table, [*entries, *contents])
    bucket = settings.manifest_bucket or min(e.bucket for e in entries)
    documents, data_copies = _data_copies(target, data, settings, bucket, batch, per_object, shapes)
    batch_list = None
    ledger = settings.ledger_for(table)
    if ledger is not None:
        listing, batch_list = _object_list(settings, table, batch, bucket, entries)
        documents.append(listing)
    plan = build_plan(
        target=table,
        batch_id=batch,
        mode=rule.mode,
        data_copies=data_copies,
        ledger=ledger,
        batch_list_copy=batch_list,
        loaded_at=loaded_at,
        record_rejects=_record_rejects(rule, table, batch, loaded_at, settings),
        keys=rule.keys,
        order_by=rule.order_by,
        columns=tuple(columns) if rule.mode == "upsert" else (),
        tie_columns=tie_columns,
        per_object=per_object,
    )
    return PlannedTransaction(plan, tuple(entries), tuple(documents), tuple(contents))


def _object_list(
    settings: PlanSettings,
    table: TableRef,
    batch: str,
    bucket: str,
    entries: Sequence[ManifestEntry],
) -> tuple[Document, CopyStep]:
    """The batch's object list (for the ledger) and the COPY that reads it into the batch table."""
    key = object_list_key(settings.manifest_prefix, table, batch)
    listing = Document(bucket, key, "object-list", tuple(entries))
    command = CopyCommand(
        table=BATCH_TABLE,
        source=listing.uri,
        format=CsvFormat(compression="none"),
        authorization=settings.authorization,
        region=settings.region,
    )
    return listing, CopyStep(command, "batch-list", (listing.uri,))


def _record_rejects(
    rule: MappingRule, table: TableRef, batch: str, loaded_at: str, settings: PlanSettings
) -> str | None:
    """The statement keeping a data COPY's rejected rows, for a ``skip_rows`` rule (else None)."""
    if not rule.options.skip_rows or (rejects := settings.rejects_table) is None:
        return None
    from s3redshift.rejects import record_rejects_sql

    return record_rejects_sql(rejects, table, batch, loaded_at, settings.error_log)


def _data_copies(
    target: Target,
    data: Sequence[ManifestEntry],
    settings: PlanSettings,
    bucket: str,
    batch: str,
    per_object: bool,
    shapes: Mapping[str, FileShape],
) -> tuple[list[Document], list[DataCopy]]:
    """The manifests of ``data`` (one per compression, or per object) and the COPY of each."""
    rule, table = target.rule, target.table
    columnar = isinstance(rule.format, ParquetFormat | OrcFormat)
    groups = _copy_groups(target, data, per_object and rule.mode == "upsert", shapes)
    copy_table = STAGE_TABLE if rule.mode == "upsert" else table
    documents: list[Document] = []
    data_copies: list[DataCopy] = []
    for n, (compression, shape, group) in enumerate(groups, start=1):
        part = f"{n:05d}" if len(groups) > 1 else ""
        key = manifest_key(settings.manifest_prefix, table, batch, part=part)
        manifest = Document(bucket, key, "manifest", tuple(group))
        documents.append(manifest)
        shaped = columnar and shape is not None
        command = CopyCommand(
            table=TableRef.temporary(f"s3redshift_file_{n}") if shaped else copy_table,
            source=manifest.uri,
            manifest=True,
            format=_nested_as_json(rule.format, group, shapes),
            compression=compression,
            authorization=settings.authorization,
            region=None if columnar else settings.region,
            columns=rule.columns if shape is None or shaped else tuple(c for c, _ in shape),
            options=rule.options,
        )
        step = CopyStep(command, "data", tuple(map(_URI, group)))
        if shaped and shape is not None:
            empty = frozenset(c for c, t in shape if t.kind == "UNKNOWN")
            data_copies.append(ShapedCopy(step, tuple((c, t.sql) for c, t in shape), empty))
        else:
            data_copies.append(step)
    return documents, data_copies


def _nested_as_json(
    fmt: FileFormat, group: Sequence[ManifestEntry], shapes: Mapping[str, FileShape]
) -> FileFormat:
    """Parquet/ORC files with nested columns load into SUPER only with SERIALIZETOJSON."""
    if not isinstance(fmt, ParquetFormat | OrcFormat) or fmt.serialize_to_json:
        return fmt
    nested = any(t.kind == "SUPER" for e in group for _, t in shapes.get(e.uri, ()))
    return fmt.model_copy(update={"serialize_to_json": True}) if nested else fmt


def next_transaction(
    target: Target,
    entries: Sequence[ManifestEntry],
    *,
    settings: PlanSettings,
    columns: Sequence[str] = (),
    tie_columns: Sequence[str] | None = None,
    loaded_at: str,
    limits: Limits = UNLIMITED,
    per_object: bool = False,
    contents: Sequence[ManifestEntry] = (),
    shapes: Mapping[str, FileShape] = _NO_SHAPES,
) -> PlannedTransaction:
    """The transaction of the longest head of ``entries`` that fits ``limits``.

    A single object always makes a transaction, fitting or not: the transport
    then refuses it with an error that names the limit. The size is predicted
    from the plans of one and two objects and checked (then grown by
    doubling or bisected if the prediction is off), so a split costs about
    four small plans, never one as large as the whole batch (2,000 objects
    merged one at a time would be 14,000 statements).
    """

    def plan(count: int) -> PlannedTransaction:
        return plan_transaction(
            target,
            entries[:count],
            settings=settings,
            columns=columns,
            tie_columns=tie_columns,
            loaded_at=loaded_at,
            per_object=per_object,
            contents=contents,
            shapes=shapes,
        )

    if limits == UNLIMITED or not per_object:
        whole = plan(len(entries))
        if limits.admit(whole.plan) or len(entries) == 1:
            return whole
    one = plan(1)
    if len(entries) == 1 or not limits.admit(one.plan):
        return one
    two = plan(2)
    if not limits.admit(two.plan):
        return one
    return _largest_fit(plan, limits, one, two, len(entries))


def _largest_fit(
    plan: Callable[[int], PlannedTransaction],
    limits: Limits,
    one: PlannedTransaction,
    two: PlannedTransaction,
    count: int,
) -> PlannedTransaction:
    """The plan of the most of ``count`` objects that fits ``limits`` (two are known to fit).

    Each object adds the same steps, so two sizes predict the largest that
    fits; the prediction is checked, then grown or bisected if it is off.
    """
    fits, best, too_many = 2, two, count + 1
    guess = min(max(_predicted_fit(limits, one=one.plan, two=two.plan), 3), count)
    if guess > fits:
        tried = plan(guess)
        if limits.admit(tried.plan):
            fits, best = guess, tried
        else:
            too_many = guess
    step = 1
    while fits < count and too_many == count + 1:
        size = min(fits + step, count)
        tried = plan(size)
        if not limits.admit(tried.plan):
            too_many = size
            break
        fits, best, step = size, tried, step * 2
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        tried = plan(middle)
        if limits.admit(tried.plan):
            fits, best = middle, tried
        else:
            too_many = middle
    return best


def _predicted_fit(limits: Limits, *, one: TransactionPlan, two: TransactionPlan) -> int:
    """The object count at which the plan's growth per object reaches ``limits``."""
    guesses = []
    for limit, first, second in (
        (limits.statements, len(one.steps), len(two.steps)),
        (limits.sql_bytes, _sql_bytes(one), _sql_bytes(two)),
    ):
        if limit is not None and second > first:
            guesses.append(1 + (limit - first) // (second - first))
    return min(guesses, default=2)


def _sql_bytes(plan: TransactionPlan) -> int:
    return sum(
        len(sql.encode("utf-8", errors="surrogatepass")) for sql in plan.statements(redact=False)
    )


def split_batch(
    target: Target,
    entries: Sequence[ManifestEntry],
    *,
    settings: PlanSettings,
    columns: Sequence[str] = (),
    tie_columns: Sequence[str] | None = None,
    loaded_at: str,
    limits: Limits = UNLIMITED,
    per_object: bool = False,
    shapes: Mapping[str, FileShape] = _NO_SHAPES,
) -> Iterator[PlannedTransaction]:
    """Every transaction of the batch, in load order, as the loader runs them.

    The loader takes them one at a time (:func:`next_transaction` on what is
    left), which gives the same transactions: each one is the longest head
    that fits.
    """
    rest = list(entries)
    while rest:
        planned = next_transaction(
            target,
            rest,
            settings=settings,
            columns=columns,
            tie_columns=tie_columns,
            loaded_at=loaded_at,
            limits=limits,
            per_object=per_object,
            shapes=shapes,
        )
        yield planned
        rest = rest[len(planned.entries) :]


def entries_from_events(objects: Iterable[S3Object], mode: str = "append") -> list[ManifestEntry]:
    """Manifest entries from event data alone (for plans shown without AWS calls)."""
    return [
        ManifestEntry(
            o.bucket,
            o.key,
            object_identity(o, mode) or "unknown",
            o.size or 0,
            "" if mode == "append" else object_order(o),
        )
        for o in objects
    ]


def loader_mapper(config: LoaderConfig, mapper: TableMapper | None = None) -> TableMapper:
    """The mapper a load uses: ``mapper`` (default: the configuration's), ledger reserved."""
    mapper = mapper or config.mapper()
    schema = config.ledger.active_schema
    return mapper if schema is None else reserve_ledger(mapper, ledger_schema=schema)


# --- `s3redshift plan`: an event's transactions, offline -------------------------------


@dataclass(frozen=True)
class Skip:
    """An object (or record) that would not be loaded, and why."""

    uri: str
    reason: str


@dataclass(frozen=True)
class EventPlan:
    """Every transaction an event's objects would be loaded in, plus what would be skipped.

    ``targets`` has one entry per transaction: a target whose batch the
    transport's limits split appears once per part, in load order.
    """

    targets: tuple[PlannedTransaction, ...]
    skipped: tuple[Skip, ...]
    ddl: Mapping[TableRef, tuple[str, ...]] = field(default_factory=dict)
    """Per table with a schema policy: the statements run before its first transaction."""
    unplanned: Mapping[TableRef, str] = field(default_factory=dict)
    """Per table with a schema policy: why its files' schemas could not be planned."""
    missing: frozenset[TableRef] = frozenset()
    """Tables with a schema policy that do not exist and would not be created."""

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of design §5, one ``targets`` entry per transaction.

        A table's schema statements (``ddl``) are in its first entry.
        """
        shown: set[TableRef] = set()
        targets = []
        for t in self.targets:
            entry: dict[str, Any] = {
                "table": str(t.plan.target),
                "objects": list(t.objects),
                "statements": t.plan.statements(),
            }
            if t.plan.target not in shown:
                if t.plan.target in self.ddl:
                    entry["ddl"] = list(self.ddl[t.plan.target])
                if t.plan.target in self.unplanned:
                    entry["schema_not_planned"] = self.unplanned[t.plan.target]
                shown.add(t.plan.target)
            targets.append(entry)
        return {
            "targets": targets,
            "skipped": [{"uri": s.uri, "reason": s.reason} for s in self.skipped],
        }


SchemaPlanner = Callable[[Target, Sequence[ManifestEntry]], SchemaPlan]
"""What a load would do to a table first (:meth:`~s3redshift.loader.Loader.schema_plan`)."""


@dataclass
class _SchemaNotes:
    """What planning an event learns of its tables that have a schema policy."""

    ddl: dict[TableRef, tuple[str, ...]] = field(default_factory=dict)
    unplanned: dict[TableRef, str] = field(default_factory=dict)
    missing: set[TableRef] = field(default_factory=set)

    def plan(
        self,
        schema: SchemaPlanner | None,
        target: Target,
        entries: list[ManifestEntry],
        skipped: list[Skip],
    ) -> tuple[list[ManifestEntry], Mapping[str, FileShape]]:
        """The entries that can load and their shapes; the others go to ``skipped``."""
        if schema is None or not target.rule.schema_policy.active:
            return entries, _NO_SHAPES
        try:
            planned = schema(target, entries)
        except S3RedshiftError as exc:  # the table could not be read
            self.unplanned[target.table] = exc.message
            return entries, _NO_SHAPES
        skipped += [Skip(uri, e.message) for uri, e in planned.failures.items()]
        self.ddl[target.table] = planned.ddl
        if planned.missing:
            self.missing.add(target.table)
        return [e for e in entries if e.uri not in planned.failures], planned.shapes


def plan_event(
    config: LoaderConfig,
    parsed: ParsedEvent,
    *,
    now: datetime | None = None,
    schema: SchemaPlanner | None = None,
) -> EventPlan:
    """Plan the load of an already parsed event, offline.

    Sizes and identities come from the notification: nothing is checked
    against S3 or the ledger and nothing is written. What is shown is the
    statement list a load of those objects runs, up to the batch id (the
    loader derives it from the identities S3 confirms) and the ledger's
    timestamp. ``schema`` (which reads the files and the table) plans a rule
    with a schema policy: its DDL, and the objects that cannot load skipped.
    """
    from s3redshift.transports import limits_for

    mapper = loader_mapper(config)
    settings = PlanSettings.from_config(config)
    limits = limits_for(config)
    loaded_at = ledger_timestamp(now or datetime.now(UTC))
    classified = classify(mapper, parsed.objects)
    skipped = [Skip(r.uri or r.path, r.reason) for r in parsed.skipped]
    skipped += [Skip(r.s3_object.uri, r.reason) for _, r in sorted(classified.skipped.items())]
    transactions: list[PlannedTransaction] = []
    notes = _SchemaNotes()
    for target, members in classified.groups.items():
        if target.rule.mode == "replace" and len(members) > 1:
            newest = snapshot_of(mapper, target, max((o for _, o in members), key=load_order))
            chosen = [(i, o) for i, o in members if snapshot_of(mapper, target, o) == newest]
            skipped += [Skip(o.uri, NEWER_IN_BATCH) for i, o in members if (i, o) not in chosen]
            members = chosen
        if target.rule.mode == "upsert" and not target.rule.columns:
            raise ConfigError(
                f"planning upsert into {target.table} offline needs the rule's 'columns' "
                f"(pattern {target.rule.pattern!r}); the loader reads them from the database"
            )
        in_order = sorted((o for _, o in members), key=load_order)
        entries = entries_from_events(in_order, target.rule.mode)
        entries, shapes = notes.plan(schema, target, entries, skipped)
        transactions += split_batch(
            target,
            entries,
            settings=settings,
            columns=target.rule.columns,
            loaded_at=loaded_at,
            limits=limits,
            shapes=shapes,
        )
    return EventPlan(
        tuple(transactions),
        tuple(skipped),
        notes.ddl,
        notes.unplanned,
        frozenset(notes.missing),
    )
