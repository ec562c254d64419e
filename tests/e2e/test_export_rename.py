"""A route renamed in the dashboard, brought back into the stack file by `export --write` with the stack's
own route ids, through the real CLI: the next preview renames the same resource in place (never a create
and a delete), `up` writes nothing (the route already says it), and the stack has one route for it."""

from __future__ import annotations

from tests.commands import run_command
from tests.e2e.conftest import emulator_state
from tests.e2e.harness import ROUTE_TYPE, Workspace, changes, resources

RENAMED = "Warnings (production)"


def test_a_route_renamed_in_the_dashboard_is_renamed_in_place_after_the_export(todays_org: Workspace) -> None:
    workspace = todays_org
    workspace.up("production", "--skip-preview")
    route_ids = workspace.pulumi("stack", "output", "routeIds", "--json", stack="production")
    warnings_id = route_ids.json()["Production Warnings"]
    emulator_state(workspace).edit_out_of_band(warnings_id, name=RENAMED)

    # As docs/operations.md says: the stack's routeIds, then the export in place.
    ids_file = workspace.root / "route-ids.json"
    ids_file.write_text(route_ids.stdout)
    assert workspace.emulator is not None
    exported = run_command(
        "export-incident-io.sh",
        "--stack-file",
        workspace.stack_file("production"),
        "--route-ids",
        ids_file,
        "--match",
        "^(?!Staging)",
        "--write",
        emulator=workspace.emulator,
    )
    assert exported.returncode == 0, exported.stderr
    declared = [route for route in workspace.routes("production") if route.get("id") == warnings_id]
    assert [(route["name"], route.get("key")) for route in declared] == [(RENAMED, "production-warnings")]

    assert changes(workspace.preview("production"), ROUTE_TYPE) == {"production-warnings": ["update"]}
    before = workspace.mark()
    workspace.up("production")
    assert workspace.route_writes_since(before) == [], "the live route already says what the file says"
    state = resources(workspace.export("production"), ROUTE_TYPE)
    assert state["production-warnings"]["id"] == warnings_id
    assert workspace.outputs("production")["routeIds"][RENAMED] == warnings_id
    workspace.pulumi("preview", "--expect-no-changes", stack="production")
