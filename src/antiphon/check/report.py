"""A battery's results for people (a rich table) and for machines (JSON), and the exit status.

Exit status: 0 when no check failed ("not supported" is not a failure), 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from antiphon.check.outcome import CheckResult

__all__ = ["exit_status", "render_json", "render_table"]

_STYLE = {"pass": "green", "fail": "bold red", "not supported": "yellow"}


def exit_status(results: Sequence[CheckResult]) -> int:
    """0 when nothing failed, 1 when a check failed."""
    return 1 if any(result.verdict == "fail" for result in results) else 0


def render_table(results: Sequence[CheckResult], console: Console, *, title: str) -> None:
    """One row per check: its verdict, and the first offending event with the rule it broke."""
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column(Text("detail, or the first offending event [rule]"), overflow="fold")
    for result in results:
        # Text, not markup: details quote server text, whose brackets rich would take for tags.
        detail = result.violation.compact() if result.violation is not None else result.detail
        verdict = Text(result.verdict, style=_STYLE[result.verdict])
        table.add_row(Text(result.name), verdict, Text(detail))
    console.print(table)
    counts = dict.fromkeys(_STYLE, 0)
    for result in results:
        counts[result.verdict] += 1
    console.print(Text(", ".join(f"{n} {verdict}" for verdict, n in counts.items())))


def render_json(results: Sequence[CheckResult], *, target: str, model: str) -> str:
    """The report as one JSON document."""
    document = {
        "target": target,
        "model": model,
        "passed": exit_status(results) == 0,
        "checks": [result.as_json() for result in results],
    }
    return json.dumps(document, indent=2, default=str)
