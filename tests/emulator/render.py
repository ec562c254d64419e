"""Answers in the shape of the SDK's response models, built from what was stored.

The real API answers richer than it accepts: strings come back as labelled objects, expressions
gain `returns`, and defaults appear for fields never sent. Every answer is checked against the
SDK's response model before it leaves, so a rendering bug fails loudly instead of lying.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import incident_io.models as sdk

from tests.emulator.behaviour import ApiBehaviour, answered
from tests.emulator.v3 import v3_view
from tests.sdk_oracle import model_fields, shape_errors

JsonDict = dict[str, Any]


def _humanize(text: str) -> str:
    return text.replace("_", " ").replace(".", " ").strip().capitalize() or text


# Display names the org knows for ids and references (Slack channel names, escalation path names,
# attribute names). Whatever is not in it is labelled with a humanised form of itself.
Labels = Mapping[str, str]


# A payload string that the answer spells as an object.
def _subject(text: str, labels: Labels) -> JsonDict:
    return {"label": labels.get(text) or _humanize(text), "reference": text}


def _operation(text: str, labels: Labels) -> JsonDict:
    return {"label": _humanize(text), "value": text}


_FROM_STRING: dict[type, Callable[[str, Labels], JsonDict]] = {
    sdk.ConditionSubjectV2: _subject,
    sdk.ConditionOperationV2: _operation,
    sdk.ConditionSubjectV3: _subject,
    sdk.ConditionOperationV3: _operation,
}


def _binding_label(data: JsonDict, labels: Labels) -> str:
    value = str(data.get("literal") or data.get("reference") or "")
    return labels.get(value) or value


def _returns(data: JsonDict, labels: Labels) -> JsonDict:
    return {"array": False, "type": "String"}


def _reference_label(data: JsonDict, labels: Labels) -> str:
    return _humanize(data.get("reference", ""))


# Required in the answer, absent from the payload: what the server fills in. A v3 binding value
# has no label (SDK EngineParamBindingValueV3).
_FILLED: dict[tuple[type, str], Callable[[JsonDict, Labels], Any]] = {
    (sdk.EngineParamBindingValueV2, "label"): _binding_label,
    (sdk.ExpressionV2, "returns"): _returns,
    (sdk.ExpressionOperationV2, "returns"): _returns,
    (sdk.ExpressionNavigateOptsV2, "reference_label"): _reference_label,
    (sdk.ExpressionConcatenateOptsV2, "reference_label"): _reference_label,
    (sdk.AlertRouteIncidentConfigV2, "auto_relate_grouped_alerts"): lambda data, labels: False,
    (sdk.ExpressionV3, "returns"): _returns,
    (sdk.ExpressionOperationV3, "returns"): _returns,
    (sdk.ExpressionNavigateOptsV3, "reference_label"): _reference_label,
    (sdk.ExpressionConcatenateOptsV3, "reference_label"): _reference_label,
}

# Optional in the answer and echoed although nobody sent them.
_ECHOED: dict[tuple[type, str], Callable[[], Any]] = {
    (sdk.AlertRouteIncidentTemplateV2, "custom_fields"): list,
}


def _render(model: type, data: JsonDict, labels: Labels) -> JsonDict:
    result: JsonDict = {}
    for key, (hint, required) in model_fields(model).items():
        if key in data:
            result[key] = _render_value(hint, data[key], labels)
        elif (model, key) in _FILLED and required:
            result[key] = _FILLED[(model, key)](data, labels)
        elif (model, key) in _ECHOED:
            result[key] = _ECHOED[(model, key)]()
    return result


def _render_value(hint: Any, value: Any, labels: Labels) -> Any:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return [_render_value(item, entry, labels) for entry in value]
    if attrs.has(hint):
        if isinstance(value, str) and hint in _FROM_STRING:
            return _FROM_STRING[hint](value, labels)
        return _render(hint, value, labels)
    return value


def checked(model: type, answer: JsonDict) -> JsonDict:
    errors = shape_errors(model, answer)
    if errors:
        raise AssertionError(f"emulator rendered an answer that is not a valid {model.__name__}: {errors}")
    model.from_dict(answer)  # type: ignore[attr-defined]  # every SDK model has from_dict
    return answer


def render_route(
    payload: JsonDict,
    *,
    id_: str,
    version: int,
    created_at: str,
    updated_at: str,
    labels: Labels,
    behaviour: ApiBehaviour,
    v3: bool = False,
) -> JsonDict:
    """The held route as the v2 API answers it, or with `v3` as the v3 API does (tests/emulator/v3.py)."""
    data = {**answered(payload, behaviour), "id": id_, "version": version, "created_at": created_at}
    data["updated_at"] = updated_at
    if v3:
        view = v3_view(data, escalation_mode_always=behaviour.when_alert_joins_group_on_every_route)
        return checked(sdk.AlertRouteV3, _render(sdk.AlertRouteV3, view, labels))
    return checked(sdk.AlertRouteV2, _render(sdk.AlertRouteV2, data, labels))


def render_source(
    *, id_: str, name: str, source_type: str, secret_token: str, base_url: str, options: JsonDict | None = None
) -> JsonDict:
    source = {
        "id": id_,
        "name": name,
        "source_type": source_type,
        "secret_token": secret_token,
        "alert_events_url": f"{base_url}/v2/alert_events/{source_type}/{id_}",
        "template": {
            "attributes": [],
            "description": {"label": "Description", "literal": "{{ alert.description }}"},
            "expressions": [],
            "is_private": False,
            "title": {"label": "Title", "literal": "{{ alert.title }}"},
        },
        **(options or {}),
    }
    return checked(sdk.AlertSourceV2, source)
