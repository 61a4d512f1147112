from __future__ import annotations

import pytest

from s3redshift.errors import UnsafeIdentifierError
from s3redshift.identifiers import (
    _STANDARD_IDENTIFIER,
    TableRef,
    portable_literal,
    quote_identifier,
    quote_literal,
    validate_identifier,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("KPIs", '"kpis"'), ("_x$1", '"_x$1"'), ("Zürich", '"zürich"'), ("select", '"select"')],
)
def test_quote_identifier_folds_and_quotes(name: str, expected: str) -> None:
    assert quote_identifier(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a b",
        "1abc",
        'a"b',
        "a;b",
        "a.b",
        "a\nb",
        "a-b",
        "x" * 128,
        "é" * 64,
        "a\u00a0b",  # no-break space
        "a\u200bb",  # zero-width space
        "\u202eevil",  # right-to-left override
        "a\ufeff",  # byte order mark
        "price€",  # a symbol
    ],
)
def test_unsafe_identifiers_are_rejected(name: str) -> None:
    with pytest.raises(UnsafeIdentifierError):
        validate_identifier(name)


def test_identifier_length_is_counted_in_bytes() -> None:
    assert validate_identifier("é" * 63 + "a") == "é" * 63 + "a"  # 127 bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "'abc'"), ("a'b", "'a''b'"), ("a\\b", "'a\\\\b'"), ("\\'", "'\\\\'''")],
)
def test_quote_literal_escapes_backslash_then_quote(value: str, expected: str) -> None:
    assert quote_literal(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\\b.csv", "REPLACE('a|b.csv', '|', CHR(92))"),
        ("\\", "REPLACE('|', '|', CHR(92))"),
        ("x\\'", "REPLACE('x|''', '|', CHR(92))"),
        ("a\\\\'b", "REPLACE('a||''b', '|', CHR(92))"),
        ("a|b\\c", "REPLACE('a|b!c', '!', CHR(92))"),  # a stand-in the value does not hold
    ],
)
def test_portable_literal_spells_backslashes_without_one(value: str, expected: str) -> None:
    assert portable_literal(value) == expected


def test_portable_literal_of_a_value_holding_every_stand_in_concatenates() -> None:
    value = "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0xE000, 0xF900)))
    literal = portable_literal(value)
    assert "\\" not in literal
    assert literal.startswith("('")
    assert literal.count(" || CHR(92) || ") == 1


@pytest.mark.parametrize("value", ["", "abc", "a'b", "it''s", "k.csv  ", "数据/ü.csv"])
def test_portable_literal_without_backslashes_is_the_plain_literal(value: str) -> None:
    assert portable_literal(value) == quote_literal(value)


def test_portable_literal_refuses_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        portable_literal("a\x00b")


def test_table_ref_sql_and_parse() -> None:
    ref = TableRef.parse("Analytics.KPIs")
    assert ref == TableRef("analytics", "kpis")
    assert ref.sql == '"analytics"."kpis"'
    assert str(ref) == "analytics.kpis"
    with pytest.raises(UnsafeIdentifierError):
        TableRef.parse("kpis")


@pytest.mark.parametrize("name", ["zürich", "数据", "café_2", "naïve$"])
def test_letters_digits_and_marks_of_any_script_are_names(name: str) -> None:
    assert validate_identifier(name) == name


def _allowed(code_point: int, *, first: bool) -> bool:
    """Redshift's standard identifier rule for one character, written as the ranges it allows."""
    ascii_ok = chr(code_point).isascii() and (
        chr(code_point).isalpha()
        or code_point == ord("_")
        or (not first and (chr(code_point).isdigit() or code_point == ord("$")))
    )
    return ascii_ok or (0xA0 <= code_point <= 0x2027) or (0x202A <= code_point <= 0x10FFFF)


def test_the_identifier_classes_follow_the_rule_for_every_code_point() -> None:
    wrong = [
        (hex(c), where)
        for c in range(0x110000)
        for where, name in (("first", chr(c)), ("later", "a" + chr(c)))
        if (_STANDARD_IDENTIFIER.fullmatch(name) is not None) != _allowed(c, first=where == "first")
    ]
    assert wrong == []
