"""What a checker reports: :class:`Violation`, a broken rule and the event that broke it.

A report shows the first one per failed check, on one line.

Rule ids are stable strings grouped by family (``schema.*``, ``sequence.*``, ``lifecycle.*``,
``item.*``, ``part.*``, ``delta.*``, ``output.*``, ``realtime.*``); docs/check.md lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Violation"]

_SHOWN = 160  # characters of the offending event a compact line shows


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule.

    ``index`` is the offending event's position in the stream (``None`` when the rule is about
    the stream as a whole, such as a missing terminal event); ``event`` is that event as decoded.
    """

    rule: str
    message: str
    index: int | None = None
    event: object = None

    def compact(self) -> str:
        """One line: where, the rule, what is wrong, and the start of the offending event."""
        where = f"#{self.index} " if self.index is not None else ""
        line = f"{where}[{self.rule}] {self.message}"
        if self.event is not None:
            shown = json.dumps(self.event, separators=(",", ":"), default=str)
            line += f" :: {shown[:_SHOWN]}{'...' if len(shown) > _SHOWN else ''}"
        return line

    def __str__(self) -> str:
        return self.compact()
