"""Build the Lambda artifact: ``dist/lambda-<transport>-<arch>-py<version>.zip``.

Why a script and not Terraform's ``archive_file``: the dependencies hold
compiled code (``pydantic_core``, ``lxml``), so they must be wheels for
Lambda's platform, which ``pip install --platform manylinux2014_<arch>
--implementation cp --python-version <v> --only-binary=:all: --target`` fetches
from any build machine, macOS and ARM included. The zip is then written by
hand so that the same inputs give the same bytes (and Terraform's
``source_code_hash`` only changes when the code does): every entry has the
timestamp 1980-01-01 00:00, mode 0644 and a Unix origin, entries are sorted,
and no machine-specific console script goes in.

Bytecode: every ``.py`` in the zip is compiled by an interpreter of the
*target* version (``--python-version``; found on ``PATH`` as ``python3.12``,
under pyenv's ``versions/``, or given with ``--target-python``) into
``__pycache__/<name>.cpython-<XY>.pyc`` beside its source, so Lambda's INIT
does not compile them on every cold start (the task directory is read-only:
bytecode it compiles is never kept). The files are unchecked-hash ``.pyc``
(PEP 552): they carry a hash of their source instead of its timestamp, so a
rebuild gives the same bytes, and the importer does not read the source to
check them (the zip is immutable once deployed). Without an interpreter of the
target version the build says so and ships source only: bytecode of another
version would be ignored (its tag differs) or, worse, wrong.

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
    runtime's. botocore's ``data/`` keeps only the API models of the services
    the loader and the driver call (:data:`BOTOCORE_SERVICES`) and the files
    botocore itself reads (endpoints, partitions, retry and default-config
    data): the other ~440 models are most of the zip and never loaded.

Version specifiers come from ``pyproject.toml`` so that the artifact and the
package metadata cannot drift apart; every resolved version is pinned by the
project's ``constraints.txt`` (the versions the suite passes with), so builds
match across days, not only across runs. ``--constraint FILE`` names another.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import shutil
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
    "BOTOCORE_SERVICES",
    "BUNDLED",
    "STAND_IN_PREFIX",
    "TRANSPORTS",
    "Artifact",
    "artifact_name",
    "build",
    "main",
    "requirements",
    "target_interpreter",
]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "src" / "s3redshift"
ADAPTER = ROOT / "adapters" / "lambda_entry.py"
CONSTRAINTS = ROOT / "constraints.txt"
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

BOTOCORE_SERVICES = frozenset(
    {
        "s3",  # HEAD checks, manifests (Loader.s3)
        "redshift-data",  # the data-api transport
        "ssm",  # credentials provider 'ssm'
        "secretsmanager",  # credentials provider 'secrets-manager'
        "redshift",  # provider 'iam' (provisioned) and the driver's IAM login
        "redshift-serverless",  # provider 'iam' (Serverless) and the driver's IAM login
        "sts",  # assume-role / web-identity credentials, the driver's SAML login
        "events",  # [notifications] event_bus (EventBridge PutEvents)
        "sns",  # [notifications] sns_topic_arn (SNS Publish)
    }
)
"""The services whose botocore API models go in the zip; botocore's other
``data/`` entries are kept only if they are files (endpoints.json,
partitions.json, _retry.json, sdk-default-configuration.json, ...)."""

_BOTOCORE_DATA = "botocore/data/"

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The earliest timestamp a zip entry can carry; used for every entry."""

_FILE_MODE = 0o100644  # regular file, rw-r--r--
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
"""Bytecode from the build machine never goes in; the build compiles its own."""
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
    bytecode: str = ""
    """What the build did about ``.pyc`` files, in words (for the build's output)."""


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
    # botocore/data/<service>/<api-version>/...: only the services the loader uses.
    if (
        relative.as_posix().startswith(_BOTOCORE_DATA)
        and len(relative.parts) > 3
        and relative.parts[2] not in BOTOCORE_SERVICES
    ):
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


_PROBE = "import sys; print(sys.implementation.name, sys.implementation.cache_tag or '')"

_COMPILE = """
import json, py_compile, sys
done = []
for source, cfile, dfile in json.load(sys.stdin):
    try:
        py_compile.compile(
            source, cfile=cfile, dfile=dfile, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        continue  # not valid Python for this version (a template, a test fixture): source only
    done.append(dfile)
json.dump(done, sys.stdout)
"""


def _cache_tag(python_version: str) -> str:
    major, _, minor = python_version.partition(".")
    return f"cpython-{major}{minor}"


def _candidates(python_version: str, given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    yield Path(sys.executable)
    found = shutil.which(f"python{python_version}")
    if found:
        yield Path(found)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if pyenv.is_dir():
        installed = sorted(
            pyenv.glob(f"{python_version}.*/bin/python{python_version}"),
            key=lambda p: [int(x) if x.isdigit() else -1 for x in p.parts[-3].split(".")],
            reverse=True,  # the newest patch release first
        )
        yield from installed


def target_interpreter(python_version: str, given: Path | None = None) -> Path | None:
    """A CPython of exactly ``python_version`` (e.g. ``3.12``) that runs here, or None.

    ``given`` (``--target-python``) is the only candidate when set; otherwise
    this interpreter, ``python<version>`` on ``PATH`` and pyenv's
    installations are asked, in that order, which version they are.
    """
    wanted = f"cpython {_cache_tag(python_version)}"
    for candidate in _candidates(python_version, given):
        try:
            probe = subprocess.run(
                [str(candidate), "-I", "-c", _PROBE],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == wanted:
            return candidate
    return None


def _compile(
    files: dict[str, Path], python_version: str, interpreter: Path | None, scratch: Path
) -> tuple[dict[str, Path], str]:
    """The ``.pyc`` entries for every ``.py`` of ``files``, and what was done, in words.

    Compiled in one fresh interpreter of the target version, with a fixed
    hash seed; ``dfile`` is the zip name, so no path of the build machine is
    recorded in the bytecode.
    """
    if interpreter is None:
        return {}, (
            f"no Python {python_version} interpreter found (give one with --target-python); "
            "the zip holds source only, compiled by Lambda at each cold start"
        )
    tag = _cache_tag(python_version)
    jobs: list[tuple[str, str, str]] = []
    outputs: dict[str, Path] = {}
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        folder, _, filename = name.rpartition("/")
        cached = f"{folder}/" if folder else ""
        cached += f"__pycache__/{filename[:-3]}.{tag}.pyc"
        outputs[name] = scratch / "bytecode" / cached
        jobs.append((str(files[name]), str(outputs[name]), name))
    # No PYTHON* variable but the hash seed (-I would ignore that one too).
    environment = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(
        [str(interpreter), "-s", "-c", _COMPILE],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=True,
    )
    done = set(json.loads(result.stdout))
    compiled = {
        f"{outputs[name].relative_to(scratch / 'bytecode').as_posix()}": outputs[name]
        for name in done
    }
    skipped = len(jobs) - len(done)
    note = f", {skipped} not valid Python {python_version} (source only)" if skipped else ""
    return compiled, (
        f"{len(compiled)} modules compiled by {interpreter} ({tag}, unchecked-hash .pyc){note}"
    )


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
    constraint: Path | None = CONSTRAINTS,
    adapter: Path = ADAPTER,
    target_python: Path | None = None,
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
    interpreter = target_interpreter(python_version, target_python)
    if target_python is not None and interpreter is None:
        raise SystemExit(f"--target-python {target_python} is not a CPython {python_version}")
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
        bytecode, note = _compile(files, python_version, interpreter, Path(scratch))
        files.update(bytecode)
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
        bytecode=note,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build one artifact and print its size and hash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=TRANSPORTS, default="data-api")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="x86_64")
    parser.add_argument("--python-version", default="3.12", help="e.g. 3.12 or 3.13")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--constraint",
        type=Path,
        default=CONSTRAINTS,
        help="pip constraints file pinning versions (default: the project's constraints.txt)",
    )
    parser.add_argument(
        "--target-python",
        type=Path,
        help="the interpreter of --python-version that compiles the .pyc files "
        "(default: looked for on PATH and under pyenv)",
    )
    args = parser.parse_args(argv)
    artifact = build(
        args.transport,
        args.arch,
        args.python_version,
        args.out_dir,
        constraint=args.constraint,
        target_python=args.target_python,
    )
    print(f"bytecode: {artifact.bytecode}")
    print(
        f"{artifact.path}: {artifact.size} bytes zipped ({artifact.size / 1e6:.2f} MB), "
        f"{artifact.entries} files, built in {artifact.seconds:.1f} s, "
        f"filebase64sha256 {artifact.sha256}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
