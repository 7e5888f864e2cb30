"""Length-prefixed JSON frames between the server and a worker (both ends use this module).

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON encoding one
object. The reader is told the largest frame it accepts, so a worker can never make the server
buffer more than the configured output limit plus a small envelope.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from typing import cast

__all__ = [
    "HEADER_SIZE",
    "FrameError",
    "as_mapping",
    "decode_body",
    "decode_header",
    "encode",
    "read_frame",
    "write_frame",
]

_HEADER = struct.Struct(">I")
HEADER_SIZE = _HEADER.size


class FrameError(ValueError):
    """A frame is malformed or larger than the reader accepts."""


def encode(message: Mapping[str, object]) -> bytes:
    """Serialise ``message`` as one frame."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return _HEADER.pack(len(body)) + body


def decode_header(header: bytes, *, limit: int) -> int:
    """Return the body length announced by ``header``; refuse one above ``limit``."""
    if len(header) != HEADER_SIZE:
        raise FrameError(f"frame header of {len(header)} bytes, expected {HEADER_SIZE}")
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise FrameError(f"frame of {size} bytes exceeds the limit of {limit} bytes")
    return size


def decode_body(body: bytes) -> dict[str, object]:
    """Parse a frame body into a JSON object."""
    try:
        # json.loads returns Any: this is the wire boundary, narrowed just below.
        value: object = json.loads(body.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameError(f"frame body is not UTF-8 JSON: {exc}") from exc
    mapping = as_mapping(value)
    if mapping is None:
        raise FrameError(f"frame body is a JSON {type(value).__name__}, expected an object")
    return mapping


def as_mapping(value: object) -> dict[str, object] | None:
    """``value`` as a ``dict[str, object]`` if it is a decoded JSON object, else ``None``."""
    if not isinstance(value, dict):
        return None
    # JSON boundary: a decoded object has str keys and JSON values, which object covers.
    return {str(key): item for key, item in cast("dict[object, object]", value).items()}


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, *, limit: int) -> dict[str, object] | None:
    """Read one frame from ``fd`` (blocking); ``None`` at a clean end of input."""
    header = _read_exactly(fd, HEADER_SIZE)
    if header is None:
        return None
    body = _read_exactly(fd, decode_header(header, limit=limit))
    if body is None:
        raise FrameError("input ended inside a frame")
    return decode_body(body)


def write_frame(fd: int, message: Mapping[str, object]) -> None:
    """Write one frame to ``fd`` (blocking), retrying short writes."""
    data = memoryview(encode(message))
    while data:
        data = data[os.write(fd, data) :]
