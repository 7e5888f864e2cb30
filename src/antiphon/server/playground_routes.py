"""The playground's routes: ``/``, ``/playground``, its assets and ``/playground/capabilities``.

``/`` is a page of links; ``capabilities`` is what the page asks the server (its MCP labels).

The page is plain HTML, JavaScript modules and CSS shipped in ``server/playground/`` (no build
step, nothing fetched from another origin). It is same-origin with the API, so the
:class:`~antiphon.server.guard.RequestGuard` lets its requests through without ``--allow-origin``.
The page and its assets are open (a navigation cannot carry a Bearer header, and they hold no
data); ``capabilities`` and every API call need the key, which the user types into the page and
the page keeps in ``sessionStorage`` only. A Content-Security-Policy confines the page to its own
origin: scripts, styles and connections (``fetch`` and the ``/v1/realtime`` WebSocket) included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from antiphon._version import __version__
from antiphon.responses.runtime import ToolRuntime

__all__ = ["ASSETS", "playground_routes"]

#: Where the page's files are, inside the installed package.
ASSETS: Final = Path(__file__).resolve().parent / "playground"

_HOME = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>antiphon</title></head>
<body>
<h1>antiphon {__version__}</h1>
<ul>
<li><a href="/playground">Playground</a>: compose responses, watch every event, replay stored
responses, talk to <code>/v1/realtime</code></li>
<li><a href="/docs">API reference</a> (<a href="/openapi.json">OpenAPI</a>)</li>
<li><a href="/health">Health</a></li>
</ul>
</body></html>
"""


def _policy(request: Request) -> str:
    # 'self' covers ws: on the same host in current browsers; the explicit origins are for the
    # ones that read CSP level 2 strictly.
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if host else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; media-src 'self' blob:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


async def home(request: Request) -> Response:
    """``GET /``: what this server offers, with a link to the playground."""
    return HTMLResponse(_HOME, headers={"Content-Security-Policy": "default-src 'none'"})


async def page(request: Request) -> Response:
    """``GET /playground``: the page itself."""
    headers = {
        "Content-Security-Policy": _policy(request),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return FileResponse(ASSETS / "index.html", media_type="text/html", headers=headers)


async def capabilities(request: Request) -> Response:
    """``GET /playground/capabilities``: the operator's MCP labels, code interpreter, voice.

    Labels and transports only: an MCP server's URL, command or headers may hold secrets.
    """
    runtime: ToolRuntime = request.app.state.tool_runtime
    servers = [
        {"server_label": label, "transport": config.transport}
        for label, config in sorted(runtime.mcp_servers.items())
    ]
    return JSONResponse(
        {
            "mcp_servers": servers,
            "code_interpreter": runtime.code is not None,
            "speech": request.app.state.speech is not None,
            "version": __version__,
        }
    )


def playground_routes() -> list[Route | Mount]:
    """The routes above, to add to the app."""
    return [
        Route("/", home, methods=["GET"]),
        Route("/playground", page, methods=["GET"]),
        Route("/playground/capabilities", capabilities, methods=["GET"]),
        Mount("/playground/assets", StaticFiles(directory=ASSETS), name="playground"),
    ]
