"""``antiphon serve --upstream-url URL`` without ``--model``: the upstream's own models, served.

The stand-in upstream lists every model it holds a script for at ``GET /v1/models``, as vLLM
lists the models it loaded; antiphon must serve them under those names, and find a model the
upstream gained after antiphon started.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from antiphon.testing.upstream import UpstreamProcess, chat_chunks, turn
from tests.e2e.support import ServerProcess, StreamRecorder, make_client, write_config

pytestmark = pytest.mark.e2e


async def test_serve_without_a_model_serves_the_upstreams_own_models(
    upstream: UpstreamProcess, tmp_path: Path
) -> None:
    # Re-list on every miss, so the model added below is found without waiting.
    config = write_config(tmp_path / "antiphon.toml", [], server={"model_refresh_seconds": 0})
    stderr = tmp_path / "stderr.log"
    args = ["--upstream-url", upstream.base_url, "--config", str(config), "--store", "memory"]
    args += ["--no-code-interpreter", "--log-level", "info"]
    async with upstream.control() as control:
        await control.script("org/early-model", [turn(chat_chunks(content=["Hello", "!"]))])
        with ServerProcess(args, stderr=stderr) as server:
            async with make_client(server.url, StreamRecorder()) as client:
                names = [model.id async for model in client.models.list()]
                early = await client.responses.create(model="org/early-model", input="Hi")
                await control.script("late-model", [turn(chat_chunks(content=["Late"]))])
                late = await client.responses.create(model="late-model", input="Hi")
                with pytest.raises(openai.NotFoundError) as unknown:
                    await client.responses.create(model="never-listed", input="Hi")
        sent = [body["model"] for body in await control.bodies("org/early-model")]
    assert names == ["org/early-model"]
    assert (early.model, early.output_text) == ("org/early-model", "Hello!")
    assert (late.model, late.output_text) == ("late-model", "Late")
    assert sent == ["org/early-model"]
    assert unknown.value.code == "model_not_found"
    log = stderr.read_text(encoding="utf-8")
    assert f"serving the upstream's models from {upstream.base_url}/models" in log
    assert "org/early-model" in log
