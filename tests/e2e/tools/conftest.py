"""The server-side tool tests share one `antiphon serve` with MCP servers per module."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import TOOLS_POOL_SIZE, ModelPool, ToolsServer
from tests.e2e.support import ServerProcess


@pytest.fixture(scope="module")
def server(tools_server: ToolsServer) -> ServerProcess:
    return tools_server.process


@pytest.fixture(scope="module")
def pool() -> ModelPool:
    return ModelPool.of(TOOLS_POOL_SIZE)
