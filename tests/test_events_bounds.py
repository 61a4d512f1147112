"""Hostile sizes and nesting: one bad SQS message never fails its neighbours.

Python's JSON decoder recurses once per nesting level, so a body of 100,000
``[`` (100 KB, well inside SQS's limit) would raise ``RecursionError`` out of
the parser and fail the whole Lambda batch. The parser bounds nesting and size
before decoding; these tests hold it to that, through the library, the
handler's entry point (``read_event``) and the ``plan`` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import s3redshift.events as events
from eventfixtures import load_event
from s3redshift.errors import InvalidEventError
from s3redshift.events import parse_event, read_event

DEEP = "[" * 100_000
"""About 100 KB of nesting: a body SQS accepts and a recursive decoder cannot."""

SEED_ENV = {
    "DB_HOST": "example.abc.eu-west-1.redshift.amazonaws.com",
    "DB_PORT": "5439",
    "DB_NAME": "dev",
    "DB_USER": "loader",
    "DB_PW_PARAM": "/prod/redshift/loader-password",
    "DB_SCHEMA": "analytics",
    "IAM_ROLE": "arn:aws:iam::123456789012:role/RedshiftCopy",
}


def bare(error: InvalidEventError) -> str:
    """The error's message without the " at PATH [in SQS message ID]" it ends with."""
    located = f" at {error.path}" + (
        f" in SQS message {error.message_id}" if error.message_id else ""
    )
    assert error.message.endswith(located)
    return error.message.removesuffix(located)


def _batch_with_body(index: int, body: str) -> dict[str, Any]:
    event = load_event("sqs_batch")
    event["Records"][index]["body"] = body
    return event


def _nested(depth: int) -> str:
    """A JSON S3 notification whose deepest value sits ``depth`` levels down."""
    # {"Records": [ ... ], "x": [[...]]}: the object is level 1, "x"'s list level 2.
    return json.dumps({"Records": [], "x": "PLACEHOLDER"}).replace(
        '"PLACEHOLDER"', "[" * (depth - 1) + "]" * (depth - 1)
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(DEEP, id="lists"),
        pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="objects"),
        pytest.param('{"Records": ' + "[" * 100_000 + "]" * 100_000 + "}", id="balanced"),
    ],
)
def test_deeply_nested_body_fails_only_its_own_message(body: str) -> None:
    parsed = read_event(_batch_with_body(1, body))
    [error] = parsed.invalid
    assert error.path == "Records[1].body"
    assert error.message_id == "2e1424d4-f796-459a-8184-9c92662be6da"
    assert bare(error).startswith("nested deeper than")
    assert [o.key for o in parsed.objects] == ["kpis/2026/11/05/m1.csv", "kpis/2026/11/05/m3.csv"]


def test_deeply_nested_payload_text_is_an_invalid_event() -> None:
    for payload in (DEEP, DEEP.encode()):
        with pytest.raises(InvalidEventError) as caught:
            parse_event(payload)
        assert caught.value.path == "$"
        assert bare(caught.value).startswith("nested deeper than")


def test_nesting_up_to_the_bound_is_read_and_one_more_level_is_not() -> None:
    limit = events.MAX_JSON_DEPTH
    assert read_event(_nested(limit)).objects == ()
    with pytest.raises(InvalidEventError) as caught:
        read_event(_nested(limit + 1))
    assert bare(caught.value) == (
        f"nested deeper than {limit} levels: no S3, SQS, SNS or EventBridge payload "
        "nests that deep; this is not an event AWS sent"
    )


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    key = "kpis/" + "[{" * 400 + '\\"]}' + ".csv"
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "acme-landing-eu"}, "object": {"key": key, "size": 1}},
    }
    [obj] = parse_event(json.dumps({"Records": [record]}))
    assert obj.key.startswith("kpis/[{[{")
    assert obj.key.endswith('"]}.csv')


def test_body_over_the_sqs_limit_fails_only_its_own_message() -> None:
    limit = events.MAX_MESSAGE_BYTES
    assert limit == 1024 * 1024
    event = load_event("sqs_batch")
    body = json.loads(event["Records"][0]["body"])
    text = json.dumps(body)
    body["padding"] = "x" * (limit - len(text) - len(', "padding": ""') + 1)
    oversized = json.dumps(body)
    assert len(oversized.encode()) == limit + 1
    event["Records"][0]["body"] = oversized
    parsed = read_event(event)
    [error] = parsed.invalid
    assert (error.path, error.message_id) == ("Records[0].body", event["Records"][0]["messageId"])
    assert bare(error) == (
        f"{limit + 1} bytes of JSON text; an SQS message or SNS notification is at most "
        f"{limit} bytes (1 MiB), so this did not come from AWS"
    )
    assert [o.key for o in parsed.objects] == [
        "kpis/2026/11/05/m2a.csv",
        "orders/2026/11/05/m2b.csv",
        "kpis/2026/11/05/m3.csv",
    ]


def test_body_at_the_sqs_limit_is_read() -> None:
    limit = events.MAX_MESSAGE_BYTES
    event = load_event("sqs_batch")
    body = json.loads(event["Records"][0]["body"])
    text = json.dumps(body)
    body["padding"] = "x" * (limit - len(text) - len(', "padding": ""'))
    event["Records"][0]["body"] = json.dumps(body)
    assert len(event["Records"][0]["body"].encode()) == limit
    parsed = read_event(event)
    assert parsed.invalid == ()
    assert len(parsed.objects) == 4


def test_payload_text_over_the_lambda_limit_is_an_invalid_event() -> None:
    limit = events.MAX_PAYLOAD_BYTES
    assert limit == 6 * 1024 * 1024
    text = json.dumps(load_event("s3_put"))
    padded = text[:-1] + " " * (limit - len(text) + 1) + "}"
    assert len(padded) == limit + 1
    with pytest.raises(InvalidEventError) as caught:
        read_event(padded)
    assert caught.value.path == "$"
    assert bare(caught.value) == (
        f"{limit + 1} bytes of JSON text; a Lambda event is at most {limit} bytes (6 MiB)"
    )


def test_deep_value_in_a_mapping_payload_is_named_not_repr_d() -> None:
    # A Python caller may hand over any mapping; describing a bad value must
    # not recurse through it.
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    event = load_event("s3_put")
    event["Records"][0]["s3"]["object"]["size"] = value
    with pytest.raises(InvalidEventError) as caught:
        read_event(event)
    assert caught.value.path == "Records[0].s3.object.size"
    assert bare(caught.value) == "must be a whole number of bytes, got a list"


def _plan(path: Path, command: str = "plan") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3redshift.cli", command, str(path)],
        env={k: v for k, v in os.environ.items() if k != "S3REDSHIFT_CONFIG"} | SEED_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["plan", "invoke"])
@pytest.mark.parametrize("kind", ["deep", "oversized"])
def test_plan_exits_2_with_one_line_on_a_hostile_event_file(
    tmp_path: Path, kind: str, command: str
) -> None:
    path = tmp_path / "event.json"
    if kind == "deep":
        path.write_text(DEEP)
    else:
        text = json.dumps(load_event("s3_put"))
        path.write_text(text[:-1] + " " * (6 * 1024 * 1024) + "}")
    result = _plan(path, command)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("s3redshift: error: ")
    expected = "bytes of JSON text" if kind == "oversized" else "nested deeper than"
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
