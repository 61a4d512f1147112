"""One invocation's JSON log lines and tallies (the handler's module docstring shows them).

The handler's job is routing; what an invocation writes (one line per
object outcome, per malformed message, per skipped record, one summary) and
the counts it answers with are kept here, in one :class:`Invocation`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from s3redshift.errors import InvalidEventError, S3RedshiftError
from s3redshift.events import SkippedRecord
from s3redshift.report import OUTCOMES, CommittedBatch, LoadReport, ObjectResult

if TYPE_CHECKING:
    from s3redshift.backfill import BackfillSummary

__all__ = [
    "DEFAULT_METRICS_NAMESPACE",
    "FIELDS_ATTR",
    "LOGGER_NAME",
    "Invocation",
    "JsonFormatter",
    "configure_logging",
    "log_configuration_warnings",
    "metrics_document",
]

LOGGER_NAME = "s3redshift.handler"
"""The logger every handler line goes to (unless ``handle(log=...)`` names another)."""

FIELDS_ATTR = "s3redshift"
"""Log-record attribute holding a line's fields, for :class:`JsonFormatter`."""

DEFAULT_METRICS_NAMESPACE = "s3redshift"
"""The CloudWatch namespace of the metrics lines (``S3REDSHIFT_METRICS_NAMESPACE`` on Lambda)."""

MAX_METRIC_VALUES = 100
"""Values one metric may carry in one embedded-metric-format line (CloudWatch's limit)."""

_PER_OUTCOME = {
    "loaded": "ObjectsLoaded",
    "duplicate": "ObjectsDuplicate",
    "failed": "ObjectsFailed",
}


def metrics_document(
    namespace: str,
    dimensions: Mapping[str, str],
    values: Mapping[str, tuple[float | list[float], str]],
    *,
    timestamp_ms: int,
) -> dict[str, Any]:
    """The members of one CloudWatch embedded-metric-format line (no client library needed).

    CloudWatch Logs turns a JSON log event holding ``_aws.CloudWatchMetrics``
    into metrics: every dimension and metric named there is a member of the
    line itself, and ``values`` maps a metric's name to its value (or list of
    up to :data:`MAX_METRIC_VALUES` values) and unit. The line keeps its
    other members, so it is also searchable as a log line.
    """
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (value, _) in values.items()},
    }


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


def log_configuration_warnings(warnings: Sequence[str], log: logging.Logger | None = None) -> None:
    """One ``configuration_warning`` line per warning: what the CLI prints, the Lambda logs.

    Written once per container (at INIT), so a rule that probably does not
    mean what it says shows in the function's log, not only on a terminal.
    """
    target = log or logging.getLogger(LOGGER_NAME)
    for warning in warnings:
        target.warning("configuration_warning", extra={FIELDS_ATTR: {"warning": warning}})


def _metric_values(values: list[float]) -> float | list[float]:
    """One value as itself, several as a list; past the line's limit, the largest.

    The lag alarm watches the maximum, which the largest values keep.
    """
    kept = values if len(values) <= MAX_METRIC_VALUES else sorted(values)[-MAX_METRIC_VALUES:]
    return round(kept[0], 3) if len(kept) == 1 else [round(v, 3) for v in kept]


def _error_text(error: BaseException) -> str:
    if isinstance(error, S3RedshiftError):
        return str(error)
    return f"unexpected {type(error).__name__}; see the function's error report"


@dataclass
class Invocation:
    """The tallies and log lines of one invocation (never reused across invocations)."""

    log: logging.Logger
    source: str
    request_id: str | None
    function_name: str | None
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rows: int = 0
    rejected_rows: int = 0
    invalid_messages: int = 0
    skipped_records: int = 0
    batch_item_failures: int | None = None
    metrics_namespace: str | None = DEFAULT_METRICS_NAMESPACE
    # Per target table: outcome counts, rows and load time, for the metrics lines.
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per target table: each committed transaction's lag (LoadLagSeconds).
    lags: dict[str, list[float]] = field(default_factory=dict)
    # Commits announced and not, when notifications are configured.
    notifications: dict[str, int] | None = None

    def _table(self, table: str) -> dict[str, float]:
        return self.tables.setdefault(
            table,
            {
                "loaded": 0,
                "duplicate": 0,
                "failed": 0,
                "rows": 0,
                "rejected_rows": 0,
                "duration_ms": 0,
            },
        )

    def line(self, level: int, message: str, **fields: Any) -> None:
        fields = {"request_id": self.request_id, "source": self.source, **fields}
        self.log.log(level, message, extra={FIELDS_ATTR: fields})

    def object_result(self, result: ObjectResult) -> None:
        self.counts[result.outcome] += 1
        if result.table is not None and result.outcome in _PER_OUTCOME:
            self._table(result.table)[result.outcome] += 1
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
            rejected_rows=result.rejected_rows,
            load_errors=[
                {"line": d.line, "column": d.column, "reason": d.reason, "code": d.code}
                for d in result.load_errors
            ],
        )

    def report(self, report: LoadReport) -> None:
        for result in report.objects:
            self.object_result(result)
        self.rows += report.rows
        self.rejected_rows += report.rejected_rows
        for target in report.targets:
            tally = self._table(target.table)
            tally["rows"] += target.rows
            tally["rejected_rows"] += target.rejected_rows or 0
            tally["duration_ms"] += target.duration_ms
            if target.lags:
                self.lags.setdefault(target.table, []).extend(target.lags)
            for commit in target.commits:
                if commit.notified is not None:
                    self.announced(commit)

    def announced(self, commit: CommittedBatch) -> None:
        """Count a commit's notification; one ``notification_failed`` line if it failed."""
        tally = self.notifications or {"sent": 0, "failed": 0}
        tally["sent" if commit.notified else "failed"] += 1
        self.notifications = tally
        error = commit.notification_error
        if error is not None:
            self.line(
                logging.WARNING,
                "notification_failed",
                table=commit.table,
                batch_id=commit.batch_id,
                error_kind=error.kind,
                retryable=error.retryable,
                reason=str(error),
            )

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
        self.metrics()

    def metrics(self) -> None:
        """Embedded-metric-format lines: one for the invocation, one per target table.

        Written once, after the summary, so a dashboard or an alarm sees
        every invocation (also one that raised), without a CloudWatch call.
        ``LoadLagSeconds`` (one value per committed transaction) is on both,
        when something committed: the function's line lets one alarm watch
        tables that rules name only at load time. ``NotificationsSent`` and
        ``NotificationsFailed`` are on the invocation's line when
        notifications are configured.
        """
        if self.metrics_namespace is None:
            return
        namespace = self.metrics_namespace
        now = int(time.time() * 1000)
        function = {"FunctionName": self.function_name or "s3redshift"}
        values: dict[str, tuple[float | list[float], str]] = {
            metric: (self.counts[outcome], "Count") for outcome, metric in _PER_OUTCOME.items()
        }
        values["InvalidMessages"] = (self.invalid_messages, "Count")
        values["Rows"] = (self.rows, "Count")
        values["RejectedRows"] = (self.rejected_rows, "Count")
        values["DurationMs"] = (self.duration_ms, "Milliseconds")
        every_lag = [lag for lags in self.lags.values() for lag in lags]
        if every_lag:
            values["LoadLagSeconds"] = (_metric_values(every_lag), "Seconds")
        if self.notifications is not None:
            values["NotificationsSent"] = (self.notifications["sent"], "Count")
            values["NotificationsFailed"] = (self.notifications["failed"], "Count")
        self.line(
            logging.INFO,
            "metrics",
            **metrics_document(namespace, function, values, timestamp_ms=now),
        )
        for table, tally in sorted(self.tables.items()):
            per_table: dict[str, tuple[float | list[float], str]] = {
                metric: (tally[outcome], "Count") for outcome, metric in _PER_OUTCOME.items()
            }
            per_table["Rows"] = (tally["rows"], "Count")
            per_table["RejectedRows"] = (tally["rejected_rows"], "Count")
            per_table["LoadDurationMs"] = (tally["duration_ms"], "Milliseconds")
            if self.lags.get(table):
                per_table["LoadLagSeconds"] = (_metric_values(self.lags[table]), "Seconds")
            dimensions = {**function, "Table": table}
            self.line(
                logging.INFO,
                "metrics",
                **metrics_document(namespace, dimensions, per_table, timestamp_ms=now),
            )
