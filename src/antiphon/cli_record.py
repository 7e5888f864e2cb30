"""``antiphon record`` and ``antiphon serve --replay``: parsing only, registered from cli.py.

The proxy and the replay app are :mod:`antiphon.record`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from antiphon.exceptions import ConfigurationError

__all__ = ["record", "register", "serve_replay"]


def record(
    upstream: Annotated[
        str,
        typer.Option(
            metavar="URL", help="Base URL of the server to record, e.g. http://127.0.0.1:8000/v1."
        ),
    ],
    out: Annotated[
        Path, typer.Option(metavar="CASSETTE", help="The cassette file to write (JSON lines).")
    ],
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port, 0 for any free one.")] = 8010,
) -> None:
    """Run ``antiphon record``."""
    from antiphon.record import CassetteWriter, create_record_app
    from antiphon.record.run import run_app

    with out.open("w", encoding="utf-8") as stream:
        run_app(create_record_app(upstream, CassetteWriter(stream)), host, port)


def serve_replay(cassette: Path, timing: str, host: str, port: int) -> None:
    """Serve ``cassette`` (``antiphon serve --replay``) until interrupted."""
    from antiphon.record import create_replay_app, read_cassette
    from antiphon.record.run import run_app

    if timing not in ("original", "fast"):
        typer.echo("antiphon serve: --replay-timing is original or fast", err=True)
        raise typer.Exit(2)
    try:
        exchanges = read_cassette(cassette)
    except (ConfigurationError, OSError) as exc:
        typer.echo(f"antiphon serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    run_app(
        create_replay_app(exchanges, timing="original" if timing == "original" else "fast"),
        host,
        port,
    )


def register(app: typer.Typer) -> None:
    """Add ``antiphon record`` to the ``antiphon`` command."""
    app.command(
        "record",
        help="Record a live session: a pass-through proxy in front of a Responses/Realtime "
        "server (HTTP, SSE and WebSocket) that writes every exchange, with timings and secrets "
        "redacted, to a JSON-lines cassette. Serve it back with antiphon serve --replay.",
        short_help="Record a session to a cassette.",
        epilog="Example:\n\n\b\n"
        "  antiphon record --upstream http://127.0.0.1:8000/v1 --out session.jsonl --port 8010",
    )(record)
