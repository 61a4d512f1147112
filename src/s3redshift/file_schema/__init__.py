"""A file's columns and their types, read from a few ranged reads of the object.

Parquet and ORC keep their schema in a footer at the end of the file, Avro in
a header at the start; CSV with a header names its columns on its first line,
and JSON lines name theirs in every object. Each reader fetches only those
bytes (a ranged GET or two, never the whole object) through a
:data:`RangeFetch`, and maps the format's types to Redshift's
(:class:`~s3redshift.column_types.ColumnType`), the one place each format's
type mapping lives.

The readers use the standard library only: pyarrow, fastavro and pyorc are
each larger than the Lambda zips' headroom.
"""

from __future__ import annotations

from s3redshift.file_schema.model import FileColumn, FileSchema, RangeFetch
from s3redshift.file_schema.read import read_file_schema

__all__ = ["FileColumn", "FileSchema", "RangeFetch", "read_file_schema"]
