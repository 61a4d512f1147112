"""Redshift column types as values: how files' types map, merge and fit a table.

One rule set decides, for a schema policy, whether a file's column fits a
table's column as it is, needs the column widened, or cannot load safely; the
same rule merges the types of a batch's files (the wider of two files is the
one the other fits). Redshift can change a column's type only by growing a
VARCHAR (``ALTER COLUMN ... TYPE``), so every other difference that needs a
wider type is a conflict, never a rewrite of the table.

A file's type is *declared* (Parquet, ORC and Avro say what each column
holds) or *observed* (CSV and JSON lines: read off a sample of values, so a
length or a number's range is a lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "NOTHING_SEEN",
    "VARCHAR_MAX",
    "ColumnType",
    "Fit",
    "fit",
    "from_catalog",
    "merge",
    "varchar_size",
]

Kind = Literal[
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "DECIMAL",
    "REAL",
    "DOUBLE PRECISION",
    "BOOLEAN",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "CHAR",
    "VARCHAR",
    "SUPER",
    "UNKNOWN",
]

VARCHAR_MAX = 65535
"""Redshift's longest VARCHAR, in bytes."""

_NOTHING_SEEN_SQL = "VARCHAR(256)"
"""What a column made from files that held no value in it is created as."""

DECIMAL_MAX_PRECISION = 38


OBSERVED_SCALE = 18
"""The scale a created column of sampled decimals gets at least (20 digits before the point)."""

_VARCHAR_FLOOR = 256
"""The shortest VARCHAR a created column gets: room for short codes to grow."""

_INTEGERS: tuple[Kind, ...] = ("SMALLINT", "INTEGER", "BIGINT")
_FLOATS: tuple[Kind, ...] = ("REAL", "DOUBLE PRECISION")
_TIMES: tuple[Kind, ...] = ("DATE", "TIMESTAMP", "TIMESTAMPTZ")


@dataclass(frozen=True)
class ColumnType:
    """A column's Redshift type.

    ``length`` is in bytes (VARCHAR, CHAR); None where the file does not say
    (a Parquet string). ``observed``: the sizes come from sampled values.
    """

    kind: Kind
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    observed: bool = False

    @property
    def sql(self) -> str:
        """The type as a column definition writes it (a created column's size)."""
        if self.kind == "UNKNOWN":
            return _NOTHING_SEEN_SQL
        if self.kind == "VARCHAR":
            if self.length is not None and not self.observed:
                return f"VARCHAR({min(max(self.length, 1), VARCHAR_MAX)})"
            return f"VARCHAR({varchar_size(self.length)})"
        if self.kind == "CHAR":
            return f"CHAR({self.length or 1})"
        if self.kind == "DECIMAL" and self.observed:
            # Places beyond the scale would be cut without a word: room for more than
            # seen, as long as the digits seen before the point still fit.
            whole = (self.precision or 0) - (self.scale or 0)
            scale = min(max(self.scale or 0, OBSERVED_SCALE), DECIMAL_MAX_PRECISION - whole)
            return f"DECIMAL({DECIMAL_MAX_PRECISION},{scale})"
        if self.kind == "DECIMAL":
            return f"DECIMAL({self.precision or 18},{self.scale or 0})"
        if self.kind in _INTEGERS and self.observed:
            return "BIGINT"  # a sample's range says little about the next file's
        return self.kind

    def __str__(self) -> str:
        if self.kind == "UNKNOWN":
            return "no value"
        if self.kind in ("VARCHAR", "CHAR"):
            return f"{self.kind}({self.length})" if self.length else self.kind
        if self.kind == "DECIMAL":
            return f"DECIMAL({self.precision or 18},{self.scale or 0})"
        return self.kind


WIDEST_TEXT = ColumnType("VARCHAR", VARCHAR_MAX)
NOTHING_SEEN = ColumnType("UNKNOWN", observed=True)
"""A sampled column with no value in it: it fits any column and merges into any type."""
"""What ``widen`` makes a VARCHAR: every loader agrees on it, so no race can narrow one."""


def varchar_size(observed_bytes: int | None) -> int:
    """The VARCHAR length a column holding values of ``observed_bytes`` gets.

    Twice the longest value seen, rounded up to a power of two, at least 256
    and at most 65535; a file that does not say (None) gets 65535.
    """
    if observed_bytes is None:
        return VARCHAR_MAX
    size = _VARCHAR_FLOOR
    while size < 2 * observed_bytes and size < VARCHAR_MAX:
        size *= 2
    return min(size, VARCHAR_MAX)


@dataclass(frozen=True)
class Fit:
    """How a file's column meets a table's: ``fits``, ``widen`` to ``to``, or ``conflict``."""

    outcome: Literal["fits", "widen", "conflict"]
    to: ColumnType | None = None
    why: str = ""


_FITS = Fit("fits")


def fit(table: ColumnType, file: ColumnType) -> Fit:
    """Whether values of ``file``'s type load into a column of ``table``'s type.

    ``widen`` is only ever a longer VARCHAR, the one change Redshift can make
    to a column; a wider number, a smaller DECIMAL scale or text into a
    number is a ``conflict`` whose ``why`` says what the column would need.
    """
    t, f = table.kind, file.kind
    if t == "SUPER" or f == "UNKNOWN":  # no value seen says nothing against the column
        return _FITS
    if t in ("VARCHAR", "CHAR"):
        return _fit_text(table, file)
    if t in _INTEGERS:
        if f in _INTEGERS:
            wider = _INTEGERS.index(f) > _INTEGERS.index(t)
            return _conflict(f"its values need {f}") if wider and file.observed else _FITS
        return _conflict(f"the file holds {file}")
    if t == "DECIMAL":
        return _fit_decimal(table, file)
    if t in _FLOATS:
        return _fit_float(table, file)
    if t in _TIMES and f in _TIMES and _TIMES.index(f) <= _TIMES.index(t):
        return _FITS
    if t == f:
        return _FITS
    return _conflict(f"the file holds {file}")


def _conflict(why: str) -> Fit:
    return Fit("conflict", why=why)


_EXACT_IN = {
    "REAL": ("REAL", "SMALLINT"),
    "DOUBLE PRECISION": ("REAL", "DOUBLE PRECISION", "SMALLINT", "INTEGER"),
}
"""The declared types a float column holds without rounding a value."""


def _fit_float(table: ColumnType, file: ColumnType) -> Fit:
    if file.kind in _EXACT_IN[table.kind]:
        return _FITS
    if file.observed and file.kind in (*_INTEGERS, "DECIMAL", *_FLOATS):
        return _FITS  # sampled text: the user's float column parses it
    return _conflict(f"the file holds {file}, which {table} would round")


def _fit_text(table: ColumnType, file: ColumnType) -> Fit:
    if file.kind == "SUPER" and not file.observed:
        return _conflict(
            f"the file holds nested values ({file}), which a {table.kind} column takes only "
            "as JSON_SERIALIZE text; make the column SUPER"
        )
    if file.kind not in ("VARCHAR", "CHAR") or file.length is None or table.length is None:
        return _FITS  # any value has a text form; a length nobody knows is not checked
    if file.length <= table.length:
        return _FITS
    if file.length > VARCHAR_MAX:
        return _conflict(f"values of {file.length} bytes, longer than VARCHAR({VARCHAR_MAX})")
    if table.kind == "CHAR":
        return _conflict(f"values of {file.length} bytes; Redshift cannot widen a CHAR")
    return Fit("widen", WIDEST_TEXT)


def _fit_decimal(table: ColumnType, file: ColumnType) -> Fit:
    precision, scale = table.precision or 18, table.scale or 0
    if file.kind in _INTEGERS:
        return _FITS  # as for integers: the values decide, an overflow fails the load
    if file.kind != "DECIMAL":
        return _conflict(f"the file holds {file}")
    f_precision, f_scale = file.precision or 18, file.scale or 0
    if f_scale > scale:
        return _conflict(f"{f_scale} decimal places (a smaller scale would cut them)")
    if f_precision - f_scale > precision - scale:
        return _conflict(f"{f_precision - f_scale} digits before the point")
    return _FITS


def _digits(file: ColumnType) -> Fit:
    return _conflict(f"{file} values, with more digits before the point")


def merge(first: ColumnType, second: ColumnType) -> ColumnType | None:
    """The type holding both files' values, or None when neither fits the other.

    The same rule as :func:`fit`: the one the other fits, or the widened one;
    sizes are compared as if seen (a declared BIGINT does not fit an INTEGER).
    """
    if first.kind == "UNKNOWN" or second.kind == "UNKNOWN":
        return second if first.kind == "UNKNOWN" else first
    if first.kind == second.kind == "DECIMAL":
        return _merged_decimal(first, second)
    for wide, narrow in ((first, second), (second, first)):
        outcome = fit(wide, replace(narrow, observed=True))
        if outcome.outcome == "fits":
            return replace(wide, observed=wide.observed and narrow.observed)
        if outcome.outcome == "widen":  # two texts, the second one longer
            return replace(narrow, observed=wide.observed and narrow.observed)
    return None


def _merged_decimal(first: ColumnType, second: ColumnType) -> ColumnType | None:
    """The DECIMAL with the most digits before the point and the most after, if within 38."""
    scale = max(first.scale or 0, second.scale or 0)
    whole = max((t.precision or 18) - (t.scale or 0) for t in (first, second))
    if whole + scale > DECIMAL_MAX_PRECISION:
        return None
    return ColumnType("DECIMAL", None, whole + scale, scale, first.observed and second.observed)


_CATALOG_KINDS: dict[str, Kind] = {
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "numeric": "DECIMAL",
    "real": "REAL",
    "double precision": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "time without time zone": "TIME",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
    "character": "CHAR",
    "character varying": "VARCHAR",
    "super": "SUPER",
}


def from_catalog(
    data_type: str, length: int | None, precision: int | None, scale: int | None
) -> ColumnType | None:
    """A table column's type from ``information_schema.columns``; None for a type not judged.

    A column of a type these rules do not know (GEOMETRY, HLLSKETCH...) is
    left to COPY: no schema change is planned for it.
    """
    kind = _CATALOG_KINDS.get(data_type.lower())
    if kind is None:
        return None
    if kind == "DECIMAL":
        return ColumnType(kind, precision=precision, scale=scale)
    if kind in ("VARCHAR", "CHAR"):
        return ColumnType(kind, length=length)
    return ColumnType(kind)
