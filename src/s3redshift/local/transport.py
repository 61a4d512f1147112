"""The local stand-in target (``kind = "postgres"``): the connector's code on PostgreSQL.

There is no separate PostgreSQL transport any more. A postgres target gets
exactly :class:`~s3redshift.transports.connector.ConnectorTransport`, the
class that talks to Redshift, built with the stand-in's connection factory
(:class:`~s3redshift.local.standin.StandInConnector`) instead of the
driver's; so every load on the stand-in runs the production transaction,
statement timeout, error translation and load-error read-back. See
:mod:`s3redshift.local.standin` for what the stand-in emulates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3redshift.local.standin import StandInConnector
from s3redshift.transports.connector import ConnectorTransport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["stand_in_transport"]


def stand_in_transport(dsn: str, *, s3_client: S3Client) -> ConnectorTransport:
    """The connector transport over the stand-in PostgreSQL a ``postgresql://`` URI names.

    Connecting happens on first use; ``s3_client`` reads the objects COPY names.
    """
    return ConnectorTransport(StandInConnector.from_dsn(dsn, s3_client=s3_client))
