"""The chat engine: an OpenAI-compatible ``/chat/completions`` upstream, streamed.

Works with vLLM, SGLang, llama.cpp server, Ollama and OpenAI. The request is built by
``_chat_request`` (history items to messages, tools to functions), the chunks are mapped by
``_chat_events`` and the HTTP boundary is ``_http``; this module only wires them together.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import httpx

from antiphon.engines._chat_events import ChatChunkMapper, completion_as_chunk
from antiphon.engines._chat_request import ChatOptions, build_chat_body
from antiphon.engines._http import UpstreamConfig, post_json, post_sse
from antiphon.engines.base import EngineEvent, EngineRequest
from antiphon.wire.ids import IdFactory, random_id

__all__ = ["ChatEngine", "ChatOptions"]


class ChatEngine:
    """An :class:`~antiphon.engines.base.Engine` over a chat-completions upstream.

    ``client`` may be shared between engines (the caller then closes it); by default the
    engine makes its own from ``config`` and closes it in :meth:`aclose`.
    """

    def __init__(
        self,
        config: UpstreamConfig,
        options: ChatOptions | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        ids: IdFactory = random_id,
    ) -> None:
        self._config = config
        self._options = options or ChatOptions()
        self._owns_client = client is None
        self._client = client or config.make_client()
        self._ids = ids

    @property
    def name(self) -> str:
        """``"chat"``."""
        return "chat"

    async def stream(self, request: EngineRequest) -> AsyncGenerator[EngineEvent, None]:
        """Stream one turn from the upstream; see :class:`~antiphon.engines.base.Engine`."""
        body, recipients = build_chat_body(request, self._options)
        mapper = ChatChunkMapper(recipients, self._ids)
        limit = self._config.max_event_bytes
        if not self._options.stream:
            completion = await post_json(self._client, "chat/completions", body, max_bytes=limit)
            for event in [*mapper.feed(completion_as_chunk(completion)), *mapper.finish()]:
                yield event
            return
        chunks = post_sse(self._client, "chat/completions", body, max_event_bytes=limit)
        # aclosing: when our consumer stops, the HTTP response closes now, not at GC time.
        async with aclosing(chunks):
            async for chunk in chunks:
                for event in mapper.feed(chunk):
                    yield event
        for event in mapper.finish():
            yield event

    async def aclose(self) -> None:
        """Close the HTTP client when the engine made it."""
        if self._owns_client:
            await self._client.aclose()
