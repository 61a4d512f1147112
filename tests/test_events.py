from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from eventfixtures import EVENT_FIXTURES, event_text, load_event
from s3redshift.errors import InvalidEventError, PermanentError
from s3redshift.events import (
    MAX_JSON_DEPTH,
    MAX_KEY_BYTES,
    SKIP_CLOUDTRAIL_API_CALL,
    SKIP_FOLDER_MARKER,
    SKIP_NOT_OBJECT_CREATED,
    SKIP_OBJECT_REMOVED,
    SKIP_TEST_EVENT,
    ParsedEvent,
    S3Object,
    SkippedRecord,
    parse_event,
    read_event,
    sequencer_key,
    sequencer_order,
)

BUCKET = "acme-landing-eu"
BATCH_IDS = (
    "059f36b4-87a3-44ab-83d2-661975830a7d",
    "2e1424d4-f796-459a-8184-9c92662be6da",
    "9a4d7cb1-3c8e-4b62-9d0e-5d3f8f1c2a01",
)


def bare(error: InvalidEventError) -> str:
    """The error's message without the " at PATH [in SQS message ID]" it ends with."""
    located = f" at {error.path}" + (
        f" in SQS message {error.message_id}" if error.message_id else ""
    )
    assert error.message.endswith(located)
    return error.message.removesuffix(located)


def _s3_record(key: str, **object_fields: Any) -> dict[str, Any]:
    """A minimal S3 notification record, as S3 writes it (key already encoded)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-05T09:15:02.345Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
            "object": {"key": key, **object_fields},
        },
    }


def _eventbridge(key: str, **object_fields: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-05T09:15:02Z",
        "region": "eu-west-1",
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {"key": key, **object_fields},
            "reason": "PutObject",
        },
    }


def _with_body(event: dict[str, Any], index: int, change: Callable[[Any], Any]) -> dict[str, Any]:
    """``event`` with SQS record ``index``'s decoded body passed through ``change``."""
    event = copy.deepcopy(event)
    record = event["Records"][index]
    record["body"] = json.dumps(change(json.loads(record["body"])))
    return event


def _invalid(payload: Any) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        read_event(payload)
    return caught.value


# --- the delivery paths --------------------------------------------------------


def test_direct_put_reads_every_field() -> None:
    [obj] = parse_event(load_event("s3_put"))
    assert obj == S3Object(
        bucket=BUCKET,
        key="kpis/2026/11/05/daily.csv",
        size=2048,
        etag="0123456789abcdef0123456789abcdef",
        version_id=None,
        sequencer="0065A1B2C3D4E5F601",
        event_time=datetime(2026, 11, 5, 9, 15, 2, 345000, tzinfo=UTC),
        message_id=None,
        event_name="ObjectCreated:Put",
    )
    assert obj.uri == "s3://acme-landing-eu/kpis/2026/11/05/daily.csv"
    assert obj.identity == "0123456789abcdef0123456789abcdef"


def test_multi_record_event_returns_every_record_in_order() -> None:
    objects = parse_event(load_event("s3_multi_record"))
    assert [(o.bucket, o.key, o.size, o.event_name) for o in objects] == [
        (BUCKET, "kpis/2026/11/05/a.csv", 100, "ObjectCreated:Put"),
        (BUCKET, "orders/2026/11/05/b.json.gz", 200, "ObjectCreated:Post"),
        ("acme-landing-eu-archive", "kpis/2026/11/05/c.csv", 300, "ObjectCreated:Copy"),
    ]
    assert objects[2].sequencer is None
    assert objects[2].event_time == datetime(2026, 11, 5, 9, 15, 4, 500000, tzinfo=UTC)


def test_complete_multipart_upload_with_version_id() -> None:
    [obj] = parse_event(load_event("s3_multipart_versioned"))
    assert obj.bucket == "acme-landing-versioned"
    assert obj.key == "events/2026/11/05/big.parquet"
    assert obj.size == 104_857_600
    assert obj.etag == "d41d8cd98f00b204e9800998ecf8427e-12"
    assert obj.version_id == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert obj.identity == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert obj.event_name == "ObjectCreated:CompleteMultipartUpload"


def test_sqs_batch_tags_each_object_with_its_message() -> None:
    parsed = read_event(load_event("sqs_batch"))
    assert [(o.key, o.size, o.message_id) for o in parsed.objects] == [
        ("kpis/2026/11/05/m1.csv", 10, BATCH_IDS[0]),
        ("kpis/2026/11/05/m2a.csv", 20, BATCH_IDS[1]),
        ("orders/2026/11/05/m2b.csv", 21, BATCH_IDS[1]),
        ("kpis/2026/11/05/m3.csv", 30, BATCH_IDS[2]),
    ]
    assert parsed.skipped == ()
    assert parsed.invalid == ()


def test_sns_to_lambda_decodes_the_message_and_has_no_sqs_message_id() -> None:
    [obj] = parse_event(load_event("sns_lambda"))
    assert (obj.bucket, obj.key, obj.size) == (BUCKET, "kpis/2026/11/05/via sns.csv", 512)
    assert obj.etag == "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
    assert obj.message_id is None


@pytest.mark.parametrize(
    ("fixture", "message_id"),
    [
        ("sns_sqs_envelope", "c80e8021-a70a-42c7-a470-796e1186f753"),
        ("sns_sqs_raw", "d1a6b7c2-0e4f-4a8b-9c3d-2f1e0a9b8c7d"),
    ],
)
def test_sns_to_sqs_with_and_without_raw_delivery(fixture: str, message_id: str) -> None:
    [obj] = parse_event(load_event(fixture))
    assert obj.key == "kpis/2026/11/05/via sns.csv"
    assert obj.sequencer == "0065A1B2C3D4E5F620"
    assert obj.message_id == message_id


def test_eventbridge_direct_keeps_the_key_as_is() -> None:
    [obj] = parse_event(load_event("eventbridge_created"))
    assert obj == S3Object(
        bucket=BUCKET,
        key="exports/2026-11-05T14:03:40.532432.zip",
        size=5,
        etag="b1946ac92492d2347c6235b4d2611184",
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        sequencer="617f08299329d189",
        event_time=datetime(2026, 11, 5, 9, 15, 2, tzinfo=UTC),
        event_name="Object Created",
    )


def test_eventbridge_through_sqs_does_not_decode_plus() -> None:
    [obj] = parse_event(load_event("eventbridge_sqs"))
    assert obj.key == "exports/a+b c.csv"
    assert obj.uri == "s3://acme-landing-eu/exports/a+b c.csv"
    assert obj.message_id == "7b3e2c1d-4a5f-4e6d-8b9c-1a2b3c4d5e6f"
    assert obj.version_id is None
    assert obj.identity == "f00df00df00df00df00df00df00df00d"


def test_text_and_bytes_payloads_read_like_the_mapping() -> None:
    text = event_text("sqs_batch")
    expected = read_event(load_event("sqs_batch"))
    assert read_event(text) == expected
    assert read_event(text.encode("utf-8")) == expected


def test_empty_records_list_is_an_empty_result() -> None:
    assert read_event({"Records": []}) == ParsedEvent()


# --- skipped records -------------------------------------------------------------


def test_test_event_direct_is_skipped() -> None:
    parsed = read_event(load_event("test_event"))
    assert parsed == ParsedEvent(skipped=(SkippedRecord("$", SKIP_TEST_EVENT, None, None),))
    assert parse_event(load_event("test_event")) == []


def test_test_event_through_sqs_is_skipped_with_its_message_id() -> None:
    parsed = read_event(load_event("test_event_sqs"))
    assert parsed.objects == ()
    assert parsed.invalid == ()
    assert parsed.skipped == (
        SkippedRecord(
            "Records[0].body", SKIP_TEST_EVENT, None, "3f0c9e2b-8d7a-4c6b-9e5f-0a1b2c3d4e5f"
        ),
    )


def test_test_event_through_sns_envelope_is_skipped() -> None:
    event = _with_body(
        load_event("sns_sqs_envelope"),
        0,
        lambda body: {**body, "Message": event_text("test_event")},
    )
    parsed = read_event(event)
    assert parsed.skipped == (
        SkippedRecord(
            "Records[0].body.Message",
            SKIP_TEST_EVENT,
            None,
            "c80e8021-a70a-42c7-a470-796e1186f753",
        ),
    )


def test_removal_events_are_skipped_with_their_uri() -> None:
    parsed = read_event(load_event("s3_removed"))
    assert parsed.objects == ()
    assert parsed.skipped == (
        SkippedRecord(
            "Records[0]", SKIP_OBJECT_REMOVED, "s3://acme-landing-eu/kpis/2026/11/05/gone.csv"
        ),
        SkippedRecord(
            "Records[1]",
            SKIP_OBJECT_REMOVED,
            "s3://acme-landing-versioned/kpis/2026/11/05/marked.csv",
        ),
        SkippedRecord(
            "Records[2]", SKIP_OBJECT_REMOVED, "s3://acme-landing-eu/kpis/2026/11/05/expired.csv"
        ),
    )


def test_other_s3_event_names_are_skipped_as_not_created() -> None:
    parsed = read_event(load_event("s3_not_created"))
    assert parsed.objects == ()
    assert [(s.path, s.reason, s.uri) for s in parsed.skipped] == [
        ("Records[0]", SKIP_NOT_OBJECT_CREATED, "s3://acme-landing-eu/cold/2026/restored.csv"),
        ("Records[1]", SKIP_NOT_OBJECT_CREATED, "s3://acme-landing-eu/kpis/2026/11/05/replica.csv"),
        (
            "Records[2]",
            SKIP_NOT_OBJECT_CREATED,
            "s3://acme-landing-eu/kpis/2026/11/05/transitioned.csv",
        ),
        ("Records[3]", SKIP_NOT_OBJECT_CREATED, "s3://acme-landing-eu/kpis/2026/11/05/tagged.csv"),
    ]


def test_eventbridge_deleted_and_other_detail_types_are_skipped() -> None:
    deleted = read_event(load_event("eventbridge_deleted"))
    assert deleted == ParsedEvent(
        skipped=(SkippedRecord("$", SKIP_OBJECT_REMOVED, "s3://acme-landing-eu/exports/old.csv"),)
    )
    restored = read_event(load_event("eventbridge_restore"))
    assert restored == ParsedEvent(
        skipped=(
            SkippedRecord("$", SKIP_NOT_OBJECT_CREATED, "s3://acme-landing-eu/exports/cold.csv"),
        )
    )


def test_folder_marker_is_skipped_but_a_slash_key_with_data_is_kept() -> None:
    parsed = read_event(load_event("folder_marker"))
    assert parsed.skipped == (
        SkippedRecord("Records[0]", SKIP_FOLDER_MARKER, "s3://acme-landing-eu/kpis/2026/"),
    )
    assert [(o.key, o.size) for o in parsed.objects] == [
        ("kpis/notes/", 12),
        ("kpis/2026/11/05/empty.csv", 0),
    ]


def test_event_name_with_s3_prefix_is_still_recognised() -> None:
    record = _s3_record("a.csv", size=1)
    record["eventName"] = "s3:ObjectCreated:Put"
    [obj] = parse_event({"Records": [record]})
    assert obj.event_name == "s3:ObjectCreated:Put"


# --- keys --------------------------------------------------------------------------


def test_notification_keys_are_decoded_exactly_once() -> None:
    keys = [o.key for o in parse_event(load_event("keys_encoded"))]
    assert keys == [
        "reports/my file(1).csv",
        "reports/a+b.csv",
        "reports/q3 summary final.csv",
        "reports/2026/11/slash.csv",
        "reports/café.csv",
        "reports/数据.csv",
        "reports/100% done.csv",
    ]


def test_a_1024_byte_key_is_accepted() -> None:
    [obj] = parse_event(load_event("long_key"))
    assert obj.key == "long/" + "é" * 507 + "x.csv"
    assert len(obj.key.encode("utf-8")) == MAX_KEY_BYTES == 1024


def test_a_1025_byte_key_is_malformed() -> None:
    event = load_event("long_key")
    event["Records"][0]["s3"]["object"]["key"] = "long/" + "%C3%A9" * 507 + "xy.csv"
    err = _invalid(event)
    assert err.path == "Records[0].s3.object.key"
    assert "1025 bytes" in err.message


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=256))
def test_any_key_round_trips_through_both_encodings(key: str) -> None:
    notification = {"Records": [_s3_record(quote_plus(key), size=1, eTag="e")]}
    assert [o.key for o in parse_event(notification)] == [key]
    assert [o.key for o in parse_event(_eventbridge(key, size=1, etag="e"))] == [key]


# --- malformed payloads -----------------------------------------------------------


_DROP = object()


def _s3_event(**changes: Any) -> dict[str, Any]:
    """The direct put fixture with dotted-path fields of record 0 replaced or removed."""
    event = load_event("s3_put")
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = event["Records"][0]
        for name in parents:
            target = target[name]
        if value is _DROP:
            del target[last]
        else:
            target[last] = value
    return event


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        pytest.param("{not json", "$", id="not-json"),
        pytest.param(b"\xff\xfe", "$", id="not-utf8"),
        pytest.param("[1, 2]", "$", id="json-list"),
        pytest.param([1, 2], "$", id="python-list"),
        pytest.param({}, "Records", id="no-records"),
        pytest.param({"Records": {}}, "Records", id="records-not-list"),
        pytest.param({"Records": ["x"]}, "Records[0]", id="record-not-object"),
        pytest.param({"Records": [{}]}, "Records[0].eventSource", id="no-event-source"),
        pytest.param(
            {"Records": [{"eventSource": "aws:kinesis"}]},
            "Records[0].eventSource",
            id="unknown-event-source",
        ),
        pytest.param(
            {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "nope"}}]},
            "Records[0].Sns.Message",
            id="sns-message-not-json",
        ),
        pytest.param(_s3_event(eventVersion="1.0"), "Records[0].eventVersion", id="version-1"),
        pytest.param(_s3_event(eventVersion="3.0"), "Records[0].eventVersion", id="version-3"),
        pytest.param(_s3_event(eventVersion=_DROP), "Records[0].eventVersion", id="no-version"),
        pytest.param(_s3_event(eventVersion=2.1), "Records[0].eventVersion", id="version-number"),
        pytest.param(_s3_event(eventName=_DROP), "Records[0].eventName", id="no-event-name"),
        pytest.param(_s3_event(s3=_DROP), "Records[0].s3", id="no-s3"),
        pytest.param(
            _s3_event(s3__bucket__name=_DROP), "Records[0].s3.bucket.name", id="no-bucket"
        ),
        pytest.param(
            _s3_event(s3__bucket__name=""), "Records[0].s3.bucket.name", id="empty-bucket"
        ),
        pytest.param(_s3_event(s3__object__key=_DROP), "Records[0].s3.object.key", id="no-key"),
        pytest.param(_s3_event(s3__object__key=7), "Records[0].s3.object.key", id="key-number"),
        pytest.param(
            _s3_event(s3__object__key="%FF.csv"), "Records[0].s3.object.key", id="key-not-utf8"
        ),
        pytest.param(_s3_event(s3__object__size="abc"), "Records[0].s3.object.size", id="size-s"),
        pytest.param(_s3_event(s3__object__size=1.5), "Records[0].s3.object.size", id="size-f"),
        pytest.param(_s3_event(s3__object__size=True), "Records[0].s3.object.size", id="size-b"),
        pytest.param(_s3_event(s3__object__size=-1), "Records[0].s3.object.size", id="size-neg"),
        pytest.param(_s3_event(s3__object__eTag=12), "Records[0].s3.object.eTag", id="etag-num"),
        pytest.param(
            _s3_event(s3__object__sequencer="not-hex"),
            "Records[0].s3.object.sequencer",
            id="sequencer-not-hex",
        ),
        pytest.param(_s3_event(eventTime="yesterday"), "Records[0].eventTime", id="time-text"),
        pytest.param(
            _s3_event(eventTime="2026-11-05T09:15:02"), "Records[0].eventTime", id="time-naive"
        ),
        pytest.param(
            {**_eventbridge("a.csv", size=1), "source": "aws.ec2"}, "source", id="eb-source"
        ),
        pytest.param(
            {**_eventbridge("a.csv", size=1), "detail": {"bucket": {"name": BUCKET}}},
            "detail.object",
            id="eb-no-object",
        ),
        pytest.param(
            _eventbridge("a.csv", size="1 KB"), "detail.object.size", id="eb-size-not-integer"
        ),
        pytest.param(
            {"Service": "Amazon S3", "Event": "s3:SomethingElse"}, "Event", id="other-service-event"
        ),
    ],
)
def test_malformed_payload_names_the_path(payload: Any, path: str) -> None:
    err = _invalid(payload)
    assert err.path == path
    assert err.message_id is None
    assert isinstance(err, PermanentError)
    assert f" at {path}" in str(err)


def test_error_after_the_key_is_known_names_the_object() -> None:
    err = _invalid(_s3_event(s3__object__size="12x"))
    assert err.s3_uri == "s3://acme-landing-eu/kpis/2026/11/05/daily.csv"
    assert str(err) == (
        "must be a whole number of bytes, got a string '12x' at Records[0].s3.object.size "
        "(object s3://acme-landing-eu/kpis/2026/11/05/daily.csv)"
    )


def test_size_as_a_decimal_string_is_accepted() -> None:
    [obj] = parse_event(_s3_event(s3__object__size="2048"))
    assert obj.size == 2048


def test_any_minor_event_version_of_major_2_is_accepted() -> None:
    for version in ("2.0", "2.1", "2.2", "2.3", "2.4", "2.17"):
        [obj] = parse_event(_s3_event(eventVersion=version))
        assert obj.key == "kpis/2026/11/05/daily.csv"


def test_direct_batch_is_strict_about_every_record() -> None:
    event = load_event("s3_multi_record")
    del event["Records"][1]["s3"]["object"]["key"]
    err = _invalid(event)
    assert err.path == "Records[1].s3.object.key"


def test_nested_error_in_sns_to_lambda_names_the_full_path() -> None:
    event = load_event("sns_lambda")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    del message["Records"][0]["s3"]["object"]["key"]
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    err = _invalid(event)
    assert err.path == "Records[0].Sns.Message.Records[0].s3.object.key"
    assert err.message_id is None


# --- SQS batches: one bad message fails alone ---------------------------------------


def test_sqs_batch_with_one_malformed_message_keeps_the_others() -> None:
    parsed = read_event(load_event("sqs_batch_one_malformed"))
    assert [(o.key, o.message_id) for o in parsed.objects] == [
        ("kpis/2026/11/05/m1.csv", BATCH_IDS[0]),
        ("kpis/2026/11/05/m3.csv", BATCH_IDS[2]),
    ]
    [err] = parsed.invalid
    assert err.path == "Records[1].body"
    assert err.message_id == BATCH_IDS[1]
    assert str(err).endswith(f" at Records[1].body in SQS message {BATCH_IDS[1]}")
    with pytest.raises(InvalidEventError) as caught:
        parse_event(load_event("sqs_batch_one_malformed"))
    assert caught.value is not err  # a new parse, an equal error
    assert (caught.value.path, caught.value.message_id) == ("Records[1].body", BATCH_IDS[1])


def test_a_message_with_one_bad_record_contributes_nothing() -> None:
    def break_second_record(body: Any) -> Any:
        body["Records"][1]["s3"]["object"]["key"] = 42
        return body

    parsed = read_event(_with_body(load_event("sqs_batch"), 1, break_second_record))
    assert [o.message_id for o in parsed.objects] == [BATCH_IDS[0], BATCH_IDS[2]]
    [err] = parsed.invalid
    assert err.path == "Records[1].body.Records[1].s3.object.key"
    assert err.message_id == BATCH_IDS[1]


@pytest.mark.parametrize(
    ("fixture", "change", "path"),
    [
        pytest.param(
            "sns_sqs_envelope",
            lambda body: {**body, "Type": "SubscriptionConfirmation"},
            "Records[0].body.Type",
            id="sns-subscription-confirmation",
        ),
        pytest.param(
            "sns_sqs_envelope",
            lambda body: {**body, "Message": "{"},
            "Records[0].body.Message",
            id="sns-message-not-json",
        ),
        pytest.param(
            "sns_sqs_envelope",
            lambda body: {
                **body,
                "Message": json.dumps({"Records": [_s3_record("a.csv", size="big")]}),
            },
            "Records[0].body.Message.Records[0].s3.object.size",
            id="sns-inner-size",
        ),
        pytest.param(
            "sqs_batch",
            lambda body: {"Records": [{**body["Records"][0], "eventSource": "aws:sqs"}]},
            "Records[0].body.Records[0].eventSource",
            id="sqs-inside-sqs",
        ),
        pytest.param(
            "sqs_batch",
            lambda body: ["not", "an", "object"],
            "Records[0].body",
            id="body-json-list",
        ),
        pytest.param(
            "eventbridge_sqs",
            lambda body: {**body, "time": 1793870102},
            "Records[0].body.time",
            id="eventbridge-unix-time",
        ),
        pytest.param(
            "eventbridge_sqs",
            lambda body: {k: v for k, v in body.items() if k != "detail"},
            "Records[0].body.detail",
            id="eventbridge-no-detail",
        ),
    ],
)
def test_malformed_sqs_message_is_collected_with_its_path_and_message_id(
    fixture: str, change: Callable[[Any], Any], path: str
) -> None:
    event = load_event(fixture)
    message_id = event["Records"][0]["messageId"]
    parsed = read_event(_with_body(event, 0, change))
    assert [(e.path, e.message_id) for e in parsed.invalid] == [(path, message_id)]
    assert all(o.message_id != message_id for o in parsed.objects)


def test_sqs_record_without_message_id_fails_the_whole_payload() -> None:
    event = load_event("sqs_batch")
    del event["Records"][2]["messageId"]
    err = _invalid(event)
    assert err.path == "Records[2].messageId"
    assert err.message_id is None


def test_sqs_record_without_body_is_collected() -> None:
    event = load_event("sqs_batch")
    del event["Records"][0]["body"]
    parsed = read_event(event)
    assert [(e.path, e.message_id) for e in parsed.invalid] == [("Records[0].body", BATCH_IDS[0])]
    assert len(parsed.objects) == 3


# --- SQS messages of every shape -----------------------------------------------------

MESSAGE_ID = "6a1f0c4e-3b2d-4e5f-9a8b-7c6d5e4f3a2b"
_ABSENT = object()


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch of ``bodies``, one message each (ids ending 00, 01, ...)."""
    template = load_event("sqs_batch")["Records"][0]
    return {
        "Records": [
            {**template, "messageId": f"{MESSAGE_ID[:-2]}{n:02d}", "body": body}
            for n, body in enumerate(bodies)
        ]
    }


def common_body(**object_fields: Any) -> str:
    """The first body of the SQS batch fixture (one created object), its object changed."""
    record = json.loads(load_event("sqs_batch")["Records"][0]["body"])["Records"][0]
    record["s3"]["object"].update(object_fields)
    return json.dumps({"Records": [record]})


def test_the_bodies_aws_writes_are_read_and_brackets_in_text_are_not_nesting() -> None:
    bodies = [record["body"] for record in load_event("sqs_batch")["Records"]]
    parsed = read_event(sqs_event(*bodies))
    assert (len(parsed.objects), parsed.skipped, parsed.invalid) == (4, (), ())
    [versioned] = parse_event(sqs_event(common_body(versionId="3HL4kqtJlcpXroDTDmJ")))
    assert versioned.version_id == versioned.identity == "3HL4kqtJlcpXroDTDmJ"
    removed = json.loads(common_body())
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert [s.reason for s in read_event(sqs_event(json.dumps(removed))).skipped] == [
        SKIP_OBJECT_REMOVED
    ]
    brackets = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    [obj] = parse_event(sqs_event(common_body(sequencer="0A", eTag=brackets)))
    assert (obj.etag, obj.sequencer) == (brackets, "0A")


_IN_BODY = "Records[0].body.Records[0]"


@pytest.mark.parametrize(
    ("body", "read"),
    [
        pytest.param(common_body(key="kpis/a+b.csv"), "kpis/a b.csv", id="key-to-decode"),
        pytest.param(common_body(size="12"), 12, id="size-as-text"),
        pytest.param(common_body(note="x"), "kpis/2026/11/05/m1.csv", id="unknown-member"),
        pytest.param(common_body(size=-1), f"{_IN_BODY}.s3.object.size", id="negative-size"),
        pytest.param(common_body(size=True), f"{_IN_BODY}.s3.object.size", id="boolean-size"),
        pytest.param(common_body(size=1.0), f"{_IN_BODY}.s3.object.size", id="float-size"),
        pytest.param(
            common_body(sequencer="12G"), f"{_IN_BODY}.s3.object.sequencer", id="non-hex-sequencer"
        ),
        pytest.param("\ufeff" + common_body(), "Records[0].body", id="byte-order-mark"),
        pytest.param(
            common_body().replace("Z", ""), f"{_IN_BODY}.eventTime", id="time-without-offset"
        ),
        pytest.param(common_body(key="kpis/\ud800"), f"{_IN_BODY}.s3.object.key", id="surrogate"),
        pytest.param(
            common_body().replace('"size": 10', '"size": ' + "7" * 4301),
            "Records[0].body",
            id="size-longer-than-json-reads",
        ),
        pytest.param(json.dumps({"Event": "s3:TestEvent"}), SKIP_TEST_EVENT, id="test-event"),
        pytest.param(
            json.dumps(json.loads(load_event("eventbridge_sqs")["Records"][0]["body"])),
            "exports/a+b c.csv",
            id="eventbridge",
        ),
        pytest.param(
            load_event("sns_sqs_envelope")["Records"][0]["body"],
            "kpis/2026/11/05/via sns.csv",
            id="sns-envelope",
        ),
    ],
)
def test_every_kind_of_sqs_body_is_read_skipped_or_fails_alone(body: str, read: Any) -> None:
    parsed = read_event(sqs_event(body, common_body()))
    assert [o.message_id for o in parsed.objects][-1] == f"{MESSAGE_ID[:-2]}01"  # the neighbour
    mine = [o for o in parsed.objects if o.message_id == f"{MESSAGE_ID[:-2]}00"]
    if isinstance(read, int):
        assert [o.size for o in mine] == [read]
    elif read == SKIP_TEST_EVENT:
        assert (mine, [s.reason for s in parsed.skipped]) == ([], [SKIP_TEST_EVENT])
    elif read.startswith("Records["):
        assert mine == []
        assert [(e.path, e.message_id) for e in parsed.invalid] == [(read, f"{MESSAGE_ID[:-2]}00")]
    else:
        assert [o.key for o in mine] == [read]


@pytest.mark.parametrize(
    ("name", "value", "raised", "path"),
    [
        ("EventSource", "aws:sns", True, "Records[1].Sns"),
        ("EventSource", "aws:sqs", False, None),
        ("EventSource", None, True, "Records[1].EventSource"),
        ("eventSource", "aws:sqs ", True, "Records[1].eventSource"),
        ("eventSource", None, True, "Records[1].eventSource"),
        ("eventSource", _ABSENT, True, "Records[1].eventSource"),
        ("messageId", "", True, "Records[1].messageId"),
        ("messageId", None, True, "Records[1].messageId"),
        ("messageId", 5, True, "Records[1].messageId"),
        ("messageId", _ABSENT, True, "Records[1].messageId"),
        ("body", "", False, "Records[1].body"),
        ("body", None, False, "Records[1].body"),
        ("body", {"Records": []}, False, "Records[1].body"),
        ("body", _ABSENT, False, "Records[1].body"),
    ],
    ids=lambda v: "absent" if v is _ABSENT else repr(v),
)
def test_every_sqs_record_variant_fails_its_message_or_the_payload(
    name: str, value: Any, raised: bool, path: str | None
) -> None:
    event = sqs_event(common_body(), common_body())
    if value is _ABSENT:
        del event["Records"][1][name]
    else:
        event["Records"][1][name] = value
    if raised:
        assert _invalid(event).path == path
        return
    parsed = read_event(event)
    assert [(e.path, e.message_id) for e in parsed.invalid] == (
        [(path, f"{MESSAGE_ID[:-2]}01")] if path else []
    )
    assert len(parsed.objects) == (1 if path else 2)


# --- the S3Object model ---------------------------------------------------------------


def test_etag_quotes_from_head_object_are_stripped() -> None:
    quoted = S3Object(bucket="b", key="k", etag='"0123abcd"')
    assert quoted.etag == "0123abcd"
    assert quoted == S3Object(bucket="b", key="k", etag="0123abcd")


def test_s3_object_is_frozen_hashable_and_forbids_extra_fields() -> None:
    obj = S3Object(bucket="b", key="k/a.csv", size=3)
    assert {obj, S3Object(bucket="b", key="k/a.csv", size=3)} == {obj}
    with pytest.raises(ValidationError):
        obj.key = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        S3Object(bucket="b", key="k", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        S3Object(bucket="b", key="k", size=-1)
    with pytest.raises(ValidationError):
        S3Object(bucket="", key="k")


@pytest.mark.parametrize("name", sorted(f.stem for f in EVENT_FIXTURES.glob("*.json")))
def test_objects_read_from_an_event_are_the_objects_validation_builds(name: str) -> None:
    # The reader builds S3Object values without validating them again (it has
    # checked each field itself): they must be indistinguishable from
    # validated ones.
    parsed = read_event(event_text(name))
    for obj in parsed.objects:
        validated = S3Object(**obj.model_dump())
        assert obj == validated
        assert hash(obj) == hash(validated)
        assert obj.model_fields_set == validated.model_fields_set
        assert obj.model_dump_json() == validated.model_dump_json()
        assert repr(obj) == repr(validated)
        assert obj.__pydantic_extra__ is None
        assert obj.__pydantic_private__ is None
    if len(parsed.objects) > 1:
        first, second = parsed.objects[:2]
        changed = first.model_copy(update={"size": 7})
        assert changed.size == 7
        assert second.model_fields_set == set(S3Object.model_fields)
        assert first == S3Object(**first.model_dump())


def test_s3_object_round_trips_through_json_and_refuses_coercion() -> None:
    [obj] = parse_event(load_event("s3_multipart_versioned"))
    assert S3Object.model_validate_json(obj.model_dump_json()) == obj
    assert S3Object.model_validate(obj.model_dump(mode="json")) == obj
    with pytest.raises(ValidationError):
        S3Object(bucket="b", key="k", size=True)
    with pytest.raises(ValidationError):
        S3Object(bucket="b", key="k", size="12")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        S3Object(bucket="b", key="k", event_time=datetime(2026, 11, 5))  # no UTC offset


def test_identity_prefers_a_real_version_id() -> None:
    assert S3Object(bucket="b", key="k", etag="e", version_id="v1").identity == "v1"
    assert S3Object(bucket="b", key="k", etag="e", version_id="null").identity == "e"
    assert S3Object(bucket="b", key="k", etag="e").identity == "e"
    assert S3Object(bucket="b", key="k").identity is None


def test_sequencer_key_compares_like_zero_padded_hex() -> None:
    assert sequencer_key("0A") == sequencer_key("A") == sequencer_key("a")
    assert sequencer_key("FF") < sequencer_key("100")
    assert sequencer_key("0055AED6DCD90281E5") < sequencer_key("0055AED6DCD90281E6")
    assert sequencer_key("0055AED6DCD90281E5") < sequencer_key("55AED6DCD90281E500")
    assert sequencer_key("9") < sequencer_key("A")
    assert sequencer_key(None) < sequencer_key("0")


def test_sequencer_order_sorts_events_of_one_key() -> None:
    def at(sequencer: str | None, second: int | None) -> S3Object:
        time = None if second is None else datetime(2026, 11, 5, 9, 0, second, tzinfo=UTC)
        return S3Object(bucket="b", key="k", sequencer=sequencer, event_time=time)

    later, earlier, no_seq_late, no_seq_early, no_seq_no_time = (
        at("0055AED6DCD90281F0", 1),
        at("55AED6DCD90281E5", 9),
        at(None, 5),
        at(None, 3),
        at(None, None),
    )
    ordered = sorted(
        [later, no_seq_late, earlier, no_seq_early, no_seq_no_time], key=sequencer_order
    )
    assert ordered == [no_seq_no_time, no_seq_early, no_seq_late, earlier, later]


def test_every_fixture_parses_without_raising() -> None:
    names = sorted(p.stem for p in EVENT_FIXTURES.glob("*.json"))
    assert len(names) == 21
    for name in names:
        parsed = read_event(load_event(name))
        expected_invalid = (
            1 if name in ("sqs_batch_one_malformed", "cloudtrail_putobject_sqs") else 0
        )
        assert len(parsed.invalid) == expected_invalid, name
        assert parsed.objects or parsed.skipped, name


# --- CloudTrail API calls forwarded by an EventBridge rule on source aws.s3 -----------

CLOUDTRAIL_REFUSAL = (
    "a CloudTrail API-call event (detail-type 'AWS API Call via CloudTrail', eventName "
    "{name!r}) records the request, not the object: it carries no size, ETag or version, "
    "and CloudTrail delivers it on a best-effort basis. Route S3's own object-created events "
    "instead: enable Amazon EventBridge notifications on the bucket and match detail-type "
    "'Object Created' (source 'aws.s3'), or use S3 event notifications"
)


def _cloudtrail(event_name: str, **detail: Any) -> dict[str, Any]:
    """The PutObject fixture's CloudTrail body with another call name or extra fields."""
    body = json.loads(load_event("cloudtrail_putobject_sqs")["Records"][0]["body"])
    body["detail"]["eventName"] = event_name
    body["detail"].update(detail)
    return dict(body)


def test_cloudtrail_management_event_is_skipped_with_a_reason() -> None:
    parsed = read_event(load_event("cloudtrail_create_bucket"))
    assert parsed.objects == ()
    assert parsed.invalid == ()
    assert parsed.skipped == (SkippedRecord("$", SKIP_CLOUDTRAIL_API_CALL, None, None),)
    assert SKIP_CLOUDTRAIL_API_CALL == "CloudTrail API call that creates no object"


def test_cloudtrail_object_upload_through_sqs_is_refused_and_its_neighbour_loads() -> None:
    event = load_event("cloudtrail_putobject_sqs")
    trail_id, created_id = (r["messageId"] for r in event["Records"])
    parsed = read_event(event)
    [error] = parsed.invalid
    assert error.path == "Records[0].body.detail-type"
    assert error.message_id == trail_id
    assert error.s3_uri == "s3://acme-landing-eu/kpis/2026/11/05/trail.csv"
    assert bare(error) == CLOUDTRAIL_REFUSAL.format(name="PutObject")
    assert [(o.uri, o.message_id) for o in parsed.objects] == [
        ("s3://acme-landing-eu/kpis/2026/11/05/trail.csv", created_id)
    ]


@pytest.mark.parametrize(
    "name", ["PutObject", "CopyObject", "CompleteMultipartUpload", "PostObject"]
)
def test_cloudtrail_call_that_creates_an_object_is_refused_naming_the_rule(name: str) -> None:
    err = _invalid(_cloudtrail(name))
    assert err.path == "detail-type"
    assert err.message_id is None
    assert bare(err) == CLOUDTRAIL_REFUSAL.format(name=name)
    assert "a CloudTrail API-call event" in str(err)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("GetObject", {}),
        ("DeleteObject", {}),
        ("PutObjectTagging", {}),
        ("CreateMultipartUpload", {}),
        ("UploadPart", {}),
        ("PutObject", {"errorCode": "AccessDenied", "errorMessage": "Access Denied"}),
    ],
)
def test_cloudtrail_call_that_creates_no_object_is_skipped(
    name: str, extra: dict[str, Any]
) -> None:
    parsed = read_event(_cloudtrail(name, **extra))
    assert parsed.objects == ()
    assert parsed.skipped == (
        SkippedRecord(
            "$",
            SKIP_CLOUDTRAIL_API_CALL,
            "s3://acme-landing-eu/kpis/2026/11/05/trail.csv",
            None,
        ),
    )


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("eventName"), "detail.eventName"),
        (lambda d: d.update(eventName=7), "detail.eventName"),
        (lambda d: d.update(eventSource="ec2.amazonaws.com"), "detail.eventSource"),
    ],
)
def test_malformed_cloudtrail_event_names_the_field(
    change: Callable[[dict[str, Any]], Any], path: str
) -> None:
    event = _cloudtrail("CreateBucket")
    change(event["detail"])
    assert _invalid(event).path == path


@pytest.mark.parametrize(
    "text",
    [
        '{"Records": []}',
        ' {"Records": []}',
        '{"Records": []}\n',
        '{"Records": []}}',
        '{"Records": [}',
        '{"Records": [], "x": NaN}',
        '{"Records": [], "x": "\\ud800"}',
        "\ufeff" + '{"Records": []}',
        "{}",
        "{",
        "}",
    ],
)
def test_json_text_is_decoded_and_refused_exactly_as_json_loads_does(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as exc:
        expected = exc
    if isinstance(expected, ValueError):
        with pytest.raises(InvalidEventError) as caught:
            read_event(text)
        assert f"not valid JSON ({expected})" in caught.value.message
    elif "Records" in expected:
        assert read_event(text) == read_event(expected)
    else:
        with pytest.raises(InvalidEventError, match="missing"):
            read_event(text)
