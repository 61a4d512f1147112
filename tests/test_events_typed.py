"""The typed reader of SQS bodies reads exactly what the general reader reads.

:func:`~s3redshift.events.read_event` decodes each SQS body of the common
shape (an S3 notification whose every field passes the reader's checks) with
typed structures, and leaves every other body to the general reader. So the
result must never depend on which reader took a message: the same objects
(field for field, types included), the same skips and the same errors
(message, path, message id and URI). Each test here reads a payload both ways,
``fast_path=True`` and ``fast_path=False``, and compares everything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventfixtures import EVENT_FIXTURES, load_event
from s3redshift.errors import InvalidEventError
from s3redshift.events import (
    MAX_JSON_DEPTH,
    MAX_KEY_BYTES,
    MAX_MESSAGE_BYTES,
    ParsedEvent,
    _Found,
    _read_typed_message,
    read_event,
)
from test_hostile import EVENT_CASES, build_payload

# Reference payloads from other projects' test data (read only, never copied
# into this repository): beside the repository as ../shared, where present.
EXTERNAL_EVENTS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "events-external"
MESSAGE_ID = "6a1f0c4e-3b2d-4e5f-9a8b-7c6d5e4f3a2b"


# --- comparing the two readers -----------------------------------------------------------


def _error_facts(error: InvalidEventError) -> tuple[Any, ...]:
    return (type(error), str(error), error.path, error.message_id, error.s3_uri)


def _parsed_facts(parsed: ParsedEvent) -> tuple[Any, ...]:
    """Everything a ParsedEvent says, with the type of every object field."""
    objects = [
        (
            type(o),
            [(name, type(value), repr(value)) for name, value in o.__dict__.items()],
            sorted(o.model_fields_set),
            o.__pydantic_extra__,
        )
        for o in parsed.objects
    ]
    invalid = [_error_facts(e) for e in parsed.invalid]
    return (objects, list(parsed.skipped), invalid)


def _read_facts(payload: Any, *, fast_path: bool) -> tuple[Any, ...]:
    try:
        return ("parsed", _parsed_facts(read_event(payload, fast_path=fast_path)))
    except InvalidEventError as exc:
        return ("raised", _error_facts(exc))


def assert_both_readers_agree(payload: Any) -> tuple[Any, ...]:
    general = _read_facts(payload, fast_path=False)
    assert _read_facts(payload, fast_path=True) == general
    return general


def _sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch of ``bodies``, one message each."""
    template = load_event("sqs_batch")["Records"][0]
    return {
        "Records": [
            {**template, "messageId": f"{MESSAGE_ID[:-2]}{n:02d}", "body": body}
            for n, body in enumerate(bodies)
        ]
    }


def _took_typed(body: str, found: _Found | None = None) -> bool:
    """Whether the typed reader read the message of ``body`` (into ``found``)."""
    record = _sqs_event(body)["Records"][0]
    return _read_typed_message(record, "Records[0]", found or _Found())


# --- generated S3 records: the common shape and every kind of deviation ------------------


def _choice(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


_ABSENT = object()

_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_KEYS = st.one_of(
    _choice(
        "kpis/2026/11/05/a.csv",
        "kpis/a b.csv",
        "kpis/a+b.csv",
        "kpis/a%20b.csv",
        "kpis/100%.csv",
        "kpis/%E2%82%AC.csv",
        "kpis/%FF.csv",
        "kpis/",
        "kpis/é.csv",
        "kpis/\ud800.csv",
        "",
        "+",
        "a" * MAX_KEY_BYTES,
        "a" * (MAX_KEY_BYTES + 1),
        "é" * 600,
        None,
        17,
        ["kpis/a.csv"],
    ),
    st.text(_choice("a", "/", "+", "%", "2", "0", "é", " ", ".", "\x00"), max_size=8),
)
_SIZES = _choice(
    0, 1, 2048, -1, -0, 2**63, 2**64 + 1, 10**30, True, False, 1.0, 12.5, "12", "-1", "",
    "1.0", None, [], _ABSENT,
)  # fmt: skip
_OPTIONAL_TEXT = st.one_of(_choice("", '""', '"0a1b"', "null", None, 7, False, _ABSENT), _TEXT)
_SEQUENCERS = st.one_of(
    _choice("0065A1B2C3D4E5F601", "00ff", "0x12", "", "12G", "٣", None, 5, _ABSENT), _TEXT
)
_TIMES = st.one_of(
    _choice(
        "2026-11-05T09:15:02.345Z",
        "2026-11-05T09:15:02Z",
        "2026-11-05T09:15:02.3Z",
        "2026-11-05T09:15:02.123456789Z",
        "2026-11-05T09:15:02.345+02:00",
        "2026-11-05T09:15:02.345-0530",
        "2026-11-05T09:15:02.345",
        "2026-11-05 09:15:02Z",
        "2026-11-05T23:59:60Z",
        "2026-11-05",
        "20261105T091502Z",
        "2026-11-05T09:15:02.345z",
        "not a time",
        "",
        None,
        1793870102,
        _ABSENT,
    ),
    _TEXT,
)
_VERSIONS = _choice("2.0", "2.1", "2.2", "2.3", "2.4", "2.10.1", "3.0", "1.0", "2", "", None, 2.1)
_NAMES = _choice(
    "ObjectCreated:Put",
    "s3:ObjectCreated:Copy",
    "ObjectCreated:CompleteMultipartUpload",
    "ObjectRemoved:Delete",
    "s3:LifecycleExpiration:Delete",
    "ObjectRestore:Completed",
    "",
    None,
    3,
    _ABSENT,
)
_BUCKETS = _choice("acme-landing-eu", "a/b", "", None, 1, {"name": "x"}, _ABSENT)
_SOURCES = _choice("aws:s3", "aws:sqs", "aws:s3 ", "", None, _ABSENT)
_OTHER_SOURCES = _choice(_ABSENT, _ABSENT, "aws:s3", "aws:sns", None)


def _set(container: dict[str, Any], name: str, value: Any) -> None:
    if value is _ABSENT:
        container.pop(name, None)
    else:
        container[name] = value


@st.composite
def s3_records(draw: st.DrawFn) -> dict[str, Any]:
    """An S3 record as AWS writes it, then, field by field, maybe something else."""
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-05T09:15:02.345Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "acme-landing-eu", "arn": "arn:aws:s3:::acme-landing-eu"},
            "object": {
                "key": "kpis/2026/11/05/a.csv",
                "size": 2048,
                "eTag": "0123456789abcdef0123456789abcdef",
                "sequencer": "0065A1B2C3D4E5F601",
            },
        },
    }
    fields = record["s3"]["object"]
    changes = draw(st.integers(0, 3))
    for _ in range(changes):
        field = draw(
            _choice(
                "key", "size", "eTag", "versionId", "sequencer", "eventTime", "eventVersion",
                "eventName", "bucket", "eventSource", "EventSource",
            )
        )  # fmt: skip
        if field == "key":
            _set(fields, "key", draw(_KEYS))
        elif field == "size":
            _set(fields, "size", draw(_SIZES))
        elif field in ("eTag", "versionId"):
            _set(fields, field, draw(_OPTIONAL_TEXT))
        elif field == "sequencer":
            _set(fields, "sequencer", draw(_SEQUENCERS))
        elif field == "eventTime":
            _set(record, "eventTime", draw(_TIMES))
        elif field == "eventVersion":
            _set(record, "eventVersion", draw(_VERSIONS))
        elif field == "eventName":
            _set(record, "eventName", draw(_NAMES))
        elif field == "bucket":
            _set(record["s3"]["bucket"], "name", draw(_BUCKETS))
        elif field == "eventSource":
            _set(record, "eventSource", draw(_SOURCES))
        else:
            _set(record, "EventSource", draw(_OTHER_SOURCES))
    if draw(st.booleans()):
        fields["x-unknown"] = draw(_choice(1, "x", [1, {"a": None}], {"deep": {"er": [[]]}}))
    replaced = draw(_choice(None, None, None, None, "s3", "object", "bucket"))
    if replaced is not None:  # a member of the wrong kind, last: the others are inside it
        container = record if replaced == "s3" else record["s3"]
        _set(container, replaced, draw(_choice(_ABSENT, None, [], "x", {})))
    return record


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """The JSON text of an SQS body: mostly S3 notifications, sometimes mangled text."""
    document: Any = {"Records": draw(st.lists(s3_records(), max_size=3))}
    shape = draw(
        _choice("records", "records", "records", "no-records", "records-null", "test-event")
    )
    if shape == "no-records":
        document = {"Record": document["Records"]}
    elif shape == "records-null":
        document = {"Records": None}
    elif shape == "test-event":
        document = {"Event": "s3:TestEvent", "Bucket": "acme-landing-eu", **document}
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    mutation = draw(
        _choice(
            None, None, None, "bom", "space", "trailing", "escaped-name", "duplicate",
            "surrogate", "truncate", "nan", "deep", "long-integer",
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
    elif mutation == "deep":
        depth = draw(_choice(MAX_JSON_DEPTH - 4, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1))
        text = text.replace('"s3": {', '"s3": {"x": ' + "[" * depth + "]" * depth + ", ", 1)
    return text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bodies(), min_size=1, max_size=3))
def test_generated_bodies_read_the_same_both_ways(texts: list[str]) -> None:
    assert_both_readers_agree(_sqs_event(*texts))


# --- what the typed reader takes, and what it leaves --------------------------------------


def _common_body(**object_fields: Any) -> str:
    record = json.loads(load_event("sqs_batch")["Records"][0]["body"])["Records"][0]
    record["s3"]["object"].update(object_fields)
    return json.dumps({"Records": [record]})


def test_the_typed_reader_takes_the_bodies_aws_writes() -> None:
    for record in load_event("sqs_batch")["Records"]:
        assert _took_typed(record["body"])
    assert _took_typed(_common_body(versionId="3HL4kqtJlcpXroDTDmJ"))
    removed = json.loads(_common_body())
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert _took_typed(json.dumps(removed))
    brackets = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert _took_typed(_common_body(note=brackets))  # text, not nesting


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_common_body(key="kpis/a+b.csv"), id="key-to-decode"),
        pytest.param(_common_body(size="12"), id="size-as-text"),
        pytest.param(_common_body(size=-1), id="negative-size"),
        pytest.param(_common_body(size=True), id="boolean-size"),
        pytest.param(_common_body(size=1.0), id="float-size"),
        pytest.param(_common_body(sequencer="12G"), id="non-hex-sequencer"),
        pytest.param("\ufeff" + _common_body(), id="byte-order-mark"),
        pytest.param(_common_body().replace("Z", ""), id="time-without-offset"),
        pytest.param(_common_body(key="kpis/\ud800"), id="lone-surrogate"),
        pytest.param(
            _common_body().replace('"key"', '"n": ' + "7" * 4301 + ', "key"'),
            id="integer-longer-than-json-reads",
        ),
        pytest.param(json.dumps({"Event": "s3:TestEvent"}), id="test-event"),
        pytest.param(
            json.dumps(json.loads(load_event("eventbridge_sqs")["Records"][0]["body"])),
            id="eventbridge",
        ),
        pytest.param(load_event("sns_sqs_envelope")["Records"][0]["body"], id="sns-envelope"),
    ],
)
def test_the_typed_reader_leaves_every_other_body_alone(body: str) -> None:
    found = _Found()
    assert not _took_typed(body, found)
    assert found.objects == []
    assert found.skipped == []
    assert_both_readers_agree(_sqs_event(body))


def test_a_body_over_the_message_bound_reads_the_same_both_ways() -> None:
    body = _common_body(padding="p" * MAX_MESSAGE_BYTES)
    assert not _took_typed(body)
    [error] = read_event(_sqs_event(body)).invalid
    assert error.path == "Records[0].body"
    assert_both_readers_agree(_sqs_event(body))


def test_a_body_nested_past_the_depth_bound_reads_the_same_both_ways() -> None:
    record = json.loads(_common_body())["Records"][0]
    record["s3"]["x"] = json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    body = json.dumps({"Records": [record]})
    assert not _took_typed(body)
    facts = assert_both_readers_agree(_sqs_event(body))
    assert facts[0] == "parsed"
    assert facts[1][2][0][2] == "Records[0].body"


# --- the payloads the other tests read ---------------------------------------------------


def _as_sqs_bodies(document: Any) -> list[Any]:
    """``document`` as it is, and as the body of an SQS message when it is not one itself."""
    payloads = [document]
    if isinstance(document, dict):
        payloads.append(_sqs_event(json.dumps(document)))
        for record in document.get("Records") or []:
            if isinstance(record, dict) and isinstance(record.get("body"), str):
                payloads.append(_sqs_event(record["body"]))
    return payloads


@pytest.mark.parametrize("fixture", sorted(p.stem for p in EVENT_FIXTURES.glob("*.json")), ids=str)
def test_every_fixture_event_reads_the_same_both_ways(fixture: str) -> None:
    for payload in _as_sqs_bodies(load_event(fixture)):
        assert_both_readers_agree(payload)


def _external_events() -> list[Path]:
    return sorted(EXTERNAL_EVENTS.glob("*.json")) if EXTERNAL_EVENTS.is_dir() else []


@pytest.mark.skipif(not _external_events(), reason=f"no reference events at {EXTERNAL_EVENTS}")
def test_every_external_reference_event_reads_the_same_both_ways() -> None:
    for path in _external_events():
        document = json.loads(path.read_text(encoding="utf-8"))
        for payload in _as_sqs_bodies(document):
            assert_both_readers_agree(payload)


@pytest.mark.parametrize("case", EVENT_CASES, ids=[c["name"] for c in EVENT_CASES])
def test_every_hostile_event_reads_the_same_both_ways(case: dict[str, Any]) -> None:
    assert_both_readers_agree(build_payload(case["input"]))
