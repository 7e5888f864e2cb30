"""Output guardrails on the streamed transcript, and what the session does when one trips.

Text deltas and audio transcript deltas go through a
:class:`~antiphon.realtime.guardrails.GuardrailGate` (debounced per item); each time it says so,
an owned task runs the guardrails of the agent that is speaking (plus the run config's) on the
text so far. On the first trip for a response the session:

1. cancels that response (if still active) and cuts the unheard audio, so the listener stops
   hearing it as early as possible;
2. emits ``guardrail_tripped``;
3. asks for a recovery response with *response-scoped* instructions
   (``response.create`` with ``instructions``). Unlike the upstream SDK it never injects a fake
   user message ("guardrail triggered: ..."), which would stay in the conversation as if the
   user had said it. Set ``guardrail_recovery_instructions`` to ``None`` to skip it.

A guardrail that raises is reported as an ``error`` event and does not trip.
"""

from __future__ import annotations

from openai.types.realtime import RealtimeResponseCreateParams

from antiphon.exceptions import ResponseRequestRejected, TransportError
from antiphon.realtime._agent_slot import AgentSlot
from antiphon.realtime._interrupt import Interrupter
from antiphon.realtime._queue import EventQueue
from antiphon.realtime._responses import Responses
from antiphon.realtime._tasks import TaskOwner
from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig
from antiphon.realtime.events import ErrorEvent, GuardrailTrippedEvent
from antiphon.realtime.guardrails import GuardrailGate, OutputGuardrail, run_guardrails
from antiphon.realtime.sequencer import RequestKind

__all__ = ["DEFAULT_RECOVERY_INSTRUCTIONS", "GuardrailRunner"]

DEFAULT_RECOVERY_INSTRUCTIONS = (
    "Your previous reply was stopped because it broke a content rule. In one short sentence, "
    "tell the user you cannot continue with that, and offer to help with something else."
)


class GuardrailRunner:
    """Debounces transcript text and runs output guardrails in owned tasks; owns the gate."""

    def __init__(
        self,
        *,
        agent: AgentSlot,
        interrupter: Interrupter,
        responses: Responses,
        events: EventQueue,
        tasks: TaskOwner,
        config: RealtimeRunConfig,
    ) -> None:
        self._agent = agent
        self._interrupter = interrupter
        self._responses = responses
        self._events = events
        self._tasks = tasks
        self._gate = GuardrailGate(config.get("guardrail_debounce_chars", 100))
        self._extra = tuple(config.get("output_guardrails", ()))
        self._recovery = config.get(
            "guardrail_recovery_instructions", DEFAULT_RECOVERY_INSTRUCTIONS
        )

    def _guardrails(self, agent: RealtimeAgent) -> tuple[OutputGuardrail, ...]:
        own = tuple(agent.output_guardrails)
        return own + tuple(g for g in self._extra if g not in own)

    def on_delta(self, response_id: str, item_id: str, delta: str) -> None:
        """Account for one transcript delta; start a check when enough new text arrived."""
        agent = self._agent.current
        if not (agent.output_guardrails or self._extra):
            return  # the common case: no guardrails, no bookkeeping
        if self._gate.feed(response_id, item_id, delta):
            self._start(agent, response_id, item_id)

    def on_item_end(self, response_id: str, item_id: str) -> None:
        """The item's text is complete: check the part no run has seen yet."""
        if self._gate.finish(response_id, item_id):
            self._start(self._agent.current, response_id, item_id)

    def forget(self, response_id: str) -> None:
        """The response is done: drop its accumulated text."""
        self._gate.forget(response_id)

    def _start(self, agent: RealtimeAgent, response_id: str, item_id: str) -> None:
        text = self._gate.text(response_id, item_id)
        self._tasks.spawn(
            self._check(agent, response_id, item_id, text), name=f"antiphon-guardrail-{item_id}"
        )

    async def _check(self, agent: RealtimeAgent, response_id: str, item_id: str, text: str) -> None:
        checks = await run_guardrails(self._guardrails(agent), agent, text)
        for check in checks:
            if check.error is not None:
                await self._events.put(ErrorEvent(check.error))
        names = tuple(check.guardrail.name for check in checks if check.tripped)
        if not names or not self._gate.trip(response_id):
            return
        try:
            if self._responses.active_response_id == response_id:
                await self._interrupter.interrupt(cancel=False)
            await self._interrupter.cancel_response(response_id)
        except TransportError:
            return  # the session is ending with that error
        await self._events.put(GuardrailTrippedEvent(names, text, response_id, item_id))
        if self._recovery is not None:
            params = RealtimeResponseCreateParams(instructions=self._recovery)
            try:
                self._responses.request(params, kind=RequestKind.MANUAL)
            except ResponseRequestRejected as exc:
                await self._events.put(ErrorEvent(exc))
