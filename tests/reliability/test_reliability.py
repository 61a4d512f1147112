"""The fast subset of the fault-injection schedules, run by the normal test suite.

The same code as ``make reliability`` (see :mod:`reliability.schedules`):
nothing lost, nothing duplicated and every table as the oracle of its mode
says (:mod:`reliability.oracle`), with fewer schedules:
``S3REDSHIFT_RELIABILITY_SCHEDULES`` (default: enough to inject every fault once), or
``S3REDSHIFT_RELIABILITY_SEED=<n>`` to replay one schedule.
"""

from __future__ import annotations

import os

import pytest

from reliability.faults import COMBINATIONS
from reliability.schedules import run_schedules, seeds_from_env
from s3redshift.local import EmbeddedEnvironment

SUBSET = (len(COMBINATIONS) + 1) // 2
"""The fewest consecutive seeds whose fault walk injects every (point, kind) pair."""
COMMAND = ".venv/bin/pytest -q tests/reliability"


@pytest.mark.reliability
@pytest.mark.long
@pytest.mark.timeout(600)
def test_no_object_is_lost_or_duplicated_and_no_table_is_wrong_under_injected_faults(
    embedded_env: EmbeddedEnvironment,
) -> None:
    seeds = seeds_from_env(SUBSET, dict(os.environ))
    reports: list[str] = []
    summary = run_schedules(embedded_env, seeds, command=COMMAND, echo=reports.append)
    print(summary.line())
    if summary.failures:
        pytest.fail("\n".join([summary.line(), *reports]), pytrace=False)
    assert summary.lost == summary.duplicated == summary.wrong == 0
    if 2 * len(seeds) >= len(COMBINATIONS):
        # Consecutive seeds walk every (point, kind): each must really have fired,
        # or a step is no longer recognised and the harness tests less than it says.
        assert not summary.missed, f"never injected: {summary.missed}"
