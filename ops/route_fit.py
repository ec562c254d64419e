"""A live route as a stack declaration: the high-level form as far as it reproduces the route, and
`raw` (the declaration's override, deep-merged over the compiled payload) for exactly the rest.

The declaration here still holds incident.io values where the stack file has names (source ids,
condition subjects, escalation path ids, Slack channel ids); ops/export.py names them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import jsonschema

from components.route_compiler import compile_route
from components.settings import Reference, RouteVocabulary, route_declarations
from providers.alert_route_spec import declared_operation, normalize, payload_schema
from providers.api import JsonDict
from providers.route_compare import canonical_text, same_spec

# High-level field -> the payload field it compiles to. A guess is kept only when it reproduces that
# field exactly; otherwise the field is left to `raw`, so the high-level form never says one thing
# while `raw` says another.
_COMPILES_TO = {"when": "condition_groups", "escalation": "escalation_config", "slack": "channel_config"}


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


def _guess(payload: JsonDict, types: dict[str, str]) -> JsonDict:
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
    return decl


def _identity_vocabulary(decl: JsonDict, types: dict[str, str]) -> RouteVocabulary:
    """Names equal to values, so a guessed declaration compiles before anything is named."""
    subjects = [
        condition["reference"]
        for conditions in [decl.get("when") or [], *[match.get("when") or [] for match in decl["sources"]]]
        for condition in conditions
    ]
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


def without_nones(decl: JsonDict) -> JsonDict:
    cleaned = {key: value for key, value in decl.items() if value is not None and value != []}
    cleaned["sources"] = [
        {key: value for key, value in match.items() if value is not None and value != []} for match in decl["sources"]
    ]
    return cleaned


def fitted(payload: JsonDict, types: dict[str, str]) -> JsonDict:
    """The high-level declaration of a route: each high-level field kept only where it compiles to
    exactly what the route has (None where it does not)."""
    decl = _guess(payload, types)
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
