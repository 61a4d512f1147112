"""Build the Lambda artifact: ``dist/lambda-<transport>-<arch>-py<version>.zip``.

Why a script and not Terraform's ``archive_file``: the dependencies hold
compiled code (``pydantic_core``, ``lxml``), so they must be wheels for
Lambda's platform, which ``pip install --platform manylinux2014_<arch>
--implementation cp --python-version <v> --only-binary=:all: --target`` fetches
from any build machine, macOS and ARM included. The zip is then written by
hand so that the same inputs give the same bytes (and Terraform's
``source_code_hash`` only changes when the code does): every entry has the
timestamp 1980-01-01 00:00, mode 0644 and a Unix origin, entries are sorted,
and no ``__pycache__``/``.pyc`` or machine-specific console script goes in.

The zip holds, at its root:

* ``s3redshift/`` - the package, copied from ``src/`` (no wheel build needed),
  without ``s3redshift/local/``: the embedded stand-in (PostgreSQL in place
  of Redshift, for the demo and the tests) never runs in Lambda;
* ``lambda_entry.py`` - the adapter, so the handler string is
  ``lambda_entry.handler``;
* the dependencies of the chosen transport and nothing else:

  - ``data-api``: pydantic and what it requires. boto3 is *not* bundled: the
    Lambda Python runtime provides it, and the Data API has been in the
    runtime's boto3 for years.
  - ``connector``: pydantic, redshift-connector and what they require. That
    includes boto3, because redshift-connector requires a newer boto3
    (>= 1.42) than a runtime may carry, and a bundled copy shadows the
    runtime's.

Version specifiers come from ``pyproject.toml`` so that the artifact and the
package metadata cannot drift apart. Pass ``--constraint FILE`` to pin every
resolved version (pip's constraints format) for builds that must match across
days, not only across runs.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ARCHITECTURES",
    "BUNDLED",
    "STAND_IN_PREFIX",
    "TRANSPORTS",
    "Artifact",
    "artifact_name",
    "build",
    "main",
    "requirements",
]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "src" / "s3redshift"
ADAPTER = ROOT / "adapters" / "lambda_entry.py"
PYPROJECT = ROOT / "pyproject.toml"

STAND_IN_PREFIX = "s3redshift/local/"
"""The stand-in subpackage: part of the library, never of the Lambda artifact."""

TRANSPORTS = ("data-api", "connector")
ARCHITECTURES = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
"""Lambda architecture name → the wheel platform tag pip resolves for it."""

BUNDLED: dict[str, tuple[str, ...]] = {
    "data-api": ("pydantic",),
    "connector": ("pydantic", "boto3", "redshift-connector"),
}
"""Distributions installed (with their requirements) per transport."""

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The earliest timestamp a zip entry can carry; used for every entry."""

_FILE_MODE = 0o100644  # regular file, rw-r--r--
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_SKIPPED_TOP_LEVEL = frozenset({"bin"})
"""pip --target puts console scripts in bin/, with the build machine's
interpreter in their shebang: useless on Lambda and not reproducible."""


@dataclass(frozen=True)
class Artifact:
    """A built zip, with what a caller reports or compares."""

    path: Path
    size: int
    sha256: str
    entries: int
    seconds: float


def artifact_name(transport: str, arch: str, python_version: str) -> str:
    """The file name the Makefile and the Terraform examples expect."""
    return f"lambda-{transport}-{arch}-py{python_version}.zip"


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _requirement_name(spec: str) -> str:
    for index, char in enumerate(spec):
        if not (char.isalnum() or char in "-_."):
            return _canonical(spec[:index])
    return _canonical(spec)


def requirements(transport: str, pyproject: Path = PYPROJECT) -> list[str]:
    """The pip requirement specifiers for ``transport``, taken from pyproject.toml.

    Raises ``SystemExit`` when a bundled distribution is not declared there:
    a dependency the package does not declare must not enter the artifact.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared: dict[str, str] = {}
    for spec in project.get("dependencies", []):
        declared.setdefault(_requirement_name(spec), spec)
    for extra in project.get("optional-dependencies", {}).values():
        for spec in extra:
            if not spec.startswith("s3redshift"):
                declared.setdefault(_requirement_name(spec), spec)
    wanted = BUNDLED[transport]
    missing = [name for name in wanted if _canonical(name) not in declared]
    if missing:
        raise SystemExit(
            f"{pyproject}: {', '.join(missing)} not declared; add it to the dependencies "
            "before bundling it"
        )
    return [declared[_canonical(name)] for name in wanted]


def _pip_install(
    target: Path,
    specs: Sequence[str],
    *,
    platform: str,
    python_version: str,
    constraint: Path | None,
) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--disable-pip-version-check",
        "--platform",
        platform,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--target",
        str(target),
    ]
    if constraint is not None:
        command += ["--constraint", str(constraint)]
    subprocess.run([*command, *specs], check=True)


def _kept(relative: Path) -> bool:
    if _SKIPPED_DIRS.intersection(relative.parts):
        return False
    # Hidden files and editor backups are never part of a package.
    if any(part.startswith(".") or part.endswith("~") for part in relative.parts):
        return False
    return not relative.name.endswith(_SKIPPED_SUFFIXES)


def _walk(base: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """(zip name, file) for every file under ``base`` the artifact keeps."""
    for path in base.rglob("*"):
        relative = path.relative_to(base)
        if path.is_dir() or not _kept(relative):
            continue
        if not prefix and relative.parts[0] in _SKIPPED_TOP_LEVEL:
            continue
        yield prefix + relative.as_posix(), path


def _filtered_record(data: bytes, names: set[str]) -> bytes:
    """A dist-info RECORD listing only files that are in the zip.

    pip's RECORD also lists the dropped console scripts (as ``../../bin/…``,
    with hashes of their machine-specific shebangs); keeping those lines would
    make the bytes depend on the build machine and describe absent files.
    RECORD paths are relative to the site directory, i.e. the zip root.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(data.decode("utf-8"))):
        if row and (row[0] in names or row[0].endswith(".dist-info/RECORD")):
            writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _write_zip(destination: Path, files: dict[str, Path]) -> int:
    names = set(files)
    temporary = destination.with_name(destination.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for name in sorted(files):
            data = files[name].read_bytes()
            if name.endswith(".dist-info/RECORD"):
                data = _filtered_record(data, names)
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so the mode below is honoured
            info.external_attr = _FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    temporary.replace(destination)
    return len(files)


def build(
    transport: str,
    arch: str,
    python_version: str,
    out_dir: Path,
    *,
    constraint: Path | None = None,
    adapter: Path = ADAPTER,
) -> Artifact:
    """Install the transport's wheels for Lambda's platform and write the zip.

    Raises ``SystemExit`` for an unknown transport/architecture, a missing
    adapter or a name clash between the package and a dependency, and
    ``subprocess.CalledProcessError`` when pip cannot resolve a wheel.
    """
    if transport not in TRANSPORTS:
        raise SystemExit(f"--transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    if arch not in ARCHITECTURES:
        raise SystemExit(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
    if not adapter.is_file():
        raise SystemExit(f"the Lambda adapter {adapter} is missing; it is the zip's entry point")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="s3redshift-lambda-") as scratch:
        site = Path(scratch) / "site"
        _pip_install(
            site,
            requirements(transport),
            platform=ARCHITECTURES[arch],
            python_version=python_version,
            constraint=constraint,
        )
        files = dict(_walk(site))
        own = {
            name: path
            for name, path in _walk(PACKAGE_DIR, "s3redshift/")
            if not name.startswith(STAND_IN_PREFIX)
        }
        own["lambda_entry.py"] = adapter
        clashes = sorted(set(files) & set(own))
        if clashes:
            raise SystemExit(f"dependencies overwrite the package's own files: {clashes[:5]}")
        files.update(own)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / artifact_name(transport, arch, python_version)
        entries = _write_zip(path, files)
    digest = hashlib.sha256(path.read_bytes()).digest()
    return Artifact(
        path=path,
        size=path.stat().st_size,
        sha256=base64.b64encode(digest).decode("ascii"),
        entries=entries,
        seconds=time.monotonic() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build one artifact and print its size and hash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=TRANSPORTS, default="data-api")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="x86_64")
    parser.add_argument("--python-version", default="3.12", help="e.g. 3.12 or 3.13")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--constraint", type=Path, help="pip constraints file pinning versions")
    args = parser.parse_args(argv)
    artifact = build(
        args.transport,
        args.arch,
        args.python_version,
        args.out_dir,
        constraint=args.constraint,
    )
    print(
        f"{artifact.path}: {artifact.size} bytes zipped ({artifact.size / 1e6:.2f} MB), "
        f"{artifact.entries} files, built in {artifact.seconds:.1f} s, "
        f"filebase64sha256 {artifact.sha256}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
