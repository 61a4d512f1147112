"""bench/results.json holds every figure `make bench` promises, and the docs page shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bench.figures import FIGURES
from scripts.docs_pages import performance_page

ROOT = Path(__file__).resolve().parent.parent
RESULTS = json.loads((ROOT / "bench/results.json").read_text(encoding="utf-8"))

PROMISED = (
    "plan_10k_ms",
    "plan_10k_vs_powertools",
    "cold_start_delta_ms",
    "cold_start_delta_ms_vs_pydantic_floor",
    "cold_start_delta_ms_connector",
    "zip_mb_data_api",
    "zip_mb_connector",
    "commits_batched",
    "commits_per_file",
    "batched_vs_per_file_ratio",
    "replay_s3_requests_per_1000",
    "ledger_lookup_growth_1m_vs_10k",
    "parallel_tables_ratio",
    "per_object_ms_100",
    "per_object_ms_1000",
    "per_object_ms_5000",
    "product_lines",
    "longest_function_lines",
    "events_py_lines",
    "import_cycles",
    "data_api_transactions_upsert_1000",
    "data_api_describe_statements_upsert_1000",
    "data_api_s3_puts_upsert_1000",
    "data_api_s3_deletes_upsert_1000",
    "data_api_batch_wall_vs_slowest_target",
    "data_api_batch_wall_vs_slowest_target_one_at_a_time",
    "data_api_calls_per_target",
    "data_api_setup_round_trips",
    "describe_calls_10s_statement",
    "end_seen_late_ms_10s_statement",
    "schema_read_requests_per_file",
    "schema_read_bytes_of_parquet",
    "schema_read_parquet_ms",
    "schema_read_parquet_vs_pyarrow",
)

COUNTS = (
    "data_api_transactions_upsert_1000",
    "data_api_describe_statements_upsert_1000",
    "data_api_s3_puts_upsert_1000",
    "data_api_s3_deletes_upsert_1000",
    "data_api_calls_per_target",
    "data_api_setup_round_trips",
    "describe_calls_10s_statement",
)
"""Figures that count calls (bench/data_api_*.py): one run, a whole number."""

MUST_MEET = (
    "schema_read_requests_per_file",
    "data_api_batch_wall_vs_slowest_target",
    "data_api_calls_per_target",
    "data_api_setup_round_trips",
    "end_seen_late_ms_10s_statement",
    "end_seen_late_ms_60s_statement",
    "describe_calls_60s_statement",
)
"""Figures whose goals (bench/figures.py) the issues made bounds: a run that misses one fails."""

CATALOG = {figure.name: figure for figure in FIGURES}


def test_results_hold_every_promised_figure_with_its_spread_and_machine() -> None:
    assert set(RESULTS["machine"]) >= {"cores", "python", "date"}
    for name in PROMISED:
        figure = RESULTS["figures"][name]
        assert figure["min"] <= figure["median"] <= figure["max"], name
        assert figure["runs"] >= 1, name
    for name in COUNTS:
        figure = RESULTS["figures"][name]
        assert figure["min"] == figure["median"] == figure["max"] == int(figure["median"]) > 0
        assert figure["runs"] == 1, name


def test_the_data_api_figures_meet_their_goals() -> None:
    for name in MUST_MEET:
        assert CATALOG[name].met(RESULTS["figures"][name]["median"]) is True, name


def test_every_figure_written_is_described_and_every_description_has_its_figure() -> None:
    assert len(CATALOG) == len(FIGURES)
    assert set(CATALOG) == set(RESULTS["figures"])
    assert set(PROMISED) <= set(CATALOG)
    assert all(figure.what for figure in FIGURES)


def _page_rows(page: str) -> dict[str, list[str]]:
    """The performance page's figure rows: name -> median, range, runs, goal, meaning."""
    rows = re.findall(r"^\| `([a-z0-9_]+)` \|(.*)\|$", page, flags=re.MULTILINE)
    return {name: [cell.strip() for cell in cells.split(" | ")] for name, cells in rows}


def test_the_performance_page_shows_each_figures_median_range_and_runs() -> None:
    rows = _page_rows(performance_page())
    assert list(rows) == [figure.name for figure in FIGURES]
    for name, (median, spread, runs, _, what) in rows.items():
        result = RESULTS["figures"][name]
        assert float(median.replace(",", "")) == pytest.approx(result["median"], abs=5e-4), name
        assert int(runs) == result["runs"], name
        if result["min"] != result["max"]:
            low, high = (float(v.replace(",", "")) for v in spread.split(" – "))
            assert (low, high) == pytest.approx((result["min"], result["max"]), abs=5e-4)
        assert what, name


def test_the_page_works_out_met_and_missed_from_the_median() -> None:
    results = json.loads(json.dumps(RESULTS))
    results["figures"]["zip_mb_data_api"] |= {"median": 5.5, "min": 5.5, "max": 5.5}
    results["figures"]["batched_vs_per_file_ratio"] |= {"median": 3.0, "min": 2.0, "max": 4.0}
    rows = _page_rows(performance_page(results))
    assert rows["zip_mb_data_api"][3] == "≤ 5: missed"
    assert rows["batched_vs_per_file_ratio"][3] == "≥ 3: met"
    assert rows["zip_mb_connector"][3] == "≤ 20: met"
