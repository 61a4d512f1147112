"""The schemas of a batch's files, read from S3 with ranged GETs.

Each file's reader asks for the few byte ranges that hold its schema (a
footer, a header, a first block of lines); this module turns each range into
one ``GetObject`` with a ``Range`` header, several files at a time as the
HEAD requests are. Every failure is that object's outcome, never the batch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from s3redshift.copy import resolve_compression
from s3redshift.errors import S3RedshiftError, SchemaMismatchError
from s3redshift.file_schema import FileSchema, read_file_schema
from s3redshift.listing import HEAD_CONCURRENCY
from s3redshift.manifest import ManifestEntry
from s3redshift.mapping import MappingRule
from s3redshift.s3_errors import translate_s3_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["read_schemas"]


def read_schemas(
    s3: S3Client, entries: Sequence[ManifestEntry], rule: MappingRule, table: str
) -> list[FileSchema | S3RedshiftError]:
    """Each entry's schema, or the error that is its outcome, in order."""
    if not entries:
        return []
    with ThreadPoolExecutor(max_workers=min(HEAD_CONCURRENCY, len(entries))) as pool:
        return list(pool.map(lambda e: read_schema(s3, e, rule, table), entries))


def read_schema(
    s3: S3Client, entry: ManifestEntry, rule: MappingRule, table: str
) -> FileSchema | S3RedshiftError:
    """One file's schema from the ranges its format's reader asks for."""

    def fetch(start: int, end: int) -> bytes:
        end = min(end, entry.size)
        if start >= end:
            return b""
        answer = s3.get_object(Bucket=entry.bucket, Key=entry.key, Range=f"bytes={start}-{end - 1}")
        return answer["Body"].read()

    compression = resolve_compression(rule.format, entry.key)
    try:
        iso_times = rule.options.time_format == "auto"
        return read_file_schema(rule.format, compression, entry.size, fetch, iso_times=iso_times)
    except SchemaMismatchError as exc:
        return SchemaMismatchError(
            f"the file's schema cannot be read: {exc.message}", s3_uri=entry.uri, table=table
        )
    except Exception as exc:
        return translate_s3_error(
            exc,
            action="GetObject (a range holding the file's schema)",
            permission="s3:GetObject on the object",
            s3_uri=entry.uri,
            table=table,
        )
