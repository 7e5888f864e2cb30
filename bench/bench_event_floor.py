"""The least CPU one streamed text delta can cost under antiphon's rules, in one process.

Every event antiphon sends is an official ``openai.types`` model serialised by pydantic, and the
upstream's chunk is JSON that must be read. This times, on warm caches, only the steps no design
can drop for one ``response.output_text.delta``:

1. decode the upstream's SSE message (``antiphon.wire.sse.SSEDecoder``);
2. parse its JSON chunk (``json.loads``, what the engines use);
3. build the official ``ResponseTextDeltaEvent`` without validation (``wire._response.construct``,
   the fastest way pydantic allows);
4. serialise it by alias (``wire.json.dump_json``);
5. encode the SSE frame (``SSEEncoder.encode_json``).

``bench_pace.py`` measures the whole server beside a relay that does none of this (the floor).
At a model's pace a stream's every event runs on cold caches, and the cost per event of the
server and of the floor both grow by about the same factor (six here) over their burst cost;
so this sum, times that factor, is the least an event can cost antiphon at pace. Compare it
with 1.5 times the floor's paced figure to see whether a target is within reach.

Run: ``python bench/bench_event_floor.py``.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

from openai.types.responses import ResponseTextDeltaEvent

from antiphon.wire._response import construct
from antiphon.wire.json import dump_json
from antiphon.wire.sse import SSEDecoder, SSEEncoder

_CHUNK = (
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"bench",'
    '"choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}'
)
_MESSAGE = f"data: {_CHUNK}\n\n".encode()


def _per_call_us(work: Callable[[], object], number: int = 200_000) -> float:
    return min(timeit.repeat(work, number=number, repeat=5)) / number * 1e6


def main() -> None:
    """Print each step's cost and their sum, in microseconds per event."""
    decoder = SSEDecoder()
    encoder = SSEEncoder()

    def build() -> ResponseTextDeltaEvent:
        return construct(
            ResponseTextDeltaEvent,
            content_index=0,
            delta=" token",
            item_id="msg_0001",
            logprobs=[],
            output_index=0,
            sequence_number=5,
            type="response.output_text.delta",
        )

    event = build()
    data = dump_json(event)
    steps = {
        "SSE decode of the upstream message": lambda: decoder.feed(_MESSAGE),
        "JSON parse of the chunk": lambda: json.loads(_CHUNK),
        "build the official event": build,
        "serialise it by alias": lambda: dump_json(event),
        "SSE frame": lambda: encoder.encode_json("response.output_text.delta", data),
    }
    total = 0.0
    for label, work in steps.items():
        cost = _per_call_us(work)
        total += cost
        print(f"  {label:36} {cost:5.2f} us")
    print(f"  {'the least one event costs (warm)':36} {total:5.2f} us")


if __name__ == "__main__":
    main()
