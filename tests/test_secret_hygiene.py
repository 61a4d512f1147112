"""No secret is ever seen: every surface, every failure path, scanned for sentinels.

A sentinel database password (in the DSN and the static credentials), a
sentinel AWS secret access key and a sentinel session token (in the
environment every AWS client reads) are planted; then the demo, the Lambda
adapter, every CLI command and the failure paths (login refused, unreachable
database, bad configuration, missing or malformed files, rejected data) run,
and everything they produce is searched: stdout, stderr, log records (the
package's loggers at DEBUG), the handler's JSON log lines, reports as JSON,
and every exception with its ``__cause__``/``__context__`` chain, its args
and the errors it carries. The sentinels are plain ASCII, so no quoting or
escaping can hide one from a substring search.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from conftest import dsn_with_password, stand_in_toml
from helpers import put
from s3redshift.cli import main
from s3redshift.config import SEED_ENV, LoaderConfig
from s3redshift.events import S3Object
from s3redshift.local import EmbeddedEnvironment, connector_config
from s3redshift.local.transport import stand_in_loader

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PASSWORD = "SENTINEL-HYGIENE-PW-8e3b1c"
SECRET_KEY = "SENTINEL-HYGIENE-AWS-SECRET-4c7d20"
TOKEN = "SENTINEL-HYGIENE-TOKEN-a19f55"
SENTINELS = (PASSWORD, SECRET_KEY, TOKEN)
ADAPTER = Path(__file__).resolve().parent.parent / "adapters" / "lambda_entry.py"
PACKAGE_LOGGERS = ("s3redshift", "s3redshift.handler")
UNREACHABLE = f"postgresql://loader:{PASSWORD}@127.0.0.1:9/dev"


# --- collecting what was seen --------------------------------------------------------------


def exception_texts(exc: BaseException) -> Iterator[str]:
    """str, repr and args of ``exc``, its chain and the errors it carries."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield f"{type(current).__name__}: {current!s} | {current!r} | {current.args!r}"
        pending += [current.__cause__, current.__context__]
        pending += list(getattr(current, "errors", ()) or ())
        pending += list(getattr(current, "exceptions", ()) or ())
        pending += [getattr(f, "error", None) for f in getattr(current, "failures", ()) or ()]


def record_texts(record: logging.LogRecord) -> Iterator[str]:
    """Everything a log record holds: message, args, extra fields, exception."""
    yield record.getMessage()
    yield repr(record.args)
    for name, value in vars(record).items():
        if name not in ("exc_info", "args", "msg"):
            yield f"{name}={value!r}"
    if record.exc_info and record.exc_info[1] is not None:
        yield from exception_texts(record.exc_info[1])


@dataclass
class Evidence:
    """Labelled texts from every surface, checked for sentinels at the end."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, text: str) -> None:
        self.texts.append((label, text))

    def add_all(self, label: str, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(label, text)

    def add_exception(self, label: str, exc: BaseException) -> None:
        self.add_all(f"{label}: exception chain", exception_texts(exc))

    def add_json_lines(self, label: str, text: str) -> None:
        """The JSON log lines in ``text``, decoded (their values, not their escapes)."""
        for line in text.splitlines():
            if line.startswith("{"):
                self.add(f"{label}: JSON line", repr(json.loads(line)))

    def assert_clean(self) -> None:
        assert self.texts, "nothing was collected"
        leaks = [
            f"{label}: {sentinel} in {text[max(0, text.find(sentinel) - 120) :][:300]!r}"
            for label, text in self.texts
            for sentinel in SENTINELS
            if sentinel in text
        ]
        assert not leaks, "secrets were seen:\n" + "\n".join(leaks[:20])


# --- the environment -------------------------------------------------------------------------


@pytest.fixture
def evidence() -> Evidence:
    return Evidence()


@pytest.fixture
def records(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[logging.LogRecord]]:
    """Every record of the package's loggers, at DEBUG, whatever their propagation.

    The adapter and ``invoke`` set their loggers' level when they start; the
    levels are held at DEBUG for the test, so a secret in a debug line is seen.
    """
    loggers = [logging.getLogger(name) for name in PACKAGE_LOGGERS]
    saved = [(list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    for logger in loggers:
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.DEBUG)
        monkeypatch.setattr(logger, "setLevel", lambda level: None)
    caplog.handler.setLevel(logging.DEBUG)
    yield caplog.records
    monkeypatch.undo()
    for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


@pytest.fixture
def secret_env(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The process environment for AWS (moto) with the sentinel secret key and token."""
    for name in (*SEED_ENV, "S3REDSHIFT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    values = embedded_env.aws_env | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": TOKEN,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def config_data(dsn: str) -> dict[str, Any]:
    return {
        **connector_config(dsn, password=PASSWORD),
        "copy": {"iam_role": "default"},
        "tables": [
            {"pattern": "kpis/**", "table": "kpis", "format": {"type": "csv", "ignore_header": 1}}
        ],
    }


def toml_config(dsn: str) -> str:
    return (
        stand_in_toml(dsn, password=PASSWORD) + '[copy]\niam_role = "default"\n'
        '[[tables]]\npattern = "kpis/**"\ntable = "kpis"\n'
        '[tables.format]\ntype = "csv"\nignore_header = 1\n'
    )


@dataclass(frozen=True)
class World:
    """A database with a table, a bucket with a good and a bad file, configs and events."""

    bucket: str
    dsn: str
    config: Path
    event: Path
    objects: tuple[S3Object, ...]
    tmp: Path

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path


def s3_event(objects: Iterable[S3Object]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-28T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": o.bucket, "arn": f"arn:aws:s3:::{o.bucket}"},
                    "object": {"key": o.key, "size": o.size, "eTag": o.etag},
                },
            }
            for o in objects
        ]
    }


@pytest.fixture
def world(
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
    tmp_path: Path,
    secret_env: dict[str, str],
) -> World:
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    objects = []
    for key, body in (("kpis/good.csv", "id,name\n1,a\n"), ("kpis/bad.csv", "id,name\nx,b\n")):
        objects.append(put(s3, bucket, key, body, at=None))
    dsn = dsn_with_password(embedded_env.database_dsn(pg_database), PASSWORD)
    config = tmp_path / "s3redshift.toml"
    config.write_text(toml_config(dsn), encoding="utf-8")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(s3_event(objects)), encoding="utf-8")
    return World(bucket, dsn, config, event, tuple(objects), tmp_path)


def run_cli(
    argv: list[str],
    evidence: Evidence,
    capsys: pytest.CaptureFixture[str],
) -> int:
    """``s3redshift ARGV`` in this process; its output goes into the evidence."""
    label = "s3redshift " + " ".join(a if len(a) < 60 else a[:57] + "..." for a in argv)
    try:
        code = main(argv, make_loader=stand_in_loader)
    except SystemExit as exc:  # argparse's own exit
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:
        evidence.add_exception(label, exc)
        raise
    captured = capsys.readouterr()
    evidence.add(f"{label}: stdout", captured.out)
    evidence.add(f"{label}: stderr", captured.err)
    evidence.add_json_lines(f"{label}: stderr", captured.err)
    return code


# --- every CLI command -------------------------------------------------------------------------


def test_every_cli_command_keeps_the_secrets(
    world: World,
    evidence: Evidence,
    records: list[logging.LogRecord],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = ["--config", str(world.config)]
    prefix = f"s3://{world.bucket}/"
    expected = {
        ("config-schema",): 0,
        ("plan", str(world.event)): 0,
        ("plan", str(world.event), "--json"): 0,
        ("invoke", str(world.event)): 1,  # the bad file fails
        ("load", prefix, "--dry-run"): 0,
        ("load", prefix): 1,
        ("ledger",): 0,
        ("ledger", "--table", "public.kpis"): 0,
        ("ledger", "--failed", prefix): 1,  # the bad file is missing
        ("ledger", "--failed", prefix, "--json"): 1,
        ("check", prefix): 0,
        ("check", prefix, "--json"): 0,
    }
    codes = {}
    for argv, _ in expected.items():
        extra = [] if argv == ("config-schema",) else config
        codes[argv] = run_cli([*argv, *extra], evidence, capsys)
    for record in records:
        evidence.add_all(f"log record {record.name}", record_texts(record))
    evidence.assert_clean()
    assert codes == expected
    logged = [text for label, text in evidence.texts if label.endswith("JSON line")]
    assert any("'message': 'summary'" in text for text in logged), "invoke logged JSON lines"


# --- failure paths -----------------------------------------------------------------------------


def _bad_configs(world: World) -> dict[str, str]:
    """Configuration files that are wrong in ways that put the password near the error."""
    good = toml_config(world.dsn)
    return {
        "password_for_ssm": good.replace('provider = "static"', 'provider = "ssm"'),
        "unterminated_password": good.replace(
            f'password = "{PASSWORD}"', f'password = "{PASSWORD}'
        ),
        "password_as_port": re.sub(r"(?m)^port = .*$", f'port = "{PASSWORD}"', good),
        "stand_in_kind": good.replace(
            'transport = "connector"', f'kind = "postgres"\ndsn = "{world.dsn}"'
        ),
        "unknown_key_beside_password": good.replace("[copy]", f'[copy]\niam_rol = "{PASSWORD}"'),
    }


@pytest.mark.timeout(120)
def test_failure_paths_keep_the_secrets(
    world: World,
    evidence: Evidence,
    records: list[logging.LogRecord],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"s3://{world.bucket}/"
    refused = world.dsn.replace("postgres:", "no_such_role:")
    databases = {
        "login_refused": world.write("refused.toml", toml_config(refused)),
        "unreachable": world.write("unreachable.toml", toml_config(UNREACHABLE)),
    }
    codes: dict[str, int] = {}
    for name, path in databases.items():
        runs = (
            ["load", prefix],
            ["load", prefix, "--debug"],
            ["ledger"],
            ["invoke", str(world.event)],
        )
        for argv in runs:
            label = f"{name} {' '.join(argv[:1] + argv[2:])}"
            codes[label] = run_cli([*argv, "--config", str(path)], evidence, capsys)
    for name, text in _bad_configs(world).items():
        path = world.write(f"{name}.toml", text)
        for debug in ([], ["--debug"]):
            label = f"{name} {' '.join(debug)}"
            codes[label] = run_cli(["ledger", "--config", str(path), *debug], evidence, capsys)
    missing = str(world.tmp / "missing.json")
    not_json = world.write("not-json.json", f'{{"password": "{PASSWORD}", ')
    codes["missing event"] = run_cli(
        ["plan", missing, "--config", str(world.config), "--debug"], evidence, capsys
    )
    codes["event not JSON"] = run_cli(
        ["invoke", str(not_json), "--config", str(world.config), "--debug"], evidence, capsys
    )
    codes["missing config"] = run_cli(
        ["ledger", "--config", str(world.tmp / "missing.toml"), "--debug"], evidence, capsys
    )
    monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps(config_data(world.dsn))[:-20])
    codes["S3REDSHIFT_CONFIG truncated"] = run_cli(["ledger", "--debug"], evidence, capsys)
    for record in records:
        evidence.add_all(f"log record {record.name}", record_texts(record))
    evidence.assert_clean()
    assert [label for label, code in codes.items() if code == 0] == [], codes


def test_reports_and_exception_chains_of_failed_loads_keep_the_secrets(
    world: World, evidence: Evidence, records: list[logging.LogRecord], s3: S3Client
) -> None:
    refused = world.dsn.replace("postgres:", "no_such_role:")
    for name, dsn in (("login refused", refused), ("unreachable", UNREACHABLE)):
        config = LoaderConfig.from_mapping(config_data(dsn))
        evidence.add(f"{name}: config repr", repr(config))
        evidence.add(f"{name}: config dump", config.model_dump_json())
        with stand_in_loader(config, s3_client=s3) as loader:
            report = loader.load(world.objects)
        assert report.counts["failed"] == len(world.objects), report.to_json()
        evidence.add(f"{name}: report", report.to_json())
        failed = [r.error for r in report.objects] + [t.error for t in report.targets]
        for error in failed:
            if error is not None:
                evidence.add_exception(f"{name}: result error", error)
    with stand_in_loader(LoaderConfig.from_mapping(config_data(world.dsn)), s3_client=s3) as loader:
        report = loader.load(world.objects)
    assert report.outcomes() == ["loaded", "failed"], report.to_json()
    evidence.add("rejected data: report", report.to_json())
    for result in report.objects:
        if result.error is not None:
            evidence.add_exception("rejected data", result.error)
    for record in records:
        evidence.add_all(f"log record {record.name}", record_texts(record))
    evidence.assert_clean()


# --- the Lambda adapter --------------------------------------------------------------------------


def fresh_adapter() -> ModuleType:
    """``adapters/lambda_entry.py`` imported anew, as a new Lambda container would.

    The stand-in is plugged in where the adapter builds its loader: while it
    is imported, ``Loader(config)`` is :func:`s3redshift.local.stand_in_loader`
    (the configuration names the stand-in's PostgreSQL as a connector target).
    """
    spec = importlib.util.spec_from_file_location(f"lambda_entry_{uuid.uuid4().hex}", ADAPTER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("s3redshift.loader.Loader", stand_in_loader)
        spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    aws_request_id: str = "req-hygiene"
    function_name: str = "s3redshift-loader"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _sqs(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"AQEB{n}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def _invoke(adapter: ModuleType, event: dict[str, Any], label: str, evidence: Evidence) -> object:
    try:
        answer: object = adapter.handler(event, Context())
    except Exception as exc:  # direct invocations raise on failure: scanned, not hidden
        evidence.add_exception(label, exc)
        return type(exc).__name__
    evidence.add(f"{label}: answer", json.dumps(answer, default=str))
    return answer


def test_the_lambda_handler_keeps_the_secrets(
    world: World,
    evidence: Evidence,
    records: list[logging.LogRecord],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, bad = world.objects
    answers: dict[str, object] = {}
    for name, dsn in (("reachable", world.dsn), ("unreachable", UNREACHABLE)):
        monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps(config_data(dsn)))
        adapter = fresh_adapter()
        try:
            answers[f"{name} direct"] = _invoke(adapter, s3_event([good, bad]), name, evidence)
            batch = _sqs(json.dumps(s3_event([good])), json.dumps(s3_event([bad])), '{"Records": 1')
            answers[f"{name} sqs"] = _invoke(adapter, batch, name, evidence)
        finally:
            if adapter.warm_loader.cache_info().currsize:
                adapter.warm_loader().close()
            adapter.warm_loader.cache_clear()
    monkeypatch.setenv("S3REDSHIFT_CONFIG", json.dumps(config_data(world.dsn))[:-20])
    adapter = fresh_adapter()
    answers["bad config"] = _invoke(adapter, s3_event([good]), "bad config", evidence)
    adapter.warm_loader.cache_clear()
    out = capsys.readouterr()
    evidence.add("handler stdout", out.out)
    evidence.add("handler stderr", out.err)
    evidence.add_json_lines("handler stdout", out.out)
    for record in records:
        evidence.add_all(f"log record {record.name}", record_texts(record))
    evidence.assert_clean()
    assert answers["reachable direct"] == "LoadFailedError"
    assert answers["reachable sqs"] == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]
    }
    assert answers["unreachable direct"] == "LoadFailedError"
    assert answers["bad config"] == "ConfigError"
    logged = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert "summary" in [line["message"] for line in logged], "the adapter logged JSON lines"


# --- real processes: the demo and the CLI as a user runs them -------------------------------------


def _subprocess(argv: list[str], env: dict[str, str], evidence: Evidence) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "s3redshift.local", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    label = "process s3redshift " + " ".join(argv[:2])
    evidence.add(f"{label}: stdout", result.stdout)
    evidence.add(f"{label}: stderr", result.stderr)
    evidence.add_json_lines(f"{label}: stderr", result.stderr)
    return result.returncode


@pytest.mark.timeout(180)
@pytest.mark.standin  # runs the demo, which starts the stand-in
def test_the_demo_and_cli_processes_keep_the_secrets(
    world: World, evidence: Evidence, secret_env: dict[str, str]
) -> None:
    config = ["--config", str(world.config)]
    unreachable = world.write("u.toml", toml_config(UNREACHABLE))
    codes = {
        "demo": _subprocess(["demo"], secret_env, evidence),
        "invoke": _subprocess(["invoke", str(world.event), *config], secret_env, evidence),
        "unreachable": _subprocess(
            ["load", f"s3://{world.bucket}/", "--debug", "--config", str(unreachable)],
            secret_env,
            evidence,
        ),
    }
    evidence.assert_clean()
    assert codes == {"demo": 0, "invoke": 1, "unreachable": 1}
