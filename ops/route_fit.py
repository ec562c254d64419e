"""A live route as a stack declaration: the high-level form as far as it reproduces the route, and
`raw` (the declaration's override, deep-merged over the compiled payload) for exactly the rest.
In an org on incident.io's new alert grouping engine the high-level form also says what only the v3
API can (`grouping.windowType`, `slackGroupAlertsSummary`), from the route's v3 answer.

The declaration here still holds incident.io values where the stack file has names (source ids,
condition subjects, escalation path ids, Slack channel ids); ops/export.py names them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import jsonschema

from components.route_compiler import compile_route, compile_v3_settings
from components.settings import ESCALATION_MODES, Reference, RouteVocabulary, route_declarations
from providers.alert_route_spec import declared_operation, normalize, payload_schema
from providers.alert_route_v3 import grouping_enabled
from providers.api import JsonDict, LiveRoute
from providers.route_compare import canonical_text, same_spec

# High-level field -> the payload field it compiles to. A guess is kept only when it reproduces that
# field exactly; otherwise the field is left to `raw`, so the high-level form never says one thing
# while `raw` says another.
_COMPILES_TO = {"when": "condition_groups", "escalation": "escalation_config", "slack": "channel_config"}
# The incident_config fields that `grouping` and `whenAlertJoinsGroup` compile to, and the ranges the stack
# file takes (components/settings.py).
_COMPILES_TO_INCIDENT = {
    "grouping": ("grouping_keys", "grouping_window_seconds"),
    "whenAlertJoinsGroup": ("auto_relate_grouped_alerts", "defer_time_seconds"),
}
_WINDOW_SECONDS = (60, 172800)
_GRACE_PERIOD_SECONDS = (0, 3600)


def _conditions(groups: Any, types: dict[str, str]) -> list[JsonDict] | None:
    """Condition groups as high-level conditions (subjects not named yet), or None if they do not fit."""
    if not groups:
        return []
    if not isinstance(groups, list) or len(groups) != 1:
        return None
    conditions: list[JsonDict] = []
    for condition in groups[0].get("conditions") or []:
        subject, operation = condition.get("subject"), condition.get("operation")
        bindings = condition.get("param_bindings") or []
        if not isinstance(subject, str) or not isinstance(operation, str):
            return None
        item: JsonDict = {"reference": subject, "operation": declared_operation(operation, types.get(subject, ""))}
        if bindings:
            literals = (
                bindings[0].get("array_value") if len(bindings) == 1 and set(bindings[0]) == {"array_value"} else None
            )
            if not literals or any(set(value) != {"literal"} for value in literals):
                return None
            item["values"] = [value["literal"] for value in literals]
        conditions.append(item)
    return conditions


def _single_literal(binding: Any) -> str | None:
    values = binding.get("array_value") if isinstance(binding, dict) and set(binding) == {"array_value"} else None
    if isinstance(values, list) and len(values) == 1 and set(values[0]) == {"literal"}:
        return str(values[0]["literal"])
    return None


def _grouping(payload: JsonDict, live: LiveRoute) -> tuple[JsonDict | None, JsonDict | None]:
    """The route's `grouping` and `whenAlertJoinsGroup` options (subjects not named yet), or None where it
    has none. The escalation mode and the window type only for an org on the new grouping engine, where the
    stack file may say them; elsewhere they stay in `raw`, as the v2 fields they are."""
    if not grouping_enabled(payload):
        return None, None
    incident = payload.get("incident_config") or {}
    grouping: JsonDict = {}
    if incident.get("grouping_keys"):
        grouping["keys"] = [key.get("reference") for key in incident["grouping_keys"]]
    if incident.get("grouping_window_seconds"):
        grouping["windowSeconds"] = incident["grouping_window_seconds"]
    window_type = ((live.v3_settings.get("grouping_config") or {}).get("default") or {}).get("window_type")
    if window_type:
        grouping["windowType"] = window_type
    relate, defer = incident.get("auto_relate_grouped_alerts"), incident.get("defer_time_seconds")
    when: JsonDict | None = None
    if live.migrated and relate and not defer:
        when = {"mode": ESCALATION_MODES[1]}
    elif live.migrated and defer and not relate:
        when = {"mode": ESCALATION_MODES[0], "gracePeriodSeconds": defer}
    return grouping, when


def _summarised(channel: str | None, live: LiveRoute) -> bool | None:
    """True when the route's one Slack channel posts a summary of each group (v3 only), else None."""
    for destination in (live.v3_settings.get("message_config") or {}).get("destinations") or []:
        target = destination.get("slack_targets") or {}
        if channel is not None and _single_literal(target.get("binding")) == channel:
            return True
    return None


def _guess(payload: JsonDict, types: dict[str, str], live: LiveRoute) -> JsonDict:
    """A high-level declaration with incident.io values where the config has names (named later)."""
    decl: JsonDict = {"name": payload["name"]}
    if payload.get("enabled") is False:
        decl["enabled"] = False
    decl["sources"] = [
        {"source": match["alert_source_id"], "when": _conditions(match.get("condition_groups"), types)}
        for match in payload.get("alert_sources") or []
    ]
    decl["when"] = _conditions(payload.get("condition_groups"), types)
    targets = (payload.get("escalation_config") or {}).get("escalation_targets") or []
    if len(targets) == 1 and set(targets[0]) == {"escalation_paths"}:
        decl["escalation"] = _single_literal(targets[0]["escalation_paths"])
    channels = payload.get("channel_config") or []
    if len(channels) == 1 and not channels[0].get("condition_groups"):
        decl["slack"] = _single_literal((channels[0].get("slack_targets") or {}).get("binding"))
    decl["grouping"], decl["whenAlertJoinsGroup"] = _grouping(payload, live)
    decl["slackGroupAlertsSummary"] = _summarised(decl.get("slack"), live)
    return decl


def _identity_vocabulary(decl: JsonDict, types: dict[str, str]) -> RouteVocabulary:
    """Names equal to values, so a guessed declaration compiles before anything is named."""
    subjects = [
        condition["reference"]
        for conditions in [decl.get("when") or [], *[match.get("when") or [] for match in decl["sources"]]]
        for condition in conditions
    ] + list((decl.get("grouping") or {}).get("keys") or [])
    return RouteVocabulary(
        references={subject: Reference(subject, types.get(subject, "")) for subject in subjects},
        escalation_paths={decl["escalation"]: decl["escalation"]} if decl.get("escalation") else {},
        slack_channels={decl["slack"]: decl["slack"]} if decl.get("slack") else {},
    )


def compile_guess(decl: JsonDict, types: dict[str, str]) -> JsonDict:
    """The payload a (not yet named) declaration compiles to, `raw` included."""
    (route,) = route_declarations({"routes": [without_nones(decl)]})
    sources = {match["source"]: match["source"] for match in decl["sources"]}
    return compile_route(route, _identity_vocabulary(decl, types), sources)


def v3_settings_said(decl: JsonDict, types: dict[str, str]) -> JsonDict:
    """The settings only v3 can say that a (not yet named) declaration says (the stack's `v3` input for it)."""
    (route,) = route_declarations({"routes": [without_nones(decl)]})
    return compile_v3_settings(route, _identity_vocabulary(decl, types))


def without_nones(decl: JsonDict) -> JsonDict:
    cleaned = {key: value for key, value in decl.items() if value is not None and value != []}
    cleaned["sources"] = [
        {key: value for key, value in match.items() if value is not None and value != []} for match in decl["sources"]
    ]
    return cleaned


def fitted(payload: JsonDict, types: dict[str, str], live: LiveRoute) -> JsonDict:
    """The high-level declaration of a route (`payload`, the v2 reading of `live`): each high-level field
    kept only where it compiles to exactly what the route has (None where it does not)."""
    decl = _guess(payload, types, live)
    window = (decl["grouping"] or {}).get("windowSeconds")
    if window is not None and not _WINDOW_SECONDS[0] <= window <= _WINDOW_SECONDS[1]:
        # Beyond what the option takes: left to `raw`, and so is what needs grouping said.
        decl["grouping"] = decl["whenAlertJoinsGroup"] = None
    grace = (decl["whenAlertJoinsGroup"] or {}).get("gracePeriodSeconds")
    if grace is not None and not _GRACE_PERIOD_SECONDS[0] <= grace <= _GRACE_PERIOD_SECONDS[1]:
        decl["whenAlertJoinsGroup"] = None
    compiled = compile_guess(decl, types)
    incident = payload.get("incident_config") or {}
    for option, fields in _COMPILES_TO_INCIDENT.items():
        said = {key: compiled["incident_config"].get(key) for key in fields}
        live_fields = {key: incident.get(key) for key in fields}
        if decl[option] and not same_spec({"incident_config": said}, {"incident_config": live_fields}):
            decl[option] = None
    if not decl["grouping"]:
        decl["whenAlertJoinsGroup"] = None
        compiled = compile_guess(decl, types)
    if not same_spec({"alert_sources": compiled["alert_sources"]}, {"alert_sources": payload.get("alert_sources")}):
        for match in decl["sources"]:
            match["when"] = None
    for high_level, payload_field in _COMPILES_TO.items():
        if decl.get(high_level) is None:
            continue
        if high_level == "escalation":
            wanted = (payload.get(payload_field) or {}).get("escalation_targets")
            got = compiled[payload_field].get("escalation_targets")
        else:
            wanted, got = payload.get(payload_field), compiled[payload_field]
        if not same_spec({payload_field: got}, {payload_field: wanted}):
            decl[high_level] = None
    if not decl.get("slack"):
        decl["slackGroupAlertsSummary"] = None
    return decl


def plain(decl: JsonDict) -> JsonDict:
    """The declaration with only its name, state and sources high-level: everything else in `raw`."""
    return {
        "name": decl["name"],
        **({"enabled": False} if decl.get("enabled") is False else {}),
        "sources": [{"source": match["source"], "when": None} for match in decl["sources"]],
        "when": None,
    }


def _override(base: JsonDict, target: JsonDict) -> JsonDict:
    """What `raw` must say so that deep_merge(base, raw) has target's values: objects key by key, lists
    and scalars whole."""
    raw: JsonDict = {}
    for key, wanted in target.items():
        have = base.get(key)
        if isinstance(wanted, dict) and isinstance(have, dict):
            nested = _override(have, wanted)
            if nested:
                raw[key] = nested
        elif normalize(have) != normalize(wanted):
            raw[key] = copy.deepcopy(wanted)
    return raw


def _without(raw: JsonDict, path: tuple[str, ...]) -> JsonDict:
    """`raw` without the entry at `path` (and without objects that leaves empty); `raw` is not changed,
    and what the removal does not touch is shared with it."""
    head, rest = path[0], path[1:]
    others = {key: value for key, value in raw.items() if key != head}
    if not rest:
        return others
    child = _without(raw[head], rest)
    return {**raw, head: child} if child else others


def _overlay(base: Any, override: Any) -> Any:
    """deep_merge(base, override) for reading only: nothing copied, so it must not be changed."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _overlay(base[key], value) if key in base else value
    return merged


def _pruned(raw: JsonDict, fits: Callable[[JsonDict], bool]) -> JsonDict:
    """`raw` less each entry (deepest first where a whole object cannot go) whose removal still fits."""

    def prune(path: tuple[str, ...]) -> None:
        nonlocal raw
        node = raw
        for key in path:
            node = node[key]
        for key in sorted(node):
            trial = _without(raw, (*path, key))
            if fits(trial):
                raw = trial
            elif isinstance(node[key], dict):
                prune((*path, key))

    prune(())
    return raw


@cache
def _field_validator(name: str) -> jsonschema.Draft202012Validator:
    """The payload schema of one top-level field."""
    schema = payload_schema()
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], **schema["properties"][name]})


def _same_field(compiled: JsonDict, name: str, wanted: str, trial: JsonDict, *, valid: bool = False) -> bool:
    """Whether `raw` holding `trial` for the top-level field `name` makes that field mean `wanted` (and,
    `valid`, one the API accepts)."""
    merged = _overlay({name: compiled[name]} if name in compiled else {}, trial)
    if canonical_text(merged.get(name), (name,)) != wanted:
        return False
    return not valid or name not in merged or _field_validator(name).is_valid(merged[name])


def minimal_raw(compiled: JsonDict, payload: JsonDict) -> JsonDict:
    """What `raw` must say for the declaration that compiles to `compiled` to be the live route
    (`payload`), less every entry that makes no difference (the API's defaults, empty values).

    The override is taken against the whole payload, the values the API fills in included: where the
    compiled form says otherwise (the high-level form compiles `incident_template.name.autogenerated:
    true`, a route may say `false`, the API's default), `raw` must say it. An entry is dropped only when
    the payload still means the live route and is still one the API accepts without it (a list keeps
    its required members; an object keeps `merge_strategy` even where it is the default)."""
    target = normalize(payload)
    full = _override(compiled, target)
    # Field by field: whether a top-level field means the same depends on that field alone, which is far
    # cheaper to ask than of the whole route.
    raw: JsonDict = {}
    for name, value in full.items():
        raw.update(
            _pruned({name: value}, partial(_same_field, compiled, name, canonical_text(target.get(name), (name,))))
        )
    # Lists and values come whole from the live route; an object merged over the compiled one can have
    # lost a member the API requires where it held the API's default (`merge_strategy: first-wins`).
    # Those fields again, keeping each step one the API accepts (slower, so only where needed).
    for name, value in list(raw.items()):
        if isinstance(value, dict) and not _field_validator(name).is_valid(_overlay(compiled.get(name), value)):
            del raw[name]
            wanted = canonical_text(target.get(name), (name,))
            raw.update(_pruned({name: full[name]}, partial(_same_field, compiled, name, wanted, valid=True)))
    return raw
