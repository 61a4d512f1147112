"""Zipped Lambda artifact sizes per transport, and whether a rebuild is byte-identical."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
LIMITS_MB = {"data-api": 5.0, "connector": 20.0}


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda", ROOT / "scripts/build_lambda.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def measure() -> dict[str, list[float]]:
    """Zipped size (MB) per transport, and 1 when a second build is byte-identical, else 0.

    Sizes are exact, so one build (and one rebuild) per transport is enough.
    """
    builder = _builder()
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for transport, limit in LIMITS_MB.items():
            first = builder.build(transport, "x86_64", "3.12", Path(tmp) / "a")
            again = builder.build(transport, "x86_64", "3.12", Path(tmp) / "b")
            name = transport.replace("-", "_")
            figures[f"zip_mb_{name}"] = [round(first.size / 1e6, 2)]
            figures[f"zip_rebuild_identical_{name}"] = [float(first.sha256 == again.sha256)]
            print(
                f"  {transport:9s} x86_64 py3.12: {first.size / 1e6:5.2f} MB zipped "
                f"(limit {limit:.0f} MB), {first.entries} files, built in {first.seconds:.1f} s, "
                f"rebuild identical: {first.sha256 == again.sha256}"
            )
    return figures


def run() -> None:
    measure()
