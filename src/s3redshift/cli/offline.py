"""The commands that need no configuration: ``demo`` and ``config-schema``."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from s3redshift.cli.common import EXIT_OK
from s3redshift.config import LoaderConfig

__all__ = ["config_schema", "demo"]


def demo(args: argparse.Namespace, out: TextIO) -> int:
    """Run the whole job on the embedded stand-in, loaded only here."""
    from s3redshift.local.demo import run_demo

    return run_demo(out)


def config_schema(args: argparse.Namespace, out: TextIO) -> int:
    """Print the configuration's JSON Schema."""
    out.write(json.dumps(LoaderConfig.json_schema(), indent=2) + "\n")
    return EXIT_OK
