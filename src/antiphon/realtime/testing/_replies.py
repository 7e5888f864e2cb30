"""Ready-made replies for the fake server's script (each is a :data:`Reply`)."""

from __future__ import annotations

from collections.abc import Mapping

from antiphon.realtime.testing._writer import Reply, ResponseWriter

__all__ = ["audio_reply", "close_reply", "error_reply", "text_reply", "tool_call_reply"]


def text_reply(text: str, *, chunks: int = 1) -> Reply:
    """Answer with one assistant text message streamed in ``chunks`` deltas."""

    async def reply(writer: ResponseWriter) -> None:
        await writer.text(text, chunks=chunks)

    return reply


def tool_call_reply(
    name: str, arguments: str | Mapping[str, object], *, call_id: str | None = None
) -> Reply:
    """Answer with one ``function_call`` (``call_id`` generated when not given)."""

    async def reply(writer: ResponseWriter) -> None:
        await writer.tool_call(name, arguments, call_id=call_id)

    return reply


def audio_reply(audio: bytes, transcript: str, *, chunks: int = 1) -> Reply:
    """Answer with one audio message and its transcript."""

    async def reply(writer: ResponseWriter) -> None:
        await writer.audio(audio, transcript, chunks=chunks)

    return reply


def error_reply(code: str, message: str) -> Reply:
    """Reject the ``response.create`` with an ``error`` event; no response starts."""

    async def reply(writer: ResponseWriter) -> None:
        await writer.error(code, message)

    return reply


def close_reply(code: int = 1011, reason: str = "") -> Reply:
    """Close the connection instead of answering."""

    async def reply(writer: ResponseWriter) -> None:
        await writer.close(code, reason)

    return reply
