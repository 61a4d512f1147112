"""Hostile sizes and nesting: one bad SQS message never fails its neighbours.

Python's JSON decoder recurses once per nesting level, so a body of 100,000
``[`` (100 KB, well inside SQS's limit) would raise ``RecursionError`` out of
the parser and fail the whole Lambda batch. The parser bounds nesting and size
before decoding; these tests hold it to that, through the library, the
handler's entry point (``read_event``) and the ``plan`` command.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s3redshift.events as events
from eventfixtures import EVENT_FIXTURES, load_event
from s3redshift.errors import InvalidEventError
from s3redshift.events import S3Object, parse_event, read_event
from test_events import _ABSENT, MESSAGE_ID, common_body, sqs_event
from test_hostile import EVENT_CASES, build_payload

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


def test_a_body_over_the_message_bound_in_a_member_it_knows_fails_alone() -> None:
    body = common_body(eTag="e" * events.MAX_MESSAGE_BYTES)
    [error] = read_event(sqs_event(body)).invalid
    assert (error.path, error.message_id) == ("Records[0].body", f"{MESSAGE_ID[:-2]}00")


def test_a_record_member_nested_past_the_bound_fails_its_message_not_the_payload() -> None:
    record = json.loads(common_body())["Records"][0]
    depth = events.MAX_JSON_DEPTH + 1
    record["s3"]["x"] = json.loads("[" * depth + "]" * depth)
    parsed = read_event(sqs_event(json.dumps({"Records": [record]})))
    assert parsed.objects == ()
    assert [e.path for e in parsed.invalid] == ["Records[0].body"]
    assert bare(parsed.invalid[0]).startswith("nested deeper than")


# --- generated and collected payloads: read, skipped or failed alone, never a crash ---------


def assert_each_message_stands_alone(event: dict[str, Any]) -> None:
    """Reading the SQS batch ``event`` raises nothing; each message is read or fails alone.

    A failed message's error points into its own body and it adds no object or
    skip, and every object read equals the one validation builds from its fields.
    """
    parsed = read_event(event)
    ids = [record["messageId"] for record in event["Records"]]
    for error in parsed.invalid:
        body = f"Records[{ids.index(error.message_id)}].body"
        assert error.path == body or error.path.startswith(f"{body}."), error.path
    failed = {e.message_id for e in parsed.invalid}
    assert not failed & {o.message_id for o in parsed.objects}
    assert not failed & {s.message_id for s in parsed.skipped}
    for obj in parsed.objects:
        assert obj == S3Object.model_validate(obj.model_dump())


def _choice(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


# Values for each field of an S3 record: what AWS writes, and everything the
# reader decodes, converts, skips or refuses. ``_ABSENT`` removes the field.
KEY_VALUES = (
    "kpis/2026/11/05/a.csv", "kpis/a b.csv", "kpis/a+b.csv", "kpis/a%20b.csv", "kpis/100%.csv",
    "kpis/%E2%82%AC.csv", "kpis/%FF.csv", "kpis/", "kpis/é.csv", "kpis/\ud800.csv", "", "+",
    "a" * events.MAX_KEY_BYTES, "a" * (events.MAX_KEY_BYTES + 1), "é" * 600, None, 17,
    ["kpis/a.csv"], _ABSENT,
)  # fmt: skip
SIZE_VALUES = (
    0, 1, 2048, -1, -0, 2**63, 2**64 + 1, 10**30, True, False, 1.0, 12.5, "12", "-1", "",
    "1.0", None, [], _ABSENT,
)  # fmt: skip
TEXT_VALUES = ("", '""', '"0a1b"', "0a1b", "null", "é", None, 7, False, {}, _ABSENT)
SEQUENCER_VALUES = ("0065A1B2C3D4E5F601", "00ff", "0x12", "", "12G", "٣", None, 5, _ABSENT)
TIME_VALUES = (
    "2026-11-05T09:15:02.345Z", "2026-11-05T09:15:02Z", "2026-11-05T09:15:02.3Z",
    "2026-11-05T09:15:02.123456789Z", "2026-11-05T09:15:02.345+02:00",
    "2026-11-05T09:15:02.345-0530", "2026-11-05T09:15:02.345", "2026-11-05 09:15:02Z",
    "2026-11-05T23:59:60Z", "2026-11-05", "20261105T091502Z", "2026-11-05T09:15:02.345z",
    "2026-11-05T09:15:02,345Z", "not a time", "", None, 1793870102, _ABSENT,
)  # fmt: skip
VERSION_VALUES = ("2.0", "2.1", "2.2", "2.3", "2.4", "2.10.1", "3.0", "1.0", "2", "", None, 2.1)
NAME_VALUES = (
    "ObjectCreated:Put", "s3:ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload",
    "ObjectRemoved:Delete", "s3:LifecycleExpiration:Delete", "ObjectRestore:Completed",
    "s3:s3:ObjectCreated:Put", "objectcreated:Put", "", None, 3, _ABSENT,
)  # fmt: skip
BUCKET_VALUES = ("acme-landing-eu", "a/b", "", None, 1, {"name": "x"}, _ABSENT)
SOURCE_VALUES = ("aws:s3", "aws:sqs", "aws:s3 ", "", None, _ABSENT)
OTHER_SOURCE_VALUES = ("aws:s3", "aws:sns", None)
MEMBER_VALUES = (_ABSENT, None, [], "x", {})

# Where each field is, from the record: the containers' names, then the member.
FIELD_VALUES: dict[tuple[str, ...], tuple[Any, ...]] = {
    ("s3", "object", "key"): KEY_VALUES,
    ("s3", "object", "size"): SIZE_VALUES,
    ("s3", "object", "eTag"): TEXT_VALUES,
    ("s3", "object", "versionId"): TEXT_VALUES,
    ("s3", "object", "sequencer"): SEQUENCER_VALUES,
    ("s3", "bucket", "name"): BUCKET_VALUES,
    ("eventTime",): TIME_VALUES,
    ("eventVersion",): VERSION_VALUES,
    ("eventName",): NAME_VALUES,
    ("eventSource",): SOURCE_VALUES,
    ("EventSource",): OTHER_SOURCE_VALUES,
    ("awsRegion",): TEXT_VALUES,
    ("userIdentity", "principalId"): TEXT_VALUES,
    ("s3", "bucket", "arn"): TEXT_VALUES,
    ("s3", "object"): MEMBER_VALUES,
    ("s3", "bucket"): MEMBER_VALUES,
    ("s3",): MEMBER_VALUES,
    ("userIdentity",): MEMBER_VALUES,
}
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_FREE_TEXT = {("s3", "object", "key"), ("s3", "object", "eTag"), ("eventTime",)}


def with_field(record: dict[str, Any], where: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``record`` with the member at ``where`` set to ``value`` (when its containers are there)."""
    container: Any = record
    for name in where[:-1]:
        container = container.get(name) if isinstance(container, dict) else None
    if isinstance(container, dict) and value is _ABSENT:
        container.pop(where[-1], None)
    elif isinstance(container, dict):
        container[where[-1]] = copy.deepcopy(value)  # the tables' lists and dicts stay as they are
    return record


def common_record() -> dict[str, Any]:
    """An S3 record as AWS writes it."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-05T09:15:02.345Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "s3redshift-created",
            "bucket": {
                "name": "acme-landing-eu",
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": "arn:aws:s3:::acme-landing-eu",
            },
            "object": {
                "key": "kpis/2026/11/05/a.csv",
                "size": 2048,
                "eTag": "0123456789abcdef0123456789abcdef",
                "sequencer": "0065A1B2C3D4E5F601",
            },
        },
    }


@pytest.mark.parametrize(
    ("where", "value"),
    [(where, value) for where, values in FIELD_VALUES.items() for value in values],
    # An id never holds an address (``<object object at 0x…>``): every
    # process that collects the tests (one per xdist worker) names them alike.
    ids=lambda v: (
        ".".join(v) if isinstance(v, tuple) else "absent" if v is _ABSENT else repr(v)[:24]
    ),
)
def test_every_field_value_is_read_or_fails_its_message_alone(
    where: tuple[str, ...], value: Any
) -> None:
    record = with_field(common_record(), where, value)
    for text in (json.dumps({"Records": [record]}), json.dumps({"Records": [record] * 2})):
        assert_each_message_stands_alone(sqs_event(text, common_body()))


@st.composite
def s3_records(draw: st.DrawFn) -> dict[str, Any]:
    """An S3 record as AWS writes it, then, field by field, maybe something else."""
    record = common_record()
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(sorted(FIELD_VALUES)))
        values = st.sampled_from(FIELD_VALUES[where])
        if where in _FREE_TEXT:
            values = st.one_of(values, _TEXT)
        with_field(record, where, draw(values))
    if draw(st.integers(0, 7)) == 0:
        with_field(record, ("s3", "x-unknown"), draw(st.sampled_from((1, [1, {"a": None}]))))
    return record


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """The JSON text of an SQS body: mostly S3 notifications, sometimes mangled text."""
    document: Any = {"Records": draw(st.lists(s3_records(), max_size=3))}
    shape = draw(_choice(*["records"] * 5, "no-records", "records-null", "test-event"))
    if shape == "no-records":
        document = {"Record": document["Records"]}
    elif shape == "records-null":
        document = {"Records": None}
    elif shape == "test-event":
        document = {"Event": "s3:TestEvent", "Bucket": "acme-landing-eu", **document}
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    mutation = draw(
        _choice(
            *[None] * 12, "bom", "space", "trailing", "escaped-name", "duplicate",
            "surrogate", "truncate", "nan", "deep", "long-integer", "long-size",
        )
    )  # fmt: skip
    if mutation == "bom":
        text = "\ufeff" + text
    elif mutation == "space":
        text = f" \n{text}\t "
    elif mutation == "trailing":
        text += " {}"
    elif mutation == "escaped-name":
        text = text.replace('"key"', '"k\\u0065y"').replace('"size"', '"\\u0073ize"')
    elif mutation == "duplicate":
        text = text.replace('"size": ', '"size": 7, "size": ').replace(
            '"key": ', '"key": "kpis/first.csv", "key": '
        )
    elif mutation == "surrogate":
        text = text.replace('"key": "', '"key": "\\ud800')
    elif mutation == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif mutation == "nan":
        text = text.replace('"size": 2048', '"size": NaN')
    elif mutation == "long-integer":
        digits = draw(_choice(4300, 4301, 6000))
        text = text.replace('"s3": {', '"s3": {"x": ' + "7" * digits + ", ", 1)
    elif mutation == "long-size":
        digits = draw(_choice(4300, 4301, 6000))
        text = text.replace('"size": 2048', '"size": ' + "7" * digits)
    elif mutation == "deep":
        depth = draw(
            _choice(events.MAX_JSON_DEPTH - 4, events.MAX_JSON_DEPTH, events.MAX_JSON_DEPTH + 1)
        )
        text = text.replace('"s3": {', '"s3": {"x": ' + "[" * depth + "]" * depth + ", ", 1)
    return text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bodies(), min_size=1, max_size=3))
def test_generated_bodies_are_read_or_fail_their_message_alone(texts: list[str]) -> None:
    assert_each_message_stands_alone(sqs_event(*texts))


def _as_sqs_bodies(document: Any) -> list[dict[str, Any]]:
    """``document`` as the body of an SQS message, and so is every body it holds itself."""
    payloads = [sqs_event(json.dumps(document))]
    for record in document.get("Records") or [] if isinstance(document, dict) else []:
        if isinstance(record, dict) and isinstance(record.get("body"), str):
            payloads.append(sqs_event(record["body"]))
    return payloads


def _read_or_refused(payload: Any) -> None:
    """Reading ``payload`` gives a result or an InvalidEventError, never another exception."""
    with contextlib.suppress(InvalidEventError):
        read_event(payload)


@pytest.mark.parametrize("fixture", sorted(p.stem for p in EVENT_FIXTURES.glob("*.json")), ids=str)
def test_every_fixture_event_is_read_or_refused_and_stands_alone_in_sqs(fixture: str) -> None:
    _read_or_refused(load_event(fixture))
    for event in _as_sqs_bodies(load_event(fixture)):
        assert_each_message_stands_alone(event)


# Reference payloads from other projects' test data (read only, never copied
# into this repository): beside the repository as ../shared, where present.
EXTERNAL_EVENTS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "events-external"


def _external_events() -> list[Path]:
    return sorted(EXTERNAL_EVENTS.glob("*.json")) if EXTERNAL_EVENTS.is_dir() else []


@pytest.mark.skipif(not _external_events(), reason=f"no reference events at {EXTERNAL_EVENTS}")
def test_every_external_reference_event_is_read_or_refused_and_stands_alone_in_sqs() -> None:
    for path in _external_events():
        document = json.loads(path.read_text(encoding="utf-8"))
        _read_or_refused(document)
        for event in _as_sqs_bodies(document):
            assert_each_message_stands_alone(event)


@pytest.mark.parametrize("case", EVENT_CASES, ids=[c["name"] for c in EVENT_CASES])
def test_every_hostile_event_is_read_or_refused(case: dict[str, Any]) -> None:
    _read_or_refused(build_payload(case["input"]))


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
