"""The transport seam: one method to run a plan, one to read, ``close``."""

from __future__ import annotations

from typing import Any, Protocol, Self, runtime_checkable

from s3redshift.transaction import Limits, TransactionPlan

__all__ = ["Preparable", "Renewable", "Transport"]


@runtime_checkable
class Preparable(Protocol):
    """A transport (or connection factory) that can do its set-up work ahead of use."""

    def prepare(self) -> None:
        """Import the driver and create the clients now; call neither AWS nor the database."""


@runtime_checkable
class Renewable(Protocol):
    """A transport (or connection factory) that can drop its sessions, clients and credentials."""

    def renew(self) -> None:
        """Close what it holds and forget cached credentials; the next use creates them anew."""


class Transport(Protocol):
    """Runs load transactions and small reads against one database.

    Implementations translate every driver or API error into the
    :mod:`s3redshift.errors` tree in one place, chained with ``from``.
    Up to :attr:`max_in_flight` calls may run at once, each from its own
    thread (the loader loads that many tables of a batch together).
    """

    name: str

    max_in_flight: int
    """Calls that may run at once from different threads; 1: one thread at a time."""

    @property
    def limits(self) -> Limits:
        """How large one transaction may be; the loader splits batches to fit."""
        ...

    def run(self, plan: TransactionPlan, *, time_budget: float | None = None) -> int:
        """Run every step of ``plan`` in one transaction and commit.

        Returns the rows loaded by the plan's data COPY steps. On any error the
        transaction is rolled back and the translated error raised.
        ``time_budget`` (seconds) bounds the work where the transport can
        (a statement timeout, a polling deadline); None means unbounded.
        """
        ...

    def query(self, sql: str, *, time_budget: float | None = None) -> list[tuple[Any, ...]]:
        """Run one read-only statement outside any load and return its rows."""
        ...

    def execute(
        self, *sqls: str, time_budget: float | None = None, autocommit: bool = False
    ) -> None:
        """Run ``sqls`` in order in one transaction of their own (idempotent DDL).

        One call is one round trip where the transport can send them together.
        ``autocommit``: each statement runs alone, outside any transaction
        block (Redshift runs ``ALTER COLUMN ... TYPE`` no other way).
        """
        ...

    def close(self) -> None:
        """Release the connection; the transport may not be used afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...
