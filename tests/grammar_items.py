"""JSON type guards for the tests; the item rules themselves live in :mod:`antiphon.check.items`.

The Responses grammar is a product feature (``antiphon check``): the suite imports the very rules
the product applies, so the two can never disagree.
"""

from __future__ import annotations

from antiphon.check._json import JSON, as_json, is_json, is_list
from antiphon.check.items import ITEM_GRAMMAR

__all__ = ["ITEM_GRAMMAR", "JSON", "as_json", "is_json", "is_list"]
