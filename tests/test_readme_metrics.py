"""The metrics lines docs/operations.md shows are what the handler writes: metrics, units, shape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from helpers import logged_fields
from s3redshift.invocation_log import Invocation

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def readme_metrics_lines() -> list[dict[str, Any]]:
    """The JSON lines of the operations page's "Metrics" example, in their order."""
    section = OPERATIONS.read_text(encoding="utf-8").split("\n## Metrics\n", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the Metrics section has no JSON example"
    return [json.loads(line) for line in block.group(1).splitlines() if line.strip()]


def written_metrics_lines() -> list[dict[str, Any]]:
    """The metrics lines of an invocation like the page's: a table, a lag, notifications."""
    with logged_fields("s3redshift.test_readme_metrics") as (log, fields):
        invocation = Invocation(log=log, source="s3", request_id="r", function_name="f")
        invocation.notifications = {"sent": 1, "failed": 0}
        invocation.tables["public.kpis"] = {
            "loaded": 2, "duplicate": 0, "failed": 0, "rows": 3, "rejected_rows": 1,
            "duration_ms": 5,
        }  # fmt: skip
        invocation.lags["public.kpis"] = [43.0]
        invocation.metrics()
    return [line for line in fields if line["message"] == "metrics"]


def declared(line: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name, unit)`` of each metric a line declares, in its order."""
    [directive] = line["_aws"]["CloudWatchMetrics"]
    return [(m["Name"], m["Unit"]) for m in directive["Metrics"]]


def test_the_readme_metrics_lines_declare_what_the_handler_writes() -> None:
    shown, written = readme_metrics_lines(), written_metrics_lines()
    assert len(shown) == len(written) == 2  # the invocation's line, then the table's
    for readme_line, code_line in zip(shown, written, strict=True):
        assert declared(readme_line) == declared(code_line)
        [readme_directive], [code_directive] = (
            line["_aws"]["CloudWatchMetrics"] for line in (readme_line, code_line)
        )
        assert readme_directive["Dimensions"] == code_directive["Dimensions"]
    assert ("RejectedRows", "Count") in declared(shown[0])
    assert ("LoadLagSeconds", "Seconds") in declared(shown[1])


def test_each_readme_metrics_line_carries_a_value_for_every_metric_it_declares() -> None:
    for line in readme_metrics_lines():
        names = [name for name, _ in declared(line)]
        assert all(isinstance(line[name], int | float) for name in names), names
        assert line["message"] == "metrics"
