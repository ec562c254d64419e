"""The stacks' life through the real CLI: first `up` on an empty org, adoption of today's org, destroy."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import CANARY_API_KEY
from tests.e2e.conftest import emulator_state
from tests.e2e.harness import (
    ALERTMANAGER_PATCH_TYPE,
    EXTERNAL_SECRET_TYPE,
    ROOT,
    ROUTE_TYPE,
    SECRET_TYPE,
    SECRET_VERSION_TYPE,
    STACKS,
    Workspace,
    changes,
    done,
    resources,
    step_inputs,
    summary,
)


def live_route_names(workspace: Workspace) -> set[str]:
    return {str(route.payload["name"]) for route in emulator_state(workspace).routes.values()}


def declared_names(workspace: Workspace, stack: str) -> set[str]:
    return {str(route["name"]) for route in workspace.routes(stack)}


@pytest.mark.parametrize("stack", STACKS)
def test_an_empty_org_gets_every_route_and_the_token_wiring_then_nothing_changes(
    empty_org: Workspace, stack: str
) -> None:
    workspace = empty_org
    names = declared_names(workspace, stack)

    preview = workspace.preview(stack)
    routes = changes(preview, ROUTE_TYPE)
    assert list(routes.values()) == [["create"]] * len(names)
    assert {step_inputs(preview, key, "create")["spec"]["name"] for key in routes} == names
    assert all("adopt_id" not in step_inputs(preview, key, "create") for key in routes), "nothing to adopt"
    for type_, name in [
        (SECRET_TYPE, "alert-source-token"),
        (SECRET_VERSION_TYPE, "alert-source-token"),
        (EXTERNAL_SECRET_TYPE, "alertmanager-incidentio"),
        (ALERTMANAGER_PATCH_TYPE, "alertmanager-token-restart"),
    ]:
        assert changes(preview, type_) == {name: ["create"]}, type_
    assert live_route_names(workspace) == set(), "a preview writes nothing"

    before = workspace.mark()
    up = workspace.up(stack)
    assert summary(up.events())["result"] == "succeeded"
    assert live_route_names(workspace) == names
    assert sorted(workspace.route_writes_since(before)) == [("POST", "/v2/alert_routes")] * len(names)
    assert len(workspace.claims_since(before)) == len(names), "one claim per route"

    workspace.pulumi("preview", "--expect-no-changes", stack=stack)
    quiet = workspace.mark()
    workspace.pulumi("refresh", "--yes", stack=stack)
    workspace.pulumi("preview", "--expect-no-changes", stack=stack)
    assert workspace.route_writes_since(quiet) == [] and workspace.claims_since(quiet) == []


def test_todays_routes_are_adopted_without_a_write_and_the_output_says_so(todays_org: Workspace) -> None:
    workspace = todays_org
    live_ids = {str(route.payload["name"]): route.id for route in emulator_state(workspace).routes.values()}
    names = declared_names(workspace, "production")

    preview = workspace.preview("production")
    planned = {
        step_inputs(preview, key, "create")["spec"]["name"]: step_inputs(preview, key, "create").get("adopt_id")
        for key in changes(preview, ROUTE_TYPE)
    }
    assert planned == {name: live_ids[name] for name in names}, "the preview names the route each create adopts"

    before = workspace.mark()
    events = workspace.up("production").events()
    assert workspace.route_writes_since(before) == []
    # What `up --json` reports it did: a create per route, whose id is the live route's and whose adopt_id says so.
    completed = done(events, ROUTE_TYPE)
    assert {meta["op"] for meta in completed} == {"create"}
    adopted = {meta["new"]["inputs"]["spec"]["name"]: meta["new"]["id"] for meta in completed}
    assert adopted == {name: live_ids[name] for name in names}, "each create took over the live route"
    assert all(meta["new"]["inputs"]["adopt_id"] == meta["new"]["id"] for meta in completed)
    assert workspace.outputs("production")["routeIds"] == {name: live_ids[name] for name in names}
    workspace.pulumi("preview", "--expect-no-changes", stack="production")


def test_the_exports_ids_are_adopted_without_a_write(todays_org: Workspace) -> None:
    workspace = todays_org
    assert workspace.emulator is not None
    stack_file = workspace.stack_file("production")
    export = subprocess.run(  # noqa: S603 - our own script, as docs/provider.md tells the operator to run it
        [
            str(ROOT / "contrib" / "export-incident-io.sh"),
            "--stack-file",
            str(stack_file),
            "--match",
            "^Production|^Database|^Unrouted|^Informational",
            "--write",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "INCIDENT_IO_TOKEN": CANARY_API_KEY, "INCIDENT_IO_API_URL": workspace.emulator.url},
        timeout=120,
        check=False,
    )
    assert export.returncode == 0, export.stderr
    live_ids = {str(route.payload["name"]): route.id for route in emulator_state(workspace).routes.values()}
    declared = {route["name"]: route.get("id") for route in workspace.routes("production")}
    assert declared == {name: live_ids[name] for name in declared}, "the export wrote each route's id"

    before = workspace.mark()
    events = workspace.up("production").events()
    assert workspace.route_writes_since(before) == []
    assert {meta["new"]["id"] for meta in done(events, ROUTE_TYPE)} == set(declared.values())
    workspace.pulumi("preview", "--expect-no-changes", stack="production")


def test_destroy_stops_at_the_protected_secret_and_exclude_protected_keeps_it(empty_org: Workspace) -> None:
    workspace = empty_org
    workspace.up("staging")
    state = emulator_state(workspace)
    assert len(state.routes) == 1

    # The secret is `protect`ed: destroy refuses in its preview, before deleting anything.
    refused = workspace.pulumi("destroy", "--yes", stack="staging", expect=1)
    assert "cannot be deleted because it is protected" in refused.text
    assert "pulumi state unprotect" in refused.text
    assert len(state.routes) == 1
    assert [entry for entry in workspace.stand_in_log() if entry["method"] == "Delete"] == []

    # --exclude-protected: everything else goes, routes included; the secret (and what holds it) stays.
    before = workspace.mark()
    excluded = workspace.pulumi("destroy", "--yes", "--exclude-protected", stack="staging")
    assert "There are still 4 protected resources associated with this stack" in excluded.text
    assert state.routes == {}
    assert [method for method, _ in workspace.route_writes_since(before)] == ["DELETE"]
    deleted = {entry["type"] for entry in workspace.stand_in_log(before) if entry["method"] == "Delete"}
    assert deleted == {SECRET_VERSION_TYPE, EXTERNAL_SECRET_TYPE, ALERTMANAGER_PATCH_TYPE}
    remaining = workspace.export("staging")
    assert list(resources(remaining, SECRET_TYPE)) == ["alert-source-token"]
    assert resources(remaining, SECRET_TYPE)["alert-source-token"]["protect"] is True
    assert resources(remaining, ROUTE_TYPE) == {}

    # Unprotected in the state, the secret is deleted by the next destroy.
    secret_urn = resources(remaining, SECRET_TYPE)["alert-source-token"]["urn"]
    workspace.pulumi("state", "unprotect", secret_urn, "--yes", stack="staging")
    gone = workspace.mark()
    workspace.pulumi("destroy", "--yes", stack="staging")
    assert [entry["type"] for entry in workspace.stand_in_log(gone) if entry["method"] == "Delete"] == [SECRET_TYPE]
    assert workspace.export("staging")["deployment"].get("resources") in (None, [])
