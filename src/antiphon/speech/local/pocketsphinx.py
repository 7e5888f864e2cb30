"""Offline speech to text with CMU PocketSphinx 5 (the ``speech`` extra).

The wheel bundles a US English acoustic model, dictionary and trigram language model; the
decoder works at 16 kHz, so other rates are resampled first. Decoding is CPU-bound and a decoder
is not thread-safe: each worker owns one (loading one takes ~0.3 s), the number
of worker processes is fixed, and a bounded backlog waits for them (:mod:`._workers`). Processes,
not threads: the binding holds the GIL while it decodes, which on a thread would stall the event
loop for the whole decode (seconds).

Each utterance is decoded whole, with batch cepstral mean normalisation (over that utterance)
rather than live normalisation (adapting across requests): on eSpeak's voices it recovered as
many or more words, and the first request after start-up is no worse than the rest. A decode,
once started, runs to its end (about a third of the audio's duration here); a request
abandoned before its turn never starts.

Accuracy is that of a 2010s HMM recogniser: clear, short English utterances come out well,
conversational speech much less so. ``language`` must be English (or unset); ``prompt`` is
ignored, as the model has no way to use it.
"""

from __future__ import annotations

import importlib
from array import array
from functools import partial
from typing import Any, Protocol, cast

from antiphon.exceptions import SpeechError, SpeechUnavailable
from antiphon.speech.audio import resample
from antiphon.speech.base import Transcript, TranscriptionRequest
from antiphon.speech.local._workers import Workers

__all__ = ["PocketSphinxTranscriber"]

ENGINE = "pocketsphinx"
RATE = 16000


class _Hypothesis(Protocol):
    hypstr: str


class _Decoder(Protocol):
    def start_utt(self) -> None: ...
    def process_raw(self, data: bytes, no_search: bool = ..., full_utt: bool = ...) -> int: ...
    def end_utt(self) -> None: ...
    def hyp(self) -> _Hypothesis | None: ...


def _decoder_class() -> Any:
    try:
        return importlib.import_module("pocketsphinx").Decoder
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise SpeechUnavailable(
            "pocketsphinx is not installed: pip install 'antiphon[speech]'", engine=ENGINE
        ) from exc


_Decoder_class = _decoder_class()


#: Peak level below which audio is taken as silence (-54 dBFS).
_SILENT_PEAK = 64


def _silent(pcm: bytes) -> bool:
    """Whether no sample reaches :data:`_SILENT_PEAK`.

    Batch normalisation of (near) digital silence is degenerate: the decoder then "hears" a
    word in nothing, so such audio is not decoded at all.
    """
    samples = array("h", pcm)
    return not samples or max(max(samples), -min(samples)) < _SILENT_PEAK


#: This process's decoder, in a worker process (one each: a decoder is not thread-safe).
_decoder: _Decoder | None = None


def _decode(audio: bytes, sample_rate: int) -> str:
    """In a worker process: the text of PCM16 ``audio`` at ``sample_rate``.

    Raises plain exceptions (ValueError for bad audio): they cross back by pickling, and the
    pool turns them into SpeechError.
    """
    global _decoder
    pcm = resample(audio, sample_rate, RATE)
    if _silent(pcm):
        return ""
    if _decoder is None:
        # loglevel FATAL: the decoder otherwise logs its whole configuration to stderr.
        _decoder = cast(_Decoder, _Decoder_class(samprate=RATE, cmn="batch", loglevel="FATAL"))
    _decoder.start_utt()
    try:
        _decoder.process_raw(pcm, False, True)  # full_utt: batch normalisation over it all
    finally:
        _decoder.end_utt()  # always: the process's decoder serves the next request
    hypothesis = _decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


class PocketSphinxTranscriber:
    """US English speech to text, offline, with PocketSphinx's bundled model.

    ``processes`` decoders run at once, each in its own worker process (spawned on first use,
    ~0.5 s and ~60 MB each), ``backlog`` more requests wait; beyond that a request fails at once
    as busy. ``timeout`` bounds each request, waiting included. :meth:`close` ends the workers.
    """

    def __init__(self, *, processes: int = 1, backlog: int = 8, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._workers = Workers(ENGINE, workers=processes, backlog=backlog, processes=True)

    @property
    def name(self) -> str:
        """``"pocketsphinx"``."""
        return ENGINE

    async def transcribe(self, request: TranscriptionRequest) -> Transcript:
        """The words PocketSphinx hears in ``request.audio``."""
        language = (request.language or "en").lower()
        if not language.startswith("en"):
            raise SpeechError(f"only English is supported, not {request.language!r}", engine=ENGINE)
        if not request.audio:
            return Transcript(text="")
        # Resampling happens in the worker too: it costs ~20 ms per second of audio.
        job = partial(_decode, request.audio, request.sample_rate)
        return Transcript(text=await self._workers.call(job, limit=self.timeout))

    def close(self) -> None:
        """Stop taking requests; the workers end after their current one."""
        self._workers.close()
