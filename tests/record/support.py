"""The raw frames of one Realtime text turn through the official client, for replay tests."""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI

__all__ = ["realtime_text_turn"]


async def realtime_text_turn(client: AsyncOpenAI, model: str, within: float) -> list[bytes]:
    """Every server frame, as bytes, from ``session.created`` to the turn's ``response.done``."""
    frames: list[bytes] = []
    async with client.realtime.connect(model=model) as connection:
        frames.append(await connection.recv_bytes())
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Say hello."}],
            }
        )
        await connection.response.create()
        async with asyncio.timeout(within):
            while b'"response.done"' not in frames[-1]:
                frames.append(await connection.recv_bytes())
    return frames
