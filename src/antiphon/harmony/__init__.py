"""The gpt-oss harmony format: prompt renderer, streaming parser, recipient classifier. No I/O."""

from __future__ import annotations

__all__: list[str] = []
