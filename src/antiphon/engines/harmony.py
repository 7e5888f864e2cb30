"""The harmony engine: gpt-oss over a raw ``/completions`` upstream (vLLM, SGLang, llama.cpp).

The prompt is rendered as harmony text by :mod:`antiphon.harmony.renderer`; the upstream must
return special tokens as text, which vLLM and SGLang do with ``skip_special_tokens: false`` (sent
with ``spaces_between_special_tokens: false`` so none are padded with spaces) and llama.cpp with
its ``--special`` flag. The streamed text is parsed by the streaming harmony parser. Upstreams
strip the stop token that ended sampling, so nothing here depends on seeing ``<|call|>`` or
``<|return|>``: a message's recipient already tells a call from an answer.
"""

from __future__ import annotations

import httpx

from antiphon.engines._h1_pool import H1Streams
from antiphon.engines._harmony_events import HarmonyChunkMapper
from antiphon.engines._harmony_request import HarmonyOptions, build_harmony_request
from antiphon.engines._http import JSONObject, UpstreamConfig
from antiphon.engines._upstream import PreparedTurn, UpstreamEngine
from antiphon.engines.base import EngineRequest
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


class HarmonyEngine(UpstreamEngine):
    """An :class:`~antiphon.engines.base.Engine` over a harmony ``/completions`` upstream.

    ``client`` may be shared between engines (the caller then closes it); by default the
    engine makes its own from ``config`` and closes it in :meth:`aclose`.
    """

    def __init__(
        self,
        config: UpstreamConfig,
        options: HarmonyOptions | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        streams: H1Streams | None = None,
        ids: IdFactory = random_id,
    ) -> None:
        super().__init__(config, client=client, streams=streams, ids=ids)
        self._options = options or HarmonyOptions()

    @property
    def name(self) -> str:
        """``"harmony"``."""
        return "harmony"

    def prepare(self, request: EngineRequest) -> PreparedTurn:
        """The ``/completions`` body of one turn and the mapper of its chunks."""
        body, prompt = build_completion_body(request, self._options)
        return PreparedTurn(
            "completions", body, HarmonyChunkMapper(self._ids, prefill=prompt.prefill)
        )
