"""The record types refuse values that would break the store's contract."""

from __future__ import annotations

import pytest

from antiphon.exceptions import ConfigurationError
from antiphon.store import ItemQuery, NewResponse, ResponseOutcome, StoreLimits


@pytest.mark.parametrize(
    "field",
    [
        "max_response_bytes",
        "max_events_per_response",
        "max_chain_depth",
        "retention_seconds",
        "max_responses",
    ],
)
def test_every_limit_must_be_positive(field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        StoreLimits(**{field: 0})


def test_a_new_response_must_be_running() -> None:
    with pytest.raises(ConfigurationError, match="queued or in_progress"):
        NewResponse(id="r", created_at=0.0, model="m", response_json="{}", status="completed")
    assert NewResponse(id="r", created_at=0, model="m", response_json="{}", status="queued")


def test_an_outcome_must_be_terminal() -> None:
    with pytest.raises(ConfigurationError, match="terminal"):
        ResponseOutcome(status="in_progress", response_json="{}")


def test_an_item_page_needs_a_positive_limit() -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        ItemQuery(limit=0)
