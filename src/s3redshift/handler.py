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
    Loads get the invocation's remaining time minus ``time_margin_s``
    (:data:`TIME_MARGIN_S` by default) as their budget. Once it has run out
    the loader starts no new target and reports its objects ``failed`` with a
    retryable :class:`~s3redshift.errors.TimeBudgetExceededError`: in a batch their
    messages come back for redelivery, a direct invocation raises.

Logs
    One JSON object per line, through the ``s3redshift.handler`` logger;
    :func:`configure_logging` (called by the adapter) writes them to stdout
    with :class:`JsonFormatter`. A run writes one ``object`` line per object
    outcome, one ``invalid_message`` line per malformed SQS message, one
    ``skipped_record`` line per record deliberately skipped (test event,
    removal, folder marker), one ``sweep_prefix_failed`` line per sweep
    prefix that could not be listed, one ``notification_failed`` line per
    committed transaction that could not be announced (``[notifications]``),
    and exactly one ``summary`` line, also
    when it raises, followed by ``metrics`` lines in CloudWatch's embedded
    metric format (one for the invocation, one per target table; see
    :meth:`~s3redshift.invocation_log.Invocation.metrics`)::

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

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypedDict

from s3redshift.deadline import Deadline
from s3redshift.errors import LoadFailedError, S3RedshiftError
from s3redshift.events import read_event
from s3redshift.invocation_log import (
    DEFAULT_METRICS_NAMESPACE,
    LOGGER_NAME,
    Invocation,
    JsonFormatter,
    configure_logging,
)
from s3redshift.report import ObjectResult
from s3redshift.sweep_payload import SWEEP_KEY, SweepRequest, sweep_request

if TYPE_CHECKING:
    from s3redshift.loader import Loader

__all__ = [
    "LOGGER_NAME",
    "MIN_FUNCTION_TIMEOUT_S",
    "MIN_LOAD_S",
    "SWEEP_KEY",
    "TIME_MARGIN_S",
    "BatchItemFailure",
    "BatchResponse",
    "JsonFormatter",
    "SweepRequest",
    "configure_logging",
    "handle",
]

_SHOWN_FAILURES = 3

TIME_MARGIN_S: Final = 10.0
"""Seconds an invocation keeps after its loads' budget ends: the summary and metrics
lines, and the answer to Lambda, must be written before Lambda ends the function."""

MIN_LOAD_S: Final = 20.0
"""The least time one load of a small batch needs, so a function timeout leaves at least this.

On the Data API (the slower transport) a container's first load sends four single
statements (ledger look-ups and DDL) and one batch (LOCK, COPY, guard, ledger rows),
each polled with a 0.25 s backoff growing 1.5x: about 1 s per single statement and
5-10 s for a small COPY and its commit, so about 15 s, plus one retry's backoff
after a serialization conflict or a throttled call."""

MIN_FUNCTION_TIMEOUT_S: Final = TIME_MARGIN_S + MIN_LOAD_S
"""The least function timeout that can load: the Terraform module refuses a lower one.

Below it every load starts with no time left and every message of every batch is
failed into the DLQ. infra/terraform/variables.tf holds the same number (a test
keeps the two equal)."""


class BatchItemFailure(TypedDict):
    """One failed SQS message of a partial batch response."""

    itemIdentifier: str  # Lambda's wire name


class BatchResponse(TypedDict):
    """Lambda's partial batch response for SQS (``ReportBatchItemFailures``).

    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """

    batchItemFailures: list[BatchItemFailure]  # Lambda's wire name


# --- the handler ---------------------------------------------------------------------


def handle(
    event: Mapping[str, Any],
    context: object,
    *,
    loader: Loader,
    time_margin_s: float = TIME_MARGIN_S,
    log: logging.Logger | None = None,
    metrics_namespace: str | None = DEFAULT_METRICS_NAMESPACE,
) -> BatchResponse | dict[str, Any]:
    """Load what ``event`` names and answer as Lambda expects (see the module docstring).

    ``context`` is Lambda's context object; ``aws_request_id``,
    ``function_name`` and ``get_remaining_time_in_millis()`` are read when
    present (without the last, loads have no time budget). ``log`` defaults
    to the ``s3redshift.handler`` logger. After the summary, ``metrics`` lines
    in CloudWatch's embedded metric format carry the invocation's counts
    (``metrics_namespace``; None writes none).

    Raises:
        InvalidEventError: a direct or sweep payload is malformed, or an SQS
            batch cannot be split into messages.
        LoadFailedError: a direct invocation or a sweep did not load every object.
    """
    run = Invocation(
        log or logging.getLogger(LOGGER_NAME),
        _source(event),
        _text_attribute(context, "aws_request_id"),
        _text_attribute(context, "function_name"),
        metrics_namespace=metrics_namespace,
    )
    deadline = Deadline.after(_time_budget(context, time_margin_s))
    try:
        result: BatchResponse | dict[str, Any]
        if run.source == "sweep":
            result = _sweep(event, loader, deadline, run)
        elif run.source == "sqs":
            result = _batch(event, loader, deadline, run)
        else:
            result = _direct(event, loader, deadline, run)
    except Exception as exc:
        run.summary(exc)
        raise
    run.summary(None)
    return result


def _batch(
    event: Mapping[str, Any], loader: Loader, deadline: Deadline, run: Invocation
) -> BatchResponse:
    parsed = read_event(event)
    for skipped in parsed.skipped:
        run.skipped(skipped)
    for error in parsed.invalid:
        run.invalid(error)
    report = loader.load(parsed.objects, time_budget=deadline.remaining())
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
    event: Mapping[str, Any], loader: Loader, deadline: Deadline, run: Invocation
) -> dict[str, Any]:
    parsed = read_event(event)
    if parsed.invalid:  # only SQS messages are read leniently; kept for safety
        raise parsed.invalid[0]
    for record in parsed.skipped:
        run.skipped(record)
    report = loader.load(parsed.objects, time_budget=deadline.remaining())
    run.report(report)
    if report.failed:
        raise _load_failed(report.failed, [])
    return run.totals()


def _sweep(
    event: Mapping[str, Any], loader: Loader, deadline: Deadline, run: Invocation
) -> dict[str, Any]:
    from s3redshift.backfill import backfill  # sweeps only: not on a notification's path

    request = sweep_request(event)
    since = request.since_time(datetime.now(UTC))
    prefixes: list[dict[str, Any]] = []
    failures: list[ObjectResult] = []
    errors: list[S3RedshiftError] = []
    for prefix in request.prefixes:
        try:
            summary = backfill(loader, prefix, since=since, time_budget=deadline.remaining())
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
