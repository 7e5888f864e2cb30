"""Real-time factor of the local speech engines: processing time / audio duration.

Run: ``python bench/bench_speech.py`` (needs ``antiphon[speech]``). RTF below 1 is faster than
real time. Also reports the event loop's longest stall while PocketSphinx decodes (it runs in a
worker process, so the loop should stay responsive). Figures only.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from antiphon.speech import SpeechRequest, TranscriptionRequest, VadRequest
from antiphon.speech.local import EspeakSynthesizer, PocketSphinxTranscriber, WebRtcVad

TEXT = (
    "The weather in Paris is mild today, with a high of twenty one degrees. "
    "Tomorrow brings rain in the morning and sun in the afternoon. "
    "Remember to take an umbrella if you go out early."
)
ROUNDS = 5


async def main() -> None:
    synthesizer = EspeakSynthesizer()
    rtfs: list[float] = []
    audio = b""
    for _ in range(ROUNDS):
        start = time.perf_counter()
        chunks = [c async for c in synthesizer.synthesize(SpeechRequest(TEXT, sample_rate=24000))]
        elapsed = time.perf_counter() - start
        audio = b"".join(chunks)
        rtfs.append(elapsed / (len(audio) / 2 / 24000))
    seconds = len(audio) / 2 / 24000
    print(f"espeak-ng synth (24 kHz)   audio {seconds:5.2f} s   RTF {statistics.median(rtfs):.4f}")

    transcriber = PocketSphinxTranscriber()
    await transcriber.transcribe(TranscriptionRequest(audio[:48000], 24000))  # warm the worker
    rtfs = []
    stalls: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        task = asyncio.create_task(transcriber.transcribe(TranscriptionRequest(audio, 24000)))
        last = time.perf_counter()
        while not task.done():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now
        await task
        rtfs.append((time.perf_counter() - start) / seconds)
    transcriber.close()
    print(
        f"pocketsphinx (24 kHz in)   audio {seconds:5.2f} s   RTF {statistics.median(rtfs):.4f}"
        f"   longest loop stall {max(stalls) * 1000:.1f} ms"
    )

    detector = WebRtcVad()
    pcm16 = b"".join(
        [c async for c in synthesizer.synthesize(SpeechRequest(TEXT, sample_rate=16000))]
    )
    size = 16000 * 30 // 1000 * 2
    frames = [pcm16[i : i + size] for i in range(0, len(pcm16) - size + 1, size)]
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for frame in frames:
            detector.is_speech(VadRequest(frame))
    elapsed = (time.perf_counter() - start) / ROUNDS
    length = len(pcm16) / 32000
    print(f"webrtcvad (30 ms frames)   audio {length:5.2f} s   RTF {elapsed / length:.5f}")


if __name__ == "__main__":
    asyncio.run(main())
