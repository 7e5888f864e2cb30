"""MCP tools through a real ``antiphon serve``: real MCP servers over Streamable HTTP and stdio.

The model is the scripted engine or the stand-in upstream (chat and harmony); every stream is read
with the official client and checked by the grammar checks; the stand-in's recorded requests show
what the model was told after each call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TypeVar

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError
from openai.types.responses import Response, ResponseOutputItem
from openai.types.responses.response_output_item import McpCall, McpListTools
from openai.types.responses.tool_param import Mcp

from antiphon.testing.mcp_servers import McpServerProcess
from antiphon.testing.upstream import (
    UpstreamControl,
    UpstreamProcess,
    chat_chunks,
    completion_chunks,
    turn,
)
from tests.e2e.conftest import SLOW_TIMEOUT, ModelPool, ToolsServer
from tests.e2e.support import ServerProcess, StreamRecorder, checked_stream, write_config
from tests.e2e.tool_support import Api, answer_turn, call_turn, model_of, told
from tests.e2e.tool_support import mcp_tool as mcp

pytestmark = pytest.mark.e2e
_T = TypeVar("_T", bound=ResponseOutputItem)
#: The keep-alive interval the test asks of the server (seconds).
KEEPALIVE = 0.2


def _types(response: Response) -> list[str]:
    return [item.type for item in response.output]


def _one(response: Response, kind: type[_T]) -> _T:
    found = [item for item in response.output if isinstance(item, kind)]
    assert len(found) == 1, _types(response)
    return found[0]


@pytest.mark.parametrize(
    ("model", "label", "tool", "result", "answer"),
    [
        (
            "scripted-mcp-http",
            "weather",
            "get_forecast",
            {"city": "Paris", "conditions": "sunny", "temperature_c": 21},
            "Sunny in Paris.",
        ),
        ("scripted-mcp-stdio", "local", "add", 42, "The sum is 42."),
    ],
)
async def test_a_scripted_response_lists_calls_and_answers_with_the_real_result(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    model: str,
    label: str,
    tool: str,
    result: object,
    answer: str,
) -> None:
    final, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model,
            input="Use the tool.",
            tools=[{"type": "mcp", "server_label": label, "require_approval": "never"}],
        ),
    )
    assert final.status == "completed"
    assert _types(final) == ["mcp_list_tools", "reasoning", "mcp_call", "reasoning", "message"]
    listing = _one(final, McpListTools)
    assert tool in {t.name for t in listing.tools}
    call = _one(final, McpCall)
    assert (call.server_label, call.name, call.status, call.error) == (
        label,
        tool,
        "completed",
        None,
    )
    assert json.loads(call.output or "") == result
    assert final.output_text == answer


@pytest.mark.parametrize(("api", "label"), [("chat", "weather"), ("harmony", "local")])
async def test_a_stand_in_model_reads_the_real_result_and_goes_on(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
    label: str,
) -> None:
    model = model_of(pool, api)
    if api == "chat":
        last = turn(chat_chunks(reasoning=["It is 42."], content=["The sum is 42."]))
    else:
        last = turn(
            completion_chunks(
                [
                    "<|channel|>analysis<|message|>It is 42.<|end|>"
                    "<|start|>assistant<|channel|>final<|message|>The sum is 42.<|return|>"
                ]
            )
        )
    await control.script(model, [call_turn(api, f"{label}.add", '{"a": 40, "b": 2}'), last])
    final, events = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Add.", tools=[mcp(label)])
    )
    assert _types(final) == ["mcp_list_tools", "reasoning", "mcp_call", "reasoning", "message"]
    call = _one(final, McpCall)
    assert (call.status, call.output, call.server_label) == ("completed", "42", label)
    kinds = [str(e["type"]) for e in events if e.get("item_id") == call.id]
    assert kinds[0] == "response.mcp_call.in_progress"
    assert kinds[-1] == "response.mcp_call.completed"
    assert "response.mcp_call_arguments.done" in kinds
    offered, answered = await told(control, model, 0), await told(control, model, 1)
    assert (f"{label}__add" if api == "chat" else f"namespace {label}") in offered
    assert "42" in answered


async def test_every_content_block_of_a_result_is_in_the_output(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await control.script(
        model, [call_turn("chat", "weather.snapshot", "{}"), answer_turn("chat", "ok")]
    )
    final, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Go.", tools=[mcp("weather")])
    )
    output = _one(final, McpCall).output or ""
    assert "a 1x1 pixel" in output
    assert "image" in output


async def test_a_chained_response_does_not_list_a_server_again(
    client: AsyncOpenAI, recorder: StreamRecorder, control: UpstreamControl, pool: ModelPool
) -> None:
    model = pool.take_chat()
    await control.script(
        model,
        [
            answer_turn("chat", "Ready."),
            call_turn("chat", "weather.add", '{"a": 1, "b": 1}'),
            answer_turn("chat", "Two."),
        ],
    )
    first, _ = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Hi.", tools=[mcp("weather")])
    )
    assert _types(first) == ["mcp_list_tools", "message"]
    second, _ = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model, input="Add.", previous_response_id=first.id, tools=[mcp("weather")]
        ),
    )
    assert _types(second) == ["reasoning", "mcp_call", "message"]
    assert _one(second, McpCall).output == "2"
    assert "weather__add" in await told(control, model, 1)  # still offered to the model


@pytest.mark.parametrize(
    ("tool", "named"),
    [
        ({"type": "mcp", "server_label": "elsewhere"}, "elsewhere"),
        (
            {"type": "mcp", "server_label": "weather", "server_url": "http://127.0.0.1:9/mcp"},
            "server_url does not match",
        ),
    ],
)
async def test_a_server_the_operator_did_not_configure_is_a_400(
    client: AsyncOpenAI, tool: Mcp, named: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.responses.create(model="scripted-mcp-http", input="Go.", tools=[tool])
    assert caught.value.status_code == 400
    assert named in caught.value.message
    assert str(caught.value.param).startswith("tools")


async def test_an_unlisted_local_mcp_server_is_never_contacted(client: AsyncOpenAI) -> None:
    with McpServerProcess("http") as unlisted:
        tool = mcp("stranger", server_url=unlisted.url)
        with pytest.raises(BadRequestError):
            await client.responses.create(model="scripted-mcp-http", input="Go.", tools=[tool])
        stats = await unlisted.stats()
    assert (stats.list_tools, stats.calls) == (0, {})


async def test_headers_and_authorization_reach_the_server_and_nowhere_else(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    mcp_http: McpServerProcess,
    tools_server: ToolsServer,
) -> None:
    token, header = "tok-5ecret-0a1b2c", "hdr-5ecret-9z8y7x"
    tool = mcp("weather", authorization=token, headers={"X-Antiphon-Test": header})
    model = pool.take_chat()
    await control.script(
        model,
        [call_turn("chat", "weather.add", '{"a": 1, "b": 2}'), answer_turn("chat", "Three.")],
    )
    final, events = await checked_stream(
        client, recorder, client.responses.stream(model=model, input="Go.", tools=[tool])
    )
    assert _one(final, McpCall).output == "3"
    assert f"Bearer {token}" in (await mcp_http.stats()).authorization  # it reached the server
    # whoami answers with the Authorization header the call carried (not stored: it is output).
    whoami = pool.take_chat()
    await control.script(
        whoami, [call_turn("chat", "weather.whoami", "{}"), answer_turn("chat", "ok")]
    )
    seen = await client.responses.create(model=whoami, input="Who?", tools=[tool], store=False)
    assert _one(seen, McpCall).output == f"Bearer {token}"
    stored = await client.responses.with_raw_response.retrieve(final.id)
    echoed = [stored.http_response.text, json.dumps(events), final.model_dump_json()]
    echoed += [await told(control, model, 0), await told(control, model, 1)]
    files = [p.read_bytes() for p in tools_server.store.parent.glob("responses.sqlite3*")]
    files.append(tools_server.stderr.read_bytes())
    for secret in (token, header):
        assert [i for i, text in enumerate(echoed) if secret in text] == []
        assert [i for i, data in enumerate(files) if secret.encode() in data] == []


@pytest.fixture(scope="module")
def keepalive_server(
    upstream: UpstreamProcess, mcp_slow: McpServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("keepalive")
    config = write_config(
        directory / "antiphon.toml",
        [{"name": "chat-slow", "upstream_api": "chat", "upstream_url": upstream.base_url}],
        server={"keepalive_seconds": KEEPALIVE},
        mcp_servers={"slow": {"url": mcp_slow.url, "timeout": SLOW_TIMEOUT}},
    )
    with ServerProcess(["--config", str(config), "--store", "memory"]) as process:
        yield process


async def test_keep_alive_comments_flow_while_a_slow_call_runs(
    keepalive_server: ServerProcess, control: UpstreamControl
) -> None:
    await control.script(
        "chat-slow", [call_turn("chat", "slow.wait_forever", "{}"), answer_turn("chat", "ok")]
    )
    body = {"model": "chat-slow", "input": "Go.", "stream": True, "tools": [mcp("slow")]}
    async with (
        httpx.AsyncClient(timeout=30.0) as http,
        http.stream("POST", f"{keepalive_server.url}/v1/responses", json=body) as answer,
    ):
        raw = b"".join([chunk async for chunk in answer.aiter_bytes()])
    # The call waits SLOW_TIMEOUT (1 s) for the server: several intervals pass meanwhile.
    running = raw.split(b"response.mcp_call_arguments.done", 1)[1].split(
        b"response.mcp_call.failed"
    )[0]
    assert running.count(b"\n: ") + running.count(b"\r\n: ") >= 2
