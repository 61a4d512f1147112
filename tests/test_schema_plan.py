"""The pure schema rules: how file types fit and merge, and the DDL a batch needs.

The statements are checked as exact strings and parsed as Redshift SQL; the
stand-in tests (tests/test_schema_policy.py) run them.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot

from s3redshift.column_types import ColumnType, fit, from_catalog, merge, varchar_size
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema import FileColumn, FileSchema
from s3redshift.identifiers import TableRef
from s3redshift.mapping import MappingRule
from s3redshift.schema_plan import plan_schema

TABLE = TableRef("public", "events")
BIGINT_SEEN = ColumnType("BIGINT", observed=True)


def text(length: int, *, observed: bool = True) -> ColumnType:
    return ColumnType("VARCHAR", length, observed=observed)


def rule(fmt: str = "parquet", **policy: Any) -> MappingRule:
    extra: dict[str, Any] = {"ignore_header": 1} if fmt == "csv" else {}
    return MappingRule.model_validate(
        {"pattern": "{table}/*", "format": {"type": fmt, **extra}, "schema_policy": policy}
    )


def schema(*columns: tuple[str, ColumnType]) -> FileSchema:
    return FileSchema(tuple(FileColumn(n, t) for n, t in columns))


def parses(sql: str) -> None:
    assert sqlglot.parse_one(sql, read="redshift") is not None


def test_varchar_sizes_double_the_longest_value_within_redshifts_bounds() -> None:
    assert [varchar_size(n) for n in (0, 1, 128, 129, 1000, 40_000)] == [
        256,
        256,
        256,
        512,
        2048,
        65535,
    ]
    assert varchar_size(None) == 65535
    assert text(300).sql == "VARCHAR(1024)"
    assert text(100, observed=False).sql == "VARCHAR(100)"


@pytest.mark.parametrize(
    ("table", "file", "outcome"),
    [
        (ColumnType("INTEGER"), ColumnType("SMALLINT"), "fits"),
        (ColumnType("INTEGER"), ColumnType("BIGINT"), "fits"),  # declared: values decide
        (ColumnType("INTEGER"), BIGINT_SEEN, "conflict"),  # seen values need BIGINT
        (ColumnType("INTEGER"), text(3), "conflict"),  # text into a number
        (
            ColumnType("DECIMAL", precision=10, scale=2),
            ColumnType("DECIMAL", None, 10, 4),
            "conflict",
        ),
        (ColumnType("DECIMAL", precision=12, scale=2), ColumnType("DECIMAL", None, 10, 2), "fits"),
        (ColumnType("DECIMAL", precision=4, scale=2), ColumnType("INTEGER"), "fits"),  # values
        (ColumnType("DECIMAL", None, 4, 2), ColumnType("DECIMAL", None, 3, 2, True), "fits"),
        (ColumnType("DECIMAL", None, 10, 2), ColumnType("DECIMAL", None, 25, 2, True), "conflict"),
        (ColumnType("DOUBLE PRECISION"), ColumnType("REAL"), "fits"),
        (ColumnType("DOUBLE PRECISION"), ColumnType("INTEGER"), "fits"),
        (ColumnType("DOUBLE PRECISION"), ColumnType("BIGINT"), "conflict"),  # rounds past 2**53
        (ColumnType("DOUBLE PRECISION"), BIGINT_SEEN, "fits"),  # sampled text, parsed by COPY
        (ColumnType("REAL"), ColumnType("INTEGER"), "conflict"),
        (ColumnType("REAL"), ColumnType("DOUBLE PRECISION"), "conflict"),
        (ColumnType("DOUBLE PRECISION"), ColumnType("DECIMAL", None, 10, 2), "conflict"),
        (text(100, observed=False), ColumnType("SUPER"), "conflict"),  # Parquet nested
        (text(100, observed=False), ColumnType("SUPER", observed=True), "fits"),  # JSON text
        (ColumnType("TIMESTAMPTZ"), ColumnType("DATE"), "fits"),
        (ColumnType("DATE"), ColumnType("TIMESTAMP"), "conflict"),
        (text(100, observed=False), text(80), "fits"),
        (text(100, observed=False), text(300), "widen"),
        (text(100, observed=False), ColumnType("VARCHAR"), "fits"),  # a length nobody knows
        (ColumnType("CHAR", 4), text(9), "conflict"),
        (text(100, observed=False), text(70_000), "conflict"),
        (ColumnType("SUPER"), text(70_000), "fits"),
        (ColumnType("BOOLEAN"), BIGINT_SEEN, "conflict"),
    ],
)
def test_a_file_type_fits_widens_or_conflicts(
    table: ColumnType, file: ColumnType, outcome: str
) -> None:
    assert fit(table, file).outcome == outcome


def test_widening_always_goes_to_the_longest_varchar_so_no_two_loaders_disagree() -> None:
    longest = ColumnType("VARCHAR", 65535)
    assert fit(text(100, observed=False), text(300)).to == longest
    assert fit(text(100, observed=False), text(300, observed=False)).to == longest


def test_sampled_decimals_are_created_with_room_for_more_places_than_seen() -> None:
    assert ColumnType("DECIMAL", None, 3, 1, observed=True).sql == "DECIMAL(38,18)"
    assert ColumnType("DECIMAL", None, 22, 20, observed=True).sql == "DECIMAL(38,20)"
    # 25 digits seen before the point: they keep their room, the scale gives way.
    assert ColumnType("DECIMAL", None, 25, 0, observed=True).sql == "DECIMAL(38,13)"
    assert merge(
        ColumnType("DECIMAL", None, 2, 1, True), ColumnType("DECIMAL", None, 3, 2, True)
    ) == (ColumnType("DECIMAL", None, 3, 2, True))
    assert ColumnType("DECIMAL", None, 10, 2).sql == "DECIMAL(10,2)"
    wider = merge(ColumnType("DECIMAL", None, 10, 2), ColumnType("DECIMAL", None, 10, 4))
    assert wider == ColumnType("DECIMAL", None, 12, 4)
    assert merge(ColumnType("DECIMAL", None, 38, 0), ColumnType("DECIMAL", None, 38, 10)) is None


def test_merge_takes_the_type_the_other_fits_and_refuses_text_with_numbers() -> None:
    assert merge(ColumnType("INTEGER"), ColumnType("BIGINT")) == ColumnType("BIGINT")
    assert merge(text(10), text(700)) == text(700)
    assert merge(BIGINT_SEEN, text(5)) == text(5)  # sampled numbers and text: text
    assert merge(ColumnType("BOOLEAN"), ColumnType("DATE")) is None


def test_catalog_types_read_back() -> None:
    assert from_catalog("character varying", 40, None, None) == ColumnType("VARCHAR", 40)
    assert from_catalog("numeric", None, 12, 3) == ColumnType("DECIMAL", None, 12, 3)
    assert from_catalog("super", None, None, None) == ColumnType("SUPER")
    assert from_catalog("geometry", None, None, None) is None


def test_create_takes_the_first_files_order_and_later_files_new_columns() -> None:
    files = [
        ("s3://b/events/1.parquet", schema(("ID", ColumnType("INTEGER")), ("name", text(5)))),
        ("s3://b/events/2.parquet", schema(("name", text(700)), ("Extra", ColumnType("BOOLEAN")))),
    ]
    plan = plan_schema(rule(match="name", create=True), TABLE, None, files)
    assert plan.ddl == (
        'CREATE TABLE IF NOT EXISTS "public"."events" ("id" INTEGER, "name" VARCHAR(2048), '
        '"extra" BOOLEAN)',
    )
    parses(plan.ddl[0])
    assert plan.created == ("id", "name", "extra")
    assert not plan.failures
    assert plan.shapes["s3://b/events/2.parquet"][0] == ("name", text(700))


def test_create_by_position_fails_a_file_whose_columns_are_in_another_order() -> None:
    files = [
        ("s3://b/events/1.csv", schema(("a", BIGINT_SEEN), ("b", text(3)))),
        ("s3://b/events/2.csv", schema(("b", text(3)), ("a", BIGINT_SEEN))),
    ]
    plan = plan_schema(rule("csv", create=True), TABLE, None, files)
    assert plan.ddl == (
        'CREATE TABLE IF NOT EXISTS "public"."events" ("a" BIGINT, "b" VARCHAR(256))',
    )
    failure = plan.failures["s3://b/events/2.csv"]
    assert isinstance(failure, SchemaMismatchError)
    assert failure.s3_uri == "s3://b/events/2.csv"
    assert failure.table == "public.events"
    assert "(b, a) are not the table's (a, b)" in failure.message
    assert list(plan.shapes) == ["s3://b/events/1.csv"]


def test_sort_and_dist_keys_go_into_the_created_table() -> None:
    created = MappingRule.model_validate(
        {
            "pattern": "{table}/*",
            "format": {"type": "parquet"},
            "schema_policy": {"match": "name", "create": True},
            "sort_key": ["At"],
            "dist_key": "id",
        }
    )
    files = [
        (
            "s3://b/t/1.parquet",
            schema(("id", ColumnType("BIGINT")), ("at", ColumnType("TIMESTAMP"))),
        )
    ]
    [ddl] = plan_schema(created, TABLE, None, files).ddl
    assert ddl.endswith(' DISTKEY ("id") SORTKEY ("at")')
    parses(ddl)


def test_evolve_adds_new_columns_and_widens_varchars_once_for_the_batch() -> None:
    existing = [("id", ColumnType("BIGINT")), ("name", ColumnType("VARCHAR", 10))]
    files = [
        ("s3://b/t/1.csv", schema(("name", text(40)), ("id", BIGINT_SEEN), ("city", text(4)))),
        ("s3://b/t/2.csv", schema(("id", BIGINT_SEEN), ("name", text(300)))),
    ]
    plan = plan_schema(
        rule("csv", match="name", evolve=["add_columns", "widen"]), TABLE, existing, files
    )
    assert plan.ddl == (
        'ALTER TABLE "public"."events" ADD COLUMN "city" VARCHAR(65535)',
        'ALTER TABLE "public"."events" ALTER COLUMN "name" TYPE VARCHAR(65535)',
    )
    for sql in plan.ddl:
        parses(sql)
    assert plan.added == ("city",)
    assert plan.widened == ("name",)
    assert not plan.failures


@pytest.mark.parametrize(
    ("evolve", "column", "message"),
    [
        ([], "city", 'set schema_policy.evolve = ["add_columns"]'),
        (["add_columns"], "name", 'set schema_policy.evolve = ["widen"]'),
    ],
)
def test_without_the_change_the_file_fails_naming_what_it_needs(
    evolve: list[str], column: str, message: str
) -> None:
    existing = [("name", ColumnType("VARCHAR", 10))]
    shape = (
        schema(("name", text(4)), ("city", text(4)))
        if column == "city"
        else schema(("name", text(40)))
    )
    plan = plan_schema(
        rule("csv", match="name", evolve=evolve), TABLE, existing, [("s3://b/t/1.csv", shape)]
    )
    assert plan.ddl == ()
    assert message in plan.failures["s3://b/t/1.csv"].message
    assert repr(column) in plan.failures["s3://b/t/1.csv"].message


def test_an_unsafe_change_fails_that_file_alone_naming_column_and_both_types() -> None:
    existing = [("id", ColumnType("INTEGER")), ("n", ColumnType("VARCHAR", 10))]
    files = [
        ("s3://b/t/bad.csv", schema(("id", text(3)), ("new", text(3)))),
        (
            "s3://b/t/good.csv",
            schema(("id", BIGINT_SEEN.__class__("SMALLINT", observed=True)), ("n", text(2))),
        ),
    ]
    plan = plan_schema(
        rule("csv", match="name", evolve=["add_columns", "widen"]), TABLE, existing, files
    )
    assert plan.ddl == ()  # the failing file's new column is not added
    message = plan.failures["s3://b/t/bad.csv"].message
    assert "column 'id' is INTEGER" in message
    assert "VARCHAR(3)" in message
    assert list(plan.shapes) == ["s3://b/t/good.csv"]


def test_file_names_that_collide_or_miss_json_auto_fail_the_file() -> None:
    twice = schema(("Id", BIGINT_SEEN), ("ID", BIGINT_SEEN))
    plan = plan_schema(
        rule(match="name", create=True), TABLE, None, [("s3://b/t/1.parquet", twice)]
    )
    assert "both name column 'id'" in plan.failures["s3://b/t/1.parquet"].message
    camel = schema(("userId", BIGINT_SEEN))
    plan = plan_schema(rule("json", create=True), TABLE, None, [("s3://b/t/1.json", camel)])
    assert "json_paths = 'auto ignorecase'" in plan.failures["s3://b/t/1.json"].message


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"schema_policy": {"evolve": ["widen"]}}, 'evolve needs match = "name"'),
        ({"schema_policy": {"match": "name"}, "format": {"type": "csv"}}, "ignore_header is 0"),
        (
            {"schema_policy": {"create": True}, "format": {"type": "fixedwidth", "widths": "a:1"}},
            "fixed-width files name no columns",
        ),
        ({"sort_key": ["a"]}, "set schema_policy.create = true"),
        (
            {"schema_policy": {"match": "name"}, "format": {"type": "parquet"}, "columns": ["a"]},
            "remove the column list",
        ),
        (
            {
                "schema_policy": {"create": True},
                "format": {"type": "json", "json_paths": "noshred"},
            },
            "json_paths = 'noshred' maps fields by path",
        ),
        (
            {"schema_policy": {"match": "name", "evolve": ["widen", "widen"]}},
            "lists a change twice",
        ),
        ({"schema_policy": {"match": "names"}}, "'position' or 'name'"),
        (
            {
                "schema_policy": {"match": "name"},
                "format": {"type": "csv", "ignore_header": 1},
                "options": {"encoding": "UTF16"},
            },
            "the schema readers read UTF-8 text",
        ),
    ],
)
def test_a_policy_the_rule_cannot_honour_is_refused_with_the_fix(
    fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match=r"schema_policy|sort_key") as caught:
        MappingRule.model_validate(
            {"pattern": "{table}/*", "format": {"type": "parquet"}, **fields}
        )
    assert says in str(caught.value)


def _plan_with_shapes(fmt: dict[str, Any], shapes: dict[str, Any]) -> list[str]:
    from s3redshift.config import LoaderConfig
    from s3redshift.events import S3Object
    from s3redshift.manifest import ManifestEntry
    from s3redshift.planner import PlanSettings, plan_transaction

    config = LoaderConfig.from_mapping(
        {
            "target": {"transport": "data-api", "database": "dev", "workgroup": "wg"},
            "copy": {"iam_role": "default"},
            "ledger": {"enabled": False},
            "tables": [{"pattern": "{table}/*", "format": fmt, "schema_policy": {"match": "name"}}],
        }
    )
    target = config.mapper().resolve(S3Object(bucket="bkt", key="events/1", size=1, etag="e"))
    assert target is not None
    entries = [ManifestEntry("bkt", key.removeprefix("s3://bkt/"), "e", 9) for key in shapes]
    planned = plan_transaction(
        target, entries, settings=PlanSettings.from_config(config), loaded_at="x", shapes=shapes
    )
    statements = planned.plan.statements()
    for sql in statements:
        if not sql.startswith("LOCK"):
            parses(sql)
    return statements


def test_csv_by_name_copies_each_header_with_its_own_column_list() -> None:
    same = (("name", text(1)), ("id", BIGINT_SEEN))
    statements = _plan_with_shapes(
        {"type": "csv", "ignore_header": 1},
        {
            "s3://bkt/events/1.csv": same,
            "s3://bkt/events/2.csv": (("id", BIGINT_SEEN),),
            "s3://bkt/events/3.csv": same,
        },
    )
    copies = [s for s in statements if s.startswith("COPY")]
    assert [c.split(" FROM ")[0] for c in copies] == [
        'COPY "public"."events" ("name", "id")',
        'COPY "public"."events" ("id")',
    ]
    assert all("IGNOREHEADER AS 1" in c for c in copies)


def test_parquet_by_name_goes_through_a_table_shaped_like_the_file() -> None:
    statements = _plan_with_shapes(
        {"type": "parquet"},
        {
            "s3://bkt/events/1.parquet": (
                ("name", ColumnType("VARCHAR")),
                ("id", ColumnType("BIGINT")),
            )
        },
    )
    start = statements.index(
        'CREATE TEMP TABLE "s3redshift_file_1" ("name" VARCHAR(65535), "id" BIGINT)'
    )
    assert statements[start + 1].startswith('COPY "s3redshift_file_1" FROM ')
    assert statements[start + 1 : start + 4][1:] == [
        'INSERT INTO "public"."events" ("name", "id") SELECT "name", "id" FROM "s3redshift_file_1"',
        'DROP TABLE "s3redshift_file_1"',
    ]


def test_json_by_name_is_copys_own_auto_mapping() -> None:
    statements = _plan_with_shapes(
        {"type": "json"}, {"s3://bkt/events/1.json": (("id", BIGINT_SEEN),)}
    )
    [copy] = [s for s in statements if s.startswith("COPY")]
    assert copy.startswith('COPY "public"."events" FROM ')
    assert "FORMAT AS JSON 'auto'" in copy


def test_serializetojson_follows_the_columnar_format_keyword_and_only_there() -> None:
    from s3redshift.copy import CopyCommand, CsvFormat, OrcFormat, ParquetFormat
    from s3redshift.errors import CopyOptionsError

    for fmt, keyword in (
        (ParquetFormat(serialize_to_json=True), "PARQUET"),
        (OrcFormat(serialize_to_json=True), "ORC"),
    ):
        sql = CopyCommand(
            table=TABLE, source="s3://bkt/a", format=fmt, authorization=IamRoleDefault()
        ).to_sql()
        assert f" FORMAT AS {keyword} SERIALIZETOJSON " in sql
        parses(sql)
    with pytest.raises(CopyOptionsError, match="SERIALIZETOJSON"):
        CsvFormat.model_validate({"serialize_to_json": True})


def IamRoleDefault() -> Any:  # noqa: N802 - reads as the value it makes
    from s3redshift.copy import IamRole

    return IamRole(arns="default")


def test_a_file_column_named_like_the_loaders_own_is_refused() -> None:
    shape = schema(("id", BIGINT_SEEN), ("S3Redshift_Source", text(1)))
    adding = rule("csv", match="name", evolve=["add_columns"])
    plan = plan_schema(adding, TABLE, [("id", BIGINT_SEEN)], [("s3://b/t/1.csv", shape)])
    assert plan.ddl == ()
    assert "begins with 's3redshift_'" in plan.failures["s3://b/t/1.csv"].message


def test_a_column_with_a_default_is_not_lengthened_redshift_refuses_it() -> None:
    from s3redshift.schema_plan import TableColumn

    existing = [TableColumn("name", ColumnType("VARCHAR", 10), has_default=True)]
    files = [("s3://b/t/1.csv", schema(("name", text(40))))]
    plan = plan_schema(rule("csv", match="name", evolve=["widen"]), TABLE, existing, files)
    assert plan.ddl == ()
    assert "lengthens no column that has a DEFAULT" in plan.failures["s3://b/t/1.csv"].message


def test_with_widen_a_string_of_unknown_length_lengthens_the_column() -> None:
    existing = [("name", ColumnType("VARCHAR", 10))]
    files = [("s3://b/t/1.parquet", schema(("name", ColumnType("VARCHAR"))))]
    widening = plan_schema(rule(match="name", evolve=["widen"]), TABLE, existing, files)
    assert widening.ddl == (
        'ALTER TABLE "public"."events" ALTER COLUMN "name" TYPE VARCHAR(65535)',
    )
    as_is = plan_schema(rule(match="name"), TABLE, existing, files)
    assert as_is.ddl == ()
    assert not as_is.failures


def test_more_columns_than_redshift_allows_fail_the_file() -> None:
    wide = schema(*((f"c{n}", BIGINT_SEEN) for n in range(1601)))
    files = [("s3://b/t/1.csv", wide)]
    plan = plan_schema(rule("csv", match="name", create=True), TABLE, None, files)
    assert plan.ddl == ()
    assert "1601 columns; Redshift allows 1600" in plan.failures["s3://b/t/1.csv"].message


def test_a_nested_sort_key_is_refused() -> None:
    keyed = MappingRule.model_validate(
        {
            "pattern": "{table}/*",
            "format": {"type": "parquet"},
            "schema_policy": {"create": True},
            "sort_key": ["tags"],
        }
    )
    nested = schema(("id", ColumnType("BIGINT")), ("tags", ColumnType("SUPER")))
    plan = plan_schema(keyed, TABLE, None, [("s3://b/t/1.parquet", nested)])
    assert plan.ddl == ()
    assert "cannot sort or distribute by" in plan.failures["s3://b/t/1.parquet"].message


def test_json_by_position_is_matched_by_name_by_copy_so_key_order_is_free() -> None:
    files = [
        ("s3://b/t/1.json", schema(("id", BIGINT_SEEN), ("name", text(1)))),
        ("s3://b/t/2.json", schema(("name", text(1)), ("id", BIGINT_SEEN))),
    ]
    plan = plan_schema(rule("json", create=True), TABLE, None, files)
    assert not plan.failures
    assert plan.created == ("id", "name")


def test_a_missing_table_without_create_is_said_so() -> None:
    files = [("s3://b/t/1.parquet", schema(("id", ColumnType("BIGINT"))))]
    plan = plan_schema(rule(match="name"), TABLE, None, files)
    assert plan.missing
    assert plan.ddl == ()


def test_a_column_with_no_value_seen_fits_any_column_and_takes_the_other_files_type() -> None:
    from s3redshift.column_types import NOTHING_SEEN

    assert fit(ColumnType("INTEGER"), NOTHING_SEEN).outcome == "fits"
    assert merge(NOTHING_SEEN, BIGINT_SEEN) == BIGINT_SEEN
    assert merge(BIGINT_SEEN, NOTHING_SEEN) == BIGINT_SEEN
    files = [
        ("s3://b/t/1.csv", schema(("id", BIGINT_SEEN), ("k", NOTHING_SEEN), ("x", NOTHING_SEEN))),
        ("s3://b/t/2.csv", schema(("id", BIGINT_SEEN), ("k", BIGINT_SEEN))),
    ]
    plan = plan_schema(rule("csv", match="name", create=True), TABLE, None, files)
    assert plan.ddl == (
        'CREATE TABLE IF NOT EXISTS "public"."events" ("id" BIGINT, "k" BIGINT, "x" VARCHAR(256))',
    )
