"""Helpers of the server-side tools e2e modules: stand-in turns that call tools, and MCP tools.

The stand-in plays chat or harmony (completions) turns; :func:`call_turn` writes the same tool
call for either API, so each test runs in both engines. :func:`told` returns what the model read
on a later request: where a tool's result or error must show.
"""

from __future__ import annotations

import json
from typing import Literal, Protocol

from openai.types.responses.tool_param import Mcp

from antiphon.engines._http import JSONObject
from antiphon.testing.upstream import (
    ToolCallScript,
    UpstreamControl,
    chat_chunks,
    completion_chunks,
    turn,
)

__all__ = ["APIS", "Api", "answer_turn", "call_turn", "code_turn", "mcp_tool", "model_of", "told"]


class ModelPoolLike(Protocol):
    """What :func:`model_of` needs of ``tests.e2e.conftest.ModelPool``."""

    def take_chat(self) -> str:
        """A fresh chat-routed name."""
        ...

    def take_harmony(self) -> str:
        """A fresh harmony-routed name."""
        ...


Api = Literal["chat", "harmony"]
#: Both upstream wire formats: every tool behaviour is checked through each.
APIS: tuple[Api, ...] = ("chat", "harmony")


def _chat_name(recipient: str) -> str:
    # The chat function name a recipient is offered under (see antiphon.engines.base).
    if recipient.startswith("functions."):
        return recipient.removeprefix("functions.")
    return recipient.replace(".", "__")


def call_turn(api: Api, recipient: str, arguments: str, *, call_id: str = "call_1") -> JSONObject:
    """A stand-in turn that reasons, then calls ``recipient`` (a harmony recipient) once."""
    if api == "chat":
        call = ToolCallScript(_chat_name(recipient), [arguments[:3], arguments[3:]], call_id)
        return turn(
            chat_chunks(
                reasoning=["Use ", "a tool."], tool_calls=[call], finish_reason="tool_calls"
            )
        )
    # gpt-oss writes code on the analysis channel and other calls on commentary.
    header = (
        "analysis to=python code"
        if recipient == "python"
        else (f"commentary to={recipient} <|constrain|>json")
    )
    text = (
        "<|channel|>analysis<|message|>Use a tool.<|end|>"
        f"<|start|>assistant<|channel|>{header}<|message|>{arguments}<|call|>"
    )
    return turn(completion_chunks([text[:40], text[40:]]))


def code_turn(api: Api, code: str) -> JSONObject:
    """A stand-in turn that runs ``code`` in the code interpreter (chat: ``{"code": ...}``)."""
    return call_turn(api, "python", json.dumps({"code": code}) if api == "chat" else code)


def answer_turn(api: Api, text: str) -> JSONObject:
    """A stand-in turn that answers ``text`` as the final message."""
    if api == "chat":
        return turn(chat_chunks(content=[text]))
    return turn(completion_chunks([f"<|channel|>final<|message|>{text}<|return|>"]))


def model_of(pool: ModelPoolLike, api: Api) -> str:
    """A fresh model name of ``pool`` routed to ``api``."""
    return pool.take_chat() if api == "chat" else pool.take_harmony()


async def told(control: UpstreamControl, model: str, index: int) -> str:
    """Request ``index`` the stand-in received for ``model``, as text (what the model read)."""
    bodies = await control.bodies(model)
    assert len(bodies) > index, f"the stand-in received {len(bodies)} requests"
    return json.dumps(bodies[index], ensure_ascii=False)


def mcp_tool(
    label: str,
    *,
    allowed_tools: list[str] | None = None,
    authorization: str | None = None,
    headers: dict[str, str] | None = None,
    server_url: str | None = None,
) -> Mcp:
    """A request's ``mcp`` tool for ``label``, without approvals."""
    tool: Mcp = {"type": "mcp", "server_label": label, "require_approval": "never"}
    if allowed_tools is not None:
        tool["allowed_tools"] = allowed_tools
    if authorization is not None:
        tool["authorization"] = authorization
    if headers is not None:
        tool["headers"] = headers
    if server_url is not None:
        tool["server_url"] = server_url
    return tool
