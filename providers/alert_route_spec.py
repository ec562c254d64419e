"""The alert route spec: the v2 create payload, validated, normalised and compared.

The API answers in a richer shape than it accepts (conditions come back as `subject: {label,
reference}`, bindings with labels, fields we never sent). `from_live` projects an answer back onto
the payload schema, and `canonical` removes what carries no meaning, so that "desired == live"
is a plain equality.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

JsonDict = dict[str, Any]

# Where the answer has an object and the payload a string, the string is this member of the object.
_SCALAR_FROM_OBJECT = ("reference", "value")

# Fields the server fills in with a default when they are not sent. Absent and default mean the same.
_SERVER_DEFAULTS: dict[tuple[str, ...], Any] = {
    ("incident_config", "auto_relate_grouped_alerts"): False,
}


@cache
def payload_schema() -> JsonDict:
    text = resources.files("providers").joinpath("schemas/alert_route_payload_v2.json").read_text()
    schema: JsonDict = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(payload_schema())


def format_path(parts: list[Any] | tuple[Any, ...], root: str = "spec") -> str:
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validation_errors(spec: Any, *, skip_value: object = None) -> list[tuple[str, str]]:
    """(property path, reason) for each problem; empty when the spec is a valid create payload.

    `skip_value` marks values not known yet (during preview); errors about them are left out.
    """
    if not isinstance(spec, dict):
        return [("spec", "must be an object shaped like the v2 alert route create payload")]
    errors: list[tuple[str, str]] = []
    for error in sorted(_validator().iter_errors(spec), key=lambda e: list(map(str, e.absolute_path))):
        if skip_value is not None and error.instance == skip_value:
            continue
        errors.append((format_path(list(error.absolute_path)), _reason(error)))
    return errors


def _reason(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        known = sorted(schema.get("properties", {}))
        return f"{error.message}; known fields here: {', '.join(known)}"
    if error.validator == "required":
        return error.message
    return f"{error.message} (expected {error.validator} {error.validator_value!r})"


def normalize(value: Any) -> Any:
    """A deep copy with integral floats as ints: the engine hands every number over as a float,
    and the API's decoder rejects `300.0` where it expects an integer."""
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return copy.copy(value)


def from_live(route: JsonDict) -> JsonDict:
    """Project an AlertRouteV2 answer onto the create payload's shape."""
    schema = payload_schema()
    projected: JsonDict = _project(route, schema, schema)
    return projected


def _project(value: Any, node: JsonDict, schema: JsonDict) -> Any:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    kind = node.get("type")
    if kind == "object" and isinstance(value, dict):
        properties = node.get("properties", {})
        return {key: _project(item, properties[key], schema) for key, item in value.items() if key in properties}
    if kind == "array" and isinstance(value, list):
        return [_project(item, node["items"], schema) for item in value]
    if kind == "string" and isinstance(value, dict):
        for member in _SCALAR_FROM_OBJECT:
            if member in value:
                return value[member]
    return value


def canonical(spec: Any) -> Any:
    """The spec with empty values and server defaults removed, for comparison only."""
    return _canonical(normalize(spec), ())


def _canonical(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            item = _canonical(item, (*path, key))
            if item is None or item == [] or item == {}:
                continue
            default_path = (*path, key)
            if default_path in _SERVER_DEFAULTS and _SERVER_DEFAULTS[default_path] == item:
                continue
            result[key] = item
        return result
    if isinstance(value, list):
        return [_canonical(item, path) for item in value]
    return value


def same_spec(desired: Any, live: Any) -> bool:
    return bool(canonical(desired) == canonical(live))


def changed_fields(desired: Any, live: Any) -> list[str]:
    """Top-level spec fields that differ, for messages."""
    wanted, actual = canonical(desired), canonical(live)
    keys = sorted(set(wanted) | set(actual))
    return [key for key in keys if wanted.get(key) != actual.get(key)]


def field_differences(old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """(path, old value, new value) for each leaf that differs, after canonicalisation.

    Lists of the same length are compared item by item; otherwise the whole list is one change.
    A value that is absent on one side is reported as None.
    """
    return _differences(canonical(old), canonical(new), [])


def _differences(old: Any, new: Any, path: list[Any]) -> list[tuple[str, Any, Any]]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            difference
            for key in sorted(set(old) | set(new))
            for difference in _differences(old.get(key), new.get(key), [*path, key])
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            difference
            for index, (old_item, new_item) in enumerate(zip(old, new, strict=True))
            for difference in _differences(old_item, new_item, [*path, index])
        ]
    return [(format_path(path, root="").removeprefix("."), old, new)]
