"""The stand-in plugged into the loader: the connector's code on PostgreSQL.

There is no PostgreSQL transport and no stand-in kind of target. A
configuration names an ordinary connector target (``transport =
"connector"``: host, port, database, and a password provider); this module
builds exactly :class:`~s3redshift.transports.connector.ConnectorTransport`,
the class that talks to Redshift, over the stand-in's connection factory
(:class:`~s3redshift.local.standin.StandInConnector`) and with the COPY
runner that hands each plan's :class:`~s3redshift.copy.CopyCommand` to it.
Every load on the stand-in therefore runs the production transaction,
statement timeout, error translation and load-error read-back, and is given
to the loader through its seam: ``Loader(config, transport=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from s3redshift.loader import Loader
from s3redshift.local.standin import LoadErrorTable, StandInConnector, hand_over_copy
from s3redshift.transports.connector import ConnectorTransport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from s3redshift.config import LoaderConfig

__all__ = ["STAND_IN", "stand_in_loader", "stand_in_transport"]

STAND_IN = "stand-in"
"""The name of the stand-in's transport (:attr:`Transport.name`)."""


def stand_in_transport(connect: Callable[[], Any], *, max_in_flight: int = 1) -> ConnectorTransport:
    """The connector transport over stand-in sessions from ``connect``.

    ``connect`` is a :class:`StandInConnector` or a wrapper around one (a
    test's trap); connecting happens on first use. ``max_in_flight`` is
    :attr:`~s3redshift.transports.dbapi.DbApiTransport.max_in_flight`: how
    many calls may run at once, each on its own session.
    """
    return ConnectorTransport(
        connect, copy_runner=hand_over_copy, name=STAND_IN, max_in_flight=max_in_flight
    )


def stand_in_loader(
    config: LoaderConfig,
    *,
    s3_client: S3Client | None = None,
    load_error_tables: Sequence[LoadErrorTable] = ("sys",),
    **loader_options: Any,
) -> Loader:
    """A :class:`~s3redshift.loader.Loader` for ``config`` whose database is the stand-in.

    The PostgreSQL is the one ``config.target`` names (a ``host`` starting
    with ``/`` is the directory of its Unix socket, as for libpq), signed in
    with the configured password provider. ``s3_client`` reads the objects
    (default: ``boto3.client("s3")``, which ``AWS_ENDPOINT_URL`` may point at
    moto); ``loader_options`` go to the loader.
    """
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3", region_name=config.copy_.region)
    sessions = StandInConnector.from_config(
        config, s3_client=s3_client, load_error_tables=load_error_tables
    )
    transport = stand_in_transport(sessions, max_in_flight=config.target.max_in_flight)
    return Loader(config, transport=transport, s3_client=s3_client, **loader_options)
