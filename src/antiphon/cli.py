"""The ``antiphon`` command: ``serve`` the APIs, or run the offline ``demo``.

Help texts are written for the terminal (plain sentences, an example per command), not taken
from docstrings. Flags are only parsed here: every option defaults to ``None`` ("not given"),
and :func:`~antiphon.server.settings.resolve_settings` merges them over the environment, the
config file and the defaults, in that order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from antiphon.cli_store import register_store_commands
from antiphon.exceptions import ConfigurationError
from antiphon.server.engines import route_script
from antiphon.server.settings import ServeOptions, resolve_settings
from antiphon.tools.mcp import parse_mcp_server

__all__ = ["app", "main"]

# Plain click help, not rich: rich's option table cuts long words (URLs, variable names) at
# the column's edge on an 80-column terminal. A "\b" paragraph keeps its line breaks.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Serve OpenAI's Responses API over an open-model server, or run an offline demo.",
    epilog="Examples:\n\n"
    "\b\n"
    "  antiphon serve --upstream-url http://127.0.0.1:8000/v1\n"
    "  antiphon demo\n\n"
    "Run antiphon COMMAND --help for the options of a command.",
)

_SERVE_HELP = (
    "Serve the Responses API (POST /v1/responses and the routes around it) over an "
    "OpenAI-compatible model server such as vLLM, SGLang, llama.cpp or Ollama.\n\n"
    "Without --model, every model the upstream lists at GET /v1/models is served under its own "
    "name; the list is read at start-up and again when a client asks for a model not listed "
    "yet. Settings are taken from, in rising order: built-in defaults, the config file, the "
    "ANTIPHON_* environment variables, and these flags."
)

_SERVE_EPILOG = (
    "Examples:\n\n"
    "\b\n"
    "  # every model of a vLLM server, under the names vLLM gives them\n"
    "  antiphon serve --upstream-url http://127.0.0.1:8000/v1\n\n"
    "\b\n"
    "  # one gpt-oss model, renamed, through antiphon's harmony renderer\n"
    "  antiphon serve --upstream-url http://127.0.0.1:8000/v1 --upstream-api harmony \\\n"
    "      --model gpt-oss-20b --upstream-model openai/gpt-oss-20b\n\n"
    "\b\n"
    "  # the models of a config file, on another port\n"
    "  antiphon serve --config antiphon.toml --port 8080"
)


@app.command(
    help=_SERVE_HELP,
    short_help="Serve the Responses API over a model server.",
    epilog=_SERVE_EPILOG,
)
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="HOST", help="Address to bind; default 127.0.0.1. Env: ANTIPHON_HOST."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Port to listen on, 0 for any free one; default 8000. Env: ANTIPHON_PORT.",
        ),
    ] = None,
    upstream_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Base URL of the model server, for example http://127.0.0.1:8000/v1. "
            "Env: ANTIPHON_UPSTREAM_URL.",
        ),
    ] = None,
    upstream_api: Annotated[
        str | None,
        typer.Option(
            metavar="API",
            help="How to talk to it: chat, harmony or scripted; default chat. "
            "Env: ANTIPHON_UPSTREAM_API.",
        ),
    ] = None,
    upstream_api_key: Annotated[
        str | None,
        typer.Option(
            metavar="KEY", help="Key sent to the model server. Env: ANTIPHON_UPSTREAM_API_KEY."
        ),
    ] = None,
    upstream_stream: Annotated[
        bool | None,
        typer.Option(
            "--upstream-stream/--no-upstream-stream",
            help="Ask a chat model server for streamed answers (the default). "
            "--no-upstream-stream asks for whole answers, for servers that cannot stream tool "
            "calls (llama-cpp-python with a function-calling chat format); clients are still "
            "streamed to. Env: ANTIPHON_UPSTREAM_STREAM.",
        ),
    ] = None,
    upstream_connect_timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long opening a connection to the model server may take; default 10. "
            "Env: ANTIPHON_UPSTREAM_CONNECT_TIMEOUT.",
        ),
    ] = None,
    upstream_stall_timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long the model server may send nothing (the read timeout); default 120. "
            "Env: ANTIPHON_UPSTREAM_STALL_TIMEOUT.",
        ),
    ] = None,
    upstream_deadline_seconds: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long one call to the model server may take in all, however steadily it "
            "sends, 0 for no limit; default 600. Env: ANTIPHON_UPSTREAM_DEADLINE_SECONDS.",
        ),
    ] = None,
    upstream_max_connections: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Requests open at once to each model server; more wait for a free connection. "
            "Default 1000. Env: ANTIPHON_UPSTREAM_MAX_CONNECTIONS.",
        ),
    ] = None,
    upstream_pool_timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long a request waits for a free connection when all are busy, then fails; "
            "default 30. Env: ANTIPHON_UPSTREAM_POOL_TIMEOUT.",
        ),
    ] = None,
    response_deadline_seconds: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long one response may take in all, every model turn and tool call "
            "included, 0 for no limit; default 1800. Env: ANTIPHON_RESPONSE_DEADLINE_SECONDS.",
        ),
    ] = None,
    realtime_max_frame_bytes: Annotated[
        int | None,
        typer.Option(
            metavar="BYTES",
            help="Largest client frame on /v1/realtime; a larger one closes the connection "
            "with code 1009. Default 4194304 (4 MiB). Env: ANTIPHON_REALTIME_MAX_FRAME_BYTES.",
        ),
    ] = None,
    realtime_session_seconds: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long one /v1/realtime session may last, then an error event "
            "session_expired and a close; 0 for no limit; default 3600. "
            "Env: ANTIPHON_REALTIME_SESSION_SECONDS.",
        ),
    ] = None,
    realtime_idle_seconds: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="How long a /v1/realtime client may send nothing while no response runs, then "
            "an error event idle_timeout and a close; 0 for no limit; default 600. "
            "Env: ANTIPHON_REALTIME_IDLE_SECONDS.",
        ),
    ] = None,
    realtime_max_sessions: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="/v1/realtime sessions open at once in this process; one more gets an error "
            "event session_limit_reached and a close with code 1013. Default 100. "
            "Env: ANTIPHON_REALTIME_MAX_SESSIONS.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Serve one model under this name instead of the upstream's own names. "
            "Env: ANTIPHON_MODEL.",
        ),
    ] = None,
    upstream_model: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="The upstream's name for that model; default the --model name. "
            "Env: ANTIPHON_UPSTREAM_MODEL.",
        ),
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Script file for --upstream-api scripted. Env: ANTIPHON_SCRIPT."
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            metavar="STORE",
            help="Where responses are kept: a SQLite path, sqlite:///PATH, memory, or "
            "postgresql://USER@HOST/DB (shared by many workers); default a file in your data "
            "directory. Env: ANTIPHON_STORE.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Worker processes sharing the port; more than 1 needs a PostgreSQL --store. "
            "Default 1. Env: ANTIPHON_WORKERS.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            metavar="KEY",
            help="Require this key as a Bearer token on every request. Env: ANTIPHON_API_KEY.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="TOML config file: several models, MCP servers, limits. Env: ANTIPHON_CONFIG.",
        ),
    ] = None,
    mcp_server: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SPEC",
            help="An MCP server requests may use, as LABEL=URL, LABEL=sse:URL or "
            "LABEL=stdio:COMMAND ARGS; repeat for more. Env: ANTIPHON_MCP_SERVER, one per line.",
        ),
    ] = None,
    speech: Annotated[
        bool | None,
        typer.Option(
            "--speech/--no-speech",
            help="Voice on /v1/realtime (speech in and out); default on when the speech extra "
            "is installed or --stt-url/--tts-url are given. Env: ANTIPHON_SPEECH.",
        ),
    ] = None,
    stt_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="An OpenAI-compatible speech-to-text server (POST URL/audio/transcriptions, "
            "e.g. vLLM serving Whisper) instead of the local PocketSphinx. Env: ANTIPHON_STT_URL.",
        ),
    ] = None,
    tts_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="An OpenAI-compatible text-to-speech server (POST URL/audio/speech) instead of "
            "the local eSpeak NG. Env: ANTIPHON_TTS_URL.",
        ),
    ] = None,
    code_interpreter: Annotated[
        bool | None,
        typer.Option(
            "--code-interpreter/--no-code-interpreter",
            help="Offer the sandboxed code interpreter tool; default on. "
            "Env: ANTIPHON_CODE_INTERPRETER.",
        ),
    ] = None,
    code_interpreter_require: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LAYER",
            help="Refuse to start unless this code interpreter sandbox layer is active on this "
            "host (seccomp, landlock_filesystem, unprivileged_uid, scratch_tmpfs, ...; an "
            "unknown name lists them all); repeat for more. "
            "Env: ANTIPHON_CODE_INTERPRETER_REQUIRE, comma-separated.",
        ),
    ] = None,
    keepalive_seconds: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Seconds between keep-alive comments on a quiet event stream, 0 for none; "
            "default 15. Env: ANTIPHON_KEEPALIVE_SECONDS.",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            metavar="LEVEL",
            help="critical, error, warning, info, debug or trace; default warning. "
            "Env: ANTIPHON_LOG_LEVEL.",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            metavar="FORMAT",
            help="text, or json: one JSON object per line with request_id, response_id and "
            "session_id; default text. Env: ANTIPHON_LOG_FORMAT.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Also serve GET /metrics (Prometheus) on this port, on the same address, "
            "without the API key; /metrics on the main port always needs it. "
            "Env: ANTIPHON_METRICS_PORT.",
        ),
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ORIGIN",
            help="A browser origin (https://app.example) whose pages may call this server, "
            "besides its own; * for any; repeat for more. Requests from other origins get 403. "
            "Env: ANTIPHON_ALLOW_ORIGIN, comma-separated.",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            metavar="BYTES",
            help="Largest request body accepted (413 above it); default 16777216 (16 MiB). "
            "Env: ANTIPHON_MAX_BODY_BYTES.",
        ),
    ] = None,
    allow_private_media_urls: Annotated[
        bool | None,
        typer.Option(
            "--allow-private-media-urls/--no-allow-private-media-urls",
            help="Let input_image URLs name loopback, private and link-local addresses "
            "(refused by default: the upstream would fetch them). "
            "Env: ANTIPHON_ALLOW_PRIVATE_MEDIA_URLS.",
        ),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            metavar="CASSETTE",
            help="Serve a cassette written by antiphon record instead of models: each request "
            "gets its recorded answer; one that departs from the recording gets a 400 naming "
            "the first difference.",
        ),
    ] = None,
    replay_timing: Annotated[
        str,
        typer.Option(metavar="TIMING", help="original (the recorded pace) or fast."),
    ] = "fast",
) -> None:
    """Serve the Responses API over an upstream model server (``antiphon serve``)."""
    from antiphon.server.run import serve as run_server

    if replay is not None:
        from antiphon.cli_record import serve_replay

        serve_replay(replay, replay_timing, host or "127.0.0.1", 8000 if port is None else port)
        return
    try:
        flags = ServeOptions(
            host=host,
            port=port,
            store=store,
            workers=workers,
            api_key=api_key,
            code_interpreter=code_interpreter,
            speech=speech,
            stt_url=stt_url,
            tts_url=tts_url,
            code_interpreter_require=None
            if code_interpreter_require is None
            else tuple(code_interpreter_require),
            keepalive_seconds=keepalive_seconds,
            log_level=None if log_level is None else log_level.lower(),
            log_format=None if log_format is None else log_format.lower(),
            metrics_port=metrics_port,
            upstream_url=upstream_url,
            upstream_api=upstream_api,
            upstream_api_key=upstream_api_key,
            upstream_stream=upstream_stream,
            model=model,
            upstream_model=upstream_model,
            script=script,
            mcp_servers=None
            if mcp_server is None
            else tuple(parse_mcp_server(spec) for spec in mcp_server),
            config=config,
            allow_origins=None if allow_origin is None else tuple(allow_origin),
            max_body_bytes=max_body_bytes,
            allow_private_media_urls=allow_private_media_urls,
            upstream_connect_timeout=upstream_connect_timeout,
            upstream_stall_timeout=upstream_stall_timeout,
            upstream_deadline_seconds=upstream_deadline_seconds,
            upstream_max_connections=upstream_max_connections,
            upstream_pool_timeout=upstream_pool_timeout,
            response_deadline_seconds=response_deadline_seconds,
            realtime_max_frame_bytes=realtime_max_frame_bytes,
            realtime_session_seconds=realtime_session_seconds,
            realtime_idle_seconds=realtime_idle_seconds,
            realtime_max_sessions=realtime_max_sessions,
        )
        settings = resolve_settings(flags, os.environ)
        for route in settings.models:
            if route.script is not None:
                route_script(route)  # a bad script is a clear error now, not at start-up
    except ConfigurationError as exc:
        typer.echo(f"antiphon serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    run_server(settings)


@app.command(
    help="Run an offline demo: a scripted gpt-oss model served by antiphon, streamed through "
    "the official openai client and antiphon's realtime agents SDK and shown live. Needs no "
    "model server and no network.",
    short_help="Run the offline demo.",
    epilog="Example:\n\n\b\n  antiphon demo",
)
def demo() -> None:
    """Run the offline demo (``antiphon demo``)."""
    from antiphon.demo.run import run_demo

    raise typer.Exit(run_demo())


def _register_commands() -> None:
    # `check` and `record` live in their own modules; they add themselves to the command.
    from antiphon.cli_check import register as register_check
    from antiphon.cli_record import register as register_record

    register_check(app)
    register_record(app)


_register_commands()
register_store_commands(app)


def main() -> None:
    """Entry point of the ``antiphon`` script."""
    app()
