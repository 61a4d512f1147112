from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from s3redshift.copy import CopyOptions, CsvFormat, JsonFormat, ParquetFormat, check_compatible
from s3redshift.errors import ConfigError, CopyOptionsError, MappingError, UnsafeIdentifierError
from s3redshift.identifiers import validate_identifier
from s3redshift.mapping import (
    MappingRule,
    Resolution,
    TableMapper,
    TableRef,
    Target,
    default_rule,
    unloadable_key,
)


@dataclass(frozen=True)
class Obj:
    """Anything with a decoded key and a URI is mappable."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def rule(pattern: str, **fields: object) -> MappingRule:
    return MappingRule.model_validate({"pattern": pattern, **fields})


DEFAULT = TableMapper([default_rule()])


# --- the seed's rule ---------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "table"),
    [
        ("kpis/2026/11/a.csv", "kpis"),
        ("kpis/a.csv", "kpis"),
        ("KPIs/a.csv", "kpis"),
        ("_s3redshift/other.csv", "_s3redshift"),
        ("sales$eu/x/y/z.csv.gz", "sales$eu"),
        ("Zürich/a.csv", "zürich"),
        ("kpis//a.csv", "kpis"),
        ("_s3redshift/manifestsX/a.csv", "_s3redshift"),
    ],
)
def test_default_rule_maps_first_segment(key: str, table: str) -> None:
    target = DEFAULT.resolve(key)
    assert target is not None
    assert (target.table.schema, target.table.table) == ("public", table)
    assert target.rule_index == 0


def test_default_rule_settings() -> None:
    seed = default_rule("Analytics")
    assert seed.pattern == "{table}/**"
    assert seed.target_schema == "Analytics"
    assert seed.mode == "append"
    assert seed.format == CsvFormat(delimiter=",", ignore_header=1)
    target = TableMapper([seed]).resolve("kpis/2026/11/a.csv")
    assert target is not None
    assert target.table == TableRef("analytics", "kpis")
    assert target.table.sql == '"analytics"."kpis"'


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("kpis", "no rule matches key 'kpis'"),
        ("a.csv", "no rule matches key 'a.csv'"),
        (
            "_s3redshift/manifests/abc.json",
            "ignored: loader manifest prefix '_s3redshift/manifests/'",
        ),
        ("kpis/2026/_SUCCESS", "ignored: _SUCCESS marker"),
        ("_SUCCESS", "ignored: _SUCCESS marker"),
        ("kpis/part-0001.csv.tmp", "ignored: temporary file (.tmp)"),
        ("kpis/_temporary/0/part-0.csv", "ignored: inside a _temporary directory"),
        ("_temporary/a.csv", "ignored: inside a _temporary directory"),
        ("kpis/2026/", "ignored: folder marker"),
        ("my-table/", "ignored: folder marker"),
    ],
)
def test_skipped_keys_have_exact_reasons(key: str, reason: str) -> None:
    resolution = DEFAULT.explain(key)
    outcome: Literal["unmapped", "ignored"] = (
        "unmapped" if reason.startswith("no rule") else "ignored"
    )
    assert resolution == Resolution(outcome, None, reason)
    assert DEFAULT.resolve(key) is None


def test_ignored_before_any_rule_even_if_a_rule_would_match() -> None:
    mapper = TableMapper([rule("**", table="everything")], ignore_prefixes=("loader/",))
    assert mapper.explain("loader/m.json").reason == "ignored: loader manifest prefix 'loader/'"
    assert mapper.explain("x/_SUCCESS").outcome == "ignored"
    assert mapper.explain("x/_temporary/y").outcome == "ignored"
    # The default manifest prefix is no longer ignored once replaced.
    target = mapper.resolve("_s3redshift/manifests/m.json")
    assert target is not None
    assert target.table == TableRef("public", "everything")
    # Markers are matched exactly: look-alikes are data.
    assert mapper.resolve("x/_SUCCESS.csv") is not None
    assert mapper.resolve("x/a.tmp.csv") is not None
    assert mapper.resolve("x/my_temporary/a.csv") is not None


def test_ignore_prefixes_given_as_one_string_is_one_prefix() -> None:
    mapper = TableMapper([default_rule()], ignore_prefixes="tmp/")
    assert mapper.ignore_prefixes == ("tmp/",)
    assert mapper.resolve("t/a.csv") == TableMapper([default_rule()]).resolve("t/a.csv")
    assert mapper.explain("tmp/a.csv").outcome == "ignored"


# --- pattern language ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "key", "captures"),
    [
        ("events/{table}.json", "events/orders.json", {"table": "orders"}),
        ("events/{table}.json", "events/orders.csv", None),
        ("events/{table}.json", "events/sub/orders.json", None),
        ("events/{table}.json", "events/.json", None),  # a capture is never empty
        ("{schema}.{table}/**", "sales.orders/x.csv", {"schema": "sales", "table": "orders"}),
        ("raw_{table}_v{version}/*", "raw_kpis_v2/a", {"table": "kpis", "version": "2"}),
        ("a+b/{table}(1)/**", "a+b/t(1)/x", {"table": "t"}),  # regex metacharacters
        ("a+b/{table}(1)/**", "aab/t1/x", None),
        # '*' as a whole segment: exactly one non-empty segment.
        ("{table}/*", "t/a.csv", {"table": "t"}),
        ("{table}/*", "t/2026/a.csv", None),
        ("{table}/*", "t/", None),
        ("{table}/*/*.csv", "t/2026/a.csv", {"table": "t"}),
        # '*' inside a segment: any run of non-'/' characters, possibly empty.
        ("{table}/*.csv", "t/.csv", {"table": "t"}),
        ("{table}/*.csv", "t/x/a.csv", None),
        ("{table}/data-*", "t/data-", {"table": "t"}),
        # '**' trailing: one or more segments inside the folder.
        ("{table}/**", "t/a/b/c/d.csv", {"table": "t"}),
        ("{table}/**", "t", None),
        # '**' leading or in the middle: zero or more segments.
        ("**/{table}.parquet", "orders.parquet", {"table": "orders"}),
        ("**/{table}.parquet", "a/b/orders.parquet", {"table": "orders"}),
        ("raw/**/{table}/*.csv", "raw/t/a.csv", {"table": "t"}),
        ("raw/**/{table}/*.csv", "raw/2026/11/t/a.csv", {"table": "t"}),
        ("raw/**/{table}/*.csv", "raw/t/x/y", None),
        ("raw/**/{table}/*.csv", "raw//t/a.csv", {"table": "t"}),  # empty segments count
        ("**", "anything/at/all", {}),
        # Literal braces.
        ("x/{{v}}/{table}/**", "x/{v}/t/a", {"table": "t"}),
        ("x/{{v}}/{table}/**", "x/v/t/a", None),
        # Literal text is case-sensitive, like S3 keys.
        ("Raw/{table}/**", "raw/t/a", None),
    ],
)
def test_pattern_matching(pattern: str, key: str, captures: dict[str, str] | None) -> None:
    table = "{table}" if "{table}" in pattern else "fixed"
    target = TableMapper([rule(pattern, table=table)]).resolve(key)
    if captures is None:
        assert target is None
    else:
        assert target is not None
        assert dict(target.captures) == captures


def test_first_matching_rule_wins() -> None:
    mapper = TableMapper(
        [
            rule("special/**", table="special_events"),
            rule("{table}/2026/**", schema="current"),
            rule("{table}/**", schema="archive"),
        ]
    )
    cases = {
        "special/a.csv": ("public", "special_events", 0),
        "kpis/2026/a.csv": ("current", "kpis", 1),
        "kpis/2025/a.csv": ("archive", "kpis", 2),
        "special_x/2026/a.csv": ("current", "special_x", 1),
    }
    for key, (schema, table, index) in cases.items():
        target = mapper.resolve(key)
        assert target is not None, key
        assert (target.table.schema, target.table.table, target.rule_index) == (
            schema,
            table,
            index,
        )
        assert target.rule is mapper.rules[index]


def test_templates_in_schema_and_table() -> None:
    mapper = TableMapper(
        [rule("lake/{source}/{entity}/**", schema="raw_{source}", table="{entity}_v1")],
        default_schema="ignored_here",
    )
    target = mapper.resolve(Obj("b", "lake/CRM/Contacts/2026/a.json"))
    assert target is not None
    assert target.table == TableRef("raw_crm", "contacts_v1")
    assert dict(target.captures) == {"source": "CRM", "entity": "Contacts"}


def test_rule_without_schema_uses_mapper_default() -> None:
    mapper = TableMapper([rule("{table}/**")], default_schema="Staging")
    assert mapper.default_schema == "staging"
    target = mapper.resolve("kpis/a.csv")
    assert target is not None
    assert target.table == TableRef("staging", "kpis")


def test_literal_table_rule_rescues_a_prefix_with_an_unsafe_name() -> None:
    mapper = TableMapper([rule("my-table/**", table="my_table"), default_rule()])
    target = mapper.resolve("my-table/x.csv")
    assert target is not None
    assert target.table == TableRef("public", "my_table")


def test_resolve_accepts_an_events_s3object() -> None:
    events = pytest.importorskip("s3redshift.events")
    obj = events.S3Object(bucket="b", key="kpis/2026/a.csv")
    target = DEFAULT.resolve(obj)
    assert target is not None
    assert target.table == TableRef("public", "kpis")


# --- unsafe names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("my-table/x.csv", "my-table"),
        ("my table/x.csv", "my table"),
        ('my"table/x.csv', 'my"table'),
        ("t;drop table x/a.csv", "t;drop table x"),
        ("1kpis/a.csv", "1kpis"),
        ("x" * 128 + "/a.csv", "x" * 128),
        ("é" * 64 + "/a.csv", "é" * 64),
    ],
)
def test_unsafe_names_are_rejected_naming_key_pattern_and_fix(key: str, value: str) -> None:
    obj = Obj("bkt", key)
    for call in (DEFAULT.resolve, DEFAULT.explain):
        with pytest.raises(UnsafeIdentifierError) as caught:
            call(obj)
        error = caught.value
        assert isinstance(error, MappingError)
        assert error.s3_uri == f"s3://bkt/{key}"
        text = str(error)
        assert f"key {key!r}" in text
        assert "pattern '{table}/**'" in text
        assert repr(value) in text
        assert "add a rule before tables[0] with a literal table name" in text
        assert f"s3://bkt/{key}" in text
    # A plain key works too; then there is no URI to report.
    with pytest.raises(UnsafeIdentifierError) as plain:
        DEFAULT.resolve(key)
    assert plain.value.s3_uri is None
    assert f"key {key!r}" in str(plain.value)


def test_unsafe_name_message_suggests_a_concrete_rule() -> None:
    with pytest.raises(UnsafeIdentifierError) as caught:
        DEFAULT.resolve("my-table/2026/x.csv")
    assert str(caught.value) == (
        "key 'my-table/2026/x.csv' matched rule tables[0] (pattern '{table}/**'), but table "
        "'my-table' is not a valid Redshift name: use letters, digits, '_' or '$', starting "
        "with a letter or '_'. Names are never rewritten: add a rule before tables[0] with a "
        "literal table name for these keys, e.g. pattern = 'my-table/**', table = "
        '"<valid_name>"'
    )


def test_unsafe_schema_from_template_names_template_and_capture() -> None:
    mapper = TableMapper([rule("{db}/{table}/**", schema="raw_{db}")])
    with pytest.raises(UnsafeIdentifierError) as caught:
        mapper.resolve("crm-eu/contacts/a.csv")
    text = str(caught.value)
    assert "schema 'raw_crm-eu' is not a valid Redshift name" in text
    assert "(template 'raw_{db}' with {db}='crm-eu')" in text
    assert "pattern = 'crm-eu/{table}/**', schema = \"<valid_name>\"" in text


def test_name_that_cannot_be_written_as_a_pattern_gets_no_example() -> None:
    with pytest.raises(UnsafeIdentifierError) as caught:
        DEFAULT.resolve("a*b/x.csv")
    text = str(caught.value)
    assert text.endswith("with a literal table name for these keys")


# --- targets ----------------------------------------------------------------------


def test_targets_with_same_table_and_rule_are_equal_and_hash_equal() -> None:
    mapper = TableMapper([rule("{table}/{year}/**"), rule("{table}.csv", schema="other")])
    first = mapper.resolve("kpis/2025/a.csv")
    second = mapper.resolve("KPIs/2026/b.csv")
    assert first is not None
    assert second is not None
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    assert dict(first.captures) == {"table": "kpis", "year": "2025"}
    assert dict(second.captures) == {"table": "KPIs", "year": "2026"}
    assert mapper.resolve("orders/2025/a.csv") != first
    assert mapper.resolve("kpis.csv") != first  # same table name, other rule and schema


def test_same_table_through_different_rules_is_a_different_target() -> None:
    mapper = TableMapper([rule("a/{table}/**"), rule("b/{table}/**")])
    via_a = mapper.resolve("a/kpis/x.csv")
    via_b = mapper.resolve("b/kpis/x.csv")
    assert via_a is not None
    assert via_b is not None
    assert via_a.table == via_b.table
    assert via_a != via_b


def test_target_captures_are_immutable() -> None:
    target = DEFAULT.resolve("kpis/a.csv")
    assert target is not None
    with pytest.raises(TypeError):
        target.captures["table"] = "other"  # type: ignore[index]


def test_resolution_requires_target_exactly_when_mapped() -> None:
    target = DEFAULT.resolve("kpis/a.csv")
    assert isinstance(target, Target)
    with pytest.raises(ValueError, match="exactly when"):
        Resolution("mapped", None, "")
    with pytest.raises(ValueError, match="exactly when"):
        Resolution("ignored", target, "x")


# --- rules at configuration time ------------------------------------------------------


def test_rule_from_config_dict_uses_schema_key() -> None:
    parsed = MappingRule.model_validate(
        {
            "pattern": "events/{table}.json",
            "schema": "raw",
            "mode": "upsert",
            "keys": ["ID"],
            "order_by": "Updated_At",
            "columns": ["id", "updated_at", "payload"],
            "format": {"type": "json", "json_paths": "auto ignorecase"},
        }
    )
    assert parsed.target_schema == "raw"
    assert parsed.keys == ("id",)
    assert parsed.order_by == "updated_at"
    assert parsed.format == JsonFormat(json_paths="auto ignorecase")
    assert parsed.model_dump(by_alias=True)["schema"] == "raw"
    with pytest.raises(ValidationError):
        parsed.__setattr__("table", "x")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"pattern": ""}, "rule '', field 'pattern': the pattern is empty"),
        ({"pattern": "{table/**"}, "rule '{table/**', field 'pattern': '{' in segment '{table'"),
        ({"pattern": "t}/**", "table": "x"}, "field 'pattern': '}' in segment 't}' has no opening"),
        ({"pattern": "{Table}/**"}, "capture name 'Table' is not allowed"),
        ({"pattern": "{1t}/**"}, "capture name '1t' is not allowed"),
        ({"pattern": "{}/**"}, "capture name '' is not allowed"),
        ({"pattern": "{table}/{table}"}, "capture {table} is used twice"),
        ({"pattern": "{schema}{table}/**"}, "captures {schema} and {table} touch"),
        ({"pattern": "{table}/x**"}, "'**' must be a whole path segment"),
        ({"pattern": "{table}/"}, "rule '{table}/', field 'pattern': the pattern ends with '/'"),
        (
            {"pattern": "events/*.json"},
            "rule 'events/*.json', field 'table': template '{table}' uses {table}, which the "
            "pattern does not capture (captures: none); add {table} to the pattern or write "
            "a literal table name",
        ),
        (
            {"pattern": "{table}/**", "schema": "{tenant}"},
            "field 'schema': template '{tenant}' uses {tenant}, which the pattern does not "
            "capture (captures: {table})",
        ),
        ({"pattern": "x/**", "table": "my-table"}, "field 'table': template 'my-table': table"),
        ({"pattern": "x/**", "table": ""}, "field 'table': template '': table is empty"),
        ({"pattern": "x/**", "table": "x", "schema": "a.b"}, "field 'schema': template 'a.b'"),
        (
            {"pattern": "{t}/**", "table": "raw-{t}"},
            "field 'table': template 'raw-{t}': no key can make it a valid name",
        ),
        ({"pattern": "{t}/**", "table": "{t"}, "field 'table': template '{t': unbalanced"),
        ({"pattern": "{t}/**", "table": "{T}"}, "placeholder '{T}' is not a capture name"),
        (
            {"pattern": "{table}/**", "mode": "upsert"},
            "rule '{table}/**', field 'keys': mode 'upsert' needs the key columns",
        ),
        (
            {"pattern": "{table}/**", "keys": ["id"]},
            "field 'keys': only used with mode 'upsert', but the mode is 'append'",
        ),
        (
            {"pattern": "{table}/**", "mode": "replace", "order_by": "ts"},
            "field 'order_by': only used with mode 'upsert', but the mode is 'replace'",
        ),
        (
            {"pattern": "{table}/**", "columns": ["id", "bad name"]},
            "rule '{table}/**', field 'columns': column 'bad name' is not a valid Redshift name",
        ),
        (
            {"pattern": "{table}/**", "mode": "upsert", "keys": ["id;x"]},
            "field 'keys': column 'id;x' is not a valid Redshift name",
        ),
        (
            {"pattern": "{table}/**", "mode": "upsert", "keys": ["id"], "order_by": "a-b"},
            "field 'order_by': column 'a-b' is not a valid Redshift name",
        ),
        ({"pattern": "{table}/**", "columns": ["a", "A"]}, "column 'a' is listed twice"),
        (
            {"pattern": "{table}/**", "mode": "upsert", "keys": ["id"], "columns": ["v"]},
            "field 'columns': the column list leaves out ['id']",
        ),
        ({"pattern": "{table}/**", "mode": "merge"}, "Input should be 'append', 'upsert'"),
        ({"pattern": "{table}/**", "tabel": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_rules_fail_at_construction(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MappingRule.model_validate(fields)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "label", "direct"),
    [
        (
            {"options": {"escape": True}},
            "fields 'format' and 'options'",
            lambda: check_compatible(CsvFormat(), CopyOptions(escape=True)),
        ),
        (
            {"options": {"remove_quotes": True}},
            "fields 'format' and 'options'",
            lambda: check_compatible(CsvFormat(), CopyOptions(remove_quotes=True)),
        ),
        (
            {"format": {"type": "parquet"}, "options": {"ignore_blank_lines": True}},
            "fields 'format' and 'options'",
            lambda: check_compatible(ParquetFormat(), CopyOptions(ignore_blank_lines=True)),
        ),
        (
            {"format": {"type": "csv", "delimiter": ";;"}},
            "field 'format'",
            lambda: CsvFormat(delimiter=";;"),
        ),
        (
            {"options": {"max_error": 5, "ignore_all_errors": True}},
            "field 'options'",
            lambda: CopyOptions(max_error=5, ignore_all_errors=True),
        ),
    ],
)
def test_copy_conflicts_fail_at_construction_naming_the_rule(
    fields: dict[str, object], label: str, direct: Callable[[], object]
) -> None:
    # The wording of the COPY rule belongs to s3redshift.copy; the rule's
    # pattern and field in front of it belong to mapping.
    with pytest.raises(CopyOptionsError) as from_copy:
        direct()
    with pytest.raises(ValidationError) as caught:
        MappingRule.model_validate({"pattern": "{table}/**", **fields})
    errors = caught.value.errors()
    assert len(errors) == 1
    assert (
        errors[0]["msg"] == f"Value error, rule '{{table}}/**', {label}: {from_copy.value.message}"
    )


def test_valid_rules_compile() -> None:
    upsert = rule(
        "{table}/**",
        mode="upsert",
        keys=["id"],
        order_by="ts",
        columns=["id", "ts", "v"],
    )
    assert upsert.columns == ("id", "ts", "v")
    assert rule("{table}/**", mode="replace").mode == "replace"
    assert rule("exact/file.csv", table="t", schema="S").target_schema == "S"
    assert MappingRule(pattern="{table}/**", target_schema="x").target_schema == "x"


def test_mapper_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="default_schema: default schema 'a-b'"):
        TableMapper([], default_schema="a-b")
    with pytest.raises(ConfigError, match="empty prefix would ignore every object"):
        TableMapper([], ignore_prefixes=("x/", ""))
    unchecked = MappingRule.model_construct(pattern="{t", table="x")
    with pytest.raises(ConfigError, match=r"tables\[0\] \(pattern '\{t'\)"):
        TableMapper([unchecked])
    unknown = MappingRule.model_construct(pattern="{t}/**", table="{x}")
    with pytest.raises(ConfigError, match=r"template '\{x\}' uses captures \['x'\]"):
        TableMapper([default_rule(), unknown])


def test_mapper_without_rules_maps_nothing() -> None:
    assert TableMapper([]).explain("kpis/a.csv") == Resolution(
        "unmapped", None, "no rule matches key 'kpis/a.csv'"
    )


# --- property ----------------------------------------------------------------------


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


_KEY_CHARS = st.sampled_from([*"aZ_$09-. /;\"'*{}\n", "é", "€", "\x00", "ß"])
_KEYS = st.one_of(st.text(), st.text(_KEY_CHARS, max_size=40), st.text(_KEY_CHARS, min_size=120))


@settings(max_examples=400, deadline=None)
@given(key=_KEYS)
def test_default_rule_total_over_arbitrary_keys(key: str) -> None:
    first = key.split("/")[0]
    raised: MappingError | None = None
    try:
        target = DEFAULT.resolve(key)
    except MappingError as error:
        raised, target = error, None
    if raised is not None:
        assert f"key {key!r}" in str(raised)
        if unloadable_key(key):  # a key no ledger can hold (NUL, not UTF-8, too long)
            assert "cannot be loaded" in str(raised)
            return
        with pytest.raises(UnsafeIdentifierError):  # otherwise only when the name is unsafe
            validate_identifier(first)
        return
    if target is None:
        assert DEFAULT.explain(key).outcome in ("unmapped", "ignored")
        return
    assert "/" in key
    assert target.table.table == _ascii_lower(first)
    assert target.table.schema == "public"
    # The name is already folded and valid: building it again changes nothing.
    assert TableRef(target.table.schema, target.table.table) == target.table


def test_a_reserved_schema_or_table_is_refused_with_the_reason_and_other_targets_map() -> None:
    from s3redshift.errors import MappingError
    from s3redshift.mapping import Reserved

    rule = MappingRule(pattern="{schema}/{table}/**", schema="{schema}", table="{table}")
    mapper = TableMapper([rule]).reserving(
        Reserved("audit", "ledger", "that is the ledger"), Reserved("vault", None, "all of it")
    )
    with pytest.raises(MappingError, match="that is the ledger") as caught:
        mapper.resolve("AUDIT/Ledger/x.csv")  # names fold as Redshift folds them
    assert caught.value.table == "audit.ledger"
    with pytest.raises(MappingError, match="all of it"):
        mapper.resolve("vault/anything/x.csv")
    target = mapper.resolve("audit/other/x.csv")
    assert target is not None
    assert str(target.table) == "audit.other"
    # The original mapper is unchanged.
    assert TableMapper([rule]).resolve("vault/anything/x.csv") is not None


def test_keys_with_the_same_captures_share_a_target_and_each_refusal_names_its_key() -> None:
    from s3redshift.errors import MappingError
    from s3redshift.mapping import Reserved

    rule = MappingRule(pattern="{schema}/{table}/**", schema="{schema}", table="{table}")
    mapper = TableMapper([rule])
    first = mapper.resolve(Obj("b", "Sales/Orders/2026/a.csv"))
    second = mapper.resolve(Obj("b", "Sales/Orders/2027/b.csv"))
    assert first is not None
    assert first == second
    assert str(first.table) == "sales.orders"
    assert dict(first.captures) == {"schema": "Sales", "table": "Orders"}
    # What the mapper resolved before a reservation does not outlive it.
    reserved = mapper.reserving(Reserved("sales", None, "reserved here"))
    with pytest.raises(MappingError, match="reserved here"):
        reserved.resolve("Sales/Orders/2026/a.csv")
    assert mapper.resolve("Sales/Orders/2026/a.csv") == first
    # A refused name is never remembered: every key gets its own error.
    for key in ("Sales/bad-name/1.csv", "Sales/bad-name/2.csv"):
        with pytest.raises(UnsafeIdentifierError, match=key):
            mapper.resolve(key)


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("kpis/a\x00b.csv", "NUL"),
        ("kpis/\udcff.csv", "not valid UTF-8"),
        ("kpis/" + "é" * 600 + ".csv", "over S3's 1024-byte limit"),
    ],
)
def test_a_key_no_ledger_can_hold_is_refused_before_any_rule(key: str, why: str) -> None:
    from s3redshift.errors import MappingError

    mapper = TableMapper([MappingRule(pattern="{table}/**")])
    with pytest.raises(MappingError, match=why):
        mapper.explain(key)


def test_a_key_of_exactly_1024_bytes_maps() -> None:
    key = "kpis/" + "a" * (1024 - len("kpis/"))
    assert TableMapper([MappingRule(pattern="{table}/**")]).resolve(key) is not None
