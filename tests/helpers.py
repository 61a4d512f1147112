"""What many test modules need: objects put to S3, DB-API doubles that record statements, time.

``put`` writes to whichever S3 client it is given (moto's or the embedded
environment's) and returns the ``S3Object`` a notification would carry, so a
test hands the loader exactly what the Lambda would. The recording connection
wraps a real session (the stand-in's or a driver's) and notes every statement
before sending it, so a test can compare what was sent with what was planned.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from s3redshift.events import S3Object
from s3redshift.invocation_log import FIELDS_ATTR

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module (the scripts are not a package).

    Registered in ``sys.modules`` first: dataclasses look their module up there.
    """
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def put(
    s3: S3Client,
    bucket: str,
    key: str,
    body: bytes | str,
    *,
    at: datetime | None = T0,
    sequencer: str | None = None,
    versioned: bool = False,
    upload: bool = True,
) -> S3Object:
    """Upload an object and return the S3Object its notification would carry.

    ``at`` is the notification's event time (an ``ObjectCreated:Put``); with
    ``at=None`` the object is named without time or event, as a listing names
    it, and the loader takes its time from HeadObject. ``versioned`` keeps the
    version id S3 returned; ``upload=False`` names an object never written,
    with the ETag a simple PUT of ``body`` would have had.
    """
    data = body.encode() if isinstance(body, str) else body
    etag = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag of a simple PUT
    version_id = None
    if upload:
        response = s3.put_object(Bucket=bucket, Key=key, Body=data)
        etag = response["ETag"]
        version_id = response["VersionId"] if versioned else None
    return S3Object(
        bucket=bucket,
        key=key,
        size=len(data),
        etag=etag,
        version_id=version_id,
        sequencer=sequencer,
        event_time=at,
        event_name=None if at is None else "ObjectCreated:Put",
    )


class RecordingCursor:
    """A DB-API cursor that notes every statement before running it."""

    def __init__(self, inner: Any, note: Callable[[str], None]) -> None:
        self._inner = inner
        self._note = note

    def execute(self, operation: Any, *args: Any, **kwargs: Any) -> Any:
        self._note(str(operation))
        return self._inner.execute(operation, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RecordingConnection:
    """A DB-API connection whose cursors note what they are sent.

    ``ended`` hears each commit (True) and rollback (False) once the wrapped
    connection has done it, so a recorder can group statements by transaction.
    Every other attribute, read or set, is the wrapped connection's.
    """

    def __init__(
        self,
        inner: Any,
        note: Callable[[str], None],
        *,
        ended: Callable[[bool], None] | None = None,
    ) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_note", note)
        object.__setattr__(self, "_ended", ended)

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self._inner.cursor(), self._note)

    def commit(self) -> None:
        self._inner.commit()
        if self._ended is not None:
            self._ended(True)

    def rollback(self) -> None:
        self._inner.rollback()
        if self._ended is not None:
            self._ended(False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


class Transactions:
    """A connection factory recording each session's statements, one list per commit."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self.current: list[str] = []
        self.committed: list[list[str]] = []

    def __call__(self) -> RecordingConnection:
        return RecordingConnection(self._factory(), self.note, ended=self.end)

    def note(self, sql: str) -> None:
        self.current.append(sql)

    def end(self, committed: bool) -> None:
        if committed and self.current:
            self.committed.append(self.current)
        self.current = []

    def loads(self) -> list[list[str]]:
        """The committed load transactions (every plan starts with its LOCK)."""
        return [t for t in self.committed if t[0].startswith("LOCK ")]


class FakeTime:
    """A clock that moves only when something sleeps on it; records each pause."""

    def __init__(self, on_sleep: Callable[[], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self._on_sleep is not None:
            self._on_sleep()


class _Fields(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.fields.append({"message": record.getMessage(), **getattr(record, FIELDS_ATTR)})


@contextmanager
def logged_fields(name: str) -> Iterator[tuple[logging.Logger, list[dict[str, Any]]]]:
    """A logger ``name`` at INFO, and the fields of each line it writes (``message`` too)."""
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    collect = _Fields()
    log.addHandler(collect)
    try:
        yield log, collect.fields
    finally:
        log.removeHandler(collect)


def run_directory(factory: pytest.TempPathFactory) -> Path:
    """This run's temporary directory: under xdist, the parent of each worker's own.

    What every worker needs once a run (a build) goes there, under a lock.
    """
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
