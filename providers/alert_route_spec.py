"""The alert route spec: the v2 create payload, validated, normalised, and read back from answers.

Validation is the SDK's payload schema (providers/schemas/, generated from the official SDK) plus
what the schema cannot say and the API refuses: an empty name, a condition subject in a form the
engine does not have, an operation the engine does not have. Comparison lives in
providers.route_compare.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

JsonDict = dict[str, Any]

# Where the answer has an object and the payload a string, the string is this member of the object.
_SCALAR_FROM_OBJECT = ("reference", "value")

# Engine operations found in incident.io's own material (docs/api-behaviour.md, "Operations"), with
# whether they take a value. Anything else is refused at check, before the API sees it.
OPERATIONS_WITH_VALUES = frozenset({"one_of", "contains_one_of", "contains", "name_contains", "is"})
OPERATIONS_WITHOUT_VALUES = frozenset({"is_set", "is_not_set", "is_active"})
OPERATIONS = OPERATIONS_WITH_VALUES | OPERATIONS_WITHOUT_VALUES

# What the engine stores for an operation on a subject of a given type, where that is another name
# (incident.io's Terraform provider, internal/provider/models/engine.go, ONC-12602).
STORED_ALIASES = {
    "String": {"one_of": "contains_one_of"},
    "Link": {"one_of": "contains_one_of"},
    "TemplatedText": {"one_of": "contains_one_of"},
    "CatalogEntry": {"contains": "name_contains"},
}

# `alert.attributes.<attribute id>`, `alert.title`, `expressions["<reference>"]`, each optionally
# navigated further with `.member`.
_ATTRIBUTE_SUBJECT = re.compile(r"^alert\.attributes\.[0-9A-Z]{26}(\.[a-z_][a-z0-9_]*)*$")
_EXPRESSION_SUBJECT = re.compile(r'^expressions\["[^"\]]+"\](\.[a-z_][a-z0-9_]*)*$')
_DOTTED_SUBJECT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")
_BRACKETED_ATTRIBUTE = re.compile(r"^alert\.attributes\[")


@cache
def payload_schema() -> JsonDict:
    text = resources.files("providers").joinpath("schemas/alert_route_payload_v2.json").read_text()
    schema: JsonDict = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    # Imported on first use: about 50 ms at the start of every dynamic provider host, which a refresh and a
    # preview of unchanged routes (Check skips validating them) never need.
    import jsonschema

    return jsonschema.Draft202012Validator(payload_schema())


def format_path(parts: list[Any] | tuple[Any, ...], root: str = "spec") -> str:
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validation_errors(spec: Any, *, skip_value: object = None) -> list[tuple[str, str]]:
    """(property path, reason) for each problem; empty when the API would accept the spec.

    `skip_value` marks values not known yet (during preview); errors about them are left out.
    """
    if not isinstance(spec, dict):
        return [("spec", "must be an object shaped like the v2 alert route create payload")]
    errors: list[tuple[str, str]] = []
    for error in sorted(_validator().iter_errors(spec), key=lambda e: list(map(str, e.absolute_path))):
        if skip_value is not None and error.instance == skip_value:
            continue
        errors.append((format_path(list(error.absolute_path)), _reason(error)))
    if isinstance(spec.get("name"), str) and not spec["name"].strip():
        errors.append(("spec.name", "must not be empty: incident.io shows routes by name"))
    for parts, condition in _conditions(spec, []):
        errors.extend(_condition_errors(condition, parts, skip_value))
    return errors


def _reason(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        known = sorted(schema.get("properties", {}))
        return f"{error.message}; known fields here: {', '.join(known)}"
    if error.validator == "required":
        return error.message
    return f"{error.message} (expected {error.validator} {error.validator_value!r})"


def _conditions(value: Any, parts: list[Any]) -> Iterator[tuple[list[Any], JsonDict]]:
    """Every condition anywhere in a spec (route, sources, channels, incidents, expressions)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "conditions" and isinstance(item, list):
                for index, condition in enumerate(item):
                    if isinstance(condition, dict):
                        yield [*parts, key, index], condition
            else:
                yield from _conditions(item, [*parts, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _conditions(item, [*parts, index])


def _condition_errors(condition: JsonDict, parts: list[Any], skip_value: object) -> list[tuple[str, str]]:
    errors = []
    subject, operation = condition.get("subject"), condition.get("operation")
    if isinstance(subject, str) and subject != skip_value:
        problem = subject_problem(subject)
        if problem:
            errors.append((format_path([*parts, "subject"]), problem))
    if isinstance(operation, str) and operation != skip_value:
        bindings = condition.get("param_bindings")
        if operation not in OPERATIONS:
            errors.append((format_path([*parts, "operation"]), operation_problem(operation)))
        elif operation in OPERATIONS_WITHOUT_VALUES and bindings:
            errors.append((format_path([*parts, "param_bindings"]), f"must be empty: {operation!r} takes no value"))
        elif operation in OPERATIONS_WITH_VALUES and isinstance(bindings, list) and not bindings:
            errors.append(
                (format_path([*parts, "param_bindings"]), f"needs the value(s) to compare with for {operation!r}")
            )
    return errors


def subject_problem(subject: str) -> str | None:
    """Why the engine would refuse this condition subject, or None."""
    if _BRACKETED_ATTRIBUTE.match(subject):
        return (
            f"{subject!r} is not a subject the engine has: an alert attribute is "
            f'alert.attributes.<attribute id> (e.g. alert.attributes.01H...), not alert.attributes["..."]; '
            'brackets are only for expressions["..."]'
        )
    if subject.startswith("alert.attributes."):
        if not _ATTRIBUTE_SUBJECT.match(subject):
            return (
                f"{subject!r}: an alert attribute subject is alert.attributes.<attribute id>, where the id is the "
                "attribute's 26-character id (GET /v2/alert_attributes), not its name"
            )
        return None
    if _EXPRESSION_SUBJECT.match(subject) or _DOTTED_SUBJECT.match(subject):
        return None
    return (
        f"{subject!r} is not a subject the engine has: use alert.attributes.<attribute id>, alert.title, or "
        'expressions["<reference>"]'
    )


def operation_problem(operation: str) -> str:
    hint = " (for 'label missing' the engine's operation is 'is_not_set')" if operation == "is_blank" else ""
    return (
        f"{operation!r} is not an engine operation{hint}; known: {', '.join(sorted(OPERATIONS))}. "
        "To see what a condition built in the incident.io dashboard stores, export the route "
        "(contrib/export-incident-io.sh)"
    )


def _type_family(subject_type: str) -> str:
    return subject_type.split("[", 1)[0]


def stored_operation(operation: str, subject_type: str) -> str:
    """The name the engine stores `operation` under for a subject of this type (`String`,
    `CatalogEntry["..."]`, as GET /v2/alert_attributes gives it)."""
    return STORED_ALIASES.get(_type_family(subject_type), {}).get(operation, operation)


def declared_operation(stored: str, subject_type: str) -> str:
    """The everyday name of a stored operation: `contains_one_of` on a text subject is `one_of`."""
    for alias, canonical in STORED_ALIASES.get(_type_family(subject_type), {}).items():
        if canonical == stored:
            return alias
    return stored


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
    """An AlertRouteV2 answer as a create payload that means the same route.

    The answer's shape is projected onto the payload's (labels and server-owned fields dropped,
    `{label, reference}` objects to their reference). Two echoes are dropped because sending them
    back would say something the route does not: the `users` binding the API repeats beside an
    escalation path target, and a channel target with an empty binding (an unset target).
    """
    schema = payload_schema()
    projected: JsonDict = _without_echoes(_project(route, schema, schema))
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


def _empty_binding(binding: Any) -> bool:
    return not isinstance(binding, dict) or (not binding.get("value") and not binding.get("array_value"))


def _without_echoes(payload: JsonDict) -> JsonDict:
    escalation = payload.get("escalation_config")
    if isinstance(escalation, dict):
        for target in escalation.get("escalation_targets") or []:
            if isinstance(target, dict) and target.get("escalation_paths") and "users" in target:
                del target["users"]
    for channel in payload.get("channel_config") or []:
        if not isinstance(channel, dict):
            continue
        for kind in ("slack_targets", "ms_teams_targets"):
            if kind in channel and _empty_binding((channel[kind] or {}).get("binding")):
                del channel[kind]
    return payload
