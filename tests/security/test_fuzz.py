"""Issue 9: no request body makes the server answer 500, and it is alive afterwards.

Hypothesis generates ``POST /v1/responses`` bodies against the app in memory (a scripted model
and chat and harmony upstreams behind one ``httpx.MockTransport``): JSON values of every shape,
valid bodies with one field replaced (wrong types, huge numbers, deep nesting, odd strings,
lone surrogates), and broken JSON text. Every answer must be below 500, and no run may end in
an unexpected error (logged at ERROR by the server).

CI runs the ``security-ci`` profile (a few hundred bodies, derandomised); the full run is
``ANTIPHON_FUZZ_PROFILE=security-full pytest tests/security/test_fuzz.py`` (5,000 bodies).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from antiphon.server.app import create_app
from tests.security.support import BASE_URL, JSON_HEADERS, RecordingUpstream, settings_for

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("security-ci", max_examples=300, derandomize=True, **_COMMON)
settings.register_profile("security-full", max_examples=5_000, **_COMMON)
_PROFILE = settings.get_profile(os.environ.get("ANTIPHON_FUZZ_PROFILE", "security-ci"))

_ODD_STRINGS = [
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\u202e",
    "\r\n\r\n",
    "x" * 70_000,
    "\U0001f642" * 1000,
    "NaN",
    "1e999",
    "<|start|>assistant<|channel|>final<|message|>",
    "<|call|>",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "data:image/png;base64,AAAA",
    "resp_",
    "resp_does_not_exist",
    "functions.get_weather",
    "mcp",
    "function",
    "message",
    "auto",
    "required",
    "none",
]
_HUGE_NUMBERS = [10**30, -(10**30), 2**31, 2**63, -1, 0, 1e308, -1e308, 5e-324, 0.5, 1.5]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(_HUGE_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(_ODD_STRINGS),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(["type", "role", "content", "name"])),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=20,
)

_WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
_VALID: list[dict[str, Any]] = [
    {"model": model, "input": "Hi"} for model in ("scripted", "chat", "harmony")
] + [
    {
        "model": "chat",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "weather?"}]}],
        "tools": [_WEATHER],
        "tool_choice": "auto",
    },
    {
        "model": "harmony",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "weather?"},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
        "tools": [_WEATHER],
        "reasoning": {"effort": "low"},
        "max_output_tokens": 100,
    },
    {
        "model": "harmony",
        "input": "Hi",
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}},
        "stream": True,
    },
    {"model": "scripted", "input": "Hi", "background": True, "metadata": {"k": "v"}},
    {"model": "chat", "input": "Hi", "store": False, "temperature": 0.5, "top_p": 0.9},
]
_FIELDS = sorted({key for body in _VALID for key in body} | {"previous_response_id", "user"})


def _dumps(draw: st.DrawFn, value: object) -> str:
    # Unescaped text too: raw UTF-8, and lone surrogates that become invalid UTF-8 bytes.
    return json.dumps(value, ensure_ascii=draw(st.booleans()))


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid body with one field (top level or nested) replaced, added or removed."""
    body: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(_VALID))))
    # The objects a field can be set in: the body, its object values, objects in its lists.
    objects: list[dict[str, Any]] = [body]
    for value in body.values():
        inner = cast(list[Any], value) if isinstance(value, list) else [value]
        objects += [element for element in inner if isinstance(element, dict)]
    target = draw(st.sampled_from(objects))
    key = draw(st.one_of(st.sampled_from(sorted(target) or _FIELDS), st.sampled_from(_FIELDS)))
    if draw(st.integers(0, 9)) == 0:
        target.pop(key, None)
        return _dumps(draw, body)
    marker = "\x00DEEP\x00"
    value = draw(st.one_of(json_values, st.just(marker)))
    target[key] = value
    text = _dumps(draw, body)
    if value == marker:
        text = text.replace(json.dumps(marker), _deep(draw(st.integers(30, 3_000))))
    return text


@st.composite
def _broken(draw: st.DrawFn) -> str:
    """JSON text cut short, or with constants and numbers JSON does not have."""
    text = json.dumps(draw(st.sampled_from(_VALID)))
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return text[: draw(st.integers(0, len(text)))]
    if choice == 1:
        return text[:-1] + ',"temperature":' + draw(st.sampled_from(["NaN", "Infinity", "1e999"]))
    if choice == 2:
        return text[:-1] + ',"max_output_tokens":' + "9" * draw(st.integers(10, 5_000)) + "}"
    return _deep(draw(st.integers(1, 5_000)))


_SCHEMA_KEYS = [
    "type",
    "properties",
    "items",
    "enum",
    "const",
    "required",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "$defs",
    "description",
    "default",
    "additionalProperties",
    "format",
    "nullable",
]
_SCHEMA_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"]
schemas = st.recursive(
    st.one_of(scalars, st.sampled_from(_SCHEMA_TYPES), st.lists(st.sampled_from(_SCHEMA_TYPES))),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(_SCHEMA_KEYS), st.text(max_size=6)), inner, max_size=5
        ),
    ),
    max_leaves=25,
)


@st.composite
def _odd_schema(draw: st.DrawFn) -> str:
    """A valid body whose function ``parameters`` or ``text.format.schema`` is an odd schema."""
    schema = draw(st.dictionaries(st.sampled_from(_SCHEMA_KEYS), schemas, max_size=5))
    model = draw(st.sampled_from(["chat", "harmony"]))
    if draw(st.booleans()):
        body = {"model": model, "input": "Hi", "tools": [{**_WEATHER, "parameters": schema}]}
    else:
        text_format = {"type": "json_schema", "name": "s", "schema": schema}
        body = {"model": model, "input": "Hi", "text": {"format": text_format}}
    return _dumps(draw, body)


@st.composite
def _any_json(draw: st.DrawFn) -> str:
    return _dumps(draw, draw(json_values))


bodies = st.one_of(_any_json(), _mutated(), _mutated(), _odd_schema(), _broken())


class _Errors(logging.Handler):
    """Keeps the server's ERROR records: an unexpected failure inside a run is not a 500."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path), upstream_transport=RecordingUpstream().transport)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        yield client


def test_no_body_gets_a_500_and_the_server_stays_up(client: TestClient) -> None:
    errors = _Errors()
    logger = logging.getLogger("antiphon")
    logger.addHandler(errors)
    statuses: dict[int, int] = {}

    @_PROFILE
    @given(body=bodies)
    def check(body: str) -> None:
        answer = client.post(
            "/v1/responses",
            content=body.encode("utf-8", "surrogatepass"),
            headers=JSON_HEADERS,
        )
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        # ascii(): a body may hold lone surrogates, which a report could not print.
        assert answer.status_code < 500, (ascii(body[:300]), answer.text[:300])

    try:
        check()
    finally:
        logger.removeHandler(errors)
        print(
            f"\nfuzz statuses: {dict(sorted(statuses.items()))}; server errors logged: "
            f"{len(errors.messages)}"
        )
    assert errors.messages == []
    assert client.get("/health").status_code == 200
    alive = client.post("/v1/responses", json={"model": "chat", "input": "Hi"})
    assert (alive.status_code, alive.json()["status"]) == (200, "completed")
