"""Thrift's compact protocol, read just far enough to find a Parquet schema.

A Parquet footer is one Thrift struct (FileMetaData) in the compact protocol:
fields carry a type nibble, integers are zigzag varints, a bool lives in its
field header's type nibble (but takes a byte inside a list). The reader keeps
scalars and nested structs as ``{field id: value}`` and skips every list, set
and map it is not asked to walk, so one skipper serves every field nobody
needs. Bad or cut-short bytes raise :class:`ThriftError`, never IndexError.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TypeAlias

__all__ = ["LIST", "STRUCT", "CompactReader", "Struct", "ThriftError", "Value"]

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY = range(9)
LIST, SET, MAP, STRUCT, UUID = range(9, 14)
_INTEGERS = (I16, I32, I64)
_MAX_DEPTH = 64
"""Deeper nesting than any real footer: hostile bytes stop here, not at RecursionError."""

Value: TypeAlias = "bool | int | float | bytes | Struct"
Struct: TypeAlias = "dict[int, Value]"


class ThriftError(ValueError):
    """The bytes are not compact-protocol Thrift (or end too soon)."""


class CompactReader:
    """A cursor over compact-protocol bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        if n < 0 or self.pos + n > len(self.data):
            raise ThriftError(f"{n} bytes wanted at offset {self.pos}, past the end")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def byte(self) -> int:
        """The next byte, unsigned."""
        return self.take(1)[0]

    def varint(self) -> int:
        """An unsigned LEB128 varint (at most 10 bytes: 64 bits)."""
        result = shift = 0
        while shift < 70:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
        raise ThriftError(f"a varint longer than 10 bytes at offset {self.pos}")

    def zigzag(self) -> int:
        """A signed zigzag varint (i16, i32, i64)."""
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def fields(self) -> Iterator[tuple[int, int]]:
        """``(field id, type)`` of each field of the struct starting here, to its STOP.

        The caller reads or skips each field's value before asking for the next.
        """
        last = 0
        while (header := self.byte()) & 0x0F != STOP:
            delta = header >> 4
            last = last + delta if delta else self.zigzag()
            yield last, header & 0x0F

    def list_header(self) -> tuple[int, int]:
        """``(size, element type)`` of a list or set; each element takes a byte or more."""
        header = self.byte()
        size = header >> 4
        if size == 15:
            size = self.varint()
        if size > len(self.data) - self.pos:
            raise ThriftError(f"a list of {size} elements in {len(self.data)} bytes")
        return size, header & 0x0F

    def struct(self, depth: int = 0) -> Struct:
        """The struct starting here: scalars and nested structs by field id, lists skipped."""
        _check_depth(depth)
        found: Struct = {}
        for field_id, kind in self.fields():
            if kind in (TRUE, FALSE):
                found[field_id] = kind == TRUE
            elif kind == STRUCT:
                found[field_id] = self.struct(depth + 1)
            elif kind in (LIST, SET, MAP):
                self.skip(kind, depth + 1)
            else:
                found[field_id] = self.scalar(kind)
        return found

    def scalar(self, kind: int) -> int | float | bytes:
        """A number, a binary or a UUID."""
        if kind in _INTEGERS:
            return self.zigzag()
        if kind == BYTE:
            return int.from_bytes(self.take(1), "little", signed=True)
        if kind == DOUBLE:
            value: float = struct.unpack("<d", self.take(8))[0]
            return value
        if kind == BINARY:
            return self.take(self.varint())
        if kind == UUID:
            return self.take(16)
        raise ThriftError(f"unknown compact type {kind} at offset {self.pos}")

    def skip(self, kind: int, depth: int = 0) -> None:
        """Step over one field's value of type ``kind`` (a bool field has none)."""
        if kind not in (TRUE, FALSE):
            self._skip_element(kind, depth)

    def _skip_element(self, kind: int, depth: int) -> None:
        _check_depth(depth)
        if kind in (TRUE, FALSE):
            self.take(1)  # inside a list, a bool is one byte
        elif kind == STRUCT:
            for _field_id, field_kind in self.fields():
                self.skip(field_kind, depth + 1)
        elif kind in (LIST, SET):
            size, element = self.list_header()
            for _ in range(size):
                self._skip_element(element, depth + 1)
        elif kind == MAP:
            self._skip_map(depth)
        else:
            self.scalar(kind)

    def _skip_map(self, depth: int) -> None:
        size = self.varint()
        if not size:
            return
        if 2 * size > len(self.data) - self.pos:
            raise ThriftError(f"a map of {size} entries in {len(self.data)} bytes")
        types = self.byte()
        for _ in range(size):
            self._skip_element(types >> 4, depth + 1)
            self._skip_element(types & 0x0F, depth + 1)


def _check_depth(depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ThriftError(f"structs nested more than {_MAX_DEPTH} deep")
