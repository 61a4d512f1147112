"""Ledger look-ups stay small whatever the keys: the Data API refuses statements over 100 KB."""

from __future__ import annotations

import pytest

from s3redshift.identifiers import TableRef
from s3redshift.ledger import LEDGER_QUERY_CHUNK, loaded_identities_sql, lookup_chunks

LEDGER = TableRef("s3redshift", "load_ledger")
DATA_API_LIMIT = 100 * 1024


@pytest.mark.parametrize(
    "filler",
    [
        pytest.param("a", id="plain"),
        pytest.param("'", id="quotes-double-when-written"),
        pytest.param("\\", id="backslashes"),
        pytest.param("é", id="two-byte-characters"),
    ],
)
def test_two_hundred_long_keys_are_split_into_statements_under_the_data_api_limit(
    filler: str,
) -> None:
    keys = [
        ("bucket", f"k/{n:03d}/" + filler * (900 // len(filler.encode())), "e" * 32)
        for n in range(200)
    ]
    chunks = lookup_chunks(keys)
    assert [k for chunk in chunks for k in chunk] == keys  # every key, once, in order
    for chunk in chunks:
        assert 0 < len(chunk) <= LEDGER_QUERY_CHUNK
        assert len(loaded_identities_sql(LEDGER, chunk).encode()) < DATA_API_LIMIT
    assert len(chunks) > 1  # 200 keys of 900 bytes cannot share one statement


def test_short_keys_share_one_statement_up_to_the_count_limit() -> None:
    keys = [("b", f"k/{n}.csv", "e") for n in range(LEDGER_QUERY_CHUNK + 1)]
    assert [len(c) for c in lookup_chunks(keys)] == [LEDGER_QUERY_CHUNK, 1]
