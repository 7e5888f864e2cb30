"""Throughput of the streaming harmony parser with 1 to 4 character chunks (as tokens arrive).

Run: python bench/bench_harmony_parser.py. Prints chunks/s per transcript (best of several runs,
one core, events consumed the way a server would: iterated, nothing else).
"""

from __future__ import annotations

import random
import time

from antiphon.harmony.parser import HarmonyStreamParser

REASONING = (
    "The user asks for the weather in Paris and wants to know whether to bring an umbrella. "
    "I should call get_weather with the city, then summarise the forecast briefly. "
) * 8
FINAL = (
    "## Forecast for Paris\n\n"
    "- **Now**: 18 C, light rain\n- **Tonight**: 12 C, clearing\n\n"
    "Bring an umbrella this afternoon; if x < 5 mm of rain is forecast, a light jacket is enough.\n"
) * 4
CODE = (
    "import math\n\nfor i in range(10):\n    if i < 3 or i > 7:\n        print(math.sqrt(i))\n"
) * 4

TRANSCRIPTS = {
    "agent turn (reasoning, preamble, call, final)": (
        f"<|channel|>analysis<|message|>{REASONING}<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Let me check the forecast.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
        '<|message|>{"location": "Paris, France", "unit": "celsius"}<|call|>'
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
        '{"temperature": 18, "rain_mm": 3}<|end|>'
        f"<|start|>assistant<|channel|>analysis<|message|>{REASONING}<|end|>"
        f"<|start|>assistant<|channel|>final<|message|>{FINAL}<|return|>"
    ),
    "code interpreter turn (many '<' in content)": (
        f"<|channel|>analysis<|message|>{REASONING}<|end|>"
        f"<|start|>assistant<|channel|>analysis to=python code<|message|>{CODE}<|call|>"
    ),
}


def chunked(text: str, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    chunks: list[str] = []
    at = 0
    while at < len(text):
        size = rng.randint(1, 4)
        chunks.append(text[at : at + size])
        at += size
    return chunks


def run_once(chunks: list[str]) -> int:
    parser = HarmonyStreamParser()
    feed = parser.feed
    count = 0
    for chunk in chunks:
        for _event in feed(chunk):
            count += 1
    return count + len(parser.close())


def measure(chunks: list[str], *, repeats: int = 7, rounds: int = 20) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(rounds):
            run_once(chunks)
        best = min(best, (time.perf_counter() - began) / rounds)
    return len(chunks) / best


def main() -> None:
    for name, text in TRANSCRIPTS.items():
        chunks = chunked(text)
        rate = measure(chunks)
        print(f"{name}: {len(chunks)} chunks, {len(text)} chars")
        print(f"    {rate:,.0f} chunks/s  ({rate * len(text) / len(chunks):,.0f} chars/s)")


if __name__ == "__main__":
    main()
