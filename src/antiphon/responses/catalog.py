"""Which engine serves a model name: the one thing the service asks of the server's routing.

The service only needs to turn the ``model`` of a request into an engine and the name the
engine's upstream knows the model by. :class:`ModelCatalog` is that question; the server answers
it from its configuration and the upstream's model list (:mod:`antiphon.server.engines`), tests
with a :class:`FixedModels`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from antiphon.engines.base import Engine

__all__ = ["FixedModels", "ModelCatalog", "ServedModel"]


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A model the service can run: its engine and the upstream's name for the model."""

    engine: Engine
    upstream_model: str


class ModelCatalog(Protocol):
    """Resolves the model names clients send."""

    async def resolve(self, name: str) -> ServedModel | None:
        """The model served as ``name``, or ``None`` when there is none."""
        ...


class FixedModels:
    """A catalog fixed at construction: each engine serves the model named by its key."""

    def __init__(self, engines: Mapping[str, Engine]) -> None:
        self._models = {name: ServedModel(engine, name) for name, engine in engines.items()}

    async def resolve(self, name: str) -> ServedModel | None:
        """The model served as ``name``, or ``None``."""
        return self._models.get(name)
