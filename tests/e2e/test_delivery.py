"""The drift rule of the workflows, through the real CLI: what the pull request's preview shows is what the
deploy does, with a route edited in the dashboard (docs/delivery.md).

The `pulumi` command lines are read from .github/workflows/ (preview.yml, deploy.yml, drift.yml), never
retyped: each runs as the workflow runs it, with only `$STACK` given the job's value.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import CliRun, Workspace, shown_changes
from tests.workflows import pulumi_command, step, workflow

STACK = "staging"
ROUTE = "Staging Notifications"
KEY = "staging-notifications"  # the resource name README derives from the name
TEMPLATE = {"value": {"literal": '{"content": "paged by {{ alert.title }}"}'}}
# What `--expect-no-changes` says when there are changes (the drift check tells drift from failure by it).
CHANGES_PROPOSED = "no changes were expected for preview but changes were proposed"


def run_workflow_command(workspace: Workspace, workflow_name: str, job: str, step_name: str) -> CliRun:
    command = pulumi_command(step(workflow(workflow_name)["jobs"][job], step_name), {"STACK": STACK})
    assert command[0] == "pulumi"
    return workspace.pulumi(*command[1:], expect=None)


def pull_request_preview(workspace: Workspace) -> CliRun:
    run = run_workflow_command(workspace, "preview", "preview", "pulumi preview")
    assert run.returncode == 0, run.describe()
    return run


def deploy(workspace: Workspace) -> CliRun:
    run = run_workflow_command(workspace, "deploy", STACK, "pulumi up")
    assert run.returncode == 0, run.describe()
    return run


def drift_check(workspace: Workspace) -> CliRun:
    return run_workflow_command(workspace, "drift", "drift", "pulumi preview")


def deployed(run: CliRun) -> str:
    """What `up` did, without the preview it prints first."""
    _, separator, update = run.stdout.partition(f"Updating ({STACK}):")
    assert separator, run.describe()
    return update


def live_route(workspace: Workspace) -> tuple[str, dict[str, Any]]:
    (route,) = emulator_state(workspace).routes.values()
    return route.id, route.payload


def test_a_dashboard_edit_the_pull_request_preview_shows_reverting_is_what_the_deploy_reverts(
    empty_org: Workspace,
) -> None:
    workspace = empty_org
    deploy(workspace)
    route_id, _ = live_route(workspace)
    emulator_state(workspace).edit_out_of_band(route_id, enabled=False)

    # The drift check notices the edit (and says so apart from a failure).
    noticed = drift_check(workspace)
    assert noticed.returncode != 0 and CHANGES_PROPOSED in noticed.text

    # The pull request's preview comment: that route, and only it, changing back.
    preview = pull_request_preview(workspace)
    assert shown_changes(preview.stdout) == {KEY: ["update"]}
    assert "~ enabled : false => true" in preview.text

    # The deploy does exactly that: one write, of that route, enabling it again; its log shows it.
    before = workspace.mark()
    done = deploy(workspace)
    assert shown_changes(deployed(done)) == shown_changes(preview.stdout)
    assert "~ enabled : false => true" in " ".join(deployed(done).split())
    assert workspace.route_writes_since(before) == [("PUT", f"/v2/alert_routes/{route_id}")]
    assert live_route(workspace)[1]["enabled"] is True

    # Afterwards, without drift, the preview, the deploy and the drift check agree there is nothing to do.
    assert shown_changes(pull_request_preview(workspace).stdout) == {}
    after = workspace.mark()
    assert shown_changes(deployed(deploy(workspace))) == {}
    assert workspace.route_writes_since(after) == []
    assert drift_check(workspace).returncode == 0


def test_a_dashboard_edit_after_the_preview_and_before_the_deploy_is_reverted_too_and_logged(
    empty_org: Workspace,
) -> None:
    workspace = empty_org
    deploy(workspace)
    route_id, _ = live_route(workspace)

    # A pull request adds a message template; its preview shows that alone.
    workspace.edit_route(STACK, ROUTE, lambda route: route.update(raw={"message_template": TEMPLATE}))
    preview = pull_request_preview(workspace)
    assert shown_changes(preview.stdout) == {KEY: ["update"]}
    assert "~ enabled" not in preview.text

    # Someone disables the route in the dashboard after the preview, before the merge is deployed.
    emulator_state(workspace).edit_out_of_band(route_id, enabled=False)
    before = workspace.mark()
    done = deploy(workspace)
    # The deploy writes the pull request's change and reverts the edit, in one write, and its log says both.
    assert workspace.route_writes_since(before) == [("PUT", f"/v2/alert_routes/{route_id}")]
    _, payload = live_route(workspace)
    assert payload["enabled"] is True
    assert json.loads(payload["message_template"]["value"]["literal"]) == {"content": "paged by {{ alert.title }}"}
    log = " ".join(deployed(done).split())
    assert shown_changes(deployed(done)) == {KEY: ["update"]}
    assert "~ enabled : false => true" in log and "+ message_template" in log
