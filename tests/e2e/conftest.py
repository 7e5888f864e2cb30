"""Fixtures of the end-to-end suite: one stand-in upstream and one ``antiphon serve`` per module.

The server's config routes a pool of model names to the stand-in's chat and completions
endpoints (each test takes fresh names from :class:`ModelPool`, so scripts and recorded requests
never mix), plus fault routes (a refused port, a short stall timeout) and scripted-engine
models. Its store is a SQLite file in the module's temporary directory.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from antiphon.testing.mcp_servers import McpServerProcess, stdio_command
from antiphon.testing.upstream import UpstreamControl, UpstreamProcess
from tests.e2e.support import (
    ServerProcess,
    StreamRecorder,
    TomlValue,
    make_client,
    write_config,
)
from tests.grammar_items import JSON

POOL_SIZE = 12
STALL_TIMEOUT = 0.5
WEATHER_SCRIPT = {
    "chunking": {"mode": "random", "seed": 3},
    "turns": [
        {
            "repeat": True,
            "when": {"last_item_type": "message"},
            "harmony": "<|channel|>analysis<|message|>Call the weather tool.<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.get_weather "
            '<|constrain|>json<|message|>{"city": "Paris"}<|call|>',
            "usage": {"input_tokens": 40, "output_tokens": 12, "reasoning_tokens": 5},
        },
        {
            "repeat": True,
            "when": {"last_item_type": "function_call_output"},
            "items": [
                {"kind": "reasoning", "text": "The tool answered; say it."},
                {"kind": "message", "text": "It is sunny in Paris."},
            ],
            "usage": {"input_tokens": 60, "output_tokens": 9},
        },
    ],
}
TEXT_SCRIPT = {
    "turns": [
        {
            "repeat": True,
            "harmony": "<|channel|>analysis<|message|>A greeting.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Hello from the script!<|return|>",
            "usage": {"input_tokens": 10, "output_tokens": 8},
        }
    ]
}
STALL_SCRIPT = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "message", "text": "Wait for it"}],
            "fail": {"kind": "stall", "after_events": 2},
        }
    ]
}


@dataclass
class ModelPool:
    """Hands out model names routed to the stand-in, each to one test only."""

    chat: list[str] = field(default_factory=lambda: [f"chat-{i}" for i in range(POOL_SIZE)])
    harmony: list[str] = field(default_factory=lambda: [f"harmony-{i}" for i in range(POOL_SIZE)])

    @classmethod
    def of(cls, size: int) -> ModelPool:
        """A pool of ``size`` chat and ``size`` harmony names."""
        return cls([f"chat-{i}" for i in range(size)], [f"harmony-{i}" for i in range(size)])

    def routes(self, upstream_url: str) -> list[dict[str, str | float]]:
        """The ``[[models]]`` entries routing every name of the pool to the stand-in."""
        return [_route(name, "chat", upstream_url) for name in self.chat] + [
            _route(name, "harmony", upstream_url) for name in self.harmony
        ]

    def take_chat(self) -> str:
        """A chat-routed model name no other test of the module uses."""
        return self.chat.pop(0)

    def take_harmony(self) -> str:
        """A harmony-routed model name no other test of the module uses."""
        return self.harmony.pop(0)


def _refused_url() -> str:
    # A port that was free a moment ago and has no listener: connecting to it is refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}/v1"


def _route(name: str, api: str, url: str) -> dict[str, str | float]:
    return {"name": name, "upstream_api": api, "upstream_url": url}


def server_config(directory: Path, upstream_url: str) -> Path:
    """The config file of the suite's server (scripts are written next to it)."""
    for name, script in (
        ("weather.json", WEATHER_SCRIPT),
        ("text.json", TEXT_SCRIPT),
        ("stall.json", STALL_SCRIPT),
    ):
        (directory / name).write_text(json.dumps(script), encoding="utf-8")
    models = ModelPool().routes(upstream_url)
    extra: list[dict[str, str | float]] = [
        {
            "name": "chat-stall",
            "upstream_api": "chat",
            "upstream_url": upstream_url,
            "stall_timeout": STALL_TIMEOUT,
        },
        {"name": "chat-refused", "upstream_api": "chat", "upstream_url": _refused_url()},
        {"name": "scripted-weather", "upstream_api": "scripted", "script": "weather.json"},
        {"name": "scripted-text", "upstream_api": "scripted", "script": "text.json"},
        {"name": "scripted-stall", "upstream_api": "scripted", "script": "stall.json"},
    ]
    return write_config(directory / "antiphon.toml", [*models, *extra])


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamProcess]:
    with UpstreamProcess() as process:
        yield process


@pytest.fixture(scope="module")
def server(
    upstream: UpstreamProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("server")
    config = server_config(directory, upstream.base_url)
    store = directory / "responses.sqlite3"
    with ServerProcess(["--config", str(config), "--store", str(store)]) as process:
        yield process


@pytest.fixture(scope="module")
def pool() -> ModelPool:
    return ModelPool()


@pytest.fixture
def recorder() -> StreamRecorder:
    return StreamRecorder()


@pytest.fixture
async def client(server: ServerProcess, recorder: StreamRecorder) -> AsyncIterator[AsyncOpenAI]:
    async with make_client(server.url, recorder) as openai_client:
        yield openai_client


@pytest.fixture
async def control(upstream: UpstreamProcess) -> AsyncIterator[UpstreamControl]:
    async with upstream.control() as standin:
        yield standin


# -- server-side tools: a server with MCP servers configured ------------------------------------

TOOLS_POOL_SIZE = 32
#: The per-server timeout of the ``slow`` MCP server (its ``wait_forever`` always runs into it).
SLOW_TIMEOUT = 1.0


def mcp_script(recipient: str, arguments: str, answer_when: str, answer: str) -> JSON:
    """A scripted model that calls MCP tool ``recipient``, then answers once the result holds
    ``answer_when`` (no turn matches otherwise: the answer depends on the real result)."""
    return {
        "chunking": {"mode": "random", "seed": 5},
        "turns": [
            {
                "repeat": True,
                "when": {"last_item_type": "message"},
                "harmony": "<|channel|>analysis<|message|>Ask the MCP tool.<|end|>"
                f"<|start|>assistant<|channel|>commentary to={recipient} "
                f"<|constrain|>json<|message|>{arguments}<|call|>",
            },
            {
                "repeat": True,
                "when": {"last_item_type": "mcp_call", "last_text_contains": answer_when},
                "items": [
                    {"kind": "reasoning", "text": "The tool answered; say it."},
                    {"kind": "message", "text": answer},
                ],
            },
        ],
    }


#: A model that never stops calling ``weather.add``: only the turn cap ends its response.
LOOP_SCRIPT: JSON = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "tool_call", "name": "weather.add", "text": '{"a": 1, "b": 1}'}],
        }
    ]
}


@dataclass(frozen=True)
class ToolsServer:
    """``antiphon serve`` with MCP servers configured, and where its state and logs go."""

    process: ServerProcess
    store: Path
    stderr: Path


def _stdio(timeout: float) -> dict[str, TomlValue]:
    command, args = stdio_command()
    return {"command": command, "args": args, "timeout": timeout}


def tools_config(directory: Path, upstream_url: str, mcp_url: str, slow_url: str) -> Path:
    """Config of the tools server: the stand-in pool, scripted MCP models, five MCP servers.

    ``weather`` (Streamable HTTP) and ``local`` (stdio) are healthy; ``slow`` (a second HTTP
    server: a stdio one may take longer than the timeout to start) times out after
    :data:`SLOW_TIMEOUT`; ``down`` refuses connections; ``broken`` is an HTTP endpoint that
    is no MCP server (the stand-in answers 404), so listing it fails.
    """
    scripts = {
        "mcp-http.json": mcp_script(
            "weather.get_forecast", '{"city": "Paris"}', "sunny", "Sunny in Paris."
        ),
        "mcp-stdio.json": mcp_script("local.add", '{"a": 20, "b": 22}', "42", "The sum is 42."),
        "mcp-loop.json": LOOP_SCRIPT,
    }
    for name, script in scripts.items():
        (directory / name).write_text(json.dumps(script), encoding="utf-8")
    models = ModelPool.of(TOOLS_POOL_SIZE).routes(upstream_url)
    models += [
        {"name": "scripted-mcp-http", "upstream_api": "scripted", "script": "mcp-http.json"},
        {"name": "scripted-mcp-stdio", "upstream_api": "scripted", "script": "mcp-stdio.json"},
        {"name": "scripted-mcp-loop", "upstream_api": "scripted", "script": "mcp-loop.json"},
    ]
    servers: dict[str, dict[str, TomlValue]] = {
        "weather": {"url": mcp_url, "timeout": 10.0},
        "local": _stdio(10.0),
        "slow": {"url": slow_url, "timeout": SLOW_TIMEOUT},
        "down": {"url": _refused_url().removesuffix("/v1") + "/mcp", "timeout": 5.0},
        "broken": {"url": upstream_url.removesuffix("/v1") + "/mcp", "timeout": 5.0},
    }
    return write_config(directory / "tools.toml", models, mcp_servers=servers)


@pytest.fixture(scope="module")
def mcp_http() -> Iterator[McpServerProcess]:
    with McpServerProcess("http") as process:
        yield process


@pytest.fixture(scope="module")
def mcp_slow() -> Iterator[McpServerProcess]:
    with McpServerProcess("http") as process:
        yield process


@pytest.fixture(scope="module")
def tools_server(
    upstream: UpstreamProcess,
    mcp_http: McpServerProcess,
    mcp_slow: McpServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ToolsServer]:
    directory = tmp_path_factory.mktemp("tools")
    config = tools_config(directory, upstream.base_url, mcp_http.url, mcp_slow.url)
    store, stderr = directory / "responses.sqlite3", directory / "stderr.log"
    args = ["--config", str(config), "--store", str(store), "--log-level", "debug"]
    with ServerProcess(args, stderr=stderr) as process:
        yield ToolsServer(process, store, stderr)
