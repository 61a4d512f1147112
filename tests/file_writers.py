"""Files of every format the schema policy reads, written by real writers.

CSV and JSON lines are text; Parquet and ORC come from pyarrow, Avro from
fastavro (the stand-in's own readers, installed with the ``local`` extra).
Rows are dicts; ``columns`` fixes the file's column order, and a column a
row lacks is written as null (text formats leave it out of a JSON line).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMATS = ("csv", "json", "parquet", "orc", "avro")
EXTENSION = {"csv": "csv", "json": "jsonl", "parquet": "parquet", "orc": "orc", "avro": "avro"}


def write(fmt: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """The file of ``rows`` with ``columns`` in this order, as ``fmt``."""
    return _WRITERS[fmt](list(columns), list(rows))


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    lines = [",".join(columns)]
    lines += [",".join(_text(r.get(c)) for c in columns) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return f'"{text}"' if "," in text or '"' in text else text


def _json(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    lines = [json.dumps({c: r[c] for c in columns if c in r}, default=str) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _arrow_table(columns: list[str], rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    return pa.table({c: [r.get(c) for r in rows] for c in columns})


def parquet_bytes(table: Any, **options: Any) -> bytes:
    """A ``pyarrow.Table`` as a Parquet file (``options`` go to ``write_table``)."""
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def orc_bytes(table: Any, compression: str = "zlib") -> bytes:
    """A ``pyarrow.Table`` as an ORC file."""
    import pyarrow.orc as orc

    sink = io.BytesIO()
    orc.write_table(table, sink, compression=compression)
    return sink.getvalue()


def avro_bytes(schema: dict[str, Any], records: list[dict[str, Any]], codec: str = "null") -> bytes:
    """``records`` as an Avro file of ``schema``."""
    import fastavro

    sink = io.BytesIO()
    fastavro.writer(sink, fastavro.parse_schema(schema), records, codec=codec)
    return sink.getvalue()


def _parquet(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    return parquet_bytes(_arrow_table(columns, rows))


def _orc(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    return orc_bytes(_arrow_table(columns, rows))


def _avro(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    fields = [{"name": c, "type": ["null", _avro_type(rows, c)]} for c in columns]
    schema = {"type": "record", "name": "row", "fields": fields}
    return avro_bytes(schema, [{c: r.get(c) for c in columns} for r in rows])


def _avro_type(rows: list[dict[str, Any]], column: str) -> Any:
    values = [r[column] for r in rows if r.get(column) is not None]
    sample = values[0] if values else ""
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int):
        return "long"
    if isinstance(sample, float):
        return "double"
    if isinstance(sample, Decimal):
        return {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}
    if isinstance(sample, datetime):
        return {"type": "long", "logicalType": "timestamp-micros"}
    if isinstance(sample, date):
        return {"type": "int", "logicalType": "date"}
    return "string"


_WRITERS = {"csv": _csv, "json": _json, "parquet": _parquet, "orc": _orc, "avro": _avro}
