"""What each figure of bench/results.json measures, and the goal or peer it is read against.

One entry per figure, beside the code that measures it: the performance page
of the docs (scripts/docs_pages.py) is generated from these entries and the
results, and tests/test_bench_results.py holds that every figure written has
an entry here and every entry a figure. Whether a goal is met is worked out
from the median each time, never written down.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FIGURES", "Figure"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {"≤": operator.le, "≥": operator.ge}


@dataclass(frozen=True)
class Figure:
    """One figure: its benchmark, what it measures, and a goal (``"≤", 0.25``) or a peer."""

    name: str
    bench: str
    what: str
    goal: tuple[str, float] | None = None
    goal_label: str = ""
    """How the goal reads when its bound is not the plain number (``1 per table``)."""
    peer: str = ""

    def met(self, median: float) -> bool | None:
        """Whether the median meets the goal; None without one."""
        if self.goal is None:
            return None
        sign, bound = self.goal
        return _COMPARE[sign](median, bound)

    def goal_text(self, median: float) -> str:
        """The goal and whether this median meets it, or the peer, or nothing."""
        if self.goal is None:
            return self.peer
        sign, bound = self.goal
        label = self.goal_label or f"{sign} {bound:,g}"
        return f"{label}: {'met' if self.met(median) else 'missed'}"


_LATENCY_STATEMENTS = (
    ("0_5s", "0.5 s"),
    ("2s", "2 s"),
    ("10s", "10 s"),
    ("60s", "60 s"),
    ("300s", "300 s"),
)
_LATENCY_GOALS = {
    "describe_calls_60s_statement": ("≤", 15.0),
    "end_seen_late_ms_10s_statement": ("≤", 1000.0),
    "end_seen_late_ms_60s_statement": ("≤", 1000.0),
}


def _latency() -> tuple[Figure, ...]:
    """Seeing a statement end, on a virtual clock, for statements of five lengths."""
    figures = []
    for key, length in _LATENCY_STATEMENTS:
        for suffix, how in (
            (
                "",
                "with long polls (the submission waits up to 30 s, each DescribeStatement up "
                "to 30 s more)",
            ),
            (
                "_no_long_poll",
                "without long polls (a cadence from 0.25 s growing by half up to 2 s)",
            ),
        ):
            calls = f"describe_calls_{key}_statement{suffix}"
            late = f"end_seen_late_ms_{key}_statement{suffix}"
            figures += [
                Figure(
                    calls,
                    "data_api_latency",
                    f"DescribeStatement calls after the submission of a {length} statement, {how}",
                    _LATENCY_GOALS.get(calls),
                ),
                Figure(
                    late,
                    "data_api_latency",
                    f"milliseconds between a {length} statement's end and the loader seeing "
                    f"it, {how}",
                    _LATENCY_GOALS.get(late),
                ),
            ]
    return tuple(figures)


FIGURES: tuple[Figure, ...] = (
    # --- shape: read from the source
    Figure(
        "product_lines",
        "shape",
        "lines of src/s3redshift without the stand-in (local/), blank lines and docstrings "
        "included",
        ("≤", 11_000),
    ),
    Figure("stand_in_lines", "shape", "lines of the embedded stand-in (src/s3redshift/local)"),
    Figure(
        "events_py_lines",
        "shape",
        "lines of the event reader, events.py (tests/test_shape.py holds the bound)",
        ("≤", 500),
    ),
    Figure(
        "longest_function_lines",
        "shape",
        "the longest function in src/s3redshift, stand-in included (tests/test_shape.py "
        "holds the bound)",
        ("≤", 60),
    ),
    Figure(
        "import_cycles",
        "shape",
        "cycles in the package's import graph, lazy imports included",
        ("≤", 0),
        goal_label="none",
    ),
    # --- plan_speed: parse, map and plan in-process
    Figure(
        "plan_10k_ms",
        "plan_speed",
        "parse + map + plan of an SQS batch of 10,000 records over 20 tables, in-process: the "
        "path of `s3redshift plan` and of the handler before its first AWS call. No goal of "
        "its own (Lambda's 6 MiB payload caps a real batch at about 5,000 such records, and "
        "planning is milliseconds next to a COPY): it is read against the peer",
        peer="plan_10k_powertools_ms",
    ),
    Figure(
        "plan_10k_powertools_ms",
        "plan_speed",
        "the peer: Powertools for AWS Lambda's parser reading the same batch into its S3 "
        "models (SqsEnvelope and S3Model), parsing only",
    ),
    Figure(
        "plan_10k_vs_powertools",
        "plan_speed",
        "plan_10k_ms over the peer's time, the two alternating run by run, the collector on",
        ("≤", 0.25),
    ),
    Figure(
        "plan_10k_bytes_per_record",
        "plan_speed",
        "peak memory of the planning run, in bytes per record of the batch",
    ),
    # --- schema_read: a file's schema from a few byte ranges
    Figure(
        "schema_read_parquet_ms",
        "schema_read",
        "the standard library's parse of the footer of a 42.9 MB Parquet file of 40 columns, "
        "in memory",
        peer="pyarrow's read_schema",
    ),
    Figure(
        "schema_read_parquet_vs_pyarrow",
        "schema_read",
        "that over pyarrow's read_schema of the same bytes (C++), alternating run by run: the "
        "price of readers that fit the Lambda zips",
    ),
    Figure(
        "schema_read_bytes_of_parquet",
        "schema_read",
        "bytes read for the schema of that Parquet file: its last 64 KiB",
    ),
    Figure(
        "schema_read_requests_per_file",
        "schema_read",
        "ranged GETs the schema policy makes to read one ordinary file's schema, the most over "
        "CSV, JSON lines, Parquet, ORC and Avro",
        ("≤", 2),
    ),
    # --- cold_start: fresh interpreters from the unpacked zips
    Figure(
        "cold_start_delta_ms",
        "cold_start",
        "data-api zip: adapter import (INIT builds the loader and its clients) and first "
        "invocation up to its first AWS request, over `import boto3` plus the same clients",
        peer="bare boto3",
    ),
    Figure(
        "cold_start_delta_ms_vs_pydantic_floor",
        "cold_start",
        "the same over the floor the design sets: boto3, `import pydantic` and one model "
        "validated, plus the same clients",
        ("≤", 35),
        goal_label="≤ +35",
    ),
    Figure("cold_start_adapter_ms", "cold_start", "data-api zip: the adapter's side alone"),
    Figure("cold_start_boto3_ms", "cold_start", "data-api zip: the bare boto3 side alone"),
    Figure("cold_start_pydantic_floor_ms", "cold_start", "data-api zip: the floor's side alone"),
    Figure(
        "cold_start_delta_ms_connector",
        "cold_start",
        "cold_start_delta_ms for the connector zip (the driver is imported at INIT)",
        peer="bare boto3",
    ),
    Figure(
        "cold_start_delta_ms_vs_pydantic_floor_connector",
        "cold_start",
        "cold_start_delta_ms_vs_pydantic_floor for the connector zip",
    ),
    Figure("cold_start_adapter_ms_connector", "cold_start", "connector zip: the adapter's side"),
    Figure("cold_start_boto3_ms_connector", "cold_start", "connector zip: the bare boto3 side"),
    Figure(
        "cold_start_pydantic_floor_ms_connector", "cold_start", "connector zip: the floor's side"
    ),
    # --- snapstart: what a SnapStart version moves out of the first invocation
    Figure(
        "snapstart_init_ms",
        "snapstart",
        "data-api zip: INIT alone (import the adapter, build the loader and its clients), "
        "which a SnapStart version pays at publish time instead of at a cold invocation",
    ),
    Figure(
        "snapstart_restore_ms",
        "snapstart",
        "the after-restore hooks: re-seed `random`, `Loader.renew()`, `Loader.prepare()`",
    ),
    Figure(
        "snapstart_first_request_ms",
        "snapstart",
        "restored start: the hooks and the first invocation up to its first AWS request "
        "(Lambda's own restore is outside the process and not measured)",
        peer="a cold start (`snapstart_cold_first_request_ms`)",
    ),
    Figure(
        "snapstart_cold_first_request_ms",
        "snapstart",
        "cold start without SnapStart: INIT and the first invocation up to its first AWS request",
    ),
    # --- artifact_size
    Figure("zip_mb_data_api", "artifact_size", "the data-api Lambda zip, in MB", ("≤", 5)),
    Figure(
        "zip_rebuild_identical_data_api",
        "artifact_size",
        "1 when a rebuild of the data-api zip is byte-identical",
        ("≥", 1),
        goal_label="1",
    ),
    Figure("zip_mb_connector", "artifact_size", "the connector Lambda zip, in MB", ("≤", 20)),
    Figure(
        "zip_rebuild_identical_connector",
        "artifact_size",
        "1 when a rebuild of the connector zip is byte-identical",
        ("≥", 1),
        goal_label="1",
    ),
    # --- data_api_transactions: counts on the Data API fake
    Figure(
        "data_api_transactions_upsert_1000",
        "data_api_transactions",
        "upsert without order_by, 1,000 new objects over 5 tables on the Data API fake driving "
        "the real loader and transport: BatchExecuteStatement calls, each a Redshift commit",
        ("≤", 5),
        goal_label="1 per table",
    ),
    Figure(
        "data_api_describe_statements_upsert_1000",
        "data_api_transactions",
        "the same load's DescribeStatement calls, with long polls",
    ),
    Figure(
        "data_api_s3_puts_upsert_1000",
        "data_api_transactions",
        "the same load's S3 puts: a manifest and an object list per table",
    ),
    Figure(
        "data_api_s3_deletes_upsert_1000",
        "data_api_transactions",
        "the same load's S3 keys deleted once committed",
    ),
    # --- data_api_latency: the loader's waits on the Data API fake
    Figure(
        "data_api_batch_wall_vs_slowest_target",
        "data_api_latency",
        "a 5-table batch whose COPYs take 2, 4, 6, 8 and 10 s, played 4× fast: the batch's "
        "wall time over its slowest table's own statements",
        ("≤", 1.2),
    ),
    Figure(
        "data_api_batch_wall_vs_slowest_target_one_at_a_time",
        "data_api_latency",
        "the same with max_in_flight = 1, the tables one after another",
    ),
    Figure(
        "data_api_calls_per_target",
        "data_api_latency",
        "Data API calls per table of a warm loader's batch (20 new objects a table), with "
        "long polls: the look-up's submission and result, ListStatements, the batch and one "
        "DescribeStatement",
        ("≤", 6),
    ),
    Figure(
        "data_api_calls_per_target_no_long_poll",
        "data_api_latency",
        "the same without long polls: the data-api zip leaves boto3 to the Lambda runtime, so "
        "whether it long-polls depends on the runtime's botocore; the connector zip bundles "
        "one that does",
    ),
    Figure(
        "data_api_setup_round_trips",
        "data_api_latency",
        "requests one after another that a new container's first batch (5 tables) waits for "
        "before loading: one catalog query, one batch of DDL",
        ("≤", 2),
    ),
    Figure(
        "data_api_setup_requests",
        "data_api_latency",
        "the requests of that set-up in all",
    ),
    Figure(
        "data_api_setup_round_trips_60_tables",
        "data_api_latency",
        "data_api_setup_round_trips for a first batch of 60 tables",
    ),
    *_latency(),
    # --- ledger_growth
    Figure(
        "ledger_lookup_ms_10k",
        "ledger_growth",
        "a 1,000-object batch's ledger look-up with 10,000 rows in the ledger: the stand-in's, "
        "through an index; on Redshift the ledger's sort key skips blocks only as far as the "
        "first 8 bytes of the keys tell them apart",
    ),
    Figure("ledger_lookup_ms_1m", "ledger_growth", "the same with 1,000,000 rows"),
    Figure(
        "ledger_lookup_growth_1m_vs_10k",
        "ledger_growth",
        "the look-up at 1M rows over the look-up at 10k rows",
        ("≤", 2),
    ),
    # --- parallel_tables
    Figure(
        "two_tables_sequential_ms",
        "parallel_tables",
        "two loaders (processes) loading two tables one after the other",
    ),
    Figure("two_tables_concurrent_ms", "parallel_tables", "the same two loads at once"),
    Figure(
        "parallel_tables_ratio",
        "parallel_tables",
        "one after the other over at once: bounded here by two cores shared with PostgreSQL "
        "and the in-process S3",
    ),
    # --- standin_load
    Figure(
        "commits_batched",
        "standin_load",
        "1,000 small CSV objects over 5 tables in one batch: transactions that wrote rows",
        ("≤", 5),
        goal_label="1 per table",
    ),
    Figure(
        "transactions_batched",
        "standin_load",
        "the same batch: every committed transaction of the database, reads included",
    ),
    Figure(
        "commits_per_file",
        "standin_load",
        "the same objects, one load per file (the seed's way): transactions that wrote rows",
    ),
    Figure(
        "transactions_per_file",
        "standin_load",
        "the same, every committed transaction of the database",
    ),
    Figure("batched_ms", "standin_load", "wall time of the batched load"),
    Figure("per_file_ms", "standin_load", "wall time of the load per file"),
    Figure(
        "batched_vs_per_file_ratio",
        "standin_load",
        "per-file time over batched time",
        ("≥", 3),
    ),
    Figure(
        "replay_s3_requests_per_1000",
        "standin_load",
        "S3 requests of a replay of the 1,000 loaded objects (the ledger answers first)",
        ("≤", 10),
    ),
    Figure("replay_ms_per_1000", "standin_load", "wall time of that replay"),
    Figure(
        "first_load_ms",
        "standin_load",
        "a loader's first load into a fresh database (5 objects, one per table): the set-up "
        "each target pays once, kept out of the per-object figures",
    ),
    Figure(
        "per_object_ms_100",
        "standin_load",
        "one batch of 100 objects over 5 tables, milliseconds per object, on a loader past "
        "its first load: the stand-in's, mostly S3 requests to the in-process S3 (the "
        "loader's HeadObject and the stand-in's read of each file), not Redshift's",
    ),
    Figure("per_object_ms_1000", "standin_load", "the same for a batch of 1,000 objects"),
    Figure("per_object_ms_5000", "standin_load", "the same for a batch of 5,000 objects"),
    Figure(
        "per_object_largest_vs_smallest",
        "standin_load",
        "the largest of the three per-object figures over the smallest",
        ("≤", 1.25),
        goal_label="within 25%",
    ),
)
"""Every figure `make bench` writes, in the order of its benchmarks."""
