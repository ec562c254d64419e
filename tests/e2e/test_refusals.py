"""What the real CLI says when it must refuse: a stack file with a mistake, and Pulumi's own import of a route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import CANARY_API_KEY
from tests.e2e.conftest import emulator_state
from tests.e2e.harness import ROUTE_TYPE, Workspace, resources, route_named

TRACEBACK = "Traceback (most recent call last)"
Edit = Callable[[dict[str, Any]], None]


def unknown_source(config: dict[str, Any]) -> None:
    route_named(config, "Production Alerts")["sources"][1]["source"] = "chekly"


def is_blank(config: dict[str, Any]) -> None:
    route_named(config, "Unrouted Alerts")["sources"][0]["when"][0]["operation"] = "is_blank"


def set_me_left(config: dict[str, Any]) -> None:
    config["aws"]["accountId"] = "SET-ME: the production AWS account id (12 digits)"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            unknown_source,
            "routes[0] (Production Alerts).sources[1].source: unknown source 'chekly'; declare it under alertSources",
        ),
        (
            is_blank,
            "routes[2] (Unrouted Alerts).sources[0].when[0].operation: 'is_blank' is not an engine operation "
            "(for 'label missing' the engine's operation is 'is_not_set')",
        ),
        (set_me_left, "aws.accountId: not set yet (SET-ME: the production AWS account id (12 digits))"),
    ],
    ids=["unknown-source", "is_blank", "SET-ME"],
)
def test_a_stack_file_mistake_stops_preview_with_the_projects_message_and_no_traceback(
    empty_org: Workspace, edit: Edit, message: str
) -> None:
    workspace = empty_org
    workspace.edit_config("production", edit)
    refused = workspace.pulumi("preview", stack="production", expect=None)
    assert refused.returncode != 0
    assert "the stack config (Pulumi.production.yaml) needs fixing" in refused.text
    assert message in refused.text
    assert TRACEBACK not in refused.output
    assert [request for request in emulator_state(workspace).requests if request[0] != "GET"] == []


def test_the_engines_import_of_a_dynamic_route_fails_so_routes_are_adopted_instead(todays_org: Workspace) -> None:
    """pulumi/pulumi#16175: the engine imports with a Read that carries only the id, and the dynamic provider
    host finds no provider in it (KeyError '__provider'). `pulumi import` and the `import_` resource option both
    fail that way; docs/provider.md, "Adopting what exists today", explains why routes are adopted instead. If
    Pulumi fixes it, this test fails: then `import_` becomes an option again."""
    workspace = todays_org
    (route_id,) = (
        id_
        for id_, route in emulator_state(workspace).routes.items()
        if route.payload["name"] == "Staging Notifications"
    )

    # `pulumi import`, as a user would try it.
    imported = workspace.pulumi("import", ROUTE_TYPE, "imported", route_id, "--yes", stack="staging", expect=None)
    assert imported.returncode != 0
    assert "KeyError: '__provider'" in imported.output
    assert resources(workspace.export("staging"), ROUTE_TYPE) == {}

    # The `import_` resource option, in a program of its own that declares the route with it.
    probe = workspace.root / "import-probe"
    probe.mkdir()
    (probe / "Pulumi.yaml").write_text(
        "name: import-probe\nruntime:\n  name: python\n  options:\n    virtualenv: .venv\n"
    )
    (probe / ".venv").symlink_to((workspace.project / ".venv").resolve(), target_is_directory=True)
    (probe / "providers").symlink_to(workspace.project / "providers", target_is_directory=True)
    (probe / "__main__.py").write_text(
        "import pulumi\n"
        "from providers.incident_io import AlertRoute\n"
        f"AlertRoute('imported', {{'name': 'Staging Notifications'}}, pulumi.ResourceOptions(import_={route_id!r}))\n"
    )
    workspace.pulumi("stack", "init", "probe", cwd=probe)
    workspace.pulumi("config", "set", "--secret", "incidentio:apiKey", stack="probe", cwd=probe, stdin=CANARY_API_KEY)
    option = workspace.pulumi("preview", stack="probe", cwd=probe, expect=None)
    assert option.returncode != 0
    assert "KeyError: '__provider'" in option.output

    assert [request for request in emulator_state(workspace).requests if request[0] != "GET"] == []
