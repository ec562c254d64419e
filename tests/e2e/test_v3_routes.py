"""Grouping options through the real CLI (docs/grouping.md): in an org on incident.io's new alert grouping
engine, a route with a fixed window is written through v3 and then shows no change; a fixed window set in
the dashboard is never dropped by an `up` that did not show it; in an org not on the engine, the option
stops the preview with the stack file, the route, the option and the API's answer."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import Workspace, changes

ROUTE = "Staging Notifications"
KEY = "staging-notifications"
GROUPING = {"keys": ["severity"], "windowSeconds": 1800}
OPTIONS: dict[str, Any] = {
    "grouping": {**GROUPING, "windowType": "fixed"},
    "whenAlertJoinsGroup": {"mode": "on_each_new_alert", "gracePeriodSeconds": 120},
    "slackGroupAlertsSummary": True,
}
TRACEBACK = "Traceback (most recent call last)"


def declare(workspace: Workspace, **options: Any) -> None:
    """The staging route with these options (and the severity attribute they group by)."""

    def edit(config: dict[str, Any]) -> None:
        config["references"] = {"severity": {"attribute": "severity"}}
        (route,) = (route for route in config["routes"] if route["name"] == ROUTE)
        for key in ("grouping", "whenAlertJoinsGroup", "slackGroupAlertsSummary"):
            route.pop(key, None)
        route.update(options)

    workspace.edit_config("staging", edit)


def held(workspace: Workspace) -> tuple[str, dict[str, Any]]:
    """The route's id and what the emulated org holds for it."""
    (route,) = emulator_state(workspace).routes.values()
    return route.id, route.payload


def test_a_route_with_a_fixed_window_is_written_through_v3_and_then_shows_no_change(empty_org: Workspace) -> None:
    workspace = empty_org
    declare(workspace, **OPTIONS)
    before = workspace.mark()
    workspace.up("staging")

    assert workspace.route_writes_since(before) == [("POST", "/v3/alert_routes")]
    _, payload = held(workspace)
    assert payload["incident_config"]["window_type"] == "fixed"
    assert payload["incident_config"]["defer_time_seconds"] == 120
    assert payload["channel_config"][0]["slack_targets"]["group_alerts_summary"] is True
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")
    workspace.pulumi("preview", "--refresh", "--expect-no-changes", stack="staging")


def test_a_fixed_window_set_in_the_dashboard_stops_up_until_the_stack_file_says_it(empty_org: Workspace) -> None:
    workspace = empty_org
    declare(workspace, grouping=GROUPING)
    workspace.up("staging", "--skip-preview")
    route_id, payload = held(workspace)
    emulator_state(workspace).edit_out_of_band(
        route_id, incident_config={**payload["incident_config"], "window_type": "fixed"}
    )

    # A change to the stack file, with no refresh: `up` stops rather than drop what it never showed.
    declare(workspace, grouping={**GROUPING, "windowSeconds": 600})
    before = workspace.mark()
    refused = workspace.pulumi("up", "--yes", stack="staging", expect=None)
    assert refused.returncode != 0
    assert "was changed in incident.io since Pulumi last read it" in refused.text
    assert 'grouping_config.default.window_type="fixed"' in refused.text
    assert TRACEBACK not in refused.output
    assert workspace.route_writes_since(before) == []
    assert held(workspace)[1]["incident_config"]["window_type"] == "fixed"

    # The refreshed preview shows the window going back to rolling; declared, it stays, and `up` writes
    # the stack file's change in one v3 PUT.
    workspace.pulumi("refresh", "--yes", stack="staging")
    assert changes(workspace.preview("staging")) == {KEY: ["update"]}
    declare(workspace, grouping={**GROUPING, "windowSeconds": 600, "windowType": "fixed"})
    written = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(written) == [("PUT", f"/v3/alert_routes/{route_id}")]
    incident = held(workspace)[1]["incident_config"]
    assert (incident["window_type"], incident["grouping_window_seconds"]) == ("fixed", 600)
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")


def test_in_an_org_not_migrated_the_option_stops_the_preview(empty_org_not_migrated: Workspace) -> None:
    workspace = empty_org_not_migrated
    declare(workspace, grouping={**GROUPING, "windowType": "fixed"})

    refused = workspace.pulumi("preview", stack="staging", expect=None)

    assert refused.returncode != 0
    assert "Pulumi.staging.yaml declares route options that only an incident.io org on the new alert" in refused.text
    assert "GET /v3/alert_routes answered 403 api_not_yet_available" in refused.text
    assert f"routes[0] ({ROUTE}).grouping.windowType" in refused.text
    assert TRACEBACK not in refused.output
    assert [request for request in emulator_state(workspace).requests if request[0] != "GET"] == []

    # Without the window type, grouping is a v2 setting: the same org takes it.
    declare(workspace, grouping=GROUPING)
    workspace.up("staging")
    assert held(workspace)[1]["incident_config"]["grouping_window_seconds"] == 1800
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")
