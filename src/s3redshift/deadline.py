"""One deadline per invocation, made once and read by every wait below it.

A Lambda invocation ends when Lambda says (its remaining time, minus a
margin for the report); a CLI command ends at its ``--timeout``. Either way
the time is fixed once, at the start, and each layer asks what is left
instead of redoing the arithmetic with its own clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DEFAULT_CLI_TIMEOUT_S", "Deadline"]

DEFAULT_CLI_TIMEOUT_S = 3600.0
"""A CLI command's deadline when ``--timeout`` is not given: long enough for a big
backfill, short enough that a statement that never finishes cannot hang it."""


@dataclass(frozen=True)
class Deadline:
    """A point in ``clock()`` time (None: no deadline)."""

    at: float | None
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def after(
        cls, seconds: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """The deadline ``seconds`` from now (None: none)."""
        return cls(None if seconds is None else clock() + seconds, clock)

    def remaining(self) -> float | None:
        """Seconds left, never negative (None: unbounded): what a ``time_budget`` takes."""
        return None if self.at is None else max(self.at - self.clock(), 0.0)

    def expired(self) -> bool:
        """Whether no time is left."""
        return self.at is not None and self.clock() >= self.at
