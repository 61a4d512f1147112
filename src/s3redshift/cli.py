"""The ``s3redshift`` command.

Exit codes: 0 done; 1 some objects failed to load; 2 bad usage, configuration
or event. Errors are printed as one line on stderr; ``--debug`` adds the
traceback. Nothing printed ever contains a secret: statements are redacted.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO
from urllib.parse import urlsplit

from s3redshift import __version__
from s3redshift.config import LoaderConfig
from s3redshift.deadline import DEFAULT_CLI_TIMEOUT_S
from s3redshift.errors import (
    ConfigError,
    InvalidEventError,
    S3RedshiftError,
    mask_secrets,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from s3redshift.backfill import BackfillProgress, BackfillSummary
    from s3redshift.check import Check
    from s3redshift.events import S3Object
    from s3redshift.failures import Failure
    from s3redshift.loader import Loader
    from s3redshift.report import ObjectResult

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

EPILOG = """\
exit codes:
  0  done: no object failed (each loaded, or was a duplicate, superseded, ignored
     or unmapped)
  1  some objects failed to load: named on stderr (`load`), or the handler raised
     LoadFailedError or answered with batchItemFailures (`invoke`); `ledger
     --failed` found mapped objects missing from the ledger; a `check` failed
  2  bad usage, configuration or event

Configuration is read from --config FILE, else $S3REDSHIFT_CONFIG (JSON), else the
seed's DB_* variables; `s3redshift config-schema` prints every key.
"""

DEFAULT_LEDGER_LIMIT = 50
MAX_FAILURE_LINES = 20
"""Failed objects `load` names one by one on stderr; the rest are counted."""
CHECK_TIMEOUT_S = 300.0
"""`check`'s deadline by default: a queued COPY probe must not hold a terminal for an hour."""
LOCAL_TIME_BUDGET_MS = 900_000
"""What `invoke` tells the handler it has left: Lambda's 15-minute maximum."""


def _common_options(parser: argparse.ArgumentParser, *, subcommand: bool) -> None:
    # On subcommands the defaults are SUPPRESS, so `s3redshift --debug load …`
    # is not reset to False by the subcommand's own default.
    default: Any = argparse.SUPPRESS if subcommand else None
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="TOML or JSON configuration (default: $S3REDSHIFT_CONFIG, else the seed's DB_* "
        "variables)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if subcommand else False,
        help="show tracebacks on errors",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _timeout_option(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help=f"one deadline for the whole command: {what} (default: {default:g})",
    )


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time such as 2026-11-28 or 2026-11-28T12:00:00Z, "
            f"got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors in the CLI's one-line form, pointing at ``--help`` instead of the usage."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("s3redshift").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"s3redshift: error: {where}{message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="s3redshift",
        description="Load S3 objects into Amazon Redshift with COPY, exactly once.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(parser, subcommand=False)
    parser.add_argument("--version", action="version", version=f"s3redshift {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_OneLineParser
    )

    def command(name: str, help_text: str, description: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=textwrap.fill(description or help_text, width=79),
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common_options(sub, subcommand=True)
        return sub

    plan = command(
        "plan", "show the SQL each target of an event would run (no database or AWS call)"
    )
    plan.add_argument("event", metavar="EVENT.json", help="an S3/SQS/SNS/EventBridge payload")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")

    invoke = command(
        "invoke",
        "run the Lambda handler locally on an event and print its JSON response",
        "Run the Lambda handler (s3redshift.handler.handle) on EVENT.json with a loader built "
        "from the configuration, as the deployed adapter does, and print its response as JSON. "
        "The handler's JSON log lines go to stderr.",
    )
    invoke.add_argument("event", metavar="EVENT.json", help="an S3/SQS/SNS/EventBridge payload")
    _timeout_option(
        invoke, LOCAL_TIME_BUDGET_MS / 1000, "the handler's remaining time, as Lambda gives it"
    )

    load = command(
        "load",
        "backfill: load every object under an S3 prefix that is not loaded yet",
        "List s3://BUCKET/PREFIX, map each key to its table and load in batches through the "
        "same exactly-once loader the events use. Objects loaded before (by an event or an "
        "earlier run) are reported as duplicates, so re-running is safe and loads nothing "
        "new. Progress (objects and bytes) goes to stderr: a bar on a terminal, a line every "
        "few seconds otherwise. The summary goes to stdout; failed objects are named on stderr.",
    )
    load.add_argument("prefix", metavar="s3://BUCKET/PREFIX", help="where to list objects")
    load.add_argument(
        "--since",
        type=_timestamp,
        metavar="ISO",
        help="only objects last modified at or after this time (UTC when no zone is given)",
    )
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="list, map and read the ledger: name what would load, per table; write nothing",
    )
    load.add_argument(
        "--batch-size",
        type=_positive_int,
        default=500,
        metavar="N",
        help="objects per load call, i.e. per transaction and target (default: 500)",
    )
    load.add_argument(
        "--json", action="store_true", help="print the summary on stdout as one JSON document"
    )
    _timeout_option(
        load, DEFAULT_CLI_TIMEOUT_S, "no batch starts after it and every wait ends by it"
    )

    ledger = command(
        "ledger",
        "show what was loaded (from the ledger tables)",
        "Print the ledger: every object version loaded, newest first (loaded_at, table, "
        "batch, identity, object). The ledger records successful loads only, in the same "
        "transaction as the COPY; a failed load leaves no trace in the database. So "
        "--failed S3_PREFIX lists the objects under S3_PREFIX that map to a table but are "
        "NOT in the ledger: their load failed, is still running, or was never triggered "
        "(`s3redshift load S3_PREFIX` loads them).",
    )
    ledger.add_argument(
        "--table", metavar="SCHEMA.TABLE", help="only objects loaded into this table"
    )
    ledger.add_argument(
        "--failed",
        metavar="S3_PREFIX",
        help="instead, list mapped objects under s3://BUCKET/PREFIX missing from the ledger",
    )
    ledger.add_argument(
        "--limit",
        type=_non_negative_int,
        default=DEFAULT_LEDGER_LIMIT,
        metavar="N",
        help=f"print at most N rows, 0 for all (default: {DEFAULT_LEDGER_LIMIT})",
    )
    ledger.add_argument(
        "--json", action="store_true", help="print the rows on stdout as one JSON document"
    )
    _timeout_option(ledger, DEFAULT_CLI_TIMEOUT_S, "every read of the ledger ends by it")

    check = command(
        "check",
        "check a configuration end to end before the first load (one line per check)",
        "Check, one line each with its fix: the database credentials, the database, the "
        "ledger schema, each source prefix (listed as load lists it, read, which tables its "
        "keys map to), each of those tables (exists, has the rule's columns, the privileges "
        "its mode needs), put and delete under the manifest prefix, and on Redshift the COPY "
        "role (COPY ... NOLOAD of a probe and of one object per table). Exit 0 only if no "
        "check fails.",
    )
    check.add_argument(
        "sources",
        nargs="*",
        metavar="s3://BUCKET/PREFIX",
        help="source prefixes to check (their keys show which tables to check)",
    )
    check.add_argument(
        "--json", action="store_true", help="print the checks on stdout as one JSON document"
    )
    _timeout_option(check, CHECK_TIMEOUT_S, "every database statement of the checks ends by it")

    command(
        "demo",
        "run the whole job offline on the embedded stand-in (PostgreSQL + in-process S3)",
    )
    command("config-schema", "print the configuration's JSON Schema")
    return parser


def _read_event(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read event file {path!r}: {exc.strerror}") from None


# --- plan ---------------------------------------------------------------------


def _plan(args: argparse.Namespace, out: TextIO) -> int:
    from s3redshift.events import read_event
    from s3redshift.planner import plan_event

    config = _configuration(args)
    parsed = read_event(_read_event(args.event))
    if parsed.invalid:
        raise parsed.invalid[0]
    result = plan_event(config, parsed)
    if args.json:
        out.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    parts: dict[str, int] = {}
    for target in result.targets:
        parts[str(target.plan.target)] = parts.get(str(target.plan.target), 0) + 1
    seen: dict[str, int] = {}
    for target in result.targets:
        statements = target.plan.statements()
        table = str(target.plan.target)
        seen[table] = seen.get(table, 0) + 1
        part = f", transaction {seen[table]} of {parts[table]}" if parts[table] > 1 else ""
        out.write(
            f"-- {target.plan.target} ({target.plan.mode}): {len(target.objects)} object(s), "
            f"batch {target.plan.batch_id}{part}\n"
        )
        out.write(_framing(config, statements))
        if config.target.kind == "redshift" and config.target.transport == "connector":
            out.write("BEGIN;\n-- SET LOCAL statement_timeout TO <the time budget, in ms>;\n")
        for statement in statements:
            out.write(statement + ";\n")
        if config.target.kind == "redshift" and config.target.transport == "connector":
            out.write("COMMIT;\n")
        out.write("\n")
    if result.skipped:
        out.write("-- skipped\n")
        for skip in result.skipped:
            out.write(f"--   {skip.uri}: {skip.reason}\n")
    if not result.targets:
        out.write("-- nothing to load\n")
    return EXIT_OK


def _framing(config: LoaderConfig, statements: list[str]) -> str:
    """How the transport sends one target's transaction, as a comment line."""
    size = sum(len(text.encode()) for text in statements)
    if config.target.kind == "postgres":
        return (
            "-- local stand-in: one PostgreSQL transaction; each COPY is carried out by "
            "streaming its objects from S3\n"
        )
    if config.target.transport == "data-api":
        return (
            f"-- Redshift Data API: one BatchExecuteStatement = one transaction; "
            f"{len(statements)} statements (at most 40), {size} bytes of SQL (at most 100000)\n"
        )
    return "-- redshift_connector: one transaction on one session\n"


# --- invoke -------------------------------------------------------------------


class LocalContext:
    """The parts of Lambda's context object a handler reads, for local runs."""

    function_name = "s3redshift-local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:s3redshift-local"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/s3redshift-local"
    log_stream_name = "local"

    def __init__(self, budget_ms: int = LOCAL_TIME_BUDGET_MS) -> None:
        self.aws_request_id = f"local-{int(time.time() * 1000)}"
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _invoke(args: argparse.Namespace, out: TextIO) -> int:
    import logging

    from s3redshift.events import decode_payload
    from s3redshift.handler import LOGGER_NAME, JsonFormatter, handle

    event = dict(decode_payload(_read_event(args.event)))
    config = _configuration(args)
    # The deployed adapter writes the handler's JSON lines to stdout (CloudWatch);
    # here stdout carries the response, so the lines go to stderr.
    log = logging.getLogger(LOGGER_NAME)
    log.propagate = False
    log.setLevel(logging.INFO)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonFormatter())
    log.addHandler(stream)
    try:
        with args.make_loader(config) as loader:
            context = LocalContext(int(args.timeout * 1000))
            response = handle(event, context, loader=loader, log=log)
    finally:
        log.removeHandler(stream)
    out.write(json.dumps(response, indent=2, ensure_ascii=False, default=str) + "\n")
    if response.get("batchItemFailures"):
        return EXIT_FAILED
    return EXIT_OK


# --- load -----------------------------------------------------------------------


def _size(count: int, unit: tuple[int, str]) -> str:
    scale = unit[0]
    if scale == 1:
        return f"{count}"
    return f"{count / scale:.1f}"


def _unit(total: int) -> tuple[int, str]:
    for scale, name in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if total >= scale:
            return scale, name
    return 1, "B"


def format_bytes(count: int) -> str:
    """``1234567`` → ``1.2 MB`` (decimal units, as S3 and the console use)."""
    unit = _unit(count)
    return f"{_size(count, unit)} {unit[1]}"


class Ticker:
    """Calls ``beat`` every ``interval`` seconds on a daemon thread until stopped.

    The heartbeat of long work: the main thread is inside one call (a batch's
    load, a listing) and cannot report, so this thread does, from what the
    main thread last recorded.
    """

    def __init__(self, interval: float, beat: Callable[[], None]) -> None:
        self._interval = interval
        self._beat = beat
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="s3redshift-progress", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class ProgressPrinter:
    """Shows backfill progress on stderr without spoiling logs.

    On a terminal it redraws one bar in place; otherwise (a log file, CI) it
    writes a plain line at the start, at most every ``interval`` seconds in
    between, and at the end. While a batch runs, a heartbeat every
    ``interval`` seconds adds the batch's time so far, the whole run's, and an
    estimate of what is left (from the time per object of the batches done).
    """

    WIDTH = 30

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 5.0,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
    ) -> None:
        self._stream = stream
        self._heartbeat_on = heartbeat
        self._tty = stream.isatty() if tty is None else tty
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._drawn = False
        self._lock = threading.Lock()
        self._latest: BackfillProgress | None = None
        self._latest_at = 0.0
        self._started_at: float | None = None
        self._ticker = Ticker(interval, self._heartbeat)

    def line(self, p: BackfillProgress) -> str:
        unit = _unit(p.bytes_total)
        filled = (
            self.WIDTH if p.objects_total == 0 else self.WIDTH * p.objects_done // p.objects_total
        )
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return (
            f"[{bar}] {p.objects_done}/{p.objects_total} objects, "
            f"{_size(p.bytes_done, unit)}/{_size(p.bytes_total, unit)} {unit[1]}"
        )

    def running(self, p: BackfillProgress, now: float) -> str:
        """``; batch 2/3 for 12 s, 40 s in all, about 25 s left`` (no estimate before one batch)."""
        assert self._started_at is not None
        in_batch = now - self._latest_at
        text = (
            f"; batch {p.batches_done + 1}/{p.batches_total} for {in_batch:.0f} s, "
            f"{now - self._started_at:.0f} s in all"
        )
        if not p.objects_done:
            return text + ", no estimate before the first batch ends"
        per_object = (self._latest_at - self._started_at) / p.objects_done
        left = max(per_object * (p.objects_total - p.objects_done) - in_batch, 0.0)
        return text + f", about {left:.0f} s left"

    def __call__(self, p: BackfillProgress) -> None:
        now = self._clock()
        with self._lock:
            self._latest, self._latest_at = p, now
            if self._started_at is None:
                self._started_at = now
            due = self._last is None or now - self._last >= self._interval
            self._show(self.line(p), final=p.finished, due=due or p.finished)
        if p.finished:
            self._ticker.stop()
        elif self._heartbeat_on:
            self._ticker.start()

    def _heartbeat(self) -> None:
        with self._lock:
            p = self._latest
            if p is None or p.finished:
                return
            self._show(self.line(p) + self.running(p, self._clock()), final=False, due=True)

    def _show(self, text: str, *, final: bool, due: bool) -> None:
        if self._tty:
            self._stream.write("\r" + text + "\x1b[K")  # erase what a longer line left
            self._drawn = True
            if final:
                self._stream.write("\n")
                self._drawn = False
        elif due:
            self._stream.write(text + "\n")
            self._last = self._clock()
        self._stream.flush()

    def close(self) -> None:
        """Stop the heartbeat and end a bar left open (a run that stopped early)."""
        self._ticker.stop()
        with self._lock:
            if self._drawn:
                self._stream.write("\n")
                self._drawn = False


class ListingHeartbeat:
    """``s3redshift: <what>: N object(s) listed, T s`` every ``interval`` seconds while it runs."""

    def __init__(
        self,
        stream: TextIO,
        what: str,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._what = what
        self._clock = clock
        self._started = clock()
        self.listed = 0
        self._ticker = Ticker(interval, self._beat)

    def count(self, listed: int) -> None:
        self.listed = listed

    def _beat(self) -> None:
        elapsed = self._clock() - self._started
        self._stream.write(
            f"s3redshift: {self._what}: {self.listed} object(s) listed, {elapsed:.0f} s\n"
        )
        self._stream.flush()

    def __enter__(self) -> ListingHeartbeat:
        self._ticker.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._ticker.stop()


def _failure_line(result: ObjectResult) -> str:
    """One line per failed object: the rejected lines when COPY named them, else the reason."""
    where = f" -> {result.table}" if result.table else ""
    return f"failed: {result.s3_object.uri}{where}: {result.explanation}"


def _configuration(args: argparse.Namespace) -> LoaderConfig:
    """The command's configuration; what it holds that is probably not meant goes to stderr."""
    config = LoaderConfig.load(args.config)
    for warning in config.warnings:
        sys.stderr.write(f"s3redshift: warning: {warning}\n")
    return config


DRY_RUN_KEYS = 20
"""Keys a dry run names per table; the rest are counted."""


def _target_where(config: LoaderConfig) -> str:
    """Where the loader connects, without a secret: host and port, or the Data API's target."""
    target = config.target
    if target.kind == "postgres" and target.dsn:
        parts = urlsplit(target.dsn.get_secret_value())  # host and port only are shown
        try:
            port = parts.port
        except ValueError:
            port = None
        host = parts.hostname or "local socket"
        return f"database {host}:{port}" if port else f"database {host}"
    if target.transport == "data-api":
        name = target.workgroup or target.cluster_identifier or "?"
        return f"Redshift Data API, {'workgroup' if target.workgroup else 'cluster'} {name}"
    return f"database {target.host}:{target.port}"


def summary_line(summary: BackfillSummary) -> str:
    """The one line ``s3redshift load`` prints on stdout."""
    c = summary.counts
    if summary.dry_run:
        plan = summary.would_load
        count = sum(len(objects) for objects in plan.values())
        size = sum(o.size or 0 for objects in plan.values() for o in objects)
        tables = ", ".join(f"{t} {len(o)}" for t, o in sorted(plan.items()) if o) or "none"
        return (
            f"dry run {summary.prefix_uri}: {count} object(s), {format_bytes(size)} would load "
            f"(tables: {tables}); already loaded {c['duplicate']}, unmapped {c['unmapped']}, "
            f"ignored {c['ignored']}, before --since {summary.before_since}, "
            f"failed {c['failed']}; nothing loaded"
        )
    outcomes = ", ".join(f"{name} {n}" for name, n in c.items())
    return (
        f"{summary.prefix_uri}: {outcomes}; rows {summary.rows} "
        f"({summary.listed} listed, {summary.before_since} before --since)"
    )


def _load(args: argparse.Namespace, out: TextIO) -> int:
    from s3redshift.backfill import backfill

    config = _configuration(args)
    # A dry run loads no batch: there is nothing to beat for while it reads the ledger.
    printer = ProgressPrinter(sys.stderr, heartbeat=not args.dry_run)
    with args.make_loader(config) as loader:
        try:
            summary = backfill(
                loader,
                args.prefix,
                since=args.since,
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                progress=printer,
                time_budget=args.timeout,
            )
        finally:
            printer.close()
    if summary.stopped_by is not None:
        # The database, not the objects: one line, not one per object.
        stopped = summary.stopped_by
        sys.stderr.write(
            f"s3redshift: error: {stopped.message} ({_target_where(config)}): the load stopped "
            f"and {len(summary.failures)} object(s) did not load; check [target] and "
            "[credentials] and that the database is reachable, then run the same command again\n"
        )
        _write_summary(summary, args.json, out)
        return EXIT_FAILED if stopped.retryable else EXIT_USAGE
    if summary.listed == 0:
        # Often a typo, sometimes a quiet day: said, without failing a scheduled run.
        sys.stderr.write(
            f"s3redshift: warning: nothing under {summary.prefix_uri} (0 objects listed): "
            "check the prefix's spelling; S3 prefixes are case-sensitive\n"
        )
    nothing = _no_rule_maps(summary, config)
    if nothing is not None:
        sys.stderr.write(f"s3redshift: error: {nothing}\n")
        _write_summary(summary, args.json, out)
        return EXIT_USAGE
    _warn_unmapped(summary)
    lines = named = 0
    for group in _same_reason(summary.failures):
        if lines >= MAX_FAILURE_LINES:
            break
        if len(group) >= SHARED_REASON and not args.debug:
            # One cause, many objects (the time ran out, say): said once.
            first = group[0]
            where = f" -> {first.table}" if first.table else ""
            sys.stderr.write(
                f"s3redshift: failed: {len(group)} object(s){where}, {first.s3_object.uri} "
                f"first: {first.explanation}\n"
            )
            lines += 1
            continue
        for result in group[: MAX_FAILURE_LINES - lines]:
            sys.stderr.write(f"s3redshift: {_failure_line(result)}\n")
            if args.debug and result.error is not None:
                _debug_failure(result)
            lines += 1
            named += 1
    hidden = len(summary.failures) - named
    if hidden > 0:
        sys.stderr.write(
            f"s3redshift: ... {hidden} failed object(s) not named one by one; "
            f"`s3redshift ledger --failed {args.prefix}` lists every object not loaded\n"
        )
    _write_summary(summary, args.json, out)
    return EXIT_OK if summary.ok else EXIT_FAILED


UNMAPPED_KEYS = 3
"""Unmapped keys `load` names, as examples of what no rule matched."""

SHARED_REASON = 3
"""Failed objects sharing one reason and table that `load` names in one line."""


def _same_reason(failures: Sequence[ObjectResult]) -> list[list[ObjectResult]]:
    """Failures grouped by table and reason, in the order each group first appears.

    A rejection of a file's own rows is that file's alone (two files may fail on
    the same line and column): it is never grouped.
    """
    groups: dict[tuple[str | None, str, str], list[ObjectResult]] = {}
    for result in failures:
        own = result.s3_object.uri if result.load_errors else ""
        groups.setdefault((result.table, result.explanation, own), []).append(result)
    return list(groups.values())


def _unmapped(summary: BackfillSummary) -> list[ObjectResult]:
    return [r for r in summary.skipped if r.outcome == "unmapped"]


def _no_rule_maps(summary: BackfillSummary, config: LoaderConfig) -> str | None:
    """Why a run none of whose keys any rule maps is a configuration problem, else None.

    Every listed key unmapped (ignored files and ``--since`` aside) means the
    patterns do not match the layout; it would otherwise read as success,
    ``loaded 0``.
    """
    unmapped = _unmapped(summary)
    if summary.pending or summary.counts["failed"] or not unmapped:
        return None
    if len(unmapped) + summary.counts["ignored"] + summary.before_since < summary.listed:
        return None
    examples = "; ".join(f"{r.s3_object.key} ({r.reason})" for r in unmapped[:UNMAPPED_KEYS])
    patterns = ", ".join(repr(rule.pattern) for rule in config.tables)
    return (
        f"no rule maps any of the {len(unmapped)} key(s) under {summary.prefix_uri}, e.g. "
        f"{examples}: check the [[tables]] patterns ({patterns}) against these keys"
    )


def _warn_unmapped(summary: BackfillSummary) -> None:
    unmapped = _unmapped(summary)
    if unmapped:
        keys = ", ".join(r.s3_object.key for r in unmapped[:UNMAPPED_KEYS])
        more = f" and {len(unmapped) - UNMAPPED_KEYS} more" if len(unmapped) > UNMAPPED_KEYS else ""
        sys.stderr.write(
            f"s3redshift: warning: {len(unmapped)} key(s) map to no table and were not loaded: "
            f"{keys}{more}\n"
        )


def _debug_failure(result: ObjectResult) -> None:
    """With --debug: the error's kind and the chain of causes, with their tracebacks."""
    error = result.error
    assert error is not None
    kind = "retryable" if error.retryable else "permanent"
    sys.stderr.write(f"s3redshift: debug: {error.kind} ({kind}) for {result.s3_object.uri}\n")
    cause = error.__cause__ or error.__context__
    if cause is not None:
        # A driver's or botocore's own text may quote a connection string.
        sys.stderr.write(mask_secrets("".join(traceback.format_exception(cause))))


def _write_summary(summary: BackfillSummary, as_json: bool, out: TextIO) -> None:
    if summary.dry_run and not as_json:
        # Like `aws s3 sync --dryrun`: what would load, per table, then the summary.
        for table, objects in sorted(summary.would_load.items()):
            for o in objects[:DRY_RUN_KEYS]:
                out.write(f"(dry run) load {o.uri} -> {table}\n")
            if len(objects) > DRY_RUN_KEYS:
                out.write(f"(dry run) ... and {len(objects) - DRY_RUN_KEYS} more -> {table}\n")
    out.write((json.dumps(summary.to_dict()) if as_json else summary_line(summary)) + "\n")


# --- ledger ---------------------------------------------------------------------


def _columns(
    rows: Sequence[tuple[str, ...]], out: TextIO, notes: Sequence[str] | None = None
) -> None:
    """Align all columns but the last (an S3 URI may hold spaces).

    ``notes[i]``, when given, is written on its own indented line after row
    ``i + 1`` (the first row is the header).
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]) + "\n")
        if notes is not None and index > 0:
            out.write(f"    {notes[index - 1]}\n")


def _ledger(args: argparse.Namespace, out: TextIO) -> int:
    from s3redshift.backfill import last_failures, ledger_rows, not_loaded
    from s3redshift.identifiers import TableRef

    config = _configuration(args)
    table = str(TableRef.parse(args.table)) if args.table else None
    limit = args.limit or None
    with args.make_loader(config) as loader:
        if args.failed:
            what = f"ledger --failed {args.failed}"
            with ListingHeartbeat(sys.stderr, what) as heartbeat:
                missing = not_loaded(
                    loader,
                    args.failed,
                    table=table,
                    time_budget=args.timeout,
                    on_listed=heartbeat.count,
                )
                shown = missing if limit is None else missing[:limit]
                reasons = last_failures(loader, shown, time_budget=args.timeout)
            _write_missing(shown, reasons, args.json, len(missing), out)
            sys.stderr.write(
                f"s3redshift: {len(missing)} mapped object(s) under {args.failed} are not in "
                f"the ledger (failed, still loading, or never triggered)"
                + (f"; {len(shown)} shown" if len(shown) < len(missing) else "")
                + "\n"
            )
            return EXIT_FAILED if missing else EXIT_OK
        rows, total = ledger_rows(loader, table=table, limit=limit, time_budget=args.timeout)
    if args.json:
        listed = [
            {
                "loaded_at": r.loaded_at,
                "table": r.table,
                "batch": r.batch_id,
                "identity": r.identity,
                "size": r.size,
                "uri": f"s3://{r.bucket}/{r.key}",
            }
            for r in rows
        ]
        out.write(json.dumps({"rows": listed, "total": total}) + "\n")
    elif rows:
        _columns(
            [("loaded_at", "table", "batch", "identity", "object")]
            + [
                (r.loaded_at, r.table, r.batch_id, r.identity, f"s3://{r.bucket}/{r.key}")
                for r in rows
            ],
            out,
        )
    sys.stderr.write(
        f"s3redshift: {len(rows)} of {total} ledger row(s) shown"
        + (" (--limit 0 shows all)" if len(rows) < total else "")
        + "\n"
    )
    return EXIT_OK


def _write_missing(
    shown: Sequence[tuple[S3Object, str]],
    reasons: Mapping[tuple[str, str, str], Failure],
    as_json: bool,
    total: int,
    out: TextIO,
) -> None:
    """The objects missing from the ledger, each with its last recorded failure."""
    if as_json:
        objects = []
        for o, t in shown:
            failure = reasons.get((o.bucket, o.key, t))
            objects.append(
                {
                    "uri": o.uri,
                    "table": t,
                    "size": o.size,
                    "last_modified": o.event_time.isoformat() if o.event_time else None,
                    "last_failure": None
                    if failure is None
                    else {
                        "failed_at": failure.failed_at,
                        "error": failure.error,
                        "retryable": failure.retryable,
                        "reason": failure.reason,
                    },
                }
            )
        out.write(json.dumps({"missing": objects, "total": total}) + "\n")
        return
    if not shown:
        return
    rows = [("last_modified", "table", "size", "object")]
    notes = []
    for o, t in shown:
        moment = o.event_time.strftime("%Y-%m-%d %H:%M:%S") if o.event_time else ""
        rows.append((moment, t, str(o.size or 0), o.uri))
        failure = reasons.get((o.bucket, o.key, t))
        notes.append(
            "no failure recorded (never tried, still loading, or the database was unreachable)"
            if failure is None
            else f"last failure {_timestamp_text(failure.failed_at)}: {failure.error}: "
            f"{failure.reason}"
        )
    _columns(rows, out, notes)


def _timestamp_text(value: str) -> str:
    """A recorded time to the second, as the ledger listing shows times."""
    return value[:19]


# --- check ----------------------------------------------------------------------


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from s3redshift.check import MARKS, run_checks

    config = _configuration(args)
    source = f" {args.config}" if args.config else ""

    def show(check: Check) -> None:
        if not args.json:
            out.write(check.line() + "\n")
            out.flush()

    if not args.json:
        out.write(f"{MARKS['ok']} configuration{source}: valid, {len(config.tables)} rule(s)\n")
    with args.make_loader(config) as loader:
        checks = run_checks(
            loader,
            args.sources,
            where=_target_where(config),
            on_check=show,
            time_budget=args.timeout,
        )
    failed = [c for c in checks if c.status == "failed"]
    if args.json:
        document = {"ok": not failed, "checks": [c.to_dict() for c in checks]}
        out.write(json.dumps(document) + "\n")
    else:
        passed = sum(1 for c in checks if c.status == "ok") + 1
        skipped = sum(1 for c in checks if c.status == "skipped")
        out.write(f"{passed} passed, {len(failed)} failed, {skipped} skipped\n")
    return EXIT_FAILED if failed else EXIT_OK


# --- main -----------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    make_loader: Callable[[LoaderConfig], Loader] | None = None,
) -> int:
    """Run the command line; returns the exit code.

    ``make_loader`` builds the loader every command uses from the validated
    configuration (default :class:`~s3redshift.loader.Loader`): the seam a
    test environment, such as :mod:`s3redshift.local`, plugs its transport into.
    """
    stdout = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    args.make_loader = make_loader or _default_loader
    try:
        if args.command == "plan":
            return _plan(args, stdout)
        if args.command == "invoke":
            return _invoke(args, stdout)
        if args.command == "load":
            return _load(args, stdout)
        if args.command == "ledger":
            return _ledger(args, stdout)
        if args.command == "check":
            return _check(args, stdout)
        if args.command == "demo":
            from s3redshift.local.demo import run_demo

            return run_demo(stdout)
        if args.command == "config-schema":
            stdout.write(json.dumps(LoaderConfig.json_schema(), indent=2) + "\n")
            return EXIT_OK
    except (ConfigError, InvalidEventError) as exc:
        return _fail(exc, args.debug, EXIT_USAGE)
    except S3RedshiftError as exc:
        code = EXIT_FAILED if exc.retryable else EXIT_USAGE
        return _fail(exc, args.debug, code)
    except KeyboardInterrupt:
        sys.stderr.write("s3redshift: interrupted\n")
        return 130
    except Exception as exc:
        if args.debug:
            sys.stderr.write(mask_secrets("".join(traceback.format_exception(exc))))
        # Named by class only: the text of a driver's or library's own error
        # may quote a connection string; --debug shows it all.
        sys.stderr.write(
            f"s3redshift: error: unexpected {type(exc).__name__} "
            "(run with --debug for the message and traceback)\n"
        )
        return EXIT_FAILED
    parser.error(f"unknown command {args.command!r}")
    return EXIT_USAGE  # pragma: no cover - parser.error exits


def _default_loader(config: LoaderConfig) -> Loader:
    from s3redshift.loader import Loader

    return Loader(config)


def _fail(exc: BaseException, debug: bool, code: int) -> int:
    if debug:
        sys.stderr.write(mask_secrets("".join(traceback.format_exception(exc))))
    first = str(exc).splitlines()
    sys.stderr.write(f"s3redshift: error: {first[0] if first else type(exc).__name__}\n")
    for line in first[1:]:
        sys.stderr.write(f"s3redshift: {line}\n")
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
