"""AsyncResource: what an owner enters on its stack is left on exit, or on a failed open."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from antiphon._resource import AsyncResource


class _Owner(AsyncResource):
    """Owns a task group and cancels its endless tasks on exit, as the real owners do."""

    def __init__(self, *, fail_open: bool = False) -> None:
        self.log: list[str] = []
        self.group = asyncio.TaskGroup()
        self.tasks: list[asyncio.Task[None]] = []
        self.fail_open = fail_open

    async def _open(self, stack: AsyncExitStack) -> None:
        stack.callback(self.log.append, "after the group")
        await stack.enter_async_context(self.group)
        stack.callback(self._cancel)
        if self.fail_open:
            raise RuntimeError("open failed")

    def _cancel(self) -> None:
        self.log.append("cancel")
        for task in self.tasks:
            task.cancel()

    async def start_work(self) -> None:
        """Start a task that runs until cancelled; return once it runs."""
        started = asyncio.Event()
        self.tasks.append(self.group.create_task(self._work(started)))
        await started.wait()

    async def _work(self, started: asyncio.Event) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append("task ended")


async def test_exit_leaves_what_open_entered_in_reverse_order() -> None:
    owner = _Owner()
    async with owner:
        await owner.start_work()
        owner.log.append("block done")
    assert owner.log == ["block done", "cancel", "task ended", "after the group"]


async def test_a_failed_open_unwinds_what_was_entered() -> None:
    owner = _Owner(fail_open=True)
    with pytest.raises(ExceptionGroup) as caught:  # it failed inside the task group
        await owner.__aenter__()
    assert caught.group_contains(RuntimeError, match="open failed")
    assert owner.log == ["cancel", "after the group"]
    await owner.__aexit__(None, None, None)  # nothing is left to leave
    assert owner.log == ["cancel", "after the group"]


async def test_an_error_in_the_block_reaches_the_group_and_propagates() -> None:
    owner = _Owner()
    with pytest.raises(ExceptionGroup) as caught:
        await _fail_inside(owner)
    assert caught.group_contains(ValueError, match="boom")
    assert owner.log == ["cancel", "task ended", "after the group"]


async def _fail_inside(owner: _Owner) -> None:
    async with owner:
        await owner.start_work()
        raise ValueError("boom")
