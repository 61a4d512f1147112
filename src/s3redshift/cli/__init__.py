"""The ``s3redshift`` command.

Exit codes: 0 done; 1 some objects failed to load, or the database could not
be reached; 2 bad usage, configuration or event; 130 interrupted (Ctrl-C);
141 the reader of standard output closed it (``| head``), quietly.
Errors are printed as one line on stderr; ``--debug`` adds the traceback.
Nothing printed ever contains a secret: statements are redacted. One module
per command (``plan``, ``invoke``, ``load``, ``ledger``, ``check``,
``offline``), with the grammar in ``parser`` and what they show in ``output``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from s3redshift.cli import check, invoke, ledger, load, offline, plan
from s3redshift.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_USAGE,
    fail,
    write_traceback,
)
from s3redshift.cli.parser import parse_arguments
from s3redshift.errors import ConfigError, InvalidEventError, S3RedshiftError

if TYPE_CHECKING:
    from s3redshift.config import LoaderConfig
    from s3redshift.loader import Loader

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "plan": plan.run,
    "invoke": invoke.run,
    "load": load.run,
    "ledger": ledger.run,
    "check": check.run,
    "demo": offline.demo,
    "config-schema": offline.config_schema,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    make_loader: Callable[[LoaderConfig], Loader] | None = None,
) -> int:
    """Run the command line; returns the exit code.

    ``make_loader`` builds the loader every command uses from the validated
    configuration (default :class:`~s3redshift.loader.Loader`): the seam a
    test environment, such as :mod:`s3redshift.local`, plugs its transport into.
    """
    args = parse_arguments(argv)
    args.make_loader = make_loader or _default_loader
    try:
        return COMMANDS[args.command](args, out or sys.stdout)
    except (ConfigError, InvalidEventError) as exc:
        return fail(exc, args.debug, EXIT_USAGE)
    except S3RedshiftError as exc:
        code = EXIT_FAILED if exc.retryable else EXIT_USAGE
        return fail(exc, args.debug, code, getattr(args, "loaded_config", None))
    except KeyboardInterrupt:
        sys.stderr.write("s3redshift: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as exc:
        if args.debug:
            write_traceback(exc)
        # Named by class only: the text of a driver's or library's own error
        # may quote a connection string; --debug shows it all.
        sys.stderr.write(
            f"s3redshift: error: unexpected {type(exc).__name__} "
            "(run with --debug for the message and traceback)\n"
        )
        return EXIT_FAILED


def _pipe_closed() -> int:
    """Quiet, as a command writing into a closed pipe is: no message, nothing more written.

    Standard output is pointed at the null device, so the interpreter's last
    flush at exit does not raise again.
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED


def _default_loader(config: LoaderConfig) -> Loader:
    from s3redshift.loader import Loader

    return Loader(config)
