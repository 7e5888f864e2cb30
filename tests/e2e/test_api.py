"""The rest of the HTTP surface: errors, auth, DELETE, input items, models, health, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types import Model

from tests.e2e.conftest import TEXT_SCRIPT
from tests.e2e.support import ServerProcess, StreamRecorder, make_client
from tests.grammar_items import as_json

pytestmark = pytest.mark.e2e

KEY = "sk-test-key"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second server that requires ``Authorization: Bearer sk-test-key``."""
    script = tmp_path_factory.mktemp("locked") / "text.json"
    script.write_text(json.dumps(TEXT_SCRIPT), encoding="utf-8")
    args = ["--upstream-api", "scripted", "--script", str(script), "--model", "m"]
    with ServerProcess([*args, "--store", "memory", "--api-key", KEY]) as process:
        yield process


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as plain:
        yield plain


def _error(response: httpx.Response) -> dict[str, object]:
    body = as_json(response.json())
    error = as_json(body.get("error"))
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


async def test_api_key_is_required_and_accepted(locked: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=locked.url) as plain:
        refused = await plain.post("/v1/responses", json={"model": "m", "input": "Hi"})
        wrong = await plain.get("/v1/models", headers={"Authorization": "Bearer sk-wrong"})
        health = await plain.get("/health")
    assert refused.status_code == wrong.status_code == 401
    assert _error(refused)["code"] == "invalid_api_key"
    assert _error(refused)["type"] == "authentication_error"
    assert health.status_code == 200
    async with make_client(locked.url, StreamRecorder(), api_key=KEY) as client:
        answer = await client.responses.create(model="m", input="Hi")
    assert answer.output_text == "Hello from the script!"
    async with make_client(locked.url, StreamRecorder(), api_key="sk-wrong") as client:
        with pytest.raises(openai.AuthenticationError):
            await client.responses.create(model="m", input="Hi")


async def test_unknown_model_is_a_404_naming_the_model(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.responses.create(model="no-such-model", input="Hi")
    error = as_json(as_json(caught.value.body))
    assert (error["param"], error["code"]) == ("model", "model_not_found")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "scripted-text", "input": "Hi", "temperature": 5}, "temperature"),
        ({"model": "scripted-text", "input": "Hi", "frobnicate": 1}, "frobnicate"),
        ({"model": "scripted-text", "input": "Hi", "prompt": {"id": "p"}}, "prompt"),
        ({"model": "scripted-text"}, "input"),
        ({"input": "Hi"}, "model"),
        (
            {"model": "scripted-text", "input": "Hi", "tools": [{"type": "web_search"}]},
            "tools[0].type",
        ),
        (
            {"model": "scripted-text", "input": "Hi", "background": True, "store": False},
            "background",
        ),
        ({"model": "scripted-text", "previous_response_id": "resp_nope", "input": "x"}, None),
    ],
)
async def test_bad_fields_are_400_naming_them(
    http: httpx.AsyncClient, body: dict[str, object], param: str | None
) -> None:
    response = await http.post("/v1/responses", json=body)
    if param is None:  # an unknown previous response is a 404 naming the field
        assert response.status_code == 404
        assert _error(response)["param"] == "previous_response_id"
        return
    assert response.status_code == 400
    assert _error(response)["param"] == param
    assert param.split("[")[0].split(".")[0] in str(_error(response)["message"])


async def test_a_body_that_is_not_json_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/responses", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"


async def test_delete_removes_the_response(client: AsyncOpenAI) -> None:
    done = await client.responses.create(model="scripted-text", input="Hi")
    await client.responses.delete(done.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(done.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(done.id)


async def test_input_items_are_paginated_both_ways(client: AsyncOpenAI) -> None:
    texts = [f"message {i}" for i in range(5)]
    done = await client.responses.create(
        model="scripted-text", input=[{"role": "user", "content": text} for text in texts]
    )
    first = await client.responses.input_items.list(done.id, limit=2, order="asc")
    assert first.has_more is True
    seen = [item.id for item in first.data]
    page = first
    while page.has_more:
        page = await client.responses.input_items.list(
            done.id, limit=2, order="asc", after=page.data[-1].id
        )
        seen += [item.id for item in page.data]
    assert len(seen) == len(set(seen)) == 5
    newest = await client.responses.input_items.list(done.id, limit=5)
    assert [item.id for item in newest.data] == seen[::-1]
    listed = [item async for item in client.responses.input_items.list(done.id, limit=2)]
    assert len(listed) == 5


async def test_input_items_reject_bad_paging(http: httpx.AsyncClient) -> None:
    for params, param in (({"order": "up"}, "order"), ({"limit": "0"}, "limit")):
        response = await http.get("/v1/responses/resp_x/input_items", params=params)
        assert response.status_code == 400
        assert _error(response)["param"] == param


async def test_models_lists_every_route(client: AsyncOpenAI) -> None:
    models = [model async for model in client.models.list()]
    assert all(isinstance(model, Model) for model in models)
    names = {model.id for model in models}
    assert {"chat-0", "harmony-0", "scripted-weather", "chat-refused"} <= names


async def test_health_and_openapi_and_docs(http: httpx.AsyncClient) -> None:
    health = await http.get("/health")
    assert health.json()["status"] == "ok"
    document = as_json((await http.get("/openapi.json")).json())
    assert str(document["openapi"]).startswith("3.")
    assert "/v1/responses" in as_json(document["paths"])
    docs = await http.get("/docs")
    assert docs.headers["content-type"].startswith("text/html")
    assert "/v1/responses/{response_id}/cancel" in docs.text


async def test_unknown_path_and_unknown_response_are_openai_style_404s(
    http: httpx.AsyncClient,
) -> None:
    for path in ("/v2/nothing", "/v1/responses/resp_missing"):
        response = await http.get(path)
        assert response.status_code == 404
        assert _error(response)["type"] == "invalid_request_error"
    stream = await http.get("/v1/responses/resp_missing", params={"stream": "true"})
    assert stream.status_code == 404
