"""Push-to-talk in the playground: Chromium's fake microphone plays a spoken question (eSpeak NG),
the page streams it to ``/v1/realtime`` while the button is held, and plays the spoken answer.

Needs the ``speech`` extra (a server that speaks, and eSpeak to make the question); without it
the test is skipped with the reason.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import (
    API_KEY,
    CHROMIUM,
    CHROMIUM_ARGS,
    PLAYGROUND_SCRIPT,
    browser_missing,
    screenshot_path,
)
from tests.e2e.support import ServerProcess, write_config

pytestmark = pytest.mark.e2e

_WAIT = 60_000  # milliseconds: transcription and synthesis on a loaded machine
_RATE = 24000


@dataclass(frozen=True)
class Question:
    """The spoken question as a WAV file, and how long it plays."""

    path: Path
    duration_ms: int


@pytest.fixture(scope="module")
def spoken_question(tmp_path_factory: pytest.TempPathFactory) -> Question:
    try:
        from antiphon.speech.audio import wav_bytes
        from antiphon.speech.base import SpeechRequest, synthesize_all
        from antiphon.speech.local.espeak import EspeakSynthesizer
    except ImportError as exc:
        pytest.skip(f"VOICE BROWSER TEST SKIPPED: the speech extra is not installed ({exc})")
    import asyncio

    request = SpeechRequest("What is the weather?", "ash", _RATE, 1.0)
    pcm = asyncio.run(synthesize_all(EspeakSynthesizer(), request))
    silence = bytes(_RATE * 2 // 2)  # half a second before and after the question
    audio = silence + pcm + silence
    path = tmp_path_factory.mktemp("voice") / "question.wav"
    path.write_bytes(wav_bytes(audio, _RATE))
    return Question(path, len(audio) * 1000 // (_RATE * 2))


@pytest.fixture(scope="module")
def speaking_server(
    spoken_question: Question, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    missing = browser_missing()
    if missing is not None:
        pytest.skip(f"BROWSER TESTS SKIPPED: {missing}")
    directory = tmp_path_factory.mktemp("speaking")
    (directory / "playground.json").write_text(json.dumps(PLAYGROUND_SCRIPT), encoding="utf-8")
    config = write_config(
        directory / "antiphon.toml",
        [{"name": "scripted-playground", "upstream_api": "scripted", "script": "playground.json"}],
    )
    args = ["--config", str(config), "--store", "memory", "--api-key", API_KEY, "--speech"]
    with ServerProcess(args) as process:
        yield process


@pytest.fixture
async def voice_page(
    speaking_server: ServerProcess, spoken_question: Question
) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    microphone = [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={spoken_question.path}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *microphone]
        )
        try:
            # Waiting on the page's audio counters evaluates a predicate in the page, which the
            # playground's CSP (no eval) forbids: this test alone lets Playwright bypass it (the
            # others run under it).
            context = await browser.new_context(
                viewport={"width": 1500, "height": 950}, bypass_csp=True
            )
            await context.grant_permissions(["microphone"])
            page = await context.new_page()
            await page.goto(f"{speaking_server.url}/playground")
            await page.fill("#api-key", API_KEY)
            await page.click("#key-form button")
            await page.wait_for_selector("body[data-ready='true']", timeout=30_000)
            yield page
        finally:
            await browser.close()


async def test_push_to_talk_streams_the_microphone_and_plays_the_spoken_answer(
    voice_page: Any, spoken_question: Question
) -> None:
    page = voice_page
    await page.click(".tab[data-tab='realtime']")
    assert await page.is_visible("#rt-talk")
    await page.check("#rt-voice")
    await page.click("#rt-connect")
    await page.wait_for_selector("#rt-status.connected", timeout=_WAIT)
    duration_ms = spoken_question.duration_ms
    await page.hover("#rt-talk")
    await page.mouse.down()
    # Held until the page has sent the whole question (it counts what it streamed).
    await page.wait_for_function(
        f"Number(document.querySelector('#rt-audio').dataset.sentMs) >= {duration_ms}",
        timeout=_WAIT,
    )
    await page.mouse.up()
    await page.wait_for_selector("#rt-log li[data-type='response.done']", timeout=_WAIT)
    await page.wait_for_function(
        "Number(document.querySelector('#rt-audio').dataset.playedMs) > 0", timeout=_WAIT
    )
    log = await page.eval_on_selector_all("#rt-log li", "rows => rows.map(r => r.dataset.type)")
    assert "input_audio_buffer.committed" in log
    assert "response.output_audio_transcript.done" in log
    # The page asked for the answer once the question's transcript was in.
    transcribed = log.index("conversation.item.input_audio_transcription.completed")
    assert log.index("response.created") > transcribed
    cards = await page.locator("#rt-transcript .card").all_inner_texts()
    assert len(cards) == 2
    # PocketSphinx heard the question through Chromium's microphone (resampled twice on the
    # way), so the scripted model gave its answer to a question about the weather.
    assert "weather" in cards[0].lower()
    assert cards[1].strip().endswith("The weather is fine.")
    await page.screenshot(path=screenshot_path("playground-voice"))
