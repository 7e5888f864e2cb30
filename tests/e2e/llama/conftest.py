"""Fixtures of the real-engine suite: llama.cpp's server, the recording proxy, ``antiphon serve``.

One of each for this package, stopped after its last test (the engine loads its model once).
antiphon's config routes :data:`CHAT` to the engine's plain ``chatml`` model, streamed, and
:data:`TOOLS` to its ``chatml-function-calling`` model, asked unstreamed
(``upstream_stream = false``), which is how llama.cpp has to be asked when it may choose tool
calls itself.

Without :data:`~tests.e2e.llama.engine.ENGINE_PYTHON_VARIABLE` (pytest run directly, not through
``python3 scripts/dev.py test``) the tests are skipped; with
:data:`~tests.e2e.llama.engine.REQUIRE_ENGINE_VARIABLE` set to ``1`` a missing engine fails them.

The ``server`` fixture replaces the parent suite's, so its ``client`` and ``recorder`` fixtures
talk to this server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.llama.engine import (
    CHAT_MODEL,
    ENGINE_PYTHON_VARIABLE,
    REQUIRE_ENGINE_VARIABLE,
    TOOLS_MODEL,
    EngineUnavailableError,
    LlamaServer,
    RecordingProxy,
    find_model,
)
from tests.e2e.support import ServerProcess, write_config

#: antiphon's name for the engine's ``chatml`` model, streamed from the engine.
CHAT = "smol"
#: antiphon's name for the engine's ``chatml-function-calling`` model, unstreamed from it.
TOOLS = "smol-tools"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENGINE_VARIABLE) == "1":
        pytest.fail(f"the llama.cpp engine is required here: {reason}")
    pytest.skip(f"{reason}; `python3 scripts/dev.py test` installs the engine and sets it")


@pytest.fixture(scope="package")
def engine_model() -> tuple[str, Path]:
    """The engine's python and the model file, or a skip (a failure under ``dev.py test``)."""
    python = os.environ.get(ENGINE_PYTHON_VARIABLE)
    if not python:
        _unavailable(f"{ENGINE_PYTHON_VARIABLE} is not set")
    assert python is not None
    try:
        return python, find_model(python)
    except EngineUnavailableError as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture(scope="package")
def llama(
    engine_model: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    python, model = engine_model
    with LlamaServer(python, model, tmp_path_factory.mktemp("llama")) as engine:
        yield engine


@pytest.fixture(scope="package")
def proxy(llama: LlamaServer) -> Iterator[RecordingProxy]:
    with RecordingProxy(llama.url) as recording:
        yield recording


@pytest.fixture(scope="package")
def server(
    proxy: RecordingProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("antiphon-llama")
    upstream = f"{proxy.url}/v1"
    routes: list[dict[str, str | float]] = [
        {
            "name": CHAT,
            "upstream_api": "chat",
            "upstream_url": upstream,
            "upstream_model": CHAT_MODEL,
        },
        {
            "name": TOOLS,
            "upstream_api": "chat",
            "upstream_url": upstream,
            "upstream_model": TOOLS_MODEL,
            "upstream_stream": False,
        },
    ]
    config = write_config(directory / "antiphon.toml", routes)
    store = directory / "responses.sqlite3"
    with ServerProcess(["--config", str(config), "--store", str(store)]) as process:
        yield process
