"""The task owner: every task the session starts is tracked, cancelled and awaited on close."""

from __future__ import annotations

import asyncio

import pytest

from antiphon.exceptions import ProtocolError
from antiphon.realtime._tasks import TaskOwner


async def test_a_crashed_task_is_reported_once_and_forgotten() -> None:
    crashes: list[BaseException] = []
    owner = TaskOwner(crashes.append)

    async def boom() -> None:
        raise ValueError("bug")

    task = owner.spawn(boom(), name="boom")
    await asyncio.wait({task})
    assert [type(error) for error in crashes] == [ValueError]
    assert len(owner) == 0


async def test_shutdown_cancels_and_awaits_every_task_but_the_callers() -> None:
    owner = TaskOwner(lambda error: None)
    started = asyncio.Event()
    cancelled: list[str] = []

    async def forever(name: str) -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def closer() -> None:
        await started.wait()
        await owner.shutdown(grace=5)

    owner.spawn(forever("a"), name="a")
    owner.spawn(forever("b"), name="b")
    closing = owner.spawn(closer(), name="closer")
    await asyncio.wait({closing})
    assert sorted(cancelled) == ["a", "b"]
    assert not closing.cancelled()
    assert len(owner) == 0


async def test_no_task_starts_after_shutdown() -> None:
    owner = TaskOwner(lambda error: None)
    await owner.shutdown(grace=1)

    async def late() -> None:
        raise AssertionError("must never run")

    with pytest.raises(ProtocolError, match="expected an open owner, found closed"):
        owner.spawn(late(), name="late")
