"""One engine per configured model route."""

from __future__ import annotations

from antiphon.engines._http import UpstreamConfig
from antiphon.engines.base import Engine
from antiphon.engines.chat import ChatEngine
from antiphon.engines.harmony import HarmonyEngine
from antiphon.engines.scripted import ScriptedEngine, load_script
from antiphon.server.settings import ModelRoute

__all__ = ["build_engine"]


def build_engine(route: ModelRoute) -> Engine:
    """The engine serving ``route`` (a script is loaded now, so a bad one fails at start-up)."""
    if route.api == "scripted":
        assert route.script is not None  # ModelRoute checks this
        return ScriptedEngine(load_script(route.script))
    assert route.upstream_url is not None  # ModelRoute checks this
    config = UpstreamConfig(
        base_url=route.upstream_url,
        api_key=route.upstream_api_key,
        connect_timeout=route.connect_timeout,
        stall_timeout=route.stall_timeout,
    )
    return ChatEngine(config) if route.api == "chat" else HarmonyEngine(config)
