"""Server-sent events, both ways, with no I/O.

:class:`SSEEncoder` writes the Responses stream: ``event: <type>`` and one ``data:`` line of
compact JSON per event, comment lines for keep-alive, and never ``data: [DONE]`` (the Responses
protocol has none). :class:`SSEDecoder` reads upstream streams (OpenAI-compatible chat and
completions chunks, which end with ``data: [DONE]``): it is fed byte chunks split anywhere, follows
the WHATWG parsing rules (CR, LF or CRLF line ends, comments, multi-line data, a leading BOM) and
enforces a maximum line size and event size with :class:`~antiphon.StreamLimitError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from antiphon.exceptions import StreamLimitError
from antiphon.wire.json import Dumpable, dump_json

__all__ = ["DONE", "SSEDecoder", "SSEEncoder", "SSEMessage", "StreamEvent"]

#: The data of the sentinel message that ends an OpenAI chat/completions stream.
DONE: Final = "[DONE]"

_BOM: Final = b"\xef\xbb\xbf"


class StreamEvent(Dumpable, Protocol):
    """What the encoder needs of an event: a ``type`` and pydantic's serialisation."""

    @property
    def type(self) -> str:
        """The event's ``type``, repeated as the SSE ``event:`` name."""
        ...


class SSEEncoder:
    """Encodes Responses stream events as SSE frames (bytes, ready for the socket)."""

    __slots__ = ()

    def encode(self, event: StreamEvent) -> bytes:
        """One ``event:``/``data:`` frame. Only fields that were set go on the wire."""
        return self.encode_json(event.type, dump_json(event))

    def encode_json(self, event_type: str, data: str) -> bytes:
        """A frame from JSON text already serialised (a stored event being replayed)."""
        # JSON from pydantic is compact and escapes newlines, so one data line always suffices.
        return f"event: {event_type}\ndata: {data}\n\n".encode()

    def keepalive(self, comment: str = "keepalive") -> bytes:
        """A comment frame: clients ignore it, proxies and idle timers see traffic."""
        return f": {comment.replace(chr(10), ' ').replace(chr(13), ' ')}\n\n".encode()


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched SSE message. ``event`` is ``"message"`` when the stream named none."""

    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Incremental SSE parser: ``feed(bytes)`` returns the messages completed by that chunk."""

    def __init__(self, *, max_line_bytes: int = 1 << 20, max_event_bytes: int = 4 << 20) -> None:
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        self._buffer = bytearray()
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._started = False  # a BOM is only stripped at the very start of the stream
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._id: str | None = None
        self._last_id: str | None = None
        self.retry_ms: int | None = None

    @property
    def has_partial_event(self) -> bool:
        """True when bytes or fields of an undispatched message are pending (a cut stream)."""
        return bool(self._buffer) or bool(self._data) or bool(self._event)

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Consume a chunk split anywhere; return the messages it completed, in order."""
        if not chunk:
            # Nothing to see, and a CR pending from the chunk before still awaits its LF.
            return []
        # The usual upstream chunk is exactly one "data: ...\n\n" message: taken whole, with
        # the same limits (line, then data and its newline), instead of line by line.
        fits = len(chunk) - 2 <= self._max_line and len(chunk) - 7 <= self._max_event
        if fits and self._at_rest() and _single_data(chunk):
            return [SSEMessage(chunk[6:-2].decode("utf-8", errors="replace"), id=self._last_id)]
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        self._buffer += chunk
        if not self._started:
            if len(self._buffer) < len(_BOM) and _BOM.startswith(self._buffer):
                return []
            self._started = True
            if self._buffer.startswith(_BOM):
                del self._buffer[: len(_BOM)]
        try:
            return self._drain_lines()
        except StreamLimitError:
            # The stream is broken at an unknown point: drop what is buffered and resume with
            # the next chunk, so a caller that chooses to go on never sees a half-message.
            self._buffer.clear()
            self._reset_event()
            raise

    def _at_rest(self) -> bool:
        """Between messages, with nothing buffered and the stream's start behind."""
        return (
            self._started
            and not self._buffer
            and not self._skip_lf
            and not self._data
            and not self._event
            and self._id is None
        )

    def finish(self) -> list[SSEMessage]:
        """End of stream: per the SSE rules an undispatched message is dropped, not delivered."""
        self._buffer.clear()
        self._reset_event()
        return []

    def _drain_lines(self) -> list[SSEMessage]:
        messages: list[SSEMessage] = []
        buffer = self._buffer
        start = 0
        size = len(buffer)
        while start < size:
            lf = buffer.find(b"\n", start)
            cr = buffer.find(b"\r", start, lf if lf >= 0 else size)
            end = cr if cr >= 0 else lf
            if end < 0:
                break
            line = bytes(buffer[start:end])
            start = end + 1
            if cr >= 0:
                if start < size and buffer[start] == 0x0A:
                    start += 1
                elif start == size:
                    self._skip_lf = True
            self._check_line(len(line))
            message = self._process_line(line)
            if message is not None:
                messages.append(message)
        del buffer[:start]
        self._check_line(len(buffer))
        return messages

    def _check_line(self, size: int) -> None:
        if size > self._max_line:
            raise StreamLimitError("SSE line", limit=self._max_line, size=size)

    def _process_line(self, line: bytes) -> SSEMessage | None:
        if not line:
            return self._dispatch()
        if line[0] == 0x3A:  # ":" starts a comment (keep-alive)
            return None
        name, sep, raw = line.partition(b":")
        value = raw[1:] if sep and raw[:1] == b" " else raw
        text = value.decode("utf-8", errors="replace")
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self._max_event:
                raise StreamLimitError("SSE event", limit=self._max_event, size=self._data_size)
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id" and "\0" not in text:
            self._id = text
        elif name == b"retry" and text.isascii() and text.isdigit():
            self.retry_ms = int(text)
        return None

    def _dispatch(self) -> SSEMessage | None:
        if self._id is not None:
            self._last_id = self._id
        if not self._data:
            self._reset_event()
            return None
        message = SSEMessage("\n".join(self._data), self._event or "message", self._last_id)
        self._reset_event()
        return message

    def _reset_event(self) -> None:
        self._data = []
        self._data_size = 0
        self._event = ""
        self._id = None


def _single_data(chunk: bytes) -> bool:
    """Whether ``chunk`` is one ``data: `` line and the blank line that dispatches it."""
    return (
        chunk.startswith(b"data: ")
        and chunk.endswith(b"\n\n")
        and chunk.count(b"\n") == 2
        and b"\r" not in chunk
    )
