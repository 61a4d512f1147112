"""Raw Snappy decompression, for ORC footers written with SNAPPY.

A raw Snappy block is the uncompressed length (a varint), then elements: a
literal (tag low bits 00, its length in the tag or in the next 1-4 bytes) or
a copy of earlier output (01: 1-byte offset, 10: 2-byte, 11: 4-byte). A copy
may overlap what it writes, repeating its last ``offset`` bytes. Bad input
raises :class:`SnappyError`; output never grows past the declared length.
"""

from __future__ import annotations

__all__ = ["SnappyError", "decompress"]


class SnappyError(ValueError):
    """The bytes are not raw Snappy (or declare more than the caller allows)."""


def decompress(data: bytes, limit: int) -> bytes:
    """The block's uncompressed bytes, refused when it declares more than ``limit``."""
    length, pos = _varint(data)
    if length > limit:
        raise SnappyError(f"a block of {length} bytes, more than the {limit} allowed")
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        chunk: bytes | bytearray
        if tag & 3 == 0:
            size, pos = _literal_size(data, pos)
            chunk = data[pos : pos + size]
            pos += size
        else:
            size, offset, pos = _copy_element(data, pos)
            if not 0 < offset <= len(out):
                raise SnappyError(f"a copy from {offset} bytes back, after {len(out)} bytes")
            pattern = out[len(out) - offset : len(out) - offset + size]
            chunk = (pattern * (size // len(pattern) + 1))[:size]
        if len(chunk) != size or len(out) + size > length:
            raise SnappyError("an element runs past the input or the declared length")
        out += chunk
    if len(out) != length:
        raise SnappyError(f"{len(out)} bytes decoded where {length} were declared")
    return bytes(out)


def _varint(data: bytes) -> tuple[int, int]:
    result = 0
    for pos in range(min(len(data), 5)):
        result |= (data[pos] & 0x7F) << (7 * pos)
        if not data[pos] & 0x80:
            return result, pos + 1
    raise SnappyError("the uncompressed length is missing or longer than 32 bits")


def _literal_size(data: bytes, pos: int) -> tuple[int, int]:
    """A literal's length and the offset of its bytes."""
    size = data[pos] >> 2
    pos += 1
    if size >= 60:
        extra = size - 59
        if pos + extra > len(data):
            raise SnappyError("a literal's length runs past the input")
        size = int.from_bytes(data[pos : pos + extra], "little")
        pos += extra
    return size + 1, pos


def _copy_element(data: bytes, pos: int) -> tuple[int, int, int]:
    """A copy's length, offset and the offset after it."""
    tag = data[pos]
    kind = tag & 3
    width = (0, 1, 2, 4)[kind]
    if pos + 1 + width > len(data):
        raise SnappyError("a copy runs past the input")
    raw = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
    if kind == 1:
        return 4 + ((tag >> 2) & 7), ((tag >> 5) << 8) | raw, pos + 2
    return 1 + (tag >> 2), raw, pos + 1 + width
