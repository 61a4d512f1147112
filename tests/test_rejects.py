"""Rejected rows kept (``on_error = "skip_rows"``), end to end on the stand-in.

Each test loads through the production plan on the embedded PostgreSQL and
moto's S3; faults are injected from outside the project's code, by a wrapper
around the driver's connection. What is proved: a rejected row is either
loaded or recorded in ``load_rejects``, never both, never neither, whatever
the replay, the limit or the crash point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from helpers import logged_fields, put
from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError, DataRejectedError
from s3redshift.events import S3Object
from s3redshift.invocation_log import Invocation
from s3redshift.loader import Loader
from s3redshift.local import connector_config, stand_in_loader
from s3redshift.local.standin import StandInConnector
from s3redshift.local.transport import stand_in_transport
from s3redshift.rejects import RECORD_REJECTS_PURPOSE
from test_exactly_once_attacks import KPIS_LEDGER, Interrupted, Trap, execute, query

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REJECTS = '"s3redshift"."load_rejects"'
BAD_LINES = (12, 50, 101)
"""File lines (header counted) of the three bad rows among 100 data lines."""


def hundred_rows(bad: tuple[int, ...] = BAD_LINES) -> str:
    """A header and 100 data lines ``id,name``; the lines in ``bad`` have a non-integer id."""
    lines = ["id,name"]
    for line in range(2, 102):
        ident = f"x{line}" if line in bad else str(line)
        lines.append(f"{ident},row {line}")
    return "\n".join(lines) + "\n"


def config_for(dsn: str, *, limit: int = 10, on_error: str = "skip_rows") -> LoaderConfig:
    options: dict[str, Any] = {"on_error": on_error}
    if on_error == "skip_rows":
        options["max_rejected_rows"] = limit
    document: dict[str, Any] = {
        **connector_config(dsn),
        "copy": {"iam_role": "default"},
        "tables": [
            {
                "pattern": "{table}/**",
                "schema": "public",
                "format": {"type": "csv", "ignore_header": 1},
                "options": options,
            }
        ],
    }
    return LoaderConfig.from_mapping(document)


def kpis_loader(
    pg: Any, s3: S3Client, bucket: str, config: LoaderConfig, loaders: list[Loader]
) -> tuple[S3Object, Loader]:
    """Table ``kpis``, a file of a hundred rows (three bad) under it, a loader for ``config``."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/a.csv", hundred_rows())
    loader = stand_in_loader(config, s3_client=s3)
    loaders.append(loader)
    return obj, loader


def rejects(pg: Any) -> list[tuple[Any, ...]]:
    return query(
        pg,
        f"SELECT object_key, line_number, column_name, raw_line, target_table FROM {REJECTS} "
        "ORDER BY line_number",
    )


def test_three_bad_lines_among_a_hundred_load_97_rows_and_record_3_rejects(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    obj, loader = kpis_loader(pg, s3, bucket, config_for(dsn), loaders)

    report = loader.load([obj])

    assert [r.outcome for r in report.objects] == ["loaded"]
    assert report.objects[0].rejected_rows == 3
    assert report.targets[0].rejected_rows == 3
    assert report.targets[0].rows == 97
    assert query(pg, "SELECT count(*) FROM kpis") == [(97,)]
    # Line numbers are the file's, header counted, as Redshift reports them.
    assert rejects(pg) == [
        ("kpis/a.csv", line, "id", f"x{line},row {line}", "public.kpis") for line in BAD_LINES
    ]
    # Never both: no rejected line's row is in the table.
    assert query(pg, "SELECT count(*) FROM kpis WHERE name IN ('row 12', 'row 50', 'row 101')") == [
        (0,)
    ]
    identity = query(pg, f"SELECT DISTINCT object_identity, batch_id FROM {REJECTS}")
    ledger = query(pg, f"SELECT object_identity, batch_id FROM {KPIS_LEDGER}")
    assert identity == ledger  # each reject names the object version and batch that loaded

    # A replay of the same event: a duplicate, nothing loaded, nothing recorded.
    replay = loader.load([obj])
    assert [r.outcome for r in replay.objects] == ["duplicate"]
    assert query(pg, "SELECT count(*) FROM kpis") == [(97,)]
    assert query(pg, f"SELECT count(*) FROM {REJECTS}") == [(3,)]


def test_more_rejected_rows_than_allowed_fail_the_object_and_keep_nothing(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    obj, loader = kpis_loader(pg, s3, bucket, config_for(dsn, limit=2), loaders)

    report = loader.load([obj])

    (result,) = report.objects
    assert result.outcome == "failed"
    assert isinstance(result.error, DataRejectedError)
    assert "max_rejected_rows = 2" in result.error.message
    assert [(d.line, d.column) for d in result.load_errors] == [(12, "id"), (50, "id"), (101, "id")]
    assert "line 12" in result.explanation
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]
    assert query(pg, f"SELECT count(*) FROM {REJECTS}") == [(0,)]
    assert query(pg, f"SELECT count(*) FROM {KPIS_LEDGER}") == [(0,)]


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda sql: sql.startswith(f"INSERT INTO {REJECTS}"), id="rejects-insert"),
        pytest.param(lambda sql: sql.startswith(f"INSERT INTO {KPIS_LEDGER}"), id="after-rejects"),
        pytest.param(lambda sql: sql.startswith("DROP TABLE"), id="before-commit"),
    ],
)
def test_a_fault_between_the_copy_and_the_commit_keeps_neither_rows_nor_rejects(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader], step: Any
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    obj = put(s3, bucket, "kpis/a.csv", hundred_rows())
    trap = Trap(StandInConnector.from_dsn(dsn, s3_client=s3), step)
    loader = Loader(config_for(dsn), s3_client=s3, transport=stand_in_transport(trap))
    loaders.append(loader)

    with pytest.raises(Interrupted):
        loader.load([obj])

    assert not trap.armed  # the fault fired
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]
    assert query(pg, f"SELECT count(*) FROM {REJECTS}") == [(0,)]
    # The redelivery loads it whole, once.
    report = loader.load([obj])
    assert [r.outcome for r in report.objects] == ["loaded"]
    assert query(pg, "SELECT count(*) FROM kpis") == [(97,)]
    assert [r[1] for r in rejects(pg)] == list(BAD_LINES)


def test_fail_file_is_unchanged_one_bad_row_fails_the_object_and_nothing_is_recorded(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    obj, loader = kpis_loader(pg, s3, bucket, config_for(dsn, on_error="fail_file"), loaders)

    report = loader.load([obj])

    (result,) = report.objects
    assert result.outcome == "failed"
    assert result.rejected_rows == 0
    assert [(d.line, d.column) for d in result.load_errors] == [(12, "id")]
    assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]
    tables = query(
        pg,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 's3redshift' "
        "AND table_name = 'load_rejects'",
    )
    assert tables == [(0,)]  # no rule keeps rejects: the table is never made


def test_rejects_of_several_files_are_attributed_to_their_own_object(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    first = put(s3, bucket, "kpis/a.csv", hundred_rows((5,)))
    second = put(s3, bucket, "kpis/b.csv", hundred_rows((7, 9)))
    clean = put(s3, bucket, "kpis/c.csv", hundred_rows(()))
    loader = stand_in_loader(config_for(dsn, limit=5), s3_client=s3)
    loaders.append(loader)

    report = loader.load([first, second, clean])

    assert [r.outcome for r in report.objects] == ["loaded"] * 3
    assert [r.rejected_rows for r in report.objects] == [1, 2, 0]
    assert report.targets[0].rejected_rows == 3
    assert query(pg, "SELECT count(*) FROM kpis") == [(297,)]
    assert query(pg, f"SELECT object_key, line_number FROM {REJECTS} ORDER BY 1, 2") == [
        ("kpis/a.csv", 5),
        ("kpis/b.csv", 7),
        ("kpis/b.csv", 9),
    ]


def test_over_the_limit_across_files_each_object_is_judged_on_its_own_rows(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    """MAXERROR counts a COPY's rows over all its files; the limit is meant per object."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    first = put(s3, bucket, "kpis/a.csv", hundred_rows((5, 6)))
    second = put(s3, bucket, "kpis/b.csv", hundred_rows((7, 9)))
    too_bad = put(s3, bucket, "kpis/c.csv", hundred_rows((2, 3, 4)))
    loader = stand_in_loader(config_for(dsn, limit=2), s3_client=s3)
    loaders.append(loader)

    report = loader.load([first, second, too_bad])

    assert [r.outcome for r in report.objects] == ["loaded", "loaded", "failed"]
    assert [r.rejected_rows for r in report.objects[:2]] == [2, 2]
    assert query(pg, "SELECT count(*) FROM kpis") == [(196,)]
    assert query(pg, f"SELECT DISTINCT object_key FROM {REJECTS} ORDER BY 1") == [
        ("kpis/a.csv",),
        ("kpis/b.csv",),
    ]


def test_the_plan_records_rejects_right_after_the_data_copy(
    dsn: str, s3: S3Client, bucket: str, loaders: list[Loader]
) -> None:
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    loader = stand_in_loader(config_for(dsn, limit=7), s3_client=s3)
    loaders.append(loader)
    target = loader.mapper.resolve(obj)
    assert target is not None
    from s3redshift.manifest import ManifestEntry

    entry = ManifestEntry(bucket, obj.key, obj.etag or "", obj.size or 0, "0")
    plan = loader.plan_target(target, [entry], write=False)
    purposes = [getattr(step, "purpose", "") for step in plan.steps]
    data = purposes.index("data")
    assert purposes[data + 1] == RECORD_REJECTS_PURPOSE
    assert "MAXERROR AS 7" in plan.statements()[data]


def test_skip_rows_needs_the_ledger(dsn: str) -> None:
    document: dict[str, Any] = {
        **connector_config(dsn),
        "ledger": {"enabled": False},
        "tables": [
            {
                "pattern": "{table}/**",
                "options": {"on_error": "skip_rows", "max_rejected_rows": 3},
            }
        ],
    }
    with pytest.raises(ConfigError, match="enable the ledger"):
        LoaderConfig.from_mapping(document)


def test_the_metrics_and_the_object_lines_count_rejected_rows_per_table_and_object(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    obj, loader = kpis_loader(pg, s3, bucket, config_for(dsn), loaders)
    report = loader.load([obj])
    with logged_fields("s3redshift.test.rejects") as (log, fields):
        invocation = Invocation(log=log, source="s3", request_id="r1", function_name="f")
        invocation.report(report)
        invocation.metrics()

    [line] = [f for f in fields if f["message"] == "object"]
    assert (line["uri"], line["rejected_rows"]) == (obj.uri, 3)
    whole, per_table = [f for f in fields if f["message"] == "metrics"]
    assert whole["RejectedRows"] == 3
    assert (per_table["Table"], per_table["RejectedRows"], per_table["Rows"]) == (
        "public.kpis",
        3,
        97,
    )
    names = {m["Name"] for m in per_table["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert "RejectedRows" in names


def test_the_serverless_statement_reads_sys_load_error_detail_and_keeps_no_raw_line(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    """A target naming a workgroup reads SYS_LOAD_ERROR_DETAIL; the stand-in has both logs."""
    serverless = config_for(dsn)
    target = serverless.target.model_copy(update={"workgroup": "analytics-wg"})
    serverless = serverless.model_copy(update={"target": target})
    obj, loader = kpis_loader(pg, s3, bucket, serverless, loaders)
    assert loader.settings.error_log == "sys"

    report = loader.load([obj])

    assert report.objects[0].rejected_rows == 3
    assert rejects(pg) == [("kpis/a.csv", line, "id", None, "public.kpis") for line in BAD_LINES]


def test_json_lines_under_skip_rows_keep_the_last_line_of_each_rejected_object(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    execute(pg, "CREATE TABLE events (id INT, name VARCHAR(5))")
    body = '{"id": 1, "name": "a"}\n{"id": "x", "name": "b"}\n{"id": 3,\n "name": "toolong"}\n'
    obj = put(s3, bucket, "events/a.json", body)
    document: dict[str, Any] = {
        **connector_config(dsn),
        "copy": {"iam_role": "default"},
        "tables": [
            {
                "pattern": "{table}/**",
                "format": {"type": "json"},
                "options": {"on_error": "skip_rows", "max_rejected_rows": 5},
            }
        ],
    }
    loader = stand_in_loader(LoaderConfig.from_mapping(document), s3_client=s3)
    loaders.append(loader)

    report = loader.load([obj])

    assert report.objects[0].rejected_rows == 2
    assert query(pg, "SELECT id, name FROM events") == [(1, "a")]
    assert query(pg, f"SELECT line_number, column_name FROM {REJECTS} ORDER BY 1") == [
        (2, "id"),
        (4, "name"),
    ]


def rows_with_bad(count: int, bad: range) -> str:
    """A header and ``count`` lines ``id,name``; file lines in ``bad`` have a non-integer id."""
    lines = ["id,name"]
    for line in range(2, count + 2):
        lines.append(f"{'x' if line in bad else ''}{line},row {line}")
    return "\n".join(lines) + "\n"


def test_a_copy_over_the_limit_isolates_its_objects_even_when_the_log_read_names_one_file(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader]
) -> None:
    """Each object within the limit loads, however many of the COPY's rejected rows are read back.

    The failed COPY's error log is read back in line order and bounded
    (Redshift's rows come from whichever slices failed), so it may name one
    file only although several had rejected rows: that file is not therefore
    over the limit.
    """
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    first = put(s3, bucket, "kpis/a.csv", rows_with_bad(300, range(2, 102)))  # 100 bad
    second = put(s3, bucket, "kpis/b.csv", rows_with_bad(300, range(200, 251)))  # 51 bad
    loader = stand_in_loader(config_for(dsn, limit=150), s3_client=s3)
    loaders.append(loader)

    report = loader.load([first, second])

    assert [r.outcome for r in report.objects] == ["loaded", "loaded"]
    assert [r.rejected_rows for r in report.objects] == [100, 51]
    assert query(pg, "SELECT count(*) FROM kpis") == [(449,)]
    assert query(pg, f"SELECT object_key, count(*) FROM {REJECTS} GROUP BY 1 ORDER BY 1") == [
        ("kpis/a.csv", 100),
        ("kpis/b.csv", 51),
    ]


def upsert_config(dsn: str, *, limit: int) -> LoaderConfig:
    """``kpis`` upserted by ``id`` (no order_by: the later object's row wins), skip_rows."""
    document: dict[str, Any] = {
        **connector_config(dsn),
        "copy": {"iam_role": "default"},
        "tables": [
            {
                "pattern": "{table}/**",
                "schema": "public",
                "mode": "upsert",
                "keys": ["id"],
                "format": {"type": "csv", "ignore_header": 1},
                "options": {"on_error": "skip_rows", "max_rejected_rows": limit},
            }
        ],
    }
    return LoaderConfig.from_mapping(document)


@pytest.mark.parametrize("limit", [1, 2, 5], ids=["each-over", "one-each", "all-fit"])
def test_upsert_with_shared_keys_keeps_each_rejected_row_once_and_the_later_row_wins(
    pg: Any, s3: S3Client, bucket: str, dsn: str, loaders: list[Loader], limit: int
) -> None:
    """Keys repeat across objects and rows are rejected: the keys guard's and the limit's
    fallbacks (one object at a time) keep each rejected row once, with its own object."""
    execute(pg, "CREATE TABLE kpis (id INT, name VARCHAR(20))")
    first = put(s3, bucket, "kpis/a.csv", "id,name\n1,a1\nx,a2\n2,a3\nx,a4\n")
    second = put(s3, bucket, "kpis/b.csv", "id,name\n2,b1\nx,b2\n3,b3\nx,b4\n")
    loader = stand_in_loader(upsert_config(dsn, limit=limit), s3_client=s3)
    loaders.append(loader)

    report = loader.load([first, second])

    if limit == 1:  # two rejected rows each: both over the limit, nothing loads
        assert report.outcomes() == ["failed", "failed"]
        assert query(pg, "SELECT count(*) FROM kpis") == [(0,)]
        assert query(pg, f"SELECT count(*) FROM {REJECTS}") == [(0,)]
        return
    assert report.outcomes() == ["loaded", "loaded"]
    assert [r.rejected_rows for r in report.objects] == [2, 2]
    assert query(pg, "SELECT id, name FROM kpis ORDER BY id") == [(1, "a1"), (2, "b1"), (3, "b3")]
    assert query(pg, f"SELECT object_key, line_number FROM {REJECTS} ORDER BY 1, 2") == [
        ("kpis/a.csv", 3),
        ("kpis/a.csv", 5),
        ("kpis/b.csv", 3),
        ("kpis/b.csv", 5),
    ]
    # A replay: duplicates, nothing more kept.
    assert loader.load([first, second]).outcomes() == ["duplicate", "duplicate"]
    assert query(pg, f"SELECT count(*) FROM {REJECTS}") == [(4,)]
