"""Every pydantic model antiphon emits is serialised by alias, through one module."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from openai.types.responses import Response, ResponseTextConfig
from openai.types.responses.response_format_text_json_schema_config import (
    ResponseFormatTextJSONSchemaConfig,
)

import antiphon
from antiphon.wire.json import dump, dump_json

SRC = Path(antiphon.__file__).parent
_DUMPS = {"model_dump", "model_dump_json"}


def _unaliased_dumps(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _DUMPS:
            continue
        aliased = any(
            k.arg == "by_alias" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        )
        if not aliased:
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_module_serialises_a_model_without_its_wire_names() -> None:
    offenders = [
        where
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "wire" / "json.py"
        for where in _unaliased_dumps(path)
    ]
    assert offenders == [], f"serialise through antiphon.wire.json instead: {offenders}"


def test_the_scan_finds_an_unaliased_dump(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "x.model_dump_json(exclude_unset=True)\ny.model_dump(by_alias=True)\nz.model_dump(by_alias=False)\n"
    )
    assert _unaliased_dumps(bad, tmp_path) == ["bad.py:1", "bad.py:3"]


def _schema_response() -> Response:
    return Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 0,
            "model": "m",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "forecast",
                    "schema": {"type": "object", "properties": {"c": {"type": "integer"}}},
                    "strict": True,
                }
            },
        }
    )


def test_dump_json_writes_the_wire_name_of_an_aliased_field() -> None:
    response = _schema_response()
    assert isinstance(response.text, ResponseTextConfig)
    assert isinstance(response.text.format, ResponseFormatTextJSONSchemaConfig)
    wire = json.loads(dump_json(response))["text"]["format"]
    assert "schema_" not in wire
    assert wire["schema"] == {"type": "object", "properties": {"c": {"type": "integer"}}}
    assert Response.model_validate_json(dump_json(response)) == response


def test_dump_keeps_wire_names_and_drops_unset_fields_unless_asked() -> None:
    response = _schema_response()
    assert "schema" in dump(response)["text"]["format"]
    assert "usage" not in dump(response)
    assert dump(response, exclude_unset=False)["usage"] is None
    assert "usage" not in dump(response, exclude_unset=False, exclude_none=True)
