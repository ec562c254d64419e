"""Which routes the org's other stacks declare, read from their stack files in this repository.

Both environments' alert routes live in one incident.io org, and each live route is managed by one
stack. The other stacks' files, in the same commit as this one, say what they declare: a route
declared in two files is refused before anything runs, and the provider is told the rest, so that
this stack never adopts a route another stack declares and hands over (instead of deleting) a route
it stops declaring that another stack now declares: a route moved between the files in one change.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from components.settings import ConfigProblemsError, RouteDecl
from providers.ownership import Declaration

PROJECT_DIR = Path(__file__).resolve().parents[1]


class OwnershipError(ConfigProblemsError):
    """Routes two stack files declare; each line names the route, the other stack and the fix."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        super().__init__(
            f"stack {stack!r}: routes of Pulumi.{stack}.yaml that another stack declares too; nothing was changed",
            problems,
        )


def stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def other_stacks(stack: str, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The other stacks of this project that have a stack file here."""
    files = project_dir.glob("Pulumi.*.yaml")
    stacks = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in files)
    return [other for other in stacks if other != stack]


def owner_label(stack: str) -> str:
    """How messages name a stack that owns routes."""
    return f"stack {stack!r} (Pulumi.{stack}.yaml)"


def declared_routes(stack: str, project: str, project_dir: Path = PROJECT_DIR) -> list[tuple[str, str | None]]:
    """(name, id or None) of each route a stack file declares. Raises ValueError when it cannot be read."""
    path = stack_file(stack, project_dir)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path.name} cannot be read: {error}") from None
    config: Any = (document or {}).get("config") if isinstance(document, dict) else None
    routes = (config or {}).get(f"{project}:routes") if isinstance(config, dict) else None
    if routes is None:
        return []
    if not isinstance(routes, list) or not all(isinstance(route, dict) and route.get("name") for route in routes):
        raise ValueError(f"{path.name}: `{project}:routes` is not a list of routes with names")
    return [(str(route["name"]), str(route["id"]) if route.get("id") else None) for route in routes]


def declared_elsewhere(
    stack: str, project: str, routes: Sequence[RouteDecl], project_dir: Path = PROJECT_DIR
) -> list[Declaration]:
    """What the other stacks declare, once no route is declared by this stack and another one too."""
    problems: list[str] = []
    declarations: list[Declaration] = []
    for other in other_stacks(stack, project_dir):
        try:
            theirs = declared_routes(other, project, project_dir)
        except ValueError as error:
            problems.append(
                f"{error}; this stack reads the other stacks' routes before it adopts or deletes any, so that it never "
                "takes over or deletes one of theirs"
            )
            continue
        owner = owner_label(other)
        declarations += [Declaration(owner, name, id_) for name, id_ in theirs]
        names = {name for name, _ in theirs}
        ids = {id_ for _, id_ in theirs if id_}
        for index, route in enumerate(routes):
            if route.name in names or (route.id and route.id in ids):
                what = "a route of this name" if route.name in names else f"the route {route.id}"
                problems.append(
                    f"routes[{index}] ({route.name}): {owner} declares {what} too, and each live route is managed "
                    f"by one stack. To move it to {stack!r}, take it out of Pulumi.{other}.yaml in the same change "
                    f"(whichever stack's `up` runs first, the route is handed over, never deleted); otherwise take "
                    f"it out of Pulumi.{stack}.yaml or give it another name."
                )
    if problems:
        raise OwnershipError(stack, problems)
    return declarations
