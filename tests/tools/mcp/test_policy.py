from __future__ import annotations

import pytest
from openai.types.responses.tool import Mcp

from antiphon.tools.mcp import ApprovalPolicy, ToolFilter, is_read_only

READ_ONLY = {"readOnlyHint": True}


def _policy(require_approval: object) -> ApprovalPolicy:
    tool = Mcp.model_validate(
        {"type": "mcp", "server_label": "s", "require_approval": require_approval}
    )
    return ApprovalPolicy.from_require_approval(tool.require_approval)


@pytest.mark.parametrize(
    ("require_approval", "name", "annotations", "expected"),
    [
        (None, "add", None, True),  # OpenAI's default: approval required
        ("always", "whoami", READ_ONLY, True),
        ("never", "add", None, False),
        ({"never": {"tool_names": ["add"]}}, "add", None, False),
        ({"never": {"tool_names": ["add"]}}, "echo", None, True),
        ({"never": {"read_only": True}}, "whoami", READ_ONLY, False),
        ({"never": {"read_only": True}}, "add", None, True),
        ({"always": {"tool_names": ["add"]}}, "add", None, True),
        ({"always": {"tool_names": ["add"]}}, "echo", None, True),
        (
            {"always": {"tool_names": ["add"]}, "never": {"tool_names": ["echo"]}},
            "echo",
            None,
            False,
        ),
        ({"always": {"tool_names": ["add"]}, "never": {"tool_names": ["add"]}}, "add", None, True),
        ({"never": {}}, "add", None, True),  # an empty filter matches nothing
        ({"never": {"tool_names": ["whoami"], "read_only": True}}, "whoami", None, True),
        ({"never": {"tool_names": ["whoami"], "read_only": True}}, "whoami", READ_ONLY, False),
        ({}, "add", None, True),
    ],
)
def test_approval_policy_matrix(
    require_approval: object, name: str, annotations: object, expected: bool
) -> None:
    assert _policy(require_approval).needs_approval(name, annotations) is expected


@pytest.mark.parametrize(
    ("allowed", "name", "annotations", "expected"),
    [
        (None, "anything", None, True),
        (["add"], "add", None, True),
        (["add"], "echo", None, False),
        ({}, "echo", None, True),
        ({"tool_names": ["add", "whoami"], "read_only": True}, "whoami", READ_ONLY, True),
        ({"tool_names": ["add", "whoami"], "read_only": True}, "add", None, False),
        ({"read_only": False}, "add", None, True),
        ({"read_only": False}, "whoami", READ_ONLY, False),
    ],
)
def test_allowed_tools_filter(
    allowed: object, name: str, annotations: object, expected: bool
) -> None:
    tool = Mcp.model_validate({"type": "mcp", "server_label": "s", "allowed_tools": allowed})
    assert ToolFilter.from_allowed_tools(tool.allowed_tools).matches(name, annotations) is expected


def test_read_only_needs_a_true_hint() -> None:
    assert is_read_only(READ_ONLY)
    assert not is_read_only({"readOnlyHint": "yes"})
    assert not is_read_only(None)
    assert not is_read_only(["readOnlyHint"])
