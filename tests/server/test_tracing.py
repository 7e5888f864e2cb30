"""OpenTelemetry traces: which spans a response makes, their parents, and when traces are on."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from openai.types.responses.tool import Mcp
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from antiphon.server.app import create_app
from antiphon.server.metrics import NoMetrics
from antiphon.server.observed import ObservedMcp
from antiphon.server.settings import ModelRoute, ServerSettings
from antiphon.server.tracing import NoTracing, OtelTracing, open_tracing
from antiphon.tools.mcp import (
    McpCallOutcome,
    McpListOutcome,
    McpServerConfig,
    ResolvedMcpTool,
    resolve_mcp_tool,
)

_SCRIPT = {"turns": [{"repeat": True, "items": [{"kind": "message", "text": "Traced."}]}]}


def _tracing() -> tuple[OtelTracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OtelTracing(provider), exporter


@asynccontextmanager
async def _traced_app(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> AsyncGenerator[httpx.AsyncClient]:
    """The app in memory, on the scripted engine, its spans going to ``exporter``."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(_SCRIPT), encoding="utf-8")
    settings = ServerSettings(
        models=(ModelRoute("m", "scripted", script=script),), store="memory", code_interpreter=False
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, tracing=OtelTracing(provider))
    async with (
        asyncio.timeout(30),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as http,
    ):
        yield http


async def test_a_response_span_parents_its_engine_call_and_store_writes(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    async with _traced_app(tmp_path, exporter) as http:
        answered = (await http.post("/v1/responses", json={"model": "m", "input": "Hi"})).json()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    response = spans["response"]
    assert response.attributes is not None
    assert response.attributes["antiphon.response.id"] == answered["id"]
    assert response.attributes["antiphon.response.status"] == "completed"
    assert response.attributes["gen_ai.request.model"] == "m"
    assert response.context is not None
    for child in ("engine call", "store create", "store finish"):
        assert _parent(spans[child]) == response.context.span_id, child
    engine = spans["engine call"].attributes
    assert engine is not None
    assert engine["antiphon.engine"] == "scripted"


_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_CLIENT_SPAN = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("traceparent", "continued"),
    [
        (f"00-{_TRACE_ID}-{_CLIENT_SPAN}-01", True),
        (f"00-{_TRACE_ID}-not-a-span-id-01", False),  # malformed: a new trace, no error
        (f"00-{'0' * 32}-{_CLIENT_SPAN}-01", False),  # an all-zero trace id is invalid
    ],
)
async def test_a_client_traceparent_parents_the_response_span(
    tmp_path: Path, traceparent: str, continued: bool
) -> None:
    exporter = InMemorySpanExporter()
    async with _traced_app(tmp_path, exporter) as http:
        answered = await http.post(
            "/v1/responses",
            json={"model": "m", "input": "Hi", "stream": True},
            headers={"traceparent": traceparent, "tracestate": "vendor=1"},
        )
    assert answered.status_code == 200
    assert b"response.completed" in answered.content
    spans = {span.name: span for span in exporter.get_finished_spans()}
    response = spans["response"]
    assert response.context is not None
    same_trace = response.context.trace_id == int(_TRACE_ID, 16)
    assert same_trace is continued
    assert (_parent(response) == int(_CLIENT_SPAN, 16)) is continued
    if continued:
        assert response.parent is not None
        assert response.parent.is_remote
        engine = spans["engine call"]
        assert engine.context is not None
        assert engine.context.trace_id == int(_TRACE_ID, 16)


def _parent(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


class _Answering:
    """An MCP executor in memory: every call answers ``5``, or fails for ``fail``."""

    async def list_tools(self, tool: ResolvedMcpTool) -> McpListOutcome:
        return McpListOutcome(tools=())

    async def call_tool(
        self, tool: ResolvedMcpTool, name: str, arguments_json: str
    ) -> McpCallOutcome:
        if name == "fail":
            return McpCallOutcome.tool_error("no")
        return McpCallOutcome(output="5")


async def test_a_tool_call_span_names_the_server_tool_and_outcome() -> None:
    tracing, exporter = _tracing()
    config = McpServerConfig("calc", "http", url="http://127.0.0.1:9/mcp")
    request = Mcp(type="mcp", server_label="calc", require_approval="never")
    tool = resolve_mcp_tool(request, {"calc": config})
    observed = ObservedMcp(_Answering(), NoMetrics(), tracing)
    assert (await observed.call_tool(tool, "add", "{}")).output == "5"
    assert (await observed.call_tool(tool, "fail", "{}")).error is not None
    outcomes = [
        (span.attributes or {}).get("antiphon.tool.outcome")
        for span in exporter.get_finished_spans()
    ]
    assert outcomes == ["ok", "mcp_tool_execution_error"]


@pytest.mark.parametrize(
    ("environ", "traced"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_traces_are_on_only_when_the_environment_asks(
    environ: dict[str, str], traced: bool
) -> None:
    tracing = open_tracing(environ)
    try:
        assert isinstance(tracing, OtelTracing) is traced
    finally:
        if isinstance(tracing, OtelTracing):
            tracing.shutdown()


def test_an_unknown_exporter_is_a_warning_and_no_traces(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="antiphon.server"):
        tracing = open_tracing({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert isinstance(tracing, NoTracing)
    assert "OTEL_TRACES_EXPORTER=zipkin is not supported" in caplog.text


def test_the_service_name_defaults_to_antiphon_unless_the_environment_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDK reads the resource variables from the process environment itself.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    default = open_tracing(os.environ)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=gateway")
    named = open_tracing(os.environ)
    try:
        assert isinstance(default, OtelTracing)
        assert isinstance(named, OtelTracing)
        assert default.provider.resource.attributes["service.name"] == "antiphon"
        assert named.provider.resource.attributes["service.name"] == "gateway"
    finally:
        for tracing in (default, named):
            if isinstance(tracing, OtelTracing):
                tracing.shutdown()
