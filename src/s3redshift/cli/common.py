"""What every command shares: exit codes, the configuration, the event file, the error exit."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, DatabaseConnectionError, mask_secrets

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "EXIT_USAGE",
    "configuration",
    "fail",
    "read_event_file",
    "write_traceback",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C: what a shell shows for SIGINT."""
EXIT_PIPE_CLOSED = 141
"""The reader of standard output went away (``| head``): what a shell shows for SIGPIPE."""


def configuration(args: argparse.Namespace) -> LoaderConfig:
    """The command's configuration; what it holds that is probably not meant goes to stderr.

    It is kept in ``args.loaded_config``, so that an error ending the command
    can say where the database is (:func:`fail`).
    """
    config = LoaderConfig.load(args.config)
    for warning in config.warnings:
        sys.stderr.write(f"s3redshift: warning: {warning}\n")
    args.loaded_config = config
    return config


def read_event_file(path: str) -> str:
    """The text of an event file; an unreadable one is a usage error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read event file {path!r}: {exc.strerror}") from None


def write_traceback(exc: BaseException) -> None:
    """The traceback on stderr, masked: a driver's own text may quote a connection string."""
    sys.stderr.write(mask_secrets("".join(traceback.format_exception(exc))))


def fail(exc: BaseException, debug: bool, code: int, config: LoaderConfig | None = None) -> int:
    """The error as ``s3redshift: error: ...`` lines on stderr (``--debug``: its traceback).

    When the database could not be reached, the first line is
    :mod:`s3redshift.unreachable`'s, where ``config`` says where it is; a
    handler's error naming the objects it failed follows it.
    """
    from s3redshift.unreachable import database_down

    if debug:
        write_traceback(exc)
    down = None if config is None else database_down(exc, config.target)
    lines = str(exc).splitlines() or [type(exc).__name__]
    if down is not None:
        sys.stderr.write(f"s3redshift: error: {down.line()}\n")
        lines = [] if isinstance(exc, DatabaseConnectionError) else lines
    else:
        sys.stderr.write(f"s3redshift: error: {lines.pop(0)}\n")
    for line in lines:
        sys.stderr.write(f"s3redshift: {line}\n")
    return code
