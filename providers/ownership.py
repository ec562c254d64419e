"""Which live alert routes someone else declares, so that this run never takes over or deletes them.

The program tells the provider, once per run and before any route is checked, which routes other
owners (the org's other stacks) declare: their names, and their ids where they pin one. It does so
through one `RouteOwnership` resource, whose check records the list in this process, the dynamic
provider host of the run, where the alert route provider reads it: a route another owner declares
is never adopted, and a route this run drops that another owner declares is handed over (left in
incident.io, dropped from this state) instead of deleted. Every run states the list afresh from the
declarations, so nothing depends on what an earlier run remembered.

This module's path (`providers.ownership`) and the class name `RouteOwnershipProvider` are recorded
in the state of every stack that uses them. Do not move or rename them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

INPUT = "declared_elsewhere"
# The id of the one RouteOwnership resource of a stack: it stands for no object in incident.io.
RECORD_ID = "declared-elsewhere"


@dataclass(frozen=True)
class Declaration:
    """A route another owner declares: its name, and the id of the live route when the owner pins one."""

    owner: str
    name: str
    id: str | None = None

    def to_json(self) -> dict[str, str]:
        return {"owner": self.owner, "name": self.name, **({"id": self.id} if self.id else {})}


class DeclaredElsewhere:
    """What other owners declare, as this run's program stated it. Until it is stated (a destroy, which
    runs no program), nothing is known to be declared elsewhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._declarations: tuple[Declaration, ...] = ()

    def replace(self, declarations: Iterable[Declaration]) -> None:
        with self._lock:
            self._declarations = tuple(declarations)

    def by_id(self, route_id: str) -> Declaration | None:
        """The declaration that pins this live route by its id."""
        with self._lock:
            return next((found for found in self._declarations if found.id == route_id), None)

    def names_any_route(self) -> bool:
        """Whether any declaration means a route by its name alone."""
        with self._lock:
            return any(found.id is None for found in self._declarations)

    def by_name(self, name: str) -> list[Declaration]:
        """Declarations of this name that pin no id: they mean whichever live route has the name."""
        with self._lock:
            return [found for found in self._declarations if found.id is None and found.name == name]


# One per process: the dynamic provider host of a run serves both resource kinds.
DECLARED_ELSEWHERE = DeclaredElsewhere()


def _problems(value: Any) -> list[str]:
    if not isinstance(value, list):
        return ["must be a list of {owner, name, id?}"]
    problems = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"owner", "name", "id"}:
            problems.append(f"[{index}] must be an object with owner, name and an optional id")
        elif not all(isinstance(item.get(key), str) and item[key] for key in ("owner", "name")):
            problems.append(f"[{index}] needs a non-empty owner and name")
        elif "id" in item and not (isinstance(item["id"], str) and item["id"]):
            problems.append(f"[{index}].id must be a route id or absent")
    return problems


def declarations(value: list[dict[str, str]]) -> list[Declaration]:
    return [Declaration(item["owner"], item["name"], item.get("id")) for item in value]


class RouteOwnershipProvider(ResourceProvider):
    """A record with no object in incident.io: checking it tells this process what is declared elsewhere."""

    serialize_as_secret_always = False

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (RouteOwnershipProvider, ())

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        value = news.get(INPUT, [])
        failures = [CheckFailure(INPUT, problem) for problem in _problems(value)]
        if not failures:
            DECLARED_ELSEWHERE.replace(declarations(value))
        return CheckResult({INPUT: value}, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Nothing to change anywhere: the state keeps the latest list (the engine stores the new inputs of an
        # unchanged resource), and previews stay quiet when the other stacks' files change.
        return DiffResult(changes=False, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(RECORD_ID, {INPUT: props.get(INPUT, [])})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {INPUT: props.get(INPUT, [])})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        return None


class RouteOwnership(Resource, module="incidentio", name="RouteOwnership"):
    """The routes other owners declare (see the module docstring). Register it before the routes and make
    them depend on it, so that its check runs first."""

    declared_elsewhere: pulumi.Output[list[dict[str, str]]]

    def __init__(self, name: str, declared: Iterable[Declaration], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RouteOwnershipProvider(), name, {INPUT: [item.to_json() for item in declared]}, opts)
