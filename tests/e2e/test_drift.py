"""Drift through the real CLI: a route edited in the dashboard, a field the stack file stopped declaring."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import emulator_state
from tests.e2e.harness import Workspace, changes

ROUTE = "Staging Notifications"
KEY = "staging-notifications"  # the resource name derived from the name (docs/configuration.md)
TEMPLATE = {"value": {"literal": '{"content": "paged by {{ alert.title }}"}'}}
TEMPLATE_ROUTE = {"message_template": TEMPLATE}


def template_of(payload: dict[str, Any]) -> Any:
    """The message template's JSON (the API re-encodes it: spacing and key order are not kept)."""
    return json.loads(payload["message_template"]["value"]["literal"])


def the_route(workspace: Workspace) -> tuple[str, dict[str, Any]]:
    (route,) = emulator_state(workspace).routes.values()
    return route.id, route.payload


def test_a_dashboard_edit_shows_on_refresh_stops_up_and_is_reverted_after_refresh(empty_org: Workspace) -> None:
    workspace = empty_org
    workspace.up("staging", "--skip-preview")
    route_id, _ = the_route(workspace)
    emulator_state(workspace).edit_out_of_band(route_id, enabled=False)

    # What the pull request preview (`preview --refresh`) shows: that route, and only it, changing back.
    drift = workspace.preview("staging", "--refresh")
    assert changes(drift) == {KEY: ["update"]}
    expecting_none = workspace.pulumi("preview", "--refresh", "--expect-no-changes", stack="staging", expect=None)
    assert expecting_none.returncode != 0
    assert "no changes were expected for preview but changes were proposed" in expecting_none.text

    # `up` without a refresh that has to write the route stops before writing, naming the edited field.
    workspace.edit_route("staging", ROUTE, lambda route: route.update(raw={"message_template": TEMPLATE}))
    before = workspace.mark()
    refused = workspace.pulumi("up", "--yes", stack="staging", expect=None)
    assert refused.returncode != 0
    assert "was changed in incident.io since Pulumi last read it" in refused.text
    assert "changed fields: enabled" in refused.text
    assert "pulumi refresh" in refused.text
    assert workspace.route_writes_since(before) == []
    assert the_route(workspace)[1]["enabled"] is False

    # After a refresh, `up` reverts the edit (and writes the stack file's change) in one PUT.
    workspace.pulumi("refresh", "--yes", stack="staging")
    reverted = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(reverted) == [("PUT", f"/v2/alert_routes/{route_id}")]
    _, payload = the_route(workspace)
    assert (payload["enabled"], template_of(payload)) == (True, template_of(TEMPLATE_ROUTE))
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")


def test_a_field_removed_from_the_stack_file_is_removed_by_up(empty_org: Workspace) -> None:
    workspace = empty_org
    workspace.edit_route("staging", ROUTE, lambda route: route.update(raw={"message_template": TEMPLATE}))
    workspace.up("staging", "--skip-preview")
    route_id, payload = the_route(workspace)
    assert template_of(payload) == template_of(TEMPLATE_ROUTE)

    workspace.edit_route("staging", ROUTE, lambda route: route.pop("raw"))
    assert changes(workspace.preview("staging")) == {KEY: ["update"]}
    before = workspace.mark()
    workspace.up("staging")
    assert workspace.route_writes_since(before) == [("PUT", f"/v2/alert_routes/{route_id}")]
    assert "message_template" not in the_route(workspace)[1]
    workspace.pulumi("preview", "--expect-no-changes", stack="staging")
