"""The Lambda artifact built by ``make lambda-zip`` (scripts/build_lambda.py).

The zips are built for real (pip downloads wheels from PyPI for Lambda's
platform) into temporary directories:

* for Lambda (Python 3.12, x86_64): each transport's zip twice, which must
  give identical bytes (bytecode included); their sizes are asserted
  (data-api <= 5 MB, connector <= 20 MB, decimal megabytes) and their
  contents checked against what each transport needs: every ``.py`` with its
  unchecked-hash ``cpython-312`` bytecode when a Python 3.12 is found here,
  and botocore holding only the API models the loader uses;
* the connector zip, unzipped, in a clean Python 3.12 with nothing else on
  ``sys.path``: each AWS client the loader or the driver creates is created
  and sends one request (to a closed loopback port), the driver, its lxml and
  the connector transport import, and no bytecode is written (the shipped
  ``.pyc`` were used);
* for this interpreter's own version and platform: the data-api zip, which is
  unzipped into an empty directory and run in a clean interpreter
  (``python -I -S``: no site-packages, no user site, no PYTHON* variables) on
  a real S3 event against the embedded stand-in; the object must load.

What that clean interpreter gets besides the unzipped artifact, and why:
the data-api zip deliberately leaves boto3 to the Lambda runtime, so a second
directory plays the runtime's part: it links boto3 and exactly its
requirements (botocore, s3transfer, jmespath, python-dateutil, six, urllib3)
from this virtualenv. The stand-in, which the run plugs in where the adapter
builds its loader, also needs the ``local`` extra's driver, pg8000 (with
scramp and asn1crypto); it goes in the same directory. The stand-in package
itself (``s3redshift/local/``) is never in the artifact (a test says so); it
is copied from ``src/`` beside the unzipped package for this run. Nothing
else of the virtualenv is visible, and the test checks that pydantic,
s3redshift and the adapter were imported from the zip.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers import run_directory
from s3redshift.local import EmbeddedEnvironment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.long  # builds the Lambda zips: about a minute

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_lambda.py"
MB = 1_000_000
SIZE_LIMITS = {"data-api": 5 * MB, "connector": 20 * MB}
LAMBDA_PYTHON = "3.12"
LOCAL_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
LOCAL_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower()
)
SIZE_LINE = re.compile(r": (\d+) bytes zipped \(([\d.]+) MB\), (\d+) files, built in ([\d.]+) s")

# The Lambda runtime's boto3 and the stand-in's driver, as distributions.
RUNTIME_DISTRIBUTIONS = ("boto3", "pg8000")


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


BUILDER = _builder()
LAMBDA_INTERPRETER = BUILDER.target_interpreter(LAMBDA_PYTHON)
"""A Python 3.12 of this machine, which compiles the zips' bytecode; None: source only."""


@dataclass(frozen=True)
class Built:
    path: Path
    printed_size: int
    seconds: float

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


def build(transport: str, arch: str, python: str, out_dir: Path) -> Built:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--transport",
            transport,
            "--arch",
            arch,
            "--python-version",
            python,
            "--out-dir",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    match = SIZE_LINE.search(result.stdout)
    assert match, f"the build did not report its size: {result.stdout!r}"
    path = out_dir / f"lambda-{transport}-{arch}-py{python}.zip"
    assert path.is_file()
    return Built(path, int(match.group(1)), float(match.group(4)))


@pytest.fixture(scope="module")
def lambda_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The Lambda-platform builds (py3.12, x86_64): each transport twice, once a run.

    Every xdist worker that takes one of this module's tests needs them: the
    first builds them in the run's shared directory, under a lock, and the
    others read what it recorded (four builds, not four per worker).
    """
    base = run_directory(tmp_path_factory) / "lambda-builds"
    base.mkdir(exist_ok=True)
    record = base / "built.json"
    with (base / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.is_file():
            done = json.loads(record.read_text(encoding="utf-8"))
            return {
                name: Built(Path(path), size, secs) for name, (path, size, secs) in done.items()
            }
        builds = {
            "data-api": build("data-api", "x86_64", LAMBDA_PYTHON, base / "first"),
            "data-api-again": build("data-api", "x86_64", LAMBDA_PYTHON, base / "second"),
            "connector": build("connector", "x86_64", LAMBDA_PYTHON, base / "first"),
            "connector-again": build("connector", "x86_64", LAMBDA_PYTHON, base / "second"),
        }
        done = {name: [str(b.path), b.printed_size, b.seconds] for name, b in builds.items()}
        record.write_text(json.dumps(done), encoding="utf-8")
        return builds


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def top_level(zip_path: Path) -> set[str]:
    return {name.split("/")[0] for name in names(zip_path)}


# --- size, reproducibility, contents ---------------------------------------------


@pytest.mark.parametrize("transport", ["data-api", "connector"])
def test_two_builds_give_identical_bytes(lambda_builds: dict[str, Built], transport: str) -> None:
    first, second = lambda_builds[transport], lambda_builds[f"{transport}-again"]
    assert first.path != second.path
    assert hashlib.sha256(first.data).hexdigest() == hashlib.sha256(second.data).hexdigest()


@pytest.mark.parametrize("transport", ["data-api", "connector"])
def test_zipped_size_is_printed_and_within_the_limit(
    lambda_builds: dict[str, Built], transport: str
) -> None:
    built = lambda_builds[transport]
    size = built.path.stat().st_size
    assert built.printed_size == size
    assert size <= SIZE_LIMITS[transport], f"{transport}: {size / MB:.2f} MB"
    # Recorded for the report: `pytest -rP` shows it.
    print(f"{built.path.name}: {size} bytes ({size / MB:.2f} MB), built in {built.seconds:.1f} s")


@pytest.mark.parametrize("transport", ["data-api", "connector"])
def test_entries_are_normalised(lambda_builds: dict[str, Built], transport: str) -> None:
    with zipfile.ZipFile(lambda_builds[transport].path) as archive:
        infos = archive.infolist()
    listed = [i.filename for i in infos]
    assert listed == sorted(listed)
    assert len(set(listed)) == len(listed)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert info.external_attr >> 16 == 0o100644, info.filename
        assert info.create_system == 3, info.filename
        assert not info.filename.endswith(".pyo")
        assert not info.filename.startswith("bin/")
    assert "lambda_entry.py" in listed
    assert "s3redshift/__init__.py" in listed
    assert "s3redshift/py.typed" in listed


def cached_name(source: str, tag: str = "cpython-312") -> str:
    folder, _, name = source.rpartition("/")
    return f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc".lstrip("/")


@pytest.mark.parametrize("transport", ["data-api", "connector"])
def test_bytecode_is_the_targets_and_sits_beside_every_source(
    lambda_builds: dict[str, Built], transport: str
) -> None:
    with zipfile.ZipFile(lambda_builds[transport].path) as archive:
        listed = set(archive.namelist())
        sources = sorted(n for n in listed if n.endswith(".py"))
        bytecode = {n for n in listed if n.endswith(".pyc")}
        if LAMBDA_INTERPRETER is None:
            assert bytecode == set()  # source only, never another version's bytecode
            pytest.skip("no Python 3.12 here: the build ships source only (checked)")
        # Exactly one .pyc per source, in __pycache__ beside it, tagged for 3.12.
        assert bytecode == {cached_name(n) for n in sources}
        assert "__pycache__/lambda_entry.cpython-312.pyc" in bytecode
        assert "s3redshift/__pycache__/loader.cpython-312.pyc" in bytecode
        header = archive.read("s3redshift/__pycache__/loader.cpython-312.pyc")[:16]
    magic = subprocess.run(
        [
            str(LAMBDA_INTERPRETER),
            "-I",
            "-c",
            "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert header[:4].hex() == magic  # Python 3.12's bytecode
    # PEP 552 flags: 0b01 hash-based, 0b10 check_source; unchecked hash is 0b01.
    assert int.from_bytes(header[4:8], "little") == 0b01


def test_botocore_keeps_only_the_models_the_loader_uses(lambda_builds: dict[str, Built]) -> None:
    listed = names(lambda_builds["connector"].path)
    services = {
        n.split("/")[2] for n in listed if n.startswith("botocore/data/") and n.count("/") > 3
    }
    assert services == set(BUILDER.BOTOCORE_SERVICES)
    for data in (
        "endpoints.json",
        "partitions.json",
        "sdk-default-configuration.json",
        "_retry.json",
    ):
        assert f"botocore/data/{data}" in listed, data


@pytest.mark.parametrize("transport", ["data-api", "connector"])
def test_no_zip_holds_the_stand_in(lambda_builds: dict[str, Built], transport: str) -> None:
    listed = names(lambda_builds[transport].path)
    assert "s3redshift/loader.py" in listed
    assert [n for n in listed if n.startswith("s3redshift/local")] == []
    assert not [n for n in listed if n.startswith("s3redshift/") and "standin" in n]


def test_data_api_zip_bundles_pydantic_and_leaves_boto3_to_the_runtime(
    lambda_builds: dict[str, Built],
) -> None:
    path = lambda_builds["data-api"].path
    tops = top_level(path)
    assert {"pydantic", "pydantic_core", "s3redshift", "lambda_entry.py"} <= tops
    for absent in (
        "boto3",
        "botocore",
        "s3transfer",
        "redshift_connector",
        "pg8000",
        "lxml",
        "msgspec",
    ):
        assert absent not in tops, absent
    # pydantic_core's compiled part is Lambda's, not this machine's.
    assert any(
        re.fullmatch(r"pydantic_core/_pydantic_core\.cpython-312-x86_64-linux-gnu\.so", n)
        for n in names(path)
    )
    distributions = {n.split("-")[0] for n in tops if n.endswith(".dist-info")}
    assert distributions == {
        "annotated_types",
        "pydantic",
        "pydantic_core",
        "typing_extensions",
        "typing_inspection",
    }


def test_connector_zip_bundles_the_driver_and_a_recent_boto3(
    lambda_builds: dict[str, Built],
) -> None:
    path = lambda_builds["connector"].path
    tops = top_level(path)
    assert {"redshift_connector", "boto3", "botocore", "pydantic", "s3redshift"} <= tops
    assert "pg8000" not in tops  # the stand-in's driver, not Redshift's
    assert "msgspec" not in tops
    (boto3_info,) = [n for n in tops if n.startswith("boto3-") and n.endswith(".dist-info")]
    major, minor = (int(part) for part in boto3_info.split("-")[1].split(".")[:2])
    assert (major, minor) >= (1, 42)  # redshift-connector requires boto3>=1.42


def closed_port() -> int:
    """A loopback port nothing listens on: requests to it fail at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CLIENTS_RUN = """
import json, os, sys
code, port = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, code)  # -I -S: otherwise only the standard library
import boto3, botocore.config, botocore.exceptions
config = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2)
calls = {
    "s3": ("head_object", {"Bucket": "bucket", "Key": "kpis/a.csv"}),
    "sts": ("get_caller_identity", {}),
    "ssm": ("get_parameter", {"Name": "/p", "WithDecryption": True}),
    "secretsmanager": ("get_secret_value", {"SecretId": "s"}),
    "redshift": ("get_cluster_credentials", {"ClusterIdentifier": "c", "DbUser": "u"}),
    "redshift-data": ("describe_statement", {"Id": "i"}),
    "redshift-serverless": ("get_credentials", {"workgroupName": "analytics-wg"}),
    "events": ("put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
    "sns": ("publish", {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", "Message": "m"}),
}
sent = {}
for service, (operation, arguments) in calls.items():
    client = boto3.client(
        service, region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{port}", config=config
    )
    try:
        getattr(client, operation)(**arguments)
    except botocore.exceptions.EndpointConnectionError:
        sent[service] = True  # built, signed and sent: only the network is missing
import lxml.etree, redshift_connector
from s3redshift.transports.connector import ConnectorTransport
try:
    redshift_connector.connect(host="127.0.0.1", port=port, database="dev", user="u",
                               password="p", ssl=False, timeout=2)
except redshift_connector.InterfaceError:
    sent["redshift_connector"] = True
modules = ("boto3", "botocore", "lxml", "redshift_connector", "s3redshift")
origins = {name: sys.modules[name].__file__ for name in modules}
json.dump({"sent": sent, "origins": origins}, sys.stdout)
"""


@pytest.fixture(scope="module")
def connector_unzipped(
    lambda_builds: dict[str, Built], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    if LAMBDA_INTERPRETER is None or sys.platform != "linux" or LOCAL_ARCH != "x86_64":
        pytest.skip("needs a Python 3.12 on linux x86_64 to run the Lambda zip's wheels")
    code = tmp_path_factory.mktemp("connector-task")
    with zipfile.ZipFile(lambda_builds["connector"].path) as archive:
        archive.extractall(code)
    return code


def test_unzipped_connector_zip_creates_every_client_and_imports_the_driver(
    connector_unzipped: Path, tmp_path: Path
) -> None:
    code = connector_unzipped
    before = sorted(p.relative_to(code) for p in code.rglob("*"))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "fake-access-key-id",
        "AWS_SECRET_ACCESS_KEY": "fake-secret",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    assert LAMBDA_INTERPRETER is not None
    run = subprocess.run(
        [str(LAMBDA_INTERPRETER), "-I", "-S", "-c", CLIENTS_RUN, str(code), str(closed_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    outcome = json.loads(run.stdout)
    assert set(outcome["sent"]) == {*BUILDER.BOTOCORE_SERVICES, "redshift_connector"}
    for name, origin in outcome["origins"].items():
        assert Path(origin).is_relative_to(code), (name, origin)
    # Nothing was compiled: every module imported came with valid bytecode.
    assert sorted(p.relative_to(code) for p in code.rglob("*")) == before


# --- the handler, from the unzipped artifact, in a clean interpreter -------------


def distribution_closure(*roots: str) -> set[str]:
    """The installed distributions ``roots`` need on this interpreter (no extras)."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def link_distributions(target: Path, distributions: set[str]) -> set[str]:
    """Symlink the top-level modules of ``distributions`` into ``target``."""
    linked: set[str] = set()
    for name in distributions:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            first = file.parts[0]
            # dist-info too: pg8000 and scramp read their own version from it.
            if first in ("..", "__pycache__") or first.endswith(".pth"):
                continue
            source = Path(str(dist.locate_file(first)))
            destination = target / first
            if not destination.exists() and source.exists():
                destination.symlink_to(source)
                linked.add(first)
    return linked


@pytest.fixture
def unzipped(tmp_path: Path) -> tuple[Path, Path, Built]:
    if sys.platform != "linux" or LOCAL_ARCH is None:
        pytest.skip(
            f"the artifact holds manylinux wheels; this interpreter runs on {sys.platform} "
            f"{platform.machine()}, which cannot import them"
        )
    built = build("data-api", LOCAL_ARCH, LOCAL_PYTHON, tmp_path / "dist")
    code = tmp_path / "task"
    code.mkdir()
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(code)
    # The stand-in is not in the artifact; this run targets it, so it is
    # added beside the unzipped package, as the runtime directory adds pg8000.
    shutil.copytree(
        ROOT / "src" / "s3redshift" / "local",
        code / "s3redshift" / "local",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    return code, runtime, built


CLEAN_RUN = """
import json, sys
code, runtime, event_file, result_file = sys.argv[1:5]
sys.path[:0] = [code, runtime]
import s3redshift.loader, s3redshift.local.transport
s3redshift.loader.Loader = s3redshift.local.transport.stand_in_loader  # the adapter's loader
import lambda_entry
event = json.load(open(event_file))
result = lambda_entry.handler(event, None)
origins = {
    name: sys.modules[name].__file__
    for name in (
        "lambda_entry", "s3redshift", "pydantic", "pydantic_core", "boto3", "pg8000"
    )
}
with open(result_file, "w") as out:
    json.dump({"result": result, "origins": origins, "path": sys.path}, out)
"""


def test_unzipped_artifact_loads_an_s3_object_in_a_clean_interpreter(
    unzipped: tuple[Path, Path, Built],
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
) -> None:
    code, runtime, _ = unzipped
    closure = distribution_closure(*RUNTIME_DISTRIBUTIONS)
    assert {"boto3", "botocore", "pg8000"} <= closure
    assert not closure & {"pydantic", "pydantic-core", "s3redshift", "typing-extensions"}
    link_distributions(runtime, closure)

    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    body = b'id,name\n1,"x, y"\n2,plain\n'
    put = s3.put_object(Bucket=bucket, Key="kpis/2026/11/05/daily.csv", Body=body)
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": embedded_env.region,
                "eventTime": "2026-11-05T09:15:02.345Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": "kpis/2026/11/05/daily.csv",
                        "size": len(body),
                        "eTag": put["ETag"].strip('"'),
                        "sequencer": "0065A1B2C3D4E5F601",
                    },
                },
            }
        ]
    }
    config = {
        **embedded_env.connector_config(pg_database),
        "copy": {"iam_role": "default"},
        "tables": [
            {
                "pattern": "{table}/**",
                "schema": "public",
                "format": {"type": "csv", "ignore_header": 1},
            }
        ],
    }
    event_file, result_file = tmp_path / "event.json", tmp_path / "result.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "S3REDSHIFT_CONFIG": json.dumps(config),
        **embedded_env.aws_env,
    }
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            CLEAN_RUN,
            str(code),
            str(runtime),
            str(event_file),
            str(result_file),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    outcome = json.loads(result_file.read_text(encoding="utf-8"))

    result = outcome["result"]
    assert result["source"] == "s3"
    assert result["counts"]["loaded"] == 1
    assert result["counts"]["failed"] == 0
    assert result["rows"] == 2
    origins = {name: Path(file) for name, file in outcome["origins"].items()}
    for name in ("lambda_entry", "s3redshift", "pydantic", "pydantic_core"):
        assert origins[name].is_relative_to(code), (name, origins[name])
    for name in ("boto3", "pg8000"):
        assert origins[name].is_relative_to(runtime), (name, origins[name])
    site_packages = [p for p in outcome["path"] if "site-packages" in p]
    assert site_packages == []
    # Every log line of the run is JSON (the adapter's own format).
    log_lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert log_lines
    assert all(json.loads(line)["logger"] == "s3redshift.handler" for line in log_lines)

    cursor.execute("SELECT id, name FROM kpis ORDER BY id")
    assert [tuple(row) for row in cursor.fetchall()] == [(1, "x, y"), (2, "plain")]
    pg.commit()
