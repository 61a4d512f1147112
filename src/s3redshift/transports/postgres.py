"""The local stand-in transport: the load plan on a real PostgreSQL.

The SQL steps run as they would on Redshift (the plan is written in the
subset both accept). COPY steps cannot: PostgreSQL has no COPY from S3, so
:func:`~s3redshift.transports.local_copy.run_copy_locally` reads the manifest
and streams each object into ``COPY … FROM STDIN`` with the same options,
inside the same transaction. What this proves, and what it does not: the
transaction, ledger, guard, modes and error handling are exercised for real;
Redshift's own COPY parser is not (its text is checked against the grammar
and with sqlglot instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3redshift.copy import CopyCommand
from s3redshift.transports.dbapi import DbApiTransport

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_s3 import S3Client

__all__ = ["PostgresTransport"]


class PostgresTransport(DbApiTransport):
    """A :class:`DbApiTransport` over pg8000 whose COPY steps read S3 themselves."""

    def __init__(self, connect: Callable[[], Any], *, s3_client: S3Client) -> None:
        from s3redshift.transports.local_copy import run_copy_locally

        def copy_runner(cursor: Any, command: CopyCommand) -> int:
            return run_copy_locally(cursor, command, s3_client)

        super().__init__(connect, copy_runner=copy_runner, name="postgres")

    @classmethod
    def from_dsn(cls, dsn: str, *, s3_client: S3Client) -> PostgresTransport:
        """Connect (lazily) to the PostgreSQL a ``postgresql://`` URI names."""
        from s3redshift.local import connect_dsn

        return cls(lambda: connect_dsn(dsn), s3_client=s3_client)
