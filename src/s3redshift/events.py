"""S3 notification payloads in, :class:`S3Object` values out (no I/O).

One reader for every way an "object created" notification reaches the Lambda
adapter: S3, SNS or SQS records (an SQS body holding an S3 notification, a test
event, an EventBridge event or an SNS envelope) and EventBridge ``aws.s3`` events.
Non-creation events, test events, folder markers and CloudTrail calls that create
no object are skipped with a ``SKIP_*`` reason; anything not shaped as AWS
documents is an ``InvalidEventError`` whose ``path`` names the field from the top
(``Records[1].body.Message.Records[0].s3.object.key``); a malformed SQS message fails
alone. JSON text is bounded in size and depth before it is decoded: 100,000 ``[`` fail
their message, not the batch with a ``RecursionError``.

One plain reader over :mod:`json`, not declarative models: reading is dict look-ups with
each check beside the path it reports. On 10,000 SQS records pydantic envelope models took
three times as long (mostly in the garbage collector), and Powertools' parser nine times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any
from urllib.parse import unquote_plus

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from s3redshift.errors import InvalidEventError

__all__ = [
    "MAX_JSON_DEPTH", "MAX_KEY_BYTES", "MAX_MESSAGE_BYTES", "MAX_PAYLOAD_BYTES",
    "SKIP_CLOUDTRAIL_API_CALL", "SKIP_FOLDER_MARKER", "SKIP_NOT_OBJECT_CREATED",
    "SKIP_OBJECT_REMOVED", "SKIP_TEST_EVENT", "WRITE_SEPARATOR", "ParsedEvent", "S3Object",
    "SkippedRecord", "content_identity", "decode_payload", "parse_event", "read_event",
    "sequencer_key", "sequencer_order", "write_identity",
]  # fmt: skip

SKIP_TEST_EVENT = "s3:TestEvent"  # S3 sends it once when a destination is configured
SKIP_OBJECT_REMOVED = "object removed"  # ObjectRemoved:*, LifecycleExpiration:*, Object Deleted
SKIP_NOT_OBJECT_CREATED = "not an object-created event"  # restore, replication, tagging, ...
SKIP_FOLDER_MARKER = "folder marker"  # a key ending in "/" with size 0: the console's "folder"
SKIP_CLOUDTRAIL_API_CALL = "CloudTrail API call that creates no object"
MAX_KEY_BYTES = 1024  # S3's limit for a key, in UTF-8 bytes
MAX_JSON_DEPTH = 64  # AWS nests under ten levels; Python's decoder fails near 1,000
MAX_MESSAGE_BYTES = 1024 * 1024  # JSON text in an event (SQS body, SNS Message): SQS's 1 MiB
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # an event read as text: Lambda's 6 MiB payload limit
WRITE_SEPARATOR = "@"  # joins an ETag and a sequencer in write_identity(); neither holds it

# Where S3 and EventBridge keep the object and spell its ETag, version id and time (S3
# form-URL-encodes the key, to decode exactly once; EventBridge does not: a "+" is a "+").
_S3 = ("s3", "eTag", "versionId", "eventTime")
_EVENTBRIDGE = ("detail", "etag", "version-id", "time")
_REMOVED = ("ObjectRemoved:", "LifecycleExpiration:")
_EVENTBRIDGE_SKIPS = {"Object Created": None, "Object Deleted": SKIP_OBJECT_REMOVED}
_KNOWN_EVENT_VERSIONS = frozenset({"2.0", "2.1", "2.2", "2.3"})
_EVENT_VERSION = re.compile(r"0*2(?:\.[0-9]+)*")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DIGITS = re.compile(r"[0-9]+")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NO_TIME = datetime.min.replace(tzinfo=UTC)
_CREATING_CALLS = frozenset({"PutObject", "PostObject", "CopyObject", "CompleteMultipartUpload"})
# A JSON string; the closing quote is optional so that an unterminated string
# ends the match instead of making the engine retry from every later quote.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_Json = Mapping[str, Any]
_TYPE_NAMES: tuple[tuple[Any, str], ...] = (
    (type(None), "null"), (bool, "a boolean"), (int | float, "a number"), (str, "a string"),
    (list, "a list"), (Mapping, "an object"),
)  # fmt: skip


class S3Object(BaseModel):
    """One created S3 object version. Frozen and hashable; ``etag`` without the quotes that
    HeadObject adds, so one content compares equal from any API; strict (``size="12"`` is
    refused), as objects are also built outside this module, e.g. by a backfill listing."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)
    size: int | None = Field(default=None, ge=0)
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    # Lax only here, so a report's JSON (ISO text) reads back into the same object.
    event_time: AwareDatetime | None = Field(default=None, strict=False)
    message_id: str | None = None
    event_name: str | None = None

    @field_validator("etag")
    @classmethod
    def _unquoted(cls, value: str | None) -> str | None:
        if value is not None and len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return value or None

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` with the decoded key, as COPY manifests want it."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def identity(self) -> str | None:
        """What makes "the same content" of this key: :func:`content_identity`."""
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
    """A real version id, else the ETag: S3 reports the version id ``"null"`` for
    every write to an unversioned bucket, so it cannot tell two contents apart."""
    if version_id is not None and version_id != "null":
        return version_id
    return etag


def write_identity(version_id: str | None, etag: str | None, sequencer: str | None) -> str | None:
    """The identity of one *write* of a key: an ETag names only content, so on an unversioned
    bucket ``A -> B -> A`` would make the third write look loaded; the write's sequencer is
    appended (``<etag>@<sequencer>``). A listing has none: the ledger matches the ETag alone."""
    identity = content_identity(version_id, etag)
    if identity is None or identity != etag or not sequencer:
        return identity
    return f"{etag}{WRITE_SEPARATOR}{sequencer_key(sequencer)}"


def sequencer_key(sequencer: str | None) -> str:
    """Orders sequencers of one S3 key as AWS says, as hex numbers: the count of
    significant digits (fixed width), then the digits. A missing one sorts first."""
    if not sequencer:
        return ""
    digits = sequencer.upper().lstrip("0")
    return f"{len(digits):08d}{digits}"


def sequencer_order(s3_object: S3Object) -> tuple[str, datetime]:
    """Sort key for events of the same S3 key: sequencer first, then event time."""
    return (sequencer_key(s3_object.sequencer), s3_object.event_time or _NO_TIME)


def parse_event(payload: Mapping[str, Any] | str | bytes) -> list[S3Object]:
    """Every created object in ``payload``, in input order; the first malformed message raises."""
    parsed = read_event(payload)
    if parsed.invalid:
        raise parsed.invalid[0]
    return list(parsed.objects)


def read_event(payload: Mapping[str, Any] | str | bytes) -> ParsedEvent:
    """Read a Lambda event (a mapping or its JSON text), failing SQS messages one by one.

    Raises:
        InvalidEventError: malformed outside any SQS message, or an SQS record
            without a usable ``messageId`` (it could not be failed alone).
    """
    reader = _Reader()
    try:
        reader.document(decode_payload(payload), "", batch=True, sns_envelope=False)
    except _ShapeError as exc:
        raise exc.as_error(None) from exc.__cause__
    return ParsedEvent(tuple(reader.objects), tuple(reader.skipped), tuple(reader.invalid))


def decode_payload(payload: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    """The JSON object a payload's text holds, within the bounds; else InvalidEventError."""
    if isinstance(payload, Mapping):
        return payload
    try:
        if not isinstance(payload, str | bytes | bytearray):
            message = f"the event must be a JSON object or its text, got {_type_name(payload)}"
            raise _ShapeError("$", message)
        return _json_text(payload, "", MAX_PAYLOAD_BYTES)
    except _ShapeError as exc:
        raise exc.as_error(None) from exc.__cause__


class _ShapeError(Exception):
    """A malformed field; an InvalidEventError once its SQS message is known."""

    def __init__(self, path: str, message: str, uri: str | None = None) -> None:
        super().__init__(message)  # paths are built as ".a.b", and the whole payload is "$"
        self.path, self.message, self.uri = path[1:] or "$", message, uri

    def as_error(self, message_id: str | None) -> InvalidEventError:
        path, uri = self.path, self.uri
        return InvalidEventError(self.message, path=path, message_id=message_id, s3_uri=uri)


@dataclass
class _Reader:
    """The objects and skips of one payload; ``message_id`` names the SQS message being read."""

    objects: list[S3Object] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    invalid: list[InvalidEventError] = field(default_factory=list)
    message_id: str | None = None

    def document(self, document: _Json, path: str, *, batch: bool, sns_envelope: bool) -> None:
        """A JSON document, told apart by its members; a Lambda ``batch`` holds any record."""
        if "Records" in document:
            for index, record in enumerate(_records(document, path)):
                self.record(record, f"{path}.Records[{index}]", batch=batch)
        elif "Event" in document:
            if (event := _required(document, "Event", path)) != SKIP_TEST_EVENT:
                message = f"unknown S3 service event {event!r}: only 's3:TestEvent' has this shape"
                raise _ShapeError(f"{path}.Event", message)
            self.skip(path, SKIP_TEST_EVENT, None)
        elif "detail-type" in document:
            self.eventbridge(document, path)
        elif sns_envelope and "Type" in document:
            if (kind := _required(document, "Type", path)) != "Notification":
                message = f"SNS message type {kind!r} carries no S3 event: expected 'Notification'"
                message += " (confirm subscriptions outside the loader's queue)"
                raise _ShapeError(f"{path}.Type", message)
            self.json_member(document, "Message", path, sns_envelope=False)
        else:
            message = "missing: this is not an S3 notification, an S3 test event, an EventBridge "
            message += "S3 event or an SNS notification; check what the trigger delivers"
            raise _ShapeError(f"{path}.Records", message)

    def record(self, record: _Json, path: str, *, batch: bool) -> None:
        """An S3 record anywhere; an SQS message or SNS notification in a Lambda batch."""
        name = "EventSource" if "EventSource" in record else "eventSource"  # SNS spells it so
        if name not in record:
            message = "missing: every record names its source ('aws:s3', 'aws:sqs' or 'aws:sns')"
            raise _ShapeError(f"{path}.eventSource", message)
        if (source := _required(record, name, path)) == "aws:s3":
            self.s3_record(record, path)
        elif batch and source == "aws:sqs":
            self.message_id = _required(record, "messageId", path)
            objects, skipped = len(self.objects), len(self.skipped)
            try:
                self.json_member(record, "body", path, sns_envelope=True)
            except _ShapeError as exc:  # the message fails as a whole
                del self.objects[objects:], self.skipped[skipped:]
                self.invalid.append(exc.as_error(self.message_id))
            self.message_id = None
        elif batch and source == "aws:sns":
            sns = _required(record, "Sns", path, dict)
            self.json_member(sns, "Message", f"{path}.Sns", sns_envelope=False)
        else:
            expected = "'aws:s3', 'aws:sqs' or 'aws:sns'" if batch else "'aws:s3'"
            doing = (
                "unknown event source {!r}:" if batch else "event source {!r} cannot appear here:"
            )
            raise _ShapeError(f"{path}.{name}", f"{doing.format(source)} expected {expected}")

    def json_member(self, container: _Json, name: str, path: str, *, sns_envelope: bool) -> None:
        """A member holding JSON text (an SQS ``body``, an SNS ``Message``)."""
        text, path = _required(container, name, path), f"{path}.{name}"
        document = _json_text(text, path, MAX_MESSAGE_BYTES)
        self.document(document, path, batch=False, sns_envelope=sns_envelope)

    def s3_record(self, record: _Json, path: str) -> None:
        """One ``Records[]`` entry of an S3 notification (``eventVersion`` 2.x)."""
        version = _required(record, "eventVersion", path)
        if version not in _KNOWN_EVENT_VERSIONS and not _EVENT_VERSION.fullmatch(version):
            message = f"unsupported S3 event version {version!r}: this parser reads major version 2"
            raise _ShapeError(f"{path}.eventVersion", f"{message} (any minor)")
        name, skip = _required(record, "eventName", path), None
        if not name.startswith(("ObjectCreated:", "s3:ObjectCreated:")):
            removed = name.removeprefix("s3:").startswith(_REMOVED)
            skip = SKIP_OBJECT_REMOVED if removed else SKIP_NOT_OBJECT_CREATED
        self.s3_object(record, path, _S3, name, skip)

    def eventbridge(self, event: _Json, path: str) -> None:
        """An EventBridge event from S3, or a CloudTrail record of an S3 API call."""
        if (source := _required(event, "source", path)) != "aws.s3":
            message = f"EventBridge source {source!r} is not S3: route only 'aws.s3' events here"
            raise _ShapeError(f"{path}.source", message)
        kind = _required(event, "detail-type", path)
        if kind.endswith(" via CloudTrail"):
            self.cloudtrail(_required(event, "detail", path, dict), path, kind)
            return
        skip = _EVENTBRIDGE_SKIPS.get(kind, SKIP_NOT_OBJECT_CREATED)
        self.s3_object(event, path, _EVENTBRIDGE, kind, skip)

    def cloudtrail(self, detail: _Json, path: str, kind: str) -> None:
        """An S3 API call: skipped, or refused when it creates an object it cannot describe."""
        detail_path = f"{path}.detail"
        if (source := _required(detail, "eventSource", detail_path)) != "s3.amazonaws.com":
            message = f"CloudTrail event source {source!r} is not S3: expected 's3.amazonaws.com'"
            message += " in an event whose source is 'aws.s3'"
            raise _ShapeError(f"{detail_path}.eventSource", message)
        name = _required(detail, "eventName", detail_path)
        request = detail.get("requestParameters")
        request = request if isinstance(request, Mapping) else {}
        bucket, key, uri = request.get("bucketName"), request.get("key"), None  # uri: reports only
        if isinstance(bucket, str) and bucket and "/" not in bucket and isinstance(key, str):
            uri = f"s3://{bucket}/{key}" if 0 < len(key) <= MAX_KEY_BYTES else None
        if name not in _CREATING_CALLS or detail.get("errorCode") is not None:
            self.skip(path, SKIP_CLOUDTRAIL_API_CALL, uri)
            return
        raise _ShapeError(
            f"{path}.detail-type",
            f"a CloudTrail API-call event (detail-type {kind!r}, eventName {name!r}) "
            "records the request, not the object: it carries no size, ETag or version, and "
            "CloudTrail delivers it on a best-effort basis. Route S3's own object-created events "
            "instead: enable Amazon EventBridge notifications on the bucket and match "
            "detail-type 'Object Created' (source 'aws.s3'), or use S3 event notifications",
            uri,
        )

    def s3_object(
        self, event: _Json, path: str, shape: tuple[str, ...], name: str, skip: str | None
    ) -> None:
        """The object an event describes; a skipped one is read only as far as its URI."""
        container_name, etag_name, version_name, time_name = shape
        container_path = f"{path}.{container_name}"
        container = _required(event, container_name, path, dict)
        where = f"{container_path}.bucket"
        bucket = _required(_required(container, "bucket", container_path, dict), "name", where)
        if "/" in bucket:
            raise _ShapeError(f"{where}.name", f"{bucket!r} is not a bucket name: it contains '/'")
        where = f"{container_path}.object"
        fields = _required(container, "object", container_path, dict)
        key = _key(_required(fields, "key", where), f"{where}.key", encoded=shape is _S3)
        uri = f"s3://{bucket}/{key}"
        if skip is not None:
            self.skip(path, skip, uri)
            return
        try:
            values: dict[str, Any] = {
                "size": _size(fields, where),
                "etag": _optional(fields, etag_name, where),
                "version_id": _optional(fields, version_name, where),
                "sequencer": _optional(fields, "sequencer", where, hexadecimal=True),
                "event_time": _timestamp(event, time_name, path),
            }
        except _ShapeError as exc:
            exc.uri = uri
            raise
        if values["size"] == 0 and key.endswith("/"):
            self.skip(path, SKIP_FOLDER_MARKER, uri)
            return
        values.update(bucket=bucket, key=key, message_id=self.message_id, event_name=name)
        try:
            self.objects.append(S3Object(**values))
        except ValidationError as exc:  # what the model refuses fails its message alone
            field = str(exc.errors()[0]["loc"][0])
            at = f"{container_path}.bucket.name" if field == "bucket" else f"{where}.{field}"
            raise _ShapeError(at, f"{field}: {exc.errors()[0]['msg']}", uri) from None

    def skip(self, path: str, reason: str, uri: str | None) -> None:
        self.skipped.append(SkippedRecord(path[1:] or "$", reason, uri, self.message_id))


def _json_text(text: str | bytes | bytearray, path: str, limit: int) -> _Json:
    """The JSON object ``text`` holds, refused when over ``limit`` bytes or nested too deep."""
    size = len(text)
    if isinstance(text, str) and size * 4 > limit:  # a character takes at most 4 bytes
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        message = f"{size} bytes of JSON text; an SQS message or SNS notification is at most "
        message += f"{limit} bytes (1 MiB), so this did not come from AWS"
        if limit == MAX_PAYLOAD_BYTES:
            message = f"{size} bytes of JSON text; a Lambda event is at most {limit} bytes (6 MiB)"
        raise _ShapeError(path, message)
    try:
        if not isinstance(text, str):
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
            message = f"nested deeper than {MAX_JSON_DEPTH} levels: no S3, SQS, SNS or EventBridge "
            message += "payload nests that deep; this is not an event AWS sent"
            raise _ShapeError(path, message)
        document = json.loads(text)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _ShapeError(path, f"not valid JSON ({exc})") from exc
    if type(document) is not dict:
        raise _ShapeError(path, f"the JSON must be an object, got {_type_name(document)}")
    return document


def _depth(text: str) -> int:
    """How deep arrays and objects nest in JSON ``text``, in linear time, without decoding:
    strings go (a bracket in one is text), then all but brackets, then a running sum."""
    structure = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, structure)), default=0)


def _type_name(value: object) -> str:
    return next(
        (name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__
    )


def _records(document: _Json, path: str) -> list[_Json]:
    """The ``Records`` of ``document``, every one checked to be an object before any is read."""
    path = f"{path}.Records"
    if not isinstance(records := document["Records"], list):
        raise _ShapeError(path, f"must be a list of records, got {_type_name(records)}")
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            message = f"a record must be an object, got {_type_name(record)}"
            raise _ShapeError(f"{path}[{index}]", message)
    return records


def _required(container: _Json, name: str, path: str, kind: type = str) -> Any:
    """A member AWS always sends: a non-empty string, or an object when ``kind`` is dict."""
    if type(value := container.get(name)) is kind and value:
        return value
    if value is None:
        raise _ShapeError(f"{path}.{name}", "missing: AWS always sends this field")
    if not isinstance(value, Mapping if kind is dict else str):
        kind_name = "an object" if kind is dict else "a string"
        raise _ShapeError(f"{path}.{name}", f"must be {kind_name}, got {_type_name(value)}")
    if not value and kind is str:
        raise _ShapeError(f"{path}.{name}", "must not be empty")
    return value


def _optional(fields: _Json, name: str, path: str, hexadecimal: bool = False) -> str | None:
    """A member that may be missing, null or empty (None), else a string (of hex digits)."""
    if (value := fields.get(name)) is None or value == "":
        return None
    if not isinstance(value, str):
        raise _ShapeError(f"{path}.{name}", f"must be a string, got {_type_name(value)}")
    if hexadecimal and not _HEX.fullmatch(value):
        raise _ShapeError(f"{path}.{name}", f"must be hexadecimal digits, got {value!r}")
    return value


def _size(fields: _Json, path: str) -> int | None:
    """Object size in bytes; a decimal string is accepted as some relays re-encode it."""
    if (value := fields.get("size")) is None or (type(value) is int and value >= 0):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        shown = _type_name(value)
        if isinstance(value, str | float | bool):  # a container's repr could recurse, or flood
            shown += " " + (repr(value)[:77] + "..." if len(repr(value)) > 80 else repr(value))
        raise _ShapeError(f"{path}.size", f"must be a whole number of bytes, got {shown}")
    if value < 0:
        raise _ShapeError(f"{path}.size", f"must not be negative, got {value}")
    return value


def _timestamp(container: _Json, name: str, path: str) -> datetime | None:
    if (value := container.get(name)) is None:
        return None
    path, example = f"{path}.{name}", "'2026-11-05T10:00:00.000Z'"
    if not isinstance(value, str):
        message = f"must be an ISO 8601 time string such as {example}, got {_type_name(value)}"
        raise _ShapeError(path, message)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _ShapeError(path, f"{value!r} is not an ISO 8601 time such as {example}") from None
    if moment.tzinfo is None:
        raise _ShapeError(path, f"{value!r} has no UTC offset: AWS writes 'Z'")
    return moment


def _key(key: str, path: str, *, encoded: bool) -> str:
    """A key as S3 names it, decoded exactly once from form-URL encoding when ``encoded``; S3
    writes ``%`` as ``%25``, so a stray ``%`` means another encoder, and another key."""
    if encoded and ("%" in key or "+" in key):
        if (stray := _STRAY_PERCENT.search(key)) is not None:
            message = f"{key!r} has a '%' at offset {stray.start()} that starts no percent-encoding"
            raise _ShapeError(path, f"{message}: S3 writes a literal '%' as %25")
        try:
            key = unquote_plus(key, errors="strict")
        except UnicodeDecodeError:
            message = f"{key!r} does not decode to UTF-8: S3 keys are UTF-8, percent-encoded"
            raise _ShapeError(path, message) from None
    if not key:
        raise _ShapeError(path, "the key is empty after decoding")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise _ShapeError(path, "the key is not valid Unicode text (lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        message = f"the key is {size} bytes long; S3 keys are at most {MAX_KEY_BYTES} bytes"
        raise _ShapeError(path, message)
    return key
