"""A file's columns and their types, read from a few ranged reads of the object.

Parquet and ORC keep their schema in a footer at the end of the file, Avro in
a header at the start; CSV with a header names its columns on its first line,
and JSON lines name theirs in every object. Each reader fetches only those
bytes (a ranged GET or two, never the whole object) through a
:data:`RangeFetch`, and maps the format's types to Redshift's
(:class:`~s3redshift.column_types.ColumnType`), the one place each format's
type mapping lives.

The readers use the standard library only: pyarrow, fastavro and pyorc are
each larger than the Lambda zips' headroom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from s3redshift.column_types import ColumnType

__all__ = ["FileColumn", "FileSchema", "RangeFetch"]

RangeFetch = Callable[[int, int], bytes]
"""``fetch(start, end)``: the object's bytes ``[start, end)``, fewer at its end."""


@dataclass(frozen=True)
class FileColumn:
    """One column as the file names it (not yet folded) and its Redshift type."""

    name: str
    type: ColumnType


@dataclass(frozen=True)
class FileSchema:
    """A file's top-level columns, in the file's order."""

    columns: tuple[FileColumn, ...]
