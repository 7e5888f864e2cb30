"""The recipient classifier: what a harmony message is, decided by its header alone.

Sans-I/O and total: :func:`classify` looks the header's recipient up, explicitly, in the tools
the request declared (:class:`DeclaredTools`) and returns a :class:`Classification`; it never
raises. The header is complete at ``<|message|>``, so the caller knows which item to open before
the first content delta.

Routing never guesses: a recipient is an MCP call only when its namespace is the one rendered for
a declared MCP server and the tool is one that server offers (listed, filtered by
``allowed_tools``). Built-ins that were not enabled, undeclared functions and unknown namespaces
are :attr:`MessageKind.UNKNOWN_TOOL` (the caller answers the model with an error), never an MCP
call. The channel only tells reasoning from a preamble from a final answer; it never influences
tool routing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final

from antiphon.exceptions import ConfigurationError
from antiphon.harmony.messages import HarmonyHeader
from antiphon.harmony.tools import McpServerTools

__all__ = [
    "Classification",
    "DeclaredTools",
    "MessageKind",
    "MessagePhase",
    "WebSearchAction",
    "classify",
    "sanitize_recipient",
]


class MessageKind(Enum):
    """What a message is, as far as the Responses output is concerned."""

    REASONING = "reasoning"
    MESSAGE = "message"
    FUNCTION_CALL = "function_call"
    CODE_INTERPRETER_CALL = "code_interpreter_call"
    WEB_SEARCH_CALL = "web_search_call"
    MCP_CALL = "mcp_call"
    UNKNOWN_TOOL = "unknown_tool"


class MessagePhase(Enum):
    """The ``phase`` of an output message: a commentary preamble or the final answer."""

    COMMENTARY = "commentary"
    FINAL_ANSWER = "final_answer"


class WebSearchAction(Enum):
    """A browser call's action; the values are the Responses ``action.type`` strings."""

    SEARCH = "search"
    OPEN_PAGE = "open_page"
    FIND_IN_PAGE = "find_in_page"


def _no_servers() -> Mapping[str, McpServerTools]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DeclaredTools:
    """The tools one request offered the model; build it with :meth:`build`.

    ``mcp_servers`` maps each rendered namespace (:attr:`McpServerTools.namespace`) to its
    server; it is read-only.
    """

    functions: frozenset[str] = frozenset()
    code_interpreter: bool = False
    web_search: bool = False
    mcp_servers: Mapping[str, McpServerTools] = field(default_factory=_no_servers)

    @classmethod
    def build(
        cls,
        *,
        functions: Iterable[str] = (),
        code_interpreter: bool = False,
        web_search: bool = False,
        mcp_servers: Iterable[McpServerTools] = (),
    ) -> DeclaredTools:
        """Key the MCP servers by namespace; two labels that share one are a configuration error.

        Raises:
            ConfigurationError: two servers' labels map to the same namespace, or a label repeats.
        """
        by_namespace: dict[str, McpServerTools] = {}
        for server in mcp_servers:
            namespace = server.namespace
            other = by_namespace.setdefault(namespace, server)
            if other is not server:
                raise ConfigurationError(
                    f"MCP servers {other.server_label!r} and {server.server_label!r} "
                    f"share the namespace {namespace!r}; give them distinct labels"
                )
        return cls(
            functions=frozenset(functions),
            code_interpreter=code_interpreter,
            web_search=web_search,
            mcp_servers=MappingProxyType(by_namespace),
        )


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict on one header. Fields other than ``kind`` are set only where they apply.

    ``recipient`` is the sanitized recipient (tool kinds; the role of the error reply for an
    unknown tool); ``name`` the function or MCP tool name; ``server_label`` the MCP server;
    ``action`` the web search action; ``phase`` the message phase.
    """

    kind: MessageKind
    recipient: str | None = None
    name: str | None = None
    server_label: str | None = None
    action: WebSearchAction | None = None
    phase: MessagePhase | None = None


_TEXT_RECIPIENTS: Final = frozenset({"assistant", "user", "system", "developer"})
_BROWSER_ACTIONS: Final = MappingProxyType(
    {
        "search": WebSearchAction.SEARCH,
        "open": WebSearchAction.OPEN_PAGE,
        "find": WebSearchAction.FIND_IN_PAGE,
    }
)
_REASONING: Final = Classification(MessageKind.REASONING)
_PREAMBLE: Final = Classification(MessageKind.MESSAGE, phase=MessagePhase.COMMENTARY)
_FINAL: Final = Classification(MessageKind.MESSAGE, phase=MessagePhase.FINAL_ANSWER)


def sanitize_recipient(recipient: str | None) -> str | None:
    """Cut a recipient at the first ``<|`` (a leaked control token) and trim it; ``""`` -> None."""
    if recipient is None:
        return None
    return recipient.split("<|", 1)[0].strip() or None


def classify(header: HarmonyHeader, tools: DeclaredTools) -> Classification:
    """Classify a message header against the declared tools; see the module docstring."""
    recipient = sanitize_recipient(header.recipient)
    if recipient is None or recipient in _TEXT_RECIPIENTS:
        if header.channel == "analysis":
            return _REASONING
        return _PREAMBLE if header.channel == "commentary" else _FINAL
    return _route(recipient, tools)


def _route(recipient: str, tools: DeclaredTools) -> Classification:
    """Route a tool recipient: declared functions, enabled built-ins, declared MCP tools."""
    namespace, dot, tool = recipient.partition(".")
    function = tool if namespace == "functions" else recipient
    if function in tools.functions:
        return Classification(MessageKind.FUNCTION_CALL, recipient, name=function)
    if namespace == "python" and tools.code_interpreter:
        return Classification(MessageKind.CODE_INTERPRETER_CALL, recipient)
    action = _BROWSER_ACTIONS.get(tool) if namespace == "browser" and dot else None
    if action is not None and tools.web_search:
        return Classification(MessageKind.WEB_SEARCH_CALL, recipient, action=action)
    server = tools.mcp_servers.get(namespace) if dot and tool else None
    if server is not None and server.offers(tool):
        return Classification(
            MessageKind.MCP_CALL, recipient, name=tool, server_label=server.server_label
        )
    return Classification(MessageKind.UNKNOWN_TOOL, recipient, name=recipient)
