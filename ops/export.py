"""export-incident-io.sh: the live alert routes as stack-config route declarations.

Each route is written in the stack file's high-level form (sources, conditions, escalation, Slack)
as far as that form reproduces it, with `raw` holding exactly what it cannot express (ops/route_fit.py),
and with the route's `id` so that the next `pulumi up` adopts it instead of creating a copy.
incident.io things are named the way the stack files name them: alert sources, alert attributes and
escalation paths by name (by id where a name is not unique), Slack channels by id; where the stack
file declares the route, by the names its declaration uses. Every exported route is checked before it
is written: resolved and compiled back the way the stack does it, it must be the live route. A route
that cannot be exported is named with the reason, and the others are exported all the same.

In an org on incident.io's new alert grouping engine each route is read through v2 and v3, and the
export also says what only v3 can (`grouping.windowType`, `slackGroupAlertsSummary`); a route with v3-only
settings no stack-file option can say is exported with a WARNING naming them (docs/grouping.md).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.names import ATTRIBUTE_SUBJECT, NameResolutionError, match_one, resolve
from components.ownership import declared_routes, other_stacks, owner_label
from components.route_compiler import compile_route, compile_v3_settings
from components.settings import (
    PLACEHOLDER,
    Lookup,
    name_tables,
    resource_key,
    route_config_problems,
    route_declarations,
)
from ops import route_fit, stack_match
from ops import stack_file as stack_file_yaml
from ops.cli import EXIT_FAILED, EXIT_OK, InputError, OperationError, Progress, command_parser, connect, run
from ops.stack_match import Matching, StateIds, declaration_keys, read_state_ids, renamed_in_tests
from providers.alert_route_spec import from_live, normalize, validation_errors
from providers.alert_route_v3 import observed, settings_said, with_v3
from providers.api import IncidentIoApi, JsonDict, LiveRoute
from providers.directory import Directory, fetch_directory
from providers.ownership import Declaration
from providers.route_compare import changed_fields, same_spec

REPOSITORY = Path(__file__).resolve().parent.parent
# The stack's own config keys (ROUTE_CONFIG_KEYS) and the order they are written in.
TABLES = {
    "alertSources": "source",
    "references": "condition",
    "escalationPaths": "escalation",
    "slackChannels": "slack",
}
# What an explicit `key` may be (components/settings.py, ROUTE_SCHEMA).
_EXPLICIT_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
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

    def name(self, value: str, label: str, entry: Any, prefer: Iterable[str] = ()) -> str:
        """The name of `value`: of the names the table has for it, one in `prefer` (the names the route's
        declaration uses) first; else a new one."""
        for key in prefer:
            if key in self.table and self.value_of(self.table[key]) == value:
                return key
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


@dataclass(frozen=True)
class NotExported:
    """A live route the export could not write, and why; `source_ids` are the alert sources it lists."""

    name: str
    id: str
    why: str
    source_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"route {self.name!r} ({self.id}) was not exported: {self.why}"


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
    # Live routes that could not be exported (each named with why), and the declarations of those that were.
    failed: list[NotExported] = field(default_factory=list)
    live_routes: list[JsonDict] = field(default_factory=list)


class _NotExportableError(Exception):
    """Why one route cannot be exported; the others go on."""


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

    def checkpoint(self) -> Any:
        """Everything naming a route may change, to be put back if that route is not exported after all."""
        tables = {key: (names.table, names.filled, names.repointed) for key, names in self.tables.items()}
        return copy.deepcopy((tables, self.unresolved))

    def restore(self, saved: Any) -> None:
        tables, unresolved = copy.deepcopy(saved)
        for key, (table, filled, repointed) in tables.items():
            self.tables[key].table, self.tables[key].filled, self.tables[key].repointed = table, filled, repointed
        self.unresolved = unresolved

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

    def _reference(self, subject: str, labels: dict[str, str], prefer: Iterable[str]) -> str:
        table = self.tables["references"]
        attribute_id, _, member = subject.removeprefix(ATTRIBUTE_SUBJECT).partition(".")
        attribute = self.attributes.get(attribute_id) if subject.startswith(ATTRIBUTE_SUBJECT) else None
        if attribute is not None and not member:
            unique = self._name_is_unique(attribute, self.attributes)
            entry = {"attribute": attribute["name"]} if unique else {"id": attribute["id"]}
            return table.name(subject, str(attribute["name"]), entry, prefer)
        # A member of an attribute (`alert.attributes.<id>.<member>`), an alert field or an expression:
        # written out as the subject it is.
        label = labels.get(subject) or (f"{attribute['name']} {member}" if attribute is not None else subject)
        name = table.name(subject, label, {"subject": subject}, prefer)
        if subject.startswith(ATTRIBUTE_SUBJECT) and attribute is None:
            self._unresolved("references", name, "alert attribute", "GET /v2/alert_attributes")
        return name

    def _unresolved(self, key: str, name: str, kind: str, listing: str) -> None:
        if all((key, name) != (known_key, known_name) for known_key, known_name, _ in self.unresolved):
            self.unresolved.append((key, name, f"no {kind} with this id in {listing}"))

    def declare(self, decl: JsonDict, labels: dict[str, str], prefer: dict[str, set[str]]) -> JsonDict:
        """The declaration with its incident.io values named; where a value has several names, one of
        `prefer` (the names, per config key, that the route's declaration in the stack file uses)."""

        def conditions(items: list[JsonDict] | None) -> list[JsonDict] | None:
            if not items:
                return None
            for item in items:
                item["reference"] = self._reference(item["reference"], labels, prefer["references"])
            return items

        for match_ in decl["sources"]:
            source_id = match_["source"]
            source = self.sources.get(source_id)
            entry = self._by_name(source, self.sources) if source else {"id": source_id}
            label = str(source["name"]) if source else labels.get(source_id) or source_id
            match_["source"] = self.tables["alertSources"].name(source_id, label, entry, prefer["alertSources"])
            if source is None:
                self._unresolved("alertSources", match_["source"], "alert source", "GET /v2/alert_sources")
            match_["when"] = conditions(match_["when"])
        decl["when"] = conditions(decl["when"])
        grouping = decl.get("grouping") or {}
        if grouping.get("keys"):
            grouping["keys"] = [self._reference(subject, labels, prefer["references"]) for subject in grouping["keys"]]
        path_id = decl.get("escalation")
        if path_id:
            path = self.paths.get(path_id)
            entry = self._by_name(path, self.paths) if path else {"id": path_id}
            label = str(path["name"]) if path else labels.get(path_id) or path_id
            decl["escalation"] = self.tables["escalationPaths"].name(path_id, label, entry, prefer["escalationPaths"])
            if path is None:
                self._unresolved("escalationPaths", decl["escalation"], "escalation path", "GET /v2/escalation_paths")
        channel = decl.get("slack")
        if channel:
            label = labels.get(channel) or channel
            decl["slack"] = self.tables["slackChannels"].name(channel, label, channel, prefer["slackChannels"])
        return route_fit.without_nones(decl)


def _payload_source_ids(payload: JsonDict) -> tuple[str, ...]:
    return tuple(str(match.get("alert_source_id")) for match in payload.get("alert_sources") or [])


class _Exporter:
    """Each live route as a declaration, one at a time: a route that cannot be exported changes nothing
    in the names the others use."""

    def __init__(self, directory: Directory, namer: _Namer) -> None:
        self.directory = directory
        self.namer = namer
        self.types = {
            f"{ATTRIBUTE_SUBJECT}{item['id']}": str(item.get("type", "")) for item in directory.attributes or []
        }

    def declaration(self, live: LiveRoute, payload: JsonDict, before: JsonDict | None) -> tuple[JsonDict, JsonDict]:
        """The route's declaration (following `before`, its declaration in the stack file), checked; the
        high-level form where it fits, else only its sources high-level and the rest in `raw`. Also the
        settings only v3 can say that the declaration says (which may be fewer than the route has)."""
        if not payload.get("alert_sources"):
            raise _NotExportableError(
                "it lists no alert source, and a stack declaration needs at least one (`sources`)"
            )
        labels = _labels(live.answer, {})
        prefer = _used_names([before]) if before is not None else {key: set() for key in TABLES}
        fitted = route_fit.fitted(payload, self.types, live)
        problems: list[str] = []
        for form in (fitted, route_fit.plain(fitted)):
            saved = self.namer.checkpoint()
            compiled = route_fit.compile_guess(form, self.types)
            # In a migrated org, what a v2 read cannot tell (docs/api-behaviour.md B15) is what the declaration says.
            target = observed(payload, compiled) if live.migrated else payload
            raw = route_fit.minimal_raw(compiled, target)
            settings = route_fit.v3_settings_said(form, self.types)
            decl = self.namer.declare(copy.deepcopy(form), labels, prefer)
            decl["id"] = live.id
            if raw:
                decl["raw"] = raw
            if before is not None:
                _follow(decl, before)
            problem = self._problem(decl, with_v3(target, settings))
            if problem is None:
                return _ordered(decl), settings
            problems.append(problem)
            self.namer.restore(saved)
        raise _NotExportableError(problems[0])

    def _problem(self, decl: JsonDict, route: JsonDict) -> str | None:
        """Why the declaration is not `route` (the live route's payload with the v3-only settings the
        declaration says, `with_v3`), resolved and compiled the way the stack does it (None when it is)."""
        used = _used_names([decl])
        checked: JsonDict = {
            key: {name: entry for name, entry in self.namer.tables[key].table.items() if name in used[key]}
            for key in TABLES
        }
        # A name with nothing to make a resource key from gets one with the whole list (_free_key).
        needs_key = not decl.get("key") and not resource_key(str(decl["name"]))
        checked["routes"] = [{**decl, "key": "route"} if needs_key else decl]
        problems = route_config_problems(checked)
        if problems:
            return "its declaration is not a valid stack config: " + "; ".join(problems)
        try:
            resolved = resolve(name_tables(checked), _with_unresolved(self.directory, checked, self.namer.unresolved))
        except NameResolutionError as error:
            return f"its names do not resolve: {'; '.join(error.problems)}"
        (route_,) = route_declarations(checked)
        compiled = compile_route(route_, resolved.vocabulary, resolved.source_ids)
        errors = validation_errors(compiled)
        if errors:
            return "the stack would refuse it: " + "; ".join(f"{path}: {reason}" for path, reason in errors)
        settings = compile_v3_settings(route_, resolved.vocabulary)
        differing = changed_fields(with_v3(compiled, settings), route)
        if differing:
            return f"its declaration compiles to another route (differs in {', '.join(differing)}); a bug in the export"
        return None


def export(
    api: IncidentIoApi,
    progress: Progress,
    *,
    existing: JsonDict | None = None,
    match: re.Pattern[str] | None = None,
    state: StateIds | None = None,
    directory: Directory | None = None,
    elsewhere: Iterable[Declaration] = (),
) -> Export:
    """The route-declaring stack config for the live routes whose names match `match` (all by default).

    With a stack file's config (`existing`), its names are reused and its routes are the list: each
    exported route replaces the declaration that manages it (by id, by the stack's `state`, by name) or
    is added, the others are kept as they are. A route that cannot be exported is in `failed`.
    `directory`: the org's sources, attributes and escalation paths, when the caller has listed them.
    `elsewhere`: what the other stack files declare; those live routes are left to them, never added here
    (a live route is managed by one stack).
    """
    stack_file = existing is not None
    existing = existing or {}
    # Given (--route-ids), even empty (a stack that manages nothing yet): it says which declaration manages
    # which route, so a live route it does not know is a new one.
    state_given = state is not None
    state = state or StateIds()
    if directory is None:
        directory = fetch_directory(api, sources=True, attributes=True, escalation_paths=True)
    namer = _Namer(existing, directory)
    exporter = _Exporter(directory, namer)
    everything = list(api.list_routes())
    listed = [entry for entry in everything if match is None or match.search(str(entry.get("name")))]
    if not listed:
        matching_ = f" matches --match {match.pattern!r}" if match else "s exist"
        # Like grep: nothing matched is exit 1 (OperationError), with nothing written.
        raise OperationError(f"nothing to export: no live alert route{matching_}")
    declared: list[JsonDict] = list(existing.get("routes") or [])
    live_ids = {str(entry["id"]) for entry in everything}
    left_to_others = {
        str(
            entry["id"]
        ): f"route {entry.get('name')!r} ({entry['id']}) is declared by {owner}: left to it, not added here"
        for entry in listed
        if (owner := _owner_elsewhere(entry, declared, elsewhere)) is not None
    }
    listed = [entry for entry in listed if str(entry["id"]) not in left_to_others]
    if not listed:
        raise OperationError("nothing to export: " + "; ".join(left_to_others.values()))
    matching = stack_match.match(declared, listed, live_ids, state)
    result = Export({}, list(left_to_others.values()), whole_stack=stack_file)
    exported = _declare_each(api, progress, exporter, listed, declared, matching, result)
    if stack_file and not state_given:
        exported = _held_back(exported, _orphans(declared, matching, state, match), result)
    if not exported:
        raise OperationError(
            "nothing exported: " + "; ".join(failure.describe() for failure in result.failed)
            if result.failed
            else "nothing to export: every matching route was deleted while the export ran"
        )
    result.exported = len(exported)
    result.live_routes = [decl for decl, _ in exported]
    routes = _into_stack(declared, exported, result)
    config: JsonDict = {key: namer.tables[key].table for key in TABLES if namer.tables[key].table}
    config["routes"] = routes
    renames = {str(declared[at]["name"]): str(decl["name"]) for decl, at in exported if at is not None}
    renames = {old: new for old, new in renames.items() if old != new}
    tests = renamed_in_tests(existing.get("routingTests") or [], renames) if renames else None
    if tests is not None:
        config["routingTests"] = tests
    if stack_file:
        result.notes += _matching_notes(declared, exported, matching, live_ids, state, state_given, match)
    result.notes += [
        f"route {old!r} is named {new!r} in incident.io: its declaration follows, under the same resource key, so "
        "`pulumi up` renames it in place" + (" (and so do the routing tests that expect it)" if tests else "")
        for old, new in renames.items()
    ]
    result.notes += _table_notes(namer, routes, {str(decl["id"]) for decl in result.live_routes})
    for key, name, problem in namer.unresolved:
        result.comments[(key, name)] = f"{problem}: check it exists and this key may see it"
        result.notes.append(
            f"WARNING: {key}.{name}: {problem} (deleted, or not visible to this API key); written by id, and "
            "`pulumi preview` stops on it until it resolves"
        )
    _check_whole(existing, config)
    result.config = config
    return result


def _declare_each(
    api: IncidentIoApi,
    progress: Progress,
    exporter: _Exporter,
    listed: list[JsonDict],
    declared: list[JsonDict],
    matching: Matching,
    result: Export,
) -> list[tuple[JsonDict, int | None]]:
    """Each listed live route's declaration, with the index of the declaration it replaces (None: added).
    A route that cannot be declared goes to `result.failed`, and changes nothing for the others."""
    # Routes a declaration manages first, so that of two live routes with one name, that one keeps it.
    listed = sorted(listed, key=lambda entry: str(entry["id"]) not in matching.managed)
    # Names no exported route may take: route names are unique in a stack.
    claimed = {
        str(route.get("name")): f"routes[{index}]" for index, route in enumerate(declared) if matching.is_free(index)
    }
    exported: list[tuple[JsonDict, int | None]] = []
    for position, entry in enumerate(listed, 1):
        route_id = str(entry["id"])
        progress.step("route", position, len(listed), str(entry.get("name")))
        live = api.read_route(route_id)
        if live is None:
            result.notes.append(f"route {entry.get('name')} ({route_id}) was deleted during the export; skipped")
            continue
        payload = normalize(from_live(live.answer))
        name = str(payload.get("name"))
        at = matching.managed.get(route_id)
        saved = exporter.namer.checkpoint()
        try:
            if name in claimed:
                raise _NotExportableError(
                    f"another route of the stack is named {name!r} ({claimed[name]}), and route names are unique in a "
                    "stack; rename one of them in incident.io and export again"
                )
            decl, settings = exporter.declaration(live, payload, declared[at] if at is not None else None)
        except Exception as error:  # one route, whatever went wrong with it, never stops the others
            exporter.namer.restore(saved)
            why = str(error) if isinstance(error, _NotExportableError) else f"a bug in the export ({error!r})"
            result.failed.append(NotExported(name, route_id, why, _payload_source_ids(payload)))
            if at is not None:
                claimed[str(declared[at].get("name"))] = f"routes[{at}], kept as the file has it"
            continue
        claimed[name] = f"live route {route_id}"
        exported.append((decl, at))
        if "raw" in decl:
            result.notes.append(f"route {name}: {', '.join(sorted(decl['raw']))} kept in `raw` (no high-level form)")
        if not same_spec(with_v3({}, settings), with_v3({}, live.v3_settings)):
            # Exported all the same: the rest of the route is declared as it is, and `pulumi up` stops on it
            # rather than drop them (providers/incident_io.py), saying how to keep or drop them.
            result.notes.append(
                f"WARNING: route {name} has settings only incident.io's v3 API can say that a stack file cannot "
                f"declare ({'; '.join(settings_said(live.v3_settings))}; it says grouping.windowType and "
                "slackGroupAlertsSummary for its one Slack channel): `pulumi up` refuses to adopt it until they are "
                "changed in the incident.io dashboard"
            )
    return exported


def _by_name(route: JsonDict) -> str:
    return str(route["name"])


def _table_notes(namer: _Namer, routes: list[JsonDict], exported_ids: set[str]) -> list[str]:
    notes = [
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
    kept = [route for route in routes if str(route.get("id")) not in exported_ids]
    for key in TABLES:
        for name in namer.tables[key].repointed:
            users = [str(route["name"]) for route in kept if name in _used_names([route])[key]]
            if users:
                notes.append(
                    f"WARNING: {key}.{name} did not resolve and now names what the live routes use; the stack "
                    f"file's other routes that use it ({', '.join(users)}) will name that too: check they mean it"
                )
    return notes


def _owner_elsewhere(entry: JsonDict, declared: list[JsonDict], elsewhere: Iterable[Declaration]) -> str | None:
    """The other stack file that declares this live route (by its id, or by its name without an id), unless
    this file declares it too (which the program refuses anyway: left as the file has it)."""
    route_id, name = str(entry["id"]), str(entry.get("name"))
    if any(str(route.get("id")) == route_id or route.get("name") == name for route in declared):
        return None
    for declaration in elsewhere:
        if declaration.id == route_id or (declaration.id is None and declaration.name == name):
            return declaration.owner
    return None


def _orphans(
    declared: list[JsonDict], matching: Matching, state: StateIds, pattern: re.Pattern[str] | None
) -> list[str]:
    """Declarations (in the --match) that no live route answers, and that pin no id the state could follow."""
    return [
        f"routes[{index}] ({route.get('name')})"
        for index, route in enumerate(declared)
        if matching.is_free(index)
        and not route.get("id")
        and not state.id_of(route)
        and (pattern is None or pattern.search(str(route.get("name"))))
    ]


def _held_back(
    exported: list[tuple[JsonDict, int | None]], orphans: list[str], result: Export
) -> list[tuple[JsonDict, int | None]]:
    """Without the stack's state, a live route that matches no declaration while some declaration has no live
    counterpart may be that declaration renamed in incident.io: adding it would declare one route twice, and
    the next `up` would fight over it. Such routes are not added; the stack's state (--route-ids) says."""
    if not orphans:
        return exported
    kept: list[tuple[JsonDict, int | None]] = []
    for decl, at in exported:
        if at is not None:
            kept.append((decl, at))
            continue
        why = (
            f"it matches no declaration of the file, while {', '.join(orphans)} has no live counterpart: if it is "
            "that route renamed in incident.io, adding it would declare it twice. Run again with --route-ids "
            "(`./scripts/pulumi.sh <stack> stack output routeIds --json | ... --route-ids -`): the stack's state "
            "says which declaration manages which route, and a new route is then added"
        )
        result.failed.append(NotExported(str(decl["name"]), str(decl["id"]), why))
    return kept


def _matching_notes(
    declared: list[JsonDict],
    exported: list[tuple[JsonDict, int | None]],
    matching: Matching,
    live_ids: set[str],
    state: StateIds,
    with_state: bool,
    pattern: re.Pattern[str] | None,
) -> list[str]:
    """What the file declares that no live route answers, and live routes that no declaration manages."""
    how = "by id, the stack's state (--route-ids) or name" if with_state else "by id or name"
    notes: list[str] = []
    for index, route in enumerate(declared):
        if not matching.is_free(index):
            continue
        name, pinned, known = str(route.get("name")), route.get("id"), state.id_of(route)
        label = f"routes[{index}] ({name})"
        if pinned and str(pinned) not in live_ids:
            notes.append(
                f"WARNING: {label} pins the id {pinned}, which no live route has (deleted in incident.io, or not "
                "visible to this API key): the next `pulumi up` cannot adopt it"
            )
        elif not pinned and known and known not in live_ids:
            notes.append(
                f"WARNING: the stack's state says {label} manages the route {known}, which is no longer live "
                "(deleted in incident.io): the next `pulumi up` creates it again"
            )
        elif not pinned and not known and (pattern is None or pattern.search(name)):
            notes.append(
                f"WARNING: {label} has no live counterpart (no live route with its name"
                + (", nor one the stack's state gives it" if with_state else "")
                + "): the next `pulumi up` creates it"
                + ("" if with_state else "; if it was renamed in incident.io, run again with --route-ids (see --help)")
            )
    for decl, at in exported:
        if at is not None:
            continue
        # (Without the state and with declarations that have no live counterpart, none is added: _held_back.)
        notes.append(
            f"route {decl['name']!r} ({decl['id']}) matches no declaration of the file ({how}): added as a new one"
        )
    return notes


def _ordered(route: JsonDict) -> JsonDict:
    return {key: route[key] for key in _ROUTE_FIELD_ORDER if key in route} | {
        key: value for key, value in route.items() if key not in _ROUTE_FIELD_ORDER
    }


def _into_stack(
    declared: list[JsonDict], exported: list[tuple[JsonDict, int | None]], result: Export
) -> list[JsonDict]:
    """The stack's whole list of routes: each exported route in place of the declaration that manages
    it, the others added at the end, by name (each with a resource key no other route has); every other
    declaration as it is. Without a stack file, the exported routes by name."""
    routes = copy.deepcopy(declared)
    added: list[JsonDict] = []
    for decl, at in exported:
        if at is None:
            added.append(decl)
        else:
            routes[at] = decl
            result.replaced += 1
    result.kept = len(routes) - result.replaced
    taken = {key for route in routes for key in declaration_keys(route)}
    for decl in sorted(added, key=_by_name):
        key = _free_key(decl, taken)
        routes.append(decl if key == resource_key(str(decl["name"])) else _ordered({**decl, "key": key}))
        taken.add(key)
    return routes


def _free_key(decl: JsonDict, taken: set[str]) -> str:
    """The route's resource key: a slug of its name where that is a key no other route has, else one
    made unique; an explicit `key` takes only a-z, 0-9 and -, else it is `route-<its id>`."""
    base = resource_key(str(decl["name"]))
    if base and base not in taken:
        return base
    if not _EXPLICIT_KEY.match(base):
        base = f"route-{str(decl['id']).lower()}"
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base}-{suffix}", suffix + 1
    return key


def _follow(declared: JsonDict, existing: JsonDict) -> None:
    """Keep what only the stack file says: the resource key (so a route renamed in the dashboard stays
    the same Pulumi resource), its previous keys, and the order of sources (the API answers in its own)."""
    key = existing.get("key") or resource_key(str(existing.get("name")))
    if existing.get("key") or key != resource_key(str(declared["name"])):
        declared["key"] = key
    if existing.get("previousKeys"):
        declared["previousKeys"] = list(existing["previousKeys"])
    order = {match_.get("source"): index for index, match_ in enumerate(existing.get("sources") or [])}
    declared["sources"].sort(key=lambda match_: order.get(match_["source"], len(order)))


def _with_unresolved(directory: Directory, config: JsonDict, unresolved: list[tuple[str, str, str]]) -> Directory:
    """The org's lists plus the ids they lack, so that the export can be checked all the same."""
    lists = {"alertSources": list(directory.sources or []), "escalationPaths": list(directory.escalation_paths or [])}
    for key, name, _ in unresolved:
        if key in lists and name in config.get(key, {}):
            lists[key].append({"id": config[key][name]["id"], "name": name})
    return Directory(lists["alertSources"], directory.attributes, lists["escalationPaths"])


def _check_whole(existing: JsonDict, config: JsonDict) -> None:
    """The whole list once more: what the export adds must not make the file's route config wrong
    (two routes with one name, key or id). Problems the file had already are its own business."""
    keys = ("alertSources", "references", "escalationPaths", "slackChannels", "routes")
    before = {key: existing[key] for key in keys if key in existing}
    after = {**before, **{key: config[key] for key in keys if key in config}}
    had = set(route_config_problems(before)) if before.get("alertSources") and "routes" in before else set()
    new = [problem for problem in route_config_problems(after) if problem not in had]
    if new:
        raise OperationError(
            "the export would make the stack config wrong: " + "; ".join(new) + "; a bug in the export"
        )


def _used_names(routes: list[JsonDict]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {key: set() for key in TABLES}
    for route in routes:
        conditions = [*(route.get("when") or []), *(c for m in route["sources"] for c in m.get("when") or [])]
        used["alertSources"].update(match_["source"] for match_ in route["sources"])
        used["references"].update(condition["reference"] for condition in conditions)
        used["escalationPaths"].update([route["escalation"]] if route.get("escalation") else [])
        used["slackChannels"].update([route["slack"]] if route.get("slack") else [])
        used["references"].update((route.get("grouping") or {}).get("keys") or [])
    return used


def header(result: Export, api_url: str, stack_file: Path | None, routes_file: str | None = None) -> list[str]:
    """What the export holds and what to do with it, said at its top."""
    count = result.exported
    lines = [f"Exported by export-incident-io.sh from {api_url}: {count} live alert route{'' if count == 1 else 's'}."]
    if result.failed:
        lines.append(
            f"NOT exported ({len(result.failed)}; stderr says why): "
            + ", ".join(f"{failure.name} ({failure.id})" for failure in result.failed)
            + ". Their declarations, if the file has them, are as the file has them."
        )
    if stack_file is not None:
        total = len(result.config["routes"])
        lines += [
            f"`routes` is the whole list of {stack_file.name}: {total} route{'' if total == 1 else 's'}, of which "
            f"{result.replaced} replace their declarations (matched by id, the stack's state or name), "
            f"{result.exported - result.replaced} are added, and {result.kept} are as the file has them.",
            f"Paste these keys over the keys of the same name under `config:` in {stack_file.name} (or run with",
            "--write to do it in place): no route of the file is lost.",
            *(
                [f"`routes` goes into {routes_file} instead, at its top level without the prefix (--write does so)."]
                if routes_file
                else []
            ),
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


def _other_stack_files(stack_file: Path, project: str) -> list[Declaration]:
    """What the stack files beside `stack_file` declare (components.ownership reads them for the program)."""
    directory = stack_file.resolve().parent
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    declarations: list[Declaration] = []
    for other in other_stacks(stack, directory):
        try:
            declarations += [
                Declaration(owner_label(other), name, id_)
                for name, id_ in declared_routes(other, project, directory).routes
            ]
        except ValueError as error:
            raise InputError(f"{error}; the export reads the other stack files to leave their routes to them") from None
    return declarations


def render(
    result: Export, project: str, api_url: str, stack_file: Path | None = None, routes_file: str | None = None
) -> str:
    lines = header(result, api_url, stack_file, routes_file)
    return stack_file_yaml.render(result.config, project, lines, result.comments)


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
    declared = stack_file_yaml.read_stack(path, project)
    before_routes = declared.values.get("routes") or []
    lost = [str(route.get("name")) for route in before_routes if not _identities(route) & after]
    if lost:
        raise OperationError(
            f"{path}: refusing to write: the routes {', '.join(map(repr, lost))} would no longer be declared, and "
            "the next `pulumi up` would delete them; the file is unchanged"
        )
    # The keys the stack's routes file declares (components/routes_file.py) are written there.
    routes_file = declared.routes_file
    in_routes_file = routes_file.values if routes_file else {}
    changes: list[tuple[Path, str, str]] = []
    if routes_file is not None:
        routes_path = path.parent / routes_file.name
        changes.append(
            (
                routes_path,
                *stack_file_yaml.updated_routes_file(
                    routes_path, {key: value for key, value in result.config.items() if key in in_routes_file}
                ),
            )
        )
    rest = {key: value for key, value in result.config.items() if key not in in_routes_file}
    changes.append((path, *stack_file_yaml.updated(path, project, rest, result.comments)))
    written: list[tuple[Path, str]] = []
    try:
        for changed, before, text in changes:
            if text != before:
                stack_file_yaml.write(changed, text)
                written.append((changed, before))
    except OperationError:
        for changed, before in written:  # both files or neither
            stack_file_yaml.write(changed, before)
        raise
    return "".join(stack_file_yaml.unified_diff(before, text, changed) for changed, before, text in changes)


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
        exit_codes="0 exported, 1 nothing matched, an API failure, or a route that could not be exported (the "
        "others are exported all the same, and stderr names it and why), 2 bad arguments, unreadable stack file "
        "or --route-ids, or unwritable --output",
    )
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="reuse this stack file's names (alertSources, references, escalationPaths, slackChannels, route "
        "keys) and fill in its SET-ME placeholders where the live org has the value; its routes file "
        "(routes/<stack>.yaml beside it) too, when the stack has one",
    )
    parser.add_argument(
        "--route-ids",
        type=Path,
        metavar="FILE",
        help="which route each declaration of the --stack-file manages, as the stack's state has it: the output of "
        "`pulumi stack output routeIds --json` (or `pulumi stack export`), in a file or `-` for standard input. "
        "A route renamed in incident.io then updates the declaration that manages it, e.g. --route-ids "
        "<(pulumi stack output routeIds --json --stack production)",
    )
    parser.add_argument("--match", type=_pattern, help="only routes whose name matches this regular expression")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, help="write to this file instead of standard output")
    where.add_argument(
        "--write",
        action="store_true",
        help="update the --stack-file in place, changing only what differs (its comments, layout and key order "
        "kept) and print the diff; refused if a route of the file would be lost",
    )
    parser.add_argument("--force", action="store_true", help="let --output replace an existing file")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.write and not args.stack_file:
        raise InputError("--write updates the stack file given with --stack-file; give one")
    if args.route_ids and not args.stack_file:
        raise InputError("--route-ids says which declaration of the --stack-file manages each route; give one")
    if args.output:
        _check_output(args.output, args.force)
    project = project_name()
    declared = stack_file_yaml.read_stack(args.stack_file, project) if args.stack_file else None
    existing = declared.values if declared else None
    routes_file = (
        declared.routes_file.name
        if declared and declared.routes_file and "routes" in declared.routes_file.values
        else None
    )
    elsewhere = _other_stack_files(args.stack_file, project) if args.stack_file else []
    state = read_state_ids(args.route_ids) if args.route_ids else None
    progress = Progress()
    api = connect(progress)
    result = export(api, progress, existing=existing, match=args.match, state=state, elsewhere=elsewhere)
    if args.write:
        diff = write_into(args.stack_file, project, result)
        sys.stdout.write(diff or f"{args.stack_file} already says what the export says; unchanged\n")
    else:
        text = render(result, project, api.client.display_url, args.stack_file, routes_file)
        if args.output:
            try:
                args.output.write_text(text, encoding="utf-8")
            except OSError as error:
                raise OperationError(f"{args.output}: cannot write the export ({error.strerror})") from None
        else:
            sys.stdout.write(text)
    for note in result.notes:
        progress.say(f"note: {note}")
    for failure in result.failed:
        progress.say(f"error: {failure.describe()}")
    where = f" into {args.stack_file}" if args.write else ""
    if result.failed:
        progress.say(f"exported {result.exported} routes{where}; {len(result.failed)} could not be exported (above)")
        return EXIT_FAILED
    progress.say(f"exported {result.exported} routes{where}")
    return EXIT_OK


if __name__ == "__main__":
    run(main)
