"""Serving the record and replay apps on a socket we bind, with the server's ready line."""

from __future__ import annotations

import socket
import sys

import uvicorn
from starlette.types import ASGIApp

from antiphon.server.run import READY_PREFIX

__all__ = ["run_app"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self._url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(f"{READY_PREFIX}{self._url}", flush=True)


def run_app(app: ASGIApp, host: str, port: int) -> None:
    """Serve ``app`` until interrupted; announce ``antiphon listening on URL`` once ready."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sys.exit(f"antiphon: cannot listen on {host}:{port}: {exc.strerror}")
    url = f"http://{host}:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=5, ws_max_size=16 << 20
    )
    try:
        _Server(config, url).run(sockets=[sock])
    finally:
        sock.close()
