"""Record a session against antiphon's app through the proxy, then replay it.

Everything is real and in this process: antiphon's app (the scripted engine) and the record and
replay apps each on a loopback socket, driven by the official ``openai`` client (Responses
streams and a Realtime connection, raw bytes kept) and by ``antiphon.realtime``. The replay must
give the clients the very bytes the live server gave them; secrets must not reach the cassette;
a request off the recording gets a 400 naming the first difference; the Agents SDK runs again
against the replay.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import agents
import httpx
import httpx2
import pytest
from openai import AsyncOpenAI, BadRequestError
from starlette.middleware.gzip import GZipMiddleware

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.runner import RealtimeRunner
from antiphon.realtime.tools import function_tool
from antiphon.record import read_cassette
from antiphon.record.cassette import HttpExchange
from antiphon.record.proxy import MAX_BODY_BYTES
from antiphon.server.app import create_app
from antiphon.testing.replay import recording, replaying
from tests.check.support import check_settings
from tests.e2e.support import StreamRecorder, session_events_until
from tests.record.support import realtime_text_turn
from tests.server.support import serving

SECRET_KEY = "sk-secret-key-123"
MCP_SECRET = "Bearer mcp-secret-456"
WITHIN = 20.0
TEXT_ONLY: RealtimeRunConfig = {"session": {"type": "realtime", "output_modalities": ["text"]}}


@dataclass
class Seen:
    """What the clients received."""

    streams: list[bytes] = field(default_factory=list[bytes])
    refusal: str = ""
    frames: list[bytes] = field(default_factory=list[bytes])
    sdk_texts: list[str] = field(default_factory=list[str])


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[str]:
    async with serving(create_app(check_settings(tmp_path))) as url:
        yield f"{url}/v1"


async def _responses(base_url: str, seen: Seen) -> None:
    recorder = StreamRecorder()
    async with (
        httpx2.AsyncClient(transport=recorder) as http,
        AsyncOpenAI(
            base_url=base_url, api_key=SECRET_KEY, http_client=http, max_retries=0
        ) as client,
    ):
        async with client.responses.stream(model="checked", input="Say hello.") as stream:
            first = await stream.get_final_response()
        async with client.responses.stream(
            model="checked", input="And again.", previous_response_id=first.id
        ) as stream:
            await stream.get_final_response()
        mcp = {
            "type": "mcp",
            "server_label": "x",
            "server_url": "https://mcp.example/mcp",
            "headers": {"Authorization": MCP_SECRET},
        }
        with pytest.raises(BadRequestError) as refused:
            await client.responses.create(model="checked", input="Hi", tools=[mcp])  # type: ignore[list-item]
        seen.refusal = str(refused.value)
        seen.frames = await realtime_text_turn(client, "checked", WITHIN)
    seen.streams = [bytes(stream) for stream in recorder.streams]


async def _sdk(base_url: str, seen: Seen) -> None:
    @function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    agent = RealtimeAgent(name="forecaster", instructions="Use the tool.", tools=[get_weather])
    url = base_url.replace("http://", "ws://") + "/realtime?model=checked"
    session = await RealtimeRunner(agent, config=TEXT_ONLY).run(model_config={"url": url})
    async with session:
        await session.send_message("Use get_weather for Paris.")
        await session_events_until(session, "agent_end", count=2, within=WITHIN)
    seen.sdk_texts = [
        part.text or ""
        for item in session.history
        if item.type == "message" and item.role == "assistant"
        for part in item.content
    ]


async def _everything(base_url: str) -> Seen:
    seen = Seen()
    await _responses(base_url, seen)
    await _sdk(base_url, seen)
    return seen


async def test_a_recorded_session_replays_byte_identically(live: str, tmp_path: Path) -> None:
    cassette = tmp_path / "session.jsonl"
    async with recording(live, cassette) as proxy:
        recorded = await _everything(proxy)
    assert len(recorded.streams) == 2
    assert b"response.completed" in recorded.streams[0]
    assert recorded.refusal.startswith("Error code: 400")
    assert recorded.sdk_texts == ["It is sunny in Paris."]
    for timing in ("fast", "original"):
        async with replaying(cassette, timing=timing) as replay:
            replayed = await _everything(replay)
        assert replayed.streams == recorded.streams
        assert replayed.frames == recorded.frames
        assert replayed.refusal == recorded.refusal
        assert replayed.sdk_texts == recorded.sdk_texts


async def test_the_cassette_holds_no_secret(live: str, tmp_path: Path) -> None:
    cassette = tmp_path / "session.jsonl"
    async with recording(live, cassette) as proxy:
        await _responses(proxy, Seen())
    text = cassette.read_text(encoding="utf-8")
    assert SECRET_KEY not in text
    assert "mcp-secret-456" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0] == {"cassette": "antiphon", "version": 1}
    posts = [line for line in lines[1:] if line.get("method") == "POST"]
    assert all(["authorization", "[redacted]"] in line["headers"] for line in posts)
    [refused] = [line for line in posts if line["status"] == 400]
    assert refused["body"]["tools"][0]["headers"] == {"Authorization": "[redacted]"}
    [socket] = [line for line in lines[1:] if line["kind"] == "websocket"]
    assert ["authorization", "[redacted]"] in socket["headers"]


async def test_an_issued_client_secret_is_redacted_and_the_answer_still_parses(
    live: str, tmp_path: Path
) -> None:
    cassette = tmp_path / "secret.jsonl"
    async with (
        recording(live, cassette) as proxy,
        AsyncOpenAI(base_url=proxy, api_key=SECRET_KEY, max_retries=0) as client,
    ):
        issued = await client.realtime.client_secrets.create(
            session={"type": "realtime", "model": "checked"}
        )
    assert issued.value  # the client got the real key
    text = cassette.read_text(encoding="utf-8")
    assert issued.value not in text
    async with (
        replaying(cassette) as replay,
        AsyncOpenAI(base_url=replay, api_key=SECRET_KEY, max_retries=0) as client,
    ):
        replayed = await client.realtime.client_secrets.create(
            session={"type": "realtime", "model": "checked"}
        )
    assert replayed.value == "[redacted]"
    assert replayed.expires_at == issued.expires_at
    assert replayed.session == issued.session


async def test_a_request_off_the_recording_gets_a_400_naming_the_difference(
    live: str, tmp_path: Path
) -> None:
    cassette = tmp_path / "session.jsonl"
    async with recording(live, cassette) as proxy, httpx.AsyncClient(base_url=proxy + "/") as http:
        answer = await http.post("responses", json={"model": "checked", "input": "Say hello."})
        assert answer.status_code == 200
    async with replaying(cassette) as replay, httpx.AsyncClient(base_url=replay + "/") as http:
        answer = await http.post("responses", json={"model": "checked", "input": "Say goodbye."})
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "replay_mismatch"
        assert ".body.input: recorded 'Say hello.', got 'Say goodbye.'" in error["message"]
        again = await http.post("responses", json={"model": "checked", "input": "Say hello."})
        assert again.status_code == 200
        assert (
            again.json()["output_text"] if "output_text" in again.json() else again.json()["output"]
        )
        spent = await http.post("responses", json={"model": "checked", "input": "Say hello."})
        assert spent.status_code == 400
        assert "no recorded request is left" in spent.json()["error"]["message"]


async def test_an_unreachable_upstream_is_a_502_and_nothing_is_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "session.jsonl"
    async with (
        recording("http://127.0.0.1:9/v1", cassette) as proxy,
        httpx.AsyncClient(base_url=proxy + "/") as http,
    ):
        answer = await http.post("responses", json={"model": "m", "input": "Hi"})
    assert answer.status_code == 502
    assert "could not be reached" in answer.json()["error"]["message"]
    assert read_cassette(cassette) == []


async def test_a_body_over_the_limit_is_a_413_not_buffered(tmp_path: Path) -> None:
    cassette = tmp_path / "empty.jsonl"
    cassette.write_text('{"cassette": "antiphon", "version": 1}\n', encoding="utf-8")
    big = b"x" * (MAX_BODY_BYTES + 1)
    async with replaying(cassette) as replay, httpx.AsyncClient(base_url=replay + "/") as http:
        answer = await http.post("responses", content=big)
    assert answer.status_code == 413
    assert "over" in answer.json()["error"]["message"]


async def _agent_run(base_url: str) -> tuple[list[str], str]:
    cities: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        cities.append(city)
        return f"sunny in {city}"

    agents.set_tracing_disabled(True)
    async with AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0) as client:
        agent = agents.Agent(
            name="forecaster",
            instructions="Answer with the tool.",
            model=agents.OpenAIResponsesModel(model="checked", openai_client=client),
            tools=[get_weather],
        )
        result = await agents.Runner.run(agent, "Use get_weather for Paris.")
    return cities, str(result.final_output)


async def test_the_agents_sdk_runs_again_against_the_replay(live: str, tmp_path: Path) -> None:
    cassette = tmp_path / "agent.jsonl"
    async with recording(live, cassette) as proxy:
        recorded = await _agent_run(proxy)
    assert recorded == (["Paris"], "It is sunny in Paris.")
    async with replaying(cassette) as replay:
        assert await _agent_run(replay) == recorded


async def test_a_compressing_upstream_is_asked_for_the_plain_body(tmp_path: Path) -> None:
    upstream = GZipMiddleware(create_app(check_settings(tmp_path)), minimum_size=1)
    cassette = tmp_path / "session.jsonl"
    async with (
        serving(upstream) as url,
        recording(f"{url}/v1", cassette) as proxy,
        httpx.AsyncClient(base_url=proxy + "/", headers={"accept-encoding": "gzip"}) as http,
    ):
        answer = await http.post("responses", json={"model": "checked", "input": "Say hello."})
    assert answer.json()["status"] == "completed"
    [exchange] = read_cassette(cassette)
    assert isinstance(exchange, HttpExchange)
    assert b'"status":"completed"' in b"".join(chunk.data for chunk in exchange.chunks)
