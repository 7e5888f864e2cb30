"""``antiphon check``: judge any Responses or Realtime server by antiphon's protocol rules.

Registered on the main command by :mod:`antiphon.cli`. Only parsing and printing live here; the
battery is :mod:`antiphon.check`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import typer
from rich.console import Console

from antiphon.check.outcome import CheckResult
from antiphon.check.report import exit_status, render_json, render_table
from antiphon.check.runner import run_realtime_checks, run_responses_checks

__all__ = ["check_app", "register"]

check_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Check that a server speaks the Responses or Realtime protocol correctly: a battery of "
    "requests, every event held to the official openai types and the stream grammar. The exit "
    "status is 1 when a check failed (a feature the server refuses with a clear error is 'not "
    "supported', not a failure).",
    short_help="Check a Responses or Realtime server.",
)

_URL = typer.Argument(metavar="URL", help="Base URL of the server, e.g. http://127.0.0.1:8000/v1.")
_MODEL = typer.Option("--model", metavar="NAME", help="The model to ask.")
_KEY = typer.Option("--api-key", metavar="KEY", help="Bearer key sent to the server.")
_JSON = typer.Option("--json", help="Print the report as JSON instead of a table.")
_ONLY = typer.Option("--only", metavar="CHECK", help="Run only this check (repeatable).")
_SECONDS = typer.Option("--timeout", metavar="SECONDS", help="Time each check may take.")


@check_app.command(
    "responses",
    help="Run the Responses battery: plain and streamed text, the stream helper's final "
    "response against GET, a function call answered, previous_response_id, instructions, "
    "max_output_tokens, Structured Outputs, background + cancel + resume, store: false, a bad "
    "field (must be a 400 naming it), and an MCP call with --mcp-label.",
    epilog="Example:\n\n\b\n"
    "  antiphon check responses http://127.0.0.1:8000/v1 --model gpt-oss-20b",
)
def responses(
    url: Annotated[str, _URL],
    model: Annotated[str, _MODEL],
    api_key: Annotated[str | None, _KEY] = None,
    mcp_label: Annotated[
        str | None,
        typer.Option(metavar="LABEL", help="An MCP server the server knows by this label."),
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
    only: Annotated[list[str] | None, _ONLY] = None,
    seconds: Annotated[float, _SECONDS] = 120.0,
) -> None:
    """Run ``antiphon check responses``."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def run() -> list[CheckResult]:
        base = url.rstrip("/") + "/"
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=seconds) as http:
            return await run_responses_checks(
                http, model, mcp_label=mcp_label, only=only, seconds=seconds
            )

    _report(asyncio.run(run()), as_json, "responses", url, model)


@check_app.command(
    "realtime",
    help="Run the Realtime battery over /v1/realtime (text modality): the session lifecycle, "
    "a text turn, a function call answered, response.create while a response is active, "
    "malformed events, and response.cancel. Every server event is held to the official types "
    "and the event rules.",
    epilog="Example:\n\n\b\n"
    "  antiphon check realtime http://127.0.0.1:8000/v1 --model gpt-realtime",
)
def realtime(
    url: Annotated[str, _URL],
    model: Annotated[str, _MODEL],
    api_key: Annotated[str | None, _KEY] = None,
    as_json: Annotated[bool, _JSON] = False,
    only: Annotated[list[str] | None, _ONLY] = None,
    seconds: Annotated[float, _SECONDS] = 120.0,
) -> None:
    """Run ``antiphon check realtime``."""
    results = asyncio.run(
        run_realtime_checks(url, model, api_key=api_key, only=only, seconds=seconds)
    )
    _report(results, as_json, "realtime", url, model)


def _report(results: list[CheckResult], as_json: bool, api: str, url: str, model: str) -> None:
    """Print the table (or JSON) and exit with the battery's status."""
    if as_json:
        typer.echo(render_json(results, target=url, model=model))
    else:
        render_table(results, Console(), title=f"antiphon check {api} {url} --model {model}")
    raise typer.Exit(exit_status(results))


def register(app: typer.Typer) -> None:
    """Add ``antiphon check`` to the ``antiphon`` command."""
    app.add_typer(check_app, name="check")
