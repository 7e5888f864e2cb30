"""The playground's Responses view in a real Chromium: what the page shows for each kind of turn.

Each test types into the page and clicks as a user would, then waits (bounded) for what the page
shows: the item cards in output order, their final contents, the response's status.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser.conftest import screenshot_path

pytestmark = pytest.mark.e2e

_WAIT = 30_000  # milliseconds: a loaded two-core machine is slow, never this slow
_WEATHER_TOOL = (
    '[{"type": "function", "name": "get_weather", "parameters": {"type": "object", '
    '"properties": {"city": {"type": "string"}}, "required": ["city"]}}]'
)


async def _card_texts(page: Any) -> list[str]:
    return await page.eval_on_selector_all("#cards .card", "cards => cards.map(c => c.innerText)")


async def _send(page: Any, text: str) -> None:
    await page.fill("#input", text)
    await page.click("#send")


async def _wait_status(page: Any, status: str) -> None:
    await page.wait_for_selector(f"#response-status.{status}", timeout=_WAIT)


async def test_a_function_call_is_answered_by_hand_and_the_answer_streams(page: Any) -> None:
    await page.click("#new-conversation")
    await page.click("text=Function tools (JSON array)")
    await page.fill("#function-tools", _WEATHER_TOOL)
    await _send(page, "What is the weather in Paris?")
    await _wait_status(page, "completed")
    cards = await page.eval_on_selector_all(
        "#cards .card", "cards => cards.map(c => c.dataset.itemType)"
    )
    assert cards == ["reasoning", "function_call"]
    call = (await _card_texts(page))[1]
    assert "get_weather" in call
    assert '"city": "Paris"' in call
    await page.fill(".function-output", '{"sky": "sunny", "celsius": 21}')
    await page.screenshot(path=screenshot_path("playground-function-call"))
    await page.click(".send-output")
    await page.wait_for_selector("#cards .card.message", timeout=_WAIT)
    await _wait_status(page, "completed")
    assert (await _card_texts(page))[-1].endswith("It is sunny in Paris, says your function.")
    log = await page.eval_on_selector_all("#event-log li", "rows => rows.map(r => r.dataset.type)")
    assert log[0] == "response.created"
    assert log[-1] == "response.completed"
    assert "response.output_text.delta" in log


async def test_an_mcp_call_shows_the_listing_the_call_and_its_output(page: Any) -> None:
    await page.click("#new-conversation")
    await page.check("#mcp-servers .server[data-label='calc'] .mcp-use")
    await _send(page, "What is 2 + 3?")
    await _wait_status(page, "completed")
    types = await page.eval_on_selector_all(
        "#cards .card", "cards => cards.map(c => c.dataset.itemType)"
    )
    assert types == ["mcp_list_tools", "reasoning", "mcp_call", "message"]
    texts = await _card_texts(page)
    assert "add" in texts[0]
    assert "calc.add" in texts[2]
    assert '"a": 2' in texts[2]
    assert "5" in texts[2]
    assert texts[3].endswith("2 + 3 = 5, computed by the calc server.")
    await page.screenshot(path=screenshot_path("playground-mcp"))
    await page.uncheck("#mcp-servers .server[data-label='calc'] .mcp-use")


async def test_an_mcp_call_waits_for_approval_and_runs_once_approved(page: Any) -> None:
    await page.click("#new-conversation")
    await page.check("#mcp-servers .server[data-label='calc'] .mcp-use")
    await page.select_option("#mcp-servers .server[data-label='calc'] .mcp-approval", "always")
    await _send(page, "What is 2 + 3?")
    await _wait_status(page, "completed")
    await page.wait_for_selector("#cards .card.mcp_approval_request button.approve")
    await page.click("#cards .card.mcp_approval_request button.approve")
    await page.wait_for_selector("#cards .card.mcp_call", timeout=_WAIT)
    await _wait_status(page, "completed")
    texts = await _card_texts(page)
    assert texts[-1].endswith("2 + 3 = 5, computed by the calc server.")
    await page.select_option("#mcp-servers .server[data-label='calc'] .mcp-approval", "never")
    await page.uncheck("#mcp-servers .server[data-label='calc'] .mcp-use")


async def test_a_code_interpreter_call_shows_its_code_and_output(page: Any) -> None:
    await page.click("#new-conversation")
    await page.check("#code-interpreter")
    await _send(page, "What is six times seven?")
    await _wait_status(page, "completed")
    types = await page.eval_on_selector_all(
        "#cards .card", "cards => cards.map(c => c.dataset.itemType)"
    )
    assert types == ["code_interpreter_call", "message"]
    code = await page.inner_text("#cards .card.code_interpreter_call")
    assert "print(6 * 7)" in code
    assert "42" in code
    assert (await _card_texts(page))[-1].endswith("The sandbox printed 42.")
    await page.screenshot(path=screenshot_path("playground-code-interpreter"))
    await page.uncheck("#code-interpreter")


async def test_a_background_run_is_cancelled_from_the_page(page: Any) -> None:
    await page.click("#new-conversation")
    await page.check("#background")
    await _send(page, "Please take your time.")
    await page.wait_for_selector("#cancel:not([hidden])", timeout=_WAIT)
    await page.wait_for_selector("#cards .card.message", timeout=_WAIT)
    await page.click("#cancel")
    await _wait_status(page, "cancelled")
    assert await page.is_hidden("#cancel")
    assert "Thinking" in await page.inner_text("#cards .card.message")
    log = await page.eval_on_selector_all("#event-log li", "rows => rows.map(r => r.dataset.type)")
    assert log[0] == "response.created"
    assert log[-1] == "response.incomplete"  # with status cancelled: the protocol has no
    # response.cancelled event
    await page.uncheck("#background")


async def test_structured_outputs_and_instructions_reach_the_request(page: Any) -> None:
    await page.click("#new-conversation")
    await page.fill("#instructions", "Answer in JSON.")
    await page.click("text=Structured Outputs (JSON Schema)")
    schema = '{"type": "object", "properties": {"answer": {"type": "string"}}}'
    await page.fill("#schema", schema)
    await _send(page, "Hello")
    await _wait_status(page, "completed")
    created = await page.eval_on_selector(
        "#event-log li[data-type='response.created'] summary", "node => node.textContent"
    )
    assert created.endswith("response.created")
    # The response echoes what the page asked for: the format, its schema and the instructions.
    await page.click("#event-log li[data-type='response.created'] summary")
    opened = "#event-log li[data-type='response.created'] pre:not(:empty)"
    echoed = await (await page.wait_for_selector(opened, timeout=_WAIT)).inner_text()
    assert '"type": "json_schema"' in echoed
    assert '"answer"' in echoed
    assert '"instructions": "Answer in JSON."' in echoed
    await page.fill("#schema", "{not json")
    await _send(page, "Hello")
    assert "The schema is not valid JSON" in await page.inner_text("#compose-error")
    await page.fill("#schema", "")
    await page.fill("#instructions", "")
