"""What the realtime core asks the adapter to do with speech, and sentence cutting.

The core stays sans-I/O: it hands out a :class:`TranscribeJob` when an utterance is committed
and a :class:`SpeakJob` for each sentence of an answer spoken aloud, in order with the events
around it. The adapter runs them (transcription beside the session, synthesis in the order the
jobs come, so an item's closing events follow its audio) and feeds the results back.
:class:`Sentences` cuts streamed text where a sentence ends, so the first audio leaves as soon
as the first sentence is complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["Sentences", "SpeakJob", "TranscribeJob"]

# A sentence ends at ., !, ? or … (with closing quotes or brackets) followed by white space, or
# at a line break. Abbreviations are rare enough in spoken answers not to be worth a lexicon.
_END: Final = re.compile(r"(?:[.!?…]+[\"')\]]*\s+|\n+)")
#: A piece this long is spoken even without a sentence end (a long list, code read aloud).
MAX_PIECE: Final = 400


@dataclass(frozen=True, slots=True)
class TranscribeJob:
    """Transcribe ``audio`` (PCM16, 24 kHz) for the user item ``item_id``."""

    item_id: str
    audio: bytes
    language: str | None = None
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class SpeakJob:
    """Speak ``text``, a piece of the assistant item ``item_id`` of ``response_id``."""

    response_id: str
    item_id: str
    output_index: int
    text: str
    voice: str = "alloy"
    speed: float = 1.0


class Sentences:
    """Cuts streamed text into sentences."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        """The sentences ``text`` completed."""
        self._pending += text
        done: list[str] = []
        while True:
            found = _END.search(self._pending)
            if found is None:
                break
            done.append(self._pending[: found.end()])
            self._pending = self._pending[found.end() :]
        if len(self._pending) >= MAX_PIECE:
            cut = self._pending.rfind(" ", 0, MAX_PIECE)
            cut = cut + 1 if cut > 0 else MAX_PIECE
            done.append(self._pending[:cut])
            self._pending = self._pending[cut:]
        return [sentence for sentence in done if sentence.strip()]

    def flush(self) -> str:
        """What is left (the answer ended)."""
        rest, self._pending = self._pending, ""
        return rest if rest.strip() else ""
