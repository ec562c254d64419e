"""The stack file's grouping options (docs/grouping.md), through the real program under Pulumi's mocks:
what they compile to (the route's v2 spec and its `v3` input), the mistakes they are refused for, and
their refusal before any resource in an org not on incident.io's new alert grouping engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.stack import NotMigratedError
from tests.conftest import CANARY_API_KEY, configured_provider
from tests.emulator import Emulator, running_emulator
from tests.emulator.seed import ALERTS_CHANNEL, SEVERITY_ATTRIBUTE, seed_directory
from tests.stack_harness import OPERATOR_VALUES, StackRun, run_stack, stack_config

ROUTE = "pulumi-python:dynamic/incidentio:AlertRoute"
PREFIX = "unkey-alert-routing"
OPTIONS: dict[str, Any] = {
    "grouping": {"keys": ["severity"], "windowSeconds": 1800, "windowType": "fixed"},
    "whenAlertJoinsGroup": {"mode": "on_each_new_alert", "gracePeriodSeconds": 120},
    "slackGroupAlertsSummary": True,
}


@pytest.fixture
def not_migrated() -> Iterator[Emulator]:
    with running_emulator(api_key=CANARY_API_KEY, org_migrated=False) as emulator:
        seed_directory(emulator.state, base_url="https://api.incident.io")
        yield emulator


def _staging(emulator: Emulator, **options: Any) -> dict[str, Any]:
    """The staging stack file, its one route given `options`, with the severity attribute declared."""
    values = {**OPERATOR_VALUES["staging"], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    config = stack_config("staging", values)
    config[f"{PREFIX}:references"] = {"severity": {"attribute": "severity"}}
    config[f"{PREFIX}:routes"][0].update(options)
    return config


def _route(run: StackRun) -> dict[str, Any]:
    (route,) = run.of_type(ROUTE)
    plain: dict[str, Any] = route.plain()
    return plain


def _mode_asked(emulator: Emulator) -> int:
    return emulator.state.count("GET", "/v3/alert_routes")


def test_the_options_compile_into_the_spec_and_the_settings_only_v3_can_say(emulator: Emulator) -> None:
    route = _route(run_stack("staging", _staging(emulator, **OPTIONS)))

    incident = route["spec"]["incident_config"]
    assert incident["grouping_keys"] == [{"reference": f"alert.attributes.{SEVERITY_ATTRIBUTE}"}]
    assert incident["grouping_window_seconds"] == 1800
    # on_each_new_alert and its grace period, in v2 terms (TF CHANGELOG v5.41.0, "Migration").
    assert (incident["auto_relate_grouped_alerts"], incident["defer_time_seconds"]) == (False, 120)
    assert route["v3"] == {
        "grouping_config": {"default": {"window_type": "fixed"}},
        "message_config": {
            "destinations": [
                {
                    "slack_targets": {
                        "binding": {"array_value": [{"literal": ALERTS_CHANNEL}]},
                        "group_alerts_summary": True,
                    }
                }
            ]
        },
    }
    # The provider takes what the program compiled.
    assert configured_provider(emulator).check({}, {"spec": route["spec"], "v3": route["v3"]}).failures == []


def test_escalating_on_priority_increase_is_auto_relate_in_v2_terms(emulator: Emulator) -> None:
    options = {**OPTIONS, "whenAlertJoinsGroup": {"mode": "on_priority_increase"}}
    incident = _route(run_stack("staging", _staging(emulator, **options)))["spec"]["incident_config"]
    assert (incident["auto_relate_grouped_alerts"], incident["defer_time_seconds"]) == (True, 0)


def test_grouping_keys_and_window_are_v2_settings_and_work_in_an_org_not_migrated(not_migrated: Emulator) -> None:
    grouping = {"keys": ["severity"], "windowSeconds": 600}
    route = _route(run_stack("staging", _staging(not_migrated, grouping=grouping)))

    assert route["spec"]["incident_config"]["grouping_window_seconds"] == 600
    assert "v3" not in route
    assert _mode_asked(not_migrated) == 0  # nothing only the new engine has: the org's mode is not asked


def test_the_committed_stack_files_never_ask_the_org_mode(emulator: Emulator) -> None:
    values = {**OPERATOR_VALUES["production"], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    routes = run_stack("production", stack_config("production", values)).of_type(ROUTE)
    assert routes and all("v3" not in route.plain() for route in routes)
    assert _mode_asked(emulator) == 0


def test_in_an_org_not_migrated_the_new_engine_options_stop_the_program_before_any_resource(
    not_migrated: Emulator,
) -> None:
    run = StackRun()
    with pytest.raises(NotMigratedError) as raised:
        run_stack("staging", _staging(not_migrated, **OPTIONS), run)

    message = str(raised.value)
    assert (
        "Pulumi.staging.yaml declares route options that only an incident.io org on the new alert grouping" in message
    )
    assert "GET /v3/alert_routes answered 403 api_not_yet_available" in message
    assert raised.value.problems == [
        "routes[0] (Staging Notifications).grouping.windowType",
        "routes[0] (Staging Notifications).whenAlertJoinsGroup",
        "routes[0] (Staging Notifications).slackGroupAlertsSummary",
    ]
    assert run.of_type(ROUTE) == []
    assert [request for request in not_migrated.state.requests if request[0] != "GET"] == []
    assert _mode_asked(not_migrated) == 1


MISTAKES = {
    "window type without grouping": (
        {"grouping": {"windowType": "fixed"}},
        "routes[0] (Staging Notifications).grouping.windowType: only for a route that groups alerts",
    ),
    "escalation mode without grouping": (
        {"whenAlertJoinsGroup": {"mode": "on_each_new_alert"}},
        "routes[0] (Staging Notifications).whenAlertJoinsGroup: only for a route that groups alerts",
    ),
    "grace period with on_priority_increase": (
        {**OPTIONS, "whenAlertJoinsGroup": {"mode": "on_priority_increase", "gracePeriodSeconds": 60}},
        "routes[0] (Staging Notifications).whenAlertJoinsGroup.gracePeriodSeconds: only with mode on_each_new_alert",
    ),
    "summary without a Slack channel": (
        {"slack": None, "slackGroupAlertsSummary": True},
        "routes[0] (Staging Notifications).slackGroupAlertsSummary: the route has no `slack` channel",
    ),
    "unknown window type": (
        {"grouping": {"keys": ["severity"], "windowType": "sliding"}},
        "routes[0] (Staging Notifications).grouping.windowType: 'sliding' is not one of ['rolling', 'fixed']",
    ),
    "window over 48 hours": (
        {"grouping": {"keys": ["severity"], "windowSeconds": 172801}},
        "routes[0] (Staging Notifications).grouping.windowSeconds: 172801 is greater than the maximum of 172800",
    ),
    "unknown grouping key": (
        {"grouping": {"keys": ["severty"]}},
        "routes[0] (Staging Notifications).grouping.keys[0]: unknown reference 'severty'; declare it under references",
    ),
}


@pytest.mark.parametrize(("options", "message"), MISTAKES.values(), ids=list(MISTAKES))
def test_a_mistake_in_the_options_names_the_route_and_the_field(
    emulator: Emulator, options: dict[str, Any], message: str
) -> None:
    config = _staging(emulator, **options)
    route = config[f"{PREFIX}:routes"][0]
    for key in [key for key, value in route.items() if value is None]:
        del route[key]
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the message is what matters to the user
        run_stack("staging", config)
    assert message in str(raised.value)
    assert [request for request in emulator.state.requests if request[0] != "GET"] == []
