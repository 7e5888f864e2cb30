"""The battery's verdicts on a server that answers in form but not in substance.

An ``httpx.MockTransport`` plays a server whose every answer is a valid ``Response`` that gets
one thing wrong (instructions not echoed, an unstored response still readable, ...): each check
must fail and say what.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from antiphon.check.outcome import CheckResult
from antiphon.check.runner import run_responses_checks

Handler = Callable[[httpx.Request], httpx.Response]


def _response(**fields: object) -> dict[str, object]:
    message: dict[str, object] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Hi.", "annotations": []}],
    }
    base: dict[str, object] = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1.0,
        "model": "m",
        "status": "completed",
        "output": [message],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    return {**base, **fields}


def _server(**fields: object) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=_response(**fields))
        if request.url.path.endswith("/responses"):
            body = json.loads(request.content)
            if body.get("temperature") == "hot":
                return httpx.Response(400, json={"error": {"message": "bad", "param": None}})
        return httpx.Response(200, json=_response(**fields))

    return handle


async def _run(handler: Handler, *only: str) -> dict[str, CheckResult]:
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(base_url="http://server.invalid/v1/", transport=transport) as http:
        results = await run_responses_checks(http, "m", only=list(only))
    return {result.name: result for result in results}


async def test_each_wrong_answer_fails_its_check_and_says_what() -> None:
    results = await _run(
        _server(), "instructions", "store: false", "previous_response_id", "bad field is a 400"
    )
    assert {name: (r.verdict, r.detail) for name, r in results.items()} == {
        "instructions": ("fail", "instructions echoed as None"),
        "store: false": ("fail", "GET of an unstored response: HTTP 200, expected 404"),
        "previous_response_id": ("fail", "previous_response_id is None"),
        "bad field is a 400": (
            "fail",
            'the 400 does not name temperature: {"message": "bad", "param": null}',
        ),
    }


async def test_a_response_that_does_not_complete_fails() -> None:
    results = await _run(_server(status="in_progress"), "plain text")
    assert (results["plain text"].verdict, results["plain text"].detail) == (
        "fail",
        "plain text: status 'in_progress', expected 'completed'",
    )


async def test_a_body_with_a_field_outside_the_spec_fails_with_the_rule() -> None:
    results = await _run(_server(surprise=1), "plain text")
    violation = results["plain text"].violation
    assert violation is not None
    assert violation.rule == "schema.extra-field"
    assert "surprise" in violation.message


async def test_a_stream_answered_as_json_fails() -> None:
    results = await _run(_server(), "streamed text")
    assert (
        results["streamed text"].detail == "a stream answered with content-type 'application/json'"
    )
