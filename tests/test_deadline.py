"""``Deadline``: one timer for many awaits of one task, with ``asyncio.timeout_at``'s outcome."""

from __future__ import annotations

import asyncio

import pytest

from antiphon._deadline import Deadline, aclosing_deadline

_SOON = 0.05  # seconds: the deadline of the tests that reach it
_TIMEOUT = 10.0  # the bound of every test, never reached when the code is right


async def _never() -> None:
    await asyncio.get_running_loop().create_future()


async def test_a_wait_running_when_the_time_comes_raises_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + _SOON)
    async with asyncio.timeout(_TIMEOUT), aclosing_deadline(deadline):
        for _ in range(3):  # waits that end in time leave the deadline armed
            async with deadline:
                await asyncio.sleep(0)
        assert not deadline.expired()
        with pytest.raises(TimeoutError):
            async with deadline:
                await _never()
    assert deadline.expired()


async def test_time_outside_the_guarded_waits_is_never_interrupted() -> None:
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + _SOON)
    passed = asyncio.Event()
    loop.call_at(deadline.when or 0.0, passed.set)
    async with asyncio.timeout(_TIMEOUT), aclosing_deadline(deadline):
        async with deadline:
            await asyncio.sleep(0)
        await passed.wait()  # the deadline passes here, outside any guarded wait
        await asyncio.sleep(0)  # and the timer has had its turn: nothing was cancelled
        with pytest.raises(TimeoutError):  # the next wait is refused at once
            async with deadline:
                await asyncio.sleep(0)
    assert deadline.expired()


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + 3600)
    entered = asyncio.Event()

    async def guarded() -> None:
        async with deadline:
            entered.set()
            await _never()

    async with asyncio.timeout(_TIMEOUT):
        task = asyncio.create_task(guarded())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not deadline.expired()
    deadline.close()


async def test_no_deadline_never_interrupts_a_wait() -> None:
    deadline = Deadline(None)
    loop = asyncio.get_running_loop()
    later = asyncio.Event()
    loop.call_later(_SOON, later.set)
    async with asyncio.timeout(_TIMEOUT), aclosing_deadline(deadline), deadline:
        await later.wait()
    assert not deadline.expired()
