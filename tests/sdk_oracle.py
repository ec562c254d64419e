"""The official incident.io SDK (PyPI `incident-io`) as the oracle for request and response shapes.

The SDK is generated from the vendor's OpenAPI spec. Its models are attrs classes whose type hints
say which fields exist, which are required and what type each has. From them we derive:

- `json_schema(model)`: a JSON Schema of a model. The provider's committed payload schema
  (providers/schemas/) is this schema for AlertRoutesCreatePayloadV2; a test keeps them equal.
  Regenerate with `python -m tests.sdk_oracle > providers/schemas/alert_route_payload_v2.json`.
- `shape_errors(model, data)`: what is wrong with a decoded JSON body for a model, the way the
  API's Go decoder would see it (unknown keys, missing fields, wrong types, `300.0` for an integer).
"""

from __future__ import annotations

import datetime
import enum
import importlib
import json
import sys
import types
import typing
from functools import cache
from typing import Any

import attrs
import incident_io.models as sdk_models
from incident_io.types import Unset

# Fields the create payload accepts but the server owns; our spec never carries them.
SERVER_OWNED_FIELDS = frozenset({"created_at", "updated_at", "version"})


class FloatLiteral(float):
    """A JSON number written with a fraction or exponent (`300.0`), kept apart from integers."""


def json_key(attribute_name: str) -> str:
    # The generator appends "_" to names that clash with Python builtins (type_, filter_).
    return attribute_name[:-1] if attribute_name.endswith("_") else attribute_name


@cache
def model_fields(model: type) -> dict[str, tuple[Any, bool]]:
    """JSON key -> (type, required) for an SDK model."""
    module = importlib.import_module(model.__module__)
    hints = typing.get_type_hints(model, {**vars(module), **vars(sdk_models)})
    fields: dict[str, tuple[Any, bool]] = {}
    for field in attrs.fields(model):
        if field.name == "additional_properties":
            continue
        hint = hints[field.name]
        required = field.default is attrs.NOTHING
        fields[json_key(field.name)] = (_strip_unset(hint), required)
    return fields


def _strip_unset(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not Unset and arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return hint


def json_schema(model: type, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    root = _object_schema(model, definitions, exclude)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **root,
        "$defs": dict(sorted(definitions.items())),
    }


def _object_schema(model: type, definitions: dict[str, Any], exclude: frozenset[str]) -> dict[str, Any]:
    fields = {key: value for key, value in model_fields(model).items() if key not in exclude}
    return {
        "type": "object",
        "properties": {key: _type_schema(hint, definitions) for key, (hint, _) in sorted(fields.items())},
        "required": sorted(key for key, (_, required) in fields.items() if required),
        "additionalProperties": False,
    }


def _type_schema(hint: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return {"type": "array", "items": _type_schema(item, definitions)}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is str:
        return {"type": "string"}
    if hint is datetime.datetime:
        return {"type": "string", "format": "date-time"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": sorted(member.value for member in hint)}
    if attrs.has(hint):
        name = hint.__name__
        if name not in definitions:
            definitions[name] = {}  # placeholder, breaks cycles
            definitions[name] = _object_schema(hint, definitions, frozenset())
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON Schema mapping for {hint!r}")


def shape_errors(model: type, data: Any, path: str = "") -> list[tuple[str, str]]:
    """(field path, message) for every way `data` does not fit `model`; empty when it fits."""
    if not isinstance(data, dict):
        return [(path or "body", "must be a JSON object")]
    errors: list[tuple[str, str]] = []
    fields = model_fields(model)
    if not fields:
        # A map the spec leaves open (annotations): string values under any key.
        return [(_join(path, key), "must be a string") for key, value in data.items() if not isinstance(value, str)]
    for key in data:
        if key not in fields:
            errors.append((_join(path, key), "unknown field"))
    for key, (hint, required) in fields.items():
        if key not in data:
            if required:
                errors.append((_join(path, key), "missing required field"))
            continue
        errors.extend(_value_errors(hint, data[key], _join(path, key)))
    return errors


def _value_errors(hint: Any, value: Any, path: str) -> list[tuple[str, str]]:
    if typing.get_origin(hint) is list:
        if not isinstance(value, list):
            return [(path, "must be an array")]
        (item,) = typing.get_args(hint)
        return [error for index, entry in enumerate(value) for error in _value_errors(item, entry, f"{path}[{index}]")]
    if hint is bool:
        return [] if isinstance(value, bool) else [(path, "must be a boolean")]
    if hint is int:
        if isinstance(value, (FloatLiteral, float)):
            return [(path, f"cannot unmarshal number {value!r} into an integer field")]
        return [] if isinstance(value, int) and not isinstance(value, bool) else [(path, "must be an integer")]
    if hint is str or hint is datetime.datetime:
        return [] if isinstance(value, str) else [(path, "must be a string")]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = {member.value for member in hint}
        return [] if value in allowed else [(path, f"must be one of {sorted(allowed)}")]
    if attrs.has(hint):
        return shape_errors(hint, value, path)
    raise TypeError(f"no check for {hint!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_json(raw: bytes) -> Any:
    """Decode JSON keeping `300.0` distinguishable from `300`, as Go's decoder does."""
    return json.loads(raw, parse_float=FloatLiteral)


def payload_schema() -> dict[str, Any]:
    return json_schema(sdk_models.AlertRoutesCreatePayloadV2, exclude=SERVER_OWNED_FIELDS)


if __name__ == "__main__":
    json.dump(payload_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
