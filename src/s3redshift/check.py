"""``s3redshift check``: is this configuration ready to load, end to end, before the first load?

Each check is one question a failed load would otherwise answer late, one
object at a time: can the loader sign in, reach the database, create its
ledger, find each target table with the columns its rule names, read the
source prefix, and write and remove its own files under the manifest
prefix; on Redshift also, is the COPY role usable (a ``COPY … NOLOAD`` of a
tiny object, which reads it with the role and loads nothing). Every check
returns a :class:`Check` with the fix when it fails; a check that needs an
earlier one (the database, say) is skipped, not failed again, so one cause
is reported once.

Nothing here changes what a load sees: the only writes are a probe object
under the manifest prefix (keys the mapping ignores), deleted again, and, on
Redshift, a session-temporary table the probe COPY targets.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Literal

from s3redshift.aws_errors import aws_error_code, translate_aws_errors
from s3redshift.classify import classify
from s3redshift.copy import (
    CopyCommand,
    CopyOptions,
    CsvFormat,
    OrcFormat,
    ParquetFormat,
    resolve_compression,
)
from s3redshift.deadline import Deadline
from s3redshift.errors import (
    BatchConflictError,
    ConfigError,
    CredentialsError,
    DataRejectedError,
    PermissionDeniedError,
    S3RedshiftError,
    TargetMissingError,
)
from s3redshift.events import S3Object
from s3redshift.identifiers import TableRef, quote_literal
from s3redshift.ledger import PREVIOUS_LEDGER_TABLE, abort_sql, create_ledger_sql
from s3redshift.listing import list_prefix, parse_s3_uri, read_head
from s3redshift.manifest import ManifestEntry, ManifestWriter
from s3redshift.mapping import Target
from s3redshift.planner import entries_from_events
from s3redshift.s3_errors import s3_call
from s3redshift.transaction import GUARD_PURPOSE, CopyStep, SqlStep, Step, TransactionPlan
from s3redshift.unreachable import database_down, target_location

if TYPE_CHECKING:
    from s3redshift.loader import Loader

__all__ = [
    "DATABASE_CHECK",
    "MARKS",
    "NO_AWS_CREDENTIALS",
    "PROBE_BODY",
    "SAMPLE_KEYS",
    "Check",
    "Status",
    "run_checks",
]

Status = Literal["ok", "failed", "skipped"]

SAMPLE_KEYS = 1000
"""Keys read from each source prefix (one listing page) to find the tables it loads."""

PROBE_BODY = b"s3redshift check\n"
"""What the probe object under the manifest prefix holds."""


MARKS: dict[Status, str] = {
    "ok": "\N{HEAVY CHECK MARK}",
    "failed": "\N{HEAVY BALLOT X}",
    "skipped": "-",
}
"""How each status is shown at the start of its line."""


@dataclass(frozen=True)
class Check:
    """One line of ``s3redshift check``: what was checked, how it went, and the fix."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    error: str = ""
    """The class of the error behind a failure (``PermissionDeniedError``), if there was one."""

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            "error": self.error,
        }

    def line(self) -> str:
        """``✔ name: detail``, ``✘ name: detail; fix: …`` or ``- name: detail`` (skipped)."""
        text = f"{MARKS[self.status]} {self.name}: {self.detail}"
        return f"{text}; fix: {self.fix}" if self.fix else text


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _failed(name: str, detail: str, fix: str, error: BaseException | None = None) -> Check:
    return Check(name, "failed", detail, fix, "" if error is None else type(error).__name__)


def _skipped(name: str, why: str) -> Check:
    return Check(name, "skipped", why)


@dataclass
class _Source:
    uri: str
    bucket: str
    objects: list[S3Object]


def run_checks(
    loader: Loader,
    sources: Sequence[str],
    *,
    where: str | None = None,
    on_check: Callable[[Check], None] | None = None,
    time_budget: float | None = None,
) -> list[Check]:
    """Every check for ``loader``'s configuration and the ``sources`` (``s3://bucket/prefix``).

    ``where`` names the database for messages (default: host and port, or
    the Data API's target, as :func:`s3redshift.unreachable.target_location`
    says; never a secret). ``on_check`` sees each result as soon as it is known, so a slow
    check (a connect time-out) shows what came before it. ``time_budget``
    (seconds) bounds every database statement together. Never raises: a
    check that fails unexpectedly is a failed line naming the exception.
    """
    results: list[Check] = []
    deadline = Deadline.after(time_budget)

    def add(check: Check) -> Check:
        results.append(check)
        if on_check is not None:
            on_check(check)
        return check

    config = loader.config
    add(_guarded("database credentials", lambda: _database_credentials(loader)))
    database = add(_guarded(DATABASE_CHECK, lambda: _database(loader, where, deadline)))
    reachable = database.status == "ok"
    ledger_ok = True
    if (schema := config.ledger.active_schema) is not None:
        ledger = _skipped("ledger", "the database is unreachable")
        if reachable:
            ledger = _guarded(f"ledger (schema {schema})", lambda: _ledger(loader, deadline))
        ledger_ok = add(ledger).status == "ok"
    listed = _list_sources(loader, sources, add)
    try:
        samples = _targets(loader, listed, add) if sources else _named_targets(loader, add)
    except Exception as exc:  # a line, not a crash (see _guarded)
        samples = []
        add(_unexpected("map", exc))
    _target_checks(loader, samples, add, deadline, reachable=reachable, ledger_ok=ledger_ok)
    manifest_bucket = config.copy_.manifest_bucket or (listed[0].bucket if listed else None)
    if manifest_bucket is None:
        add(
            _skipped(
                "manifest prefix",
                "no bucket to check: give a source s3://BUCKET/PREFIX or [copy] manifest_bucket",
            )
        )
        return results
    probe_name = f"manifest prefix s3://{manifest_bucket}/{config.copy_.manifest_prefix}"
    probe = add(_guarded(probe_name, lambda: _manifest_prefix(loader, manifest_bucket)))
    ready = reachable and probe.status == "ok"
    add(
        _guarded("COPY role", lambda: _copy_role(loader, manifest_bucket, samples, deadline, ready))
    )
    return results


UNEXPECTED_FIX = (
    "no check expected this error: report it with this line (the exception's own text is left "
    "out, since it may quote anything, secrets included)"
)
"""The fix of a check that failed with an exception no check expected."""


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """``check()``, or a failed line for an error it did not handle (it never stops the rest).

    A project error keeps its message; any other exception is named by class
    only, since a driver's or a library's text may hold anything.
    """
    try:
        return check()
    except Exception as exc:
        return _unexpected(name, exc)


def _unexpected(name: str, exc: Exception) -> Check:
    """The failed line of an error no check handled."""
    if isinstance(exc, S3RedshiftError):
        return _failed(name, exc.message, "correct what the message names", exc)
    detail = f"the check failed unexpectedly ({type(exc).__name__})"
    return _failed(name, detail, UNEXPECTED_FIX, exc)


def _list_sources(
    loader: Loader, sources: Sequence[str], add: Callable[[Check], Check]
) -> list[_Source]:
    """List and read each source, adding their lines; the sources that could be listed."""
    listed: list[_Source] = []
    for uri in sources:
        try:
            check, source = _list_source(loader, uri)
        except Exception as exc:  # a line, not a crash (see _guarded)
            check, source = _unexpected(f"list {uri}", exc), None
        add(check)
        if source is not None:
            listed.append(source)
            add(_guarded(f"read {source.uri}", partial(_read_source, loader, source)))
    return listed


def _target_checks(
    loader: Loader,
    samples: Sequence[tuple[Target, S3Object | None]],
    add: Callable[[Check], Check],
    deadline: Deadline,
    *,
    reachable: bool,
    ledger_ok: bool,
) -> None:
    """The table check of each target, then the load transaction's LOCK and TEMP check."""
    for target, sample in samples:
        table_name = f"table {target.table}"
        transaction_name = f"load transaction {target.table}"
        if not reachable:
            add(_skipped(table_name, "the database is unreachable"))
            add(_skipped(transaction_name, "the database is unreachable"))
            continue
        table = add(_guarded(table_name, partial(_table, loader, target, deadline)))
        active = target.rule.schema_policy.active
        if active and sample is None:
            add(_skipped(f"schema {target.table}", NEEDS_A_FILE))
            add(_skipped(transaction_name, NEEDS_A_FILE))
            continue
        if active:
            assert sample is not None
            check = partial(_schema, loader, target, sample, deadline)
            add(_guarded(f"schema {target.table}", check))
        if table.status != "ok" or not ledger_ok:
            add(_skipped(transaction_name, "needs the table and ledger checks to pass"))
            continue
        probe = partial(_load_transaction, loader, target, sample, deadline)
        add(_guarded(transaction_name, probe))


# --- sign-in and the database -----------------------------------------------------


def _database_credentials(loader: Loader) -> Check:
    config = loader.config
    name = "database credentials"
    if loader.transport.name == "stand-in":
        return _skipped(name, "the local stand-in does not check passwords")
    if config.target.transport == "data-api" and config.credentials.provider == "iam":
        return _skipped(name, "the Data API signs in with the caller's IAM identity")
    provider = config.credential_provider()
    try:
        credentials = provider.get()
    except S3RedshiftError as exc:
        return _failed(name, exc.message, "check [credentials] and the permission to read them")
    return _ok(name, f"user {credentials.user} ({config.credentials.provider})")


DATABASE_CHECK = "database reachable"
"""The name of the check that the database answers."""


def _database(loader: Loader, where: str | None, deadline: Deadline) -> Check:
    where = where or target_location(loader.config.target)
    try:
        loader.transport.query("SELECT 1", time_budget=deadline.remaining())
    except S3RedshiftError as exc:
        down = database_down(exc, loader.config.target)
        if down is not None:  # worded as every command words it
            return _failed(DATABASE_CHECK, down.detail, down.fix, exc)
        return _failed(DATABASE_CHECK, f"{where}: {exc.message}", _database_fix(loader), exc)
    return _ok(DATABASE_CHECK, f"{where} answered SELECT 1")


def _database_fix(loader: Loader) -> str:
    """What to look at when the database did not answer: the keys its transport reads."""
    if loader.config.target.transport == "data-api":
        return (
            "check [target] (workgroup or cluster_identifier, database), [credentials], "
            "and this shell's AWS identity and Region"
        )
    return "check [target] (host, port, database) and [credentials]"


def _ledger(loader: Loader, deadline: Deadline) -> Check:
    schema = loader.config.ledger.schema_name
    name = f"ledger (schema {schema})"
    literal = quote_literal(schema)
    try:
        previous = loader.transport.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"{literal} AND table_name = {quote_literal(PREVIOUS_LEDGER_TABLE)}",
            time_budget=deadline.remaining(),
        )
        if previous:
            return _failed(
                name,
                f"{schema}.{PREVIOUS_LEDGER_TABLE}, the one ledger table of an earlier version, "
                "still exists",
                "copy its rows into the per-target ledger tables, then drop or rename it "
                "(Upgrading, in docs/upgrading.md)",
            )
        exists = loader.transport.query(
            f"SELECT nspname FROM pg_namespace WHERE nspname = {literal}",
            time_budget=deadline.remaining(),
        )
        if exists:
            allowed = _answer(
                loader.transport.query(
                    f"SELECT has_schema_privilege({literal}, 'CREATE')",
                    time_budget=deadline.remaining(),
                )
            )
            what = f"schema {schema} exists"
        else:
            allowed = _answer(
                loader.transport.query(
                    "SELECT has_database_privilege(current_database(), 'CREATE')",
                    time_budget=deadline.remaining(),
                )
            )
            what = f"schema {schema} does not exist yet"
    except S3RedshiftError as exc:
        return _failed(name, exc.message, "check the database user's privileges")
    if not allowed:
        return _failed(
            name,
            f"{what} and the database user may not create tables in it",
            f"GRANT CREATE ON SCHEMA {schema} (or, before it exists, CREATE ON DATABASE) to "
            "the loader's user, or create the schema for it",
        )
    return _ok(name, f"{what}; the ledger tables can be created")


def _answer(rows: Sequence[Sequence[object]]) -> bool:
    """A privilege function's one boolean, however the transport spells it."""
    return bool(rows) and rows[0][0] in (True, 1, "t", "true", "True")


# --- S3 -------------------------------------------------------------------------


NO_AWS_CREDENTIALS = (
    "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role "
    "is attached"
)
"""The fix for a request that found no AWS credentials to sign it with."""


def _s3_failed(name: str, done: str, error: S3RedshiftError, where: str, permission: str) -> Check:
    """A failed S3 check: what failed with the code, and the fix its error's class calls for.

    ``error`` is the one AWS translation's (:func:`s3redshift.aws_errors.aws_error`);
    only the wording of the fix is this check's own.
    """
    cause = error.__cause__ or error
    code = aws_error_code(cause) or type(cause).__name__
    if isinstance(error, CredentialsError):
        fix = f"{NO_AWS_CREDENTIALS}; renew keys AWS no longer accepts"
    elif isinstance(error, PermissionDeniedError):
        fix = f"allow {permission} on arn:aws:s3:::{where} for the loader's role"
    elif isinstance(error, ConfigError):
        fix = f"the bucket {where.partition('/')[0]} does not exist: check the name and the Region"
    else:
        fix = "check the bucket, the Region and the network"
    return _failed(name, f"{done} ({code})", fix, error)


LISTING_PERMISSIONS = (
    "s3:GetBucketVersioning and s3:ListBucket (s3:ListBucketVersions on a versioned bucket)"
)
"""What listing a prefix the way ``s3redshift load`` lists it takes."""


def _list_source(loader: Loader, uri: str) -> tuple[Check, _Source | None]:
    """One page of the prefix, listed as ``s3redshift load`` lists it (versioning included)."""
    bucket, prefix = parse_s3_uri(uri)
    name = f"list {uri}"
    try:
        objects = list(islice(list_prefix(loader.s3, bucket, prefix), SAMPLE_KEYS))
    except S3RedshiftError as exc:
        return _s3_failed(name, "listing failed", exc, bucket, LISTING_PERMISSIONS), None
    if not objects:
        return (
            _failed(
                name,
                "no object under this prefix",
                "check the prefix's spelling (S3 prefixes are case-sensitive), or upload a file",
            ),
            _Source(uri, bucket, objects),
        )
    more = " or more" if len(objects) == SAMPLE_KEYS else ""
    return _ok(name, f"{len(objects)}{more} object(s)"), _Source(uri, bucket, objects)


def _read_source(loader: Loader, source: _Source) -> Check:
    name = f"read {source.uri}"
    if not source.objects:
        return _skipped(name, "no object to read")
    sample = source.objects[0]
    try:
        with translate_aws_errors(s3_call("HeadObject", "s3:GetObject", s3_uri=sample.uri)):
            read_head(loader.s3, sample.bucket, sample.key)
    except S3RedshiftError as exc:
        done = f"HeadObject of {sample.uri} failed"
        return _s3_failed(name, done, exc, f"{sample.bucket}/*", "s3:GetObject")
    return _ok(name, f"HeadObject of {sample.uri}")


def _targets(
    loader: Loader, sources: Sequence[_Source], add: Callable[[Check], Check]
) -> list[tuple[Target, S3Object]]:
    """Each table the sources' keys map to, with one of its objects (for the COPY probe).

    A source none of whose keys maps is a failure naming some of them.
    """
    found: dict[TableRef, tuple[Target, S3Object]] = {}
    for source in sources:
        if not source.objects:
            continue
        classified = classify(loader.mapper, source.objects)
        for target, members in classified.groups.items():
            found.setdefault(target.table, (target, members[0][1]))
        if not classified.groups:
            examples = ", ".join(o.key for o in source.objects[:3])
            reasons = {r.reason for r in classified.skipped.values() if r.reason}
            add(
                _failed(
                    f"map {source.uri}",
                    f"none of the {len(source.objects)} key(s) maps to a table (e.g. {examples}"
                    + (f"; {sorted(reasons)[0]}" if reasons else "")
                    + ")",
                    "check the [[tables]] patterns against these keys",
                )
            )
        else:
            tables = ", ".join(sorted(str(t.table) for t in classified.groups))
            unmapped = sum(1 for r in classified.skipped.values() if r.outcome == "unmapped")
            add(
                _ok(
                    f"map {source.uri}",
                    f"tables {tables}" + (f"; {unmapped} key(s) map to none" if unmapped else ""),
                )
            )
    return [found[table] for table in sorted(found, key=str)]


NEEDS_A_FILE = "needs a file to read: give a source s3://BUCKET/PREFIX"
"""Why a check of a table's files is skipped when ``check`` was given no source."""


def _named_targets(
    loader: Loader, add: Callable[[Check], Check]
) -> list[tuple[Target, S3Object | None]]:
    """Without a source: every rule's table that is a plain name; the others are said skipped.

    A rule whose schema or table is a ``{capture}`` template names its tables
    from the keys, so only a source's keys can say which tables to check.
    """
    named, templated = loader.mapper.named_targets()
    for index, rule in templated:
        schema = f"{rule.target_schema}." if rule.target_schema else ""
        add(
            _skipped(
                f"tables of rule tables[{index}] ({rule.pattern!r} -> {schema}{rule.table})",
                "its table name comes from each key: give a source s3://BUCKET/PREFIX whose "
                "keys it maps to check those tables",
            )
        )
    found: dict[TableRef, Target] = {}
    for target in named:
        found.setdefault(target.table, target)
    return [(found[table], None) for table in sorted(found, key=str)]


MODE_PRIVILEGES = {
    "append": ("INSERT",),
    "upsert": ("SELECT", "INSERT", "DELETE"),
    "replace": ("INSERT", "DELETE"),
}
"""What a load in each mode does to its target: an upsert and a replace delete rows too."""


def _table(loader: Loader, target: Target, deadline: Deadline) -> Check:
    name = f"table {target.table}"
    rule = target.rule
    needed = MODE_PRIVILEGES[rule.mode]
    try:
        columns = loader.table_columns(target.table, time_budget=deadline.remaining())
    except TargetMissingError:
        if rule.schema_policy.create:
            return _skipped(name, "it does not exist yet: the first load creates it")
        return _failed(name, "the table does not exist", f"create {target.table} before loading")
    except S3RedshiftError as exc:
        return _failed(name, exc.message, "check the database user's access to the table")
    try:
        literal = quote_literal(target.table.sql)
        schema = quote_literal(target.table.schema or "public")
        usage = _answer(
            loader.transport.query(
                f"SELECT has_schema_privilege({schema}, 'USAGE')", time_budget=deadline.remaining()
            )
        )
        denied = [
            privilege
            for privilege in needed
            if not _answer(
                loader.transport.query(
                    f"SELECT has_table_privilege({literal}, '{privilege}')",
                    time_budget=deadline.remaining(),
                )
            )
        ]
    except S3RedshiftError as exc:
        return _failed(name, exc.message, "check the database user's privileges")
    named = [*rule.columns, *rule.keys, *([rule.order_by] if rule.order_by else [])]
    missing = [c for c in dict.fromkeys(named) if c not in columns]
    if missing:
        return _failed(
            name,
            f"the rule names column(s) the table does not have: {', '.join(missing)} "
            f"(it has {', '.join(columns)})",
            "fix the rule's columns/keys/order_by, or add the columns to the table",
        )
    if not usage:
        return _failed(
            name,
            f"the database user may not use schema {target.table.schema or 'public'}",
            f"GRANT USAGE ON SCHEMA {target.table.schema or 'public'} to the loader's user",
        )
    if denied:
        return _failed(
            name,
            f"a {rule.mode} needs {', '.join(needed)}; the database user lacks {', '.join(denied)}",
            f"GRANT {', '.join(denied)} ON {target.table} to the loader's user",
        )
    return _ok(name, f"exists, {len(columns)} column(s), {', '.join(needed)} allowed")


def _schema(loader: Loader, target: Target, sample: S3Object, deadline: Deadline) -> Check:
    """What a load of the sample would do to the table first (schema_policy), or why it fails."""
    name = f"schema {target.table}"
    entries = entries_from_events([sample], target.rule.mode)
    plan = loader.schema_plan(target, entries, time_budget=deadline.remaining())
    for error in plan.failures.values():
        return _failed(name, f"{sample.uri}: {error.message}", "see the message", error)
    if plan.missing:
        fix = f"create {target.table}, or set schema_policy.create = true"
        return _failed(name, "the table does not exist", fix)
    if plan.created:
        return _ok(name, f"the first load creates the table: {', '.join(plan.created)}")
    changes = []
    if plan.added:
        changes.append(f"adds column(s) {', '.join(plan.added)}")
    if plan.widened:
        changes.append(f"lengthens {', '.join(plan.widened)}")
    if changes:
        return _ok(name, f"a load of {sample.uri} {' and '.join(changes)}")
    return _ok(name, f"{sample.uri} fits the table as it is")


def _manifest_prefix(loader: Loader, bucket: str) -> Check:
    prefix = loader.config.copy_.manifest_prefix
    key = f"{prefix}check-{uuid.uuid4().hex}.probe"
    name = f"manifest prefix s3://{bucket}/{prefix}"
    uri = f"s3://{bucket}/{key}"
    step = "PutObject"
    try:
        with translate_aws_errors(s3_call(step, "s3:PutObject", s3_uri=uri)):
            loader.s3.put_object(Bucket=bucket, Key=key, Body=PROBE_BODY)
        step = "DeleteObject"
        with translate_aws_errors(s3_call(step, "s3:DeleteObject", s3_uri=uri)):
            loader.s3.delete_object(Bucket=bucket, Key=key)
    except S3RedshiftError as exc:
        permission = f"s3:{step}"
        return _s3_failed(name, f"{step} failed", exc, f"{bucket}/{prefix}*", permission)
    return _ok(name, "put and deleted a probe object")


# --- the load transaction ------------------------------------------------------------

ABORT_NOTE = "s3redshift check, rolled back"
"""What the statement that ends every probe transaction says (after the guard's marker)."""

TEMP_FIX = (
    "GRANT TEMP ON DATABASE <its database> to the loader's user: every load creates "
    "temporary tables"
)
"""The fix when the database user may not create temporary tables."""


def _lock_fix(table: TableRef) -> str:
    return (
        f"make the loader's user the owner of {table} (it owns the ledger tables it creates), "
        f"or GRANT UPDATE, DELETE ON {table} to it (what PostgreSQL's LOCK needs; Redshift's "
        "LOCK reference names no privilege, and this check ran the LOCK itself)"
    )


def _rolled_back(
    loader: Loader, table: TableRef, steps: Sequence[Step], deadline: Deadline
) -> None:
    """Run ``steps`` in one transaction, which a last, always failing statement rolls back.

    That statement fails the way the ledger guard does, so every transport
    reports it as the guard's :class:`BatchConflictError` (and the Data API,
    which cannot end a batch with ROLLBACK, rolls back too). Raises what the
    steps themselves raise.
    """
    if not steps:
        return
    abort = SqlStep(abort_sql(ABORT_NOTE), GUARD_PURPOSE)
    plan = TransactionPlan(
        target=table,
        batch_id=f"check-{uuid.uuid4().hex}",
        mode="append",
        steps=(*steps, abort),
    )
    try:
        loader.transport.run(plan, time_budget=deadline.remaining())
    except BatchConflictError:
        return  # the abort: every step before it ran, and nothing of them is kept


def _load_probes(
    loader: Loader, target: Target, sample: S3Object | None, deadline: Deadline
) -> list[tuple[str, list[Step], str]]:
    """What to try, as (what, the load plan's own steps, the fix if refused).

    The steps are those :meth:`Loader.plan_target` gives a load of
    ``sample``: its LOCK, after the ledger's DDL as on a first load (which
    creates the ledger, as its owner, before locking it), and its CREATE TEMP
    TABLEs.
    """
    if sample is None:  # no source given: an object that is never read stands in
        bucket = loader.config.copy_.manifest_bucket or "check"
        entry = ManifestEntry(bucket, "check", "check", 0)
    else:
        entry = ManifestEntry(
            sample.bucket, sample.key, sample.identity or "check", sample.size or 0
        )
    plan = loader.plan_target(target, [entry], write=False, time_budget=deadline.remaining())
    sqls = [step for step in plan.steps if isinstance(step, SqlStep)]
    locks = [step for step in sqls if step.sql.startswith("LOCK ")]
    temps = [step for step in sqls if step.sql.startswith("CREATE TEMP TABLE ")]
    ledger = loader.settings.ledger_for(target.table)
    made = create_ledger_sql(ledger) if ledger is not None and locks else []
    ddl: list[Step] = [SqlStep(sql, "the ledger, as a first load makes it") for sql in made]
    return [
        ("; ".join(step.sql for step in locks), [*ddl, *locks], _lock_fix(target.table)),
        ("CREATE TEMP TABLE", list(temps), TEMP_FIX),
    ]


def _load_transaction(
    loader: Loader, target: Target, sample: S3Object | None, deadline: Deadline
) -> Check:
    """The LOCK and the CREATE TEMP TABLEs a load of ``target`` runs, each tried and rolled back."""
    name = f"load transaction {target.table}"
    probes = _load_probes(loader, target, sample, deadline)
    problems: list[str] = []
    fixes: list[str] = []
    error: S3RedshiftError | None = None
    for what, steps, fix in probes:
        try:
            _rolled_back(loader, target.table, steps, deadline)
        except S3RedshiftError as exc:
            problems.append(f"{what} was refused: {exc.message}")
            denied = isinstance(exc, PermissionDeniedError)
            fixes.append(fix if denied else "check the database user's privileges")
            error = error or exc
    if problems:
        return _failed(name, "; ".join(problems), "; ".join(fixes), error)
    ran = " and ".join(what for what, steps, _ in probes if steps)
    return _ok(name, f"{ran} ran in a transaction, rolled back")


# --- the COPY role --------------------------------------------------------------------

PROBED_SOURCES = 10
"""Source objects the COPY probe reads at most, one per table (a Data API batch takes 40)."""


def _copy_role(
    loader: Loader,
    bucket: str,
    targets: Sequence[tuple[Target, S3Object | None]],
    deadline: Deadline,
    ready: bool,
) -> Check:
    """``COPY`` of a probe under the manifest prefix and of one object per table, rolled back.

    COPY reads both with the role: the manifest from the manifest bucket, the
    data from the source bucket (whose policy or KMS key may differ). Each
    source object is read with its rule's format and options into a
    temporary table shaped like its target, so a file COPY cannot parse shows
    here too. ``NOLOAD`` checks and loads nothing; Parquet and ORC refuse it,
    so their COPY loads the temporary table, which the rollback drops.
    """
    name = "COPY role"
    samples = [(target, sample) for target, sample in targets if sample is not None]
    if loader.transport.name == "stand-in":
        why = "the local stand-in reads S3 itself; on Redshift a COPY ... NOLOAD checks the role"
        return _skipped(name, why)
    if not ready:
        return _skipped(name, "needs the database and the manifest prefix")
    key = f"{loader.config.copy_.manifest_prefix}check-{uuid.uuid4().hex}.probe"
    uri = f"s3://{bucket}/{key}"
    probed = samples[:PROBED_SOURCES]
    steps = [*_probe_steps(loader, TableRef.temporary("s3redshift_check"), uri, None)]
    for n, (target, sample) in enumerate(probed, start=1):
        steps += _probe_steps(
            loader, TableRef.temporary(f"s3redshift_check_{n}"), sample.uri, target
        )
    try:
        with translate_aws_errors(s3_call("PutObject", "s3:PutObject", s3_uri=uri)):
            loader.s3.put_object(Bucket=bucket, Key=key, Body=PROBE_BODY)
        try:
            _rolled_back(loader, TableRef.temporary("s3redshift_check"), steps, deadline)
        finally:
            ManifestWriter(loader.s3).remove([uri])
    except DataRejectedError as exc:
        return _failed(
            name,
            f"the role read the objects, but COPY rejected one: {exc.message}",
            "check the rule's [tables.format] and [tables.options] against the file",
            exc,
        )
    except S3RedshiftError as exc:
        buckets = sorted({bucket, *(sample.bucket for _, sample in samples)})
        return _failed(
            name,
            exc.message,
            "check [copy] iam_role: Redshift must be able to assume it, and it must allow "
            "s3:GetObject on "
            + ", ".join(f"arn:aws:s3:::{b}/*" for b in buckets)
            + " (and kms:Decrypt on their keys, if encrypted with KMS)",
            exc,
        )
    read = ", ".join([uri, *(sample.uri for _, sample in probed)])
    return _ok(name, f"COPY read {read} with the role (NOLOAD, or rolled back for Parquet/ORC)")


def _probe_steps(loader: Loader, table: TableRef, source: str, target: Target | None) -> list[Step]:
    """A temporary table and a COPY of ``source`` into it: the probe's (CSV), or like ``target``'s.

    A target's COPY uses its rule's format and options, as a load does, with
    ``NOLOAD`` where Redshift takes it: not for Parquet or ORC, whose COPY
    takes only a few parameters (ACCEPTINVCHARS, FILLRECORD, STATUPDATE,
    EXPLICIT_IDS, MANIFEST and the authorization), NOLOAD not among them.
    """
    settings = loader.settings
    if target is None:
        create = f"CREATE TEMP TABLE {table.sql} (probe VARCHAR(64))"
        command = CopyCommand(
            table=table,
            source=source,
            format=CsvFormat(),
            authorization=settings.authorization,
            region=settings.region,
            options=CopyOptions(no_load=True),
        )
        return [SqlStep(create, purpose="check"), CopyStep(command, "data", (source,))]
    rule = target.rule
    columnar = isinstance(rule.format, ParquetFormat | OrcFormat)
    command = CopyCommand(
        table=table,
        source=source,
        format=rule.format,
        compression=resolve_compression(rule.format, source),
        authorization=settings.authorization,
        region=None if columnar else settings.region,
        columns=rule.columns,
        options=rule.options if columnar else rule.options.model_copy(update={"no_load": True}),
    )
    create = f"CREATE TEMP TABLE {table.sql} (LIKE {target.table.sql})"
    return [SqlStep(create, purpose="check"), CopyStep(command, "data", (source,))]
