"""Ranged reads that check they got every byte they asked for.

A reader asks for a range it knows the object holds (from ``size`` or from a
length the file declares); fewer bytes back mean a damaged, truncated or
changed object, which is a schema that cannot be read, never an IndexError
further on.
"""

from __future__ import annotations

from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema.model import RangeFetch

__all__ = ["CHUNK", "Tail", "fetch_exact"]

CHUNK = 64 * 1024
"""The first, speculative read: most headers and footers fit in it."""


def fetch_exact(fetch: RangeFetch, start: int, end: int, what: str) -> bytes:
    """Bytes ``[start, end)`` of the object, or an error naming ``what`` was cut short."""
    data = bytes(fetch(start, end))
    if len(data) != end - start:
        raise SchemaMismatchError(
            f"{what} is truncated: asked for bytes {start}-{end} of the object and got "
            f"{len(data)} bytes; the object is damaged or was replaced while being read, "
            "rewrite it or load it again"
        )
    return data


class Tail:
    """The last bytes of an object, extended towards its start with one more read.

    Parquet and ORC end with a footer whose length is only known once the
    last bytes are read: the first read takes ``min(size, CHUNK)`` bytes, and
    a footer longer than that costs one read of just the missing part.
    """

    def __init__(self, size: int, fetch: RangeFetch, what: str) -> None:
        self.size, self.fetch, self.what = size, fetch, what
        self.start = max(0, size - CHUNK)
        self.data = fetch_exact(fetch, self.start, size, what)

    def slice(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` (absolute offsets), reading what the tail lacks."""
        if start < 0 or end > self.size or start > end:
            raise SchemaMismatchError(
                f"{self.what} declares a length past the start of the object "
                f"({self.size} bytes): the file is truncated or is not what its format says"
            )
        if start < self.start:
            missing = fetch_exact(self.fetch, start, self.start, self.what)
            self.data, self.start = missing + self.data, start
        return self.data[start - self.start : end - self.start]
