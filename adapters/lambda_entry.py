"""AWS Lambda entry point: ``lambda_entry.handler`` (the file sits at the zip root).

All behaviour lives in :func:`s3redshift.handler.handle` (payloads, answers,
the sweep payload, log lines); this module holds only what belongs to one
container. Importing it reads no configuration and makes no client.

Warm-start cache: :func:`warm_loader` builds the loader on the first
invocation from ``LoaderConfig.load()`` (``S3REDSHIFT_CONFIG``, else the
seed's ``DB_*`` variables) and returns that same loader while the container
lives, so its database connection and cached credentials serve every warm
invocation. ``warm_loader.cache_info()`` counts builds (``misses``) and reuses
(``hits``); ``warm_loader.cache_clear()`` forgets it. A failed build is not
cached: the next invocation tries again.
"""

from __future__ import annotations

import functools
from typing import Any

from s3redshift.config import LoaderConfig
from s3redshift.handler import configure_logging, handle
from s3redshift.loader import Loader

__all__ = ["handler", "warm_loader"]

configure_logging()  # the entry point owns the process's log output: JSON lines on stdout


@functools.cache
def warm_loader() -> Loader:
    """The container's loader, built on first use."""
    return Loader(LoaderConfig.load())


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda calls this; SQS batches get ``batchItemFailures``, others raise on failure."""
    return dict(handle(event, context, loader=warm_loader()))
