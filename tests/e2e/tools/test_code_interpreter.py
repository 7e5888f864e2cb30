"""The code interpreter through a real ``antiphon serve``: sandboxed, stateful, bounded.

Driven by the stand-in (chat: a ``python`` function whose arguments are ``{"code": ...}``;
harmony: the ``python`` recipient with raw code), read with the official client and the grammar
checks. The limits are the server's defaults (CPU and wall-clock limits are covered by the
sandbox's own tests: the server has no setting to shorten them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import AsyncOpenAI, BadRequestError
from openai.types.responses import Response
from openai.types.responses.response_code_interpreter_tool_call import (
    OutputLogs,
    ResponseCodeInterpreterToolCall,
)
from openai.types.responses.tool_param import CodeInterpreter

from antiphon.testing.upstream import UpstreamControl, UpstreamProcess
from tests.e2e.conftest import ModelPool
from tests.e2e.support import (
    ServerProcess,
    StreamRecorder,
    checked_stream,
    make_client,
    write_config,
)
from tests.e2e.tool_support import APIS, Api, answer_turn, code_turn, model_of, told

pytestmark = pytest.mark.e2e
PYTHON: CodeInterpreter = {"type": "code_interpreter", "container": {"type": "auto"}}


def _calls(response: Response) -> list[ResponseCodeInterpreterToolCall]:
    return [i for i in response.output if isinstance(i, ResponseCodeInterpreterToolCall)]


def _logs(call: ResponseCodeInterpreterToolCall) -> str:
    return "".join(o.logs for o in call.outputs or [] if isinstance(o, OutputLogs))


async def _run(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    model: str,
    api: Api,
    codes: list[str],
) -> Response:
    turns = [code_turn(api, code) for code in codes]
    await control.script(model, [*turns, answer_turn(api, "Done.")])
    final, events = await checked_stream(
        client,
        recorder,
        client.responses.stream(
            model=model, input="Compute.", tools=[PYTHON], include=["code_interpreter_call.outputs"]
        ),
    )
    assert final.status == "completed"
    assert final.output_text == "Done."
    kinds = [str(e["type"]) for e in events]
    assert "response.code_interpreter_call.interpreting" in kinds
    return final


@pytest.mark.parametrize("api", APIS)
async def test_state_persists_across_two_calls_of_one_response(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _run(client, recorder, control, model, api, ["x = 21", "print(x * 2)"])
    first, second = _calls(final)
    assert (first.code, second.code) == ("x = 21", "print(x * 2)")
    assert [c.status for c in (first, second)] == ["completed", "completed"]
    assert first.container_id == second.container_id
    assert _logs(second).strip() == "42"
    assert "42" in await told(control, model, 2)


@pytest.mark.parametrize("api", APIS)
async def test_output_past_the_limit_is_cut_and_reported(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    final = await _run(client, recorder, control, model, api, ["print('y' * 200_000)"])
    (call,) = _calls(final)
    logs = _logs(call)
    assert len(logs.encode()) < 100_000  # the default output limit is 64 KiB
    assert logs.startswith("yyyy")


@pytest.mark.parametrize("api", APIS)
async def test_memory_past_the_limit_fails_the_cell_and_keeps_the_container(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    api: Api,
) -> None:
    model = model_of(pool, api)
    codes = ["kept = 7", "block = bytearray(2 * 1024 ** 3)", "print(kept)"]
    final = await _run(client, recorder, control, model, api, codes)
    _, hog, after = _calls(final)
    assert hog.status == "failed"
    assert "MemoryError" in _logs(hog)
    assert _logs(after).strip() == "7"


@pytest.mark.parametrize("api", APIS)
async def test_the_sandbox_has_no_network(
    client: AsyncOpenAI,
    recorder: StreamRecorder,
    control: UpstreamControl,
    pool: ModelPool,
    upstream: UpstreamProcess,
    api: Api,
) -> None:
    model = model_of(pool, api)
    port = upstream.base_url.split(":")[-1].split("/")[0]
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('blocked', type(exc).__name__)\n"
    )
    final = await _run(client, recorder, control, model, api, [code])
    (call,) = _calls(final)
    assert "connected" not in _logs(call)
    assert "blocked" in _logs(call) or call.status == "failed"


@pytest.fixture(scope="module")
def no_code_server(
    upstream: UpstreamProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("no-code")
    config = write_config(
        directory / "antiphon.toml",
        [{"name": "chat-0", "upstream_api": "chat", "upstream_url": upstream.base_url}],
    )
    args = ["--config", str(config), "--store", "memory", "--no-code-interpreter"]
    with ServerProcess(args) as process:
        yield process


async def test_a_server_started_without_the_code_interpreter_answers_400(
    no_code_server: ServerProcess, recorder: StreamRecorder
) -> None:
    async with make_client(no_code_server.url, recorder) as plain:
        with pytest.raises(BadRequestError) as caught:
            await plain.responses.create(model="chat-0", input="Go.", tools=[PYTHON])
    assert "code interpreter is disabled" in caught.value.message
    assert caught.value.param == "tools[0]"
