"""Which declaration of a stack file manages each live route, and which manage none.

A live route is the declaration's that pins its `id`; else the one the stack's state says manages it
(`--route-ids`: the stack's `routeIds` output, declared name -> id, or `pulumi stack export`, resource
key -> id); else the one with its name. The state ties a declaration to its route across a rename in
the dashboard, which a name cannot: without it, a renamed route matches nothing, and the export says
so rather than adding a second declaration in silence.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.settings import resource_key
from ops.cli import InputError
from providers.api import JsonDict

ROUTE_TYPE = "pulumi-python:dynamic/incidentio:AlertRoute"


@dataclass(frozen=True)
class StateIds:
    """What a stack's state says each declaration manages: by the name the route had at the last `up`
    (the `routeIds` output) and by resource key (`pulumi stack export`)."""

    by_name: dict[str, str] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)

    def id_of(self, route: JsonDict) -> str | None:
        """The route id the state has for a declaration: by its key or a previous key, else by its name."""
        for key in declaration_keys(route):
            if key in self.by_key:
                return self.by_key[key]
        if str(route.get("name")) in self.by_name:
            return self.by_name[str(route["name"])]
        # The state's names are the names at the last `up`: a declaration renamed since keeps its key or
        # lists the old one in previousKeys.
        for name, route_id in self.by_name.items():
            if resource_key(name) in declaration_keys(route):
                return route_id
        return None


def declaration_keys(route: JsonDict) -> list[str]:
    """The resource key of a declaration and the keys it continues (previousKeys)."""
    key = str(route.get("key") or resource_key(str(route.get("name"))))
    return [key, *(str(previous) for previous in route.get("previousKeys") or [])]


def read_state_ids(path: Path) -> StateIds:
    """`--route-ids FILE` (`-`: standard input): the JSON of `pulumi stack output routeIds --json` or of
    `pulumi stack export`."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"--route-ids {path}: cannot read it ({error.strerror})") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InputError(f"--route-ids {path}: not JSON ({error})") from None
    if isinstance(document, dict) and isinstance(document.get("deployment"), dict):
        return StateIds(by_key=_route_resources(document["deployment"]))
    if isinstance(document, dict) and all(isinstance(value, str) for value in document.values()):
        return StateIds(by_name={str(name): value for name, value in document.items()})
    raise InputError(
        f"--route-ids {path}: expected the stack's route ids, as `pulumi stack output routeIds --json` prints them "
        '({"<route name>": "<id>", ...}), or `pulumi stack export`'
    )


def _route_resources(deployment: JsonDict) -> dict[str, str]:
    ids: dict[str, str] = {}
    for resource in deployment.get("resources") or []:
        if isinstance(resource, dict) and resource.get("type") == ROUTE_TYPE and resource.get("id"):
            ids[str(resource["urn"]).rsplit("::", 1)[-1]] = str(resource["id"])
    return ids


@dataclass
class Matching:
    """Live route id -> the index of the declaration that manages it, and how it was found."""

    managed: dict[str, int] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)

    def take(self, route_id: str, index: int, how: str) -> None:
        self.managed[route_id] = index
        self.how[route_id] = how

    def is_free(self, index: int) -> bool:
        return index not in self.managed.values()


def match(declared: list[JsonDict], live: Iterable[JsonDict], live_ids: set[str], state: StateIds) -> Matching:
    """Pair live routes (list entries: id, name) with the declarations that manage them. `live_ids`: every
    live route, also those not exported this time (a declaration pinning one of them is not free)."""
    entries = list(live)
    matching = Matching()
    by_id = {str(route["id"]): index for index, route in enumerate(declared) if route.get("id")}
    state_ids = {index: state.id_of(route) for index, route in enumerate(declared)}
    for entry in entries:
        index = by_id.get(str(entry["id"]))
        if index is not None:
            matching.take(str(entry["id"]), index, "id")
    for entry in entries:
        route_id = str(entry["id"])
        if route_id in matching.managed:
            continue
        for index, state_id in state_ids.items():
            if state_id == route_id and matching.is_free(index) and not _pins_another(declared[index], route_id):
                matching.take(route_id, index, "the stack's state")
                break

    def claims_another(index: int, route_id: str) -> bool:
        """The declaration is someone else's: it pins, or the state gives it, another live route."""
        pinned = declared[index].get("id")
        return bool(pinned and str(pinned) in live_ids) or (
            state_ids[index] is not None and state_ids[index] != route_id and state_ids[index] in live_ids
        )

    for entry in entries:
        route_id, name = str(entry["id"]), str(entry.get("name"))
        if route_id in matching.managed:
            continue
        for index, route in enumerate(declared):
            if route.get("name") == name and matching.is_free(index) and not claims_another(index, route_id):
                matching.take(route_id, index, "name")
                break
    return matching


def _pins_another(route: JsonDict, route_id: str) -> bool:
    return bool(route.get("id")) and str(route["id"]) != route_id


def renamed_in_tests(tests: list[Any], renames: dict[str, str]) -> list[Any] | None:
    """The routing tests with each renamed route's new name where they expect it, or None if none does."""
    changed = False
    updated: list[Any] = []
    for test in tests:
        expected = (test.get("expect") or {}).get("routes") if isinstance(test, dict) else None
        if expected and any(name in renames for name in expected):
            changed = True
            test = {**test, "expect": {**test["expect"], "routes": [renames.get(name, name) for name in expected]}}
        updated.append(test)
    return updated if changed else None
