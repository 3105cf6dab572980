"""Real picture bytes for the fake platforms to serve (a valid PNG that a browser draws)."""

from __future__ import annotations

import struct
import zlib

__all__ = ["png"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int = 24, height: int = 16, rgb: tuple = (220, 40, 40)) -> bytes:
    """A `width` x `height` PNG of one colour (8-bit RGB, no interlace)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
