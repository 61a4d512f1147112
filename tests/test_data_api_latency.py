"""A batch on the Data API: its tables in flight together, ends seen at once, set-up in one go.

The real loader and transport talk to the answering fake
(tests/answered_data_api.py), whose statements take the times a test gives
them and which honours ``WaitTimeSeconds`` as the service documents. Call
counts and orderings are asserted, never durations; the figures themselves
come from bench/data_api_latency.py, whose functions these tests call.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from bench.data_api_latency import (
    calls_per_target,
    config,
    loader_on,
    moto_bucket,
    on_virtual_clock,
    put_objects,
    setup_requests,
    statement_end,
)

from answered_data_api import AnsweredDataApi
from s3redshift.config import LoaderConfig
from s3redshift.errors import TimeBudgetExceededError
from s3redshift.transports.data_api import LONG_POLL_MAX, POLL_MAX


def _table_of(sqls: Sequence[str]) -> str | None:
    """``t<n>`` of a load batch (its data COPY names the table), None for anything else."""
    for sql in sqls:
        if sql.startswith('COPY "public".'):
            return sql.split('"')[3]
    return None


# --- calls and round trips ---------------------------------------------------------


def test_a_warm_loader_costs_five_calls_per_table_with_long_polls_and_six_without() -> None:
    """Steady state: look-up (submit + result), ListStatements, the batch, one describe.

    Without long polls every statement needs a describe too. The goal is at
    most 6; the counts are exact so that any new call shows here.
    """
    assert calls_per_target() == 5
    assert calls_per_target(long_polls=False) == 6
    assert calls_per_target(tables=1) == 5  # per table, however many tables


def test_a_new_container_sets_up_in_two_round_trips_up_to_38_tables() -> None:
    """One catalog query, then one DDL request; past 38 ledgers the schema's request goes first.

    Two requests making one schema at once would collide (``IF NOT EXISTS``
    is not atomic), so the rest waits for the first.
    """
    assert setup_requests(1) == (2, 2)
    assert setup_requests(5) == (2, 2)
    assert setup_requests(38) == (2, 2)  # with the schema and the horizons: 40 statements
    assert setup_requests(39) == (3, 3)
    assert setup_requests(60) == (3, 3)


def test_a_warm_loader_meeting_ledgers_that_exist_creates_nothing() -> None:
    """A new container whose ledgers exist asks the catalog once; a warm one not at all."""

    def catalog(sql: str) -> list[list[dict[str, Any]]]:
        if "information_schema.columns" not in sql:
            return []
        ledgers = [part.strip(" '") for part in sql.split("IN (")[1].rstrip(")").split(",")]
        return [
            [{"stringValue": table}, {"stringValue": column}]
            for table in ledgers
            if table.startswith("load_ledger_")
            for column in ("object_key", "object_order")
        ]

    api = AnsweredDataApi(reads=catalog)
    with moto_bucket() as s3, loader_on(api, s3) as loader:
        loader.load(put_objects(s3, 3, 1, batch=0))
        assert api.scripts == []  # found: nothing created
        asked = sum(1 for sql in api.statements if "information_schema.columns" in sql)
        loader.load(put_objects(s3, 3, 1, batch=1))
        again = sum(1 for sql in api.statements if "information_schema.columns" in sql)
    assert (asked, again) == (1, 1)


# --- tables in flight together -----------------------------------------------------


def test_every_table_of_a_batch_is_in_flight_at_once() -> None:
    """Five tables' batches meet at one barrier as they are submitted: all five at once.

    One after another, the first would wait alone and the barrier break.
    """
    barrier = threading.Barrier(5, timeout=30)

    def meet(sqls: list[str]) -> None:
        if _table_of(sqls):
            barrier.wait()

    api = AnsweredDataApi(on_submit=meet)
    with moto_bucket() as s3, loader_on(api, s3) as loader:
        report = loader.load(put_objects(s3, 5, 3))
    assert not barrier.broken
    assert Counter(report.outcomes()) == {"loaded": 15}
    assert len(api.load_batches()) == 5


def test_a_failing_throttled_or_retried_table_leaves_the_others_loaded_once() -> None:
    """Five tables in flight: t1 conflicts once, t2 is refused for good, t3 throttled once.

    Each table's outcome is its own: t1 and t3 load on their retry, t2 fails
    permanently, t0 and t4 load on their first batch, and no table's batch
    runs more often than its own attempts need.
    """
    lock = threading.Lock()
    failed_once: set[str] = set()

    def fail(sql: str) -> str | None:
        table = _table_of([sql])
        if table == "t2":
            return 'ERROR: permission denied for relation "t2"'
        with lock:
            if table == "t1" and "t1" not in failed_once:
                failed_once.add("t1")
                return "ERROR: 1023 DETAIL: Serializable isolation violation on table"
        return None

    def refuse(operation: str, params: dict[str, Any]) -> str | None:
        with lock:
            batch = operation == "BatchExecuteStatement"
            if batch and _table_of(params.get("Sqls", [])) == "t3" and "t3" not in failed_once:
                failed_once.add("t3")
                return "ActiveStatementsExceededException"
        return None

    api = AnsweredDataApi(
        durations=lambda sqls: 0.5 if _table_of(sqls) else 0.0, fail=fail, refuse=refuse
    )
    with moto_bucket() as s3, loader_on(api, s3) as loader:
        report = loader.load(put_objects(s3, 5, 2))
    outcomes = {t.table: (t.objects, t.error.kind if t.error else None) for t in report.targets}
    assert outcomes == {
        "public.t0": (2, None),
        "public.t1": (2, None),
        "public.t2": (0, "PermissionDeniedError"),
        "public.t3": (2, None),
        "public.t4": (2, None),
    }
    sent = Counter(_table_of(batch) for batch in api.batches)
    assert sent == {"t0": 1, "t1": 2, "t2": 1, "t3": 1, "t4": 1}


# --- seeing the end of a statement ---------------------------------------------------


@pytest.mark.parametrize("seconds", [0.5, 2.0, 10.0, 60.0, 300.0])
def test_long_polls_see_the_end_at_once_with_a_call_per_30_s(seconds: float) -> None:
    """The submission waits up to 30 s, each describe up to 30 s more; no end is seen late."""
    describes, late = statement_end(seconds)
    assert late == 0
    assert describes <= max(1, -(-seconds // LONG_POLL_MAX))
    if seconds <= 60:
        assert describes <= 15
        assert late <= 1.0


@pytest.mark.parametrize("seconds", [0.5, 2.0, 10.0, 60.0])
def test_without_long_polls_the_cadence_sees_the_end_within_its_longest_pause(
    seconds: float,
) -> None:
    """An older botocore: describes paced 0.25 s growing to POLL_MAX, never later than that."""
    describes, late = statement_end(seconds, long_polls=False)
    assert 0 <= late <= POLL_MAX
    assert describes <= 6 + seconds / POLL_MAX


def test_a_long_poll_answered_at_once_does_not_spin() -> None:
    """A Data API that ignores ``WaitTimeSeconds`` gets the cadence's pace, not a busy loop."""
    paced = statement_end(10.0, long_polls=False)
    assert statement_end(10.0, honour_waits=False) == paced


def test_long_polls_never_wait_past_the_time_budget() -> None:
    """A 60 s statement with 5 s left: no wait asks for more than what is left, then it stops."""
    transport, api, time_ = on_virtual_clock(60.0)
    with pytest.raises(TimeBudgetExceededError):
        transport.execute("SELECT 1", "SELECT 2", time_budget=5.0)
    assert api.waits
    assert max(api.waits) <= 5
    assert 5.0 <= time_.now - 1000.0 < 6.0


def test_a_refused_long_poll_keeps_waiting_for_the_statement() -> None:
    """ActiveWaitingRequestsExceededException on a describe is "still running", not a failure."""
    refused: list[str] = []

    def refuse(operation: str, params: dict[str, Any]) -> str | None:
        if operation == "DescribeStatement" and len(refused) < 2:
            refused.append(operation)
            return "ActiveWaitingRequestsExceededException"
        return None

    transport, api, time_ = on_virtual_clock(40.0, refuse=refuse)
    transport.execute("SELECT 1", "SELECT 2")
    [sid] = api.ended
    assert len(refused) == 2
    assert time_.now - api.ended[sid] <= POLL_MAX


def test_rules_sharing_a_table_load_one_after_another_in_the_batchs_order() -> None:
    """Two rules into t0 would only queue on its lock: they share a lane; t1 runs beside them.

    t1's batch meets t0's first at a barrier as both are submitted; t0's
    second is submitted only after its first ended (the fake's timeline).
    """
    rules = config().model_dump(by_alias=True)
    csv = rules["tables"][0]
    rules["tables"] = [csv | {"pattern": "t0/000/00000.csv", "table": "t0"}, csv]
    barrier = threading.Barrier(2, timeout=30)
    met: list[str | None] = []

    def meet(sqls: list[str]) -> None:
        if _table_of(sqls) and len(met) < 2:
            met.append(_table_of(sqls))
            barrier.wait()

    api = AnsweredDataApi(durations=lambda sqls: 0.2 if _table_of(sqls) else 0.0, on_submit=meet)
    with moto_bucket() as s3, loader_on(api, s3, loader_config=LoaderConfig(**rules)) as loader:
        report = loader.load(put_objects(s3, 2, 2))
    assert Counter(report.outcomes()) == {"loaded": 4}
    assert [t.table for t in report.targets] == ["public.t0", "public.t0", "public.t1"]
    tables = [_table_of(batch) for batch in api.batches]
    spans = api.load_batches()
    first, second = [span for table, span in zip(tables, spans, strict=True) if table == "t0"]
    assert first[1] <= second[0]  # the second rule's batch starts after the first ended
    assert not barrier.broken
    assert sorted(met, key=str) == ["t0", "t1"]  # t1 was in flight beside t0's first
