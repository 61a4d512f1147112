from __future__ import annotations

import pytest

from s3redshift.errors import UnsafeIdentifierError
from s3redshift.identifiers import TableRef, quote_identifier, quote_literal, validate_identifier


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
