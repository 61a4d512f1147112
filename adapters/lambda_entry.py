"""AWS Lambda entry point: ``lambda_entry.handler`` (the file sits at the zip root).

All behaviour lives in :func:`s3redshift.handler.handle` (payloads, answers,
the sweep payload, log lines); this module holds only what belongs to one
container.

Warm-start cache: importing this module -- Lambda's INIT phase, which
provisioned concurrency runs before any request -- builds the loader from
``LoaderConfig.load()`` (``S3REDSHIFT_CONFIG``, else the seed's ``DB_*``
variables) and creates its AWS clients and driver (:meth:`Loader.prepare`;
no AWS or database call, connecting waits for the first load).
:func:`warm_loader` returns that same loader while the container lives, so
its clients, database connection and cached credentials serve every
invocation. ``warm_loader.cache_info()`` counts builds (``misses``) and reuses
(``hits``); ``warm_loader.cache_clear()`` forgets it. A failed build is not
cached and never fails the import: the import keeps its error in
``init_error``, and each invocation builds again (raising that build's error)
until one succeeds.

SnapStart (the Terraform module's ``snap_start``): Lambda runs INIT when it
publishes a version and resumes new execution environments from a snapshot
of it. Where the runtime offers ``snapshot_restore_py`` (Python 3.12 and
later on Lambda), this module registers two hooks: :func:`before_snapshot`
closes the warm loader's database sessions (no socket is frozen into the
snapshot), and :func:`after_restore` re-seeds ``random`` (environments
resumed from one snapshot would share its state, so botocore's retry jitter
would be identical) and calls :meth:`Loader.renew`, the warm cache's
invalidation: sessions, AWS clients and cached credentials are made anew.
Without the module (other runtimes, local runs) nothing is registered.

The configuration's warnings are logged once, at INIT. Each invocation reads
``S3REDSHIFT_METRICS_NAMESPACE`` for its metrics lines (unset: ``s3redshift``;
empty: none).
"""

from __future__ import annotations

import functools
import os
import random
from typing import Any

from s3redshift.config import LoaderConfig
from s3redshift.handler import configure_logging, handle
from s3redshift.invocation_log import DEFAULT_METRICS_NAMESPACE, log_configuration_warnings
from s3redshift.loader import Loader

__all__ = ["after_restore", "before_snapshot", "handler", "init_error", "warm_loader"]

configure_logging()  # the entry point owns the process's log output: JSON lines on stdout


@functools.cache
def warm_loader() -> Loader:
    """The container's loader, with its clients; built at import, else on first use."""
    config = LoaderConfig.load()
    log_configuration_warnings(config.warnings)
    return Loader(config).prepare()


init_error: Exception | None = None
"""Why building the loader at import failed (None: it did not); invocations retry."""
try:
    warm_loader()
except Exception as exc:  # the next invocation builds again and raises
    init_error = exc


def before_snapshot() -> None:
    """SnapStart, before the snapshot: close the warm loader's database sessions."""
    if warm_loader.cache_info().currsize:
        warm_loader().close()


def after_restore() -> None:
    """SnapStart, after a restore: fresh random state, sessions, clients and credentials."""
    random.seed()  # from os.urandom: each resumed environment gets its own
    if warm_loader.cache_info().currsize:
        warm_loader().renew().prepare()


try:  # Lambda's Python runtime provides it; elsewhere there is nothing to hook
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:
    pass
else:
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)


def handler(event: dict[str, Any], context: object) -> dict[str, Any] | None:
    """Lambda calls this; SQS batches get ``batchItemFailures``, others raise on failure."""
    namespace = os.environ.get("S3REDSHIFT_METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE)
    return dict(handle(event, context, loader=warm_loader(), metrics_namespace=namespace or None))
