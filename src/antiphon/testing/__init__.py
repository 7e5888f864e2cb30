"""Test helpers shipped with antiphon: stand-in upstream servers that speak real wire formats.

Nothing here is used by the server at run time; tests and demos import it.
"""

from __future__ import annotations

__all__: list[str] = []
