"""export-incident-io.sh: the live alert routes as stack-config route declarations.

Each route is written in the stack file's high-level form (sources, conditions, escalation, Slack)
as far as that form reproduces it, with `raw` holding exactly what it cannot express, and with the
route's `id` so that the next `pulumi up` adopts it instead of creating a copy. incident.io things
are named the way the stack files name them: alert sources, alert attributes and escalation paths
by name (by id where a name is not unique), Slack channels by id. Every exported route is checked
before it is written: resolved and compiled back the way the stack does it, it must be the live route.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.names import ATTRIBUTE_SUBJECT, NameResolutionError, match_one, resolve
from components.route_compiler import compile_route, compile_v3_settings, deep_merge
from components.settings import (
    ESCALATION_MODES,
    PLACEHOLDER,
    Lookup,
    Reference,
    RouteVocabulary,
    name_tables,
    resource_key,
    route_config_problems,
    route_declarations,
)
from ops import stack_file as stack_file_yaml
from ops.cli import EXIT_OK, InputError, OperationError, Progress, command_parser, connect, run
from providers.alert_route_spec import declared_operation, from_live, normalize, validation_errors
from providers.alert_route_v3 import grouping_enabled, observed, settings_said, with_v3
from providers.api import IncidentIoApi, JsonDict, LiveRoute
from providers.directory import Directory, fetch_directory
from providers.route_compare import same_spec, without_defaults

REPOSITORY = Path(__file__).resolve().parent.parent
# The stack's own config keys (ROUTE_CONFIG_KEYS) and the order they are written in.
TABLES = {
    "alertSources": "source",
    "references": "condition",
    "escalationPaths": "escalation",
    "slackChannels": "slack",
}


def project_name() -> str:
    name: str = yaml.safe_load((REPOSITORY / "Pulumi.yaml").read_text())["name"]
    return name


def _slug(label: str, kind: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return slug if re.match(r"^[a-z]", slug) else f"{kind}_{slug}".rstrip("_")


@dataclass
class Names:
    """Config names for incident.io values: the stack file's where it has one, else a slug of the label.

    A stack-file entry still set to the `SET-ME` placeholder, or one that resolves to nothing in the
    org, is filled in when the new name matches its key, so exporting also answers what the live org
    can answer.
    """

    kind: str
    table: dict[str, Any]
    # The incident.io value a table entry stands for (None when it does not resolve).
    value_of: Callable[[Any], Any] = field(default=lambda entry: entry)
    filled: list[str] = field(default_factory=list)
    # Of those, entries that named something the org does not resolve (not a placeholder): other routes
    # of the stack file that use them now name what the export found.
    repointed: list[str] = field(default_factory=list)

    def name(self, value: str, label: str, entry: Any) -> str:
        for key, existing in self.table.items():
            if self.value_of(existing) == value:
                return key
        key = _slug(label, self.kind)
        existing = self.table.get(key)
        if isinstance(existing, str) and existing.startswith(PLACEHOLDER):
            self.filled.append(key)
        elif key in self.table and self.value_of(existing) is None:
            self.filled.append(key)
            self.repointed.append(key)
        else:
            base, suffix = key, 2
            while key in self.table:
                key, suffix = f"{base}_{suffix}", suffix + 1
        self.table[key] = entry
        return key


def _labels(live: Any, labels: dict[str, str]) -> dict[str, str]:
    """incident.io's display labels for the references and literals in an answer (subjects, bindings)."""
    if isinstance(live, dict):
        label = live.get("label")
        for member in ("reference", "literal"):
            if isinstance(label, str) and isinstance(live.get(member), str):
                labels.setdefault(live[member], label)
        for item in live.values():
            _labels(item, labels)
    elif isinstance(live, list):
        for item in live:
            _labels(item, labels)
    return labels


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


def _compile_guess(decl: JsonDict, types: dict[str, str]) -> JsonDict:
    (route,) = route_declarations({"routes": [_without_nones(decl)]})
    sources = {match["source"]: match["source"] for match in decl["sources"]}
    return compile_route(route, _identity_vocabulary(decl, types), sources)


def _without_nones(decl: JsonDict) -> JsonDict:
    cleaned = {key: value for key, value in decl.items() if value is not None and value != []}
    cleaned["sources"] = [
        {key: value for key, value in match.items() if value is not None and value != []} for match in decl["sources"]
    ]
    return cleaned


_ROUTE_FIELD_ORDER = (
    "name",
    "id",
    "key",
    "previousKeys",
    "enabled",
    "sources",
    "when",
    "escalation",
    "slack",
    "slackGroupAlertsSummary",
    "grouping",
    "whenAlertJoinsGroup",
    "raw",
)
# The incident_config fields that `grouping` and `whenAlertJoinsGroup` compile to, and the ranges the stack
# file takes (components/settings.py).
_COMPILES_TO_INCIDENT = {
    "grouping": ("grouping_keys", "grouping_window_seconds"),
    "whenAlertJoinsGroup": ("auto_relate_grouped_alerts", "defer_time_seconds"),
}
_WINDOW_SECONDS = (60, 172800)
_GRACE_PERIOD_SECONDS = (0, 3600)
# High-level field -> the payload field it compiles to. A guess is kept only when it reproduces that
# field exactly; otherwise the field is left to `raw`, so the high-level form never says one thing
# while `raw` says another.
_COMPILES_TO = {"when": "condition_groups", "escalation": "escalation_config", "slack": "channel_config"}


def _fitted(payload: JsonDict, types: dict[str, str], live: LiveRoute) -> JsonDict:
    decl = _guess(payload, types, live)
    window = (decl["grouping"] or {}).get("windowSeconds")
    if window is not None and not _WINDOW_SECONDS[0] <= window <= _WINDOW_SECONDS[1]:
        # Beyond what the option takes: left to `raw`, and so is what needs grouping said.
        decl["grouping"] = decl["whenAlertJoinsGroup"] = None
    grace = (decl["whenAlertJoinsGroup"] or {}).get("gracePeriodSeconds")
    if grace is not None and not _GRACE_PERIOD_SECONDS[0] <= grace <= _GRACE_PERIOD_SECONDS[1]:
        decl["whenAlertJoinsGroup"] = None
    compiled = _compile_guess(decl, types)
    incident = payload.get("incident_config") or {}
    for option, fields in _COMPILES_TO_INCIDENT.items():
        said = {key: compiled["incident_config"].get(key) for key in fields}
        live_fields = {key: incident.get(key) for key in fields}
        if decl[option] and not same_spec({"incident_config": said}, {"incident_config": live_fields}):
            decl[option] = None
    if not decl["grouping"]:
        decl["whenAlertJoinsGroup"] = None
        compiled = _compile_guess(decl, types)
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


def _override(base: JsonDict, target: JsonDict) -> JsonDict:
    """What `raw` must say so that deep_merge(base, raw) has target's values."""
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
    trimmed = copy.deepcopy(raw)
    node = trimmed
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    if len(path) > 1 and not node:
        return _without(trimmed, path[:-1])
    return trimmed


def _minimal_raw(compiled: JsonDict, payload: JsonDict) -> JsonDict:
    """The override, less every entry that makes no difference (API defaults, empty values)."""
    raw = _override(compiled, without_defaults(payload))

    def prune(path: tuple[str, ...]) -> None:
        nonlocal raw
        node = raw
        for key in path:
            node = node[key]
        for key in sorted(node):
            trial = _without(raw, (*path, key))
            if same_spec(deep_merge(compiled, trial), payload):
                raw = trial
            elif isinstance(node[key], dict):
                prune((*path, key))

    prune(())
    return raw


@dataclass
class Export:
    config: JsonDict
    notes: list[str]
    # (config key, entry name) -> a comment to write beside that entry
    comments: dict[tuple[str, str], str] = field(default_factory=dict)
    # Live routes written from incident.io, and with a stack file: how many of them replace one of
    # its declarations, and how many of its declarations are kept as they are.
    exported: int = 0
    replaced: int = 0
    kept: int = 0
    whole_stack: bool = False


class _Namer:
    """Names for the incident.io things the exported routes use, in the stack files' forms."""

    def __init__(self, existing: JsonDict, directory: Directory) -> None:
        self.directory = directory
        self.sources = {str(item["id"]): item for item in directory.sources or []}
        self.attributes = {str(item["id"]): item for item in directory.attributes or []}
        self.paths = {str(item["id"]): item for item in directory.escalation_paths or []}
        self.tables = {key: Names(kind, dict(existing.get(key) or {})) for key, kind in TABLES.items()}
        self.tables["alertSources"].value_of = lambda entry: self._resolved(entry, directory.sources)
        self.tables["escalationPaths"].value_of = lambda entry: self._resolved(entry, directory.escalation_paths)
        self.tables["references"].value_of = self._subject_of
        self.tables["slackChannels"].value_of = lambda entry: entry.get("id") if isinstance(entry, dict) else entry
        # Ids the live routes use that the org's lists do not have: (config key, name, what) for each.
        self.unresolved: list[tuple[str, str, str]] = []

    @staticmethod
    def _resolved(entry: Any, items: list[JsonDict] | None) -> str | None:
        if not isinstance(entry, dict):
            return None
        found, _ = match_one("", "", Lookup(entry.get("name"), entry.get("id")), items or [])
        if found is None and entry.get("id") and not entry.get("name"):
            return str(entry["id"])  # an id the org's list lacks still names that id
        return None if found is None else str(found["id"])

    def _subject_of(self, entry: Any) -> str | None:
        if not isinstance(entry, dict):
            return None
        if entry.get("subject"):
            return str(entry["subject"])
        found = self._resolved({"name": entry.get("attribute"), "id": entry.get("id")}, self.directory.attributes)
        return None if found is None else f"{ATTRIBUTE_SUBJECT}{found}"

    @staticmethod
    def _name_is_unique(item: JsonDict, items: dict[str, JsonDict]) -> bool:
        return sum(1 for other in items.values() if other.get("name") == item.get("name")) == 1

    def _by_name(self, item: JsonDict, items: dict[str, JsonDict]) -> JsonDict:
        """`{name}` when the name is the org's only one of its kind, else `{name, id}`."""
        return {"name": item["name"]} if self._name_is_unique(item, items) else {"name": item["name"], "id": item["id"]}

    def _reference(self, subject: str, labels: dict[str, str]) -> str:
        attribute = self.attributes.get(subject.removeprefix(ATTRIBUTE_SUBJECT))
        if subject.startswith(ATTRIBUTE_SUBJECT) and attribute is not None:
            unique = self._name_is_unique(attribute, self.attributes)
            entry = {"attribute": attribute["name"]} if unique else {"id": attribute["id"]}
            return self.tables["references"].name(subject, str(attribute["name"]), entry)
        name = self.tables["references"].name(subject, labels.get(subject) or subject, {"subject": subject})
        if subject.startswith(ATTRIBUTE_SUBJECT):
            self._unresolved("references", name, "alert attribute", "GET /v2/alert_attributes")
        return name

    def _unresolved(self, key: str, name: str, kind: str, listing: str) -> None:
        if all((key, name) != (known_key, known_name) for known_key, known_name, _ in self.unresolved):
            self.unresolved.append((key, name, f"no {kind} with this id in {listing}"))

    def declare(self, decl: JsonDict, labels: dict[str, str]) -> JsonDict:
        def conditions(items: list[JsonDict] | None) -> list[JsonDict] | None:
            if not items:
                return None
            for item in items:
                item["reference"] = self._reference(item["reference"], labels)
            return items

        for match in decl["sources"]:
            source_id = match["source"]
            source = self.sources.get(source_id)
            entry = self._by_name(source, self.sources) if source else {"id": source_id}
            label = str(source["name"]) if source else labels.get(source_id) or source_id
            match["source"] = self.tables["alertSources"].name(source_id, label, entry)
            if source is None:
                self._unresolved("alertSources", match["source"], "alert source", "GET /v2/alert_sources")
            match["when"] = conditions(match["when"])
        decl["when"] = conditions(decl["when"])
        grouping = decl.get("grouping") or {}
        if grouping.get("keys"):
            grouping["keys"] = [self._reference(subject, labels) for subject in grouping["keys"]]
        path_id = decl.get("escalation")
        if path_id:
            path = self.paths.get(path_id)
            entry = self._by_name(path, self.paths) if path else {"id": path_id}
            label = str(path["name"]) if path else labels.get(path_id) or path_id
            decl["escalation"] = self.tables["escalationPaths"].name(path_id, label, entry)
            if path is None:
                self._unresolved("escalationPaths", decl["escalation"], "escalation path", "GET /v2/escalation_paths")
        channel = decl.get("slack")
        if channel:
            decl["slack"] = self.tables["slackChannels"].name(channel, labels.get(channel) or channel, channel)
        return _without_nones(decl)


def export(
    api: IncidentIoApi, progress: Progress, *, existing: JsonDict | None = None, match: re.Pattern[str] | None = None
) -> Export:
    """The route-declaring stack config for the live routes whose names match `match` (all by default).

    With a stack file's config (`existing`), its names are reused and its routes are the list: the
    exported ones replace their declarations or are added, the others are kept as they are.
    """
    stack_file = existing is not None
    existing = existing or {}
    directory = fetch_directory(api, sources=True, attributes=True, escalation_paths=True)
    types = {f"{ATTRIBUTE_SUBJECT}{item['id']}": str(item.get("type", "")) for item in directory.attributes or []}
    namer = _Namer(existing, directory)
    listed = [entry for entry in api.list_routes() if match is None or match.search(str(entry.get("name")))]
    if not listed:
        matching = f" matches --match {match.pattern!r}" if match else "s exist"
        # Like grep: nothing matched is exit 1 (OperationError), with nothing written.
        raise OperationError(f"nothing to export: no live alert route{matching}")
    routes: list[JsonDict] = []
    # Each exported route as the stack must compile it: its v2 payload and, where the stack file can say
    # them, its settings only v3 can say (`with_v3`).
    payloads: dict[str, JsonDict] = {}
    notes: list[str] = []
    for index, entry in enumerate(listed, 1):
        progress.step("route", index, len(listed), str(entry.get("name")))
        live = api.read_route(str(entry["id"]))
        if live is None:
            notes.append(f"route {entry.get('name')} ({entry['id']}) was deleted during the export; skipped")
            continue
        payload = normalize(from_live(live.answer))
        decl = _fitted(payload, types, live)
        compiled = _compile_guess(decl, types)
        if live.migrated:
            # What a v2 read cannot tell (docs/api-behaviour.md B15) is what the declaration says.
            payload = observed(payload, compiled)
        raw = _minimal_raw(compiled, payload)
        settings = _v3_settings_said(decl, types)
        payloads[live.id] = with_v3(payload, settings)
        declared = namer.declare(decl, _labels(live.answer, {}))
        declared["id"] = live.id
        if raw:
            declared["raw"] = raw
            notes.append(f"route {declared['name']}: {', '.join(sorted(raw))} kept in `raw` (no high-level form)")
        if not same_spec(with_v3({}, settings), with_v3({}, live.v3_settings)):
            notes.append(
                f"WARNING: route {declared['name']} has settings only incident.io's v3 API can say that a stack file "
                f"cannot declare ({'; '.join(settings_said(live.v3_settings))}; it says "
                "grouping.windowType and slackGroupAlertsSummary for its one Slack channel): `pulumi up` refuses to "
                "adopt it until they are changed in the incident.io dashboard"
            )
        routes.append(declared)
    if not routes:
        raise OperationError("nothing to export: every matching route was deleted while the export ran")
    result = Export({}, notes, exported=len(routes), whole_stack=stack_file)
    if stack_file:
        routes, result.replaced = _into_stack(existing.get("routes") or [], routes)
        result.kept = len(routes) - result.exported
    else:
        routes.sort(key=lambda route: str(route["name"]))
    config: JsonDict = {key: namer.tables[key].table for key in TABLES if namer.tables[key].table}
    config["routes"] = [_ordered(route) for route in routes]
    notes += [
        f"filled in {key}.{name} (was {PLACEHOLDER}, or did not resolve)"
        for key in TABLES
        for name in namer.tables[key].filled
    ]
    notes += [
        f"{key}.{name} is still {PLACEHOLDER}: the live routes do not use it; set it or remove it"
        for key in TABLES
        for name, value in namer.tables[key].table.items()
        if isinstance(value, str) and value.startswith(PLACEHOLDER)
    ]
    kept = [route for route in routes if str(route.get("id")) not in payloads]
    for key in TABLES:
        for name in namer.tables[key].repointed:
            users = [str(route["name"]) for route in kept if name in _used_names([route])[key]]
            if users:
                notes.append(
                    f"WARNING: {key}.{name} did not resolve and now names what the live routes use; the stack "
                    f"file's other routes that use it ({', '.join(users)}) will name that too: check they mean it"
                )
    for key, name, problem in namer.unresolved:
        result.comments[(key, name)] = f"{problem}: check it exists and this key may see it"
        notes.append(
            f"WARNING: {key}.{name}: {problem} (deleted, or not visible to this API key); written by id, and "
            "`pulumi preview` stops on it until it resolves"
        )
    _verify(config, _with_unresolved(directory, config, namer.unresolved), payloads)
    result.config = config
    return result


def _v3_settings_said(decl: JsonDict, types: dict[str, str]) -> JsonDict:
    """The settings only v3 can say that the declaration says (the stack's `v3` input for it)."""
    (route,) = route_declarations({"routes": [_without_nones(decl)]})
    return compile_v3_settings(route, _identity_vocabulary(decl, types))


def _ordered(route: JsonDict) -> JsonDict:
    return {key: route[key] for key in _ROUTE_FIELD_ORDER if key in route} | {
        key: value for key, value in route.items() if key not in _ROUTE_FIELD_ORDER
    }


def _into_stack(declared: list[JsonDict], exported: list[JsonDict]) -> tuple[list[JsonDict], int]:
    """The stack's whole list of routes: each exported route in place of the declaration it matches
    (by id, then by name), the others added at the end; every other declaration as it is."""
    routes = copy.deepcopy(declared)
    by_id = {str(route["id"]): index for index, route in enumerate(declared) if route.get("id")}
    by_name = {str(route.get("name")): index for index, route in enumerate(declared)}
    taken: set[int] = set()
    added: list[JsonDict] = []
    for route in exported:
        index = by_id.get(str(route["id"]))
        if index is None or index in taken:
            index = by_name.get(str(route["name"]))
        if index is None or index in taken:
            added.append(route)
            continue
        _follow(route, declared[index])
        routes[index] = route
        taken.add(index)
    return routes + sorted(added, key=lambda route: str(route["name"])), len(taken)


def _follow(declared: JsonDict, existing: JsonDict) -> None:
    """Keep what only the stack file says: the resource key (so a route renamed in the dashboard stays
    the same Pulumi resource), its previous keys, and the order of sources (the API answers in its own)."""
    key = existing.get("key") or resource_key(str(existing.get("name")))
    if existing.get("key") or key != resource_key(str(declared["name"])):
        declared["key"] = key
    if existing.get("previousKeys"):
        declared["previousKeys"] = list(existing["previousKeys"])
    order = {match.get("source"): index for index, match in enumerate(existing.get("sources") or [])}
    declared["sources"].sort(key=lambda match: order.get(match["source"], len(order)))


def _with_unresolved(directory: Directory, config: JsonDict, unresolved: list[tuple[str, str, str]]) -> Directory:
    """The org's lists plus the ids they lack, so that the export can be checked all the same."""
    lists = {"alertSources": list(directory.sources or []), "escalationPaths": list(directory.escalation_paths or [])}
    for key, name, _ in unresolved:
        if key in lists:
            lists[key].append({"id": config[key][name]["id"], "name": name})
    return Directory(lists["alertSources"], directory.attributes, lists["escalationPaths"])


def _verify(config: JsonDict, directory: Directory, payloads: dict[str, JsonDict]) -> None:
    """Resolve and compile the exported routes the way a stack does; each must come out as the live one.
    Only what they use is resolved: the stack file's other entries and routes are its own business."""
    exported = [route for route in config["routes"] if str(route.get("id")) in payloads]
    used = _used_names(exported)
    checked: JsonDict = {
        key: {name: entry for name, entry in config.get(key, {}).items() if name in used[key]} for key in TABLES
    }
    checked["routes"] = exported
    problems = route_config_problems(checked)
    if problems:
        raise OperationError("the export is not a valid stack config: " + "; ".join(problems))
    try:
        resolved = resolve(name_tables(checked), directory)
    except NameResolutionError as error:
        raise OperationError(f"the export's names do not resolve ({error}); this is a bug in the export") from None
    for route in route_declarations(checked):
        compiled = compile_route(route, resolved.vocabulary, resolved.source_ids)
        errors = validation_errors(compiled)
        settings = compile_v3_settings(route, resolved.vocabulary)
        if errors or not same_spec(with_v3(compiled, settings), payloads[str(route.id)]):
            raise OperationError(
                f"route {route.name!r} ({route.id}) does not round-trip through the stack config "
                f"({errors or 'compiled payload differs from the live route'}); this is a bug in the export"
            )


def _used_names(routes: list[JsonDict]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {key: set() for key in TABLES}
    for route in routes:
        conditions = [*(route.get("when") or []), *(c for m in route["sources"] for c in m.get("when") or [])]
        used["alertSources"].update(match["source"] for match in route["sources"])
        used["references"].update(condition["reference"] for condition in conditions)
        used["escalationPaths"].update([route["escalation"]] if route.get("escalation") else [])
        used["slackChannels"].update([route["slack"]] if route.get("slack") else [])
        used["references"].update((route.get("grouping") or {}).get("keys") or [])
    return used


def header(result: Export, api_url: str, stack_file: Path | None) -> list[str]:
    """What the export holds and what to do with it, said at its top."""
    count = result.exported
    lines = [f"Exported by export-incident-io.sh from {api_url}: {count} live alert route{'' if count == 1 else 's'}."]
    if stack_file is not None:
        total = len(result.config["routes"])
        lines += [
            f"`routes` is the whole list of {stack_file.name}: {total} route{'' if total == 1 else 's'}, of which "
            f"{result.replaced} replace their declarations (matched by id, then by name), "
            f"{result.exported - result.replaced} are added, and {result.kept} are as the file has them.",
            f"Paste these keys over the keys of the same name under `config:` in {stack_file.name} (or run with",
            "--write to do it in place): no route of the file is lost.",
        ]
    else:
        lines += [
            "These are the matching live routes only. Add them to a stack file's `routes`; pasting this list",
            "over a stack file's `routes` would drop its other routes (--stack-file prints the whole list).",
        ]
    lines += [
        "Each exported route carries its incident.io `id`, so the next `pulumi up` adopts it rather than",
        "creating a second route.",
    ]
    return lines


def render(result: Export, project: str, api_url: str, stack_file: Path | None = None) -> str:
    return stack_file_yaml.render(result.config, project, header(result, api_url, stack_file), result.comments)


def _identities(route: JsonDict, *, previous: bool = False) -> set[str]:
    """What makes a declared route the same route: its live id where it has one, its resource key, and
    (`previous`) the keys it continues."""
    identities = {str(route.get("key") or resource_key(str(route.get("name"))))}
    if route.get("id"):
        identities.add(f"id:{route['id']}")
    if previous:
        identities.update(str(key) for key in route.get("previousKeys") or [])
    return identities


def write_into(path: Path, project: str, result: Export) -> str:
    """Update the stack file in place with the export; the unified diff of what changed ("" if nothing).
    Refused, with the file unchanged, when a route of the file would be missing afterwards."""
    after = set().union(*(_identities(route, previous=True) for route in result.config["routes"]))
    before_routes = stack_file_yaml.read_config(path, project).get("routes") or []
    lost = [str(route.get("name")) for route in before_routes if not _identities(route) & after]
    if lost:
        raise OperationError(
            f"{path}: refusing to write: the routes {', '.join(map(repr, lost))} would no longer be declared, and "
            "the next `pulumi up` would delete them; the file is unchanged"
        )
    before, text = stack_file_yaml.updated(path, project, result.config, result.comments)
    if text == before:
        return ""
    stack_file_yaml.write(path, text)
    return stack_file_yaml.unified_diff(before, text, path)


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular expression: {error}") from None


def _check_output(path: Path, force: bool) -> None:
    """Before any API call: an export that cannot be written is refused at once, not after the download."""
    if path.exists() and not force:
        raise InputError(f"{path} exists; pass --force to replace it (the export is a fragment, not a stack file)")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InputError(f"{path}: the directory {parent} does not exist; create it or choose another --output")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: the directory {parent} is not writable; choose another --output")


def parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "export-incident-io.sh",
        "Write the live incident.io alert routes as stack-config route declarations (with ids, for "
        "adoption), so an existing org can be brought under Pulumi without retyping anything.",
        scopes="the scope 'View data'",
        exit_codes="0 exported, 1 nothing matched, an API failure or a route that does not round-trip, "
        "2 bad arguments, unreadable stack file or unwritable --output",
    )
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="reuse this stack file's names (alertSources, references, escalationPaths, slackChannels, route "
        "keys) and fill in its SET-ME placeholders where the live org has the value",
    )
    parser.add_argument("--match", type=_pattern, help="only routes whose name matches this regular expression")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, help="write to this file instead of standard output")
    where.add_argument(
        "--write",
        action="store_true",
        help="update the --stack-file in place (its comments, key order and other keys kept) and print the diff; "
        "refused if a route of the file would be lost",
    )
    parser.add_argument("--force", action="store_true", help="let --output replace an existing file")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.write and not args.stack_file:
        raise InputError("--write updates the stack file given with --stack-file; give one")
    if args.output:
        _check_output(args.output, args.force)
    project = project_name()
    existing = stack_file_yaml.read_config(args.stack_file, project) if args.stack_file else None
    progress = Progress()
    api = connect(progress)
    result = export(api, progress, existing=existing, match=args.match)
    if args.write:
        diff = write_into(args.stack_file, project, result)
        sys.stdout.write(diff or f"{args.stack_file} already says what the export says; unchanged\n")
    else:
        text = render(result, project, api.client.display_url, args.stack_file)
        if args.output:
            try:
                args.output.write_text(text, encoding="utf-8")
            except OSError as error:
                raise OperationError(f"{args.output}: cannot write the export ({error.strerror})") from None
        else:
            sys.stdout.write(text)
    for note in result.notes:
        progress.say(f"note: {note}")
    progress.say(f"exported {result.exported} routes" + (f" into {args.stack_file}" if args.write else ""))
    return EXIT_OK


if __name__ == "__main__":
    run(main)
