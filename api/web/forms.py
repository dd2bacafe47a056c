"""Form values (all strings) to the types a request model asks for, as Stripe reads them.

A form carries only text: `amount=2000`, `capture=false`, `metadata[order]=A-1`. Each string
is converted by the type of the field it lands in, and by nothing else: an integer field
takes ASCII digits only (int() would take other scripts' digits too), a boolean `true` or
`false`. A value that does not convert stays a string, and the model refuses it with the
field named. An empty string unsets an optional field, as in Stripe. JSON bodies never come
through here: there `"2000"` is not an amount.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_BOOLEANS = {"true": True, "false": False}


def typed(model: type[BaseModel], form: dict[str, Any]) -> dict[str, Any]:
    """`form` with each value converted to the type of its field in `model`."""
    fields = model.model_fields
    return {
        key: _convert(fields[key].annotation, value) if key in fields else value
        for key, value in form.items()
    }


def _options(annotation: Any) -> tuple[list[Any], bool]:
    """The types a field may take, and whether it may be None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        kinds, optional = [], False
        for arg in get_args(annotation):
            inner, maybe_none = _options(arg)
            kinds += inner
            optional = optional or maybe_none
        return kinds, optional
    if annotation is type(None):
        return [], True
    return [annotation], False


def _convert(annotation: Any, value: Any) -> Any:
    kinds, optional = _options(annotation)
    if value == "" and optional:
        return None
    for kind in kinds:
        origin = get_origin(kind)
        if isinstance(value, str):
            if kind is bool and value in _BOOLEANS:
                return _BOOLEANS[value]
            if kind is int and _INTEGER.fullmatch(value):
                return int(value)
            if (kind is dict or origin is dict) and value == "":
                return {}  # `metadata=` clears it, as in Stripe
        elif isinstance(value, list) and origin is list:
            (item,) = get_args(kind) or (Any,)
            return [_convert(item, v) for v in value]
        elif isinstance(value, dict):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                return typed(kind, value)
            if origin is dict:
                _, item = get_args(kind) or (Any, Any)
                return {k: _convert(item, v) for k, v in value.items()}
    return value
