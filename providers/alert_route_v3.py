"""An alert route in incident.io's v3 terms: the settings only v3 can say, and a v2 spec written as a v3 payload.

A route is declared as its v2 create payload (`spec`, what every stack's state holds) plus, where it
needs them, the settings the v2 API has no field for (`v3`, in their v3 places):

    {"grouping_config": {"default": {"window_type": "fixed", "ai_enabled": true}},
     "message_config": {"destinations": [{"slack_targets": {"binding": ..., "group_alerts_summary": true}}]},
     "incident_config": {"membership_teams": ..., "incident_template": ...}}

Only what differs from v3's defaults is said: a route that says nothing v2 cannot say has no `v3`.
A destination names its channel target by its kind and binding, the way `spec.channel_config` does.

The v2 -> v3 mapping is the one incident.io's Terraform provider documents for moving a route to its
v3 schema (TF CHANGELOG v5.41.0, "Migration"), with the v3 models' rules (SDK `GroupingSettingsV3`,
`AlertRouteWhenAlertJoinsGroupPayloadV3`, `AlertRouteIncidentConfigPayloadV3`; docs/api-behaviour.md,
"v3 alert routes"). It is written here from those sources, apart from the emulator's own
(tests/emulator/v3.py), so that a test of one against the other is not a test of the code with itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema

from providers.alert_route_spec import format_path
from providers.route_compare import canonical_text, is_empty, without_defaults

JsonDict = dict[str, Any]

# The resource input (and output) that holds a route's v3-only settings.
V3_KEY = "v3"
WINDOW_TYPES = ("rolling", "fixed")
EACH_NEW_ALERT = "on_each_new_alert"
PRIORITY_INCREASE = "on_priority_increase"
TARGET_KINDS = ("slack_targets", "ms_teams_targets")
# v3 has them only while incident creation is on ("Only set when incident creation is enabled", SDK
# AlertRouteIncidentConfigPayloadV3; "the API drops them otherwise", TF alert_route_v3_model.go, ToPayload).
INCIDENT_ONLY = ("auto_decline_enabled", "condition_groups")
_SAME_IN_BOTH = ("name", "enabled", "is_private", "owning_team_ids", "alert_sources", "condition_groups", "expressions")

_BINDING = {"type": "object"}
_TARGET = {
    "type": "object",
    "properties": {"binding": _BINDING, "group_alerts_summary": {"const": True}},
    "required": ["binding", "group_alerts_summary"],
    "additionalProperties": False,
}
V3_SETTINGS_SCHEMA: JsonDict = {
    "type": "object",
    "properties": {
        "grouping_config": {
            "type": "object",
            "properties": {
                "default": {
                    "type": "object",
                    "properties": {"window_type": {"enum": list(WINDOW_TYPES)}, "ai_enabled": {"type": "boolean"}},
                    "additionalProperties": False,
                }
            },
            "additionalProperties": False,
        },
        "message_config": {
            "type": "object",
            "properties": {
                "destinations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {kind: _TARGET for kind in TARGET_KINDS},
                        "minProperties": 1,
                        "maxProperties": 1,
                        "additionalProperties": False,
                    },
                }
            },
            "additionalProperties": False,
        },
        "incident_config": {
            "type": "object",
            "properties": {"membership_teams": _BINDING, "incident_template": _BINDING},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def grouping_enabled(spec: JsonDict) -> bool:
    """A v2 route groups alerts when it names grouping keys or a window ("If the route was not grouping
    before (no grouping fields set)", TF CHANGELOG v5.41.0)."""
    incident = spec.get("incident_config") or {}
    return bool(incident.get("grouping_keys")) or bool(incident.get("grouping_window_seconds"))


def meaningful(settings: Any) -> JsonDict:
    """The settings less what is v3's own default (a rolling window, AI grouping off): {} for a route
    that says nothing v2 cannot say."""
    if not isinstance(settings, dict):
        return {}
    kept: JsonDict = without_defaults({V3_KEY: settings}).get(V3_KEY) or {}
    return kept


def with_v3(spec: Any, settings: Any) -> Any:
    """The spec with its v3-only settings under `v3`, for the one comparison (providers/route_compare.py)
    to compare both at once; the spec alone when there are none."""
    kept = meaningful(settings)
    if not isinstance(spec, dict) or not kept:
        return spec
    return {**spec, V3_KEY: kept}


def without_v3(route: JsonDict) -> tuple[JsonDict, JsonDict]:
    """A route of `with_v3` split back into its spec and its v3-only settings."""
    spec = {key: value for key, value in route.items() if key != V3_KEY}
    settings = route.get(V3_KEY)
    return spec, settings if isinstance(settings, dict) else {}


def settings_errors(settings: Any, spec: Any, *, skip_value: object = None) -> list[tuple[str, str]]:
    """(property path, reason) for each problem of the `v3` input, alone and against its spec."""
    errors = [
        (format_path(list(error.absolute_path), V3_KEY), error.message)
        for error in jsonschema.Draft202012Validator(V3_SETTINGS_SCHEMA).iter_errors(settings)
        if skip_value is None or error.instance != skip_value
    ]
    if errors or not isinstance(spec, dict):
        return errors
    grouping = (settings.get("grouping_config") or {}).get("default") or {}
    if grouping and not grouping_enabled(spec):
        # The API refuses grouping details while grouping is off (SDK GroupingSettingsV3: "Only set when
        # grouping is enabled").
        errors.append(
            (
                f"{V3_KEY}.grouping_config.default",
                "only for a route that groups alerts: set spec.incident_config.grouping_keys or "
                "grouping_window_seconds",
            )
        )
    targets = [(kind, canonical_text(channel[kind].get("binding"), ("binding",))) for channel, kind in _targets(spec)]
    for index, destination in enumerate((settings.get("message_config") or {}).get("destinations") or []):
        for kind, target in destination.items():
            if (kind, canonical_text(target.get("binding"), ("binding",))) not in targets:
                errors.append(
                    (
                        f"{V3_KEY}.message_config.destinations[{index}].{kind}.binding",
                        f"no {kind} target of spec.channel_config has this binding",
                    )
                )
    incident = settings.get("incident_config") or {}
    if incident and not (spec.get("incident_config") or {}).get("enabled"):
        errors.append((f"{V3_KEY}.incident_config", "only for a route that creates incidents"))
    return errors


def _targets(spec: JsonDict) -> Iterator[tuple[JsonDict, str]]:
    for channel in spec.get("channel_config") or []:
        for kind in TARGET_KINDS:
            if isinstance(channel, dict) and isinstance(channel.get(kind), dict):
                yield channel, kind


def unsayable_in_v3(spec: JsonDict) -> list[tuple[str, Any]]:
    """(path, value) of each setting of a v2 spec that a v3 payload has no field for (TF CHANGELOG
    v5.41.0, "Migration": the template without `workspace`; the grace period only with
    on_each_new_alert; when_alert_joins_group only on a grouping route). Settings that mean nothing
    while incident creation is off are not among them (see `observed`)."""
    incident = spec.get("incident_config") or {}
    template = spec.get("incident_template") or {}
    found: list[tuple[str, Any]] = []
    if incident.get("enabled") and not is_empty(template.get("workspace")):
        found.append(("incident_template.workspace", template["workspace"]))
    relate, defer = incident.get("auto_relate_grouped_alerts"), incident.get("defer_time_seconds")
    if grouping_enabled(spec):
        if relate and defer:
            found.append(("incident_config.defer_time_seconds", defer))
    else:
        # v3 says these only as when_alert_joins_group, which it refuses on a route that does not group
        # (unless the org groups by team: docs/api-behaviour.md B14).
        found += [
            (f"incident_config.{key}", value)
            for key, value in (("auto_relate_grouped_alerts", relate), ("defer_time_seconds", defer))
            if value
        ]
    return found


def v3_payload(spec: JsonDict, settings: JsonDict) -> JsonDict:
    """The v3 create payload (an update's, less `version`) that says what `spec` and `settings` say.
    Call only for a spec without `unsayable_in_v3` settings: those are left out."""
    incident = spec.get("incident_config") or {}
    escalation = spec.get("escalation_config") or {}
    kept = meaningful(settings)
    grouping_settings = (kept.get("grouping_config") or {}).get("default") or {}
    grouping: JsonDict = {"enabled": grouping_enabled(spec)}
    escalation_v3: JsonDict = {
        "auto_cancel_escalations": bool(escalation.get("auto_cancel_escalations")),
        "escalation_targets": copy.deepcopy(escalation.get("escalation_targets") or []),
    }
    if grouping["enabled"]:
        if incident.get("grouping_keys"):
            grouping["grouping_keys"] = copy.deepcopy(incident["grouping_keys"])
        if incident.get("grouping_window_seconds"):
            grouping["window_seconds"] = incident["grouping_window_seconds"]
        # Required while grouping is on; "'rolling' matches the previous grouping behaviour" (TF CHANGELOG v5.41.0).
        grouping["window_type"] = grouping_settings.get("window_type", "rolling")
        # Said either way: an update that leaves it out keeps the route's current value (SDK GroupingSettingsV3:
        # "Omit it on an update to keep the current value"), which would not be the declaration's.
        grouping["ai_enabled"] = bool(grouping_settings.get("ai_enabled", False))
        # auto_relate_grouped_alerts true / false -> on_priority_increase / on_each_new_alert, whose grace
        # period is defer_time_seconds (the mode that takes none is sent without it: the API refuses it).
        escalation_v3["when_alert_joins_group"] = (
            {"mode": PRIORITY_INCREASE}
            if incident.get("auto_relate_grouped_alerts")
            else {"mode": EACH_NEW_ALERT, "grace_period_seconds": int(incident.get("defer_time_seconds") or 0)}
        )
    incident_v3: JsonDict = {"enabled": bool(incident.get("enabled"))}
    if incident_v3["enabled"]:
        incident_v3["auto_decline_enabled"] = bool(incident.get("auto_decline_enabled"))
        incident_v3["condition_groups"] = copy.deepcopy(incident.get("condition_groups") or [])
        template = {key: value for key, value in (spec.get("incident_template") or {}).items() if key != "workspace"}
        if template:
            incident_v3["template"] = copy.deepcopy(template)
        incident_v3.update(copy.deepcopy(kept.get("incident_config") or {}))
    summarised = {
        (kind, canonical_text(target.get("binding"), ("binding",)))
        for destination in (kept.get("message_config") or {}).get("destinations") or []
        for kind, target in destination.items()
    }
    destinations = []
    for channel in spec.get("channel_config") or []:
        destination: JsonDict = {"condition_groups": copy.deepcopy(channel.get("condition_groups") or [])}
        for kind in TARGET_KINDS:
            if isinstance(channel.get(kind), dict):
                target = copy.deepcopy(channel[kind])
                if (kind, canonical_text(target.get("binding"), ("binding",))) in summarised:
                    target["group_alerts_summary"] = True
                destination[kind] = target
        destinations.append(destination)
    message: JsonDict = {"destinations": destinations}
    if not is_empty(spec.get("message_template")):
        message["template"] = copy.deepcopy(spec["message_template"])
    payload = {key: copy.deepcopy(spec[key]) for key in _SAME_IN_BOTH if key in spec}
    payload.update(
        escalation_config=escalation_v3,
        grouping_config={"default": grouping},
        incident_config=incident_v3,
        message_config=message,
    )
    return payload


def _binding(value: Any) -> Any:
    """A binding of an answer as a payload says it: each value's literal and reference, no label."""
    if not isinstance(value, dict):
        return value

    def item(entry: Any) -> Any:
        return (
            {key: entry[key] for key in ("literal", "reference") if key in entry} if isinstance(entry, dict) else entry
        )

    projected: JsonDict = {}
    if "value" in value:
        projected["value"] = item(value["value"])
    if "array_value" in value:
        projected["array_value"] = [item(entry) for entry in value["array_value"] or []]
    return projected


def v3_only_settings(answer: JsonDict) -> JsonDict:
    """The settings of a v3 answer (AlertRouteV3) that the v2 API cannot say, less v3's defaults."""
    settings: JsonDict = {}
    grouping = (answer.get("grouping_config") or {}).get("default") or {}
    if grouping.get("enabled"):
        said = {key: grouping[key] for key in ("window_type", "ai_enabled") if key in grouping}
        if said:
            settings["grouping_config"] = {"default": said}
    destinations = [
        {kind: {"binding": _binding(destination[kind].get("binding")), "group_alerts_summary": True}}
        for destination in (answer.get("message_config") or {}).get("destinations") or []
        for kind in TARGET_KINDS
        if isinstance(destination.get(kind), dict) and destination[kind].get("group_alerts_summary") is True
    ]
    if destinations:
        settings["message_config"] = {"destinations": destinations}
    incident = answer.get("incident_config") or {}
    teams = {
        key: _binding(incident[key])
        for key in ("membership_teams", "incident_template")
        if not is_empty(incident.get(key))
    }
    if teams:
        settings["incident_config"] = teams
    return meaningful(settings)


def settings_said(settings: JsonDict) -> list[str]:
    """Each v3-only setting as `path=value`, a destination named by its kind and channel(s):
    `message_config.destinations[slack_targets C0ALERTS].group_alerts_summary=true`."""
    kept = meaningful(settings)
    said = [
        f"grouping_config.default.{key}={_json(value)}"
        for key, value in ((kept.get("grouping_config") or {}).get("default") or {}).items()
    ]
    for destination in (kept.get("message_config") or {}).get("destinations") or []:
        for kind, target in destination.items():
            said.append(
                f"message_config.destinations[{kind} {_channels(target.get('binding'))}].group_alerts_summary=true"
            )
    said += [f"incident_config.{key}={_json(value)}" for key, value in (kept.get("incident_config") or {}).items()]
    return said


def _channels(binding: Any) -> str:
    values = [binding.get("value")] if isinstance(binding, dict) and binding.get("value") else []
    values += (binding.get("array_value") or []) if isinstance(binding, dict) else []
    return ",".join(str(value.get("literal") or value.get("reference")) for value in values if isinstance(value, dict))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def observed(live: JsonDict, declared: Any) -> JsonDict:
    """The v2 reading of a route in an org on the new grouping engine, as far as it says anything: while
    the route creates no incidents, its template, auto-decline setting and incident conditions are the
    declaration's. v3 has no field for them then and drops them ("the API drops them otherwise", TF
    alert_route_v3_model.go, ToPayload; "Disabling incident creation clears a template the route
    already has", SDK AlertRouteIncidentTemplatePayloadV3), so what a v2 read answers for them after a
    v3 write is not the declaration's and not documented (docs/api-behaviour.md B15)."""
    incident = live.get("incident_config")
    if not isinstance(incident, dict) or incident.get("enabled") or not isinstance(declared, dict):
        return live
    result = copy.deepcopy(live)
    declared_incident = declared.get("incident_config") or {}
    for key in INCIDENT_ONLY:
        if key in declared_incident:
            result["incident_config"][key] = copy.deepcopy(declared_incident[key])
    if "incident_template" in declared:
        result["incident_template"] = copy.deepcopy(declared["incident_template"])
    return result
