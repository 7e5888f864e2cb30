"""Record and replay in a test's own event loop: :func:`recording` and :func:`replaying`.

Both serve the :mod:`antiphon.record` apps with uvicorn on a free loopback port for the block and
yield the base URL clients take (``http://127.0.0.1:PORT/v1``), so a test can drive the official
clients or ``antiphon.realtime`` against what a real model once did.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from pathlib import Path

from antiphon.record import CassetteWriter, create_record_app, create_replay_app, read_cassette
from antiphon.record.replay import Timing
from antiphon.testing.serving import serving

__all__ = ["recording", "replaying"]


@contextlib.asynccontextmanager
async def recording(upstream: str, cassette: Path) -> AsyncGenerator[str]:
    """A recording proxy in front of ``upstream`` (its ``.../v1``) writing ``cassette``."""
    with cassette.open("w", encoding="utf-8") as stream:
        async with serving(create_record_app(upstream, CassetteWriter(stream))) as url:
            yield f"{url}/v1"


@contextlib.asynccontextmanager
async def replaying(cassette: Path, *, timing: Timing = "fast") -> AsyncGenerator[str]:
    """``cassette`` served back, deterministically, with ``timing``."""
    async with serving(create_replay_app(read_cassette(cassette), timing=timing)) as url:
        yield f"{url}/v1"
