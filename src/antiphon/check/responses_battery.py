"""The battery ``antiphon check responses`` runs against any Responses server.

Each check drives one feature with requests a generic model answers the same way whatever it
says (a forced tool choice for calls, a tiny token budget for ``incomplete``), and judges the
protocol, not the prose. Every stream goes through :mod:`antiphon.check.stream`'s rules and every
body through the official ``Response`` model. Prompts carry a marker (``get_weather``, ``500-word
story``, ``JSON``, ``Count from 1``) so a scripted model can be written to pass the battery.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

from openai.types.responses import Response

from antiphon.check._json import JSON, as_json, is_json, is_list
from antiphon.check._prompts import HELLO, WEATHER_PROMPT, WEATHER_TOOL
from antiphon.check._responses_extra import background_cancel_resume, mcp_call
from antiphon.check._session import ResponsesSession, response_body
from antiphon.check.outcome import CheckFailed

__all__ = ["RESPONSES_CHECKS", "ResponsesCheck"]

ResponsesCheck = Callable[[ResponsesSession], Awaitable[str]]

ANSWER_SCHEMA: JSON = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def _completed(response: Response, what: str) -> Response:
    if response.status != "completed":
        raise CheckFailed(f"{what}: status {response.status!r}, expected 'completed'")
    return response


async def plain_text(session: ResponsesSession) -> str:
    """A non-streamed text answer: completed, with output text."""
    response = _completed(await session.create({"input": HELLO}), "plain text")
    if not response.output_text:
        raise CheckFailed("a completed text response without output_text")
    return f"{len(response.output_text)} characters"


async def streamed_text(session: ResponsesSession) -> str:
    """A streamed text answer that follows the grammar and ends completed."""
    streamed = await session.stream({"input": HELLO})
    final = _completed(streamed.final, "streamed text")
    return f"{len(streamed.payloads)} events, {len(final.output_text)} characters"


async def stream_equals_get(session: ResponsesSession) -> str:
    """The stream helper's final response is what ``GET /responses/{id}`` returns."""
    streamed = await session.stream({"input": HELLO, "store": True})
    final = streamed.final
    answer = await session.get(final.id)
    if answer.status_code != 200:
        raise CheckFailed(f"GET of a stored response: HTTP {answer.status_code}")
    stored = response_body(as_json(answer.json()), "the GET body")
    difference = _first_difference(_plain(final), _plain(stored), "")
    if difference is not None:
        raise CheckFailed(f"GET differs from the streamed final response at {difference}")
    return "identical"


async def function_call(session: ResponsesSession) -> str:
    """A forced function call, answered with ``function_call_output``, then a text answer."""
    body: JSON = {
        "input": WEATHER_PROMPT,
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "store": True,
    }
    first = _completed((await session.stream(body)).final, "the call")
    calls = [item for item in first.output if item.type == "function_call"]
    if not calls or calls[0].name != "get_weather":
        raise CheckFailed("a forced tool_choice produced no get_weather call")
    call = calls[0]
    try:
        json.loads(call.arguments)
    except ValueError as error:
        raise CheckFailed(f"the call's arguments are not JSON: {call.arguments[:80]!r}") from error
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 22 C."}
    second = await session.stream(
        {"input": [answer], "previous_response_id": first.id, "tools": [WEATHER_TOOL]}
    )
    final = _completed(second.final, "the answer to the tool output")
    if not final.output_text:
        raise CheckFailed("no text after the tool output")
    return "get_weather called, output answered"


async def previous_response(session: ResponsesSession) -> str:
    """A follow-up with ``previous_response_id`` runs and names its predecessor."""
    first = _completed(
        await session.create({"input": "My name is Ada. Say OK.", "store": True}), "first"
    )
    second = await session.create({"input": "What is my name?", "previous_response_id": first.id})
    _completed(second, "the follow-up")
    if second.previous_response_id != first.id:
        raise CheckFailed(f"previous_response_id is {second.previous_response_id!r}")
    return "chained"


async def instructions(session: ResponsesSession) -> str:
    """``instructions`` are accepted and echoed on the response."""
    text = "Answer in one word."
    response = _completed(await session.create({"input": HELLO, "instructions": text}), "reply")
    if response.instructions != text:
        raise CheckFailed(f"instructions echoed as {response.instructions!r}")
    return "echoed"


async def max_output_tokens(session: ResponsesSession) -> str:
    """A tiny ``max_output_tokens`` ends the stream ``incomplete`` with that reason."""
    body: JSON = {"input": "Write a 500-word story about the sea.", "max_output_tokens": 16}
    final = (await session.stream(body, feature="max_output_tokens")).final
    reason = final.incomplete_details.reason if final.incomplete_details else None
    if (final.status, reason) != ("incomplete", "max_output_tokens"):
        raise CheckFailed(f"status {final.status!r}, incomplete reason {reason!r}")
    return "incomplete: max_output_tokens"


async def structured_output(session: ResponsesSession) -> str:
    """A strict JSON schema: the output text parses and has the required field."""
    fmt = {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}
    body: JSON = {"input": "Is water wet? Reply in JSON.", "text": {"format": fmt}}
    final = _completed((await session.stream(body, feature="text.format")).final, "reply")
    try:
        value: object = json.loads(final.output_text)
    except ValueError as error:
        raise CheckFailed(f"output is not JSON: {final.output_text[:80]!r}") from error
    if not isinstance(as_json(value).get("answer"), str):
        raise CheckFailed(f"output misses the required string 'answer': {final.output_text[:80]!r}")
    return "valid JSON"


async def store_false(session: ResponsesSession) -> str:
    """``store: false`` answers, and the response cannot be read back."""
    response = _completed(await session.create({"input": HELLO, "store": False}), "reply")
    answer = await session.get(response.id)
    if answer.status_code != 404:
        raise CheckFailed(f"GET of an unstored response: HTTP {answer.status_code}, expected 404")
    return "not stored"


async def bad_field(session: ResponsesSession) -> str:
    """A field of the wrong type is a 400 whose error names it."""
    answer = await session.http.post(
        "responses", json={"model": session.model, "input": HELLO, "temperature": "hot"}
    )
    if answer.status_code != 400:
        raise CheckFailed(f"temperature='hot': HTTP {answer.status_code}, expected 400")
    try:
        error = as_json(as_json(answer.json()).get("error"))
    except ValueError as problem:
        raise CheckFailed("the 400's body is not JSON") from problem
    if error.get("param") != "temperature" and "temperature" not in str(error.get("message")):
        raise CheckFailed(f"the 400 does not name temperature: {json.dumps(dict(error))[:120]}")
    return "400 names temperature"


def _plain(response: Response) -> object:
    return response.model_dump(mode="json", by_alias=True, exclude_none=True)


def _first_difference(left: object, right: object, path: str) -> str | None:
    if is_json(left) and is_json(right):
        for key in sorted(set(left) | set(right)):
            found = _first_difference(left.get(key), right.get(key), f"{path}.{key}")
            if found is not None:
                return found
        return None
    if is_list(left) and is_list(right):
        if len(left) != len(right):
            return f"{path} (length {len(left)} != {len(right)})"
        for index, (one, other) in enumerate(zip(left, right, strict=True)):
            found = _first_difference(one, other, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if left == right else f"{path or 'the body'} ({left!r} != {right!r})"


#: name -> check, in the order the report lists them; "mcp" runs only with an MCP label
RESPONSES_CHECKS: Sequence[tuple[str, ResponsesCheck]] = (
    ("plain text", plain_text),
    ("streamed text", streamed_text),
    ("stream == GET", stream_equals_get),
    ("function call", function_call),
    ("previous_response_id", previous_response),
    ("instructions", instructions),
    ("max_output_tokens", max_output_tokens),
    ("structured output", structured_output),
    ("background, cancel, resume", background_cancel_resume),
    ("store: false", store_false),
    ("bad field is a 400", bad_field),
)
MCP_CHECK: tuple[str, Callable[[ResponsesSession, str], Awaitable[str]]] = ("mcp call", mcp_call)
