"""Loaders on the stand-in that announce their commits: what the notification tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from helpers import T0
from s3redshift.config import LoaderConfig
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

COMMITTED_AT = T0 + timedelta(seconds=95)
"""The loader's clock at every commit of these tests (``Loader(now=...)``)."""

CSV_RULE = {"pattern": "{table}/**", "format": {"type": "csv", "ignore_header": 1}}
"""The first key segment is the table, in public; CSV with a header row."""


@contextmanager
def notifying_loaders(
    env: EmbeddedEnvironment, database: str, s3: S3Client
) -> Iterator[Callable[..., Loader]]:
    """``factory(notifications, client=None)``: a loader on ``database``; all closed after.

    ``notifications`` is the ``[notifications]`` section (None: none) and
    ``client`` the events or SNS client to announce with (None: the loader's own).
    """
    made: list[Loader] = []

    def factory(notifications: dict[str, str] | None, client: Any = None) -> Loader:
        data: dict[str, Any] = {
            **env.connector_config(database),
            "copy": {"iam_role": "default"},
            "tables": [CSV_RULE],
        }
        if notifications is not None:
            data["notifications"] = notifications
        loader = env.loader(
            LoaderConfig.from_mapping(data),
            s3_client=s3,
            notifications_client=client,
            now=lambda: COMMITTED_AT,
        )
        made.append(loader)
        return loader

    try:
        yield factory
    finally:
        for loader in made:
            loader.close()
