"""Issue 9, defect 9: hostile input is a 400 naming the field (or the limit), never a 500.

Deep nesting used to exhaust Python's recursion, a lone surrogate could not be encoded on the
way out, a long ``previous_response_id`` chain surfaced the store's limit as an error of its own,
and a huge ``starting_after`` cut the replayed stream. Lax coercions (``"yes"`` for a boolean)
are refused, as OpenAI refuses them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.security.support import JSON_HEADERS, running, settings_for

_OK = {"model": "scripted", "input": "Hi"}


async def _post_raw(tmp_path: Path, text: str) -> dict[str, Any]:
    async with running(settings_for(tmp_path)) as http:
        answer = await http.post("/v1/responses", content=text.encode(), headers=JSON_HEADERS)
        alive = await http.post("/v1/responses", json=_OK)
    assert alive.status_code == 200
    assert answer.status_code == 400, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_json_nested_past_the_decoders_recursion_is_a_400(tmp_path: Path, depth: int) -> None:
    error = await _post_raw(
        tmp_path, '{"model":"scripted","input":' + "[" * depth + "]" * depth + "}"
    )
    assert error["code"] == "invalid_json"
    assert "deeper than 64 levels" in error["message"]


async def test_json_nested_past_the_bound_names_the_field(tmp_path: Path) -> None:
    deep = "[" * 200 + "]" * 200
    error = await _post_raw(tmp_path, f'{{"model":"scripted","input":"Hi","metadata":{deep}}}')
    assert error["param"] == "metadata[0][0]"
    assert "deeper than 64 levels" in error["message"]


async def test_a_function_schema_nested_300_levels_is_a_400(tmp_path: Path) -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(300):
        schema = {"type": "object", "properties": {"a": schema}}
    tool = {"type": "function", "name": "f", "parameters": schema}
    error = await _post_raw(tmp_path, json.dumps({**_OK, "tools": [tool]}))
    assert error["param"] == "tools[0].parameters"


@pytest.mark.parametrize(
    "field",
    ["instructions", "user", "prompt_cache_key", "safety_identifier", "previous_response_id"],
)
async def test_a_lone_surrogate_is_a_400_naming_the_field(tmp_path: Path, field: str) -> None:
    # json.dumps escapes it as \ud800, as a hostile client would send it.
    error = await _post_raw(tmp_path, json.dumps({**_OK, field: "a\ud800b"}))
    assert (error["param"], error["code"]) == (field, "invalid_value")
    assert "surrogate" in error["message"]


async def test_a_lone_surrogate_deep_in_the_input_or_in_a_key_names_its_path(
    tmp_path: Path,
) -> None:
    item = {"role": "user", "content": [{"type": "input_text", "text": "\udfff"}]}
    in_text = await _post_raw(tmp_path, json.dumps({**_OK, "input": [item]}))
    in_key = await _post_raw(tmp_path, json.dumps({**_OK, "metadata": {"\ud800": "v"}}))
    assert in_text["param"] == "input[0].content[0].text"
    assert in_key["param"] == "metadata.\\ud800"  # the key, escaped so that it can be sent


async def test_a_chain_longer_than_the_store_keeps_is_a_400(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path)) as http:
        previous: str | None = None
        for _ in range(101):  # one more than the store's default limit of 100 in one chain
            body = {**_OK, "previous_response_id": previous} if previous else _OK
            answer = await http.post("/v1/responses", json=body)
            assert answer.status_code == 200
            previous = answer.json()["id"]
        too_long = await http.post("/v1/responses", json={**_OK, "previous_response_id": previous})
    assert too_long.status_code == 400
    error = too_long.json()["error"]
    assert (error["param"], error["code"]) == ("previous_response_id", "conversation_too_long")
    assert "limit of 100" in error["message"]


@pytest.mark.parametrize("value", [str(2**70), str(-(2**70)), "1_000", " 5", "٣", "-2"])
async def test_a_starting_after_out_of_range_is_a_400(tmp_path: Path, value: str) -> None:
    settings = settings_for(tmp_path, store=str(tmp_path / "responses.sqlite3"))
    async with running(settings) as http:
        created = (await http.post("/v1/responses", json=_OK)).json()
        answer = await http.get(
            f"/v1/responses/{created['id']}", params={"stream": "true", "starting_after": value}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "starting_after"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stream": "yes"}, "stream"),
        ({"store": "false"}, "store"),
        ({"background": 1}, "background"),
        ({"parallel_tool_calls": "true"}, "parallel_tool_calls"),
        ({"max_output_tokens": 10**30}, "max_output_tokens"),
        ({"max_output_tokens": 2**31}, "max_output_tokens"),
        ({"max_output_tokens": 1.5}, "max_output_tokens"),
        ({"max_output_tokens": "100"}, "max_output_tokens"),
        ({"max_tool_calls": 10**30}, "max_tool_calls"),
        ({"temperature": "0.5"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"metadata": {"k": 1}}, "metadata.k"),
    ],
)
async def test_lax_coercions_are_refused(tmp_path: Path, extra: dict[str, Any], param: str) -> None:
    error = await _post_raw(tmp_path, json.dumps({**_OK, **extra}))
    assert error["param"] == param


@pytest.mark.parametrize(
    ("text", "param"),
    [
        ('{"model":"scripted","input":"Hi","temperature":NaN}', None),
        ('{"model":"scripted","input":"Hi","temperature":-Infinity}', None),
        ('{"model":"scripted","input":"Hi","temperature":1e999}', "temperature"),
        (
            '{"model":"scripted","input":"Hi","metadata":{"k":"v"},"top_p":1' + "0" * 5000 + "}",
            None,
        ),
    ],
    ids=["nan", "infinity", "overflowing-float", "5000-digit-integer"],
)
async def test_numbers_json_does_not_have_are_refused(
    tmp_path: Path, text: str, param: str | None
) -> None:
    error = await _post_raw(tmp_path, text)
    assert error["param"] == param
