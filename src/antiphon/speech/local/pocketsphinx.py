"""Offline speech to text with CMU PocketSphinx 5 (the ``speech`` extra).

The wheel bundles a US English acoustic model, dictionary and trigram language model; the
decoder works at 16 kHz, so other rates are resampled first. Decoding is CPU-bound and a decoder
is not thread-safe: each worker thread owns one (loading one takes ~0.3 s and ~40 MB), the number
of threads is fixed, and a bounded backlog waits for them (:mod:`._workers`). Audio is fed in
half-second pieces, checking between them whether the caller gave up, so a timed-out or
cancelled request frees its thread promptly.

Accuracy is that of a 2010s HMM recogniser: clear, short English utterances come out well,
conversational speech much less so. ``language`` must be English (or unset); ``prompt`` is
ignored, as the model has no way to use it.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Protocol, cast

from antiphon.exceptions import SpeechError, SpeechUnavailable
from antiphon.speech.audio import resample
from antiphon.speech.base import Transcript, TranscriptionRequest
from antiphon.speech.local._workers import Cancelled, Workers

__all__ = ["PocketSphinxTranscriber"]

ENGINE = "pocketsphinx"
RATE = 16000
#: Bytes fed to the decoder between checks of the cancel event (0.5 s).
_PIECE = RATE // 2 * 2


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
            decoder = cast(_Decoder, _Decoder_class(samprate=RATE, loglevel="FATAL"))
            self._local.decoder = decoder
        return decoder

    def _decode(self, request: TranscriptionRequest, cancel: threading.Event) -> str:
        try:
            pcm = resample(request.audio, request.sample_rate, RATE)
        except ValueError as exc:
            raise SpeechError(str(exc), engine=ENGINE) from exc
        decoder = self._decoder()
        decoder.start_utt()
        try:
            for start in range(0, len(pcm), _PIECE):
                if cancel.is_set():
                    raise Cancelled
                decoder.process_raw(pcm[start : start + _PIECE], False, False)
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
