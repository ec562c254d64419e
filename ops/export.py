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
from components.route_compiler import compile_route, deep_merge
from components.settings import (
    PLACEHOLDER,
    Lookup,
    Reference,
    RouteVocabulary,
    name_tables,
    route_config_problems,
    route_declarations,
)
from ops.cli import EXIT_OK, InputError, OperationError, Progress, command_parser, connect, run
from providers.alert_route_spec import declared_operation, from_live, normalize, validation_errors
from providers.api import IncidentIoApi, JsonDict
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

    A stack-file entry still set to the `SET-ME` placeholder is filled in when the new name matches
    its key, so exporting also answers the placeholders the live org can answer.
    """

    kind: str
    table: dict[str, Any]
    # The incident.io value a table entry stands for (None when it does not resolve).
    value_of: Callable[[Any], Any] = field(default=lambda entry: entry)
    filled: list[str] = field(default_factory=list)

    def name(self, value: str, label: str, entry: Any) -> str:
        for key, existing in self.table.items():
            if self.value_of(existing) == value:
                return key
        key = _slug(label, self.kind)
        if isinstance(self.table.get(key), str) and self.table[key].startswith(PLACEHOLDER):
            self.filled.append(key)
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


_ROUTE_FIELD_ORDER = ("name", "id", "key", "enabled", "sources", "when", "escalation", "slack", "raw")
# High-level field -> the payload field it compiles to. A guess is kept only when it reproduces that
# field exactly; otherwise the field is left to `raw`, so the high-level form never says one thing
# while `raw` says another.
_COMPILES_TO = {"when": "condition_groups", "escalation": "escalation_config", "slack": "channel_config"}


def _same_route(compiled: JsonDict, payload: JsonDict) -> bool:
    """The compiled declaration says all the live route means, and nothing it does not."""
    return same_spec(compiled, payload)


def _equal(first: Any, second: Any) -> bool:
    return same_spec(first, second)


def _fitted(payload: JsonDict, types: dict[str, str]) -> JsonDict:
    decl = _guess(payload, types)
    compiled = _compile_guess(decl, types)
    if not _equal({"alert_sources": compiled["alert_sources"]}, {"alert_sources": payload.get("alert_sources")}):
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
        if not _equal({payload_field: got}, {payload_field: wanted}):
            decl[high_level] = None
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
            if _same_route(deep_merge(compiled, trial), payload):
                raw = trial
            elif isinstance(node[key], dict):
                prune((*path, key))

    prune(())
    return raw


@dataclass
class Export:
    config: JsonDict
    notes: list[str]


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

    @staticmethod
    def _resolved(entry: Any, items: list[JsonDict] | None) -> str | None:
        if not isinstance(entry, dict):
            return None
        found, _ = match_one("", "", Lookup(entry.get("name"), entry.get("id")), items or [])
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
        return self.tables["references"].name(subject, labels.get(subject) or subject, {"subject": subject})

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
            label = str(source["name"]) if source else source_id
            match["source"] = self.tables["alertSources"].name(source_id, label, entry)
            match["when"] = conditions(match["when"])
        decl["when"] = conditions(decl["when"])
        path_id = decl.get("escalation")
        if path_id:
            path = self.paths.get(path_id)
            entry = self._by_name(path, self.paths) if path else {"id": path_id}
            label = str(path["name"]) if path else labels.get(path_id) or path_id
            decl["escalation"] = self.tables["escalationPaths"].name(path_id, label, entry)
        channel = decl.get("slack")
        if channel:
            decl["slack"] = self.tables["slackChannels"].name(channel, labels.get(channel) or channel, channel)
        return _without_nones(decl)


def export(
    api: IncidentIoApi, progress: Progress, *, existing: JsonDict | None = None, match: re.Pattern[str] | None = None
) -> Export:
    """The route-declaring stack config for the live routes whose names match `match` (all by default)."""
    existing = existing or {}
    directory = fetch_directory(api, sources=True, attributes=True, escalation_paths=True)
    types = {f"{ATTRIBUTE_SUBJECT}{item['id']}": str(item.get("type", "")) for item in directory.attributes or []}
    namer = _Namer(existing, directory)
    listed = [entry for entry in api.list_routes() if match is None or match.search(str(entry.get("name")))]
    if not listed:
        matching = f" matches --match {match.pattern!r}" if match else "s exist"
        # Like grep: nothing matched is exit 1 (OperationError), with nothing written.
        raise OperationError(f"nothing to export: no live alert route{matching}")
    known = {route["name"]: route for route in existing.get("routes") or []}
    routes: list[JsonDict] = []
    payloads: dict[str, JsonDict] = {}
    notes: list[str] = []
    for index, entry in enumerate(listed, 1):
        progress.step("route", index, len(listed), str(entry.get("name")))
        live = api.find_route(str(entry["id"]))
        if live is None:
            notes.append(f"route {entry.get('name')} ({entry['id']}) was deleted during the export; skipped")
            continue
        payload = payloads[str(live["id"])] = normalize(from_live(live))
        decl = _fitted(payload, types)
        raw = _minimal_raw(_compile_guess(decl, types), payload)
        declared = namer.declare(decl, _labels(live, {}))
        declared["id"] = live["id"]
        if declared["name"] in known:
            _follow(declared, known[declared["name"]])
        if raw:
            declared["raw"] = raw
            notes.append(f"route {declared['name']}: {', '.join(sorted(raw))} kept in `raw` (no high-level form)")
        routes.append({key: declared[key] for key in _ROUTE_FIELD_ORDER if key in declared})
    if not routes:
        raise OperationError("nothing to export: every matching route was deleted while the export ran")
    order = {route["name"]: position for position, route in enumerate(existing.get("routes") or [])}
    routes.sort(key=lambda route: (order.get(route["name"], len(order)), route["name"]))
    config: JsonDict = {key: namer.tables[key].table for key in TABLES if namer.tables[key].table}
    config["routes"] = routes
    notes += [f"filled in {key}.{name} (was {PLACEHOLDER})" for key in TABLES for name in namer.tables[key].filled]
    notes += [
        f"{key}.{name} is still {PLACEHOLDER}: the live routes do not use it; set it or remove it"
        for key in TABLES
        for name, value in namer.tables[key].table.items()
        if isinstance(value, str) and value.startswith(PLACEHOLDER)
    ]
    _verify(config, directory, payloads)
    return Export(config, notes)


def _follow(declared: JsonDict, existing: JsonDict) -> None:
    """Keep the stack file's resource key and its order of sources (the API answers in its own order)."""
    if existing.get("key"):
        declared["key"] = existing["key"]
    order = {match.get("source"): index for index, match in enumerate(existing.get("sources") or [])}
    declared["sources"].sort(key=lambda match: order.get(match["source"], len(order)))


def _verify(config: JsonDict, directory: Directory, payloads: dict[str, JsonDict]) -> None:
    """Resolve and compile the export the way a stack does; every route must come out as the live one."""
    problems = route_config_problems(config)
    if problems:
        raise OperationError("the export is not a valid stack config: " + "; ".join(problems))
    try:
        resolved = resolve(name_tables(config), directory)
    except NameResolutionError as error:
        raise OperationError(f"the export's names do not resolve ({error}); this is a bug in the export") from None
    for route in route_declarations(config):
        compiled = compile_route(route, resolved.vocabulary, resolved.source_ids)
        errors = validation_errors(compiled)
        if errors or not _same_route(compiled, payloads[str(route.id)]):
            raise OperationError(
                f"route {route.name!r} ({route.id}) does not round-trip through the stack config "
                f"({errors or 'compiled payload differs from the live route'}); this is a bug in the export"
            )


class _FlowList(list[Any]):
    """Written on one line, the way the stack files write conditions."""


class _FlowMap(dict[str, Any]):
    """Written on one line, the way the stack files write conditions and name entries."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _FlowList, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
)


def _one_line_conditions(conditions: list[JsonDict]) -> list[_FlowMap]:
    return [
        _FlowMap({key: _FlowList(value) if key == "values" else value for key, value in condition.items()})
        for condition in conditions
    ]


def _for_yaml(route: JsonDict) -> JsonDict:
    shaped = dict(route)
    if "when" in shaped:
        shaped["when"] = _one_line_conditions(shaped["when"])
    shaped["sources"] = [
        {**match, "when": _one_line_conditions(match["when"])} if "when" in match else match
        for match in route["sources"]
    ]
    return shaped


def render(result: Export, project: str, api_url: str) -> str:
    count = len(result.config["routes"])
    header = (
        f"# Exported by export-incident-io.sh from {api_url}: {count} alert route{'' if count == 1 else 's'}.\n"
        "# Copy these keys into Pulumi.<stack>.yaml under `config:`, replacing the keys of the same name.\n"
        "# Each route carries its incident.io `id`, so the next `pulumi up` adopts it rather than\n"
        "# creating a second route.\n"
    )
    config: JsonDict = {
        key: {name: _FlowMap(entry) if isinstance(entry, dict) else entry for name, entry in table.items()}
        for key, table in result.config.items()
        if key != "routes"
    }
    config["routes"] = [_for_yaml(route) for route in result.config["routes"]]
    document = {"config": {f"{project}:{key}": value for key, value in config.items()}}
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def _stack_config(path: Path, project: str) -> JsonDict:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{path}: cannot read the stack file ({error})") from None
    prefix = f"{project}:"
    config = document.get("config") or {}
    return {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}


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
    parser.add_argument("--output", type=Path, help="write to this file instead of standard output")
    parser.add_argument("--force", action="store_true", help="let --output replace an existing file")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.output:
        _check_output(args.output, args.force)
    project = project_name()
    existing = _stack_config(args.stack_file, project) if args.stack_file else None
    progress = Progress()
    api = connect(progress)
    result = export(api, progress, existing=existing, match=args.match)
    text = render(result, project, api.client.display_url)
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise OperationError(f"{args.output}: cannot write the export ({error.strerror})") from None
    else:
        sys.stdout.write(text)
    for note in result.notes:
        progress.say(f"note: {note}")
    progress.say(f"exported {len(result.config['routes'])} routes")
    return EXIT_OK


if __name__ == "__main__":
    run(main)
