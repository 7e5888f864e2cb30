"""Running the app under uvicorn on a socket we bind ourselves.

Binding first lets ``--port 0`` pick a free port and lets us announce the real address only once
the lifespan (store, engines) has started: the line ``antiphon listening on http://HOST:PORT`` on
stdout is the readiness signal the demo and the tests wait for.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable

import uvicorn
from uvicorn.config import LOG_LEVELS

from antiphon.server.app import create_app
from antiphon.server.settings import ServerSettings
from antiphon.server.workers import supervise

__all__ = ["READY_PREFIX", "serve"]

READY_PREFIX = "antiphon listening on "


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


def serve(settings: ServerSettings) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM shut down gracefully)."""
    _log_to_stderr(settings.log_level)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it Nagle holds each small SSE frame for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sys.exit(f"antiphon: cannot listen on {settings.host}:{settings.port}: {exc.strerror}")
    port = int(sock.getsockname()[1])
    host = f"[{settings.host}]" if family == socket.AF_INET6 else settings.host
    url = f"http://{host}:{port}"
    settings = settings.with_port(port)

    def run_one(listening: socket.socket, on_ready: Callable[[], None]) -> int:
        config = uvicorn.Config(
            create_app(settings),
            log_level=settings.log_level,
            timeout_graceful_shutdown=5,
            # A larger /v1/realtime client frame is refused by the protocol layer: code 1009.
            ws_max_size=settings.realtime.max_frame_bytes,
        )
        _Server(config, on_ready).run(sockets=[listening])
        return 0

    try:
        if settings.workers > 1:
            sys.exit(supervise(settings.workers, sock, url, READY_PREFIX, run_one))
        run_one(sock, lambda: print(f"{READY_PREFIX}{url}", flush=True))
    finally:
        sock.close()  # also when the lifespan fails and uvicorn exits (SystemExit)


def _log_to_stderr(log_level: str) -> None:
    """Show antiphon's own log records (``antiphon.*``) at ``log_level`` on stderr.

    uvicorn configures only its own loggers; without a handler here, Python would drop our
    info records (the discovered models, for one) whatever ``--log-level`` says.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:  %(name)s: %(message)s"))
    logger = logging.getLogger("antiphon")
    logger.setLevel(LOG_LEVELS.get(log_level.lower(), logging.WARNING))
    logger.addHandler(handler)
