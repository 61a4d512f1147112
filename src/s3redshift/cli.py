"""The ``s3redshift`` command.

Exit codes: 0 done; 1 some objects failed to load; 2 bad usage, configuration
or event. Errors are printed as one line on stderr; ``--debug`` adds the
traceback. Nothing printed ever contains a secret: statements are redacted.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, InvalidEventError, S3RedshiftError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        help="TOML or JSON configuration (default: $S3REDSHIFT_CONFIG, else the seed's DB_* "
        "variables)",
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="s3redshift",
        description="Load S3 objects into Amazon Redshift with COPY, exactly once.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = commands.add_parser(
        "plan",
        parents=[common],
        help="show the SQL each target of an event would run (no database or AWS call)",
    )
    plan.add_argument("event", metavar="EVENT.json", help="an S3/SQS/SNS/EventBridge payload")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    commands.add_parser(
        "config-schema", parents=[common], help="print the configuration's JSON Schema"
    )
    return parser


def _read_event(path: str) -> Any:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read event file {path!r}: {exc.strerror}") from None


def _plan(args: argparse.Namespace, out: TextIO) -> int:
    from s3redshift.events import read_event
    from s3redshift.planning import plan_event

    config = LoaderConfig.load(args.config)
    parsed = read_event(_read_event(args.event))
    if parsed.invalid:
        raise parsed.invalid[0]
    result = plan_event(config, parsed)
    if args.json:
        out.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    for target in result.targets:
        out.write(
            f"-- {target.plan.target} ({target.plan.mode}): {len(target.objects)} object(s), "
            f"batch {target.plan.batch_id}\n"
        )
        for statement in target.plan.statements():
            out.write(statement + ";\n")
        out.write("\n")
    if result.skipped:
        out.write("-- skipped\n")
        for skip in result.skipped:
            out.write(f"--   {skip.uri}: {skip.reason}\n")
    if not result.targets:
        out.write("-- nothing to load\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    stdout = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "plan":
            return _plan(args, stdout)
        if args.command == "config-schema":
            stdout.write(json.dumps(LoaderConfig.json_schema(), indent=2) + "\n")
            return EXIT_OK
    except (ConfigError, InvalidEventError) as exc:
        return _fail(exc, args.debug, EXIT_USAGE)
    except S3RedshiftError as exc:
        code = EXIT_FAILED if exc.retryable else EXIT_USAGE
        return _fail(exc, args.debug, code)
    parser.error(f"unknown command {args.command!r}")
    return EXIT_USAGE  # pragma: no cover - parser.error exits


def _fail(exc: BaseException, debug: bool, code: int) -> int:
    if debug:
        traceback.print_exception(exc)
    first = str(exc).splitlines()
    sys.stderr.write(f"s3redshift: error: {first[0] if first else type(exc).__name__}\n")
    for line in first[1:]:
        sys.stderr.write(f"s3redshift: {line}\n")
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
