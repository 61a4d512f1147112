"""`s3redshift ledger --object` and `ledger --failed`'s unmapped keys, on the stand-in.

Each object's story is asked through the command's real entry: a loaded, a
failed, an unmapped, an ignored and a never-seen object, in text and JSON,
with the exit code each one documents (0 loaded or ignored, 1 otherwise).
"""

from __future__ import annotations

import json

import sqlglot

from helpers import put
from ledger_cli import LedgerWorld, world_fixture  # noqa: F401 - the fixture `world`
from s3redshift.identifiers import TableRef
from s3redshift.ledger import key_rows_sql, ledger_table_for, same_key

LEDGER = ledger_table_for("s3redshift", TableRef("public", "kpis"))


def story(world: LedgerWorld, key: str) -> tuple[int, dict[str, object], str]:
    """The JSON story of ``key`` in the world's bucket, its exit code, and the text story."""
    uri = f"s3://{world.bucket}/{key}"
    text = world.cli("ledger", "--object", uri)
    as_json = world.cli("ledger", "--object", uri, "--json")
    assert as_json.code == text.code
    return text.code, json.loads(as_json.out), text.out


def lines(text: str) -> dict[str, str]:
    """The ``name: value`` lines of a text story."""
    found = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name and " " not in name.replace("in S3", "inS3").replace("maps to", "mapsto"):
            found[name] = value.strip()
    return found


def test_a_loaded_object_shows_each_version_with_table_batch_and_identity_exit_0(
    world: LedgerWorld,
) -> None:
    first = put(world.s3, world.bucket, "kpis/a.csv", "id,name\n1,a\n")
    with world.loader() as loader:
        assert loader.load([first]).outcomes() == ["loaded"]
        # Rewritten with other content: a second version, loaded too.
        second = put(world.s3, world.bucket, "kpis/a.csv", "id,name\n2,b\n3,c\n")
        assert loader.load([second]).outcomes() == ["loaded"]
    [(batch_new,), (batch_old,)] = world.rows(
        f"SELECT batch_id FROM {LEDGER.sql} ORDER BY loaded_at DESC"
    )
    code, document, text = story(world, "kpis/a.csv")
    assert code == 0
    assert document["status"] == "loaded"
    assert document["in_s3"] is True
    loads = document["loads"]
    assert isinstance(loads, list)
    assert [(v["table"], v["batch"], v["identity"], v["size"], v["rows"]) for v in loads] == [
        ("public.kpis", batch_new, second.etag, second.size, None),
        ("public.kpis", batch_old, first.etag, first.size, None),
    ]
    assert document["mapping"] == {
        "outcome": "mapped",
        "table": "public.kpis",
        "rule": 0,
        "pattern": "kpis/**",
        "mode": "append",
    }
    said = lines(text)
    assert said["status"] == "loaded"
    assert said["why"] == "2 version(s) loaded"
    assert said["maps to"] == "public.kpis by tables[0] (pattern 'kpis/**', mode append)"
    assert said["in S3"].startswith(f"yes: identity {second.etag}, {second.size} B")
    table = text.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == [
        "loaded_at",
        "table",
        "batch",
        "identity",
        "size",
        "rows",
        "rejected",
    ]
    assert table[1].split()[2:] == [
        "public.kpis",
        batch_new,
        second.etag,
        str(second.size),
        "unknown",
        "0",
    ]
    assert table[3].startswith("rows: unknown")  # said, not left blank


SKIP_ROWS = """\
[tables.options]
on_error = "skip_rows"
max_rejected_rows = 5
"""
"""The rule's rejected rows are loaded past and kept in load_rejects."""


def test_each_loaded_version_shows_its_own_rejected_rows_not_another_keys(
    world: LedgerWorld,
) -> None:
    world.config_file.write_text(world.config_file.read_text() + SKIP_ROWS)
    first = put(world.s3, world.bucket, "kpis/a.csv", "id,name\n1,a\nx,b\n2,c\ny,d\n")
    # Another key in the same batch, with rejected rows of its own: not a.csv's.
    other = put(world.s3, world.bucket, "kpis/other.csv", "id,name\nz,a\nw,b\nv,c\n")
    with world.loader() as loader:
        assert loader.load([first, other]).outcomes() == ["loaded", "loaded"]
        second = put(world.s3, world.bucket, "kpis/a.csv", "id,name\n3,a\nq,b\n")
        assert loader.load([second]).outcomes() == ["loaded"]
    code, document, text = story(world, "kpis/a.csv")
    assert code == 0
    loads = document["loads"]
    assert isinstance(loads, list)
    assert [(v["identity"], v["rejected_rows"]) for v in loads] == [
        (second.etag, 1),
        (first.etag, 2),
    ]
    table = text.split("\n\n", 1)[1].splitlines()
    assert [row.split()[-1] for row in table[1:3]] == ["1", "2"]


def test_a_failed_object_shows_its_last_failure_exit_1(world: LedgerWorld) -> None:
    bad = put(world.s3, world.bucket, "kpis/bad.csv", "id,name\n1,a\nx,b\n")
    with world.loader() as loader:
        assert loader.load([bad]).outcomes() == ["failed"]
    code, document, text = story(world, "kpis/bad.csv")
    assert code == 1
    assert document["status"] == "failed"
    assert document["loads"] == []
    failure = document["last_failure"]
    assert isinstance(failure, dict)
    assert failure["error"] == "DataRejectedError"
    assert failure["retryable"] is False
    assert failure["identity"] == bad.etag
    assert "line 3, column id" in str(failure["reason"])
    said = lines(text)
    assert said["status"] == "failed"
    assert said["why"].startswith("mapped, not loaded; last failure 20")
    assert ": DataRejectedError: line 3, column id" in said["why"]


def test_an_unmapped_object_names_the_rules_it_missed_exit_1(world: LedgerWorld) -> None:
    put(world.s3, world.bucket, "other/x.csv", "id\n1\n")
    code, document, text = story(world, "other/x.csv")
    assert code == 1
    assert document["status"] == "unmapped"
    assert document["reason"] == "no rule matches key 'other/x.csv' (rules: tables[0] 'kpis/**')"
    assert document["mapping"] == {
        "outcome": "unmapped",
        "table": None,
        "rule": None,
        "pattern": None,
        "mode": None,
    }
    assert document["in_s3"] is True
    assert lines(text)["maps to"] == "nothing (unmapped)"


def test_an_ignored_object_says_why_exit_0(world: LedgerWorld) -> None:
    put(world.s3, world.bucket, "kpis/2026/_SUCCESS", "")
    code, document, _ = story(world, "kpis/2026/_SUCCESS")
    assert code == 0  # never meant to load: nothing is wrong
    assert document["status"] == "ignored"
    assert document["reason"] == "ignored: _SUCCESS marker"


def test_a_never_seen_object_says_whether_s3_has_it_exit_1(world: LedgerWorld) -> None:
    code, document, text = story(world, "kpis/nowhere.csv")
    assert code == 1
    assert document["status"] == "never_seen"
    assert document["in_s3"] is False
    assert document["s3"] is None
    assert document["reason"] == "not in S3, and no load or failure is recorded"
    assert lines(text)["in S3"] == "no (HeadObject: not found)"

    put(world.s3, world.bucket, "kpis/quiet.csv", "id,name\n1,a\n")  # no event, no load
    code, document, _ = story(world, "kpis/quiet.csv")
    assert code == 1
    assert document["status"] == "never_seen"
    assert document["in_s3"] is True
    assert str(document["reason"]).startswith("in S3, but no load or failure is recorded")


def test_a_key_with_a_trailing_blank_is_another_object(world: LedgerWorld) -> None:
    """Redshift ignores trailing blanks in VARCHAR =; the ledger's byte-length rule does not."""
    loaded = put(world.s3, world.bucket, "kpis/t.csv", "id,name\n1,a\n")
    with world.loader() as loader:
        assert loader.load([loaded]).outcomes() == ["loaded"]
    code, document, _ = story(world, "kpis/t.csv ")
    assert (code, document["status"], document["loads"]) == (1, "never_seen", [])
    code, document, _ = story(world, "kpis/t.csv")
    assert (code, document["status"]) == (0, "loaded")
    # The rule itself, on rows as Redshift would return them for 'kpis/t.csv ' (trimmed match).
    assert not same_key("kpis/t.csv", len(b"kpis/t.csv"), "kpis/t.csv ")
    assert same_key("kpis/t.csv ", len(b"kpis/t.csv "), "kpis/t.csv ")


def test_the_key_look_up_is_one_union_in_the_redshift_dialect() -> None:
    other = ledger_table_for("s3redshift", TableRef("public", "other"))
    sql = key_rows_sql([LEDGER, other], "b", "kpis/it's.csv")
    select = (
        'SELECT "bucket", "object_key", "object_identity", "object_size", "target_table", '
        '"batch_id", "loaded_at", OCTET_LENGTH("object_key") FROM {} WHERE "object_key" = '
        "'kpis/it''s.csv' AND \"bucket\" = 'b'"
    )
    assert sql == f"{select.format(LEDGER.sql)} UNION ALL {select.format(other.sql)}"
    [parsed] = sqlglot.parse(sql, read="redshift")
    assert type(parsed).__name__ == "Union"


# --- `ledger --failed` lists the keys no rule maps ---------------------------------------


def test_failed_lists_unmapped_keys_apart_and_exits_1(world: LedgerWorld) -> None:
    loaded = put(world.s3, world.bucket, "kpis/a.csv", "id,name\n1,a\n")
    with world.loader() as loader:
        assert loader.load([loaded]).outcomes() == ["loaded"]
    put(world.s3, world.bucket, "kpis/_SUCCESS", "")  # ignored: not "unmapped"
    stray = put(world.s3, world.bucket, "other/x.csv", "id\n1\n")
    prefix = f"s3://{world.bucket}/"

    text = world.cli("ledger", "--failed", prefix)
    # Every mapped object loaded, yet a key will never load: not a success.
    assert text.code == 1
    assert text.out.splitlines()[0] == (
        "unmapped: no rule maps these keys, so they never load (add a rule, or move them)"
    )
    assert text.out.splitlines()[1].split() == ["last_modified", "size", "object"]
    assert text.out.splitlines()[2].split()[-2:] == [str(stray.size), stray.uri]
    assert text.out.splitlines()[3] == "    no rule matches key 'other/x.csv'"
    assert len(text.out.splitlines()) == 4  # neither _SUCCESS nor the loaded object
    assert f"0 mapped object(s) under {prefix} are not in the ledger" in text.err
    assert "; 1 key(s) no rule maps" in text.err

    as_json = world.cli("ledger", "--failed", prefix, "--json")
    assert as_json.code == 1
    document = json.loads(as_json.out)
    assert document["missing"] == []
    assert document["total"] == 0
    assert document["unmapped_total"] == 1
    [entry] = document["unmapped"]
    assert (entry["uri"], entry["size"], entry["reason"]) == (
        stray.uri,
        stray.size,
        "no rule matches key 'other/x.csv'",
    )

    # One table asked for: keys that map to no table are not that table's.
    only = world.cli("ledger", "--failed", prefix, "--table", "public.kpis")
    assert (only.code, only.out) == (0, "")


def test_failed_shows_missing_objects_then_the_unmapped_section(world: LedgerWorld) -> None:
    missing = put(world.s3, world.bucket, "kpis/b.csv", "id,name\n1,b\n")
    put(world.s3, world.bucket, "elsewhere/y.csv", "id\n1\n")
    ran = world.cli("ledger", "--failed", f"s3://{world.bucket}/")
    assert ran.code == 1
    out = ran.out.splitlines()
    assert out[0].split() == ["last_modified", "table", "size", "object"]
    assert out[1].endswith(missing.uri)
    assert out[3] == ""  # the sections are apart
    assert out[4].startswith("unmapped: ")
    assert out[6].endswith(f"s3://{world.bucket}/elsewhere/y.csv")


def test_a_key_no_varchar_can_hold_is_told_it_can_never_load(world: LedgerWorld) -> None:
    code, document, _ = story(world, "kpis/a\x00b.csv")
    assert code == 1
    assert document["status"] == "failed"
    assert str(document["reason"]).startswith("it can never load: ")
    assert "NUL character" in str(document["reason"])
    assert document["mapping"]["outcome"] == "unsafe"  # type: ignore[index]
