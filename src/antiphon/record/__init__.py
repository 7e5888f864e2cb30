"""Record a live Responses/Realtime session to a cassette, and serve it back deterministically.

``antiphon record`` runs :func:`create_record_app`, a pass-through proxy writing every exchange,
with timings and secrets redacted, to a JSON-lines cassette; ``antiphon serve --replay`` runs
:func:`create_replay_app` over :func:`read_cassette`'s exchanges.
"""

from __future__ import annotations

from antiphon.record.book import ReplayBook, ReplayMismatch
from antiphon.record.cassette import CassetteWriter, read_cassette
from antiphon.record.proxy import create_record_app
from antiphon.record.replay import create_replay_app

__all__ = [
    "CassetteWriter",
    "ReplayBook",
    "ReplayMismatch",
    "create_record_app",
    "create_replay_app",
    "read_cassette",
]
