"""``construct``: the ledger's unvalidated build, equal to pydantic's own ``model_construct``."""

from __future__ import annotations

import openai
from openai.types.responses import (
    ResponseFormatTextJSONSchemaConfig,
    ResponseOutputText,
    ResponseTextDeltaEvent,
)
from pydantic import BaseModel

from antiphon.wire._response import construct
from antiphon.wire.json import dump_json


def _pydantic(model: type[openai.BaseModel], **fields: object) -> BaseModel:
    return super(openai.BaseModel, model).model_construct(None, **fields)


def _state(model: BaseModel) -> tuple[object, ...]:
    return (
        type(model),
        model.__dict__,
        model.__pydantic_fields_set__,
        model.__pydantic_extra__,
        model.__pydantic_private__,
    )


def test_every_field_given_builds_what_pydantic_builds() -> None:
    fields: dict[str, object] = {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": 'H\u00e9\n"',
        "logprobs": [],
        "sequence_number": 7,
    }
    ours, theirs = (
        construct(ResponseTextDeltaEvent, **fields),
        _pydantic(ResponseTextDeltaEvent, **fields),
    )
    assert _state(ours) == _state(theirs)
    assert dump_json(ours) == dump_json(theirs)
    assert ResponseTextDeltaEvent.model_validate_json(dump_json(ours)) == ours


def test_some_fields_or_aliased_models_take_pydantics_path() -> None:
    part = construct(ResponseOutputText, type="output_text", text="Hi")  # annotations unset
    assert _state(part) == _state(_pydantic(ResponseOutputText, type="output_text", text="Hi"))
    config = construct(ResponseFormatTextJSONSchemaConfig, name="n", schema_={}, type="json_schema")
    assert '"schema":{}' in dump_json(config)  # by alias: the direct build would miss it
