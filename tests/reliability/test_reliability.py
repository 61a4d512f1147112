"""The fast subset of the fault-injection schedules, run by the normal test suite.

The same code as ``make reliability`` (see :mod:`reliability.schedules`):
nothing lost, nothing duplicated and every table as the oracle of its mode
says (:mod:`reliability.oracle`), with fewer schedules:
``S3REDSHIFT_RELIABILITY_SCHEDULES`` (default: :data:`SUBSET`), or
``S3REDSHIFT_RELIABILITY_SEED=<n>`` to replay one schedule.
"""

from __future__ import annotations

import os

import pytest

from reliability.faults import COMBINATIONS
from reliability.schedules import run_schedules, seeds_from_env
from s3redshift.local import EmbeddedEnvironment

SUBSET = 29
"""Consecutive seeds run: their walk injects 58 consecutive (point, kind) pairs.

That was every pair until the rejects insert's three joined (60 now); the
run's start is random, so each run leaves out two pairs, different ones
from run to run, and ``make reliability`` walks them all. Every pair walked
must fire.
"""
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
    # Each (point, kind) the seeds walked must really have fired, or a step is
    # no longer recognised and the harness tests less than it says.
    assert not summary.missed, f"never injected: {summary.missed}"
    assert len(summary.unwalked) <= max(0, len(COMBINATIONS) - 2 * len(seeds))
