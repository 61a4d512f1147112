"""Redshift COPY manifests: which exact objects a load reads.

COPY's ``FROM 's3://bucket/key'`` is a key-*prefix* match: loading
``kpis/a.csv`` that way also loads ``kpis/a.csv.bak``. The loader therefore
never points COPY at a data key; it writes a manifest listing the exact
objects (each ``mandatory``, with ``meta.content_length`` so Parquet and ORC
work too) and COPYs from the manifest.

The batch id is a hash of the batch's sorted object identities, so a retried
batch writes the same manifest to the same key instead of a new one, and the
``ClientToken`` of a Data API call can be derived from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from s3redshift.identifiers import TableRef

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "BATCH_ID_LENGTH",
    "ManifestEntry",
    "ManifestWriter",
    "batch_id",
    "manifest_json",
    "manifest_key",
    "object_list_csv",
    "object_list_key",
]

BATCH_ID_LENGTH = 32
"""Hex characters of the batch id (128 bits of SHA-256)."""


class ManifestEntry(NamedTuple):
    """One object of a batch, as the manifest and the ledger see it: frozen, ordered by its
    fields, hashable. A plan makes one per object (10,000 in a full SQS batch): a named tuple
    is made in half the time of a frozen dataclass and, holding only text and an integer,
    leaves the garbage collector's tracking."""

    bucket: str
    key: str
    identity: str
    size: int
    order: str = ""
    """The object's place in load order as sortable text (the ledger's ``object_order``)."""

    @property
    def uri(self) -> str:
        """``s3://bucket/key``, as written into the manifest."""
        return f"s3://{self.bucket}/{self.key}"


_ENTRY_ORDER = attrgetter("bucket", "key", "identity", "size")
"""The order of :class:`ManifestEntry` values (their field order), as one C-level key."""
_HASHED_PARTS = attrgetter("bucket", "key", "identity")
"""What the batch id hashes of each entry, in that order."""


def batch_id(table: TableRef, entries: Iterable[ManifestEntry]) -> str:
    """A stable id for loading exactly these object versions into ``table``."""
    digest = hashlib.sha256(str(table).encode())
    # Each part is hashed as NUL + its UTF-8; encoding the joined text gives
    # the same bytes (the encoder works code point by code point), in one call.
    ordered = sorted(entries, key=_ENTRY_ORDER)
    if ordered:
        parts = "\x00".join(chain.from_iterable(map(_HASHED_PARTS, ordered)))
        digest.update(("\x00" + parts).encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()[:BATCH_ID_LENGTH]


def manifest_key(prefix: str, table: TableRef, batch: str, *, part: str = "") -> str:
    """``<prefix><schema.table>/<batch>[-<part>].manifest``.

    No key the loader writes is a prefix of another one it writes: every name
    ends in a fixed suffix after a fixed-length id.
    """
    suffix = f"-{part}" if part else ""
    return f"{prefix}{table}/{batch}{suffix}.manifest"


def object_list_key(prefix: str, table: TableRef, batch: str) -> str:
    """Where the batch's object list (CSV, for the ledger) is written."""
    return f"{prefix}{table}/{batch}.objects.csv"


def manifest_json(entries: Sequence[ManifestEntry]) -> str:
    """The manifest document: every entry mandatory, with its content length.

    Written compactly, on one line: COPY reads the JSON, not its layout, and
    only compact output is written by the C encoder (an indented document
    takes the pure-Python one, about four times slower per entry).
    """
    document = {
        "entries": [
            {"url": e.uri, "mandatory": True, "meta": {"content_length": e.size}} for e in entries
        ]
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def object_list_csv(entries: Sequence[ManifestEntry]) -> str:
    """The batch's objects as CSV rows ``bucket,key,identity,size,order`` (no header).

    Every text field is quoted and inner quotes doubled, so keys holding commas,
    quotes or newlines survive COPY's CSV parser unchanged.
    """

    def field(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    return "".join(
        f"{field(e.bucket)},{field(e.key)},{field(e.identity)},{e.size},{field(e.order)}\n"
        for e in entries
    )


class ManifestWriter:
    """Writes manifests and object lists to S3, and removes them once used.

    These are the loader's only S3 writes. Failures come back as project
    errors naming the file, so one target's S3 trouble is that target's
    outcome, not an exception that stops the batch.
    """

    def __init__(self, s3_client: S3Client) -> None:
        self._s3 = s3_client

    def put(self, bucket: str, key: str, body: str, content_type: str) -> str:
        """Write one file and return its ``s3://`` URI.

        Raises:
            S3RedshiftError: S3 refused or failed the write (retryable or not,
                by the S3 error code).
        """
        from s3redshift.s3_errors import translate_s3_error

        uri = f"s3://{bucket}/{key}"
        try:
            self._s3.put_object(
                Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType=content_type
            )
        except Exception as exc:
            raise translate_s3_error(
                exc, action="PutObject", permission="s3:PutObject", s3_uri=uri
            ) from exc
        return uri

    def remove(self, uris: Iterable[str]) -> int:
        """Delete files this loader wrote, best effort; return how many were deleted.

        Only ever called once no COPY can still need the files. A failure is
        not an error of the load: the files are small, and the manifest
        prefix's lifecycle rule expires whatever is left.
        """
        removed = 0
        for uri in dict.fromkeys(uris):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            try:
                self._s3.delete_object(Bucket=bucket, Key=key)
            except Exception:  # noqa: S112 - best effort, see the docstring
                continue
            removed += 1
        return removed
