"""The ephemeral client secret store: single use, expiry on an injected clock, a bounded size."""

from __future__ import annotations

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest

from antiphon.exceptions import InvalidRequestError
from antiphon.server.client_secrets import (
    SECRET_PREFIX,
    ClientSecretStore,
    new_secret_value,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_secret_is_long_random_and_prefixed() -> None:
    values = {new_secret_value() for _ in range(100)}
    assert len(values) == 100
    for value in values:
        assert value.startswith(SECRET_PREFIX)
        # 32 random bytes are 43 base64url characters.
        assert len(value) - len(SECRET_PREFIX) >= 43


def test_a_secret_is_redeemed_once_with_its_session() -> None:
    clock = Clock()
    store = ClientSecretStore(clock=clock)
    session = RealtimeSessionCreateRequest(type="realtime", instructions="Be brief.")
    secret = store.issue(600, session)
    assert secret.expires_at == 1_000_600
    assert store.is_valid(secret.value)
    assert store.is_valid(secret.value)  # asking does not use it up
    redeemed = store.redeem(secret.value)
    assert redeemed is not None
    assert redeemed.session == session
    assert redeemed.expires_at == secret.expires_at
    assert not store.is_valid(secret.value)
    assert store.redeem(secret.value) is None
    assert len(store) == 0


def test_a_secret_expires_at_its_instant() -> None:
    clock = Clock()
    store = ClientSecretStore(clock=clock)
    first, second = store.issue(10), store.issue(10)
    clock.now += 9.999
    assert store.is_valid(first.value)
    assert store.redeem(first.value) is not None
    clock.now += 0.001  # now == expires_at: refused from this instant on
    assert not store.is_valid(second.value)
    assert store.redeem(second.value) is None


@pytest.mark.parametrize(
    "guess",
    ["", "ek_", "ek_wrong", "sk-the-api-key", "\ud800", "x" * 10_000],
    ids=["empty", "prefix", "wrong", "api-key", "surrogate", "huge"],
)
def test_a_wrong_secret_is_refused_and_uses_nothing_up(guess: str) -> None:
    store = ClientSecretStore(clock=Clock())
    secret = store.issue(60)
    assert not store.is_valid(guess)
    assert store.redeem(guess) is None
    assert store.redeem(secret.value + "x") is None
    assert store.redeem(secret.value[:-1]) is None
    assert store.redeem(secret.value) is not None


def test_a_full_store_purges_expired_secrets_then_refuses_with_429() -> None:
    clock = Clock()
    store = ClientSecretStore(max_secrets=3, clock=clock)
    short = store.issue(10)
    kept = [store.issue(600), store.issue(600)]
    clock.now += 10
    third = store.issue(600)  # full: the expired one makes room
    assert len(store) == 3
    assert store.redeem(short.value) is None
    with pytest.raises(InvalidRequestError) as full:
        store.issue(600)
    assert (full.value.status, full.value.code) == (429, "rate_limit_exceeded")
    # A redeemed secret frees its place at once.
    assert store.redeem(third.value) is not None
    store.issue(600)
    assert all(store.is_valid(secret.value) for secret in kept)


def test_only_a_digest_of_each_secret_is_kept() -> None:
    store = ClientSecretStore(clock=Clock(), new_value=lambda: "ek_predictable")
    secret = store.issue(60)
    assert secret.value == "ek_predictable"
    entries = store._entries  # pyright: ignore[reportPrivateUsage]
    assert [len(key) for key in entries] == [32]  # a SHA-256 digest, not the value
    assert store.redeem("ek_predictable") is not None
