"""Run the stand-in upstream: ``python -m antiphon.testing.upstream --port 0``.

Prints the bound port on stdout (one line) once the socket listens, then serves until killed.
Tests start it as a subprocess and read that line: readiness is signalled, never slept on.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn

from antiphon.testing.upstream._app import CUT_LOG_MESSAGE, build_app


class _HideDeliberateCuts(logging.Filter):
    """uvicorn reports a stream cut on purpose as an error; for the stand-in it is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != CUT_LOG_MESSAGE


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, bind, announce the port, serve."""
    parser = argparse.ArgumentParser(prog="python -m antiphon.testing.upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections queue from now on, so announcing the port here is safe
    config = uvicorn.Config(
        build_app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    logging.getLogger("uvicorn.error").addFilter(_HideDeliberateCuts())
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
