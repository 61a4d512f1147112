"""The file-schema model: a file's columns and the ranged read that finds them.

Kept apart from the package's ``__init__`` so that the readers can import it
while the package re-exports their entry point without an import cycle.
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
