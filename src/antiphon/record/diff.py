"""The first difference between a request and its recording, said in one phrase (no I/O)."""

from __future__ import annotations

from antiphon.record._json import is_list, is_mapping

__all__ = ["first_difference"]

_SHOWN = 60


def first_difference(recorded: object, got: object, path: str = "") -> str | None:
    """Where ``got`` first departs from ``recorded``; ``None`` when they are equal.

    For example ``.input[0].content: recorded 'Hi', got 'Hello'``.
    """
    if is_mapping(recorded) and is_mapping(got):
        keys = sorted(set(recorded) | set(got))
        for key in keys:
            if key not in recorded:
                return f"{path}.{key}: not in the recording"
            if key not in got:
                return f"{path}.{key}: missing (recorded {_show(recorded[key])})"
            found = first_difference(recorded[key], got[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if is_list(recorded) and is_list(got):
        for index, (one, other) in enumerate(zip(recorded, got, strict=False)):
            found = first_difference(one, other, f"{path}[{index}]")
            if found is not None:
                return found
        if len(recorded) != len(got):
            return f"{path}: recorded {len(recorded)} entries, got {len(got)}"
        return None
    if recorded == got:
        return None
    return f"{path or 'value'}: recorded {_show(recorded)}, got {_show(got)}"


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
