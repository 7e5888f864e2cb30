"""Cost of the ledger plus SSE encoding per event, on one core, for a realistic stream.

The stream: reasoning (300 deltas), a message (1,500 deltas of 1-4 characters), a function call
(40 argument deltas), usage, completion. Run: ``python bench/bench_ledger.py``.
"""

from __future__ import annotations

import random
import time

from antiphon.wire import ResponseLedger
from antiphon.wire.sse import SSEEncoder

TARGET_US = 10.0


def _pieces(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz ,.\n'\"é"
    return ["".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(count)]


REASONING, TEXT, ARGUMENTS = _pieces(300, 1), _pieces(1500, 2), _pieces(40, 3)


def one_stream(encoder: SSEEncoder) -> tuple[int, int]:
    """Build and encode one stream; return (events, bytes)."""
    ledger = ResponseLedger({"model": "gpt-oss-20b"})
    size = 0
    ledger.start()
    reasoning = ledger.add_reasoning()
    for piece in REASONING:
        reasoning.delta(piece)
    reasoning.done()
    message = ledger.add_message(phase="final_answer")
    message.open_text()
    for piece in TEXT:
        message.delta(piece)
        for event in ledger.drain():  # a server sends as it goes
            size += len(encoder.encode(event))
    message.done()
    call = ledger.add_function_call("get_weather")
    for piece in ARGUMENTS:
        call.delta(piece)
    call.done()
    ledger.set_usage(input_tokens=1200, output_tokens=1840)
    ledger.complete()
    for event in ledger.drain():
        size += len(encoder.encode(event))
    return ledger.events_emitted, size


def main() -> None:
    encoder = SSEEncoder()
    one_stream(encoder)  # warm-up: imports, pydantic schema caches
    best = float("inf")
    events = size = 0
    for _ in range(7):
        start = time.perf_counter()
        events, size = one_stream(encoder)
        best = min(best, time.perf_counter() - start)
    per_event = best / events * 1e6
    print(f"events per stream:      {events}")
    print(f"bytes per stream:       {size}")
    print(f"best stream time:       {best * 1e3:.2f} ms")
    print(f"ledger + SSE per event: {per_event:.2f} us (target <= {TARGET_US:.0f} us)")


if __name__ == "__main__":
    main()
