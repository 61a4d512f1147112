"""One entry point: a file's schema, by the rule's format, from ranged reads.

Each format has its reader (Parquet and ORC read the footer at the end,
Avro the header at the start, text a sample of the first lines); this module
only picks it, so a caller needs the format, the compression COPY would use,
the object's size and a way to read a range of it.
"""

from __future__ import annotations

from s3redshift.copy import (
    AvroFormat,
    Compression,
    CsvFormat,
    DelimitedFormat,
    FileFormat,
    JsonFormat,
    OrcFormat,
    ParquetFormat,
)
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema.avro import read_avro_columns
from s3redshift.file_schema.model import FileSchema, RangeFetch
from s3redshift.file_schema.orc import read_orc_columns
from s3redshift.file_schema.parquet import read_parquet_columns
from s3redshift.file_schema.text import read_text_columns

__all__ = ["read_file_schema"]


def read_file_schema(
    format: FileFormat,
    compression: Compression | None,
    size: int,
    fetch: RangeFetch,
    *,
    iso_times: bool = False,
) -> FileSchema:
    """The object's top-level columns and their Redshift types, in the file's order.

    ``compression`` is what :func:`s3redshift.copy.resolve_compression` gives
    (text formats only); ``size`` is the object's length and ``fetch`` reads a
    range of it. A file whose schema cannot be read raises
    :class:`~s3redshift.errors.SchemaMismatchError` saying why and what to change
    (the caller adds the object and the table). ``iso_times``: the COPY reads
    ISO 8601 times in text (``TIMEFORMAT 'auto'``).
    """
    if isinstance(format, ParquetFormat):
        return FileSchema(read_parquet_columns(size, fetch))
    if isinstance(format, OrcFormat):
        return FileSchema(read_orc_columns(size, fetch))
    if isinstance(format, AvroFormat):
        return FileSchema(read_avro_columns(size, fetch))
    if isinstance(format, CsvFormat | DelimitedFormat | JsonFormat):
        return FileSchema(read_text_columns(format, compression, size, fetch, iso_times=iso_times))
    raise SchemaMismatchError(
        "fixed-width files name no columns, so their schema cannot be read; use "
        'match = "position" without create or evolve, the widths naming the columns'
    )
