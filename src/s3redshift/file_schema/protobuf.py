"""Protocol Buffers' wire format, enough to read an ORC PostScript and Footer.

A message is a run of ``(field number << 3 | wire type)`` keys, each followed
by a varint, a length-delimited byte string or a fixed 4 or 8 bytes. Without
the .proto, a message reads as ``{field number: [values]}``: varints as ints,
length-delimited fields as bytes (a string, a nested message or a packed
list, as the caller knows). Bad bytes raise :class:`ProtobufError`.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["Message", "ProtobufError", "integers", "message", "read_varint"]

Message = dict[int, list[int | bytes]]
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The bytes are not a protobuf message (or end too soon)."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the offset after it."""
    result = shift = 0
    while shift < 70:
        if pos >= len(data):
            raise ProtobufError(f"a varint runs past the end ({len(data)} bytes)")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    raise ProtobufError(f"a varint longer than 10 bytes before offset {pos}")


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = read_varint(data, pos)
            yield number, value
            continue
        if wire == _LENGTH:
            length, pos = read_varint(data, pos)
        elif wire in (_FIXED64, _FIXED32):
            length = 8 if wire == _FIXED64 else 4
        else:
            raise ProtobufError(f"wire type {wire} (field {number}) is not supported")
        if pos + length > len(data):
            raise ProtobufError(f"field {number} runs past the end ({len(data)} bytes)")
        raw = data[pos : pos + length]
        pos += length
        yield number, raw if wire == _LENGTH else int.from_bytes(raw, "little")


def message(data: bytes) -> Message:
    """Every field's values, in order, by field number."""
    found: Message = {}
    for number, value in _fields(data):
        found.setdefault(number, []).append(value)
    return found


def integers(values: list[int | bytes]) -> list[int]:
    """A repeated integer field's values, packed (one byte string) or not."""
    result: list[int] = []
    for value in values:
        if isinstance(value, int):
            result.append(value)
            continue
        pos = 0
        while pos < len(value):
            number, pos = read_varint(value, pos)
            result.append(number)
    return result
