"""Offline text to speech with eSpeak NG, through ``ctypes`` (the ``speech`` extra).

``espeakng-loader`` ships the shared library and its voice data; nothing is installed system
wide. eSpeak NG keeps global state (one voice, one callback, one set of parameters per process)
and is not thread-safe, so the process has one instance, initialised and used only on a single
dedicated worker thread, with a bounded backlog (:mod:`._workers`).

Synthesis runs in synchronous mode: ``espeak_Synth`` calls back with PCM16 at the library's rate
(22050 Hz) until the text is spoken. The text is split into sentences and clauses, each spoken as
one job, resampled to the request's rate and yielded at once, so the first sentence plays while
the next is made. ``timeout`` bounds each job; the callback aborts synthesis when the caller gave
up. Realtime voices map to eSpeak variants (:data:`VOICES`); ``speed`` scales the words per minute.
"""

from __future__ import annotations

import ctypes
import importlib
import re
import threading
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from antiphon.exceptions import SpeechError, SpeechUnavailable
from antiphon.speech.audio import Resampler
from antiphon.speech.base import SpeechRequest
from antiphon.speech.local._workers import Cancelled, Workers

__all__ = ["DEFAULT_VOICE", "VOICES", "EspeakSynthesizer", "words_per_minute"]

ENGINE = "espeak-ng"

#: Realtime voice -> eSpeak NG voice and variant (``!v`` in its data: m1-m7 male, f1-f5 female).
VOICES: Mapping[str, str] = {
    "alloy": "en-us+f3",
    "ash": "en-us+m3",
    "ballad": "en-us+m7",
    "coral": "en-us+f2",
    "echo": "en-us+m1",
    "sage": "en-us+f4",
    "shimmer": "en-us+f1",
    "verse": "en-us+m2",
    "marin": "en-us+f5",
    "cedar": "en-us+m4",
}
DEFAULT_VOICE = "en-us"
#: eSpeak's own default rate, which ``speed`` 1.0 keeps.
BASE_WPM = 175

# From speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_RATE = 1
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
#: A sentence or clause ends at . ! ? ; : or a line break (followed by space).
_CLAUSES = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _loader() -> Any:
    try:
        return importlib.import_module("espeakng_loader")
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise SpeechUnavailable(
            "espeakng-loader is not installed: pip install 'antiphon[speech]'", engine=ENGINE
        ) from exc


_espeakng_loader = _loader()


def words_per_minute(speed: float) -> int:
    """The eSpeak rate for a realtime ``speed`` (1.0 is 175 wpm), within eSpeak's 80..450."""
    return min(450, max(80, round(BASE_WPM * speed)))


class _Library:
    """The process's eSpeak NG: made and used only on the synthesis thread."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(_espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = str(_espeakng_loader.get_data_path()).encode()
        rate = int(lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT))
        if rate <= 0:
            raise SpeechError(f"espeak_Initialize failed ({rate})", engine=ENGINE)
        self.rate = rate
        self._lib = lib
        self._chunks: list[bytes] = []
        self._cancel = threading.Event()
        # Held for the library's lifetime: ctypes frees a callback nobody references.
        self._callback = _CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if self._cancel.is_set():
            return 1  # aborts espeak_Synth
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def speak(self, text: str, voice: str, wpm: int, cancel: threading.Event) -> bytes:
        """PCM16 at :attr:`rate` for ``text``."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SpeechError(f"unknown voice {voice!r}", engine=ENGINE)
        self._lib.espeak_SetParameter(_RATE, wpm, 0)
        self._chunks, self._cancel = [], cancel
        data = text.encode()
        flags = _CHARS_UTF8 | _ENDPAUSE
        size = len(data) + 1  # with the terminating NUL ctypes adds
        status = self._lib.espeak_Synth(data, size, 0, _POS_CHARACTER, 0, flags, None, None)
        if cancel.is_set():
            raise Cancelled
        if status != 0:
            raise SpeechError(f"espeak_Synth failed ({status})", engine=ENGINE)
        return b"".join(self._chunks)


_workers = Workers(ENGINE, workers=1, backlog=16)
_library: _Library | None = None


def _speak(text: str, voice: str, wpm: int, resampler: Resampler, cancel: threading.Event) -> bytes:
    """On the synthesis thread: speak ``text`` and resample it."""
    global _library
    if _library is None:
        _library = _Library()
    pcm = _library.speak(text, voice, wpm, cancel)
    if resampler.source_rate != _library.rate:  # pragma: no cover - the loader's build is 22050
        raise SpeechError(f"the library speaks at {_library.rate} Hz", engine=ENGINE)
    return resampler.push(pcm)


class EspeakSynthesizer:
    """English speech from eSpeak NG, one chunk per sentence or clause.

    ``timeout`` bounds each sentence (waiting for the shared thread included). All instances
    share the one synthesis thread, as eSpeak NG is one per process.
    """

    def __init__(self, *, timeout: float = 30.0, voices: Mapping[str, str] = VOICES) -> None:
        self.timeout = timeout
        self.voices = voices

    @property
    def name(self) -> str:
        """``"espeak-ng"``."""
        return ENGINE

    def voice(self, name: str) -> str:
        """The eSpeak voice for a realtime voice name (:data:`DEFAULT_VOICE` if unknown)."""
        return self.voices.get(name, DEFAULT_VOICE)

    async def synthesize(self, request: SpeechRequest) -> AsyncGenerator[bytes, None]:
        """PCM16 at ``request.sample_rate``, a chunk per sentence or clause as it is spoken."""
        voice = self.voice(request.voice)
        wpm = words_per_minute(request.speed)
        # One resampler for the whole answer: sentence boundaries then leave no seams.
        resampler = Resampler(22050, request.sample_rate)
        for clause in _CLAUSES.split(request.text):
            if not clause.strip():
                continue
            pcm = await _workers.run(
                lambda cancel, text=clause: _speak(text, voice, wpm, resampler, cancel),
                limit=self.timeout,
            )
            if pcm:
                yield pcm
        tail = resampler.flush()
        if tail:
            yield tail
