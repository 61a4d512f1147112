"""Lambda invocations in, loads and a Lambda-shaped answer out: the adapter's logic.

``adapters/lambda_entry.py`` only keeps one loader per container and calls
:func:`handle`; everything testable lives here and takes the loader as an
argument, so tests pass a loader of the local stand-in.

SQS batches
    Records with ``eventSource == "aws:sqs"`` (the event source mapping must
    enable ``ReportBatchItemFailures``). Every message is read on its own, the
    objects of all messages are loaded together, and the answer is
    ``{"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}`` naming
    exactly the messages that were malformed or have an object whose outcome
    is ``failed``: each once, in batch order, ``[]`` when all is well. Every
    other outcome (``loaded``, ``duplicate``, ``superseded``, ``unmapped``,
    ``ignored``) is done for good. Nothing per message raises: AWS treats a
    raised error as the failure of the *whole* batch and would redeliver the
    messages that did load. Only a batch that cannot be split into messages
    (a record without ``messageId``) or an unexpected error raises. From a
    FIFO queue (``eventSourceARN`` ending in ``.fifo``) the first failed
    message and every message after it are returned, as AWS requires to keep
    the order; those that did load come back as duplicates.

Direct invocations (S3, SNS or EventBridge → Lambda)
    The invocation is the only retry unit, so a failed object raises
    :class:`~s3redshift.errors.LoadFailedError` (a malformed payload its
    :class:`~s3redshift.errors.InvalidEventError`): Lambda retries, then
    dead-letters the event. Otherwise a summary is returned::

        {"source": "s3", "request_id": "...", "objects": 1,
         "counts": {"loaded": 1, "duplicate": 0, "superseded": 0,
                    "unmapped": 0, "ignored": 0, "failed": 0},
         "skipped_records": 0, "rows": 120, "duration_ms": 412}

The scheduled sweep
    The Terraform module's EventBridge schedule sends exactly this constant
    input (no other member is accepted)::

        {"s3redshift_sweep": {"prefixes": ["s3://bucket/prefix/", ...],
                              "since": "P2D"}}

    ``since`` is optional: an ISO 8601 time (``"2026-11-01T00:00:00Z"``; no
    offset means UTC) keeps objects last modified at or after it; an ISO 8601
    duration (``"P2D"``, ``"PT6H"``) means that long before the invocation,
    which is what a recurring schedule wants. Each prefix is listed and every
    object the ledger does not hold is loaded
    (:func:`s3redshift.backfill.backfill`): lost notifications are repaired
    without dummy trigger files. After every prefix was tried, failed objects
    or a prefix that could not be listed raise :class:`LoadFailedError`;
    otherwise the summary above is returned with ``"source": "sweep"`` and
    ``"prefixes": [{"prefix", "listed", "pending", "counts", "rows"}, ...]``.

Time
    Loads get the invocation's remaining time minus ``time_margin_s`` as their
    budget. Once it has run out the loader starts no new target and reports
    its objects ``failed`` with a retryable
    :class:`~s3redshift.errors.TimeBudgetExceededError`: in a batch their
    messages come back for redelivery, a direct invocation raises.

Logs
    One JSON object per line, through the ``s3redshift.handler`` logger;
    :func:`configure_logging` (called by the adapter) writes them to stdout
    with :class:`JsonFormatter`. A run writes one ``object`` line per object
    outcome, one ``invalid_message`` line per malformed SQS message, one
    ``skipped_record`` line per record deliberately skipped (test event,
    removal, folder marker), one ``sweep_prefix_failed`` line per sweep
    prefix that could not be listed, and exactly one ``summary`` line, also
    when it raises::

        {"level": "INFO", "time": "2026-11-28T12:00:00.123Z",
         "logger": "s3redshift.handler", "message": "object",
         "request_id": "...", "source": "sqs", "uri": "s3://b/kpis/a.csv",
         "table": "public.kpis", "outcome": "failed", "reason": "...",
         "error_kind": "DataRejectedError", "retryable": false,
         "message_id": "...", "load_errors": [{"line": 3, "column": "id",
         "reason": "...", "code": "22P02"}]}
        {"level": "WARNING", "time": "...", "logger": "s3redshift.handler",
         "message": "summary", "request_id": "...", "function_name": "...",
         "source": "sqs", "objects": 500, "counts": {...},
         "invalid_messages": 1, "skipped_records": 0,
         "batch_item_failures": 2, "rows": 998, "duration_ms": 8123,
         "error_kind": null, "error": null}

    Only these fields are written. Messages of s3redshift's own errors never
    hold a secret; any other exception is named by its class only, since a
    driver's message may quote a connection string.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from s3redshift.backfill import BackfillSummary, backfill, parse_s3_uri
from s3redshift.errors import InvalidEventError, LoadFailedError, S3RedshiftError
from s3redshift.events import SkippedRecord, read_event
from s3redshift.report import OUTCOMES, LoadReport, ObjectResult

if TYPE_CHECKING:
    from s3redshift.loader import Loader

__all__ = [
    "LOGGER_NAME",
    "SWEEP_KEY",
    "BatchItemFailure",
    "BatchResponse",
    "JsonFormatter",
    "SweepRequest",
    "configure_logging",
    "handle",
]

SWEEP_KEY = "s3redshift_sweep"
"""The one member of a scheduled sweep's payload."""

LOGGER_NAME = "s3redshift.handler"
"""The logger every handler line goes to (unless ``handle(log=...)`` names another)."""

FIELDS_ATTR = "s3redshift"
"""Log-record attribute holding a line's fields, for :class:`JsonFormatter`."""

_SHOWN_FAILURES = 3


class BatchItemFailure(TypedDict):
    """One failed SQS message of a partial batch response."""

    itemIdentifier: str  # Lambda's wire name


class BatchResponse(TypedDict):
    """Lambda's partial batch response for SQS (``ReportBatchItemFailures``).

    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """

    batchItemFailures: list[BatchItemFailure]  # Lambda's wire name


# --- the sweep payload --------------------------------------------------------


class SweepRequest(BaseModel):
    """What a scheduled sweep asks for: the member ``s3redshift_sweep`` of its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    prefixes: tuple[str, ...] = Field(min_length=1)
    since: datetime | timedelta | None = None

    @field_validator("prefixes")
    @classmethod
    def _s3_uris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for uri in value:
            try:
                parse_s3_uri(uri)
            except S3RedshiftError as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("since", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        # A bare number would be read as epoch seconds or as a duration; refuse both.
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 time or duration string, such as 'P2D'")
        return value

    @field_validator("since")
    @classmethod
    def _not_negative(cls, value: datetime | timedelta | None) -> datetime | timedelta | None:
        if isinstance(value, timedelta) and value < timedelta(0):
            raise ValueError("a duration must not be negative: 'P2D' means two days back")
        return value

    def since_time(self, now: datetime) -> datetime | None:
        """The oldest last-modified time to sweep, with a duration counted back from ``now``."""
        if isinstance(self.since, timedelta):
            return now - self.since
        if self.since is not None and self.since.tzinfo is None:
            return self.since.replace(tzinfo=UTC)
        return self.since


def _sweep_request(event: Mapping[str, Any]) -> SweepRequest:
    extra = sorted(str(name) for name in event if name != SWEEP_KEY)
    if extra:
        raise InvalidEventError(
            f"unknown member next to {SWEEP_KEY!r}: a sweep payload holds only "
            f"{{{SWEEP_KEY!r}: {{'prefixes': [...], 'since': ...}}}}",
            path=extra[0],
        )
    body = event[SWEEP_KEY]
    if not isinstance(body, Mapping):
        raise InvalidEventError(
            "must be an object with 'prefixes' (and optionally 'since')", path=SWEEP_KEY
        )
    try:
        return SweepRequest.model_validate(dict(body))
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        path = SWEEP_KEY
        for part in error["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part not in ("datetime", "timedelta"):  # union branches, not members
                path += f".{part}"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown member: a sweep takes 'prefixes' and 'since' only"
        raise InvalidEventError(message, path=path) from None


# --- logging -------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: the fixed members plus the line's fields.

    The fields are the mapping in the record's ``s3redshift`` attribute (pass
    ``extra={"s3redshift": {...}}``); they cannot replace ``level``,
    ``time``, ``logger`` or ``message``. An exception attached to the record
    is named by its class only: its text may come from a driver and hold
    anything.
    """

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "level": record.levelname,
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS_ATTR, None)
        if isinstance(fields, Mapping):
            for name, value in fields.items():
                line.setdefault(str(name), value)
        if record.exc_info and record.exc_info[0] is not None:
            line.setdefault("exception", record.exc_info[0].__name__)
        return json.dumps(line, default=str, separators=(",", ":"))


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stdout`` as it is at each line, so a replaced stdout is honoured."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: int | str = logging.INFO) -> logging.Logger:
    """Send every s3redshift log line to stdout as JSON; idempotent.

    The logger stops propagating: Lambda's runtime puts a plain-text handler
    on the root logger, which would print every line a second time, not as
    JSON. stdout is what Lambda forwards to CloudWatch Logs, one event per line.
    """
    # The handler goes on the package's logger, so every s3redshift module's
    # lines (a credentials warning, say) come out as JSON too.
    package = logging.getLogger(LOGGER_NAME.partition(".")[0])
    if not any(isinstance(h, _StdoutHandler) for h in package.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        package.addHandler(handler)
    package.setLevel(level)
    package.propagate = False
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    return logger


def _error_text(error: BaseException) -> str:
    if isinstance(error, S3RedshiftError):
        return str(error)
    return f"unexpected {type(error).__name__}; see the function's error report"


@dataclass
class _Run:
    """The tallies and log lines of one invocation (never reused across invocations)."""

    log: logging.Logger
    source: str
    request_id: str | None
    function_name: str | None
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rows: int = 0
    invalid_messages: int = 0
    skipped_records: int = 0
    batch_item_failures: int | None = None

    def line(self, level: int, message: str, **fields: Any) -> None:
        fields = {"request_id": self.request_id, "source": self.source, **fields}
        self.log.log(level, message, extra={FIELDS_ATTR: fields})

    def object_result(self, result: ObjectResult) -> None:
        self.counts[result.outcome] += 1
        error = result.error
        level = logging.INFO
        if result.outcome == "failed":
            level = logging.WARNING if error is not None and error.retryable else logging.ERROR
        self.line(
            level,
            "object",
            uri=result.s3_object.uri,
            table=result.table,
            outcome=result.outcome,
            reason=result.reason,
            error_kind=None if error is None else error.kind,
            retryable=None if error is None else error.retryable,
            message_id=result.s3_object.message_id,
            load_errors=[
                {"line": d.line, "column": d.column, "reason": d.reason, "code": d.code}
                for d in result.load_errors
            ],
        )

    def report(self, report: LoadReport) -> None:
        for result in report.objects:
            self.object_result(result)
        self.rows += report.rows

    def backfill(self, summary: BackfillSummary) -> None:
        for result in summary.skipped:
            self.object_result(result)
        for report in summary.reports:
            self.report(report)
        # Failures the loader never saw: unsafe names, batches left for lack of time.
        reported = {id(r) for report in summary.reports for r in report.objects}
        for result in summary.failures:
            if id(result) not in reported:
                self.object_result(result)

    def invalid(self, error: InvalidEventError) -> None:
        self.invalid_messages += 1
        self.line(
            logging.ERROR,
            "invalid_message",
            message_id=error.message_id,
            path=error.path,
            uri=error.s3_uri,
            reason=error.message,
            error_kind=error.kind,
        )

    def skipped(self, record: SkippedRecord) -> None:
        self.skipped_records += 1
        self.line(
            logging.INFO,
            "skipped_record",
            uri=record.uri,
            path=record.path,
            reason=record.reason,
            message_id=record.message_id,
        )

    def prefix_failed(self, prefix: str, error: S3RedshiftError) -> None:
        self.line(
            logging.ERROR,
            "sweep_prefix_failed",
            prefix=prefix,
            error_kind=error.kind,
            retryable=error.retryable,
            reason=str(error),
        )

    @property
    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def totals(self) -> dict[str, Any]:
        """The summary a direct invocation or a sweep returns."""
        return {
            "source": self.source,
            "request_id": self.request_id,
            "objects": sum(self.counts.values()),
            "counts": dict(self.counts),
            "skipped_records": self.skipped_records,
            "rows": self.rows,
            "duration_ms": self.duration_ms,
        }

    def summary(self, error: BaseException | None) -> None:
        level = logging.INFO
        if self.counts["failed"] or self.invalid_messages:
            level = logging.WARNING
        if error is not None:
            level = logging.ERROR
        self.line(
            level,
            "summary",
            function_name=self.function_name,
            objects=sum(self.counts.values()),
            counts=dict(self.counts),
            invalid_messages=self.invalid_messages,
            skipped_records=self.skipped_records,
            batch_item_failures=self.batch_item_failures,
            rows=self.rows,
            duration_ms=self.duration_ms,
            error_kind=None if error is None else type(error).__name__,
            error=None if error is None else _error_text(error),
        )


# --- the handler ---------------------------------------------------------------------


def handle(
    event: Mapping[str, Any],
    context: object,
    *,
    loader: Loader,
    time_margin_s: float = 10.0,
    log: logging.Logger | None = None,
) -> BatchResponse | dict[str, Any]:
    """Load what ``event`` names and answer as Lambda expects (see the module docstring).

    ``context`` is Lambda's context object; ``aws_request_id``,
    ``function_name`` and ``get_remaining_time_in_millis()`` are read when
    present (without the last, loads have no time budget). ``log`` defaults
    to the ``s3redshift.handler`` logger.

    Raises:
        InvalidEventError: a direct or sweep payload is malformed, or an SQS
            batch cannot be split into messages.
        LoadFailedError: a direct invocation or a sweep did not load every object.
    """
    run = _Run(
        log or logging.getLogger(LOGGER_NAME),
        _source(event),
        _text_attribute(context, "aws_request_id"),
        _text_attribute(context, "function_name"),
    )
    budget = _time_budget(context, time_margin_s)
    try:
        result: BatchResponse | dict[str, Any]
        if run.source == "sweep":
            result = _sweep(event, loader, budget, run)
        elif run.source == "sqs":
            result = _batch(event, loader, budget, run)
        else:
            result = _direct(event, loader, budget, run)
    except Exception as exc:
        run.summary(exc)
        raise
    run.summary(None)
    return result


def _batch(
    event: Mapping[str, Any], loader: Loader, budget: float | None, run: _Run
) -> BatchResponse:
    parsed = read_event(event)
    for skipped in parsed.skipped:
        run.skipped(skipped)
    for error in parsed.invalid:
        run.invalid(error)
    report = loader.load(parsed.objects, time_budget=budget)
    run.report(report)
    failed = {error.message_id for error in parsed.invalid}
    failed.update(result.s3_object.message_id for result in report.failed)
    if None in failed:  # read_event gives every SQS object its message id
        raise _load_failed(report.failed, [])
    records = [r for r in event["Records"] if isinstance(r, Mapping)]
    fifo = any(str(r.get("eventSourceARN", "")).endswith(".fifo") for r in records)
    failures: list[BatchItemFailure] = []
    listed: set[str] = set()
    for record in records:
        message_id = record.get("messageId")
        if not isinstance(message_id, str) or message_id in listed:
            continue
        # FIFO queues keep order only if the first failure and all after it come back (AWS).
        if message_id in failed or (fifo and failures):
            listed.add(message_id)
            failures.append({"itemIdentifier": message_id})
    run.batch_item_failures = len(failures)
    return {"batchItemFailures": failures}


def _direct(
    event: Mapping[str, Any], loader: Loader, budget: float | None, run: _Run
) -> dict[str, Any]:
    parsed = read_event(event)
    if parsed.invalid:  # only SQS messages are read leniently; kept for safety
        raise parsed.invalid[0]
    for record in parsed.skipped:
        run.skipped(record)
    report = loader.load(parsed.objects, time_budget=budget)
    run.report(report)
    if report.failed:
        raise _load_failed(report.failed, [])
    return run.totals()


def _sweep(
    event: Mapping[str, Any], loader: Loader, budget: float | None, run: _Run
) -> dict[str, Any]:
    request = _sweep_request(event)
    since = request.since_time(datetime.now(UTC))
    deadline = None if budget is None else time.monotonic() + budget
    prefixes: list[dict[str, Any]] = []
    failures: list[ObjectResult] = []
    errors: list[S3RedshiftError] = []
    for prefix in request.prefixes:
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            summary = backfill(loader, prefix, since=since, time_budget=remaining)
        except S3RedshiftError as exc:
            run.prefix_failed(prefix, exc)  # the other prefixes are still swept
            errors.append(exc)
            continue
        run.backfill(summary)
        failures.extend(summary.failures)
        prefixes.append(
            {
                "prefix": prefix,
                "listed": summary.listed,
                "pending": summary.pending,
                "counts": dict(summary.counts),
                "rows": summary.rows,
            }
        )
    if failures or errors:
        raise _load_failed(failures, errors)
    return run.totals() | {"prefixes": prefixes}


# --- helpers ------------------------------------------------------------------------


def _source(event: object) -> str:
    """What kind of invocation ``event`` is: sweep, sqs, s3, sns, eventbridge or unknown."""
    if not isinstance(event, Mapping):
        return "unknown"
    if SWEEP_KEY in event:
        return "sweep"
    records = event.get("Records")
    if isinstance(records, list):
        sources = {
            r.get("eventSource", r.get("EventSource")) for r in records if isinstance(r, Mapping)
        }
        if "aws:sqs" in sources:
            return "sqs"
        if "aws:sns" in sources:
            return "sns"
        return "s3"
    if "detail-type" in event:
        return "eventbridge"
    return "unknown"


def _text_attribute(context: object, name: str) -> str | None:
    value = getattr(context, name, None)
    return value if isinstance(value, str) else None


def _time_budget(context: object, margin_s: float) -> float | None:
    """Seconds the loads may start new work in; None without a Lambda clock."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        millis = float(remaining())
    except (TypeError, ValueError):
        return None
    return max(millis / 1000.0 - margin_s, 0.0)


def _load_failed(
    failures: Sequence[ObjectResult], other_errors: Sequence[S3RedshiftError]
) -> LoadFailedError:
    """The error a direct invocation or a sweep raises, naming the first few failures."""
    parts = []
    for result in failures[:_SHOWN_FAILURES]:
        error = result.error
        kind = error.kind if error is not None else "failed"
        parts.append(f"{result.s3_object.uri} ({kind}: {result.reason})")
    parts.extend(str(error) for error in other_errors[:_SHOWN_FAILURES])
    hidden = len(failures) + len(other_errors) - len(parts)
    if hidden > 0:
        parts.append(f"and {hidden} more")
    what = f"{len(failures)} object(s) failed to load"
    if other_errors:
        what += f", {len(other_errors)} prefix(es) could not be swept"
    errors: list[S3RedshiftError] = []
    seen: set[int] = set()
    for error in [r.error for r in failures if r.error is not None] + list(other_errors):
        if id(error) not in seen:
            seen.add(id(error))
            errors.append(error)
    return LoadFailedError(
        f"{what}: {'; '.join(parts)}. Retrying loads only what is missing; "
        "the log's 'object' lines give each failure",
        failures=failures,
        errors=errors,
    )
