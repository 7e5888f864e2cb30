"""An ASGI app served by uvicorn in the test's own event loop, on a real loopback socket
(:func:`antiphon.testing.serving.serving`, shipped so users' tests can do the same)."""

from __future__ import annotations

from antiphon.testing.serving import serving

__all__ = ["serving"]
