from __future__ import annotations

import asyncio
import threading

import pytest
from openai.types.realtime import RealtimeFunctionTool
from pydantic import BaseModel

from antiphon.exceptions import ToolExecutionError, ToolTimeoutError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.tools import FunctionTool, ToolContext, function_tool

AGENT = RealtimeAgent(name="Assistant")


def ctx(name: str = "tool", call_id: str = "call_1") -> ToolContext:
    return ToolContext(call_id=call_id, tool_name=name, agent=AGENT)


class Weather(BaseModel):
    city: str
    degrees: int


@function_tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@function_tool(name="weather", description="Current weather.", timeout=5)
async def get_weather(city: str) -> Weather:
    return Weather(city=city, degrees=21)


async def test_bare_decorator_uses_the_function_name_and_docstring() -> None:
    assert add.name == "add"
    assert add.description == "Add two numbers."
    assert add.timeout is None
    assert add.on_timeout == "error_as_result"
    assert await add.invoke(ctx("add"), '{"a": 2, "b": 3}') == "5"


async def test_decorator_arguments_override_name_description_and_timeout() -> None:
    assert (get_weather.name, get_weather.description, get_weather.timeout) == (
        "weather",
        "Current weather.",
        5,
    )
    output = await get_weather.invoke(ctx("weather"), '{"city": "Oslo"}')
    assert output == '{"city":"Oslo","degrees":21}'


async def test_session_tool_is_the_official_ga_tool_model() -> None:
    tool = add.to_session_tool()
    assert isinstance(tool, RealtimeFunctionTool)
    assert tool.model_dump(exclude_none=True) == {
        "type": "function",
        "name": "add",
        "description": "Add two numbers.",
        "parameters": add.params_json_schema,
    }


async def test_results_are_serialised_str_as_is_others_as_json() -> None:
    @function_tool
    def echo(value: str) -> str:
        return value

    @function_tool
    def listing() -> list[dict[str, int]]:
        return [{"n": 1}]

    @function_tool
    def nothing() -> None:
        return None

    assert await echo.invoke(ctx(), '{"value": "plain text"}') == "plain text"
    assert await listing.invoke(ctx(), "") == '[{"n":1}]'
    assert await nothing.invoke(ctx(), "{}") == "null"


async def test_pydantic_model_argument_arrives_as_an_instance() -> None:
    received: list[Weather] = []

    @function_tool
    def report(weather: Weather) -> str:
        received.append(weather)
        return "ok"

    await report.invoke(ctx(), '{"weather": {"city": "Rome", "degrees": 30}}')
    assert received == [Weather(city="Rome", degrees=30)]


async def test_context_is_injected_when_the_first_parameter_asks_for_it() -> None:
    @function_tool
    async def whoami(context: ToolContext, greeting: str) -> str:
        return f"{greeting} {context.agent.name} {context.call_id}"

    assert "context" not in str(whoami.params_json_schema)
    output = await whoami.invoke(ctx(call_id="c9"), '{"greeting": "hi"}')
    assert output == "hi Assistant c9"


async def test_positional_only_parameters_are_passed_by_position() -> None:
    @function_tool
    def sub(a: int, b: int, /) -> int:
        return a - b

    assert await sub.invoke(ctx(), '{"a": 5, "b": 2}') == "3"


async def test_sync_tool_runs_off_the_event_loop() -> None:
    started = asyncio.Event()
    release = threading.Event()
    loop = asyncio.get_running_loop()

    @function_tool
    def blocking() -> str:
        loop.call_soon_threadsafe(started.set)
        # If this ran on the loop thread, the loop could never set `release`.
        return "released" if release.wait(timeout=10) else "loop was blocked"

    async with asyncio.TaskGroup() as group:
        task = group.create_task(blocking.invoke(ctx(), "{}"))
        async with asyncio.timeout(10):
            await started.wait()
        release.set()
    assert task.result() == "released"


async def test_invalid_json_arguments_fail_with_a_readable_message() -> None:
    with pytest.raises(ToolExecutionError) as caught:
        await add.invoke(ctx("add", "c2"), "{not json")
    assert str(caught.value).startswith("Tool 'add' failed: invalid arguments: ")
    assert "JSON" in str(caught.value)
    assert (caught.value.call_id, caught.value.tool_name) == ("c2", "add")


async def test_arguments_of_the_wrong_type_name_the_field_without_echoing_input() -> None:
    with pytest.raises(ToolExecutionError) as caught:
        await add.invoke(ctx("add"), '{"a": "secret-value", "extra": 1}')
    message = str(caught.value)
    assert "a: Input should be a valid integer" in message
    assert "extra: Extra inputs are not permitted" in message
    assert "secret-value" not in message


async def test_tool_raising_is_a_tool_execution_error_with_the_cause_chained() -> None:
    @function_tool
    async def broken() -> str:
        raise ValueError("disk full")

    with pytest.raises(ToolExecutionError, match=r"^Tool 'broken' failed: disk full$") as caught:
        await broken.invoke(ctx("broken"), "{}")
    assert isinstance(caught.value.__cause__, ValueError)


async def test_exception_without_text_is_named_by_its_class() -> None:
    @function_tool
    def broken() -> str:
        raise KeyError

    with pytest.raises(ToolExecutionError, match=r"failed: KeyError$"):
        await broken.invoke(ctx("broken"), "{}")


async def test_unserialisable_result_is_a_failure() -> None:
    @function_tool
    def opaque() -> object:
        return object()

    with pytest.raises(ToolExecutionError, match="result of type object is not serialisable"):
        await opaque.invoke(ctx("opaque"), "{}")


async def test_timeout_raises_tool_timeout_error() -> None:
    never = asyncio.Event()

    @function_tool(timeout=0.01)
    async def slow() -> str:
        await never.wait()
        return "unreachable"

    with pytest.raises(ToolTimeoutError, match=r"^Tool 'slow' timed out after 0.01s\.$"):
        await slow.invoke(ctx("slow"), "{}")


async def test_timeout_error_raised_by_the_tool_itself_is_an_ordinary_failure() -> None:
    @function_tool(timeout=60)
    async def upstream() -> str:
        raise TimeoutError("upstream API timed out")

    with pytest.raises(ToolExecutionError) as caught:
        await upstream.invoke(ctx("upstream"), "{}")
    assert not isinstance(caught.value, ToolTimeoutError)
    assert str(caught.value) == "Tool 'upstream' failed: upstream API timed out"


async def test_cancellation_propagates_out_of_invoke() -> None:
    started = asyncio.Event()

    @function_tool
    async def waits() -> str:
        started.set()
        await asyncio.Event().wait()
        return "unreachable"

    task = asyncio.get_running_loop().create_task(waits.invoke(ctx(), "{}"))
    async with asyncio.timeout(10):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_callable_object_with_async_call_is_awaited() -> None:
    class Lookup:
        __name__ = "lookup"

        async def __call__(self, key: str) -> str:
            return key.upper()

    tool = function_tool(Lookup())
    assert tool.name == "lookup"
    assert await tool.invoke(ctx(), '{"key": "abc"}') == "ABC"


async def test_function_tool_can_be_built_directly() -> None:
    async def on_invoke(context: ToolContext, arguments: str) -> object:
        return {"args": arguments, "call": context.call_id}

    tool = FunctionTool(
        name="raw", description="Raw.", params_json_schema={"type": "object"}, on_invoke=on_invoke
    )
    assert await tool.invoke(ctx(), "{}") == '{"args":"{}","call":"call_1"}'
