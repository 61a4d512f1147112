"""``s3redshift check``: a configuration checked end to end, one line per check."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO

from s3redshift.cli.common import EXIT_FAILED, EXIT_OK, configuration

if TYPE_CHECKING:
    from s3redshift.check import Check

__all__ = ["run"]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run every check, printing each as it ends (``--json``: one document at the end)."""
    from s3redshift.check import MARKS, run_checks

    config = configuration(args)
    source = f" {args.config}" if args.config else ""

    def show(check: Check) -> None:
        if not args.json:
            out.write(check.line() + "\n")
            out.flush()

    if not args.json:
        out.write(f"{MARKS['ok']} configuration{source}: valid, {len(config.tables)} rule(s)\n")
    with args.make_loader(config) as loader:
        checks = run_checks(
            loader,
            args.sources,
            on_check=show,
            time_budget=args.timeout,
        )
    failed = [c for c in checks if c.status == "failed"]
    if args.json:
        document = {"ok": not failed, "checks": [c.to_dict() for c in checks]}
        out.write(json.dumps(document) + "\n")
    else:
        passed = sum(1 for c in checks if c.status == "ok") + 1
        skipped = sum(1 for c in checks if c.status == "skipped")
        out.write(f"{passed} passed, {len(failed)} failed, {skipped} skipped\n")
    return EXIT_FAILED if failed else EXIT_OK
