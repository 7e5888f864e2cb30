"""The verdict of one check of a battery, and the signals a check raises to give it.

A check returns a short detail when the server passed it, or raises :class:`CheckFailed` (with
the first :class:`~antiphon.check.violation.Violation` when a rule was broken) or
:class:`NotSupported` (the server said, with a clear error, that it lacks the feature).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from antiphon.check.violation import Violation
from antiphon.exceptions import AntiphonError

__all__ = ["CheckFailed", "CheckResult", "NotSupported", "Verdict"]

Verdict = Literal["pass", "fail", "not supported"]


class CheckFailed(AntiphonError):
    """The server failed a check; ``violation`` is the first rule it broke, if any."""

    def __init__(self, detail: str, violation: Violation | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.violation = violation


class NotSupported(AntiphonError):
    """The server refused a feature with a clear error: reported, not counted as a failure."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of a report: the check, its verdict, and why."""

    name: str
    verdict: Verdict
    detail: str
    violation: Violation | None = None

    def as_json(self) -> dict[str, object]:
        """The row for ``--json``."""
        found = self.violation
        return {
            "check": self.name,
            "verdict": self.verdict,
            "detail": self.detail,
            "violation": None
            if found is None
            else {
                "rule": found.rule,
                "message": found.message,
                "index": found.index,
                "event": found.event,
            },
        }
