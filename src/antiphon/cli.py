"""The ``antiphon`` command: ``serve`` the APIs, or run the offline ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from antiphon.engines.scripted import load_script
from antiphon.exceptions import ConfigurationError
from antiphon.server.settings import (
    ConfigFile,
    ModelRoute,
    ServerSettings,
    UpstreamApi,
    load_config_file,
)
from antiphon.tools.mcp import parse_mcp_server

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(envvar="ANTIPHON_HOST", help="Address to bind.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="ANTIPHON_PORT", help="Port (0: any free).")] = 8000,
    upstream_url: Annotated[
        str | None,
        typer.Option(envvar="ANTIPHON_UPSTREAM_URL", help="e.g. http://127.0.0.1:8000/v1"),
    ] = None,
    upstream_api: Annotated[
        str, typer.Option(envvar="ANTIPHON_UPSTREAM_API", help="chat | harmony | scripted")
    ] = "chat",
    upstream_api_key: Annotated[
        str | None, typer.Option(envvar="ANTIPHON_UPSTREAM_API_KEY")
    ] = None,
    model: Annotated[
        str | None, typer.Option(envvar="ANTIPHON_MODEL", help="Model name clients use.")
    ] = None,
    upstream_model: Annotated[
        str | None,
        typer.Option(
            envvar="ANTIPHON_UPSTREAM_MODEL", help="Name at the upstream (default: --model)."
        ),
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(envvar="ANTIPHON_SCRIPT", help="Script for --upstream-api scripted."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(envvar="ANTIPHON_STORE", help="SQLite path, sqlite:///PATH, or memory."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="ANTIPHON_API_KEY", help="Require Bearer KEY on requests.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(envvar="ANTIPHON_CONFIG", help="TOML config file.")
    ] = None,
    mcp_server: Annotated[
        list[str] | None,
        typer.Option(
            envvar="ANTIPHON_MCP_SERVER",
            help="LABEL=URL, LABEL=sse:URL or LABEL=stdio:COMMAND ARGS (repeatable): the only "
            "MCP servers requests may use.",
        ),
    ] = None,
    code_interpreter: Annotated[
        bool | None,
        typer.Option(
            "--code-interpreter/--no-code-interpreter",
            envvar="ANTIPHON_CODE_INTERPRETER",
            help="Offer the sandboxed code interpreter tool (default: on).",
        ),
    ] = None,
    keepalive_seconds: Annotated[
        float | None,
        typer.Option(envvar="ANTIPHON_KEEPALIVE_SECONDS", help="SSE keep-alive interval."),
    ] = None,
    log_level: Annotated[str, typer.Option(envvar="ANTIPHON_LOG_LEVEL")] = "warning",
) -> None:
    """Serve POST /v1/responses (and friends) over an upstream model server."""
    from antiphon.server.run import serve as run_server

    try:
        loaded = load_config_file(config) if config else ConfigFile({}, [], [])
        file_server, routes = loaded.server, loaded.models
        mcp_servers = [*loaded.mcp_servers, *(parse_mcp_server(s) for s in mcp_server or ())]
        if upstream_url or script:
            routes.append(
                ModelRoute(
                    name=model or upstream_model or "default",
                    api=_api(upstream_api),
                    upstream_url=upstream_url,
                    upstream_api_key=upstream_api_key,
                    upstream_model=upstream_model,
                    script=script,
                )
            )
        settings = ServerSettings(
            models=tuple(routes),
            host=host if host != "127.0.0.1" else str(file_server.get("host", host)),
            port=port if port != 8000 else int(str(file_server.get("port", port))),
            store=store or _opt(file_server.get("store")),
            api_key=api_key or _opt(file_server.get("api_key")),
            mcp_servers=tuple(mcp_servers),
            code_interpreter=code_interpreter
            if code_interpreter is not None
            else bool(file_server.get("code_interpreter", True)),
            sandbox_limits=loaded.sandbox_limits,
            store_limits=loaded.store_limits,
            keepalive_seconds=keepalive_seconds
            or float(str(file_server.get("keepalive_seconds", 15.0))),
            max_tool_loops=int(str(file_server.get("max_tool_loops", 16))),
        )
        for route in settings.models:
            if route.script is not None:
                load_script(route.script)  # a bad script is a clear error now, not at start-up
    except ConfigurationError as exc:
        typer.echo(f"antiphon serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    run_server(settings, log_level=log_level)


@app.command()
def demo() -> None:
    """Offline demo: serve a scripted gpt-oss turn and stream it through the openai client."""
    from antiphon.demo.run import run_demo

    raise typer.Exit(run_demo())


def _api(value: str) -> UpstreamApi:
    if value not in ("chat", "harmony", "scripted"):
        raise ConfigurationError(f"--upstream-api must be chat, harmony or scripted, not {value!r}")
    return value


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def main() -> None:
    """Entry point of the ``antiphon`` script."""
    app()
