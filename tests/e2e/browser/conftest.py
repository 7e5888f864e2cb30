"""A real ``antiphon serve`` and a real headless Chromium for the playground's tests.

The browser is the distribution's ``chromium`` (``/usr/bin/chromium``, which
``scripts/dev.py test`` installs with apt when it can), driven by Playwright for Python through
the executable: Playwright's own browser downloads are not used. Without either, every test here
is skipped with a reason that says what is missing, never passed.

The server serves scripted models (a function call, an MCP call to the stdio test server, a
code interpreter call, a plain answer) behind an API key, which each page types in as a user
would. Screenshots go to ``$TMPDIR/antiphon-playground-screenshots/``, or to
``$ANTIPHON_SCREENSHOTS`` (``docs/screenshots`` refreshes the README's).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from antiphon.testing.mcp_servers import stdio_command
from tests.e2e.support import ServerProcess, write_config

API_KEY = "sk-playground"
# The README's screenshots are refreshed with ANTIPHON_SCREENSHOTS=docs/screenshots; a plain run
# writes its own beside the temporary files, so that testing never changes the checkout.
SCREENSHOTS = Path(
    os.environ.get("ANTIPHON_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "antiphon-playground-screenshots"
)
CHROMIUM = os.environ.get("ANTIPHON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
]

PLAYGROUND_SCRIPT: dict[str, Any] = {
    "chunking": {"mode": "fixed", "size": 6},
    "turns": [
        {
            "repeat": True,
            "when": {"last_text_contains": "weather in Paris"},
            "harmony": "<|channel|>analysis<|message|>Ask the caller's get_weather.<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.get_weather "
            '<|constrain|>json<|message|>{"city": "Paris"}<|call|>',
        },
        {
            "repeat": True,
            "when": {"last_item_type": "function_call_output", "last_text_contains": "sunny"},
            "items": [{"kind": "message", "text": "It is sunny in Paris, says your function."}],
        },
        {
            # A spoken question (the voice test): answered only when the transcript holds it.
            "repeat": True,
            "when": {"last_text_contains": "weather"},
            "items": [{"kind": "message", "text": "The weather is fine."}],
        },
        {
            "repeat": True,
            "when": {"last_text_contains": "2 + 3"},
            "harmony": "<|channel|>analysis<|message|>Use the calc server.<|end|>"
            "<|start|>assistant<|channel|>commentary to=calc.add "
            '<|constrain|>json<|message|>{"a": 2, "b": 3}<|call|>',
        },
        {
            "repeat": True,
            "when": {"last_item_type": "mcp_call", "last_text_contains": "5"},
            "items": [{"kind": "message", "text": "2 + 3 = 5, computed by the calc server."}],
        },
        {
            "repeat": True,
            "when": {"last_text_contains": "six times seven"},
            "items": [{"kind": "tool_call", "name": "python", "text": "print(6 * 7)"}],
        },
        {
            "repeat": True,
            # The rule cannot read a cell's output: the page's card is checked for 42 instead.
            "when": {"last_item_type": "code_interpreter_call"},
            "items": [{"kind": "message", "text": "The sandbox printed 42."}],
        },
        {
            # Streams a little, then waits until the run is cancelled.
            "repeat": True,
            "when": {"last_text_contains": "take your time"},
            "items": [{"kind": "message", "text": "Thinking it over, slowly"}],
            "fail": {"kind": "stall", "after_events": 3},
        },
        {
            "repeat": True,
            "items": [
                {"kind": "reasoning", "text": "A greeting; answer it."},
                {"kind": "message", "text": "Hello from the playground."},
            ],
        },
    ],
}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    try:
        import playwright.async_api  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set ANTIPHON_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def playground_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    missing = browser_missing()
    if missing is not None:
        pytest.skip(f"BROWSER TESTS SKIPPED: {missing}")
    directory = tmp_path_factory.mktemp("playground")
    (directory / "playground.json").write_text(json.dumps(PLAYGROUND_SCRIPT), encoding="utf-8")
    command, args = stdio_command()
    config = write_config(
        directory / "antiphon.toml",
        [{"name": "scripted-playground", "upstream_api": "scripted", "script": "playground.json"}],
        mcp_servers={"calc": {"command": command, "args": args, "timeout": 30.0}},
    )
    store = directory / "responses.sqlite3"
    args = ["--config", str(config), "--store", str(store), "--api-key", API_KEY, "--no-speech"]
    with ServerProcess(args) as process:
        yield process


@pytest.fixture
async def page(playground_server: ServerProcess) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1500, "height": 950})
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            await page.goto(f"{playground_server.url}/playground")
            await page.fill("#api-key", API_KEY)
            await page.click("#key-form button")
            await page.wait_for_selector("body[data-ready='true']", timeout=30_000)
            # Before the key was typed the page tried without it, and heard 401 as it should.
            errors.clear()
            yield page
            assert errors == [], f"the page reported errors: {errors}"
        finally:
            await browser.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
