"""Parts of ``bench_pace.py``: a paced upstream, the floor relay, and a light streaming client.

Run as a child process: ``python bench/_paced.py upstream`` (prints its port) or
``python bench/_paced.py floor UPSTREAM_URL lean|httpx`` (prints ``floor listening on URL``).

* **The paced upstream** answers every ``POST .../chat/completions`` with an OpenAI chat stream of
  ``chunks`` content chunks, the first at once and the others ``interval`` seconds apart, as a
  model emits tokens. ``POST /control`` sets both. It is a bare asyncio protocol with no framework,
  so a thousand streams cost it little CPU beside what it feeds.
* **The floor** is the least a relay can do on the same stack as ``antiphon serve`` (uvicorn with
  the same loop and HTTP parser): it reads the upstream's SSE and writes one SSE event per
  upstream message to its client, with no protocol work (no validation, no ledger, no store).
  It comes in two kinds: ``lean`` reads the upstream through antiphon's own HTTP/1.1 connection
  (``antiphon.engines._h1``, what antiphon uses for a plain-HTTP upstream), ``httpx`` through
  one pooled httpx client (what a relay would usually use, and antiphon for HTTPS).
* **The client** speaks HTTP/1.1 over a raw socket (``Connection: close``) and only counts SSE
  events and notes when the first text arrived, so it takes as little of the two cores as it can.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
)
_END = b"0\r\n\r\n"


def _chunked(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _chat_frame(content: str | None, finish: str | None = None) -> bytes:
    delta: dict[str, object] = {"role": "assistant", "content": ""} if content is None else {}
    if content is not None:
        delta["content"] = content
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return _chunked(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")


@dataclass
class _Pace:
    chunks: int = 200
    interval: float = 0.02
    # Pre-encoded frames: the upstream's own cost per chunk stays a socket write.
    frames: list[bytes] = field(default_factory=list[bytes])

    def set(self, chunks: int, interval: float) -> None:
        self.chunks, self.interval = chunks, interval
        words = [_chat_frame(f"w{i} ") for i in range(chunks)]
        tail = _chat_frame("", "stop") + _chunked(b"data: [DONE]\n\n") + _END
        self.frames = [_HEAD + _chat_frame(None) + words[0], *words[1:-1], words[-1] + tail]


class _UpstreamProtocol(asyncio.Protocol):
    def __init__(self, pace: _Pace) -> None:
        self._pace = pace
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        head, sep, rest = self._buffer.partition(b"\r\n\r\n")
        if not sep:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return
        body, self._buffer = rest[:length], rest[length:]
        self._answer(head.split(b" ", 2)[1], body)

    def _answer(self, path: bytes, body: bytes) -> None:
        assert self._transport is not None
        if path == b"/control":
            settings = json.loads(body)
            self._pace.set(int(settings["chunks"]), float(settings["interval"]))
            self._transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            return
        self._send(list(self._pace.frames), self._pace.interval)

    def _send(self, frames: list[bytes], interval: float) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(frames.pop(0))
        if frames:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(interval, self._send, frames, interval)


async def _serve_upstream() -> None:
    pace = _Pace()
    pace.set(pace.chunks, pace.interval)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _UpstreamProtocol(pace), sock=sock, backlog=4096)
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()


async def _started(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer the lifespan (``False``), or read the request and start an SSE answer (``True``)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return False
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    return True


def _floor_app(upstream: str) -> ASGIApp:
    import httpx

    client = httpx.AsyncClient(
        base_url=upstream.rstrip("/") + "/",
        timeout=httpx.Timeout(60.0),
        limits=httpx.Limits(max_connections=2048, max_keepalive_connections=20),
    )
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Go"}]}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if not await _started(scope, receive, send):
            return
        async with client.stream("POST", "chat/completions", json=body) as response:
            rest = b""
            async for chunk in response.aiter_bytes():
                messages = (rest + chunk).split(b"\n\n")
                rest = messages.pop()
                out = b"".join(b"event: chunk\n" + message + b"\n\n" for message in messages)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def _lean_floor_app(upstream: str) -> ASGIApp:
    """The floor on antiphon's own upstream connection (``antiphon.engines._h1``)."""
    from urllib.parse import urlsplit

    from antiphon.engines._h1 import Connection

    parts = urlsplit(upstream)
    payload = b'{"model":"bench","stream":true,"messages":[{"role":"user","content":"Go"}]}'
    head = (
        f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    idle: list[Connection] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if not await _started(scope, receive, send):
            return
        conn = idle.pop() if idle else None
        if conn is None or conn.closed:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(
                lambda: Connection(60.0), parts.hostname or "127.0.0.1", parts.port or 80
            )
        conn.request(head, payload)
        await conn.head()
        rest = b""
        while (pieces := await conn.body()) is not None:
            messages = (rest + b"".join(pieces)).split(b"\n\n")
            rest = messages.pop()
            out = b"".join(b"event: chunk\n" + message + b"\n\n" for message in messages)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
        if conn.reusable:
            idle.append(conn)
        else:
            conn.close()
        await send({"type": "http.response.body", "body": b""})

    return app


def _serve_floor(upstream: str, kind: str) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(f"floor listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    app = _lean_floor_app(upstream) if kind == "lean" else _floor_app(upstream)
    config = uvicorn.Config(app, log_level="warning", backlog=4096)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class StreamResult:
    """What the client saw of one stream."""

    events: int = 0
    first_text: float | None = None  # seconds from the request to the first text
    error: str = ""


async def stream_once(
    host: str, port: int, path: str, body: bytes, text_marker: bytes
) -> StreamResult:
    """POST ``body`` and read the whole SSE answer; counts events, times the first text."""
    result = StreamResult()
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    except OSError as exc:
        result.error = f"connect: {exc}"
        return result
    try:
        writer.write(
            b"POST %s HTTP/1.1\r\nHost: %s:%d\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (path.encode(), host.encode(), port, len(body), body)
        )
        status = await reader.readline()
        if b" 200 " not in status:
            result.error = f"status {status.decode(errors='replace').strip()}"
            return result
        tail = b""
        while chunk := await reader.read(65536):
            if result.first_text is None and text_marker in tail + chunk:
                result.first_text = time.perf_counter() - started
            result.events += (tail + chunk).count(b"\n\n") - tail.count(b"\n\n")
            tail = (tail + chunk)[-5:]
            if tail == b"0\r\n\r\n":  # the chunked body's end (a server may keep the socket)
                break
    except OSError as exc:
        result.error = f"read: {exc}"
    finally:
        writer.close()
    return result


def jitter(concurrency: int, spread: float) -> list[float]:
    """Start offsets: streams arrive over ``spread`` seconds, not all in one instant."""
    return sorted(random.uniform(0, spread) for _ in range(concurrency))


if __name__ == "__main__":
    if sys.argv[1] == "upstream":
        asyncio.run(_serve_upstream())
    elif sys.argv[1] == "floor":
        _serve_floor(sys.argv[2], sys.argv[3])
