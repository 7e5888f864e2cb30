"""``GET /metrics`` after a known workload: each counter says what happened, no more, no less.

The app runs in memory (its lifespan through ``app.router.lifespan_context``, requests through
httpx's ASGI transport); the model is the scripted engine, one turn of which fails to connect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from antiphon.server.app import create_app
from antiphon.server.prometheus import MAX_TOOL_LABELS, PrometheusMetrics
from antiphon.server.settings import ModelRoute, ServerSettings
from antiphon.wire.sse import SSEDecoder

_KEY = "sk-metrics"
_SCRIPT = {
    "turns": [
        {
            "when": {"last_text_contains": "unreachable"},
            "repeat": True,
            "items": [{"kind": "message", "text": "never"}],
            "fail": {"kind": "connect", "after_events": 0},
        },
        {"repeat": True, "items": [{"kind": "message", "text": "Hello from antiphon."}]},
    ]
}


@asynccontextmanager
async def _running(tmp_path: Path) -> AsyncGenerator[httpx.AsyncClient]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(_SCRIPT), encoding="utf-8")
    settings = ServerSettings(
        models=(ModelRoute("m", "scripted", script=script),),
        store="memory",
        code_interpreter=False,
        api_key=_KEY,
    )
    app: Starlette = create_app(settings)
    async with (
        asyncio.timeout(30),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1:8000",
            headers={"Authorization": f"Bearer {_KEY}"},
        ) as client,
    ):
        yield client


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_the_counters_match_a_known_workload(tmp_path: Path) -> None:
    async with _running(tmp_path) as http:
        for _ in range(2):
            answered = await http.post("/v1/responses", json={"model": "m", "input": "Hi"})
            assert answered.json()["status"] == "completed"
        streamed = await http.post(
            "/v1/responses", json={"model": "m", "input": "Hi", "stream": True}
        )
        events = list(SSEDecoder().feed(streamed.content))
        failed = await http.post("/v1/responses", json={"model": "m", "input": "unreachable"})
        missing = await http.get("/v1/responses/resp_missing")
        listed = await http.get("/v1/responses", params={"limit": 2})
        refused = await http.get("/metrics", headers={"Authorization": "Bearer wrong"})
        scraped = await http.get("/metrics")
    assert (failed.status_code, missing.status_code, refused.status_code) == (502, 404, 401)
    assert streamed.headers["x-request-id"].startswith("req_")
    assert scraped.headers["content-type"].startswith("text/plain")
    assert len(listed.json()["data"]) == 2
    got = _samples(scraped.text)

    def value(name: str, **labels: str) -> float:
        return got.get((name, tuple(sorted(labels.items()))), 0.0)

    requests = "antiphon_http_requests_total"
    assert value(requests, route="/v1/responses", method="POST", status="200") == 3
    assert value(requests, route="/v1/responses", method="POST", status="502") == 1
    assert value(requests, route="/v1/responses/{response_id}", method="GET", status="404") == 1
    assert value(requests, route="/v1/responses", method="GET", status="200") == 1
    assert value(requests, route="/metrics", method="GET", status="401") == 1
    assert value("antiphon_responses_total", status="completed") == 3
    assert value("antiphon_responses_total", status="failed") == 1
    assert value("antiphon_events_sent_total", kind="sse") == len(events)
    assert value("antiphon_streams_in_flight", kind="sse") == 0
    assert value("antiphon_time_to_first_event_seconds_count") == 1
    assert value("antiphon_upstream_call_duration_seconds_count", engine="scripted") == 4
    # The failed turn produced nothing: three turns had a first event.
    assert value("antiphon_upstream_first_event_seconds_count", engine="scripted") == 3
    errors = "antiphon_upstream_errors_total"
    assert value(errors, engine="scripted", kind="UpstreamConnectError") == 1
    assert value("antiphon_store_operation_duration_seconds_count", operation="create") == 4
    assert value("antiphon_store_operation_duration_seconds_count", operation="finish") == 4
    assert value("antiphon_store_failures_total", operation="get") == 0  # a 404 is no failure
    assert value("antiphon_sandbox_containers") == 0


async def test_listing_pages_with_a_cursor_and_names_a_bad_one(tmp_path: Path) -> None:
    async with _running(tmp_path) as http:
        ids = [
            (await http.post("/v1/responses", json={"model": "m", "input": f"Hi {n}"})).json()["id"]
            for n in range(3)
        ]
        first = (await http.get("/v1/responses", params={"limit": 2})).json()
        second = (
            await http.get("/v1/responses", params={"limit": 2, "after": first["last_id"]})
        ).json()
        bad = await http.get("/v1/responses", params={"after": "resp_nope"})
        bad_order = await http.get("/v1/responses", params={"order": "sideways"})
        unauthenticated = await http.get("/v1/responses", headers={"Authorization": ""})
    listed = [r["id"] for r in first["data"]] + [r["id"] for r in second["data"]]
    # Created within the same second: the order is by (created_at, id), so compare as sets.
    assert sorted(listed) == sorted(ids)
    assert (first["has_more"], second["has_more"]) == (True, False)
    assert first["data"][0]["status"] == "completed"
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "after")
    assert (bad_order.status_code, bad_order.json()["error"]["param"]) == (400, "order")
    assert unauthenticated.status_code == 401


def test_a_realtime_session_is_in_flight_until_it_closes(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    script = tmp_path / "script.json"
    script.write_text(json.dumps(_SCRIPT), encoding="utf-8")
    settings = ServerSettings(
        models=(ModelRoute("m", "scripted", script=script),), store="memory", code_interpreter=False
    )
    app = create_app(settings)
    base = "http://127.0.0.1:8000"
    with TestClient(app, base_url=base) as client:
        with client.websocket_connect("ws://127.0.0.1:8000/v1/realtime?model=m") as socket:
            assert socket.receive_json()["type"] == "session.created"
            during = _samples(client.get("/metrics").text)
        after = _samples(client.get("/metrics").text)
    in_flight = ("antiphon_streams_in_flight", (("kind", "realtime"),))
    accepted = (
        "antiphon_http_requests_total",
        (("method", "WS"), ("route", "/v1/realtime"), ("status", "101")),
    )
    assert during[in_flight] == 1
    assert during[("antiphon_events_sent_total", (("kind", "realtime"),))] >= 1
    assert after[in_flight] == 0
    assert after[accepted] == 1


def test_made_up_tool_names_stop_adding_series_past_the_cap() -> None:
    metrics = PrometheusMetrics()
    for n in range(MAX_TOOL_LABELS + 10):
        metrics.tool_call("calc", f"tool_{n}", "ok", 0.01)
    metrics.tool_call("calc", "tool_0", "ok", 0.01)  # a name seen before keeps its series
    got = _samples(metrics.render().decode())
    calls = {
        dict(labels)["tool"]: value
        for (name, labels), value in got.items()
        if name == "antiphon_tool_calls_total"
    }
    assert len(calls) == MAX_TOOL_LABELS + 1
    assert calls["other"] == 10
    assert calls["tool_0"] == 2
