"""Issue 9, defect 10: MCP credentials never reach the log; headers cannot steer the connection.

A non-ASCII ``authorization`` or header value used to fail inside the HTTP client, and the
exception's repr (the whole value) went to the server log. Such values are now a 400 naming the
field, and the connection's log line names exception types only. Hop-by-hop and computed headers
(``Host``, ``Connection``, ``Content-Length``, ``Proxy-*``, ...) are refused.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from antiphon.tools.mcp import McpServerConfig
from antiphon.tools.mcp._connection import McpConnection
from tests.security.support import running, settings_for

_SECRET = "s\u00e9cret-token-1234"
_DOCS = McpServerConfig("docs", "http", url="http://mcp.test/mcp")


def _mcp(**credentials: Any) -> dict[str, Any]:
    tool = {"type": "mcp", "server_label": "docs", "require_approval": "never", **credentials}
    return {"model": "scripted", "input": "Hi", "tools": [tool]}


@pytest.mark.parametrize(
    ("credentials", "param"),
    [
        ({"authorization": _SECRET}, "tools[0].authorization"),
        ({"headers": {"X-Api-Key": _SECRET}}, "tools[0].headers.X-Api-Key"),
        ({"headers": {"X-Api-Key": "line\u0001break"}}, "tools[0].headers.X-Api-Key"),
        ({"headers": {"X Api Key": "v"}}, "tools[0].headers"),
    ],
    ids=["authorization", "header-value", "control-character", "header-name"],
)
async def test_a_credential_http_cannot_carry_is_a_400_and_never_logged(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    credentials: dict[str, Any],
    param: str,
) -> None:
    settings = settings_for(tmp_path, mcp_servers=(_DOCS,))
    with caplog.at_level(logging.DEBUG):
        async with running(settings) as http:
            answer = await http.post("/v1/responses", json=_mcp(**credentials))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
    assert _SECRET not in answer.text
    assert _SECRET not in caplog.text


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "connection",
        "Keep-Alive",
        "Transfer-Encoding",
        "TE",
        "Trailer",
        "Upgrade",
        "Proxy-Authorization",
        "Proxy-Connection",
        "Content-Length",
    ],
)
async def test_hop_by_hop_and_computed_headers_are_refused(tmp_path: Path, name: str) -> None:
    settings = settings_for(tmp_path, mcp_servers=(_DOCS,))
    async with running(settings) as http:
        answer = await http.post("/v1/responses", json=_mcp(headers={name: "internal.example"}))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == f"tools[0].headers.{name}"


async def test_a_failing_mcp_session_logs_no_header_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The request check above is the first line; this is the second, should a value slip by.
    connection = McpConnection(_DOCS, {"Authorization": f"Bearer {_SECRET}"})
    with caplog.at_level(logging.WARNING, logger="antiphon.tools.mcp"):
        await connection.run()
    assert connection.closed.is_set()
    assert "session ended: UnicodeEncodeError" in caplog.text
    assert _SECRET not in caplog.text
