"""What S3 says of objects: a prefix listed as events would describe it, and HeadObject.

What the loader, the backfill and ``check`` ask S3 about source objects is
asked here, and every failure is translated through :mod:`s3redshift.aws_errors`.

Identity must match the one events record, or the ledger would not recognise
an object an event already loaded. Events carry the version id on versioned
buckets and the ETag otherwise (see :attr:`S3Object.identity`), so the
bucket's versioning status is read first (``s3:GetBucketVersioning``): on a
bucket that has never been versioned the listing is ``ListObjectsV2``
(``s3:ListBucket``); on a versioned or suspended one it is
``ListObjectVersions`` (``s3:ListBucketVersions``), keeping the current
version of each key and skipping delete markers.

Before a load the loader confirms each object with HeadObject
(:func:`head_objects`): whether it still exists, and its current identity.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.aws_errors import translate_aws_errors
from s3redshift.errors import ConfigError, PermanentError, S3RedshiftError
from s3redshift.events import S3Object
from s3redshift.s3_errors import s3_call, s3_error_code, translate_s3_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "HEAD_CONCURRENCY",
    "Head",
    "aware",
    "head_object",
    "head_objects",
    "list_key",
    "list_prefix",
    "parse_s3_uri",
    "read_head",
]

HEAD_CONCURRENCY = 16
"""Parallel S3 HeadObject requests per target."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``(bucket, prefix)``; the prefix may be empty."""
    if not uri.startswith("s3://"):
        raise ConfigError(f"expected an S3 URI such as s3://bucket/prefix/, got {uri!r}")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"the S3 URI {uri!r} names no bucket; write s3://bucket/prefix/")
    return bucket, prefix


def _versioned(s3: S3Client, bucket: str, uri: str) -> bool:
    with translate_aws_errors(s3_call("GetBucketVersioning", "s3:GetBucketVersioning", s3_uri=uri)):
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    return status in ("Enabled", "Suspended")


def list_prefix(s3: S3Client, bucket: str, prefix: str) -> Iterator[S3Object]:
    """The current object of every key under ``prefix``, as events would describe it.

    ``event_time`` is the object's last-modified time; ``etag``, ``size`` and
    (on versioned buckets) ``version_id`` come from the listing.
    """
    uri = f"s3://{bucket}/{prefix}"
    versioned = _versioned(s3, bucket, uri)
    action, permission = (
        ("ListObjectVersions", "s3:ListBucketVersions")
        if versioned
        else ("ListObjectsV2", "s3:ListBucket")
    )
    # A versioned listing names every version: the current one ``IsLatest``.
    # Delete markers are reported apart, so a key whose latest entry is a
    # marker has no current version among "Versions" and is skipped.
    with translate_aws_errors(s3_call(action, permission, s3_uri=uri)):
        paginator: Any = s3.get_paginator(
            "list_object_versions" if versioned else "list_objects_v2"
        )
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Versions" if versioned else "Contents", []):
                if versioned and not item.get("IsLatest"):
                    continue
                yield S3Object(
                    bucket=bucket,
                    key=item["Key"],
                    size=int(item.get("Size", 0)),
                    etag=item.get("ETag"),
                    version_id=item.get("VersionId") if versioned else None,
                    event_time=aware(item["LastModified"]),
                )


def aware(moment: datetime) -> datetime:
    """``moment``, taken as UTC when it is naive (S3 times are UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Head:
    """An object's current ETag, version, size and last-modified time, as HeadObject answers."""

    etag: str | None
    version_id: str | None
    size: int
    modified: datetime | None


def read_head(s3: S3Client, bucket: str, key: str) -> Head:
    """HeadObject of ``bucket``/``key``; raises what the client raises (the caller translates)."""
    head = s3.head_object(Bucket=bucket, Key=key)
    modified = head.get("LastModified")
    return Head(
        etag=str(head.get("ETag", "")).strip('"') or None,
        version_id=head.get("VersionId"),
        size=int(head.get("ContentLength", 0)),
        modified=None if modified is None else aware(modified),
    )


def head_object(s3: S3Client, o: S3Object, table: str) -> Head | S3RedshiftError | None:
    """The object's current :class:`Head`; None if it is gone; the error if any.

    Every failure is returned, never raised: it is this object's outcome.
    """
    try:
        return read_head(s3, o.bucket, o.key)
    except Exception as exc:
        code = s3_error_code(exc)
        if code in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
            listing = list_key(s3, o)
            if listing == "no-bucket":
                return PermanentError(
                    f"the bucket {o.bucket!r} does not exist (HeadObject answered {code}); "
                    "check the event's bucket name",
                    s3_uri=o.uri,
                    table=table,
                )
            if code in ("404", "NoSuchKey", "NotFound") or listing == "absent":
                return None
        return translate_s3_error(
            exc,
            action="HeadObject",
            permission="s3:GetObject on the object (and s3:ListBucket for its key)",
            s3_uri=o.uri,
            table=table,
        )


def head_objects(
    s3: S3Client, objects: Sequence[S3Object], table: str
) -> list[Head | S3RedshiftError | None]:
    """:func:`head_object` of each object, in order, ``HEAD_CONCURRENCY`` at a time.

    One round trip each would otherwise dominate a large batch (boto3
    clients are thread-safe).
    """
    with ThreadPoolExecutor(max_workers=HEAD_CONCURRENCY) as pool:
        return list(pool.map(lambda o: head_object(s3, o, table), objects))


def list_key(s3: S3Client, o: S3Object) -> Literal["listed", "absent", "no-bucket", "unknown"]:
    """What a listing says of the key: how a failed HEAD tells its causes apart.

    HEAD answers without a body, so a 404 does not say whether the key or
    the whole bucket is missing, and S3 answers HeadObject on a missing key
    with 403 instead of 404 unless the caller may list the whole bucket,
    which a role limited to its source prefixes may not. A listing whose
    prefix is the key itself is inside those prefixes; the key sorts first
    among the keys it starts, so one entry is enough. A refused or failed
    listing is ``unknown``: a 403 then stays what it may well be, a real
    permission problem.
    """
    try:
        page = s3.list_objects_v2(Bucket=o.bucket, Prefix=o.key, MaxKeys=1)
    except Exception as exc:
        return "no-bucket" if s3_error_code(exc) == "NoSuchBucket" else "unknown"
    if any(item.get("Key") == o.key for item in page.get("Contents", [])):
        return "listed"
    # S3 may answer with fewer keys than asked for and say so: an empty,
    # truncated page proves nothing about the key.
    return "unknown" if page.get("IsTruncated") else "absent"
