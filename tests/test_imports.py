"""Import boundaries: the four components stand alone; the package exports lazily."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import s3redshift

HEAVY = ("s3redshift.loader", "s3redshift.transports", "redshift_connector", "pg8000")


def modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "module",
    ["s3redshift.events", "s3redshift.mapping", "s3redshift.copy", "s3redshift.credentials"],
)
def test_component_imports_pull_in_no_loader_transport_or_driver(module: str) -> None:
    loaded = modules_after_import(module)
    assert module in loaded
    leaked = sorted(m for m in loaded if m.startswith(HEAVY))
    assert leaked == []


def test_importing_the_package_loads_no_submodule_and_no_boto3() -> None:
    loaded = modules_after_import("s3redshift")
    assert sorted(m for m in loaded if m.startswith("s3redshift.")) == []
    assert "boto3" not in loaded


def test_every_export_resolves_to_the_defining_modules_object() -> None:
    for name in s3redshift.__all__:
        module = importlib.import_module(f"s3redshift.{s3redshift._EXPORTS[name]}")
        assert getattr(s3redshift, name) is getattr(module, name), name
        assert name in module.__all__, f"{name} is not in {module.__name__}.__all__"


def test_exports_are_sorted_and_unknown_names_raise() -> None:
    assert s3redshift.__all__ == sorted(s3redshift.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = s3redshift.Nope
