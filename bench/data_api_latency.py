"""Latency and calls of a batch on the Data API: the loader's waits, not the warehouse's.

The real :class:`~s3redshift.loader.Loader` and
:class:`~s3redshift.transports.data_api.DataApiTransport` talk to the tests'
Data API fake (tests/answered_data_api.py: a real boto3 client answered from
inside botocore) whose statements take fixed times: a read
:data:`READ_S`, a load's batch the COPY time given per table. The fake
honours ``WaitTimeSeconds`` as the service documents it (the answer comes when
the statement ends or the wait is over), so the figures measure when the
loader sends, waits and sees an end. S3 is moto in this process.

- ``data_api_batch_wall_vs_slowest_target``: 5 tables whose COPYs take 2, 4,
  6, 8 and 10 s, played at 1/:data:`SPEED_UP` of those times in real time; the
  batch's wall time over the slowest table's own statements (its read and
  its COPY). ``..._one_at_a_time`` is the same with ``max_in_flight = 1``.
- ``data_api_calls_per_target``: Data API calls per table of a warm loader's
  batch (5 tables, 20 new objects each), long polls on and off.
- ``data_api_setup_round_trips``: requests one after another that a new
  container's first batch of 5 tables waits for before loading
  (``..._60_tables``: 60 tables, whose DDL takes two batches: the schema
  with the first 38 ledgers and the horizons' table, then the rest).
- ``describe_calls_<d>s_statement`` and ``end_seen_late_ms_<d>s_statement``:
  one batch of ``d`` seconds on a virtual clock, with long polls and (``_no_long_poll``)
  without.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from s3redshift.config import LoaderConfig
from s3redshift.events import S3Object
from s3redshift.loader import Loader
from s3redshift.transports.data_api import DataApiTransport

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from answered_data_api import AnsweredDataApi, answered_client  # noqa: E402
from helpers import FakeTime, put  # noqa: E402

BUCKET = "bench-latency"
REGION = "us-east-1"
READ_S = 0.5
"""How long a read (the ledger look-up, a catalog query) takes in the fake."""
COPY_S = (2.0, 4.0, 6.0, 8.0, 10.0)
"""Each table's COPY time in the batch-wall figure."""
SPEED_UP = 4
"""The batch-wall figure plays the statement times this many times faster."""
STATEMENTS_S = (0.5, 2.0, 10.0, 60.0, 300.0)
"""Statement times for the describe-calls and lateness figures."""
WALL_RUNS = 3
SETUP_S = 0.3
"""How long each set-up request takes in the set-up figure."""


def config(*, max_in_flight: int = 8) -> LoaderConfig:
    """Append, CSV; the first key segment is the table."""
    return LoaderConfig.from_mapping(
        {
            "target": {
                "transport": "data-api",
                "workgroup": "wg-1",
                "max_in_flight": max_in_flight,
            },
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"},
            "tables": [{"pattern": "{table}/**", "schema": "public", "format": {"type": "csv"}}],
        }
    )


@contextmanager
def moto_bucket(bucket: str = BUCKET) -> Iterator[Any]:
    """An S3 client of moto in this process, with ``bucket`` made."""
    with mock_aws():
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake key
        )
        s3.create_bucket(Bucket=bucket)
        yield s3


def put_objects(s3: Any, tables: int, per_table: int, batch: int = 0) -> list[S3Object]:
    """``per_table`` new CSV objects for each of ``tables`` tables ``t0``, ``t1``, ..."""
    return [
        put(s3, BUCKET, f"t{t}/{batch:03d}/{n:05d}.csv", f"{t},{n}\n", at=None)
        for t in range(tables)
        for n in range(per_table)
    ]


def loader_on(
    api: AnsweredDataApi,
    s3: Any,
    *,
    long_polls: bool = True,
    max_in_flight: int = 8,
    loader_config: LoaderConfig | None = None,
) -> Loader:
    """The real loader and transport on the fake (``loader_config``: :func:`config`)."""
    client = answered_client(api, long_polls=long_polls)
    transport = DataApiTransport(
        database="dev", workgroup="wg-1", client=client, max_in_flight=max_in_flight
    )
    chosen = loader_config or config(max_in_flight=max_in_flight)
    return Loader(chosen, transport=transport, s3_client=s3)


def _copy_time(sqls: Sequence[str], speed_up: float) -> float:
    """A batch's time by its table (``public.t<n>``); a read's :data:`READ_S`."""
    if len(sqls) == 1:
        return READ_S / speed_up
    for n, seconds in enumerate(COPY_S):
        if any(f'"t{n}"' in sql or f".t{n} " in sql for sql in sqls if sql.startswith("COPY")):
            return seconds / speed_up
    return 0.0  # set-up DDL


def batch_wall(*, max_in_flight: int = 8) -> float:
    """One 5-table batch's wall time over its slowest table's own statements."""
    timed = False
    api = AnsweredDataApi(durations=lambda sqls: _copy_time(sqls, SPEED_UP) if timed else 0.0)
    with moto_bucket() as s3, loader_on(api, s3, max_in_flight=max_in_flight) as loader:
        loader.load(put_objects(s3, len(COPY_S), 1, batch=0))  # the set-up, kept out
        objects = put_objects(s3, len(COPY_S), 4, batch=1)
        timed = True
        started = time.monotonic()
        report = loader.load(objects)
        wall = time.monotonic() - started
    if Counter(report.outcomes()) != {"loaded": len(objects)}:
        raise RuntimeError(f"the batch did not load: {Counter(report.outcomes())}")
    slowest = (READ_S + max(COPY_S)) / SPEED_UP
    return wall / slowest


def calls_per_target(*, long_polls: bool = True, tables: int = 5) -> float:
    """Data API calls per table of a warm loader's batch (20 new objects a table)."""
    api = AnsweredDataApi()
    with moto_bucket() as s3, loader_on(api, s3, long_polls=long_polls) as loader:
        loader.load(put_objects(s3, tables, 1, batch=0))  # warm: set-up done
        api.calls.clear()
        report = loader.load(put_objects(s3, tables, 20, batch=1))
    if set(report.outcomes()) != {"loaded"}:
        raise RuntimeError(f"the batch did not load: {Counter(report.outcomes())}")
    return sum(api.calls.values()) / tables


def setup_requests(tables: int) -> tuple[int, int]:
    """(requests, round trips) a new container's first batch waits for before loading.

    The catalog query, then the DDL batches; each set-up statement takes
    :data:`SETUP_S`, and a round trip is a request sent after the one before
    it ended (requests side by side are one), read from the fake's timeline.
    """
    api = AnsweredDataApi(durations=lambda sqls: SETUP_S if _is_set_up(sqls) else 0.0)
    with moto_bucket() as s3, loader_on(api, s3) as loader:
        report = loader.load(put_objects(s3, tables, 1))
    if set(report.outcomes()) != {"loaded"}:
        raise RuntimeError(f"the batch did not load: {Counter(report.outcomes())}")
    spans = [(start, end) for start, end, sqls, _ in api.timeline() if _is_set_up(sqls)]
    round_trips, ended = 0, -math.inf
    for start, end in spans:
        if start >= ended:
            round_trips += 1
        ended = end if start >= ended else max(ended, end)
    return len(spans), round_trips


def _is_set_up(sqls: Sequence[str]) -> bool:
    return "information_schema.columns" in sqls[0] or sqls[0].startswith("CREATE ")


def on_virtual_clock(
    seconds: float, *, long_polls: bool = True, **api_options: Any
) -> tuple[DataApiTransport, AnsweredDataApi, FakeTime]:
    """A transport and the fake sharing a virtual clock; every statement takes ``seconds``."""
    time_ = FakeTime()
    api = AnsweredDataApi(
        durations=lambda sqls: seconds, clock=time_.clock, sleep=time_.sleep, **api_options
    )
    transport = DataApiTransport(
        database="dev",
        workgroup="wg-1",
        client=answered_client(api, long_polls=long_polls),
        clock=time_.clock,
        sleep=time_.sleep,
    )
    return transport, api, time_


def statement_end(
    seconds: float, *, long_polls: bool = True, honour_waits: bool = True
) -> tuple[int, float]:
    """(DescribeStatement calls, seconds late) for one batch of ``seconds`` on a virtual clock.

    ``honour_waits=False``: a Data API that answers long polls at once.
    """
    transport, api, time_ = on_virtual_clock(
        seconds, long_polls=long_polls, honour_waits=honour_waits
    )
    transport.execute("SELECT 1", "SELECT 2")
    [sid] = api.ended
    return api.calls["DescribeStatement"], time_.now - api.ended[sid]


def _figures(name: str, measure: Callable[[], float], runs: int) -> dict[str, list[float]]:
    return {name: [measure() for _ in range(runs)]}


def measure() -> dict[str, list[float]]:
    """Every figure; the counts and the virtual-clock figures are the same every run."""
    figures: dict[str, list[float]] = {}
    figures |= _figures("data_api_batch_wall_vs_slowest_target", batch_wall, WALL_RUNS)
    figures |= _figures(
        "data_api_batch_wall_vs_slowest_target_one_at_a_time",
        lambda: batch_wall(max_in_flight=1),
        1,
    )
    figures["data_api_calls_per_target"] = [calls_per_target()]
    figures["data_api_calls_per_target_no_long_poll"] = [calls_per_target(long_polls=False)]
    requests, round_trips = setup_requests(5)
    figures["data_api_setup_round_trips"] = [float(round_trips)]
    figures["data_api_setup_requests"] = [float(requests)]
    figures["data_api_setup_round_trips_60_tables"] = [float(setup_requests(60)[1])]
    for seconds in STATEMENTS_S:
        label = f"{seconds:g}s_statement".replace(".", "_")
        for long_polls, suffix in ((True, ""), (False, "_no_long_poll")):
            describes, late = statement_end(seconds, long_polls=long_polls)
            figures[f"describe_calls_{label}{suffix}"] = [float(describes)]
            figures[f"end_seen_late_ms_{label}{suffix}"] = [round(late * 1000, 1)]
    return figures


if __name__ == "__main__":
    for name, values in measure().items():
        print(name, values)
