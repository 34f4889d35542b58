"""Frames between the host and a worker process: a JSON header and a raw body, length-prefixed.

A frame is ``>II`` (header length, body length), the header (UTF-8 JSON object) and the body.
The body carries the payload as the protocol already has it as text - the orchestration
trigger JSON, an activity's input, an HTTP body - so it is never escaped into the header nor
parsed twice. A body length of ``NO_BODY`` means no body at all (None, unlike an empty one).

Shared by both sides: stdlib only.
"""

from __future__ import annotations

import json
import struct
from typing import Any

PREFIX = struct.Struct(">II")
NO_BODY = 0xFFFFFFFF
MAX_FRAME = 1 << 30  # a larger length means a corrupted stream, not a payload


class WireError(Exception):
    """The byte stream is not a sequence of frames (a bug, or something else wrote to it)."""


def encode(header: dict[str, Any], body: bytes | None = None) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    if body is None:
        return PREFIX.pack(len(head), NO_BODY) + head
    return b"".join((PREFIX.pack(len(head), len(body)), head, body))


def text_body(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def body_text(body: bytes | None) -> str | None:
    return None if body is None else body.decode()


class FrameReader:
    """Cuts a byte stream into frames; ``feed`` returns the frames completed by the new bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[dict[str, Any], bytes | None]]:
        buffer = self._buffer
        buffer += data
        frames = []
        start = 0
        end = len(buffer)
        while end - start >= PREFIX.size:
            head_len, body_len = PREFIX.unpack_from(buffer, start)
            size = 0 if body_len == NO_BODY else body_len
            if head_len > MAX_FRAME or size > MAX_FRAME:
                raise WireError(f"frame of {head_len}+{size} bytes: not a frame stream")
            stop = start + PREFIX.size + head_len + size
            if stop > end:
                break
            head_at = start + PREFIX.size
            try:
                header = json.loads(bytes(buffer[head_at:head_at + head_len]))
            except ValueError as exc:
                raise WireError(f"frame header is not JSON: {exc}") from None
            body = None if body_len == NO_BODY else bytes(buffer[head_at + head_len:stop])
            frames.append((header, body))
            start = stop
        if start:
            del buffer[:start]
        return frames
