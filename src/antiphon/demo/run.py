"""``antiphon demo``: antiphon serve + the official openai client + a live view, offline.

It starts ``antiphon serve`` as a child process on loopback with the scripted engine playing a
gpt-oss-style turn (reasoning, a preamble, a function call), answers the call with a local
function, streams the model's final answer through ``client.responses.create(stream=True)``
with ``previous_response_id``, lets antiphon call an MCP server's tool itself, then drives the
same server's ``/v1/realtime`` with antiphon's realtime agents SDK (a handoff, then a function
tool: :mod:`antiphon.demo.realtime_step`), and finally speaks to it: a synthesised question
through server VAD and speech-to-text, a spoken answer back (:mod:`antiphon.demo.voice_step`).
Every event is shown as it arrives. Exit status 0
means every step checked out; the server is stopped in any case.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from openai import OpenAI
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseInputParam,
    ToolParam,
)
from openai.types.responses.response_output_item import McpCall
from rich.console import Console

from antiphon.demo.realtime_step import run_realtime_step
from antiphon.demo.view import StreamView
from antiphon.demo.voice_step import WAV_PATH, run_voice_step
from antiphon.server.run import READY_PREFIX
from antiphon.testing._child import ReadyChild

__all__ = ["run_demo"]

_MODEL = "gpt-oss-demo"
#: The MCP server the demo's antiphon may reach: the shipped test server, over stdio.
_MCP_SERVER = (sys.executable, "-m", "antiphon.testing.mcp_servers", "--transport", "stdio")
_TOOLS: list[ToolParam] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "strict": False,
    }
]


def get_weather(city: str) -> str:
    """The demo's function tool, run by the client as an application would."""
    return json.dumps({"city": city, "temperature_c": 18, "sky": "sunny"})


def run_demo(console: Console | None = None, *, answer_wav: Path = WAV_PATH) -> int:
    """Run the demo; the exit status. Step 5 writes its spoken answer to ``answer_wav``."""
    console = console or Console()
    script = resources.files("antiphon.demo").joinpath("weather.json")
    with (
        resources.as_file(script) as path,
        _server(path) as base_url,
        # Closed on the way out, so its pooled connection is not left for the GC to find.
        OpenAI(base_url=f"{base_url}/v1", api_key="demo", max_retries=0) as client,
    ):
        console.print(f"[bold]antiphon serve[/] is up at {base_url} (scripted gpt-oss engine)\n")
        first = _stream(client, console, "1. the user asks", input="What's the weather in Paris?")
        calls = [item for item in first.output if isinstance(item, ResponseFunctionToolCall)]
        if len(calls) != 1:
            console.print("[red]expected one function call[/]")
            return 1
        call = calls[0]
        result = get_weather(**json.loads(call.arguments))
        console.print(f"\n[bold]client[/] runs {call.name}({call.arguments}) -> {result}\n")
        second = _stream(
            client,
            console,
            "2. the client answers the call",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": result}],
        )
        stored = client.responses.retrieve(second.id)
        if second.status != "completed" or stored.output_text != second.output_text:
            console.print("[red]the stored response differs from the streamed one[/]")
            return 1
        console.print(f"\n[bold green]final answer:[/] {second.output_text}\n")
        third = _stream(
            client,
            console,
            "3. a server-side MCP tool: antiphon calls the calc server itself",
            input="What is 2 + 3?",
            tools=[{"type": "mcp", "server_label": "calc", "require_approval": "never"}],
        )
        outputs = [item.output for item in third.output if isinstance(item, McpCall)]
        if outputs != ["5"]:  # what the real MCP server computed, not what the script says
            console.print(f"[red]expected the calc server's result 5, got {outputs}[/]")
            return 1
        console.print(f"\n[bold green]final answer:[/] {third.output_text}\n")
        if not run_realtime_step(console, base_url, _MODEL):
            return 1
        console.print()
        return 0 if run_voice_step(console, base_url, _MODEL, answer_wav) else 1


def _stream(
    client: OpenAI,
    console: Console,
    title: str,
    *,
    input: str | ResponseInputParam,
    previous_response_id: str | None = None,
    tools: Sequence[ToolParam] = _TOOLS,
) -> Response:
    view = StreamView(title)
    final: Response | None = None
    # The stream is closed even when the view raises: an unread body would pin its connection.
    with (
        view.live(console),
        client.responses.create(
            model=_MODEL,
            tools=tools,
            input=input,
            previous_response_id=previous_response_id,
            stream=True,
        ) as stream,
    ):
        for event in stream:
            view.add(event)
            if event.type == "response.completed":
                final = event.response
    if final is None:
        raise SystemExit("the stream ended without response.completed")
    return final


@contextmanager
def _server(script: Path) -> Generator[str]:
    command = [
        sys.executable, "-m", "antiphon", "serve", "--port", "0", "--store", "memory",
        "--upstream-api", "scripted", "--script", str(script), "--model", _MODEL,
        "--mcp-server", f"calc=stdio:{' '.join(map(shlex.quote, _MCP_SERVER))}",
    ]  # fmt: skip
    with ReadyChild(command, name="antiphon serve") as child:
        if not child.ready_line.startswith(READY_PREFIX.strip()):
            raise SystemExit(f"antiphon serve did not start: {child.ready_line!r}")
        yield child.ready_line[len(READY_PREFIX) :].strip()
