"""Sans-I/O protocol cores: the Responses event ledger and SSE. No I/O, no await."""

from __future__ import annotations

__all__: list[str] = []
