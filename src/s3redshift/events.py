"""S3 notification payloads in, :class:`S3Object` values out (no I/O).

One parser for every way an "object created" notification reaches the Lambda
adapter, so the loader never has to know how an event travelled:

* **S3 → Lambda**: ``{"Records": [{"eventSource": "aws:s3", ...}]}``;
* **S3 → SQS → Lambda**: SQS records (``eventSource == "aws:sqs"``) whose
  ``body`` is an S3 notification, an S3 test event or an EventBridge event.
  SNS → SQS with raw message delivery on is this same case;
* **S3 → SNS → SQS → Lambda** (raw delivery off): the ``body`` is an SNS
  envelope (``Type == "Notification"``) whose ``Message`` is the S3 JSON;
* **S3 → SNS → Lambda**: records with ``EventSource == "aws:sns"`` whose
  ``Sns.Message`` is the S3 JSON;
* **EventBridge** ``source == "aws.s3"`` events, direct or as an SQS body.

An EventBridge rule on ``source = aws.s3`` also matches the S3 API calls that
CloudTrail records (``detail-type`` "AWS API Call via CloudTrail"). Those
describe a request, not an object: no size, ETag or version id, and CloudTrail
delivers them on a best-effort basis. A call that creates no object
(``CreateBucket`` and every other management call, ``GetObject``,
``DeleteObject``, a call that failed, ...) is skipped with
:data:`SKIP_CLOUDTRAIL_API_CALL`. A call that creates one (``PutObject``,
``PostObject``, ``CopyObject``, ``CompleteMultipartUpload``) is refused with an
:class:`~s3redshift.errors.InvalidEventError` at ``detail-type`` whose message
names the rule to use instead (S3's own "Object Created" events through
EventBridge, or S3 event notifications): skipping it would drop data without a
trace, while a refusal sends the message to the dead-letter queue, where the
mis-routed trigger shows.

Each envelope has its own small function and every record is returned, never
only the first one.

Key decoding
    S3 notifications carry the key form-URL-encoded (a space is ``+``), so it
    is decoded exactly once with :func:`urllib.parse.unquote_plus`. EventBridge
    carries the key as it is: it is *not* decoded, because decoding would turn
    a literal ``+`` into a space and load a different object than the one
    that was written.

Skipped, not errors
    S3 test events, removals (``ObjectRemoved:*``, ``LifecycleExpiration:*``,
    EventBridge ``Object Deleted``), every other event that is not an object
    creation (restore, replication, tagging, lifecycle transition, ...), and
    folder markers (a key ending in ``/`` with size 0). Each skip has a fixed
    reason, one of the ``SKIP_*`` constants. A record that is skipped is
    validated only as far as needed to report it (event name, bucket, key):
    its other fields are never used. A key ending in ``/`` whose size is
    greater than 0 is *not* skipped: it holds data, and silently dropping data
    is worse than letting the table mapping decide.

Malformed payloads
    Anything else that does not have the shape AWS documents is an
    :class:`~s3redshift.errors.InvalidEventError` whose ``path`` names the bad
    field. Paths are written from the top of the payload: object members are
    joined with ``.``, list items are ``[n]`` (0-based), and a member holding
    JSON text (an SQS ``body``, an SNS ``Message``) continues into the decoded
    document, e.g. ``Records[1].body.Message.Records[0].s3.object.key``. The
    payload as a whole is ``$``. Member names are written as AWS spells them
    (``detail.object.version-id``).

    In an SQS batch each message stands alone: a malformed message becomes one
    entry of :attr:`ParsedEvent.invalid` (carrying its ``message_id``) and
    contributes no objects, while the other messages are still read, so the
    adapter can fail exactly that message. Anything malformed outside an SQS
    message, or an SQS record without a ``messageId`` (which cannot be failed
    alone), raises.

Bounds
    JSON text is checked before it is decoded: a payload given as text (the
    ``plan`` command's file, or ``str``/``bytes``) may be at most
    :data:`MAX_PAYLOAD_BYTES`, a text inside an event (an SQS ``body``, an SNS
    ``Message``) at most :data:`MAX_MESSAGE_BYTES`, and either may nest arrays
    and objects at most :data:`MAX_JSON_DEPTH` levels deep. Python's decoder
    recurses once per level, so without the bound a body of 100,000 ``[``
    would raise ``RecursionError`` and fail a whole SQS batch; with it, the
    message is one :class:`~s3redshift.errors.InvalidEventError` like any other.

Typed reading
    An SQS batch holds up to 10,000 bodies, nearly all of one shape: an S3
    notification exactly as AWS writes it. Such a body is decoded by msgspec
    into typed structures that describe that shape member for member, and
    checked with the same inline tests as the general reader. A body that
    is anything else, or fails any test, is read by the general reader from
    the start, so every object, skip and error is the one it gives;
    ``read_event(payload, fast_path=False)`` reads with it alone.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from json.scanner import make_scanner
from typing import Any
from urllib.parse import unquote_plus

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from s3redshift.errors import InvalidEventError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_KEY_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "SKIP_CLOUDTRAIL_API_CALL",
    "SKIP_FOLDER_MARKER",
    "SKIP_NOT_OBJECT_CREATED",
    "SKIP_OBJECT_REMOVED",
    "SKIP_TEST_EVENT",
    "WRITE_SEPARATOR",
    "ParsedEvent",
    "S3Object",
    "SkippedRecord",
    "content_identity",
    "decode_payload",
    "parse_event",
    "read_event",
    "sequencer_key",
    "sequencer_order",
    "write_identity",
]

SKIP_TEST_EVENT = "s3:TestEvent"
"""S3 sends this once when a notification destination is configured."""

SKIP_OBJECT_REMOVED = "object removed"
"""``ObjectRemoved:*``, ``LifecycleExpiration:*`` or EventBridge ``Object Deleted``."""

SKIP_NOT_OBJECT_CREATED = "not an object-created event"
"""Any other S3 event name or EventBridge detail-type (restore, replication, ...)."""

SKIP_FOLDER_MARKER = "folder marker"
"""A key ending in ``/`` with size 0, as the S3 console writes for a "folder"."""

SKIP_CLOUDTRAIL_API_CALL = "CloudTrail API call that creates no object"
"""An EventBridge "AWS API Call via CloudTrail" event for a call that creates no object."""

MAX_KEY_BYTES = 1024
"""S3's limit for a key, in UTF-8 bytes; a longer key cannot be a real object."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects read in one JSON text.

AWS's payloads nest fewer than ten levels (a CloudTrail record, the deepest,
about six), so 64 refuses nothing AWS sends, while staying far below the
depth (about 1,000) at which Python's recursive decoder raises ``RecursionError``.
"""

MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest JSON text read from inside an event (SQS ``body``, SNS ``Message``), in bytes.

SQS accepts messages of up to 1 MiB (256 KiB until 2025); SNS notifications
are smaller still (256 KiB). Anything longer did not come from AWS.
"""

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
"""Largest event read as text (``str``/``bytes``, the ``plan`` command's file), in bytes.

Lambda's limit for a synchronous invocation payload, which also caps the
event of one SQS batch.
"""

_S3_SOURCE = "aws:s3"
_SQS_SOURCE = "aws:sqs"
_SNS_SOURCE = "aws:sns"
_SUPPORTED_MAJOR_VERSION = 2
# The versions S3 has sent (checked by _EVENT_VERSION too; this set only saves its work).
_KNOWN_EVENT_VERSIONS = frozenset({"2.0", "2.1", "2.2", "2.3"})
_EVENT_VERSION = re.compile(r"([0-9]+)(?:\.[0-9]+)*")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DIGITS = re.compile(r"[0-9]+")
_NO_TIME = datetime.min.replace(tzinfo=UTC)
_CREATED_PREFIXES = ("ObjectCreated:", "s3:ObjectCreated:")
_CLOUDTRAIL_SUFFIX = " via CloudTrail"
_CLOUDTRAIL_SOURCE = "s3.amazonaws.com"
# The S3 API calls that leave a new object version behind when they succeed.
_CLOUDTRAIL_CREATING_CALLS = frozenset(
    {"PutObject", "PostObject", "CopyObject", "CompleteMultipartUpload"}
)
# A JSON string, escapes included; the closing quote is optional so that an
# unterminated string ends the match at the end of the text instead of making
# the engine retry from every later quote (which would be quadratic).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SHOWN_CHARS = 80


class S3Object(BaseModel):
    """One created S3 object version, as a notification described it.

    Frozen and hashable, so it can be a dict key or set member in the loader's
    bookkeeping. ``etag`` is stored without the surrounding double quotes that
    HeadObject and ListObjects add and notifications leave out, so the same
    content compares equal whichever API produced the value. Fields are
    strict (``size="12"`` or ``size=True`` is refused, not coerced) because
    objects are also built outside this module, e.g. by a backfill listing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    # Lax only here, so a report's JSON (ISO text) reads back into the same object.
    event_time: AwareDatetime | None = Field(default=None, strict=False)
    message_id: str | None = None
    event_name: str | None = None

    @field_validator("bucket", "key")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("size")
    @classmethod
    def _not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("etag")
    @classmethod
    def _unquoted(cls, value: str | None) -> str | None:
        return _normalise_etag(value)

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` with the decoded key, as COPY manifests want it."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str | None:
        """What makes "the same content" of this key for exactly-once bookkeeping.

        The version id when there is a real one, else the ETag. The version id
        ``"null"`` is what S3 reports for writes to an unversioned or
        versioning-suspended bucket; it is shared by every such write of the
        key, so it cannot tell two contents apart and the ETag is used instead.
        None when the event carried neither.
        """
        return content_identity(self.version_id, self.etag)


@dataclass(frozen=True)
class SkippedRecord:
    """A record that was understood and deliberately not turned into an object."""

    path: str
    reason: str
    uri: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class ParsedEvent:
    """Everything one payload said, with malformed SQS messages kept apart."""

    objects: tuple[S3Object, ...] = ()
    skipped: tuple[SkippedRecord, ...] = ()
    invalid: tuple[InvalidEventError, ...] = ()


def content_identity(version_id: str | None, etag: str | None) -> str | None:
    """:attr:`S3Object.identity` of an object with this version id and ETag."""
    if version_id is not None and version_id != "null":
        return version_id
    return etag


WRITE_SEPARATOR = "@"
"""Joins an ETag and its write's sequencer in :func:`write_identity`.

Neither an ETag (hex, ``-N`` for multipart) nor a version id holds it.
"""


def write_identity(version_id: str | None, etag: str | None, sequencer: str | None) -> str | None:
    """The identity of one *write* of a key, where a later write of equal content is new.

    A real version id names one write already. On an unversioned bucket the
    ETag names only the content, so ``A -> B -> A`` would make the third write
    look loaded; the write's sequencer (from its event) is appended, as
    ``<etag>@<sequencer>``. Without a sequencer (a listing) it is the ETag
    alone, which the ledger matches against every write of that content.
    """
    identity = content_identity(version_id, etag)
    if identity is None or identity != etag or not sequencer:
        return identity
    return f"{etag}{WRITE_SEPARATOR}{sequencer_key(sequencer)}"


def sequencer_key(sequencer: str | None) -> str:
    """A sort key that orders sequencers of one S3 key the way AWS says to.

    AWS compares two sequencers by left-padding the shorter with zeros and
    comparing the strings, i.e. as hexadecimal numbers. Padding needs the other
    value, so instead the key is the number of significant digits (fixed
    width) followed by the digits: equal for equal numbers, ordered for any
    length. A missing sequencer sorts before every present one. Comparing keys
    of *different* S3 keys means nothing.
    """
    if not sequencer:
        return ""
    digits = sequencer.upper().lstrip("0")
    return f"{len(digits):08d}{digits}"


def sequencer_order(s3_object: S3Object) -> tuple[str, datetime]:
    """Sort key for events of the same S3 key: sequencer first, then event time."""
    return (sequencer_key(s3_object.sequencer), s3_object.event_time or _NO_TIME)


def parse_event(payload: Mapping[str, Any] | str | bytes) -> list[S3Object]:
    """Every created object in ``payload``, in input order; strict about errors.

    Raises:
        InvalidEventError: the payload, or any SQS message in it, is malformed.
            For a batch, the first malformed message's error is raised.
    """
    parsed = read_event(payload)
    if parsed.invalid:
        raise parsed.invalid[0]
    return list(parsed.objects)


def read_event(payload: Mapping[str, Any] | str | bytes, *, fast_path: bool = True) -> ParsedEvent:
    """Read a Lambda event payload, failing SQS messages one by one.

    ``payload`` is the event as Lambda hands it over (a mapping) or its JSON
    text. With ``fast_path`` (the default) an SQS message whose body has the
    common shape is read by typed decoding (:func:`_read_typed_message`);
    ``False`` reads every message with the general reader alone. The result
    is the same either way, which ``tests/test_events_typed.py`` checks by
    reading payloads both ways; the switch exists for that comparison.

    Raises:
        InvalidEventError: the payload is malformed outside any SQS message,
            or an SQS record has no usable ``messageId``.
    """
    found = _Found()
    invalid: list[InvalidEventError] = []
    try:
        root = _decode_payload(payload)
        if "Records" in root:
            records = root["Records"]
            if fast_path and type(records) is list and all(type(r) is dict for r in records):
                _read_batch_typed(records, found, invalid)
            else:
                for path, record in _records(root, ""):
                    if not (fast_path and _read_typed_message(record, path, found)):
                        _read_top_record(record, path, found, invalid)
        else:
            _read_document(root, "", None, found, allow_sns_envelope=False)
    except _ShapeError as exc:
        raise exc.as_error(None) from exc.__cause__
    return ParsedEvent(tuple(found.objects), tuple(found.skipped), tuple(invalid))


# --- envelopes ---------------------------------------------------------------


def _read_top_record(
    record: Mapping[str, Any],
    path: str,
    found: _Found,
    invalid: list[InvalidEventError],
) -> None:
    """One record of a Lambda event: S3, SQS or SNS, by its own event source."""
    source = _event_source(record, path)
    if source == _SQS_SOURCE:
        message_id = _string(record, "messageId", path)
        mark = found.mark()
        try:
            _read_sqs_message(record, path, message_id, found)
        except _ShapeError as exc:
            found.roll_back(mark)  # the message fails as a whole
            invalid.append(exc.as_error(message_id))
    elif source == _SNS_SOURCE:
        _read_sns_record(record, path, found)
    elif source == _S3_SOURCE:
        _read_s3_record(record, path, None, found)
    else:
        raise _ShapeError(
            _event_source_path(record, path),
            f"unknown event source {source!r}: expected 'aws:s3', 'aws:sqs' or 'aws:sns'",
        )


def _read_sqs_message(record: Mapping[str, Any], path: str, message_id: str, found: _Found) -> None:
    """An SQS record: its ``body`` is the JSON of whatever was sent to the queue."""
    body_path = _at(path, "body")
    body = _json_text(_string(record, "body", path), body_path, MAX_MESSAGE_BYTES)
    _read_document(body, body_path, message_id, found, allow_sns_envelope=True)


def _read_sns_record(record: Mapping[str, Any], path: str, found: _Found) -> None:
    """An SNS → Lambda record: ``Sns.Message`` is the JSON published to the topic."""
    sns_path = _at(path, "Sns")
    sns = _mapping(record, "Sns", path)
    message_path = _at(sns_path, "Message")
    message = _json_text(_string(sns, "Message", sns_path), message_path, MAX_MESSAGE_BYTES)
    _read_document(message, message_path, None, found, allow_sns_envelope=False)


def _read_sns_envelope(
    envelope: Mapping[str, Any], path: str, message_id: str | None, found: _Found
) -> None:
    """An SNS notification delivered to SQS without raw message delivery."""
    kind = _string(envelope, "Type", path)
    if kind != "Notification":
        raise _ShapeError(
            _at(path, "Type"),
            f"SNS message type {kind!r} carries no S3 event: expected 'Notification' "
            "(confirm subscriptions outside the loader's queue)",
        )
    message_path = _at(path, "Message")
    message = _json_text(_string(envelope, "Message", path), message_path, MAX_MESSAGE_BYTES)
    _read_document(message, message_path, message_id, found, allow_sns_envelope=False)


def _read_document(
    document: Mapping[str, Any],
    path: str,
    message_id: str | None,
    found: _Found,
    *,
    allow_sns_envelope: bool,
) -> None:
    """A JSON document that is not a Lambda batch: tell its kind by its members."""
    if "Records" in document:
        for record_path, record in _records(document, path):
            source = _event_source(record, record_path)
            if source != _S3_SOURCE:
                raise _ShapeError(
                    _event_source_path(record, record_path),
                    f"event source {source!r} cannot appear here: expected 'aws:s3'",
                )
            _read_s3_record(record, record_path, message_id, found)
    elif "Event" in document:
        _read_test_event(document, path, message_id, found)
    elif "detail-type" in document:
        _read_eventbridge(document, path, message_id, found)
    elif allow_sns_envelope and "Type" in document:
        _read_sns_envelope(document, path, message_id, found)
    else:
        raise _ShapeError(
            _at(path, "Records"),
            "missing: this is not an S3 notification, an S3 test event, an EventBridge "
            "S3 event or an SNS notification; check what the trigger delivers",
        )


def _read_test_event(
    document: Mapping[str, Any], path: str, message_id: str | None, found: _Found
) -> None:
    """The ``s3:TestEvent`` S3 sends when a destination is configured."""
    event = _string(document, "Event", path)
    if event != "s3:TestEvent":
        raise _ShapeError(
            _at(path, "Event"),
            f"unknown S3 service event {event!r}: only 's3:TestEvent' has this shape",
        )
    found.skip(path or "$", SKIP_TEST_EVENT, None, message_id)


def _read_s3_record(
    record: Mapping[str, Any], path: str, message_id: str | None, found: _Found
) -> None:
    """One ``Records[]`` entry of an S3 notification (``eventVersion`` 2.x).

    Each field is first tried against the shape every AWS record has (exact
    types, checked inline, no path text built); a value that does not pass
    goes through the field's reader, which accepts what it accepts or raises
    naming the field. Fields are read in the same order either way, so the
    first bad one is the one reported.
    """
    version = record.get("eventVersion")
    if type(version) is not str or version not in _KNOWN_EVENT_VERSIONS:
        _check_event_version(record, path)
    event_name = record.get("eventName")
    if type(event_name) is not str or not event_name:
        event_name = _string(record, "eventName", path)
    s3 = record.get("s3")
    if type(s3) is not dict:
        s3 = _mapping(record, "s3", path)
    bucket_fields = s3.get("bucket")
    if type(bucket_fields) is not dict:
        bucket_fields = _mapping(s3, "bucket", _at(path, "s3"))
    bucket = bucket_fields.get("name")
    if type(bucket) is not str or not bucket or "/" in bucket:
        bucket = _bucket_name(bucket_fields, _at(path, "s3.bucket"))
    fields = s3.get("object")
    if type(fields) is not dict:
        fields = _mapping(s3, "object", _at(path, "s3"))
    key = fields.get("key")
    if type(key) is not str or not _plain_key(key):
        object_path = _at(path, "s3.object")
        key = _decoded_key(_string(fields, "key", object_path), _at(object_path, "key"))

    reason = _skip_reason(event_name)
    if reason is not None:
        found.skip(path, reason, f"s3://{bucket}/{key}", message_id)
        return
    try:
        size = fields.get("size")
        if type(size) is not int or size < 0:
            size = _size(fields, "size", _at(path, "s3.object"))
        etag = fields.get("eTag")
        if type(etag) is not str or not etag:
            etag = _optional_string(fields, "eTag", _at(path, "s3.object"))
        version_id = fields.get("versionId")
        if type(version_id) is not str or not version_id:
            version_id = _optional_string(fields, "versionId", _at(path, "s3.object"))
        sequencer = fields.get("sequencer")
        if type(sequencer) is not str or _HEX.fullmatch(sequencer) is None:
            sequencer = _sequencer(fields, "sequencer", _at(path, "s3.object"))
        event_time = _timestamp(record, "eventTime", path)
    except _ShapeError as exc:
        exc.uri = f"s3://{bucket}/{key}"
        raise
    found.add(
        _checked_object(
            bucket, key, size, etag, version_id, sequencer, event_time, message_id, event_name
        ),
        path,
    )


def _plain_key(key: str) -> bool:
    """Whether a notification key is its own decoding and passes :func:`_checked_key` as it is."""
    return (
        key.isascii()  # so it holds no lone surrogate, and bytes = characters
        and 0 < len(key) <= MAX_KEY_BYTES
        and "%" not in key
        and "+" not in key
    )


def _skip_reason(event_name: str) -> str | None:
    """Why an S3 record of ``event_name`` is skipped, or None for an object creation."""
    if event_name.startswith(_CREATED_PREFIXES):  # the usual answer, in one call
        return None
    action = event_name.removeprefix("s3:")
    if action.startswith(("ObjectRemoved:", "LifecycleExpiration:")):
        return SKIP_OBJECT_REMOVED
    if not action.startswith("ObjectCreated:"):
        return SKIP_NOT_OBJECT_CREATED
    return None


# --- the typed reader of common SQS bodies -----------------------------------
#
# The structures below are the S3 notification AWS writes for an object
# event, member for member (S3's "event message structure", version 2.x), and
# refuse any other member. So a body they decode nests no deeper than they do
# (six levels), and holds no integer but ``size``. Members the reader does not
# use are still typed: an unknown member could be skipped at any depth.


class _Strict(msgspec.Struct, gc=False, forbid_unknown_fields=True, rename="camel"):
    """A JSON object with exactly these members (each optional unless it has no default)."""


class _TypedPrincipal(_Strict):
    """``userIdentity`` and ``s3.bucket.ownerIdentity``."""

    principal_id: str | None = None


class _TypedRequest(_Strict):
    """``requestParameters``."""

    source_ip_address: str | None = msgspec.field(name="sourceIPAddress", default=None)


class _TypedResponse(_Strict):
    """``responseElements``."""

    request_id: str | None = msgspec.field(name="x-amz-request-id", default=None)
    id_2: str | None = msgspec.field(name="x-amz-id-2", default=None)


class _TypedObject(_Strict):
    """``s3.object``: the members an S3 record's object is read from."""

    key: str
    size: int | None = None
    e_tag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None


class _TypedBucket(_Strict):
    """``s3.bucket``: only its name is read."""

    name: str
    owner_identity: _TypedPrincipal | None = None
    arn: str | None = None


class _TypedEntity(_Strict):
    """An S3 record's ``s3`` member."""

    bucket: _TypedBucket
    s3_object: _TypedObject = msgspec.field(name="object")
    s3_schema_version: str | None = msgspec.field(name="s3SchemaVersion", default=None)
    configuration_id: str | None = None


class _TypedRecord(_Strict):
    """One ``Records[]`` entry of an S3 notification, with exactly the types AWS writes.

    ``EventSource`` (SNS's spelling) is not a member: where present, it is
    the one the general reader takes the source from.
    """

    event_version: str
    event_source: str
    event_name: str
    s3: _TypedEntity
    event_time: str | None = None
    aws_region: str | None = None
    user_identity: _TypedPrincipal | None = None
    request_parameters: _TypedRequest | None = None
    response_elements: _TypedResponse | None = None


class _TypedNotification(_Strict):
    """An S3 notification as an SQS body holds it."""

    records: list[_TypedRecord] = msgspec.field(name="Records")


_TYPED_NOTIFICATION = msgspec.json.Decoder(_TypedNotification)
_DIGIT_RUNS = re.compile(r"[0-9]+")


def _read_typed_message(record: Mapping[str, Any], path: str, found: _Found) -> bool:
    """Read the SQS record at ``path`` with typed decoding; False, adding nothing, leaves it alone.

    Decoding a body into dicts and checking each member took most of a
    batch's read time; msgspec decodes it straight into the few typed values
    used, skipping the rest. Only a message that the general reader
    (:func:`_read_top_record`) reads without a question is taken: the
    record's source, ``messageId`` and ``body`` as AWS writes them, a body
    within the bounds (:func:`_typed_bounds_hold`), an S3 notification of
    exactly the types of :class:`_TypedNotification`, and every value
    passing the inline checks of :func:`_read_s3_record`. For anything else
    (a decode or type error, a value the general reader decodes, converts or
    refuses, another kind of document) it returns False having added
    nothing, and the general reader reads the record from the start, with its
    own errors, skips and paths. So it decides nothing:
    ``tests/test_events_typed.py`` reads payloads both ways and compares.
    """
    if "EventSource" in record or record.get("eventSource") != _SQS_SOURCE:
        return False
    message_id = record.get("messageId")
    body = record.get("body")
    if type(message_id) is not str or not message_id or type(body) is not str or not body:
        return False
    if not _typed_bounds_hold(body):
        return False
    try:
        records = _TYPED_NOTIFICATION.decode(body).records
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return False  # ValueError: a lone surrogate, which UTF-8 cannot encode
    return _read_typed_records(records, path, message_id, found)


def _read_typed_records(
    records: list[_TypedRecord], path: str, message_id: str, found: _Found
) -> bool:
    """Add what the decoded body at ``path`` holds; False, adding nothing, where unsure."""
    mark = found.mark()
    for index, typed in enumerate(records):
        read = _typed_record(typed, message_id)
        if read is None:
            found.roll_back(mark)
            return False
        if isinstance(read, str):
            uri = f"s3://{typed.s3.bucket.name}/{typed.s3.s3_object.key}"
            found.skip(f"{path}.body.Records[{index}]", read, uri, message_id)
        else:
            found.objects.append(read)
    return True


def _read_batch_typed(
    records: list[dict[str, Any]], found: _Found, invalid: list[InvalidEventError]
) -> None:
    """The records of a Lambda batch, each read as :func:`_read_typed_message` reads it, or not.

    The same reading as ``_read_typed_message`` then ``_read_top_record`` for
    each record, in one loop: for the usual body (one S3 record of a created
    object) the checks and the object are made inline, and a record's path
    is written only where a skip or the general reader needs it. A full SQS
    batch spent most of its read time calling through the general shape.
    """
    decode = _TYPED_NOTIFICATION.decode
    objects = found.objects
    created = _CREATED_PREFIXES
    versions = _KNOWN_EVENT_VERSIONS
    hex_digits = _HEX.fullmatch
    from_iso = datetime.fromisoformat
    for index, record in enumerate(records):
        message_id = record.get("messageId")
        body = record.get("body")
        if (
            "EventSource" in record
            or record.get("eventSource") != _SQS_SOURCE
            or type(message_id) is not str
            or not message_id
            or type(body) is not str
            or not body
            or not _typed_bounds_hold(body)
        ):
            _read_top_record(record, f"Records[{index}]", found, invalid)
            continue
        try:
            typed = decode(body).records
        except (msgspec.MsgspecError, ValueError, RecursionError):
            _read_top_record(record, f"Records[{index}]", found, invalid)
            continue
        if len(typed) != 1:
            if not _read_typed_records(typed, f"Records[{index}]", message_id, found):
                _read_top_record(record, f"Records[{index}]", found, invalid)
            continue
        # The one S3 record of the usual body: _typed_record, inline.
        entry = typed[0]
        entity = entry.s3
        bucket = entity.bucket.name
        fields = entity.s3_object
        key = fields.key
        event_name = entry.event_name
        size = fields.size
        sequencer = fields.sequencer or None
        event_time = entry.event_time
        if (
            entry.event_source == _S3_SOURCE
            and entry.event_version in versions
            and event_name.startswith(created)
            and bucket
            and "/" not in bucket
            and key.isascii()
            and 0 < len(key) <= MAX_KEY_BYTES
            and "%" not in key
            and "+" not in key
            and (size is None or size > 0 or (size == 0 and not key.endswith("/")))
            and (sequencer is None or hex_digits(sequencer) is not None)
            and event_time is not None
        ):
            try:
                when: datetime | None = from_iso(event_time)
            except ValueError:
                when = None
            if when is not None and when.tzinfo is not None:
                etag = fields.e_tag
                objects.append(
                    _object_of(
                        {
                            "bucket": bucket,
                            "key": key,
                            "size": size,
                            "etag": etag if etag and etag[0] != '"' else _normalise_etag(etag),
                            "version_id": fields.version_id or None,
                            "sequencer": sequencer,
                            "event_time": when,
                            "message_id": message_id,
                            "event_name": event_name,
                        }
                    )
                )
                continue
        # Anything else (a skip, a folder marker, a value to look at twice):
        # the record-by-record typed reading, then the general reader.
        if not _read_typed_records(typed, f"Records[{index}]", message_id, found):
            _read_top_record(record, f"Records[{index}]", found, invalid)


def _typed_bounds_hold(text: str) -> bool:
    """Whether ``text`` is within the bounds of :func:`_json_text` that typing leaves open.

    The size bound of an SQS body, and the stdlib decoder's cap on the digits
    of an integer (the interpreter's int-to-text limit), which msgspec does
    not have: a text that may hold a longer integer is left to the general
    reader. The depth bound needs no count: :class:`_TypedNotification`
    nests six levels at most.
    """
    size = len(text)
    if size * 4 > MAX_MESSAGE_BYTES:
        return False
    digits = sys.get_int_max_str_digits()
    return not (0 < digits < size and any(len(n) > digits for n in _DIGIT_RUNS.findall(text)))


def _typed_record(record: _TypedRecord, message_id: str) -> S3Object | str | None:
    """What :func:`_read_s3_record` makes of ``record``: an object or the reason it is skipped.

    None where the general reader would look further (decode, convert or refuse a value).
    """
    entity = record.s3
    bucket = entity.bucket.name
    fields = entity.s3_object
    key = fields.key
    if not (
        record.event_source == _S3_SOURCE
        and record.event_version in _KNOWN_EVENT_VERSIONS
        and record.event_name
        and bucket
        and "/" not in bucket
        and _plain_key(key)
    ):
        return None
    reason = _skip_reason(record.event_name)
    if reason is not None:
        return reason
    size = fields.size
    sequencer = fields.sequencer or None
    if size is not None and size < 0:
        return None
    if sequencer is not None and _HEX.fullmatch(sequencer) is None:
        return None
    event_time = None
    if record.event_time is not None:
        try:
            event_time = datetime.fromisoformat(record.event_time)
        except ValueError:
            return None
        if event_time.tzinfo is None:
            return None
    s3_object = _checked_object(
        bucket,
        key,
        size,
        fields.e_tag,
        fields.version_id or None,
        sequencer,
        event_time,
        message_id,
        record.event_name,
    )
    if size == 0 and key.endswith("/"):
        return SKIP_FOLDER_MARKER
    return s3_object


def _read_eventbridge(
    event: Mapping[str, Any], path: str, message_id: str | None, found: _Found
) -> None:
    """An EventBridge event from S3; its key is not URL-encoded."""
    source = _string(event, "source", path)
    if source != "aws.s3":
        raise _ShapeError(
            _at(path, "source"),
            f"EventBridge source {source!r} is not S3: route only 'aws.s3' events here",
        )
    detail_type = _string(event, "detail-type", path)
    if detail_type.endswith(_CLOUDTRAIL_SUFFIX):
        _read_cloudtrail(event, path, detail_type, message_id, found)
        return
    detail_path = _at(path, "detail")
    detail = _mapping(event, "detail", path)
    bucket = _bucket_name(_mapping(detail, "bucket", detail_path), _at(detail_path, "bucket"))
    object_path = _at(detail_path, "object")
    fields = _mapping(detail, "object", detail_path)
    key = _checked_key(_string(fields, "key", object_path), _at(object_path, "key"))
    uri = f"s3://{bucket}/{key}"

    if detail_type == "Object Deleted":
        found.skip(path or "$", SKIP_OBJECT_REMOVED, uri, message_id)
        return
    if detail_type != "Object Created":
        found.skip(path or "$", SKIP_NOT_OBJECT_CREATED, uri, message_id)
        return
    try:
        s3_object = _checked_object(
            bucket,
            key,
            _size(fields, "size", object_path),
            _optional_string(fields, "etag", object_path),
            _optional_string(fields, "version-id", object_path),
            _sequencer(fields, "sequencer", object_path),
            _timestamp(event, "time", path),
            message_id,
            detail_type,
        )
    except _ShapeError as exc:
        exc.uri = uri
        raise
    found.add(s3_object, path or "$")


def _read_cloudtrail(
    event: Mapping[str, Any],
    path: str,
    detail_type: str,
    message_id: str | None,
    found: _Found,
) -> None:
    """An S3 API call recorded by CloudTrail: skipped, or refused if it creates an object."""
    detail_path = _at(path, "detail")
    detail = _mapping(event, "detail", path)
    event_source = _string(detail, "eventSource", detail_path)
    if event_source != _CLOUDTRAIL_SOURCE:
        raise _ShapeError(
            _at(detail_path, "eventSource"),
            f"CloudTrail event source {event_source!r} is not S3: expected "
            f"{_CLOUDTRAIL_SOURCE!r} in an event whose source is 'aws.s3'",
        )
    name = _string(detail, "eventName", detail_path)
    uri = _cloudtrail_uri(detail)
    if name not in _CLOUDTRAIL_CREATING_CALLS or detail.get("errorCode") is not None:
        found.skip(path or "$", SKIP_CLOUDTRAIL_API_CALL, uri, message_id)
        return
    error = _ShapeError(
        _at(path, "detail-type"),
        f"a CloudTrail API-call event (detail-type {detail_type!r}, eventName {name!r}) "
        "records the request, not the object: it carries no size, ETag or version, and "
        "CloudTrail delivers it on a best-effort basis. Route S3's own object-created events "
        "instead: enable Amazon EventBridge notifications on the bucket and match "
        "detail-type 'Object Created' (source 'aws.s3'), or use S3 event notifications",
    )
    error.uri = uri
    raise error


def _cloudtrail_uri(detail: Mapping[str, Any]) -> str | None:
    """The object a CloudTrail record names, for the report only (never loaded)."""
    request = detail.get("requestParameters")
    if not isinstance(request, Mapping):
        return None
    bucket, key = request.get("bucketName"), request.get("key")
    if not (isinstance(bucket, str) and bucket and "/" not in bucket):
        return None
    if not (isinstance(key, str) and key and len(key) <= MAX_KEY_BYTES):
        return None
    return f"s3://{bucket}/{key}"


def _checked_object(
    bucket: str,
    key: str,
    size: int | None,
    etag: str | None,
    version_id: str | None,
    sequencer: str | None,
    event_time: datetime | None,
    message_id: str | None,
    event_name: str,
) -> S3Object:
    """An :class:`S3Object` of values the field readers have already checked.

    Every check the model's validation makes has been made, as strictly, by
    the reader of each value: ``bucket`` and ``key`` are non-empty strings
    (:func:`_string`, :func:`_checked_key`), ``size`` a non-negative ``int``
    that is not a ``bool`` (:func:`_size`), the other texts strings or None,
    ``event_time`` an aware ``datetime`` (:func:`_timestamp`); the ETag is
    normalised here as the model's validator does. So the object is made as
    ``model_construct`` makes one (every field set), without validating the
    same values a second time, which would double the cost of reading a
    batch. ``tests/test_events.py`` checks that each object read from the
    test events equals, field for field, the one validation builds, and that
    copying one with changes leaves the others as they were.
    """
    return _object_of(
        {
            "bucket": bucket,
            "key": key,
            "size": size,
            "etag": etag if etag and etag[0] != '"' else _normalise_etag(etag),
            "version_id": version_id,
            "sequencer": sequencer,
            "event_time": event_time,
            "message_id": message_id,
            "event_name": event_name,
        }
    )


def _object_of(values: dict[str, Any]) -> S3Object:
    """The :class:`S3Object` whose fields are ``values`` (all nine, checked), unvalidated."""
    s3_object = _new_object(S3Object)
    _set_attribute(s3_object, "__dict__", values)
    _set_attribute(s3_object, "__pydantic_fields_set__", _EVERY_FIELD)
    _set_attribute(s3_object, "__pydantic_extra__", None)
    _set_attribute(s3_object, "__pydantic_private__", None)
    return s3_object


_new_object = object.__new__
_set_attribute = object.__setattr__
# One set for all objects read (a set of nine names takes 728 bytes): pydantic
# copies an object's set before it changes one (``model_copy``), and a frozen
# model changes no field in place.
_EVERY_FIELD = set(S3Object.model_fields)


# --- accumulation and errors -------------------------------------------------


@dataclass
class _Found:
    """Objects and skips of one unit that succeeds or fails as a whole."""

    objects: list[S3Object] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)

    def add(self, s3_object: S3Object, path: str) -> None:
        if s3_object.key.endswith("/") and s3_object.size == 0:
            self.skip(path, SKIP_FOLDER_MARKER, s3_object.uri, s3_object.message_id)
        else:
            self.objects.append(s3_object)

    def skip(self, path: str, reason: str, uri: str | None, message_id: str | None) -> None:
        self.skipped.append(SkippedRecord(path, reason, uri, message_id))

    def mark(self) -> tuple[int, int]:
        """Where the next unit starts, for :meth:`roll_back`."""
        return len(self.objects), len(self.skipped)

    def roll_back(self, mark: tuple[int, int]) -> None:
        """Forget everything added since ``mark``."""
        del self.objects[mark[0] :]
        del self.skipped[mark[1] :]


class _ShapeError(Exception):
    """Raised while reading; becomes an InvalidEventError once the SQS message is known.

    Keeping the message id out of every helper keeps the helpers about JSON
    shape only; the record loop adds the message id when it converts.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.uri: str | None = None

    def as_error(self, message_id: str | None) -> InvalidEventError:
        return InvalidEventError(
            self.message, path=self.path, message_id=message_id, s3_uri=self.uri
        )


# --- field readers -----------------------------------------------------------


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def decode_payload(text: str | bytes) -> Mapping[str, Any]:
    """The JSON object a payload's text holds, with the same size and depth bounds.

    For callers that read an event from a file and hand the object on (the
    CLI's ``invoke``), so that a hostile file is an ``InvalidEventError``, not
    a ``RecursionError``.

    Raises:
        InvalidEventError: too large, nested too deep, not JSON, or not an object.
    """
    try:
        return _decode_payload(text)
    except _ShapeError as exc:
        raise exc.as_error(None) from exc.__cause__


def _decode_payload(payload: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(payload, Mapping):
        return payload
    if isinstance(payload, str | bytes | bytearray):
        return _json_text(payload, "", MAX_PAYLOAD_BYTES)
    raise _ShapeError(
        "$", f"the event must be a JSON object or its text, got {_type_name(payload)}"
    )


def _json_text(text: str | bytes | bytearray, path: str, limit: int) -> Mapping[str, Any]:
    """Decode JSON text that must hold an object (the payload, a body, a Message).

    The size (at most ``limit`` bytes) and the nesting depth are checked
    before the text reaches the decoder, which could otherwise run out of
    memory or recursion depth on a hostile message.
    """
    where = path or "$"
    size = _oversize(text, limit)
    if size is not None:
        raise _ShapeError(where, _too_large(size, limit))
    try:
        if not isinstance(text, str):
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
        if _nests_deeper(text, MAX_JSON_DEPTH):
            raise _ShapeError(
                where,
                f"nested deeper than {MAX_JSON_DEPTH} levels: no S3, SQS, SNS or EventBridge "
                "payload nests that deep; this is not an event AWS sent",
            )
        document = _decoded(text)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _ShapeError(where, f"not valid JSON ({exc})") from exc
    if type(document) is not dict:  # json.loads gives a dict for every JSON object
        raise _ShapeError(where, f"the JSON must be an object, got {_type_name(document)}")
    return document


def _decoded(text: str) -> Any:
    """``json.loads(text)``, straight from its scanner when the text is one bare object.

    That is the shape of every body and message AWS writes. The scanner is
    the one ``json.loads`` ends in, so the value is the same; any other text
    (surrounding whitespace, a byte-order mark, trailing data, invalid JSON)
    goes to ``json.loads`` itself, which decodes it or says why not in its
    own words.
    """
    if text[:1] == "{" and text[-1:] == "}":
        try:
            document, end = _SCAN_ONCE(text, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if end == len(text):
                return document
    return json.loads(text)


# The C scanner json.loads itself uses (typeshed types its argument oddly).
_SCAN_ONCE: Callable[[str, int], tuple[Any, int]] = make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)


def _oversize(text: str | bytes | bytearray, limit: int) -> int | None:
    """The size of ``text`` in bytes (UTF-8 for ``str``) if it exceeds ``limit``, else None."""
    if isinstance(text, str):
        if len(text) * 4 <= limit:  # a character takes at most 4 bytes
            return None
        size = len(text.encode("utf-8", "surrogatepass"))
    else:
        size = len(text)
    return size if size > limit else None


def _too_large(size: int, limit: int) -> str:
    if limit == MAX_PAYLOAD_BYTES:
        return f"{size} bytes of JSON text; a Lambda event is at most {limit} bytes (6 MiB)"
    return (
        f"{size} bytes of JSON text; an SQS message or SNS notification is at most {limit} "
        "bytes (1 MiB), so this did not come from AWS"
    )


def _nests_deeper(text: str, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep in JSON ``text``.

    Nesting cannot be deeper than the number of opening brackets, so a text
    with at most ``limit`` of them (every event AWS sends) is answered by two
    counts; only a text with more is measured by :func:`_nesting_depth`.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    return _nesting_depth(text) > limit


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON ``text``, without decoding it.

    Strings are removed first (a bracket inside one is text), then every
    character but brackets; the running sum of +1/-1 per bracket peaks at the
    depth. Linear in the length of the text and done by C loops, so even a
    6 MB payload of brackets takes well under a second. For invalid JSON the figure may be off, but
    never below the depth the decoder would reach before it stops.
    """
    structure = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, structure)), default=0)


def _records(document: Mapping[str, Any], path: str) -> list[tuple[str, Mapping[str, Any]]]:
    records_path = _at(path, "Records")
    records = document["Records"]
    if not isinstance(records, list):
        raise _ShapeError(records_path, f"must be a list of records, got {_type_name(records)}")
    checked = []
    for index, record in enumerate(records):
        record_path = f"{records_path}[{index}]"
        if type(record) is not dict and not isinstance(record, Mapping):
            raise _ShapeError(record_path, f"a record must be an object, got {_type_name(record)}")
        checked.append((record_path, record))
    return checked


def _event_source_path(record: Mapping[str, Any], path: str) -> str:
    # S3 and SQS records spell it eventSource; SNS records spell it EventSource.
    return _at(path, "EventSource" if "EventSource" in record else "eventSource")


def _event_source(record: Mapping[str, Any], path: str) -> str:
    if "EventSource" not in record:
        source = record.get("eventSource")
        if type(source) is str and source:
            return source
    name = "EventSource" if "EventSource" in record else "eventSource"
    if name not in record:
        raise _ShapeError(
            _at(path, "eventSource"),
            "missing: every record names its source ('aws:s3', 'aws:sqs' or 'aws:sns')",
        )
    return _string(record, name, path)


def _required(container: Mapping[str, Any], name: str, path: str) -> Any:
    value = container.get(name)
    if value is None:
        raise _ShapeError(_at(path, name), "missing: AWS always sends this field")
    return value


def _mapping(container: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any]:
    value = container.get(name)
    if type(value) is dict:  # what decoded JSON holds; checked in full below otherwise
        return value
    value = _required(container, name, path)
    if not isinstance(value, Mapping):
        raise _ShapeError(_at(path, name), f"must be an object, got {_type_name(value)}")
    return value


def _string(container: Mapping[str, Any], name: str, path: str) -> str:
    value = container.get(name)
    if type(value) is str and value:
        return value
    value = _required(container, name, path)
    if not isinstance(value, str):
        raise _ShapeError(_at(path, name), f"must be a string, got {_type_name(value)}")
    if not value:
        raise _ShapeError(_at(path, name), "must not be empty")
    return value


def _optional_string(container: Mapping[str, Any], name: str, path: str) -> str | None:
    value = container.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _ShapeError(_at(path, name), f"must be a string, got {_type_name(value)}")
    return value


def _size(container: Mapping[str, Any], name: str, path: str) -> int | None:
    """Object size in bytes; a decimal string is accepted as some relays re-encode it."""
    value = container.get(name)
    if value is None:
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ShapeError(_at(path, name), f"must be a whole number of bytes, got {_shown(value)}")
    if value < 0:
        raise _ShapeError(_at(path, name), f"must not be negative, got {value}")
    return value


def _shown(value: object) -> str:
    """A bad value for an error message: its kind, plus a short repr if it is a scalar.

    Containers are named, never ``repr``'d: a hostile one may be nested deep
    enough to exhaust recursion, or large enough to flood a log line.
    """
    kind = _type_name(value)
    if isinstance(value, int) and abs(value) >= 2**64:
        return kind  # repr of a huge int is slow, and refused past 4,300 digits
    if not isinstance(value, str | int | float):
        return kind
    shown = repr(value)
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return f"{kind} {shown}"


def _sequencer(container: Mapping[str, Any], name: str, path: str) -> str | None:
    value = _optional_string(container, name, path)
    if value is not None and not _HEX.fullmatch(value):
        raise _ShapeError(_at(path, name), f"must be hexadecimal digits, got {value!r}")
    return value


def _timestamp(container: Mapping[str, Any], name: str, path: str) -> datetime | None:
    value = container.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _ShapeError(
            _at(path, name),
            f"must be an ISO 8601 time string such as '2026-11-05T10:00:00.000Z', "
            f"got {_type_name(value)}",
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _ShapeError(
            _at(path, name),
            f"{value!r} is not an ISO 8601 time such as '2026-11-05T10:00:00.000Z'",
        ) from None
    if moment.tzinfo is None:
        raise _ShapeError(_at(path, name), f"{value!r} has no UTC offset: AWS writes 'Z'")
    return moment


def _check_event_version(record: Mapping[str, Any], path: str) -> None:
    version = _string(record, "eventVersion", path)
    if version in _KNOWN_EVENT_VERSIONS:
        return
    match = _EVENT_VERSION.fullmatch(version)
    if match is None or int(match.group(1)) != _SUPPORTED_MAJOR_VERSION:
        raise _ShapeError(
            _at(path, "eventVersion"),
            f"unsupported S3 event version {version!r}: this parser reads major version "
            f"{_SUPPORTED_MAJOR_VERSION} (any minor)",
        )


def _bucket_name(bucket: Mapping[str, Any], path: str) -> str:
    name = _string(bucket, "name", path)
    if "/" in name:
        raise _ShapeError(_at(path, "name"), f"{name!r} is not a bucket name: it contains '/'")
    return name


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decoded_key(encoded: str, path: str) -> str:
    """Undo S3's form-URL encoding of a notification key, exactly once.

    S3 writes a literal ``%`` as ``%25``, so a ``%`` not followed by two hex
    digits means the key was not encoded by S3 (a hand-written or mangled
    event); decoding it leniently could load a different key than was meant.
    """
    if "%" not in encoded and "+" not in encoded:
        return _checked_key(encoded, path)  # nothing to decode
    stray = _STRAY_PERCENT.search(encoded)
    if stray is not None:
        raise _ShapeError(
            path,
            f"{encoded!r} has a '%' at offset {stray.start()} that starts no percent-encoding: "
            "S3 writes a literal '%' as %25",
        )
    try:
        key = unquote_plus(encoded, errors="strict")
    except UnicodeDecodeError:
        raise _ShapeError(
            path, f"{encoded!r} does not decode to UTF-8: S3 keys are UTF-8, percent-encoded"
        ) from None
    return _checked_key(key, path)


def _checked_key(key: str, path: str) -> str:
    if not key:
        raise _ShapeError(path, "the key is empty after decoding")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise _ShapeError(path, "the key is not valid Unicode text (lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise _ShapeError(
            path, f"the key is {size} bytes long; S3 keys are at most {MAX_KEY_BYTES} bytes"
        )
    return key


def _normalise_etag(value: str | None) -> str | None:
    if value is not None and len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value or None
