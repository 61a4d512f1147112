"""The stand-in is Redshift where the exactly-once bookkeeping depends on it.

Three places where PostgreSQL and Redshift differ decide whether the ledger
recognises an object: how a backslash in a string literal is read, how long
an identifier may be before it is silently cut, and whether trailing blanks
count when two VARCHAR values are compared. Each test here makes the
embedded PostgreSQL behave (or be checked) the Redshift way, then runs the
real ledger SQL, the real stand-in session or the real loader against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pg8000.dbapi
import pytest

from helpers import put
from s3redshift.config import LoaderConfig
from s3redshift.errors import PermanentError
from s3redshift.identifiers import TableRef, portable_literal, quote_identifier, quote_literal
from s3redshift.ledger import (
    BATCH_TABLE,
    GUARD_MARKER,
    LEDGER_COLUMNS,
    batch_table_sql,
    create_ledger_sql,
    guard_sql,
    ledger_insert_sql,
    ledger_table_for,
    loaded_among,
    loaded_identities_sql,
)
from s3redshift.ledger_queries import not_loaded
from s3redshift.loader import Loader
from s3redshift.local import EmbeddedEnvironment
from s3redshift.local.standin import (
    STANDIN_IDENTIFIER_BYTES,
    StandInConnection,
    StandInConnector,
    sortkey_as_index,
)
from s3redshift.transports.dbapi import translate_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LEDGER = ledger_table_for("s3redshift", TableRef("public", "kpis"))
"""The ledger table of public.kpis, where the tests' loaders record."""
HOSTILE_KEYS = ("a\\b.csv", "a\\\\'b.csv", "\\", "x\\'")
"""Keys whose backslashes change meaning between the two readings of a literal."""

CSV_RULE = {
    "pattern": "{table}/**",
    "schema": "public",
    "format": {"type": "csv", "ignore_header": 1},
}


@pytest.fixture
def session(embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client) -> Iterator[Any]:
    """A stand-in session (what the loader's transport talks to) on the test database."""
    sessions = StandInConnector.from_dsn(embedded_env.database_dsn(pg_database), s3_client=s3)
    connection: StandInConnection = sessions()
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def make_loader(
    embedded_env: EmbeddedEnvironment, pg_database: str, s3: S3Client
) -> Iterator[Callable[..., Loader]]:
    """Loaders on the stand-in, on the test database; all are closed afterwards."""
    made: list[Loader] = []

    def factory(*rules: dict[str, Any]) -> Loader:
        config = LoaderConfig.from_mapping(
            {
                **embedded_env.connector_config(pg_database),
                "copy": {"iam_role": "default"},
                "ledger": {"enabled": True, "schema": "s3redshift"},
                "tables": list(rules or (CSV_RULE,)),
            }
        )
        loader = embedded_env.loader(config, s3_client=s3)
        made.append(loader)
        return loader

    yield factory
    for loader in made:
        loader.close()


def run(connection: Any, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements in one transaction; the last one's rows, if it returns any."""
    cursor = connection.cursor()
    result: list[tuple[Any, ...]] = []
    for sql in statements:
        cursor.execute(sql)
        result = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
    connection.commit()
    return result


def read_literals(connection: Any, standard_conforming_strings: str) -> None:
    """Make a raw PostgreSQL session read literals one way or the other."""
    run(
        connection,
        f"SET standard_conforming_strings = {standard_conforming_strings}",
        "SET escape_string_warning = off",
    )


# --- 1. backslashes ---------------------------------------------------------------


def test_standin_sessions_read_literals_as_redshift_does(session: Any) -> None:
    settings = (
        "SELECT current_setting('standard_conforming_strings'), "
        "current_setting('escape_string_warning')"
    )
    assert run(session, settings) == [("off", "off")]
    session.cursor().execute("SELECT 1")
    session.rollback()  # a rolled-back transaction must not undo the session's reading
    assert run(session, settings) == [("off", "off")]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_standin_reads_quote_literal_back_as_the_value(session: Any, key: str) -> None:
    # quote_literal writes what Redshift reads back as the value; so must the stand-in.
    assert run(session, f"SELECT {quote_literal(key)}") == [(key,)]


@pytest.mark.parametrize("reading", ["on", "off"])
def test_portable_literal_reads_back_as_the_value_under_either_reading(
    pg: Any, reading: str
) -> None:
    every_stand_in = "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0xE000, 0xF900)))
    values = [*HOSTILE_KEYS, "k.csv  ", "a|b\\c", every_stand_in + "\\" + every_stand_in]
    read_literals(pg, reading)
    for value in values:
        assert run(pg, f"SELECT {portable_literal(value)}") == [(value,)]


@pytest.mark.parametrize("reading", ["on", "off"])
def test_ledger_sql_finds_hostile_keys_under_either_reading_of_literals(
    pg: Any, reading: str
) -> None:
    read_literals(pg, reading)
    # The raw PostgreSQL session takes the DDL as the stand-in sends it on.
    run(pg, *(sql for ddl in create_ledger_sql(LEDGER) for sql in sortkey_as_index(ddl)))
    present = [("bkt", key, f'"etag{n}"') for n, key in enumerate(HOSTILE_KEYS)]
    absent = [("bkt", key + "x", '"etag"') for key in HOSTILE_KEYS] + [("bkt", "a\\\\b.csv", "e")]
    # The object list reaches the batch table through COPY, not through a
    # literal: bound parameters stand in for it here, whatever the reading.
    cursor = pg.cursor()
    cursor.execute(batch_table_sql())
    for bucket, key, identity in present:
        cursor.execute(
            f"INSERT INTO {BATCH_TABLE.sql} VALUES (%s, %s, %s, %s)", (bucket, key, identity, 1)
        )
    cursor.execute(guard_sql(LEDGER))  # nothing loaded yet: the guard lets the batch pass
    cursor.execute(ledger_insert_sql(LEDGER, TableRef("public", "kpis"), "b1", "2026-11-28"))
    cursor.execute(f"DROP TABLE {BATCH_TABLE.sql}")
    pg.commit()
    lookup = loaded_identities_sql(LEDGER, present + absent)
    assert sorted(loaded_among(run(pg, lookup), present + absent)) == sorted(present)
    assert "\\" not in lookup  # nothing in it depends on how a backslash is read
    cursor = pg.cursor()
    cursor.execute(batch_table_sql())
    cursor.execute(f"INSERT INTO {BATCH_TABLE.sql} VALUES (%s, %s, %s, %s)", (*present[-1], 1))
    with pytest.raises(pg8000.dbapi.DatabaseError, match=GUARD_MARKER):
        cursor.execute(guard_sql(LEDGER))
    pg.rollback()


def test_replayed_keys_with_backslashes_are_duplicates_and_not_listed_as_missing(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    run(pg, "CREATE TABLE kpis (id INT)")
    loader = make_loader()
    objects = [put(s3, bucket, f"kpis/{key}", f"id\n{n}\n") for n, key in enumerate(HOSTILE_KEYS)]
    first = loader.load(objects)
    assert first.outcomes() == ["loaded"] * len(objects), first.to_json()
    replay = loader.load(objects)
    assert replay.outcomes() == ["duplicate"] * len(objects), replay.to_json()
    assert run(pg, "SELECT count(*) FROM kpis") == [(len(objects),)]
    keys = run(pg, f"SELECT object_key FROM {LEDGER.sql} ORDER BY object_key")
    assert sorted(k for (k,) in keys) == sorted(o.key for o in objects)
    assert not_loaded(loader, f"s3://{bucket}/kpis/") == []


# --- 2. identifiers -----------------------------------------------------------------


def test_standin_limit_is_the_servers_identifier_limit(session: Any) -> None:
    assert run(session, "SHOW max_identifier_length") == [(str(STANDIN_IDENTIFIER_BYTES),)]


@pytest.mark.parametrize(
    "name",
    ["t" * 64, "é" * 32, "t" * 63 + "é", "ab" * 40],
    ids=["64-ascii", "32-two-byte", "63+2-bytes", "80-ascii"],
)
@pytest.mark.parametrize("quoted", [True, False], ids=["quoted", "unquoted"])
def test_standin_refuses_identifiers_postgresql_would_truncate(
    session: Any, name: str, quoted: bool
) -> None:
    spelt = quote_identifier(name) if quoted else name
    with pytest.raises(pg8000.dbapi.DatabaseError) as caught:
        session.cursor().execute(f"CREATE TABLE public.{spelt} (x INT)")
    fields = caught.value.args[0]
    assert fields["C"] == "42622"  # name_too_long
    assert name in fields["M"]
    assert "63 bytes" in fields["M"]
    assert "127" in fields["M"]
    error = translate_error(caught.value, table=f"public.{name}")
    assert isinstance(error, PermanentError)
    assert name in error.message
    session.rollback()
    truncated = name.encode()[:STANDIN_IDENTIFIER_BYTES].decode(errors="ignore")
    assert run(
        session, f"SELECT count(*) FROM pg_class WHERE relname = {quote_literal(truncated)}"
    ) == [(0,)]


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE TABLE public."' + "t" * 63 + '" (x INT)',
        "CREATE TABLE public.t" + "é" * 31 + " (x INT)",  # 1 + 62 bytes
        "SELECT '\"" + "t" * 80 + "\"' AS x",  # a long "identifier" inside a literal
        "SELECT 'it\\'s \"" + "t" * 80 + "\"' AS x",  # ... after a backslash-escaped quote
        'SELECT 1 AS x -- "' + "t" * 80 + '"',  # ... in a comment
        "SELECT 1 /* " + "t" * 80 + " */ AS x",
        "SELECT '" + "t" * 200 + "' AS x",
    ],
    ids=[
        "63-quoted",
        "63-bytes-unquoted",
        "literal",
        "escaped-quote",
        "line-comment",
        "block-comment",
        "long-literal",
    ],
)
def test_standin_passes_names_within_the_limit_and_text_that_is_no_name(
    session: Any, sql: str
) -> None:
    run(session, sql)


def test_loader_refuses_table_names_the_standin_would_cut_to_one(
    pg: Any, s3: S3Client, bucket: str, make_loader: Callable[..., Loader]
) -> None:
    shared = "m" * STANDIN_IDENTIFIER_BYTES  # what both long names would silently become
    run(pg, f"CREATE TABLE {quote_identifier(shared)} (id INT)")
    loader = make_loader()
    objects = [
        put(s3, bucket, f"{shared}_first/a.csv", "id\n1\n"),
        put(s3, bucket, f"{shared}_second/b.csv", "id\n2\n"),
    ]
    report = loader.load(objects)
    assert report.outcomes() == ["failed", "failed"], report.to_json()
    for result, suffix in zip(report.objects, ("_first", "_second"), strict=True):
        assert isinstance(result.error, PermanentError)
        assert shared + suffix in result.reason
        assert "63 bytes" in result.reason
    assert run(pg, f"SELECT count(*) FROM {quote_identifier(shared)}") == [(0,)]


# --- 3. trailing blanks ---------------------------------------------------------------


def create_blank_insensitive_ledger(pg: Any) -> None:
    """The ledger with its key compared as Redshift compares VARCHAR: trailing blanks ignored.

    PostgreSQL's ``bpchar`` ignores trailing blanks in comparisons; the
    loader's ``CREATE TABLE IF NOT EXISTS`` keeps this table as it is.
    """
    columns = ", ".join(
        f"{quote_identifier(name)} {'BPCHAR NOT NULL' if name == 'object_key' else kind}"
        for name, kind in LEDGER_COLUMNS
    )
    run(pg, f"CREATE SCHEMA {quote_identifier(LEDGER.schema or '')}")
    run(pg, f"CREATE TABLE {LEDGER.sql} ({columns})")
    # The stand-in now compares as Redshift does: the test below is honest.
    assert run(pg, "SELECT CAST('k.csv' AS BPCHAR) = CAST('k.csv  ' AS BPCHAR)") == [(True,)]


@pytest.mark.parametrize(
    "keys", [("kpis/k.csv", "kpis/k.csv "), ("kpis/k.csv  ", "kpis/k.csv")], ids=["add", "drop"]
)
def test_keys_that_differ_only_by_trailing_blanks_both_load_exactly_once(
    pg: Any,
    s3: S3Client,
    bucket: str,
    make_loader: Callable[..., Loader],
    keys: tuple[str, str],
) -> None:
    create_blank_insensitive_ledger(pg)
    run(pg, "CREATE TABLE kpis (id INT)")
    loader = make_loader()
    # The same body, so the same ETag: only the trailing blanks tell them apart.
    first, second = (put(s3, bucket, key, "id\n1\n") for key in keys)
    assert first.etag == second.etag
    assert loader.load([first]).outcomes() == ["loaded"]
    report = loader.load([second])
    assert report.outcomes() == ["loaded"], report.to_json()
    assert run(pg, "SELECT count(*) FROM kpis") == [(2,)]
    stored = run(pg, f"SELECT object_key FROM {LEDGER.sql}")
    assert sorted(k for (k,) in stored) == sorted(keys)
    replay = loader.load([first, second])
    assert replay.outcomes() == ["duplicate", "duplicate"], replay.to_json()
    assert not_loaded(loader, f"s3://{bucket}/kpis/") == []


def test_ledger_lookup_tells_keys_apart_by_trailing_blanks(pg: Any) -> None:
    create_blank_insensitive_ledger(pg)
    identity = '"etag"'
    cursor = pg.cursor()
    cursor.execute(
        f"INSERT INTO {LEDGER.sql} VALUES (%s, %s, %s, 1, 'public.kpis', 'b', '2026-11-28')",
        ("bkt", "k.csv", identity),
    )
    pg.commit()
    blank = [("bkt", "k.csv ", identity)]
    rows = run(pg, loaded_identities_sql(LEDGER, blank))
    # The server, comparing as Redshift does, answers with the other key's row;
    # its length in bytes tells the two objects apart.
    assert [(r[1].rstrip(" "), r[3]) for r in rows] == [("k.csv", 5)]
    assert loaded_among(rows, blank) == set()
    plain = [("bkt", "k.csv", identity)]
    assert loaded_among(run(pg, loaded_identities_sql(LEDGER, plain)), plain) == set(plain)
