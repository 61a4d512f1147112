"""The one wording of "the database cannot be reached": where it is, what was said, what to do.

Every command that talks to the database (``load``, ``ledger``, ``ledger
--failed``, ``invoke``, ``check``, ``plan`` with a schema policy) meets the
same failure when it is down, so each says it in the same words, from here:
the host and port (or the Data API's workgroup or cluster) and the database,
what the network or the service said, and the things to check. The words
never hold a secret: the cause is the operating system's text and the
error's class, never a driver's message, which may quote its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3redshift.errors import DatabaseConnectionError, LoadFailedError

if TYPE_CHECKING:
    from s3redshift.config import ConnectorTarget, DataApiTarget

__all__ = ["CONNECTOR_FIX", "DATA_API_FIX", "Unreachable", "database_down", "target_location"]

CONNECTOR_FIX = (
    "check that the database is running, that [target] host and port are right, that its "
    "security group and the VPC let this machine reach that port, and that [credentials] are "
    "right"
)
"""What to check when a connector target cannot be reached."""

DATA_API_FIX = (
    "check that the {warehouse} exists in this Region and is available (not paused), that "
    "[target] database is right, and that the loader's role may call redshift-data and "
    "sign in to it"
)
"""What to check when the Data API cannot reach its workgroup or cluster."""


def target_location(target: ConnectorTarget | DataApiTarget) -> str:
    """Where the loader connects, without a secret: ``host:port, database d``, or the Data API's."""
    if target.transport == "data-api":
        return f"Redshift Data API {_warehouse(target)}, database {target.database}"
    return f"{target.host}:{target.port}, database {target.database}"


def _warehouse(target: DataApiTarget) -> str:
    if target.workgroup:
        return f"workgroup {target.workgroup}"
    return f"cluster {target.cluster_identifier}"


@dataclass(frozen=True)
class Unreachable:
    """What happened (``detail``) and what to check (``fix``) when the database is down."""

    detail: str
    fix: str

    def line(self) -> str:
        """The one line every command prints: ``cannot reach the database (...): ...; fix: ...``."""
        return f"{self.detail}; fix: {self.fix}"


def database_down(
    error: BaseException, target: ConnectorTarget | DataApiTarget
) -> Unreachable | None:
    """The wording for ``error`` if the database being down is what it says, else None.

    ``error`` is a :class:`~s3redshift.errors.DatabaseConnectionError`, or a
    :class:`~s3redshift.errors.LoadFailedError` (a handler's) one of whose
    errors is one.
    """
    found = _connection_error(error)
    if found is None:
        return None
    cause = found.cause or found.message
    detail = f"cannot reach the database ({target_location(target)}): {cause}"
    if target.transport == "data-api":
        return Unreachable(detail, DATA_API_FIX.format(warehouse=_warehouse(target)))
    return Unreachable(detail, CONNECTOR_FIX)


def _connection_error(error: BaseException) -> DatabaseConnectionError | None:
    if isinstance(error, DatabaseConnectionError):
        return error
    if isinstance(error, LoadFailedError):
        return next((e for e in error.errors if isinstance(e, DatabaseConnectionError)), None)
    return None
