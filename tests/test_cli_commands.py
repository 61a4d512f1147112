"""`invoke`, `load` and `ledger` as real subprocesses against the embedded stand-in."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import stand_in_toml
from helpers import put
from s3redshift.backfill import BackfillProgress
from s3redshift.cli.output import ProgressPrinter, format_bytes
from s3redshift.config import SEED_ENV
from s3redshift.local import EmbeddedEnvironment, connector_config
from s3redshift.unreachable import CONNECTOR_FIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SENTINEL = "SENTINEL-CLI-CMD-PW-5d1e"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def config_file(
    tmp_path: Path, embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any
) -> Path:
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    path = tmp_path / "s3redshift.toml"
    path.write_text(
        stand_in_toml(embedded_env.database_dsn(pg_database), password=SENTINEL) + "[[tables]]\n"
        'pattern = "kpis/**"\n'
        'table = "kpis"\n'
        "[tables.format]\n"
        'type = "csv"\n'
        "ignore_header = 1\n"
    )
    return path


@pytest.fixture
def cli(embedded_env: EmbeddedEnvironment, config_file: Path) -> Run:
    """Run `s3redshift <args> --config <file>` with AWS pointed at moto."""
    base = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}
    env = base | embedded_env.aws_env

    def run(*args: str, config: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ("--config", str(config_file)) if config else ()
        result = subprocess.run(
            [sys.executable, "-m", "s3redshift.local", *args, *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert SENTINEL not in result.stdout + result.stderr
        return result

    return run


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[")]


def s3_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
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
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size, "eTag": etag},
                },
            }
        ]
    }


def test_load_shows_progress_loads_once_and_a_second_run_loads_nothing(
    cli: Run, s3: S3Client, bucket: str, pg: Any
) -> None:
    sizes = [put(s3, bucket, f"kpis/{n}.csv", f"id,name\n{n},k{n}\n").size for n in range(5)]
    put(s3, bucket, "kpis/_SUCCESS", "")
    put(s3, bucket, "other/x.csv", "id\n1\n")
    total = sum(sizes)

    first = cli("load", f"s3://{bucket}/", "--batch-size", "2")
    assert first.returncode == 0, first.stderr
    # Not a terminal: plain lines, at the start and at the end (and every 5 s between).
    assert progress_lines(first.stderr) == [
        f"[{'-' * 30}] 0/5 objects, 0/{total} B",
        f"[{'#' * 30}] 5/5 objects, {total}/{total} B",
    ]
    assert first.stdout == (
        f"s3://{bucket}/: loaded 5, duplicate 0, superseded 0, unmapped 1, ignored 1, "
        "failed 0; rows 5 (7 listed, 0 before --since)\n"
    )
    # The key no rule maps is named, not only counted.
    assert (
        "s3redshift: warning: 1 key(s) map to no table and were not loaded: other/x.csv\n"
        in first.stderr
    )
    cursor = pg.cursor()
    cursor.execute("SELECT id FROM kpis ORDER BY id")
    assert [r[0] for r in cursor.fetchall()] == [0, 1, 2, 3, 4]
    pg.commit()

    second = cli("load", f"s3://{bucket}/kpis/")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"s3://{bucket}/kpis/: loaded 0, duplicate 5,")
    assert "; rows 0 " in second.stdout


def test_load_dry_run_and_since(cli: Run, s3: S3Client, bucket: str) -> None:
    size = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n").size
    dry = cli("load", f"s3://{bucket}/", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == (
        f"(dry run) load s3://{bucket}/kpis/a.csv -> public.kpis\n"
        f"dry run s3://{bucket}/: 1 object(s), {size} B would load (tables: public.kpis 1); "
        "already loaded 0, unmapped 0, ignored 0, before --since 0, failed 0; nothing loaded\n"
    )
    future = cli("load", f"s3://{bucket}/", "--since", "2999-01-01")
    assert future.returncode == 0, future.stderr
    assert "loaded 0, duplicate 0" in future.stdout
    assert "(1 listed, 1 before --since)" in future.stdout


def test_load_with_a_bad_file_exits_1_naming_it_and_its_line(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    put(s3, bucket, "kpis/good.csv", "id,name\n1,a\n")
    bad_size = put(s3, bucket, "kpis/bad.csv", "id,name\n2,b\nx,c\n").size
    result = cli("load", f"s3://{bucket}/")
    assert result.returncode == 1
    [failure] = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert failure.startswith(f"s3redshift: failed: s3://{bucket}/kpis/bad.csv -> public.kpis:")
    assert "line 3, column id:" in failure
    assert "loaded 1," in result.stdout
    assert "failed 1;" in result.stdout

    missing = cli("ledger", "--failed", f"s3://{bucket}/")
    # Objects are missing: that is a failure to report, not a success.
    assert missing.returncode == 1, missing.stderr
    lines = missing.stdout.splitlines()
    assert lines[0].split() == ["last_modified", "table", "size", "object"]
    assert len(lines) == 3
    assert lines[1].split()[-3:] == [
        "public.kpis",
        str(bad_size),
        f"s3://{bucket}/kpis/bad.csv",
    ]
    # The last failure's reason, as the load named it: the rejected line and column.
    assert lines[2].startswith("    last failure 20")
    assert ": DataRejectedError: line 3, column id:" in lines[2]
    assert "1 mapped object(s) under" in missing.stderr

    # Fixed and loaded again: nothing is missing, exit 0, and the failure row is gone.
    put(s3, bucket, "kpis/bad.csv", "id,name\n2,b\n3,c\n")
    again = cli("load", f"s3://{bucket}/")
    assert again.returncode == 0, again.stderr
    assert "loaded 1," in again.stdout
    clean = cli("ledger", "--failed", f"s3://{bucket}/")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout == ""
    assert "0 mapped object(s) under" in clean.stderr


def test_load_of_a_mistyped_prefix_warns_and_keys_no_rule_maps_exit_2(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    typo = cli("load", f"s3://{bucket}/KPIs/")
    # Said, not silent; yet not a failure, since a scheduled run may find a quiet day.
    assert typo.returncode == 0
    assert (
        f"s3redshift: warning: nothing under s3://{bucket}/KPIs/ (0 objects listed): check the "
        "prefix's spelling; S3 prefixes are case-sensitive\n"
    ) in typo.stderr

    put(s3, bucket, "sales/2026/a.csv", "id\n1\n")
    put(s3, bucket, "sales/2026/b.csv", "id\n2\n")
    nothing = cli("load", f"s3://{bucket}/sales/")
    assert nothing.returncode == 2  # the configuration's patterns miss the layout
    [error] = [line for line in nothing.stderr.splitlines() if "error" in line]
    assert error.startswith(
        f"s3redshift: error: no rule maps any of the 2 key(s) under s3://{bucket}/sales/, "
        "e.g. sales/2026/a.csv ("
    )
    assert error.endswith("check the [[tables]] patterns ('kpis/**') against these keys")
    assert "loaded 0," in nothing.stdout


def test_load_with_debug_shows_each_failures_kind_and_cause(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    put(s3, bucket, "kpis/bad.csv", "id,name\nx,b\n")
    plain = cli("load", f"s3://{bucket}/")
    debug = cli("load", f"s3://{bucket}/", "--debug")
    assert plain.returncode == debug.returncode == 1
    assert "debug:" not in plain.stderr
    assert "Traceback" not in plain.stderr
    assert (
        f"s3redshift: debug: DataRejectedError (permanent) for s3://{bucket}/kpis/bad.csv\n"
        in debug.stderr
    )
    assert "Traceback (most recent call last)" in debug.stderr


@pytest.fixture
def offline_cli(embedded_env: EmbeddedEnvironment, tmp_path: Path) -> Run:
    """Like `cli`, for commands that fail before any database is reached."""
    path = tmp_path / "offline.toml"
    path.write_text(stand_in_toml("postgresql://u@127.0.0.1:9/none"))
    base = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "s3redshift.local", *args, "--config", str(path)],
            env=base | embedded_env.aws_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


def test_usage_errors_exit_2_with_one_line(offline_cli: Run) -> None:
    for args, message in [
        (("load", "not-a-uri"), "expected an S3 URI"),
        (("load", "s3://no-such-bucket-s3redshift-cli/"), "bucket does not exist"),
        (("ledger", "--table", "kpis"), "must be written as schema.table"),
    ]:
        result = offline_cli(*args)
        assert result.returncode == 2, args
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("s3redshift: error: ")
        assert message in line


def test_argument_errors_exit_2(offline_cli: Run) -> None:
    for args in (
        ("load", "s3://bucket/", "--since", "yesterday"),
        ("load", "s3://bucket/", "--batch-size", "0"),
        ("ledger", "--limit", "-1"),
        ("nonsense",),
    ):
        result = offline_cli(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


def test_debug_adds_the_traceback(offline_cli: Run) -> None:
    result = offline_cli("--debug", "load", "not-a-uri")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("s3redshift: error: ")


def test_ledger_lists_loaded_objects_newest_first_with_table_filter_and_limit(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    empty = cli("ledger")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == ""
    assert "0 of 0 ledger row(s) shown" in empty.stderr

    for n in range(3):
        put(s3, bucket, f"kpis/{n}.csv", f"id,name\n{n},k{n}\n")
    assert cli("load", f"s3://{bucket}/").returncode == 0

    result = cli("ledger")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["loaded_at", "table", "batch", "identity", "object"]
    assert sorted(row.split()[-1] for row in rows) == [
        f"s3://{bucket}/kpis/{n}.csv" for n in range(3)
    ]
    assert {row.split()[2] for row in rows} == {"public.kpis"}
    assert "3 of 3 ledger row(s) shown" in result.stderr

    limited = cli("ledger", "--table", "public.kpis", "--limit", "2")
    assert len(limited.stdout.splitlines()) == 3
    assert "2 of 3 ledger row(s) shown (--limit 0 shows all)" in limited.stderr
    other = cli("ledger", "--table", "public.other")
    assert other.stdout == ""
    assert "0 of 0 ledger row(s) shown" in other.stderr


def test_invoke_runs_the_handler_and_a_replay_is_duplicate(
    cli: Run, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n2,b\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(s3_event(bucket, obj.key, obj.size, obj.etag)))

    first = cli("invoke", str(event))
    assert first.returncode == 0, first.stderr
    response = json.loads(first.stdout)
    assert response["source"] == "s3"
    assert response["counts"]["loaded"] == 1
    assert response["rows"] == 2
    logs = [json.loads(line) for line in first.stderr.splitlines()]
    assert [line["message"] for line in logs] == ["object", "summary", "metrics", "metrics"]
    assert logs[0]["uri"] == f"s3://{bucket}/kpis/a.csv"
    assert logs[0]["outcome"] == "loaded"

    again = cli("invoke", str(event))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"]["duplicate"] == 1


def test_invoke_for_a_bucket_that_does_not_exist_fails_saying_so(cli: Run, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(s3_event("no-such-bucket-s3redshift-invoke", "kpis/a.csv", 9, "e")))
    result = cli("invoke", str(event))
    # Not "superseded: deleted since the event", exit 0: the bucket itself is missing.
    assert result.returncode == 1
    [line] = [json.loads(text) for text in result.stderr.splitlines() if '"object"' in text]
    assert line["outcome"] == "failed"
    assert "the bucket 'no-such-bucket-s3redshift-invoke' does not exist" in line["reason"]
    assert "deleted since the event" not in result.stderr


def test_invoke_exit_codes_for_failed_objects_and_bad_events(
    cli: Run, s3: S3Client, bucket: str, tmp_path: Path
) -> None:
    obj = put(s3, bucket, "kpis/bad.csv", "id,name\nnope,a\n")
    record = s3_event(bucket, obj.key, obj.size, obj.etag)
    direct = tmp_path / "direct.json"
    direct.write_text(json.dumps(record))
    raised = cli("invoke", str(direct))
    assert raised.returncode == 1
    errors = [line for line in raised.stderr.splitlines() if line.startswith("s3redshift:")]
    assert len(errors) == 1
    assert errors[0].startswith("s3redshift: error: 1 object(s) failed to load: ")
    assert f"s3://{bucket}/kpis/bad.csv (DataRejectedError" in errors[0]

    sqs = tmp_path / "sqs.json"
    sqs.write_text(
        json.dumps(
            {
                "Records": [
                    {
                        "messageId": "m-1",
                        "receiptHandle": "r",
                        "body": json.dumps(record),
                        "attributes": {},
                        "messageAttributes": {},
                        "md5OfBody": "",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                        "awsRegion": "us-east-1",
                    }
                ]
            }
        )
    )
    batch = cli("invoke", str(sqs))
    assert batch.returncode == 1
    assert json.loads(batch.stdout) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}

    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps({"Records": [{"eventSource": "aws:s3"}]}))
    bad = cli("invoke", str(malformed))
    assert bad.returncode == 2
    assert "Records[0]" in bad.stderr
    assert "Traceback" not in bad.stderr
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    assert cli("invoke", str(not_json)).returncode == 2


def test_help_documents_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "s3redshift.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for command in ("plan", "invoke", "load", "ledger", "demo", "config-schema"):
        assert command in result.stdout
    assert "0  done" in result.stdout
    assert "1  some objects failed to load" in result.stdout
    assert "2  bad usage, configuration or event" in result.stdout
    assert "130  interrupted (Ctrl-C)" in result.stdout
    assert "141  the reader of standard output closed it" in result.stdout


def test_progress_bar_on_a_terminal_redraws_one_line() -> None:
    stream = io.StringIO()
    bar = ProgressPrinter(stream, tty=True)
    bar(BackfillProgress(0, 300, 0, 3_000_000, 0, 3))
    bar(BackfillProgress(120, 300, 1_200_000, 3_000_000, 1, 3))
    bar(BackfillProgress(300, 300, 3_000_000, 3_000_000, 3, 3))
    assert stream.getvalue() == (
        f"\r[{'-' * 30}] 0/300 objects, 0.0/3.0 MB\x1b[K"
        f"\r[{'#' * 12}{'-' * 18}] 120/300 objects, 1.2/3.0 MB\x1b[K"
        f"\r[{'#' * 30}] 300/300 objects, 3.0/3.0 MB\x1b[K\n"
    )
    assert [format_bytes(n) for n in (999, 1000, 1_500_000, 2 * 10**9)] == [
        "999 B",
        "1.0 kB",
        "1.5 MB",
        "2.0 GB",
    ]


# --- the generated references and the library page stay true to the code ---------


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _variants(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a node can be: through $ref, array items, unions."""
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        return _variants(schema, schema["$defs"][name])
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        return _variants(schema, node["items"])
    for union in ("oneOf", "anyOf"):
        if union in node:
            return [v for option in node[union] for v in _variants(schema, option)]
    return [node] if "properties" in node else []


def _object_levels(schema: dict[str, Any]) -> dict[tuple[str, ...], set[str]]:
    """Every object-valued path of the configuration and the keys it takes."""
    levels: dict[tuple[str, ...], set[str]] = {}

    def walk(path: tuple[str, ...], node: dict[str, Any]) -> None:
        variants = _variants(schema, node)
        if not variants:
            return
        if path:
            levels[path] = {key for v in variants for key in v["properties"]}
        for variant in variants:
            for key, child in variant["properties"].items():
                walk((*path, key), child)

    walk((), schema)
    return levels


def test_configuration_reference_matches_the_schema_both_ways() -> None:
    from scripts.docs_pages import configuration_page

    from s3redshift.config import LoaderConfig

    documented: dict[tuple[str, ...], set[str]] = {}
    for block in configuration_page().split("\n## ")[1:]:
        heading, _, body = block.partition("\n")
        match = re.fullmatch(r"`\[\[?([a-z_.]+)\]\]?`", heading.strip())
        if match is None:  # the page's other sections (the seed's variables)
            continue
        keys = set(re.findall(r"^\| `([a-z_]+)` \|", body, flags=re.MULTILINE))
        documented[tuple(match.group(1).split("."))] = keys
    assert documented == _object_levels(LoaderConfig.json_schema())


LIBRARY_PAGE = Path(__file__).resolve().parent.parent / "docs" / "library.md"


def test_library_page_copy_example_prints_what_the_page_shows() -> None:
    """The library page's "Building a COPY alone" example prints what the page shows."""
    section = _section(LIBRARY_PAGE.read_text(encoding="utf-8"), "Building a COPY alone")
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    [shown] = re.findall(r"```text\n(.*?)```", section, flags=re.DOTALL)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown


def test_cli_reference_covers_every_command_option_and_exit_code() -> None:
    from scripts.docs_pages import cli_page, prose, subcommands

    from s3redshift.cli.parser import build_parser

    page = cli_page()
    parts = re.split(r"^## `s3redshift ([a-z -]+)`$", page, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    commands = dict(subcommands(build_parser()))
    assert list(sections) == list(commands)
    assert {"plan", "invoke", "load", "ledger", "ledger prune", "check", "demo"} <= set(commands)
    for name, sub in commands.items():
        section = sections[name].split("\n## ", 1)[0]
        assert sub.description, name
        assert prose(" ".join(sub.description.split())[:60]) in section, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--config", "--debug"):
                    assert f"| `{flag}" in section, (name, flag)
    codes = re.findall(r"^\| ([0-9]+) \|", page.split("## Exit codes", 1)[1], re.MULTILINE)
    assert codes == ["0", "1", "2", "130", "141"]


def test_every_option_with_a_default_says_it_in_its_help() -> None:

    from scripts.docs_pages import subcommands

    from s3redshift.cli.parser import build_parser

    for name, sub in subcommands(build_parser()):
        for action in sub._actions:
            if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
                continue
            shown = f"{action.default:g}" if isinstance(action.default, float) else action.default
            help_text = argparse.HelpFormatter("s3redshift")._expand_help(action)
            assert f"(default: {shown})" in help_text, (name, action.option_strings)


# --- a failure of the database itself stops the run with one error -------------------


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_load_with_the_database_down_prints_one_error_and_tries_one_batch(
    tmp_path: Path, embedded_env: EmbeddedEnvironment, s3: S3Client, bucket: str
) -> None:
    port = _closed_port()
    config = tmp_path / "down.toml"
    config.write_text(stand_in_toml(f"postgresql://loader@127.0.0.1:{port}/dev", password=SENTINEL))
    for n in range(50):
        put(s3, bucket, f"kpis/{n:02d}.csv", f"id,name\n{n},x\n")
    base = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "s3redshift.local", "load", f"s3://{bucket}/"),
            *("--batch-size", "10", "--config", str(config)),
        ],
        env=base | embedded_env.aws_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert SENTINEL not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("s3redshift: ")]
    assert errors == [
        f"s3redshift: error: cannot reach the database (127.0.0.1:{port}, database dev): "
        f"Connection refused (ConnectionRefusedError); fix: {CONNECTOR_FIX}; the load stopped "
        "and 50 object(s) did not load: run the same command again once that is fixed"
    ]
    assert "failed 50" in result.stdout


def test_a_backfill_stops_after_the_first_batch_when_the_database_is_down(
    embedded_env: EmbeddedEnvironment, s3: S3Client, bucket: str
) -> None:
    from s3redshift.backfill import backfill
    from s3redshift.config import LoaderConfig
    from s3redshift.errors import ConnectionLostError
    from s3redshift.local import stand_in_loader

    for n in range(30):
        put(s3, bucket, f"kpis/{n:02d}.csv", f"id,name\n{n},x\n")
    config = LoaderConfig.from_mapping(
        connector_config(f"postgresql://u@127.0.0.1:{_closed_port()}/d")
    )
    with stand_in_loader(config, s3_client=s3) as loader:
        summary = backfill(loader, f"s3://{bucket}/", batch_size=10)
    assert len(summary.reports) == 1  # the other two batches were not tried
    assert isinstance(summary.stopped_by, ConnectionLostError)
    assert summary.counts["failed"] == 30
    untried = [r for r in summary.failures if (r.reason or "").startswith("not tried: ")]
    assert len(untried) == 20
    assert {r.error.s3_uri for r in untried if r.error} == {r.s3_object.uri for r in untried}


def test_load_and_ledger_print_json_on_stdout_with_json(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    for n in range(3):
        put(s3, bucket, f"kpis/{n}.csv", f"id,name\n{n},k{n}\n")
    loaded = cli("load", f"s3://{bucket}/", "--json")
    assert loaded.returncode == 0, loaded.stderr
    summary = json.loads(loaded.stdout)
    assert summary["counts"]["loaded"] == 3
    assert summary["tables"] == {"public.kpis": 3}
    assert summary["stopped_by"] is None

    ledger = cli("ledger", "--json", "--limit", "2")
    assert ledger.returncode == 0, ledger.stderr
    document = json.loads(ledger.stdout)
    assert document["total"] == 3
    assert len(document["rows"]) == 2
    assert {row["table"] for row in document["rows"]} == {"public.kpis"}
    assert all(row["uri"].startswith(f"s3://{bucket}/kpis/") for row in document["rows"])

    put(s3, bucket, "kpis/late.csv", "id,name\n9,z\n")
    missing = cli("ledger", "--failed", f"s3://{bucket}/", "--json")
    assert missing.returncode == 1, missing.stderr
    document = json.loads(missing.stdout)
    assert document["total"] == 1
    [late] = document["missing"]
    assert (late["uri"], late["table"], late["size"]) == (
        f"s3://{bucket}/kpis/late.csv",
        "public.kpis",
        len("id,name\n9,z\n"),
    )
    assert late["last_modified"].startswith("20")  # an ISO timestamp
    assert late["last_failure"] is None  # never tried: nothing was recorded


def test_ledger_failed_json_carries_the_last_failure_of_each_object(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    put(s3, bucket, "kpis/bad.csv", "id,name\nnot-a-number,b\n")
    assert cli("load", f"s3://{bucket}/").returncode == 1
    missing = cli("ledger", "--failed", f"s3://{bucket}/", "--json")
    assert missing.returncode == 1, missing.stderr
    [bad] = json.loads(missing.stdout)["missing"]
    failure = bad["last_failure"]
    assert failure["error"] == "DataRejectedError"
    assert failure["retryable"] is False
    assert failure["reason"].startswith("line 2, column id:")
    assert failure["failed_at"].startswith("20")


def test_load_out_of_time_says_so_once_not_once_per_object(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    for n in range(5):
        put(s3, bucket, f"kpis/{n}.csv", f"id,name\n{n},a\n")
    result = cli("load", f"s3://{bucket}/", "--timeout", "0.001")
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert failed == [
        f"s3redshift: failed: 5 object(s), s3://{bucket}/kpis/0.csv first: the time budget ran "
        "out before this backfill batch was started; run the backfill again to load it"
    ]


def test_rows_rejected_alike_in_several_files_still_name_each_file(
    cli: Run, s3: S3Client, bucket: str
) -> None:
    for n in range(3):
        put(s3, bucket, f"kpis/bad{n}.csv", "id,name\nx,a\n")
    result = cli("load", f"s3://{bucket}/")
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert [line.split(" -> ")[0] for line in failed] == [
        f"s3redshift: failed: s3://{bucket}/kpis/bad{n}.csv" for n in range(3)
    ]
