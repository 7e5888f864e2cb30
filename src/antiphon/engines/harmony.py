"""The harmony engine: gpt-oss over a raw ``/completions`` upstream (vLLM, SGLang, llama.cpp).

The prompt is rendered as harmony text by :mod:`antiphon.harmony.renderer`; the upstream must
return special tokens as text, which vLLM and SGLang do with ``skip_special_tokens: false`` (sent
with ``spaces_between_special_tokens: false`` so none are padded with spaces) and llama.cpp with
its ``--special`` flag. The streamed text is parsed by the streaming harmony parser. Upstreams
strip the stop token that ended sampling, so nothing here depends on seeing ``<|call|>`` or
``<|return|>``: a message's recipient already tells a call from an answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import httpx

from antiphon.engines._chat_events import parse_usage
from antiphon.engines._harmony_events import HarmonyTurn
from antiphon.engines._harmony_request import HarmonyOptions, build_harmony_request
from antiphon.engines._http import JSONObject, UpstreamConfig, as_list, as_object, as_str, post_sse
from antiphon.engines.base import EngineEvent, EngineRequest, Usage
from antiphon.exceptions import UpstreamProtocolError
from antiphon.harmony.renderer import RenderedPrompt, render_prompt
from antiphon.wire.ids import IdFactory, random_id

__all__ = ["HarmonyEngine", "HarmonyOptions", "build_completion_body"]


def build_completion_body(
    request: EngineRequest, options: HarmonyOptions
) -> tuple[JSONObject, RenderedPrompt]:
    """The ``/completions`` request body for one turn, and the prompt it carries."""
    prompt = render_prompt(build_harmony_request(request, options))
    body: JSONObject = {
        "model": request.model,
        "prompt": prompt.text,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": request.max_output_tokens or options.default_max_tokens,
        "skip_special_tokens": False,
        "spaces_between_special_tokens": False,
    }
    if options.stop:
        body["stop"] = list(options.stop)
    optional = {"temperature": request.temperature, "top_p": request.top_p}
    body.update({key: value for key, value in optional.items() if value is not None})
    body.update(options.extra_body or {})
    return body, prompt


class HarmonyEngine:
    """An :class:`~antiphon.engines.base.Engine` over a harmony ``/completions`` upstream."""

    def __init__(
        self,
        config: UpstreamConfig,
        options: HarmonyOptions | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        ids: IdFactory = random_id,
    ) -> None:
        self._config = config
        self._options = options or HarmonyOptions()
        self._owns_client = client is None
        self._client = client or config.make_client()
        self._ids = ids

    @property
    def name(self) -> str:
        """``"harmony"``."""
        return "harmony"

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """Stream one turn from the upstream; see :class:`~antiphon.engines.base.Engine`."""
        body, prompt = build_completion_body(request, self._options)
        turn = HarmonyTurn(self._ids, prefill=prompt.prefill)
        reason: str | None = None
        usage: Usage | None = None
        # A forced call's prefilled item opens only once the upstream answers, so that a
        # failure before the first byte still comes before any event.
        prefill = turn.start()
        chunks = post_sse(
            self._client, "completions", body, max_event_bytes=self._config.max_event_bytes
        )
        async with aclosing(chunks):
            async for chunk in chunks:
                for event in prefill:
                    yield event
                prefill = []
                usage = parse_usage(chunk.get("usage")) or usage
                for raw in as_list(chunk.get("choices")):
                    choice = as_object(raw) or {}
                    reason = as_str(choice.get("finish_reason")) or reason
                    if text := as_str(choice.get("text")):
                        for event in turn.feed(text):
                            yield event
        if reason is None:
            raise UpstreamProtocolError("the upstream stream ended before a finish_reason")
        if reason in ("abort", "error"):
            raise UpstreamProtocolError(f"the upstream ended the turn with {reason!r}")
        for event in turn.finish(truncated=reason == "length", usage=usage):
            yield event

    async def aclose(self) -> None:
        """Close the HTTP client when the engine made it."""
        if self._owns_client:
            await self._client.aclose()
