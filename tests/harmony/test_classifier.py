from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from antiphon.exceptions import ConfigurationError
from antiphon.harmony.classifier import (
    Classification,
    DeclaredTools,
    MessageKind,
    MessagePhase,
    classify,
    sanitize_recipient,
)
from antiphon.harmony.messages import HarmonyHeader, mcp_namespace
from antiphon.harmony.parser import parse_text
from antiphon.harmony.tools import FunctionTool, McpServerTools
from tests.harmony.transcripts import CALC, EVERYTHING, GITHUB, MCP_ONLY, TRANSCRIPTS, Transcript


def call(recipient: str | None, channel: str | None = "commentary") -> HarmonyHeader:
    return HarmonyHeader("assistant", channel, recipient, "json")


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda t: t.name)
def test_transcript_messages_classify_as_expected(transcript: Transcript) -> None:
    parsed = parse_text(transcript.text)
    verdicts = [classify(p.message.header, transcript.tools) for p in parsed]
    assert verdicts == [e.classification for e in transcript.expected]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("analysis", Classification(MessageKind.REASONING)),
        ("commentary", Classification(MessageKind.MESSAGE, phase=MessagePhase.COMMENTARY)),
        ("final", Classification(MessageKind.MESSAGE, phase=MessagePhase.FINAL_ANSWER)),
        (None, Classification(MessageKind.MESSAGE, phase=MessagePhase.FINAL_ANSWER)),
        ("bogus", Classification(MessageKind.MESSAGE, phase=MessagePhase.FINAL_ANSWER)),
    ],
)
def test_without_recipient_the_channel_decides(
    channel: str | None, expected: Classification
) -> None:
    assert classify(HarmonyHeader("assistant", channel), EVERYTHING) == expected
    for recipient in ("assistant", "user", "system", " assistant<|end|>"):
        assert classify(call(recipient, channel), EVERYTHING) == expected


def test_python_goes_to_the_code_interpreter_even_with_an_mcp_server_named_python() -> None:
    python = McpServerTools("python", (FunctionTool("run"),))
    tools = DeclaredTools.build(code_interpreter=True, mcp_servers=[python])
    assert mcp_namespace("python") == "mcp_python"
    assert classify(call("python"), tools).kind is MessageKind.CODE_INTERPRETER_CALL
    assert classify(call("python.exec"), tools).kind is MessageKind.CODE_INTERPRETER_CALL
    mcp = classify(call("mcp_python.run"), tools)
    assert (mcp.kind, mcp.server_label, mcp.name) == (MessageKind.MCP_CALL, "python", "run")


@pytest.mark.parametrize("recipient", ["python", "python.exec", "browser.search", "container.x"])
def test_builtins_not_enabled_are_unknown_never_mcp(recipient: str) -> None:
    # Servers labelled like the built-ins, offering tools of the same names: still not MCP.
    offered = tuple(FunctionTool(name) for name in ("exec", "search", "x"))
    labels = ("anything", "python", "browser", "container")
    tools = DeclaredTools.build(mcp_servers=[McpServerTools(label, offered) for label in labels])
    assert classify(call(recipient), tools) == Classification(
        MessageKind.UNKNOWN_TOOL, recipient, name=recipient
    )


@pytest.mark.parametrize("recipient", ["browser.navigate", "browser", "browser.", "functions."])
def test_malformed_builtin_recipients_are_unknown(recipient: str) -> None:
    assert classify(call(recipient), EVERYTHING).kind is MessageKind.UNKNOWN_TOOL


@pytest.mark.parametrize("channel", ["analysis", "commentary", "final", None])
def test_channel_never_changes_tool_routing(channel: str | None) -> None:
    header = call("functions.get_weather", channel)
    assert classify(header, EVERYTHING).kind is MessageKind.FUNCTION_CALL
    assert classify(call("browser.open", channel), EVERYTHING).kind is (MessageKind.WEB_SEARCH_CALL)


def test_a_leaked_token_is_cut_off_the_recipient() -> None:
    verdict = classify(call("functions.get_weather<|channel|>commentary"), EVERYTHING)
    assert (verdict.kind, verdict.name) == (MessageKind.FUNCTION_CALL, "get_weather")
    assert sanitize_recipient("<|constrain|>json") is None
    assert sanitize_recipient(None) is None


def test_a_declared_function_named_like_a_builtin_wins() -> None:
    tools = DeclaredTools.build(functions=["python"], code_interpreter=True)
    assert classify(call("python"), tools) == Classification(
        MessageKind.FUNCTION_CALL, "python", name="python"
    )


def test_mcp_calls_route_only_to_the_tools_a_server_offers() -> None:
    verdict = classify(call("calc.add"), MCP_ONLY)
    assert (verdict.kind, verdict.server_label, verdict.name) == (
        MessageKind.MCP_CALL,
        "calc",
        "add",
    )
    assert classify(call("calc.sub"), MCP_ONLY).kind is MessageKind.UNKNOWN_TOOL
    assert classify(call("calc."), MCP_ONLY).kind is MessageKind.UNKNOWN_TOOL
    assert classify(call("calc"), MCP_ONLY).kind is MessageKind.UNKNOWN_TOOL
    empty = DeclaredTools.build(mcp_servers=[McpServerTools("calc")])
    assert classify(call("calc.add"), empty).kind is MessageKind.UNKNOWN_TOOL


def test_mcp_tool_names_may_contain_dots() -> None:
    verdict = classify(call("calc.ops.add"), MCP_ONLY)
    assert (verdict.kind, verdict.name) == (MessageKind.MCP_CALL, "ops.add")


def test_labels_sharing_a_namespace_are_rejected() -> None:
    servers = [McpServerTools("My Server"), McpServerTools("my_server")]
    with pytest.raises(ConfigurationError, match="share the namespace 'my_server'"):
        DeclaredTools.build(mcp_servers=servers)


def test_declared_tools_are_read_only() -> None:
    assert dict(MCP_ONLY.mcp_servers) == {
        "github_tools": GITHUB,
        "calc": CALC,
    }
    assert isinstance(MCP_ONLY.mcp_servers, MappingProxyType)
    assert DeclaredTools().mcp_servers == {}


RECIPIENTS = st.text(
    alphabet=st.sampled_from(list("abcfpynost._<|> ")), max_size=24
) | st.sampled_from(["functions.get_weather", "github_tools.delete_repo", "calc.add"])


@given(RECIPIENTS, st.sampled_from(["analysis", "commentary", "final", None]))
def test_mcp_call_only_for_a_declared_and_allowed_tool(recipient: str, channel: str | None) -> None:
    verdict = classify(call(recipient, channel), EVERYTHING)
    if verdict.kind is MessageKind.MCP_CALL:
        assert verdict.recipient is not None
        namespace, _, tool = verdict.recipient.partition(".")
        server = EVERYTHING.mcp_servers[namespace]
        assert server.server_label == verdict.server_label
        assert server.offers(tool)
    if verdict.kind is MessageKind.UNKNOWN_TOOL:
        assert verdict.recipient == verdict.name
        assert verdict.recipient is not None
        assert "<|" not in verdict.recipient
