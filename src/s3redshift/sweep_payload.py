"""The scheduled sweep's payload: what it may say, read strictly.

The Terraform module's EventBridge schedule sends a constant input; anything
else next to it, or a malformed member, is an :class:`InvalidEventError`
naming the path, so a typo in the schedule never sweeps the wrong thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from s3redshift.errors import InvalidEventError, S3RedshiftError

if TYPE_CHECKING:
    pass

__all__ = ["SWEEP_KEY", "SweepRequest", "sweep_request"]

SWEEP_KEY = "s3redshift_sweep"
"""The one member of a scheduled sweep's payload."""


class SweepRequest(BaseModel):
    """What a scheduled sweep asks for: the member ``s3redshift_sweep`` of its payload.

    Built on first use (``defer_build``): an invocation that is not a sweep
    never validates one.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, defer_build=True
    )

    prefixes: tuple[str, ...] = Field(min_length=1)
    since: datetime | timedelta | None = None

    @field_validator("prefixes")
    @classmethod
    def _s3_uris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from s3redshift.listing import parse_s3_uri  # sweeps only, like the backfill

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


def sweep_request(event: Mapping[str, Any]) -> SweepRequest:
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
