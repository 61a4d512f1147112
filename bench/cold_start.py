"""What a Lambda cold start pays for, in fresh interpreters.

:func:`measure` times, from the *unpacked built zip* of each transport, the
adapter's share of a cold start against the least a function using boto3 at
all pays:

A. ``import lambda_entry`` (INIT: the loader and its clients are built) and
   the whole first invocation -- a one-object S3 notification for a mapped
   table -- up to the moment the first AWS request would leave the process;
B. ``import boto3``, creating the same clients and building the same first
   request;
C. B plus ``import pydantic`` and one model validated: the floor the design
   card sets, since it puts pydantic on the Lambda's path.

All stop in botocore's ``before-send`` event, which records the time and
aborts the request: nothing reaches the network. A, B and C alternate in one
loop, each in a fresh interpreter of the zip's Python (``-I -S``: no
site-packages); the deltas are A - B and A - C per round, reported as the
median (min and max for the spread). The zips are built for the Python 3.12 of this machine
when there is one (else this interpreter's version), this machine's
architecture. The data-api zip leaves boto3 to the runtime: a copy of this
environment's boto3 (and its requirements), compiled for that Python, plays
the runtime's part, for A and B alike.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.artifact_size import _builder

MODULES = {
    "s3redshift (package only)": "s3redshift",
    "events+mapping+copy": "s3redshift.events, s3redshift.mapping, s3redshift.copy",
    "loader (with config, plan)": "s3redshift.loader",
    "Lambda adapter (what INIT pays)": "adapters.lambda_entry",
    "boto3 (for comparison)": "boto3",
}
RUNS = 5
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
"""What the Lambda Python runtime provides and the data-api zip relies on."""

_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "fake-access-key-id",
    "AWS_SECRET_ACCESS_KEY": "fake-secret",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_LAMBDA_FUNCTION_NAME": "s3redshift-bench",
}
_TABLES = [{"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}}]
CONFIGS: dict[str, dict[str, str]] = {
    "data-api": {
        "S3REDSHIFT_CONFIG": json.dumps(
            {
                "target": {
                    "kind": "redshift",
                    "transport": "data-api",
                    "workgroup": "analytics-wg",
                    "database": "dev",
                },
                "credentials": {"provider": "iam"},
                "copy": {"iam_role": "default", "region": "eu-west-1"},
                "tables": _TABLES,
            }
        )
    },
    "connector": {  # the seed's variables: connector, password in SSM
        "DB_HOST": "example.abc.eu-west-1.redshift.amazonaws.com",
        "DB_PORT": "5439",
        "DB_NAME": "dev",
        "DB_USER": "loader",
        "DB_PW_PARAM": "/prod/redshift/loader-password",
        "DB_SCHEMA": "public",
        "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
    },
}
CLIENTS = {"data-api": ("s3", "redshift-data"), "connector": ("s3", "ssm")}
"""The clients the adapter creates at INIT for each configuration above."""

EVENT = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "eu-west-1",
            "eventTime": "2026-11-05T09:15:02.345Z",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "bucket": {"name": "acme-landing-eu", "arn": "arn:aws:s3:::acme-landing-eu"},
                "object": {
                    "key": "kpis/2026/11/05/daily.csv",
                    "size": 120,
                    "eTag": "0123456789abcdef0123456789abcdef",
                    "sequencer": "0065A1B2C3D4E5F601",
                },
            },
        }
    ]
}

# Both programs start their clock first, then hook botocore's before-send
# (importing botocore.session is part of what both pay) and stop there.
_PRELUDE = """
import time
started = time.perf_counter()
import json, os, sys
sys.path[:0] = json.loads(os.environ["BENCH_PATH"])
import botocore.session
class FirstRequest(BaseException):
    pass
def stop(request, **kwargs):
    print(json.dumps({"ms": (time.perf_counter() - started) * 1000, "url": request.url}))
    raise FirstRequest
create_client = botocore.session.Session.create_client
def hooked(self, *args, **kwargs):
    client = create_client(self, *args, **kwargs)
    client.meta.events.register("before-send", stop)
    return client
botocore.session.Session.create_client = hooked
"""
ADAPTER_RUN = (
    _PRELUDE
    + """
import lambda_entry
class Context:
    aws_request_id = "bench"
    function_name = "s3redshift-bench"
    def get_remaining_time_in_millis(self):
        return 300_000
try:
    lambda_entry.handler(json.loads(os.environ["BENCH_EVENT"]), Context())
except FirstRequest:
    pass
else:
    sys.exit("the first invocation made no AWS request")
"""
)
BOTO3_RUN = (
    _PRELUDE
    + """
import boto3
clients = [boto3.client(name) for name in json.loads(os.environ["BENCH_CLIENTS"])]
try:
    clients[0].head_object(Bucket="acme-landing-eu", Key="kpis/2026/11/05/daily.csv")
except FirstRequest:
    pass
"""
)
PYDANTIC_RUN = BOTO3_RUN.replace(
    "import boto3\n",
    "import boto3\nimport pydantic\n"
    "class Floor(pydantic.BaseModel):\n    key: str\n    size: int = 0\n"
    "Floor(key='kpis/2026/11/05/daily.csv', size=120)\n",
)


def _seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return float(out.stdout)


def _runtime(interpreter: Path, target: Path) -> None:
    """Copy this environment's boto3 and its requirements to ``target``, compiled."""
    target.mkdir()
    for name in RUNTIME:
        dist = importlib.metadata.distribution(name)
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in sorted(tops):
            source = Path(str(dist.locate_file(top)))
            if top.endswith(".dist-info") or not source.exists():
                continue
            if source.is_dir():
                shutil.copytree(source, target / top, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target / top)
    subprocess.run(
        [str(interpreter), "-I", "-m", "compileall", "-q", "-j", "0", str(target)],
        check=True,
        timeout=600,
    )


def reports(interpreter: Path, code: str, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Run ``code`` in a fresh interpreter; the last JSON line it printed, by its first key.

    Raises RuntimeError when the run fails or prints no JSON line.
    """
    out = subprocess.run(
        [str(interpreter), "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    found: dict[str, dict[str, Any]] = {}
    for line in out.stdout.splitlines():
        if line.startswith('{"'):
            document = json.loads(line)
            found[next(iter(document))] = document
    if out.returncode != 0 or not found:
        raise RuntimeError(f"cold-start run failed: {out.stderr[-2000:] or out.stdout[-2000:]}")
    return found


def _time(interpreter: Path, code: str, env: dict[str, str]) -> tuple[float, str]:
    """Milliseconds from the start of ``code`` to its first AWS request, and the request's URL."""
    first = reports(interpreter, code, env).get("ms")
    if first is None:
        raise RuntimeError("the run made no AWS request")
    return float(first["ms"]), str(first["url"])


@contextlib.contextmanager
def unpacked_zips(transports: Sequence[str]) -> Iterator[tuple[Path, dict[str, dict[str, str]]]]:
    """The interpreter and, per transport, the environment of runs from its unpacked zip.

    Built as the module docstring says, in a scratch directory removed on exit.
    """
    builder = _builder()
    interpreter = builder.target_interpreter("3.12")
    version = "3.12"
    if interpreter is None:
        interpreter = Path(sys.executable)
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
        platform.machine().lower()
    ]
    envs: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="s3redshift-cold-") as scratch:
        base = Path(scratch)
        runtime = base / "runtime"
        _runtime(interpreter, runtime)
        for transport in transports:
            artifact = builder.build(
                transport, arch, version, base / "dist", target_python=interpreter
            )
            task = base / transport
            with zipfile.ZipFile(artifact.path) as archive:
                archive.extractall(task)
            path = [str(task), str(runtime)] if transport == "data-api" else [str(task)]
            envs[transport] = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": scratch,
                "PYTHONHASHSEED": "0",
                "BENCH_PATH": json.dumps(path),
                "BENCH_EVENT": json.dumps(EVENT),
                "BENCH_CLIENTS": json.dumps(CLIENTS[transport]),
                # No request leaves the process; a stray one fails fast.
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                **_AWS_ENV,
                **CONFIGS[transport],
            }
        yield interpreter, envs


def measure(repeats: int = 13) -> dict[str, list[float]]:
    """Cold-start samples (ms) per round: the adapter's deltas over both floors, and each side.

    Keys: ``cold_start_delta_ms`` (data-api, the default transport, over bare
    boto3), ``cold_start_delta_ms_vs_pydantic_floor`` (over boto3 + pydantic),
    the same with a ``_connector`` suffix, and each side
    (``cold_start_adapter_ms``, ``cold_start_boto3_ms``,
    ``cold_start_pydantic_floor_ms``, and their ``_connector`` forms).
    """
    results: dict[str, list[float]] = {}
    with unpacked_zips(("data-api", "connector")) as (interpreter, envs):
        for transport, env in envs.items():
            adapter, bare, floor = [], [], []
            for _ in range(repeats):  # A, B, C in turn
                adapter.append(_time(interpreter, ADAPTER_RUN, env)[0])
                bare.append(_time(interpreter, BOTO3_RUN, env)[0])
                floor.append(_time(interpreter, PYDANTIC_RUN, env)[0])
            suffix = "" if transport == "data-api" else "_connector"
            results[f"cold_start_delta_ms{suffix}"] = [
                a - b for a, b in zip(adapter, bare, strict=True)
            ]
            results[f"cold_start_delta_ms_vs_pydantic_floor{suffix}"] = [
                a - c for a, c in zip(adapter, floor, strict=True)
            ]
            results[f"cold_start_adapter_ms{suffix}"] = adapter
            results[f"cold_start_boto3_ms{suffix}"] = bare
            results[f"cold_start_pydantic_floor_ms{suffix}"] = floor
    return results


def run() -> None:
    for label, module in MODULES.items():
        times = sorted(_seconds(module) for _ in range(RUNS))
        print(f"import {label}: median {statistics.median(times) * 1000:.0f} ms ({RUNS} runs)")
    samples = measure()
    figures = {name: statistics.median(values) for name, values in samples.items()}
    for suffix, transport in (("", "data-api"), ("_connector", "connector")):
        deltas = samples[f"cold_start_delta_ms{suffix}"]
        over_floor = samples[f"cold_start_delta_ms_vs_pydantic_floor{suffix}"]
        print(
            f"cold start, {transport} zip: adapter + first invocation up to the first AWS "
            f"request {figures[f'cold_start_adapter_ms{suffix}']:.0f} ms, boto3 + the same "
            f"clients {figures[f'cold_start_boto3_ms{suffix}']:.0f} ms, delta median "
            f"{figures[f'cold_start_delta_ms{suffix}']:+.0f} ms "
            f"(min {min(deltas):+.0f}, max {max(deltas):+.0f}); over boto3 + pydantic "
            f"{figures[f'cold_start_pydantic_floor_ms{suffix}']:.0f} ms: median "
            f"{figures[f'cold_start_delta_ms_vs_pydantic_floor{suffix}']:+.0f} ms "
            f"(min {min(over_floor):+.0f}, max {max(over_floor):+.0f})"
        )
