"""A route's identity through the real CLI: its key changed, with and without `previousKeys` (docs/provider.md,
"Renaming a route, or its key"; moves between stacks and failed runs: test_ownership.py)."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import (
    ROUTE_TYPE,
    Workspace,
    changes,
    live_routes,
    managed_routes,
    rename_route,
    route_named,
    step_inputs,
)

STAGING_ROUTE = "Staging Notifications"


def test_a_new_key_without_previous_keys_adopts_the_route_and_never_deletes_it(empty_org: Workspace) -> None:
    workspace = empty_org
    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="x"))
    workspace.up("staging", "--skip-preview")
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
    workspace.up("staging", "--skip-preview")
    ((route_id, _),) = live_routes(workspace).items()

    # Only the key: the alias makes it the same resource; the route is not written, only claimed again
    # under its new key (the claim tells a person in the dashboard which resource to change).
    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="y", previousKeys=["x"]))
    assert changes(workspace.preview("staging"), ROUTE_TYPE) == {"y": ["update"]}
    before = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(before) == []
    assert workspace.claims_since(before) == [("POST", "/v2/managed_resources")]
    assert (
        emulator_state(workspace).managed_resources[("alert_route", route_id)]["annotations"]["pulumi/resource"] == "y"
    )
    assert managed_routes(workspace, "staging") == {"y": route_id}
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")

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
