"""Redshift identifiers and literals as pure functions.

Every name and every string value that reaches generated SQL passes through
exactly one function here, so injection-safety is argued in one place:

* identifiers are validated against Redshift's *standard* identifier rules,
  folded to lower case (what Redshift does anyway) and always emitted
  double-quoted; a name that would need quoting to be legal is rejected, not
  mangled;
* literals are single-quoted with backslashes doubled first and quotes doubled
  second, because Redshift treats a backslash as an escape inside literals;
* values compared with stored data (object keys in the ledger's SQL) are
  written by :func:`portable_literal`, which holds no backslash at all, so
  they mean the same whether or not the server reads backslashes as escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from s3redshift.errors import UnsafeIdentifierError

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "TableRef",
    "portable_literal",
    "quote_identifier",
    "quote_identifiers",
    "quote_literal",
    "validate_identifier",
]

MAX_IDENTIFIER_BYTES = 127
"""Redshift's limit, in UTF-8 bytes, for any identifier (quotes excluded)."""

# First character: ASCII letter, underscore, or a multibyte UTF-8 character
# (any code point >= U+0080). Later characters may also be digits or '$'.
# Control characters and the Unicode line/paragraph separators are excluded.
# Each class is written as what it excludes: a class of ranges up to U+10FFFF
# takes the compiler about 10 ms to build, paid by every cold start, where
# its complement takes half a millisecond. tests/test_identifiers.py checks
# the classes against the rule above for every code point.
_FIRST_EXCLUDED = r"\x00-\x40\x5b-\x5e\x60\x7b-\x9f\u2028\u2029"
_LATER_EXCLUDED = r"\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x9f\u2028\u2029"
_STANDARD_IDENTIFIER = re.compile(f"[^{_FIRST_EXCLUDED}][^{_LATER_EXCLUDED}]*")


def validate_identifier(name: str, *, what: str = "identifier") -> str:
    """Return ``name`` folded to lower case, or raise if Redshift would refuse it.

    Folding happens here because Redshift folds ASCII letters in both standard
    and delimited identifiers by default; emitting the folded form makes the
    generated SQL say what will actually be created and matched.

    Raises:
        UnsafeIdentifierError: empty, too long, or containing characters
            outside Redshift's standard identifier rules.
    """
    if not name:
        raise UnsafeIdentifierError(f"{what} is empty")
    folded = name.lower() if name.isascii() else _fold_ascii(name)
    size = len(folded.encode("utf-8", errors="surrogatepass"))
    if size > MAX_IDENTIFIER_BYTES:
        raise UnsafeIdentifierError(
            f"{what} {name!r} is {size} bytes long; Redshift allows at most "
            f"{MAX_IDENTIFIER_BYTES} bytes"
        )
    if (
        _STANDARD_IDENTIFIER.fullmatch(folded) is None
        or not _is_encodable(folded)
        or not (folded.isascii() or _named_characters(folded))
    ):
        raise UnsafeIdentifierError(
            f"{what} {name!r} is not a valid Redshift name: use letters, digits, "
            "'_' or '$', starting with a letter or '_'"
        )
    return folded


def quote_identifier(name: str, *, what: str = "identifier") -> str:
    """Validate ``name`` and return it double-quoted, ready for SQL."""
    folded = validate_identifier(name, what=what)
    # Validation excludes '"', so there is nothing to double; kept explicit.
    return '"' + folded.replace('"', '""') + '"'


def quote_identifiers(names: Iterable[str], *, what: str = "column") -> str:
    """Several names, each validated and double-quoted, joined by ``", "`` (a column list)."""
    return ", ".join(quote_identifier(name, what=what) for name in names)


def quote_literal(value: str) -> str:
    """Return ``value`` as a Redshift string literal.

    Backslashes are doubled before quotes, the order the Redshift docs give for
    QUOTE_LITERAL; the reverse order would double the backslashes added for
    nothing. A NUL character cannot be carried in a literal and is refused.
    """
    if "\x00" in value:
        raise ValueError("a SQL literal cannot contain a NUL character")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def portable_literal(value: str) -> str:
    """Return ``value`` as a SQL string expression that contains no backslash.

    Redshift reads a backslash in a literal as an escape; PostgreSQL with
    ``standard_conforming_strings = on`` reads it as itself. A literal with a
    backslash therefore names different strings on the two, and a ledger
    look-up written for one would miss on the other. A value without
    backslashes is the plain literal :func:`quote_literal` writes, which both
    read alike. Otherwise each backslash is written as a character the value
    does not contain, and ``REPLACE(..., that character, CHR(92))`` puts the
    backslashes back: functions both have, and a fixed few bytes however many
    backslashes there are (statement size limits hold). Not for COPY
    options, whose literals are Redshift's to read (``DELIMITER '\\t'``).

    Raises:
        ValueError: the value contains a NUL character.
    """
    if "\x00" in value:
        raise ValueError("a SQL literal cannot contain a NUL character")
    if "\\" not in value:
        return _plain_literal(value)
    present = set(value)
    stand_in = next((c for c in _stand_ins() if c not in present), None)
    if stand_in is None:  # only a value using thousands of distinct characters
        return "(" + f" || {_BACKSLASH} || ".join(map(_plain_literal, value.split("\\"))) + ")"
    marked = _plain_literal(value.replace("\\", stand_in))
    return f"REPLACE({marked}, {_plain_literal(stand_in)}, {_BACKSLASH})"


def _plain_literal(value: str) -> str:
    """A literal of a value without backslashes: the same under either reading."""
    return "'" + value.replace("'", "''") + "'"


_BACKSLASH = "CHR(92)"
"""A backslash, spelt without one."""


def _stand_ins() -> Iterator[str]:
    """Characters that may stand for a backslash: ``|``, printable ASCII, then private use.

    Generated while tried: few values hold a backslash, and a table of them
    all would be built by every cold start.
    """
    yield "|"
    for code in chain(range(0x21, 0x7F), range(0xE000, 0xF900)):
        if chr(code) not in "|'\\":
            yield chr(code)


@dataclass(frozen=True, order=True)
class TableRef:
    """A validated, case-folded ``schema.table`` pair.

    ``schema`` is ``None`` only for session-temporary tables, which Redshift
    does not allow to be schema-qualified; see :meth:`temporary`.
    """

    schema: str | None
    table: str

    def __post_init__(self) -> None:
        if self.schema is not None:
            object.__setattr__(self, "schema", validate_identifier(self.schema, what="schema"))
        object.__setattr__(self, "table", validate_identifier(self.table, what="table"))

    @classmethod
    def parse(cls, qualified: str) -> TableRef:
        """Read ``schema.table`` (both parts required)."""
        schema, dot, table = qualified.partition(".")
        if not dot or "." in table:
            raise UnsafeIdentifierError(f"table name {qualified!r} must be written as schema.table")
        return cls(schema, table)

    @classmethod
    def temporary(cls, table: str) -> TableRef:
        """A session-temporary table, always referred to unqualified."""
        return cls(None, table)

    @property
    def sql(self) -> str:
        """The quoted, qualified name for SQL text."""
        if self.schema is None:
            return quote_identifier(self.table)
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.table)}"

    def __str__(self) -> str:
        return self.table if self.schema is None else f"{self.schema}.{self.table}"


_NAME_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd", "Nl", "No"})
"""Unicode categories allowed for non-ASCII characters: letters, marks, digits.

Redshift accepts any multibyte character, but spaces, format characters
(zero-width, bidi overrides) and symbols make names that read as something
else; quoting would keep them safe in SQL, not honest in a report.
"""


def _named_characters(name: str) -> bool:
    """Whether every non-ASCII character of ``name`` is in :data:`_NAME_CATEGORIES`."""
    from unicodedata import category  # only names beyond ASCII pay for the table

    return all(c.isascii() or category(c) in _NAME_CATEGORIES for c in name)


def _fold_ascii(name: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in name)


def _is_encodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True
