"""The cassette: a JSON-lines file of recorded exchanges, with timings (no network I/O).

Line 1 is a header ``{"cassette": "antiphon", "version": 1}``; each further line is one
exchange, written when it ends:

* ``{"kind": "http", "t": S, "method", "path", "query", "headers", "body", "status",
  "response_headers", "chunks": [{"t": S, "data": TEXT}]}``: ``body`` is the request body (JSON
  when it parses, else text), ``chunks`` the response body as it arrived, each ``t`` seconds
  after the request started (a chunk that is not UTF-8 is stored as ``{"t", "b64"}``);
* ``{"kind": "websocket", "t": S, "path", "query", "headers", "frames": [{"t": S, "from":
  "client" | "server", "data": TEXT}]}``.

The top-level ``t`` is seconds since the recording started. Secrets are redacted before a line
is written (:mod:`antiphon.record.redact`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from antiphon.exceptions import ConfigurationError

__all__ = ["Chunk", "Frame", "HttpExchange", "WebSocketExchange", "read_cassette", "CassetteWriter"]

HEADER = {"cassette": "antiphon", "version": 1}


@dataclass(slots=True)
class Chunk:
    """Response bytes, ``t`` seconds after the request started."""

    t: float
    data: bytes

    def as_json(self) -> dict[str, object]:
        """The chunk as stored."""
        try:
            return {"t": round(self.t, 6), "data": self.data.decode("utf-8")}
        except UnicodeDecodeError:
            return {"t": round(self.t, 6), "b64": base64.b64encode(self.data).decode("ascii")}


@dataclass(slots=True)
class Frame:
    """A WebSocket text frame, ``t`` seconds after the connection opened."""

    t: float
    sender: Literal["client", "server"]
    data: str


@dataclass(slots=True)
class HttpExchange:
    """One HTTP request and the response it got."""

    t: float
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: object
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    chunks: list[Chunk] = field(default_factory=list[Chunk])


@dataclass(slots=True)
class WebSocketExchange:
    """One WebSocket session and its frames both ways, in the order the recorder saw them."""

    t: float
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    frames: list[Frame] = field(default_factory=list[Frame])


Exchange = HttpExchange | WebSocketExchange


def to_line(exchange: Exchange) -> str:
    """One cassette line."""
    data: dict[str, object]
    if isinstance(exchange, HttpExchange):
        data = {
            "kind": "http",
            "t": round(exchange.t, 6),
            "method": exchange.method,
            "path": exchange.path,
            "query": exchange.query,
            "headers": exchange.headers,
            "body": exchange.body,
            "status": exchange.status,
            "response_headers": exchange.response_headers,
            "chunks": [chunk.as_json() for chunk in exchange.chunks],
        }
    else:
        data = {
            "kind": "websocket",
            "t": round(exchange.t, 6),
            "path": exchange.path,
            "query": exchange.query,
            "headers": exchange.headers,
            "frames": [
                {"t": round(f.t, 6), "from": f.sender, "data": f.data} for f in exchange.frames
            ],
        }
    return json.dumps(data, separators=(",", ":"))


class CassetteWriter:
    """Appends exchanges to an open text file, one flushed line each."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        stream.write(json.dumps(HEADER) + "\n")
        stream.flush()

    def write(self, exchange: Exchange) -> None:
        """Write one exchange (already redacted)."""
        self._stream.write(to_line(exchange) + "\n")
        self._stream.flush()


def read_cassette(path: Path) -> list[Exchange]:
    """Every exchange of a cassette file, in the order the requests started.

    A malformed file raises :class:`~antiphon.exceptions.ConfigurationError` naming the line.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or _loads(lines[0], path, 1) != HEADER:
        raise ConfigurationError(f"{path} is not an antiphon cassette (line 1)")
    return sorted(_exchanges(lines[1:], path), key=lambda exchange: exchange.t)


def _exchanges(lines: list[str], path: Path) -> Iterator[Exchange]:
    for number, line in enumerate(lines, start=2):
        data = _loads(line, path, number)
        try:
            yield _exchange(data)
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigurationError(f"{path} line {number}: {error!r}") from error


def _exchange(data: dict[str, Any]) -> Exchange:
    if data["kind"] == "http":
        chunks = [
            Chunk(float(c["t"]), base64.b64decode(c["b64"]) if "b64" in c else c["data"].encode())
            for c in data["chunks"]
        ]
        return HttpExchange(
            float(data["t"]),
            str(data["method"]),
            str(data["path"]),
            pairs(data["query"]),
            pairs(data["headers"]),
            data["body"],
            int(data["status"]),
            pairs(data["response_headers"]),
            chunks,
        )
    frames = [Frame(float(f["t"]), f["from"], str(f["data"])) for f in data["frames"]]
    return WebSocketExchange(
        float(data["t"]), str(data["path"]), pairs(data["query"]), pairs(data["headers"]), frames
    )


def pairs(value: Any) -> list[tuple[str, str]]:
    """Name/value pairs (headers, query) as stored: lists of two strings."""
    return [(str(name), str(text)) for name, text in value]


def _loads(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        data: object = json.loads(line)
    except ValueError as error:
        raise ConfigurationError(f"{path} line {number} is not JSON") from error
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} line {number} is not a JSON object")
    return data  # pyright: ignore[reportUnknownVariableType]
