"""What a load did, per object and per target, in a stable JSON shape.

``LoadReport.to_dict()`` (and ``to_json()``) produce, with ``version`` bumped
on any incompatible change::

    {
      "version": 1,
      "duration_ms": 812,
      "counts": {"loaded": 3, "duplicate": 1, "superseded": 0,
                 "unmapped": 0, "ignored": 1, "failed": 1},
      "objects": [
        {"uri": "s3://b/kpis/a.csv", "bucket": "b", "key": "kpis/a.csv",
         "version_id": null, "etag": "…", "message_id": null,
         "outcome": "loaded", "table": "public.kpis", "reason": "",
         "error": null, "load_errors": [], "rejected_rows": 0}, …],
      "targets": [
        {"table": "public.kpis", "mode": "append", "batch_id": "…",
         "objects": 3, "rows": 120, "attempts": 1, "duration_ms": 301,
         "error": null, "load_errors": [], "rejected_rows": 0, "lag_seconds": [41.2]}, …]
    }

``error`` is ``{"kind": "DataRejectedError", "message": "…", "retryable": false}``;
``load_errors`` entries are ``{"file", "line", "column", "reason", "code"}``.
Objects appear in the order they were given to the loader. ``rejected_rows``
counts the rows COPY skipped and ``load_rejects`` kept for a loaded object of
an ``on_error = "skip_rows"`` rule (0 for any other), ``null`` when they
could not be counted after the commit. ``lag_seconds`` holds, per committed
transaction, the seconds from its oldest object's event time to the commit
(:class:`CommittedBatch`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.errors import LoadErrorDetail, S3RedshiftError
from s3redshift.events import S3Object

if TYPE_CHECKING:
    from s3redshift.manifest import ManifestEntry

__all__ = ["OUTCOMES", "CommittedBatch", "LoadReport", "ObjectResult", "Outcome", "TargetResult"]

Outcome = Literal["loaded", "duplicate", "superseded", "unmapped", "ignored", "failed"]
OUTCOMES: tuple[Outcome, ...] = (
    "loaded",
    "duplicate",
    "superseded",
    "unmapped",
    "ignored",
    "failed",
)
REPORT_VERSION = 1


def _error_dict(error: S3RedshiftError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"kind": error.kind, "message": str(error), "retryable": error.retryable}


@dataclass(frozen=True)
class ObjectResult:
    """The outcome for one object of the load."""

    s3_object: S3Object
    outcome: Outcome
    table: str | None = None
    reason: str = ""
    error: S3RedshiftError | None = None
    load_errors: tuple[LoadErrorDetail, ...] = ()
    rejected_rows: int | None = 0
    """Rows COPY rejected and ``load_rejects`` kept (None: not counted, the read failed)."""

    def to_dict(self) -> dict[str, Any]:
        o = self.s3_object
        return {
            "uri": o.uri,
            "bucket": o.bucket,
            "key": o.key,
            "version_id": o.version_id,
            "etag": o.etag,
            "message_id": o.message_id,
            "outcome": self.outcome,
            "table": self.table,
            "reason": self.reason,
            "error": _error_dict(self.error),
            "load_errors": [d.to_dict() for d in self.load_errors],
            "rejected_rows": self.rejected_rows,
        }

    @property
    def explanation(self) -> str:
        """Why, in one line: the rows COPY rejected (line, column, reason) when it named them.

        The first three rejections, else the reason; what the CLI prints for a
        failed object and what the failures table keeps.
        """
        details = []
        for detail in self.load_errors[:3]:
            parts = []
            if detail.line is not None:
                parts.append(f"line {detail.line}")
            if detail.column:
                parts.append(f"column {detail.column}")
            details.append(f"{', '.join(parts)}: {detail.reason}" if parts else detail.reason)
        return "; ".join(details) or self.reason


@dataclass(frozen=True)
class CommittedBatch:
    """One committed transaction of a target: what it loaded, when, and how late.

    ``oldest_object_time`` is the earliest event time of its objects (S3's
    last-modified time for an object whose event named none); ``notified``
    is None when no notification is configured, else whether it was sent,
    and ``notification_error`` why not.
    """

    table: str
    batch_id: str
    mode: str
    objects: tuple[ManifestEntry, ...]
    rows: int | None
    """None when the answer to the COMMIT was lost and the ledger showed it committed."""
    committed_at: datetime
    oldest_object_time: datetime | None
    notified: bool | None = None
    notification_error: S3RedshiftError | None = None

    @property
    def lag_seconds(self) -> float | None:
        """Seconds from the oldest object's event time to the commit (never below 0).

        The event time is S3's clock and the commit time the loader's; a
        skew that would make it negative is read as no lag.
        """
        if self.oldest_object_time is None:
            return None
        return max((self.committed_at - self.oldest_object_time).total_seconds(), 0.0)


@dataclass(frozen=True)
class TargetResult:
    """What happened to one target's transaction(s)."""

    table: str
    mode: str
    batch_id: str | None
    objects: int
    rows: int
    attempts: int
    duration_ms: int
    error: S3RedshiftError | None = None
    load_errors: tuple[LoadErrorDetail, ...] = ()
    rejected_rows: int | None = 0
    """Rows COPY rejected and ``load_rejects`` kept, over the target's committed transactions."""
    commits: tuple[CommittedBatch, ...] = ()

    @property
    def lags(self) -> list[float]:
        """``lag_seconds`` of each committed transaction that has one, in commit order."""
        return [lag for lag in (c.lag_seconds for c in self.commits) if lag is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "mode": self.mode,
            "batch_id": self.batch_id,
            "objects": self.objects,
            "rows": self.rows,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            "error": _error_dict(self.error),
            "load_errors": [d.to_dict() for d in self.load_errors],
            "rejected_rows": self.rejected_rows,
            "lag_seconds": [round(lag, 3) for lag in self.lags],
        }


@dataclass(frozen=True)
class LoadReport:
    """The result of :meth:`s3redshift.loader.Loader.load`."""

    objects: tuple[ObjectResult, ...]
    targets: tuple[TargetResult, ...]
    duration_ms: int
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        tally = Counter(r.outcome for r in self.objects)
        object.__setattr__(self, "counts", {o: tally.get(o, 0) for o in OUTCOMES})

    @property
    def ok(self) -> bool:
        """True when no object failed."""
        return self.counts["failed"] == 0

    @property
    def failed(self) -> tuple[ObjectResult, ...]:
        """The failed objects, in input order."""
        return tuple(r for r in self.objects if r.outcome == "failed")

    @property
    def rows(self) -> int:
        """Rows loaded over all targets."""
        return sum(t.rows for t in self.targets)

    @property
    def rejected_rows(self) -> int:
        """Rows COPY rejected and ``load_rejects`` kept, over all targets (as far as counted)."""
        return sum(t.rejected_rows or 0 for t in self.targets)

    def outcomes(self) -> list[Outcome]:
        """Each object's outcome, in input order."""
        return [r.outcome for r in self.objects]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "duration_ms": self.duration_ms,
            "counts": dict(self.counts),
            "objects": [r.to_dict() for r in self.objects],
            "targets": [t.to_dict() for t in self.targets],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
