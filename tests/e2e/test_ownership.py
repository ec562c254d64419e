"""Who manages a route is recorded, not remembered: through the real CLI, no route is lost or doubled by
runs that fail halfway, by two stacks in one org, or by copies (docs/provider.md, "Renaming a route, or its
key", "Moving a route to the other stack")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import (
    Workspace,
    changes,
    live_routes,
    managed_routes,
    remove_route,
    route_named,
)
from tests.emulator import Fault
from tests.emulator.seed import runbook_routes

STAGING_ROUTE = "Staging Notifications"
MOVED = "Informational"  # its sources (Axiom, Status Page Views) route nowhere else
# A route the API refuses to create while the fault is on: what makes an `up` fail before its deletes.
REFUSED = {"name": "Staging Canary", "sources": [{"source": "axiom"}], "slack": "alerts"}


def route_requests(workspace: Workspace, since: Any, route_id: str) -> list[tuple[str, str]]:
    return [(method, path) for method, path in workspace.route_writes_since(since) if path.endswith(route_id)]


def posts(workspace: Workspace, since: Any) -> int:
    return workspace.route_writes_since(since).count(("POST", "/v2/alert_routes"))


def claim_of(workspace: Workspace, route_id: str) -> dict[str, str]:
    annotations: dict[str, str] = emulator_state(workspace).managed_resources[("alert_route", route_id)]["annotations"]
    return annotations


@pytest.mark.parametrize("failed_runs", [2, 3])
def test_a_key_change_keeps_the_route_through_failed_runs(empty_org: Workspace, failed_runs: int) -> None:
    workspace = empty_org
    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(key="x"))
    workspace.up("staging", "--skip-preview")
    ((route_id, _),) = live_routes(workspace).items()

    # One change: the key (without previousKeys), and a new route that incident.io refuses for a while, so
    # that each `up` fails after taking the route over under the new key and before deleting the old key.
    def change(config: dict[str, Any]) -> None:
        route_named(config, STAGING_ROUTE)["key"] = "y"
        config["alertSources"]["axiom"] = {"name": "Axiom"}
        config["routes"].append(dict(REFUSED))

    workspace.edit_config("staging", change)
    before = workspace.mark()
    assert workspace.emulator is not None
    for _ in range(failed_runs):
        workspace.emulator.inject(Fault("POST", "/v2/alert_routes", status=422))
        failed = workspace.up("staging", expect=None)
        assert failed.returncode != 0
        assert live_routes(workspace) == {route_id: STAGING_ROUTE}

    workspace.up("staging")
    assert route_requests(workspace, before, route_id) == [], "0 DELETE (and no write) on the route"
    assert posts(workspace, before) == failed_runs + 1, "only the refused route's create, retried by each run"
    assert live_routes(workspace)[route_id] == STAGING_ROUTE
    assert managed_routes(workspace, "staging")["y"] == route_id and "x" not in managed_routes(workspace, "staging")
    assert claim_of(workspace, route_id)["pulumi/resource"] == "y"
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")


def move_informational(workspace: Workspace, *, with_id: str | None = None) -> None:
    """One change: the route's declaration out of production's file into staging's, as it is (plus `id:`)."""
    declaration: dict[str, Any] = {}
    workspace.edit_config("production", lambda config: declaration.update(remove_route(config, MOVED)))

    def add(config: dict[str, Any]) -> None:
        config["alertSources"].update(axiom={"name": "Axiom"}, status_page_views={"name": "Status Page Views"})
        config["routes"].append({**declaration, **({"id": with_id} if with_id else {})})

    workspace.edit_config("staging", add)


# Declared by name in both orders, as a move copies the declaration; a move that pins `id:` is handed over by its id
# (tests/test_ownership.py, through the provider host).
@pytest.mark.parametrize(("first", "pinned"), [("staging", False), ("production", False)], ids=str)
def test_moving_a_route_to_the_other_stack_in_one_change_hands_it_over(
    todays_org: Workspace, first: str, pinned: bool
) -> None:
    workspace = todays_org
    workspace.up("production", "--skip-preview")
    workspace.up("staging", "--skip-preview")
    (route_id,) = (id_ for id_, name in live_routes(workspace).items() if name == MOVED)

    move_informational(workspace, with_id=route_id if pinned else None)
    before = workspace.mark()
    second = "production" if first == "staging" else "staging"
    workspace.up(first)
    assert route_id in live_routes(workspace), f"after {first}'s up"
    workspace.up(second)

    assert route_requests(workspace, before, route_id) == [], "never deleted, never written"
    assert posts(workspace, before) == 0, "no route created"
    assert live_routes(workspace)[route_id] == MOVED
    assert managed_routes(workspace, "staging")["informational"] == route_id
    assert "informational" not in managed_routes(workspace, "production")
    assert claim_of(workspace, route_id)["pulumi/stack"] == "staging"
    for stack in ("production", "staging"):
        workspace.pulumi("preview", "--expect-no-changes", stack=stack)


def test_a_route_copied_into_the_other_stack_file_is_refused_by_both_previews(todays_org: Workspace) -> None:
    workspace = todays_org
    workspace.up("production", "--skip-preview")
    copied = route_named({"routes": workspace.routes("production")}, "Production Warnings")

    def add(config: dict[str, Any]) -> None:
        config["alertSources"]["alertmanager_production"] = {"name": "Alertmanager (Production)"}
        config["references"] = {"severity": {"attribute": "severity"}}
        config["routes"].append({**copied, "sources": [{**copied["sources"][0], "source": "alertmanager_production"}]})

    workspace.edit_config("staging", add)
    before = workspace.mark()
    for stack, other in (("staging", "production"), ("production", "staging")):
        refused = workspace.pulumi("preview", stack=stack, expect=None)
        assert refused.returncode != 0
        assert f"stack {other!r} (Pulumi.{other}.yaml) declares a route of this name too" in refused.text
        assert "Traceback" not in refused.output
    refused = workspace.up("staging", expect=None)
    assert refused.returncode != 0
    assert workspace.route_writes_since(before) == [] and workspace.claims_since(before) == []
    assert "production-warnings" not in managed_routes(workspace, "staging")


@pytest.mark.parametrize("identical", [True, False], ids=["identical", "different"])
def test_a_name_two_live_routes_carry_is_refused_until_id_says_which(empty_org: Workspace, identical: bool) -> None:
    workspace = empty_org
    (staging,) = (route for route in runbook_routes() if route["name"] == STAGING_ROUTE)
    first = emulator_state(workspace).create_route(staging).id
    second = emulator_state(workspace).create_route({**staging, "enabled": identical}).id

    before = workspace.mark()
    refused = workspace.pulumi("preview", stack="staging", expect=None)
    assert refused.returncode != 0
    assert f"2 live alert routes are named '{STAGING_ROUTE}': {first}, {second}" in refused.text
    assert (f"{second} is identical to it" if identical else f"{second} differs from it in enabled") in refused.text
    assert "Set `id:`" in refused.text and "Traceback" not in refused.output, refused.output
    assert workspace.up("staging", expect=None).returncode != 0
    assert workspace.route_writes_since(before) == [] and workspace.claims_since(before) == []
    assert managed_routes(workspace, "staging") == {}

    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(id=first))
    workspace.up("staging")
    assert managed_routes(workspace, "staging") == {"staging-notifications": first}
    assert workspace.route_writes_since(before) == []
    assert claim_of(workspace, first) == {
        "incident.io/is-managed-externally": "true",
        "pulumi/project": "unkey-alert-routing",
        "pulumi/stack": "staging",
        "pulumi/resource": "staging-notifications",
    }


def test_the_preview_names_only_routes_and_nothing_for_the_ownership_record(empty_org: Workspace) -> None:
    """The record of what other stacks declare is created once and never shows as a change after."""
    workspace = empty_org
    workspace.up("staging", "--skip-preview")

    def drop_moved(config: dict[str, Any]) -> None:
        remove_route(config, MOVED)

    workspace.edit_config("production", drop_moved)
    assert changes(workspace.preview("staging")) == {}


def test_a_dashboard_copy_under_a_managed_routes_name_stops_the_preview_until_id_says_which(
    empty_org: Workspace,
) -> None:
    workspace = empty_org
    workspace.up("staging", "--skip-preview")
    ((route_id, _),) = live_routes(workspace).items()
    copy = emulator_state(workspace).create_route(emulator_state(workspace).routes[route_id].payload).id

    refused = workspace.pulumi("preview", stack="staging", expect=None)
    assert refused.returncode != 0
    assert f"2 live alert routes are named '{STAGING_ROUTE}': {route_id}, {copy}" in refused.text
    assert "Traceback" not in refused.output

    workspace.edit_route("staging", STAGING_ROUTE, lambda route: route.update(id=route_id))
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")
