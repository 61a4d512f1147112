"""Transports: how a :class:`~s3redshift.transaction.TransactionPlan` reaches a database.

Only connecting and the execution of COPY steps differ between transports;
the plan, the ledger SQL and the error classes are shared. Each transport
module imports its driver lazily, so importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3redshift.transaction import UNLIMITED, Limits
from s3redshift.transports.base import Transport

if TYPE_CHECKING:
    from s3redshift.config import LoaderConfig

__all__ = ["Transport", "limits_for", "open_transport"]


def limits_for(config: LoaderConfig) -> Limits:
    """The limits of the transport ``config.target`` describes, without opening it.

    ``s3redshift plan`` splits an event's batches with these, as the loader
    splits them with its open transport's :attr:`Transport.limits`.
    """
    if config.target.transport == "data-api":
        from s3redshift.transports.data_api import DATA_API_LIMITS

        return DATA_API_LIMITS
    return UNLIMITED


def open_transport(config: LoaderConfig) -> Transport:
    """The transport ``config.target`` describes (connecting happens on first use).

    A test environment hands the loader its own transport instead
    (``Loader(config, transport=...)``; see :mod:`s3redshift.local`).
    """
    target = config.target
    if target.transport == "data-api":
        from s3redshift.transports.data_api import DataApiTransport

        return DataApiTransport.from_config(config)
    from s3redshift.transports.connector import ConnectorTransport

    return ConnectorTransport.from_config(config)
