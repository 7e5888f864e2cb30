"""The real bindings: one request's MCP server over the pool, and its code interpreter container."""

from __future__ import annotations

import asyncio

from antiphon.responses.bindings import ContainerBinding
from antiphon.tools.code_interpreter import ContainerManager, SandboxLimits, SandboxPolicy
from tests.responses.support import binding, mcp_pool


async def test_an_mcp_binding_lists_calls_and_applies_the_read_only_rule() -> None:
    async with mcp_pool() as pool:
        bound = binding(
            pool,
            server_description="Arithmetic.",
            allowed_tools=["add", "whoami"],
            require_approval={"never": {"read_only": True}},
        )
        assert (bound.server_label, bound.description) == ("calc", "Arithmetic.")
        listing = await bound.list_tools()
        assert listing.error is None
        assert sorted(tool.name for tool in listing.tools) == ["add", "whoami"]
        assert not bound.needs_approval("whoami")  # read-only, by its listed annotations
        assert bound.needs_approval("add")
        added = await bound.call("add", '{"a": 40, "b": 2}')
        assert (added.output, added.error) == ("42", None)
        refused = await bound.call("echo", '{"text": "x"}')  # outside allowed_tools
        assert refused.error is not None


async def test_a_container_keeps_its_state_across_calls() -> None:
    async with ContainerManager() as manager:
        bound = ContainerBinding(manager, None)
        assert bound.container_id == ""
        await bound.prepare()
        first = bound.container_id
        assert first.startswith("cntr_")
        assert (await bound.run("x = 20")).logs == ""
        outcome = await bound.run("print(x + 22)")
        assert (outcome.logs, outcome.failed) == ("42", False)
        assert bound.container_id == first
        broken = await bound.run("1 / 0")
        assert broken.failed
        assert "ZeroDivisionError" in broken.logs


async def test_a_lost_container_is_replaced_and_the_model_is_told() -> None:
    async with ContainerManager() as manager:
        bound = ContainerBinding(manager, "cntr_gone")
        outcome = await bound.run("print('fresh')")
        assert "cntr_gone is not running" in outcome.logs
        assert bound.container_id not in ("", "cntr_gone")


async def test_no_free_container_slot_is_an_answer_not_a_crash() -> None:
    limits = SandboxLimits(max_containers=1)
    async with ContainerManager(limits, SandboxPolicy(warm_worker=False)) as manager:
        # The first binding's worker is still starting when the second asks for a slot.
        first, second = ContainerBinding(manager, None), ContainerBinding(manager, None)
        await asyncio.gather(first.prepare(), second.prepare())
        assert first.container_id.startswith("cntr_")
        assert second.container_id == "cntr_unavailable"
        second = ContainerBinding(manager, None)
        # The only container is busy running a call when a binding without one runs code.
        ran, refused = await asyncio.gather(first.run("print(1)"), second.run("print(2)"))
        assert (ran.logs, ran.failed) == ("1", False)
        assert refused.failed
        assert refused.logs.startswith("The code interpreter is unavailable:")
