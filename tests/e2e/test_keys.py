"""A route's identity through the real CLI: its key changed, with and without `previousKeys`, and a route
moved from one stack to the other (docs/provider.md, "Renaming a route, or its key", "Moving a route to the other
stack")."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import (
    ROUTE_TYPE,
    Workspace,
    changes,
    remove_route,
    rename_route,
    resources,
    route_named,
    step_inputs,
)

STAGING_ROUTE = "Staging Notifications"
MOVED = "Informational"  # its sources (Axiom, Status Page Views) route nowhere else


def live_routes(workspace: Workspace) -> dict[str, str]:
    """Route id -> name, as incident.io has them."""
    return {route.id: str(route.payload["name"]) for route in emulator_state(workspace).routes.values()}


def managed_routes(workspace: Workspace, stack: str) -> dict[str, str]:
    """Resource name -> route id, as the stack's state has them."""
    return {name: resource["id"] for name, resource in resources(workspace.export(stack), ROUTE_TYPE).items()}


def test_a_new_key_without_previous_keys_adopts_the_route_and_never_deletes_it(empty_org: Workspace) -> None:
    workspace = empty_org
    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="x"))
    workspace.up("staging")
    ((route_id, _),) = live_routes(workspace).items()

    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="y"))
    preview = workspace.preview("staging")
    assert changes(preview, ROUTE_TYPE) == {"y": ["create"], "x": ["delete"]}
    assert step_inputs(preview, "y", "create")["adopt_id"] == route_id

    before = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(before) == []
    assert live_routes(workspace) == {route_id: STAGING_ROUTE}, "the same route, never missing"
    assert managed_routes(workspace, "staging") == {"y": route_id}
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")


def test_previous_keys_rename_in_place(empty_org: Workspace) -> None:
    workspace = empty_org
    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="x"))
    workspace.up("staging")
    ((route_id, _),) = live_routes(workspace).items()

    # Only the key: the alias makes it the same resource; nothing to write.
    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="y", previousKeys=["x"]))
    assert changes(workspace.preview("staging"), ROUTE_TYPE) == {}
    before = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(before) == []
    assert managed_routes(workspace, "staging") == {"y": route_id}

    # The key and the name: one update in place, the id kept.
    def rename(config: dict[str, Any]) -> None:
        route_named(config, STAGING_ROUTE).update(key="z", previousKeys=["x", "y"])
        rename_route(config, STAGING_ROUTE, f"{STAGING_ROUTE} (all)")

    workspace.edit_config("staging", rename)
    assert changes(workspace.preview("staging"), ROUTE_TYPE) == {"z": ["update"]}
    renamed = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(renamed) == [("PUT", f"/v2/alert_routes/{route_id}")]
    assert live_routes(workspace) == {route_id: f"{STAGING_ROUTE} (all)"}
    assert managed_routes(workspace, "staging") == {"z": route_id}


def add_to_staging(workspace: Workspace, declaration: dict[str, Any], route_id: str) -> None:
    """The moved route in the staging file, with its id (as the export prints it) and its sources."""

    def add(config: dict[str, Any]) -> None:
        config["alertSources"].update(axiom={"name": "Axiom"}, status_page_views={"name": "Status Page Views"})
        config["routes"].append({**declaration, "id": route_id})

    workspace.edit_config("staging", add)


def test_moving_a_route_to_the_other_stack_by_the_readme_procedure_keeps_it(todays_org: Workspace) -> None:
    workspace = todays_org
    workspace.up("production")
    (route_id,) = (id_ for id_, name in live_routes(workspace).items() if name == MOVED)

    # 1. Out of production's state (nothing in incident.io changes) and out of its stack file.
    urn = resources(workspace.export("production"), ROUTE_TYPE)["informational"]["urn"]
    before = workspace.mark()
    workspace.pulumi("state", "delete", urn, "--yes", stack="production")
    declaration: dict[str, Any] = {}
    workspace.edit_config("production", lambda config: declaration.update(remove_route(config, MOVED)))
    assert changes(workspace.preview("production"), ROUTE_TYPE) == {}, "production no longer knows the route"

    # 2. Into the staging file with its id; staging's `up` adopts it, production's deletes nothing.
    add_to_staging(workspace, declaration, route_id)
    workspace.up("staging")
    assert managed_routes(workspace, "staging")["informational"] == route_id
    workspace.up("production")
    assert workspace.route_writes_since(before) == [], "adopted with no write; nothing deleted"
    assert live_routes(workspace)[route_id] == MOVED
    assert "informational" not in managed_routes(workspace, "production")


def test_moving_a_route_in_one_commit_without_the_procedure_deletes_it(todays_org: Workspace) -> None:
    """What docs/provider.md warns about: each stack deletes what it stops declaring."""
    workspace = todays_org
    workspace.up("production")
    (route_id,) = (id_ for id_, name in live_routes(workspace).items() if name == MOVED)

    declaration: dict[str, Any] = {}
    workspace.edit_config("production", lambda config: declaration.update(remove_route(config, MOVED)))
    add_to_staging(workspace, declaration, route_id)
    workspace.up("staging")
    assert managed_routes(workspace, "staging")["informational"] == route_id
    before = workspace.mark()
    workspace.up("production")
    assert workspace.route_writes_since(before) == [("DELETE", f"/v2/alert_routes/{route_id}")]
    assert route_id not in live_routes(workspace), "the route staging just adopted is gone"
