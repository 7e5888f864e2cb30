"""The one way antiphon serialises a pydantic model for the wire or the store.

Role: every ``openai.types`` model (and any other pydantic model) that leaves the process goes
through :func:`dump_json` or :func:`dump`, which always serialise **by alias** and only the fields
that were set. By alias matters: some official models name a field differently in Python than on
the wire (``ResponseFormatTextJSONSchemaConfig.schema_`` is ``"schema"`` on the wire, because
``schema`` would shadow a pydantic method); a plain ``model_dump_json()`` writes ``schema_`` and the
official clients reject it. A test walks the source tree so no other dump call creeps in.
Boundary: pure functions, no I/O.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Dumpable", "dump", "dump_json"]


class Dumpable(Protocol):
    """What both functions need: pydantic v2's serialisation methods."""

    def model_dump_json(self, *, by_alias: bool | None = ..., exclude_unset: bool = ...) -> str:
        """Compact JSON."""
        ...

    def model_dump(
        self,
        *,
        mode: str = ...,
        by_alias: bool | None = ...,
        exclude_unset: bool = ...,
        exclude_none: bool = ...,
    ) -> dict[str, Any]:
        """A plain dict."""
        ...


def dump_json(model: Dumpable) -> str:
    """Compact JSON of ``model``: wire names, only the fields that were set."""
    return model.model_dump_json(by_alias=True, exclude_unset=True)


def dump(
    model: Dumpable, *, exclude_unset: bool = True, exclude_none: bool = False
) -> dict[str, Any]:
    """``model`` as JSON-ready Python data with wire names.

    By default only the fields that were set; ``exclude_unset=False`` keeps defaults (a model
    validated from a request, whose defaults are part of what it means). ``exclude_none`` drops
    fields that are ``None`` (history replayed to an upstream, where a ``null`` that some servers
    refuse says nothing an absent key does not).
    """
    return model.model_dump(
        mode="json", by_alias=True, exclude_unset=exclude_unset, exclude_none=exclude_none
    )
