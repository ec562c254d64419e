"""How the real incident.io API treats an alert route beyond what the SDK's models show.

Each switch is one behaviour of docs/api-behaviour.md (its id in brackets), with its source there.
Every switch but the `OTHER_FORMS` is on by default, so the emulator answers the way the real API
does; a test turns one off only to show what it changes. The `OTHER_FORMS` are answers that the
real API gives only some orgs, or gave once: reported by an older issue although incident.io's own
Terraform provider, tested against the API, could not accept them today (B7, B9), or behind a
feature flag still rolling out (B14). Off by default, on to show the provider copes with them.
Where a source left the exact form open, the emulator takes the form that is harder on a client.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

JsonDict = dict[str, Any]

# What the engine stores instead of an alias, by the subject's type ([B4]).
_ALIASES_BY_TYPE: dict[str, dict[str, str]] = {
    "String": {"one_of": "contains_one_of"},
    "Link": {"one_of": "contains_one_of"},
    "TemplatedText": {"one_of": "contains_one_of"},
    "CatalogEntry": {"contains": "name_contains"},
}
# Set-like lists the API answers in its own order ([B5]).
REORDERED_LISTS = frozenset(
    {
        "alert_sources",
        "channel_config",
        "escalation_targets",
        "grouping_keys",
        "expressions",
        "owning_team_ids",
        "custom_fields",
    }
)


@dataclass
class ApiBehaviour:
    escalation_path_echoed_as_users: bool = True  # [B1]
    template_bindings_filled: bool = True  # [B2]
    severity_default_filled: bool = True  # [B3]
    operation_aliases_stored: bool = True  # [B4]
    set_like_lists_reordered: bool = True  # [B5]
    json_literals_reencoded: bool = True  # [B6]
    # Other forms, off by default (OTHER_FORMS): the real API leaves these keys out...
    unset_channel_target_as_empty: bool = False  # [B7]
    owning_team_ids_answered_empty: bool = False  # [B9]
    # ...and answers and accepts when_alert_joins_group only on a grouping route, until an org has
    # `feature-alert-grouping-for-teams` (TF PR #590).
    when_alert_joins_group_on_every_route: bool = False  # [B14]
    # A v2 PUT of a route carries none of its v3-only settings (grouping window type, summary
    # messages); the real API's treatment is not documented, so they are lost ([B13]).
    v2_write_drops_v3_only_settings: bool = True  # [B13]

    OTHER_FORMS: ClassVar[frozenset[str]] = frozenset(
        {"unset_channel_target_as_empty", "owning_team_ids_answered_empty", "when_alert_joins_group_on_every_route"}
    )

    @classmethod
    def sdk_shape_only(cls) -> ApiBehaviour:
        """Every behaviour off: answers that only the SDK's models shape (a v2 write still has no
        field for the v3-only settings, but the route keeps them)."""
        return cls(**{field.name: False for field in fields(cls)})


def _walk(value: Any, visit: Callable[[str | None, Any], Any], key: str | None = None) -> Any:
    """A copy of `value` with `visit(key, node)` applied to every node, children first."""
    if isinstance(value, dict):
        value = {name: _walk(item, visit, name) for name, item in value.items()}
    elif isinstance(value, list):
        value = [_walk(item, visit, key) for item in value]
    return visit(key, value)


# Applied when a route is written: what the API stores.
def stored(payload: JsonDict, behaviour: ApiBehaviour, subject_types: Mapping[str, str]) -> JsonDict:
    result = copy.deepcopy(payload)
    if behaviour.operation_aliases_stored:
        result = _walk(result, lambda key, node: _canonical_operation(node, subject_types))
    if behaviour.json_literals_reencoded:
        result = _walk(result, _reencoded_literal)
    return result


def _canonical_operation(node: Any, subject_types: Mapping[str, str]) -> Any:
    if isinstance(node, dict) and isinstance(node.get("subject"), str) and isinstance(node.get("operation"), str):
        kind = subject_types.get(node["subject"], "")
        kind = "CatalogEntry" if kind.startswith("CatalogEntry") else kind
        canonical = _ALIASES_BY_TYPE.get(kind, {}).get(node["operation"])
        if canonical:
            return {**node, "operation": canonical}
    return node


def _go_numbers(value: Any) -> Any:
    """Go decodes JSON numbers as float64 and writes a whole one without a fraction: 3.0 becomes 3."""
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_go_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def _reencoded_literal(key: str | None, node: Any) -> Any:
    """Go re-marshals a JSON literal: keys sorted, no spaces, whole numbers without a fraction, and
    <, >, & escaped."""
    if key == "literal" and isinstance(node, str) and node.strip().startswith(("{", "[")):
        try:
            decoded = _go_numbers(json.loads(node))
        except ValueError:
            return node
        text = json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return node


# Applied when a route is answered: what the API says about what it stored.
def answered(payload: JsonDict, behaviour: ApiBehaviour) -> JsonDict:
    result = copy.deepcopy(payload)
    escalation = result.get("escalation_config") or {}
    if behaviour.escalation_path_echoed_as_users:
        for target in escalation.get("escalation_targets") or []:
            if target.get("escalation_paths") and "users" not in target:
                target["users"] = copy.deepcopy(target["escalation_paths"])
    template = result.setdefault("incident_template", {})
    if behaviour.template_bindings_filled:
        for member in ("name", "summary"):
            binding = template.setdefault(member, {})
            binding.setdefault("autogenerated", False)
            binding.setdefault("binding", {"array_value": []})
    if behaviour.severity_default_filled:
        template.setdefault("severity", {"merge_strategy": "first-wins"})
    if behaviour.owning_team_ids_answered_empty:
        result.setdefault("owning_team_ids", [])
    if behaviour.unset_channel_target_as_empty:
        for channel in result.get("channel_config") or []:
            for kind in ("slack_targets", "ms_teams_targets"):
                channel.setdefault(kind, {"binding": {}, "channel_visibility": ""})
    if behaviour.set_like_lists_reordered:
        result = _walk(result, _reordered)
    return result


def _reordered(key: str | None, node: Any) -> Any:
    """The API's own order: here, by content, which is rarely the order a client sent."""
    if key in REORDERED_LISTS and isinstance(node, list) and len(node) > 1:
        ordered = sorted(node, key=lambda item: json.dumps(item, sort_keys=True), reverse=True)
        if ordered == node:
            ordered = list(reversed(node))
        return ordered
    return node
