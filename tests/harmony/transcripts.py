"""Harmony transcripts as data: model output text, the declared tools, what must come out of it.

Each transcript lists, per complete message, the parsed message, how it ended (the stop token or
None) and its classification against the transcript's declared tools. The texts are what an
upstream returns after the prompt's ``<|start|>assistant`` (stop tokens sometimes stripped).
"""

from __future__ import annotations

from dataclasses import dataclass

from antiphon.harmony.classifier import (
    Classification,
    DeclaredTools,
    MessageKind,
    MessagePhase,
    WebSearchAction,
)
from antiphon.harmony.messages import HarmonyHeader, HarmonyMessage
from antiphon.harmony.tools import FunctionTool, McpServerTools


@dataclass(frozen=True, slots=True)
class Expected:
    message: HarmonyMessage
    stop: str | None
    classification: Classification


@dataclass(frozen=True, slots=True)
class Transcript:
    name: str
    text: str
    tools: DeclaredTools
    expected: tuple[Expected, ...]


def _h(
    channel: str | None = None,
    recipient: str | None = None,
    content_type: str | None = None,
    role: str = "assistant",
) -> HarmonyHeader:
    return HarmonyHeader(role, channel, recipient, content_type)


def _e(header: HarmonyHeader, content: str, stop: str | None, verdict: Classification) -> Expected:
    return Expected(HarmonyMessage(header, content), stop, verdict)


def _fn(name: str, recipient: str | None = None) -> Classification:
    return Classification(MessageKind.FUNCTION_CALL, recipient or f"functions.{name}", name=name)


def _unknown(recipient: str) -> Classification:
    return Classification(MessageKind.UNKNOWN_TOOL, recipient, name=recipient)


def _web(recipient: str, action: WebSearchAction) -> Classification:
    return Classification(MessageKind.WEB_SEARCH_CALL, recipient, action=action)


REASONING = Classification(MessageKind.REASONING)
PREAMBLE = Classification(MessageKind.MESSAGE, phase=MessagePhase.COMMENTARY)
FINAL = Classification(MessageKind.MESSAGE, phase=MessagePhase.FINAL_ANSWER)

NONE = DeclaredTools()
WEATHER = DeclaredTools.build(functions=["get_weather", "get_time"])
GITHUB = McpServerTools("GitHub Tools", (FunctionTool("search_issues"),))
CALC = McpServerTools("calc", (FunctionTool("add"), FunctionTool("ops.add")))
EVERYTHING = DeclaredTools.build(
    functions=["get_weather"],
    code_interpreter=True,
    web_search=True,
    mcp_servers=[GITHUB, CALC],
)
MCP_ONLY = DeclaredTools.build(mcp_servers=[GITHUB, CALC])
ARGS = '{"location": "Paris"}'
END, CALL, RETURN = "<|end|>", "<|call|>", "<|return|>"

TRANSCRIPTS: tuple[Transcript, ...] = (
    Transcript(
        "analysis_then_final",
        "<|channel|>analysis<|message|>The user greets.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|return|>",
        NONE,
        (
            _e(_h("analysis"), "The user greets.", END, REASONING),
            _e(_h("final"), "Hello! How can I help?", RETURN, FINAL),
        ),
    ),
    Transcript(
        "preamble_then_call_recipient_after_channel",
        "<|channel|>commentary<|message|>Checking the weather.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
        f"<|message|>{ARGS}<|call|>",
        WEATHER,
        (
            _e(_h("commentary"), "Checking the weather.", END, PREAMBLE),
            _e(
                _h("commentary", "functions.get_weather", "<|constrain|>json"),
                ARGS,
                CALL,
                _fn("get_weather"),
            ),
        ),
    ),
    Transcript(
        "call_recipient_before_channel",
        f"<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{ARGS}",
        WEATHER,
        (_e(_h("commentary", "functions.get_weather", "json"), ARGS, None, _fn("get_weather")),),
    ),
    Transcript(
        "implicit_header_recipient_first",
        " to=functions.get_time<|channel|>commentary <|constrain|>json<|message|>{}<|call|>",
        WEATHER,
        (
            _e(
                _h("commentary", "functions.get_time", "<|constrain|>json"),
                "{}",
                CALL,
                _fn("get_time"),
            ),
        ),
    ),
    Transcript(
        "constrain_glued_to_recipient",
        f"<|channel|>commentary to=functions.get_weather<|constrain|>json<|message|>{ARGS}<|call|>",
        WEATHER,
        (
            _e(
                _h("commentary", "functions.get_weather", "<|constrain|>json"),
                ARGS,
                CALL,
                _fn("get_weather"),
            ),
        ),
    ),
    Transcript(
        "constrain_spaced_from_type",
        f"<|channel|>commentary to=functions.get_weather <|constrain|> json<|message|>{ARGS}",
        WEATHER,
        (
            _e(
                _h("commentary", "functions.get_weather", "<|constrain|>json"),
                ARGS,
                None,
                _fn("get_weather"),
            ),
        ),
    ),
    Transcript(
        "constrain_without_recipient_is_a_final_answer_not_mcp",
        '<|channel|>final <|constrain|>json<|message|>{"answer": 4}<|return|>',
        MCP_ONLY,
        (_e(_h("final", None, "<|constrain|>json"), '{"answer": 4}', RETURN, FINAL),),
    ),
    Transcript(
        "declared_bare_function_name",
        "<|channel|>commentary to=get_time json<|message|>{}<|call|>",
        WEATHER,
        (_e(_h("commentary", "get_time", "json"), "{}", CALL, _fn("get_time", "get_time")),),
    ),
    Transcript(
        "python_call_while_mcp_is_declared",
        "<|channel|>analysis<|message|>Compute it.<|end|>"
        "<|start|>assistant<|channel|>analysis to=python code<|message|>print(2 ** 10)<|call|>",
        EVERYTHING,
        (
            _e(_h("analysis"), "Compute it.", END, REASONING),
            _e(
                _h("analysis", "python", "code"),
                "print(2 ** 10)",
                CALL,
                Classification(MessageKind.CODE_INTERPRETER_CALL, "python"),
            ),
        ),
    ),
    Transcript(
        "browser_search_open_find_with_results",
        '<|channel|>analysis to=browser.search code<|message|>{"query": "harmony"}<|call|>'
        "<|start|>browser.search to=assistant<|channel|>analysis<|message|>[0] Harmony<|end|>"
        '<|start|>assistant<|channel|>analysis to=browser.open code<|message|>{"id": 0}<|call|>'
        "<|start|>browser.open to=assistant<|channel|>analysis<|message|>page text<|end|>"
        '<|start|>assistant<|channel|>commentary to=browser.find code<|message|>{"pattern": "x"}',
        EVERYTHING,
        (
            _e(
                _h("analysis", "browser.search", "code"),
                '{"query": "harmony"}',
                CALL,
                _web("browser.search", WebSearchAction.SEARCH),
            ),
            _e(_h("analysis", "assistant", role="browser.search"), "[0] Harmony", END, REASONING),
            _e(
                _h("analysis", "browser.open", "code"),
                '{"id": 0}',
                CALL,
                _web("browser.open", WebSearchAction.OPEN_PAGE),
            ),
            _e(_h("analysis", "assistant", role="browser.open"), "page text", END, REASONING),
            _e(
                _h("commentary", "browser.find", "code"),
                '{"pattern": "x"}',
                None,
                _web("browser.find", WebSearchAction.FIND_IN_PAGE),
            ),
        ),
    ),
    Transcript(
        "mcp_call_on_a_declared_server",
        "<|channel|>commentary to=github_tools.search_issues <|constrain|>json"
        '<|message|>{"q": "bug"}<|call|>',
        MCP_ONLY,
        (
            _e(
                _h("commentary", "github_tools.search_issues", "<|constrain|>json"),
                '{"q": "bug"}',
                CALL,
                Classification(
                    MessageKind.MCP_CALL,
                    "github_tools.search_issues",
                    name="search_issues",
                    server_label="GitHub Tools",
                ),
            ),
        ),
    ),
    Transcript(
        "mcp_tool_not_in_allowed_tools",
        "<|channel|>commentary to=github_tools.delete_repo json<|message|>{}<|call|>",
        MCP_ONLY,
        (
            _e(
                _h("commentary", "github_tools.delete_repo", "json"),
                "{}",
                CALL,
                _unknown("github_tools.delete_repo"),
            ),
        ),
    ),
    Transcript(
        "undeclared_builtins_are_unknown_even_with_mcp",
        "<|channel|>analysis to=python code<|message|>1+1<|call|>"
        '<|start|>assistant<|channel|>analysis to=browser.search code<|message|>{"query": "q"}',
        MCP_ONLY,
        (
            _e(_h("analysis", "python", "code"), "1+1", CALL, _unknown("python")),
            _e(
                _h("analysis", "browser.search", "code"),
                '{"query": "q"}',
                None,
                _unknown("browser.search"),
            ),
        ),
    ),
    Transcript(
        "unknown_namespaces_and_undeclared_functions",
        "<|channel|>commentary to=container.exec json<|message|>{}<|call|>"
        "<|start|>assistant<|channel|>commentary to=weather.get json<|message|>{}<|call|>"
        "<|start|>assistant<|channel|>commentary to=functions.rm_rf json<|message|>{}<|call|>",
        EVERYTHING,
        (
            _e(_h("commentary", "container.exec", "json"), "{}", CALL, _unknown("container.exec")),
            _e(_h("commentary", "weather.get", "json"), "{}", CALL, _unknown("weather.get")),
            _e(
                _h("commentary", "functions.rm_rf", "json"), "{}", CALL, _unknown("functions.rm_rf")
            ),
        ),
    ),
    Transcript(
        "missing_start_plain_text",
        "The answer is 4 < 5.",
        NONE,
        (_e(_h(), "The answer is 4 < 5.", None, FINAL),),
    ),
    Transcript(
        "missing_end_at_end_of_stream",
        "<|start|>assistant<|channel|>final<|message|>Cut short by max tokens",
        NONE,
        (_e(_h("final"), "Cut short by max tokens", None, FINAL),),
    ),
    Transcript(
        "cut_mid_token",
        "<|channel|>final<|message|>Almost done<|ret",
        NONE,
        (_e(_h("final"), "Almost done", None, FINAL),),
    ),
    Transcript(
        "cut_mid_header",
        "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>comm",
        NONE,
        (_e(_h("analysis"), "Think.", END, REASONING),),
    ),
    Transcript(
        "leaked_control_tokens_in_names",
        "<|start|>assistant<|channel|>commentary to=functions.get_weather<|refusal|> json"
        f"<|message|>{ARGS}<|call|>",
        WEATHER,
        (_e(_h("commentary", "functions.get_weather", "json"), ARGS, CALL, _fn("get_weather")),),
    ),
    Transcript(
        "tool_result_then_final",
        '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"c": 21}'
        "<|end|><|start|>assistant<|channel|>final<|message|>It is 21 C.<|return|>",
        WEATHER,
        (
            _e(
                _h("commentary", "assistant", role="functions.get_weather"),
                '{"c": 21}',
                END,
                PREAMBLE,
            ),
            _e(_h("final"), "It is 21 C.", RETURN, FINAL),
        ),
    ),
    Transcript(
        "whitespace_and_stray_stop_between_messages",
        "<|channel|>final<|message|>A<|end|>\n<|end|>\n\n<|start|>assistant<|channel|>final"
        "<|message|>B<|end|>",
        NONE,
        (_e(_h("final"), "A", END, FINAL), _e(_h("final"), "B", END, FINAL)),
    ),
    Transcript(
        "header_ended_by_stop_is_an_empty_call",
        "<|channel|>commentary to=functions.get_time json<|call|>",
        WEATHER,
        (_e(_h("commentary", "functions.get_time", "json"), "", CALL, _fn("get_time")),),
    ),
    Transcript(
        "markup_and_stray_tokens_inside_content",
        "<|channel|>final<|message|><b>bold</b> a <|message|> b <|channel|> c <| d<|end|>",
        NONE,
        (_e(_h("final"), "<b>bold</b> a <|message|> b <|channel|> c <| d", END, FINAL),),
    ),
    Transcript(
        "parallel_calls_without_stop_tokens_between",
        f"<|channel|>commentary to=functions.get_weather json<|message|>{ARGS}"
        "<|start|>assistant<|channel|>commentary to=functions.get_time json<|message|>{}",
        WEATHER,
        (
            _e(_h("commentary", "functions.get_weather", "json"), ARGS, None, _fn("get_weather")),
            _e(_h("commentary", "functions.get_time", "json"), "{}", None, _fn("get_time")),
        ),
    ),
    Transcript(
        "message_token_without_channel",
        "<|message|>Hi there<|return|>",
        NONE,
        (_e(_h(), "Hi there", RETURN, FINAL),),
    ),
)
