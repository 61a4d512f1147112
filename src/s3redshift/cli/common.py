"""What every command shares: exit codes, the configuration, the event file, the error exit."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, mask_secrets

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "configuration",
    "fail",
    "read_event_file",
    "target_where",
    "write_traceback",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def configuration(args: argparse.Namespace) -> LoaderConfig:
    """The command's configuration; what it holds that is probably not meant goes to stderr."""
    config = LoaderConfig.load(args.config)
    for warning in config.warnings:
        sys.stderr.write(f"s3redshift: warning: {warning}\n")
    return config


def read_event_file(path: str) -> str:
    """The text of an event file; an unreadable one is a usage error."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read event file {path!r}: {exc.strerror}") from None


def target_where(config: LoaderConfig) -> str:
    """Where the loader connects, without a secret: host and port, or the Data API's target."""
    target = config.target
    if target.transport == "data-api":
        name = target.workgroup or target.cluster_identifier or "?"
        return f"Redshift Data API, {'workgroup' if target.workgroup else 'cluster'} {name}"
    return f"database {target.host}:{target.port}"


def write_traceback(exc: BaseException) -> None:
    """The traceback on stderr, masked: a driver's own text may quote a connection string."""
    sys.stderr.write(mask_secrets("".join(traceback.format_exception(exc))))


def fail(exc: BaseException, debug: bool, code: int) -> int:
    """The error as ``s3redshift: error: ...`` lines on stderr (``--debug``: its traceback)."""
    if debug:
        write_traceback(exc)
    first = str(exc).splitlines()
    sys.stderr.write(f"s3redshift: error: {first[0] if first else type(exc).__name__}\n")
    for line in first[1:]:
        sys.stderr.write(f"s3redshift: {line}\n")
    return code
