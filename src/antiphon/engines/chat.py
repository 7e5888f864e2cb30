"""The chat engine: an OpenAI-compatible ``/chat/completions`` upstream, streamed.

Works with vLLM, SGLang, llama.cpp server, Ollama and OpenAI. The request is built by
``_chat_request`` (history items to messages, tools to functions), the chunks are mapped by
``_chat_events``, the HTTP boundary is ``_http`` and the stream skeleton ``_upstream``; this
module only wires them together.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx

from antiphon.engines._chat_events import ChatChunkMapper, completion_as_chunk
from antiphon.engines._chat_request import ChatOptions, build_chat_body
from antiphon.engines._h1_pool import H1Streams
from antiphon.engines._http import JSONObject, UpstreamConfig, post_json
from antiphon.engines._upstream import PreparedTurn, UpstreamEngine
from antiphon.engines.base import EngineRequest
from antiphon.wire.ids import IdFactory, random_id

__all__ = ["ChatEngine", "ChatOptions"]


class ChatEngine(UpstreamEngine):
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
        streams: H1Streams | None = None,
        ids: IdFactory = random_id,
    ) -> None:
        super().__init__(config, client=client, streams=streams, ids=ids)
        self._options = options or ChatOptions()

    @property
    def name(self) -> str:
        """``"chat"``."""
        return "chat"

    def prepare(self, request: EngineRequest) -> PreparedTurn:
        """The ``/chat/completions`` body of one turn and the mapper of its chunks."""
        body, recipients = build_chat_body(request, self._options)
        return PreparedTurn("chat/completions", body, ChatChunkMapper(recipients, self._ids))

    def chunks(self, path: str, body: JSONObject) -> AsyncGenerator[JSONObject, None]:
        """The SSE chunks, or (``ChatOptions.stream=False``) the whole answer as one chunk."""
        if self._options.stream:
            return super().chunks(path, body)
        return self._whole(path, body)

    async def _whole(self, path: str, body: JSONObject) -> AsyncGenerator[JSONObject, None]:
        config = self._config
        answer = await post_json(
            self._client,
            path,
            body,
            max_bytes=config.max_event_bytes,
            max_connections=config.max_connections,
        )
        yield completion_as_chunk(answer)
