"""Offline speech to text with CMU PocketSphinx 5 (the ``speech`` extra).

The wheel bundles a US English acoustic model, dictionary and trigram language model; the
decoder works at 16 kHz, so other rates are resampled first. Decoding is CPU-bound and a decoder
is not thread-safe: each worker thread owns one (loading one takes ~0.3 s and ~40 MB), the number
of threads is fixed, and a bounded backlog waits for them (:mod:`._workers`).

Each utterance is decoded whole, with batch cepstral mean normalisation: the result then depends
on that audio alone, not on what the decoder heard before (live normalisation adapts across
requests, so the same audio would transcribe differently by history). The cost: a decode, once
started, runs to its end (about a third of the audio's duration here); a request abandoned
before its turn never starts.

Accuracy is that of a 2010s HMM recogniser: clear, short English utterances come out well,
conversational speech much less so. ``language`` must be English (or unset); ``prompt`` is
ignored, as the model has no way to use it.
"""

from __future__ import annotations

import importlib
import threading
from array import array
from typing import Any, Protocol, cast

from antiphon.exceptions import SpeechError, SpeechUnavailable
from antiphon.speech.audio import resample
from antiphon.speech.base import Transcript, TranscriptionRequest
from antiphon.speech.local._workers import Cancelled, Workers

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


class PocketSphinxTranscriber:
    """US English speech to text, offline, with PocketSphinx's bundled model.

    ``threads`` decoders run at once (each on its own thread), ``backlog`` more requests wait;
    beyond that a request fails at once as busy. ``timeout`` bounds each request, waiting
    included. :meth:`close` ends the threads.
    """

    def __init__(self, *, threads: int = 1, backlog: int = 8, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._workers = Workers(ENGINE, threads=threads, backlog=backlog)
        self._local = threading.local()

    @property
    def name(self) -> str:
        """``"pocketsphinx"``."""
        return ENGINE

    def _decoder(self) -> _Decoder:
        decoder = cast(_Decoder | None, getattr(self._local, "decoder", None))
        if decoder is None:
            # loglevel FATAL: the decoder otherwise logs its whole configuration to stderr.
            made = _Decoder_class(samprate=RATE, cmn="batch", loglevel="FATAL")
            decoder = cast(_Decoder, made)
            self._local.decoder = decoder
        return decoder

    def _decode(self, request: TranscriptionRequest, cancel: threading.Event) -> str:
        try:
            pcm = resample(request.audio, request.sample_rate, RATE)
        except ValueError as exc:
            raise SpeechError(str(exc), engine=ENGINE) from exc
        if _silent(pcm):
            return ""
        decoder = self._decoder()
        if cancel.is_set():  # the caller gave up while the audio was resampled
            raise Cancelled
        decoder.start_utt()
        try:
            decoder.process_raw(pcm, False, True)  # full_utt: batch normalisation over it all
        finally:
            # Always close the utterance: the thread's decoder is reused by the next request.
            decoder.end_utt()
        hypothesis = decoder.hyp()
        return hypothesis.hypstr if hypothesis is not None else ""

    async def transcribe(self, request: TranscriptionRequest) -> Transcript:
        """The words PocketSphinx hears in ``request.audio``."""
        language = (request.language or "en").lower()
        if not language.startswith("en"):
            raise SpeechError(f"only English is supported, not {request.language!r}", engine=ENGINE)
        if not request.audio:
            return Transcript(text="")
        # Resampling happens on the worker too: it costs ~20 ms per second of audio.
        text = await self._workers.run(
            lambda cancel: self._decode(request, cancel), limit=self.timeout
        )
        return Transcript(text=text)

    def close(self) -> None:
        """Stop taking requests; the threads end after their current one."""
        self._workers.close()
