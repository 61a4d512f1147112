"""Listing a prefix as events would describe its objects (backfill, ``check``, replace snapshots).

Identity must match the one events record, or the ledger would not recognise
an object an event already loaded. Events carry the version id on versioned
buckets and the ETag otherwise (see :attr:`S3Object.identity`), so the
bucket's versioning status is read first (``s3:GetBucketVersioning``): on a
bucket that has never been versioned the listing is ``ListObjectsV2``
(``s3:ListBucket``); on a versioned or suspended one it is
``ListObjectVersions`` (``s3:ListBucketVersions``), keeping the current
version of each key and skipping delete markers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from s3redshift.aws_errors import translate_aws_errors
from s3redshift.errors import ConfigError
from s3redshift.events import S3Object
from s3redshift.s3_errors import s3_call

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["aware", "list_prefix", "parse_s3_uri"]


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
    with translate_aws_errors(s3_call(action, permission, s3_uri=uri)):
        if not versioned:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield S3Object(
                        bucket=bucket,
                        key=item["Key"],
                        size=int(item.get("Size", 0)),
                        etag=item.get("ETag"),
                        event_time=aware(item["LastModified"]),
                    )
            return
        versions = s3.get_paginator("list_object_versions")
        for versions_page in versions.paginate(Bucket=bucket, Prefix=prefix):
            # Delete markers are reported apart; a key whose latest entry is a
            # marker has no IsLatest version among "Versions" and is skipped.
            for version in versions_page.get("Versions", []):
                if not version.get("IsLatest"):
                    continue
                yield S3Object(
                    bucket=bucket,
                    key=version["Key"],
                    size=int(version.get("Size", 0)),
                    etag=version.get("ETag"),
                    version_id=version.get("VersionId"),
                    event_time=aware(version["LastModified"]),
                )


def aware(moment: datetime) -> datetime:
    """``moment``, taken as UTC when it is naive (S3 times are UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
