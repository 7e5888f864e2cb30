"""The realtime SDK's unit tests cross no socket: sessions run on the in-memory pair.

Tests that need a real socket (the WebSocket transport, the fake server's wire) live in
``tests/e2e/``. This guard makes the rule hold: opening a network connection or listening here
fails the test at once instead of silently turning a unit test into an e2e one.
"""

from __future__ import annotations

import socket

import pytest


class SocketUsed(AssertionError):
    """A unit test of the realtime SDK tried to use the network."""


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise SocketUsed("tests/realtime must not use sockets: put this test in tests/e2e")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # connect and bind only: the event loop's own self-pipe is a socketpair, which needs neither.
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, _refuse)
