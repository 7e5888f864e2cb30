"""A script with which antiphon's scripted engine passes ``antiphon check`` (each turn answers
one check's prompt marker), and a server settings object serving it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from antiphon.server.settings import ModelRoute, ServerSettings

__all__ = ["CHECK_SCRIPT", "check_settings", "run_check_cli", "write_check_script"]

CHECK_SCRIPT = {
    "chunking": {"mode": "random", "seed": 11},
    "turns": [
        {
            "repeat": True,
            "when": {"last_text_contains": "get_weather"},
            "items": [
                {"kind": "tool_call", "name": "functions.get_weather", "text": '{"city": "Paris"}'}
            ],
        },
        {
            "repeat": True,
            "when": {"last_item_type": "function_call_output"},
            "items": [{"kind": "message", "text": "It is sunny in Paris."}],
        },
        {
            "repeat": True,
            "when": {"last_text_contains": "500-word story"},
            "items": [{"kind": "message", "text": "The sea was grey and"}],
            "finish_reason": "length",
        },
        {
            "repeat": True,
            "when": {"last_text_contains": "JSON"},
            "items": [{"kind": "message", "text": '{"answer": "yes"}'}],
        },
        {
            "repeat": True,
            "when": {"last_text_contains": "Count from 1"},
            "items": [{"kind": "message", "text": "1\n2\n3\n4\n5\n6\n7\n8\n9\n10"}],
            "fail": {"kind": "stall", "after_events": 4},
        },
        {
            "repeat": True,
            "items": [
                {"kind": "reasoning", "text": "A greeting."},
                {"kind": "message", "text": "Hello! Nice to meet you."},
            ],
            "usage": {"input_tokens": 10, "output_tokens": 6},
        },
    ],
}


def write_check_script(directory: Path) -> Path:
    """:data:`CHECK_SCRIPT` as a file in ``directory``."""
    path = directory / "check-script.json"
    path.write_text(json.dumps(CHECK_SCRIPT), encoding="utf-8")
    return path


#: a model whose upstream fails every Structured Outputs request, as llama-cpp-python's does
REFUSING_SCRIPT = {
    "turns": [
        {
            "repeat": True,
            "items": [{"kind": "message", "text": "never"}],
            "fail": {"kind": "http", "status": 500, "message": "json_schema is not supported"},
        }
    ]
}


def check_settings(directory: Path, model: str = "checked") -> ServerSettings:
    """An in-memory server whose ``model`` plays :data:`CHECK_SCRIPT` and whose ``refusing``
    model plays :data:`REFUSING_SCRIPT`."""
    refusing = directory / "refusing.json"
    refusing.write_text(json.dumps(REFUSING_SCRIPT), encoding="utf-8")
    routes = (
        ModelRoute(model, "scripted", script=write_check_script(directory)),
        ModelRoute("refusing", "scripted", script=refusing),
    )
    return ServerSettings(models=routes, store="memory", code_interpreter=False)


async def run_check_cli(
    api: str, url: str, model: str, *extra: str, per_check: float, within: float
) -> tuple[int, str]:
    """``python -m antiphon check API URL/v1 --model MODEL --timeout PER_CHECK EXTRA...`` as a
    child process, bounded by ``within`` (then killed); its exit status and stdout."""
    command = [sys.executable, "-m", "antiphon", "check", api, f"{url}/v1", "--model", model]
    process = await asyncio.create_subprocess_exec(
        *command, "--timeout", str(per_check), *extra, stdout=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(within):
            out, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode()
