"""The direction of imports between antiphon's layers, as docs/architecture.md draws it.

Every ``import`` and ``from ... import`` statement under ``src/antiphon`` (relative ones resolved,
``TYPE_CHECKING`` and function-level ones included) is checked against the layers each layer may
import.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "antiphon"

#: Leaves every layer may import: they import nothing of antiphon.
LEAVES = frozenset({"exceptions", "_version", "_resource", "_deadline"})

#: What each layer may import besides itself and the leaves.
ALLOWED: dict[str, frozenset[str]] = {
    "wire": frozenset(),
    "harmony": frozenset(),
    "store": frozenset({"wire"}),
    "tools": frozenset({"wire"}),
    "speech": frozenset({"wire"}),
    "engines": frozenset({"wire", "harmony"}),
    "responses": frozenset({"wire", "harmony", "store", "tools", "engines"}),
    "realtime_server": frozenset({"wire", "harmony", "tools", "engines", "responses", "speech"}),
    "server": frozenset(
        {"wire", "harmony", "store", "tools", "engines", "responses", "realtime_server", "speech"}
    ),
    "check": frozenset({"wire"}),
    "cli_check": frozenset({"check"}),
    "cli_record": frozenset({"record"}),
    "record": frozenset({"server"}),
    "cli": frozenset(
        {
            "check",
            "cli_check",
            "cli_record",
            "cli_store",
            "wire",
            "harmony",
            "store",
            "tools",
            "engines",
            "responses",
            "realtime_server",
            "speech",
            "server",
            "demo",
        }
    ),
    "demo": frozenset(
        {
            "wire",
            "harmony",
            "store",
            "tools",
            "engines",
            "responses",
            "realtime_server",
            "speech",
            "server",
            "testing",
            "realtime",
        }
    ),
    "testing": frozenset({"wire", "harmony", "engines", "record"}),
    "realtime": frozenset({"wire"}),
    # ``antiphon store ...`` commands, registered by cli.
    "cli_store": frozenset({"store"}),
    "_launch": frozenset({"cli"}),
    "__main__": frozenset({"_launch"}),
    # The top level re-exports function_tool lazily (PEP 562), typed through TYPE_CHECKING.
    "": frozenset({"realtime"}),
    "exceptions": frozenset(),
    "_version": frozenset(),
    "_resource": frozenset(),
    "_deadline": frozenset(),
}


def _module_name(path: Path) -> tuple[str, str]:
    """(dotted module name, dotted package that relative imports start from)."""
    parts = ("antiphon", *path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _layer(module: str) -> str | None:
    """The layer of an ``antiphon`` module ("" for the package itself), None for others."""
    parts = module.split(".")
    if parts[0] != "antiphon":
        return None
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[str]:
    _, package = _module_name(path)
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                found.append(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module is not None:
                found.append(node.module)
    return found


def _violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        module, _ = _module_name(path)
        layer = _layer(module)
        assert layer is not None
        allowed = ALLOWED.get(layer)
        if allowed is None:
            problems.append(f"{module}: layer {layer!r} is not in the table")
            continue
        for target in _imports(path):
            other = _layer(target)
            if other is None or other in (layer, *LEAVES) or other in allowed:
                continue
            problems.append(f"{module} imports {target} ({layer or 'antiphon'} -> {other})")
    return problems


def test_every_layer_imports_only_the_layers_below_it() -> None:
    assert _violations() == []
