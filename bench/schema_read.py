"""A file's schema read from a few byte ranges, against pyarrow reading the same footer.

The schema policy reads each file's schema before a load. Its readers are
the standard library's (pyarrow does not fit the Lambda zips), so two
questions: how many bytes and requests one file costs, and how its Parquet
footer parse compares with pyarrow's own (``pyarrow.parquet.read_schema``
on the same bytes in memory, the peer), the two alternating run by run.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from s3redshift.copy import AvroFormat, CsvFormat, JsonFormat, OrcFormat, ParquetFormat
from s3redshift.file_schema import read_file_schema

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from file_writers import EXTENSION, FORMATS, write  # noqa: E402

COLUMNS = 40
ROWS = 200_000
RUNS = 15
_FORMATS: dict[str, Any] = {
    "csv": CsvFormat(ignore_header=1),
    "json": JsonFormat(),
    "parquet": ParquetFormat(),
    "orc": OrcFormat(),
    "avro": AvroFormat(),
}


class _Counted:
    """A range fetch over bytes in memory that counts its calls and bytes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.calls, self.bytes = data, 0, 0

    def __call__(self, start: int, end: int) -> bytes:
        self.calls += 1
        chunk = self.data[start:end]
        self.bytes += len(chunk)
        return chunk


def _wide_parquet() -> bytes:
    table = pa.table(
        {f"c{n:02d}": pa.array(range(n, n + ROWS), pa.int64()) for n in range(COLUMNS)}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def measure() -> dict[str, list[float]]:
    data = _wide_parquet()
    ours: list[float] = []
    ratios: list[float] = []
    for _ in range(RUNS):
        mine = _timed(lambda: read_file_schema(ParquetFormat(), None, len(data), _Counted(data)))
        theirs = _timed(lambda: pq.read_schema(pa.BufferReader(data)))
        ours.append(mine)
        ratios.append(mine / theirs)
    counted = _Counted(data)
    read_file_schema(ParquetFormat(), None, len(data), counted)
    fetches = []
    for fmt in FORMATS:
        small = write(fmt, ["id", "name"], [{"id": 1, "name": "a"}])
        probe = _Counted(small)
        read_file_schema(_FORMATS[fmt], None, len(small), probe)
        fetches.append(probe.calls)
    print(
        f"  {len(data) / 1e6:.1f} MB Parquet of {COLUMNS} columns: {counted.bytes} bytes read in "
        f"{counted.calls} request(s); ours {statistics.median(ours):.3f} ms; requests per file "
        + ", ".join(f"{EXTENSION[f]} {n}" for f, n in zip(FORMATS, fetches, strict=True))
    )
    return {
        "schema_read_parquet_ms": ours,
        "schema_read_parquet_vs_pyarrow": ratios,
        "schema_read_bytes_of_parquet": [float(counted.bytes)],
        "schema_read_requests_per_file": [float(max(fetches))],
    }
