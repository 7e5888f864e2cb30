"""The session lifecycle on its own: states, one ending, teardown errors kept for close()."""

from __future__ import annotations

import pytest

from antiphon.exceptions import ConfigurationError, TransportError
from antiphon.realtime._lifecycle import Lifecycle, SessionState


class Hooks:
    def __init__(self, fail_teardown: Exception | None = None) -> None:
        self.ended: list[BaseException | None] = []
        self.torn_down = 0
        self._fail = fail_teardown

    def on_end(self, error: BaseException | None) -> None:
        self.ended.append(error)

    async def tear_down(self) -> None:
        self.torn_down += 1
        if self._fail is not None:
            raise self._fail


def test_wrong_state_names_expected_and_actual() -> None:
    hooks = Hooks()
    lifecycle = Lifecycle(on_end=hooks.on_end, tear_down=hooks.tear_down)
    with pytest.raises(ConfigurationError, match="send: expected open session, found new"):
        lifecycle.require("send", SessionState.OPEN)


def test_ending_a_new_session_tears_nothing_down() -> None:
    hooks = Hooks()
    lifecycle = Lifecycle(on_end=hooks.on_end, tear_down=hooks.tear_down)
    lifecycle.end(None)
    assert lifecycle.state is SessionState.CLOSED
    assert hooks.ended == [None]
    assert hooks.torn_down == 0


async def test_the_first_end_wins_and_teardown_runs_once() -> None:
    hooks = Hooks()
    lifecycle = Lifecycle(on_end=hooks.on_end, tear_down=hooks.tear_down)
    lifecycle.open()
    first = TransportError("gone")
    lifecycle.end(first)
    lifecycle.end(TransportError("later"))
    assert lifecycle.state is SessionState.CLOSING
    await lifecycle.closed()
    assert lifecycle.state is SessionState.CLOSED
    assert hooks.ended == [first]
    assert hooks.torn_down == 1


async def test_a_teardown_error_is_kept_for_close_once() -> None:
    stuck = OSError("socket stuck")
    hooks = Hooks(fail_teardown=stuck)
    lifecycle = Lifecycle(on_end=hooks.on_end, tear_down=hooks.tear_down)
    lifecycle.open()
    lifecycle.end(None)
    await lifecycle.closed()
    assert lifecycle.state is SessionState.CLOSED
    assert lifecycle.take_close_error() is stuck
    assert lifecycle.take_close_error() is None
