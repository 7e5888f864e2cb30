"""Lenient parsing of one harmony header (the text between ``<|start|>`` and ``<|message|>``).

Private to the harmony package: the streaming parser cuts the header out of the stream and calls
:func:`parse_header`; nothing here sees a stream or raises. The rules follow harmony's own header
parser (``parse_header_from_string``) and add leniency for what models actually emit:

* the channel is the text after ``<|channel|>`` up to whitespace or the next ``<|``;
* every other ``<|`` starts a new word, so a control token glued to a name
  (``to=functions.f<|constrain|>json``) is cut off it;
* ``to=X`` (before or after the channel) is the recipient; the first one wins;
* ``<|constrain|>json`` (glued or spaced as ``<|constrain|> json``) is a content type, never a
  recipient, kept with its marker so the text renders back as the model wrote it;
* of the remaining plain words the last is the content type and, as in harmony, the one before it
  a recipient when no ``to=`` named one; other stray words and unknown ``<|...|>`` tokens are
  dropped.
"""

from __future__ import annotations

from typing import Final

from antiphon.harmony.messages import CHANNEL, CONSTRAIN, HarmonyHeader

_TO: Final = "to="
_TOKEN_OPEN: Final = "<|"


def parse_header(text: str, *, role: str | None, default_role: str) -> HarmonyHeader:
    """Parse header ``text`` (without ``<|start|>`` and ``<|message|>``); never raises.

    ``role`` is the author when the stream implied it (the prompt ended with
    ``<|start|>assistant``); with ``role=None`` the first word names it, falling back to
    ``default_role`` when the header starts straight with a channel or a recipient.
    """
    channel, text = _take_channel(text)
    words = text.replace(_TOKEN_OPEN, " " + _TOKEN_OPEN).split()
    if role is None:
        if words and not words[0].startswith((_TO, _TOKEN_OPEN)):
            role = words.pop(0)
        else:
            role = default_role
    recipient, content_type = _read_words(words)
    return HarmonyHeader(role=role, channel=channel, recipient=recipient, content_type=content_type)


def _take_channel(text: str) -> tuple[str | None, str]:
    """Split the first ``<|channel|>name`` out of ``text``; the rest keeps a space in its place."""
    at = text.find(CHANNEL)
    if at < 0:
        return None, text
    after = text[at + len(CHANNEL) :]
    end = len(after)
    for index, char in enumerate(after):
        if char.isspace() or after.startswith(_TOKEN_OPEN, index):
            end = index
            break
    return after[:end] or None, f"{text[:at]} {after[end:]}"


def _read_words(words: list[str]) -> tuple[str | None, str | None]:
    """Find the recipient and content type among the header's words (role already removed)."""
    recipient: str | None = None
    content_type: str | None = None
    plain: list[str] = []
    # A bare "to=" or "<|constrain|>" names its value in the next plain word ("to= f", "json").
    pending: str | None = None
    for word in words:
        if word.startswith(_TO):
            pending = None
            if word == _TO:
                pending = _TO
            elif recipient is None:
                recipient = word[len(_TO) :]
        elif word.startswith(CONSTRAIN):
            pending = None
            if word == CONSTRAIN:
                pending = CONSTRAIN
            elif content_type is None:
                content_type = word
        elif word.startswith(_TOKEN_OPEN):
            continue  # a leaked control token (<|endoftext|>, a second <|channel|>): dropped
        elif pending == _TO:
            pending = None
            recipient = word if recipient is None else recipient
        elif pending == CONSTRAIN:
            pending = None
            content_type = CONSTRAIN + word if content_type is None else content_type
        else:
            plain.append(word)
    if content_type is None and plain:
        content_type = plain.pop()
    if recipient is None and plain:
        recipient = plain.pop()
    return recipient, content_type
