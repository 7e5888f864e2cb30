"""The playground's Stored and Realtime views in a real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser.conftest import screenshot_path

pytestmark = pytest.mark.e2e

_WAIT = 30_000  # milliseconds


async def test_a_stored_response_opens_and_its_stream_replays(page: Any) -> None:
    await page.click("#new-conversation")
    await page.fill("#input", "Hello there, stored one")
    await page.click("#send")
    await page.wait_for_selector("#response-status.completed", timeout=_WAIT)
    await page.click(".tab[data-tab='stored']")
    first_row = page.locator("#stored-list tbody tr").first
    await first_row.wait_for(timeout=_WAIT)
    assert "completed" in await first_row.inner_text()
    await first_row.click()
    await page.wait_for_selector("#stored-input .card", timeout=_WAIT)
    assert "Hello there, stored one" in await page.inner_text("#stored-input")
    assert "Hello from the playground." in await page.inner_text("#stored-cards")
    await page.select_option("#replay-speed", "fast")
    await page.click("#replay")
    await page.wait_for_selector("#stored-log li[data-type='response.completed']", timeout=_WAIT)
    replayed = await page.eval_on_selector_all(
        "#stored-log li", "rows => rows.map(r => r.dataset.type)"
    )
    assert replayed[0] == "response.created"
    assert "response.reasoning_text.delta" in replayed
    cards = await page.eval_on_selector_all(
        "#stored-cards .card", "cards => cards.map(c => c.dataset.itemType)"
    )
    assert cards == ["reasoning", "message"]
    assert "Hello from the playground." in await page.inner_text("#stored-cards .card.message")
    await page.screenshot(path=screenshot_path("playground-stored"))


async def test_a_realtime_text_turn_through_an_ephemeral_key(page: Any) -> None:
    await page.click(".tab[data-tab='realtime']")
    await page.click("#rt-connect")
    await page.wait_for_selector("#rt-status.connected", timeout=_WAIT)
    await page.fill("#rt-text", "Hello over the socket")
    await page.click("#rt-send")
    await page.wait_for_selector("#rt-log li[data-type='response.done']", timeout=_WAIT)
    cards = page.locator("#rt-transcript .card")
    texts = await cards.all_inner_texts()
    assert any("Hello over the socket" in text for text in texts[:1])
    assert texts[-1].endswith("Hello from the playground.")
    log = await page.eval_on_selector_all("#rt-log li", "rows => rows.map(r => r.dataset.type)")
    assert log[0] == "session.created"
    assert "response.output_text.delta" in log
    assert "connected" in await page.inner_text("#rt-status")
    await page.screenshot(path=screenshot_path("playground-realtime"))
    await page.click("#rt-disconnect")
    await page.wait_for_selector("#rt-connect:not([disabled])", timeout=_WAIT)
