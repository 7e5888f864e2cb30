"""The entry point of the realtime SDK: a starting agent, a run config, one session per run.

:class:`RealtimeRunner` is cheap and reusable: each :meth:`RealtimeRunner.run` asks the model
factory for a fresh transport, so two sessions never share a socket (upstream kept one model per
runner, which made ``run()`` non-reentrant). The factory is the seam tests use to plug another
:class:`~antiphon.realtime.model.RealtimeModel`.
"""

from __future__ import annotations

from antiphon.realtime.agent import RealtimeAgent
from antiphon.realtime.config import RealtimeRunConfig, check_config
from antiphon.realtime.model import RealtimeModel, RealtimeModelConfig, RealtimeModelFactory
from antiphon.realtime.session import RealtimeSession

__all__ = ["RealtimeRunner"]


def _default_model() -> RealtimeModel:
    # Imported on use: the WebSocket stack is only needed when no other model is supplied.
    from antiphon.realtime.websocket import WebSocketRealtimeModel

    return WebSocketRealtimeModel()


class RealtimeRunner:
    """Starts realtime sessions for ``starting_agent``.

    Args:
        starting_agent: The agent every new session starts with.
        config: Run options (see :class:`~antiphon.realtime.config.RealtimeRunConfig`); checked
            here, so a bad option fails before anything connects.
        model_factory: Makes the transport of each session; defaults to
            :class:`~antiphon.realtime.websocket.WebSocketRealtimeModel`.

    Raises:
        ConfigurationError: an option cannot work.
    """

    def __init__(
        self,
        starting_agent: RealtimeAgent,
        *,
        config: RealtimeRunConfig | None = None,
        model_factory: RealtimeModelFactory | None = None,
    ) -> None:
        self._agent = starting_agent
        # A copy: changing the caller's dict later must not change sessions started from it.
        self._config = (config or RealtimeRunConfig()).copy()
        check_config(self._config)
        self._model_factory = model_factory or _default_model

    async def run(self, *, model_config: RealtimeModelConfig | None = None) -> RealtimeSession:
        """A new, not yet connected session; connect it with ``async with session:``.

        ``model_config`` says where and how to connect (``url``, ``api_key`` or ``headers``).
        """
        model = self._model_factory()
        connect = (model_config or RealtimeModelConfig()).copy()
        return RealtimeSession(model, self._agent, self._config, connect)
