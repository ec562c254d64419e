"""What the CLI shows when the provider stops on purpose (a conflict, a refused adoption, an API failure), from
each of its calls: the project's message, naming the route as the stack file does (and as it is live, where
that differs), and no traceback."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import CliRun, Workspace, live_routes, remove_route
from tests.emulator import Fault
from tests.emulator.seed import runbook_routes

ROUTE = "Staging Notifications"
TRACEBACK = "Traceback (most recent call last)"


def staging_route(workspace: Workspace) -> str:
    workspace.up("staging", "--skip-preview")
    ((route_id, _),) = live_routes(workspace).items()
    return route_id


def stopped(run: CliRun, *said: str) -> None:
    assert run.returncode != 0
    for text in said:
        assert text in run.text, f"{text!r} not in:\n{run.output}"
    assert TRACEBACK not in run.output, run.output


def test_diff_a_changed_id_naming_a_route_that_says_something_else(empty_org: Workspace) -> None:
    workspace = empty_org
    route_id = staging_route(workspace)
    (declared,) = (route for route in runbook_routes() if route["name"] == ROUTE)
    other = emulator_state(workspace).create_route({**declared, "name": "Someone else's", "enabled": False}).id
    workspace.edit_route("staging", ROUTE, lambda route: route.update(id=other))
    stopped(
        workspace.pulumi("preview", stack="staging", expect=None),
        f"alert route '{ROUTE}' (live name \"Someone else's\", {other}): adopting {other} would change it",
    )
    assert route_id in live_routes(workspace)


def test_update_a_dashboard_edit_and_a_rename_in_the_file(empty_org: Workspace) -> None:
    workspace = empty_org
    route_id = staging_route(workspace)
    emulator_state(workspace).edit_out_of_band(route_id, enabled=False)

    def rename(config: dict[str, Any]) -> None:
        config["routes"][0].update(name="Staging (all)", key="staging-notifications")
        for test in config["routingTests"]:
            test["expect"]["routes"] = ["Staging (all)"]

    workspace.edit_config("staging", rename)
    stopped(
        workspace.pulumi("up", "--yes", stack="staging", expect=None),
        f"alert route 'Staging (all)' (live name '{ROUTE}', {route_id}) was changed in incident.io",
        "changed fields: enabled",
    )


def test_read_an_api_failure_during_refresh(empty_org: Workspace) -> None:
    workspace = empty_org
    route_id = staging_route(workspace)
    assert workspace.emulator is not None
    workspace.emulator.inject(Fault("GET", f"/v2/alert_routes/{route_id}", status=403, times=2))
    stopped(
        workspace.pulumi("refresh", "--yes", "--skip-preview", stack="staging", expect=None),
        f"reading alert route '{ROUTE}' ({route_id}): GET /v2/alert_routes/{route_id} failed: HTTP 403",
    )


def test_create_an_api_refusal(empty_org: Workspace) -> None:
    workspace = empty_org
    assert workspace.emulator is not None
    workspace.emulator.inject(Fault("POST", "/v2/alert_routes", status=422))
    stopped(
        workspace.pulumi("up", "--yes", stack="staging", expect=None),
        f"creating alert route '{ROUTE}': POST /v2/alert_routes failed: HTTP 422",
    )


def test_delete_an_api_refusal(empty_org: Workspace) -> None:
    workspace = empty_org
    route_id = staging_route(workspace)

    def drop(config: dict[str, Any]) -> None:
        remove_route(config, ROUTE)

    workspace.edit_config("staging", drop)
    assert workspace.emulator is not None
    workspace.emulator.inject(Fault("DELETE", f"/v2/alert_routes/{route_id}", status=422))
    stopped(
        workspace.pulumi("up", "--yes", stack="staging", expect=None),
        f"deleting alert route '{ROUTE}' ({route_id}): DELETE /v2/alert_routes/{route_id} failed: HTTP 422",
    )
    assert route_id in live_routes(workspace)
