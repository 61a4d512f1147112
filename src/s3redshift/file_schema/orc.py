"""ORC: the top-level columns from the file's Footer, in one or two reads.

An ORC file ends with ``<Footer><PostScript><1 byte: PostScript length>``.
The PostScript (protobuf, never compressed) gives the Footer's length and
codec; the Footer is cut into chunks, each with a 3-byte little-endian header
``length * 2 + is_original``, compressed with that codec. The Footer's types
list the schema depth-first: type 0 is the root STRUCT whose subtypes and
field names are the top-level columns.
"""

from __future__ import annotations

import zlib

from s3redshift.column_types import DECIMAL_MAX_PRECISION, ColumnType
from s3redshift.errors import SchemaMismatchError
from s3redshift.file_schema import snappy
from s3redshift.file_schema.model import FileColumn, RangeFetch
from s3redshift.file_schema.protobuf import Message, ProtobufError, integers, message
from s3redshift.file_schema.ranges import Tail

__all__ = ["read_orc_columns"]

NONE, ZLIB, SNAPPY = 0, 1, 2
_CODECS = {NONE: "NONE", ZLIB: "ZLIB", SNAPPY: "SNAPPY", 3: "LZO", 4: "LZ4", 5: "ZSTD"}
_STRUCT, _DECIMAL, _VARCHAR, _CHAR = 12, 14, 16, 17
_MAX_BLOCK = 64 * 1024 * 1024
"""The most one compressed chunk (or the whole Footer) may inflate to."""

_KINDS: dict[int, ColumnType] = {
    0: ColumnType("BOOLEAN"),
    1: ColumnType("SMALLINT"),
    2: ColumnType("SMALLINT"),
    3: ColumnType("INTEGER"),
    4: ColumnType("BIGINT"),
    5: ColumnType("REAL"),
    6: ColumnType("DOUBLE PRECISION"),
    7: ColumnType("VARCHAR"),
    8: ColumnType("VARCHAR"),
    9: ColumnType("TIMESTAMP"),
    10: ColumnType("SUPER"),
    11: ColumnType("SUPER"),
    12: ColumnType("SUPER"),
    13: ColumnType("SUPER"),
    15: ColumnType("DATE"),
    18: ColumnType("TIMESTAMPTZ"),
}
_REWRITE = "the file is damaged or is not ORC: rewrite it"


def read_orc_columns(size: int, fetch: RangeFetch) -> tuple[FileColumn, ...]:
    """The file's top-level columns and their Redshift types."""
    if size < 4:
        raise SchemaMismatchError(f"the object is {size} bytes, too short for ORC; {_REWRITE}")
    tail = Tail(size, fetch, "the ORC footer")
    ps_end = size - 1
    ps_start = ps_end - tail.slice(ps_end, size)[0]
    try:
        footer_length, codec, block = _postscript(message(tail.slice(ps_start, ps_end)))
        raw = tail.slice(ps_start - footer_length, ps_start)
        return _columns(message(_decompress(raw, codec, block)))
    except (ProtobufError, snappy.SnappyError, zlib.error) as error:
        raise SchemaMismatchError(
            f"the ORC footer cannot be decoded ({error}); {_REWRITE}"
        ) from None


def _postscript(postscript: Message) -> tuple[int, int, int]:
    """``(footer length, codec, compression block size)``, after checking the magic."""
    if postscript.get(8000) != [b"ORC"]:
        raise SchemaMismatchError(f"the object's PostScript lacks the magic 'ORC'; {_REWRITE}")
    footer_length = _first_int(postscript, 1)
    codec = _first_int(postscript, 2)
    block = _first_int(postscript, 3) or 256 * 1024
    if codec not in _CODECS:
        raise SchemaMismatchError(f"the ORC footer names unknown codec {codec}; {_REWRITE}")
    return footer_length, codec, min(block, _MAX_BLOCK)


def _first_int(msg: Message, number: int) -> int:
    value = msg.get(number, [0])[0]
    if not isinstance(value, int):
        raise ProtobufError(f"field {number} is not an integer")
    return value


def _decompress(raw: bytes, codec: int, block: int) -> bytes:
    """The Footer's bytes, chunk by chunk; a codec the stdlib lacks is refused."""
    if codec == NONE:
        return raw
    if codec not in (ZLIB, SNAPPY):
        raise SchemaMismatchError(
            f"the ORC footer is compressed with {_CODECS[codec]}, which the schema reader cannot "
            "decompress; write the files with ZLIB or SNAPPY compression, or use "
            'match = "position" without create or evolve'
        )
    out = bytearray()
    pos = 0
    while pos < len(raw):
        if pos + 3 > len(raw):
            raise ProtobufError("a chunk header runs past the footer's end")
        header = int.from_bytes(raw[pos : pos + 3], "little")
        chunk = raw[pos + 3 : pos + 3 + (header >> 1)]
        if len(chunk) != header >> 1:
            raise ProtobufError("a compressed chunk runs past the footer's end")
        pos += 3 + len(chunk)
        out += chunk if header & 1 else _inflate(chunk, codec, block)
        if len(out) > _MAX_BLOCK:
            raise ProtobufError(f"the footer inflates past {_MAX_BLOCK} bytes")
    return bytes(out)


def _inflate(chunk: bytes, codec: int, block: int) -> bytes:
    """One chunk, never more than the compression block size."""
    if codec == SNAPPY:
        return snappy.decompress(chunk, block)
    inflater = zlib.decompressobj(-15)
    data = inflater.decompress(chunk, block)
    if inflater.unconsumed_tail:
        raise ProtobufError(f"a chunk inflates past the block size of {block} bytes")
    return data


def _columns(footer: Message) -> tuple[FileColumn, ...]:
    """The root STRUCT's fields, named and typed."""
    types = [message(_as_bytes(value)) for value in footer.get(4, [])]
    if not types or _first_int(types[0], 1) != _STRUCT:
        raise SchemaMismatchError(f"the ORC schema's root is not a struct; {_REWRITE}")
    subtypes = integers(types[0].get(2, []))
    names = [_name(value) for value in types[0].get(3, [])]
    if len(names) != len(subtypes) or any(s >= len(types) for s in subtypes):
        raise SchemaMismatchError(
            f"the ORC schema's root names {len(names)} fields for {len(subtypes)} types; {_REWRITE}"
        )
    return tuple(
        FileColumn(n, _column_type(n, types[s])) for n, s in zip(names, subtypes, strict=True)
    )


def _as_bytes(value: int | bytes) -> bytes:
    if isinstance(value, int):
        raise ProtobufError("a type or a name is not length-delimited")
    return value


def _name(value: int | bytes) -> str:
    try:
        return _as_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise SchemaMismatchError(f"an ORC column's name is not UTF-8; {_REWRITE}") from None


def _column_type(name: str, orc_type: Message) -> ColumnType:
    kind = _first_int(orc_type, 1)
    if kind in _KINDS:
        return _KINDS[kind]
    if kind in (_VARCHAR, _CHAR):
        # ORC counts characters, Redshift bytes (one to four a character): the
        # length says nothing a column can be checked against, as for a STRING.
        return ColumnType("VARCHAR")
    if kind == _DECIMAL:
        return _decimal(name, _first_int(orc_type, 5), _first_int(orc_type, 6))
    raise SchemaMismatchError(f"ORC column {name!r} has unknown type kind {kind}; {_REWRITE}")


def _decimal(name: str, precision: int, scale: int) -> ColumnType:
    if not 0 < precision <= DECIMAL_MAX_PRECISION or scale > precision:
        raise SchemaMismatchError(
            f"ORC column {name!r} is DECIMAL({precision},{scale}), which Redshift cannot hold "
            f"(precision 1 to {DECIMAL_MAX_PRECISION}, scale at most the precision); write it "
            "with a smaller precision, or as a string or double"
        )
    return ColumnType("DECIMAL", precision=precision, scale=scale)
