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

import copy
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

# Values for each field of an S3 record: what AWS writes, and everything the
# general reader decodes, converts, skips or refuses. ``_ABSENT`` removes it.
KEY_VALUES = (
    "kpis/2026/11/05/a.csv", "kpis/a b.csv", "kpis/a+b.csv", "kpis/a%20b.csv", "kpis/100%.csv",
    "kpis/%E2%82%AC.csv", "kpis/%FF.csv", "kpis/", "kpis/é.csv", "kpis/\ud800.csv", "", "+",
    "a" * MAX_KEY_BYTES, "a" * (MAX_KEY_BYTES + 1), "é" * 600, None, 17, ["kpis/a.csv"], _ABSENT,
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


def _set(container: dict[str, Any], name: str, value: Any) -> None:
    if value is _ABSENT:
        container.pop(name, None)
    else:
        container[name] = copy.deepcopy(value)  # the tables' lists and dicts stay as they are


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


def with_field(record: dict[str, Any], where: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``record`` with the member at ``where`` set to ``value`` (when its containers are there)."""
    container: Any = record
    for name in where[:-1]:
        container = container.get(name) if isinstance(container, dict) else None
    if isinstance(container, dict):
        _set(container, where[-1], value)
    return record


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


@pytest.mark.parametrize(
    ("where", "value"),
    [(where, value) for where, values in FIELD_VALUES.items() for value in values],
    # An id never holds an address (``<object object at 0x…>``): every
    # process that collects the tests (one per xdist worker) names them alike.
    ids=lambda v: (
        ".".join(v) if isinstance(v, tuple) else "absent" if v is _ABSENT else repr(v)[:24]
    ),
)
def test_every_field_value_reads_the_same_both_ways(where: tuple[str, ...], value: Any) -> None:
    record = with_field(common_record(), where, value)
    for text in (json.dumps({"Records": [record]}), json.dumps({"Records": [record] * 2})):
        assert_both_readers_agree(_sqs_event(text))


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
    assert _took_typed(_common_body(sequencer="0A", eTag=brackets))  # text, not nesting


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
        pytest.param(_common_body(note="x"), id="unknown-member"),
        pytest.param(
            _common_body().replace('"size": 10', '"size": ' + "7" * 4301),
            id="size-longer-than-json-reads",
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
    body = _common_body(eTag="e" * MAX_MESSAGE_BYTES)  # a member the typed reader knows
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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EventSource", "aws:sns"),
        ("EventSource", "aws:sqs"),
        ("EventSource", None),
        ("eventSource", "aws:sqs "),
        ("eventSource", None),
        ("eventSource", _ABSENT),
        ("messageId", ""),
        ("messageId", None),
        ("messageId", 5),
        ("messageId", _ABSENT),
        ("body", ""),
        ("body", None),
        ("body", {"Records": []}),
        ("body", _ABSENT),
    ],
    ids=lambda v: "absent" if v is _ABSENT else repr(v),
)
def test_every_sqs_record_variant_reads_the_same_both_ways(name: str, value: Any) -> None:
    event = _sqs_event(_common_body(), _common_body())
    _set(event["Records"][1], name, value)
    assert_both_readers_agree(event)
