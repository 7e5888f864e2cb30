"""The server's speech pipeline, from its settings (see :class:`SpeechConfig`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import cast

from antiphon.exceptions import ConfigurationError
from antiphon.server.settings import SpeechConfig
from antiphon.speech.base import SpeechPipeline
from antiphon.speech.factory import build_pipeline, local_available

__all__ = ["close_speech", "open_speech"]

_log = logging.getLogger("antiphon.server")


def open_speech(config: SpeechConfig) -> SpeechPipeline | None:
    """The pipeline ``/v1/realtime`` hears and speaks with; None: text only.

    Without URLs the local engines of the ``speech`` extra run; when they are not installed the
    server serves text only and says so. A remote half next to a missing local half is a
    configuration error (the operator asked for voice).
    """
    if not config.enabled:
        return None
    local = local_available()
    if (config.stt_url is None or config.tts_url is None) and not local:
        if config.stt_url is None and config.tts_url is None:
            _log.warning(
                "speech: off (install 'antiphon[speech]' for the local engines, or pass "
                "--stt-url and --tts-url); /v1/realtime serves text only"
            )
            return None
        missing = "--stt-url" if config.stt_url is None else "--tts-url"
        raise ConfigurationError(
            f"speech: {missing} is not given and the local engines are not installed "
            "(pip install 'antiphon[speech]'), or pass --no-speech"
        )
    return build_pipeline(
        stt=config.stt_url or "local",
        tts=config.tts_url or "local",
        # WebRTC's detector comes with the local engines; a loudness gate otherwise.
        vad="webrtc" if local else "energy",
    )


async def close_speech(pipeline: SpeechPipeline) -> None:
    """Release the engines' workers and connections (worker processes, HTTP clients)."""
    for engine in (pipeline.transcriber, pipeline.synthesizer):
        close: object = getattr(engine, "close", None)
        aclose: object = getattr(engine, "aclose", None)
        if callable(aclose):
            await cast(Callable[[], Awaitable[object]], aclose)()
        elif callable(close):
            close()
