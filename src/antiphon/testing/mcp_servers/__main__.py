"""Run the MCP test server: ``python -m antiphon.testing.mcp_servers --transport http|sse|stdio``.

Over HTTP and SSE it binds (``--port 0`` picks a free port), then prints its endpoint URL on one
line once the socket listens: readiness is signalled, never slept on. Over stdio it speaks MCP on
its standard streams until its input closes.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn

from antiphon.testing.mcp_servers._server import build_server


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve on the chosen transport."""
    parser = argparse.ArgumentParser(prog="python -m antiphon.testing.mcp_servers")
    parser.add_argument("--transport", choices=("http", "sse", "stdio"), default="http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = build_server()
    if args.transport == "stdio":
        server.run("stdio")
        return
    if args.transport == "http":
        app, path = server.streamable_http_app(host=args.host), "/mcp"
    else:
        app, path = server.sse_app(host=args.host), "/sse"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections queue from now on, so announcing the URL here is safe
    host, port = sock.getsockname()[:2]
    print(f"http://{host}:{port}{path}", flush=True)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
