"""Run configuration of a realtime session, and the GA ``session.update`` built from it.

:class:`RealtimeRunConfig` is the option bag given to :class:`~antiphon.realtime.RealtimeRunner`;
every key is optional and documented with its default. Session settings use the GA shape only
(``RealtimeSessionCreateRequestParam``: ``type: "realtime"``, nested ``audio.input/output``,
``output_modalities``); there is no beta-era flat shape to reconcile. The agent supplies
``instructions`` and ``tools``; the config supplies everything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypedDict, cast

from openai.types.realtime import (
    RealtimeSessionCreateRequest,
    RealtimeSessionCreateRequestParam,
    SessionUpdateEvent,
)
from pydantic import ValidationError

from antiphon.exceptions import ConfigurationError
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.guardrails import OutputGuardrail
from antiphon.realtime.playback import PlaybackTracker
from antiphon.wire.json import dump

__all__ = ["RealtimeRunConfig", "ToolFailurePolicy", "build_session_update"]

ToolFailurePolicy = Literal["continue", "raise"]
"""After a failed tool call has been answered: keep going, or end the session with the error."""


class RealtimeRunConfig(TypedDict, total=False):
    """Options of a realtime run; every key is optional.

    Keys:
        session: GA session settings (model, audio, output_modalities, turn detection, ...)
            sent in every ``session.update``; ``instructions`` come from the agent, and so do
            ``tools``, beside the session's ``mcp`` tools (which the server runs).
            ``output_modalities`` defaults to ``["audio"]``.
        tool_failure: ``"continue"`` (default) or ``"raise"``: whether a failed tool call, once
            answered, ends the session by re-raising from ``async for``. With ``"raise"`` the
            ``function_call_output`` is always sent first; the session then closes, so the
            ``response.create`` queued after it is released unsent (it would matter only where
            the conversation outlives the socket, e.g. a SIP or WebRTC sideband).
        output_guardrails: Guardrails run for every agent, after the agent's own.
        guardrail_debounce_chars: Run output guardrails each time a transcript grows by this
            many characters (default 100), and once more when the item ends.
        guardrail_recovery_instructions: Response-scoped instructions of the response asked
            for after a guardrail trip; ``None`` asks for none. The default tells the model to
            say briefly that it cannot continue with that.
        max_queued_events: Bound of the event queue (default 1024); see the session's policy.
        max_history_items: Items kept in ``session.history`` (default 256).
        playback_tracker: Reports what the listener has heard, for truncation on interrupt;
            by default every received audio byte counts as played (PCM16 24 kHz).
        raw_model_events: Also deliver every server event as ``raw_model_event`` (default
            False: it doubles the events of every frame; turn it on for features the SDK lacks).
    """

    session: RealtimeSessionCreateRequestParam
    tool_failure: ToolFailurePolicy
    output_guardrails: Sequence[OutputGuardrail]
    guardrail_debounce_chars: int
    guardrail_recovery_instructions: str | None
    max_queued_events: int
    max_history_items: int
    playback_tracker: PlaybackTracker
    raw_model_events: bool


def check_config(config: RealtimeRunConfig) -> None:
    """Reject settings that cannot work before anything is connected."""
    policy = config.get("tool_failure", "continue")
    if policy not in ("continue", "raise"):
        raise ConfigurationError(f"tool_failure must be 'continue' or 'raise', got {policy!r}")
    session = config.get("session")
    if session is not None and session.get("type", "realtime") != "realtime":
        raise ConfigurationError("session.type must be 'realtime' for an agent session")


async def build_session_update(
    agent: RealtimeAgent, config: RealtimeRunConfig
) -> SessionUpdateEvent:
    """The ``session.update`` that makes the server speak as ``agent`` (GA session shape)."""
    settings: dict[str, object] = dict(config.get("session") or {})
    settings["type"] = "realtime"
    settings.setdefault("output_modalities", ["audio"])
    settings["instructions"] = await agent.get_instructions()
    # The session's server-side tools (MCP: the server runs them) stay; the agent's own
    # function tools and handoffs are added to them.
    hosted = [
        tool
        for tool in cast(list[Mapping[str, object]], settings.get("tools") or [])
        if tool.get("type") == "mcp"
    ]
    settings["tools"] = hosted + [
        dump(tool, exclude_unset=False, exclude_none=True) for tool in agent.session_tools()
    ]
    try:
        session = RealtimeSessionCreateRequest.model_validate(settings)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid realtime session settings: {exc}") from exc
    return SessionUpdateEvent(type="session.update", session=session)
