"""Running the app under uvicorn on a socket we bind ourselves.

Binding first lets ``--port 0`` pick a free port and lets us announce the real address only once
the lifespan (store, engines) has started: the line ``antiphon listening on http://HOST:PORT`` on
stdout is the readiness signal the demo and the tests wait for.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import socket
import sys
from collections.abc import Callable

import uvicorn
from prometheus_client import start_http_server
from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

from antiphon.server.app import create_app
from antiphon.server.logs import JsonFormatter
from antiphon.server.prometheus import PrometheusMetrics
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
    _log_to_stderr(settings.log_level, settings.log_format)
    _raise_open_files_limit()
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
    if settings.workers > 1 and settings.metrics_port is not None:
        sock.close()
        sys.exit(
            "antiphon: --metrics-port serves one process's metrics; with --workers, leave it "
            "out and scrape each worker's /metrics (or run one antiphon serve per worker)"
        )
    metrics = PrometheusMetrics()

    def run_one(listening: socket.socket, on_ready: Callable[[], None]) -> int:
        config = uvicorn.Config(
            create_app(settings, metrics=metrics),
            log_level=settings.log_level,
            # JSON: uvicorn's own records go through our handler (set up above), not its own.
            log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
            timeout_graceful_shutdown=5,
            # A larger /v1/realtime client frame is refused by the protocol layer: code 1009.
            ws_max_size=settings.realtime.max_frame_bytes,
        )
        _Server(config, on_ready).run(sockets=[listening])
        return 0

    exporter = None
    if settings.metrics_port is not None:
        # A thread of prometheus-client's own, for scrapers that hold no API key (a port the
        # operator firewalls). It serves this app's registry only, and nothing else.
        try:
            exporter, _ = start_http_server(
                settings.metrics_port, addr=settings.host, registry=metrics.registry
            )
        except OSError as exc:
            sock.close()
            sys.exit(
                f"antiphon: cannot serve metrics on {settings.host}:{settings.metrics_port}: "
                f"{exc.strerror}"
            )
    try:
        if settings.workers > 1:
            sys.exit(supervise(settings.workers, sock, url, READY_PREFIX, run_one))
        run_one(sock, lambda: print(f"{READY_PREFIX}{url}", flush=True))
    finally:
        sock.close()  # also when the lifespan fails and uvicorn exits (SystemExit)
        if exporter is not None:
            exporter.shutdown()


def _raise_open_files_limit() -> None:
    """Lift the soft limit on open files to the hard one.

    Each stream holds two sockets (its client's and its upstream's), and many systems start
    processes at a soft limit of 1024: a few hundred streams would fail with "too many open
    files" long before the machine is busy. Raising the soft limit up to the hard one needs no
    privilege; the hard limit stays the operator's.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _log_to_stderr(log_level: str, log_format: str = "text") -> None:
    """Show antiphon's own log records (``antiphon.*``) at ``log_level`` on stderr.

    uvicorn configures only its own loggers; without a handler here, Python would drop our
    info records (the discovered models, for one) whatever ``--log-level`` says. In ``json``
    format uvicorn's records (``uvicorn.*``) go through the same handler, so every line on
    stderr is one JSON object.
    """
    handler = logging.StreamHandler()
    level = LOG_LEVELS.get(log_level.lower(), logging.WARNING)
    names = ["antiphon"]
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        names.append("uvicorn")
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s:  %(name)s: %(message)s"))
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
        logger.propagate = name == "antiphon"
