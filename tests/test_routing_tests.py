"""Routing tests, routing coverage and the routingMatrix output: both stacks under Pulumi's mocks with
their real stack files, names resolved against the emulator."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pulumi
import pytest
import yaml

from components.routing_tests import derived_alerts, symbolic_routes
from components.settings import Expectation, RoutingTest, StackAlert, routing_tests
from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator
from tests.emulator.seed import ALERTS_CHANNEL, SEVERITY_ATTRIBUTE
from tests.stack_harness import OPERATOR_VALUES, PROJECT, ROOT, StackRun, run_stack, stack_config

ROUTES = f"{PROJECT}:routes"
TESTS = f"{PROJECT}:routingTests"
PAGES_AND_POSTS = (("engineering_on_call",), ("alerts",))
POSTS_ONLY = ((), ("alerts",))
NOWHERE = None

# ../shared/reference/incident-io-alert-routing.md, "Current alert routes", one row per source (and
# condition), in the stack files' names: (source, attributes) -> (routes, (pages, slack)).
RUNBOOK_TABLE: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], tuple[tuple[str, ...], Any]]] = {
    "production": {
        ("alertmanager", (("severity", "critical"),)): (("Production Alerts",), PAGES_AND_POSTS),
        ("checkly", ()): (("Production Alerts",), PAGES_AND_POSTS),
        ("sev0_email", ()): (("Production Alerts",), PAGES_AND_POSTS),
        ("grafana_cloud", ()): (("Production Alerts",), PAGES_AND_POSTS),
        ("alertmanager", (("severity", "warning"),)): (("Production Warnings",), POSTS_ONLY),
        ("alertmanager", ()): (("Unrouted Alerts",), POSTS_ONLY),  # "Labels missing severity"
        ("planetscale", (("branch", "main"),)): (("Database Alerts",), PAGES_AND_POSTS),
        ("axiom", ()): (("Informational",), POSTS_ONLY),
        ("status_page_views", ()): (("Informational",), POSTS_ONLY),
        # what the table routes nowhere: PlanetScale's other branches
        ("planetscale", (("branch", "feature-x"),)): ((), NOWHERE),
    },
    "staging": {
        ("alertmanager", ()): (("Staging Notifications",), POSTS_ONLY),
        ("checkly", ()): (("Staging Notifications",), POSTS_ONLY),
    },
}
STACKS = ["production", "staging"]
CRITICAL = StackAlert.of("alertmanager", {"severity": "critical"})


def _config(stack: str, emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    values = {**OPERATOR_VALUES[stack], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    config = stack_config(stack, values)
    config.update({f"{PROJECT}:{key}": value for key, value in overrides.items()})
    return config


def _route(config: dict[str, Any], name: str) -> dict[str, Any]:
    (route,) = [route for route in config[ROUTES] if route["name"] == name]
    found: dict[str, Any] = route
    return found


def _without_test(config: dict[str, Any], alert: StackAlert) -> None:
    config[TESTS] = [
        test
        for test in config[TESTS]
        if StackAlert.of(test["alert"]["source"], test["alert"].get("attributes")) != alert
    ]


def _refused(stack: str, config: dict[str, Any]) -> tuple[str, StackRun]:
    run = StackRun()
    with pytest.raises(pulumi.RunError) as raised:
        run_stack(stack, config, run)
    return str(raised.value), run


def _coverage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "routing coverage" in record.getMessage()]


# A second route on critical Alertmanager alerts that pages too, as someone might add it.
CRITICAL_COPY = {
    "name": "Critical Copy",
    "sources": [
        {"source": "alertmanager", "when": [{"reference": "severity", "operation": "one_of", "values": ["critical"]}]}
    ],
    "escalation": "engineering_on_call",
    "slack": "alerts",
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_row_of_the_runbook_table_is_a_routing_test_of_its_stack_file(stack: str) -> None:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    tests = routing_tests({key.removeprefix(f"{PROJECT}:"): value for key, value in raw.items()})
    declared = {(test.alert.source, test.alert.attributes): test.expect for test in tests}
    for (source, attributes), (routes, targets) in RUNBOOK_TABLE[stack].items():
        pages, slack = targets if targets is not NOWHERE else (None, None)
        expected = Expectation(
            frozenset(routes),
            None if pages is None else frozenset(pages),
            None if slack is None else frozenset(slack),
        )
        assert declared.get((source, attributes)) == expected, (source, attributes)


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_files_pass_their_routing_tests_without_a_coverage_warning_and_publish_the_matrix(
    stack: str, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        run = run_stack(stack, _config(stack, emulator))
    assert _coverage_warnings(caplog) == []
    rows = {
        (row["source"], tuple(sorted(row["attributes"].items()))): row for row in run.outputs["routingMatrix"].values()
    }
    for alert, (routes, targets) in RUNBOOK_TABLE[stack].items():
        pages, slack = targets if targets is not NOWHERE else ((), ())
        assert (rows[alert]["routes"], rows[alert]["pages"], rows[alert]["slack"]) == (
            list(routes),
            list(pages),
            list(slack),
        )


def test_the_matrix_has_a_row_per_derived_and_tested_alert_in_the_stacks_names(emulator: Emulator) -> None:
    config = _config("production", emulator)
    run = run_stack("production", config)
    rows = list(run.outputs["routingMatrix"].values())
    assert all(set(row) == {"source", "attributes", "routes", "pages", "slack"} for row in rows)  # settled: no doubts
    derived = {
        ("alertmanager", (("severity", "critical"),)),
        ("alertmanager", (("severity", "warning"),)),
        ("alertmanager", ()),
        ("planetscale", (("branch", "main"),)),
        ("planetscale", ()),
        *((source, ()) for source in ("checkly", "sev0_email", "grafana_cloud", "axiom", "status_page_views")),
    }
    tested = {("alertmanager", (("severity", "info"),)), ("planetscale", (("branch", "feature-x"),))}
    assert [(row["source"], tuple(sorted(row["attributes"].items()))) for row in rows].count(
        ("alertmanager", ())
    ) == 1  # once, though both derived and tested
    assert {(row["source"], tuple(sorted(row["attributes"].items()))) for row in rows} == derived | tested
    assert len(rows) == len(derived | tested)
    # Each row under the alert as route-test.sh takes it, so a preview's output diff names alerts, not positions.
    assert run.outputs["routingMatrix"]["source=alertmanager severity=critical"]["routes"] == ["Production Alerts"]
    assert run.outputs["routingMatrix"]["source=planetscale"]["routes"] == []
    # Derivation reads the conditions alone: the same without a single test.
    raw = {key.removeprefix(f"{PROJECT}:"): value for key, value in config.items()}
    assert {(alert.source, alert.attributes) for alert in derived_alerts(symbolic_routes(raw))} == derived


def test_removing_the_escalation_stops_the_run_naming_each_test_before_any_resource(emulator: Emulator) -> None:
    config = _config("production", emulator)
    del _route(config, "Production Alerts")["escalation"]

    message, run = _refused("production", config)

    assert run.resources == []
    assert "4 routing tests of Pulumi.production.yaml (routingTests) fail; nothing was changed" in message
    assert (
        "routingTests[0] (source=alertmanager severity=critical): expected pages [engineering_on_call], got none. "
        "It goes to: Production Alerts: slack alerts." in message
    )
    for index, source in ((1, "checkly"), (2, "sev0_email"), (3, "grafana_cloud")):
        assert f"routingTests[{index}] (source={source}): expected pages [engineering_on_call], got none" in message
    assert "Traceback" not in message and CANARY_API_KEY not in message


def test_a_second_route_on_critical_alerts_fails_the_test_that_says_where_they_go(emulator: Emulator) -> None:
    config = _config("production", emulator)
    config[ROUTES].append(copy.deepcopy(CRITICAL_COPY))
    message, run = _refused("production", config)
    assert run.resources == []
    assert (
        "routingTests[0] (source=alertmanager severity=critical): expected routes [Production Alerts], "
        "got [Critical Copy, Production Alerts]" in message
    )


def test_a_second_route_on_critical_alerts_without_a_test_warns_that_they_page_twice(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config("production", emulator)
    config[ROUTES].append(copy.deepcopy(CRITICAL_COPY))
    _without_test(config, CRITICAL)

    with caplog.at_level(logging.WARNING):
        run = run_stack("production", config)

    (warning,) = _coverage_warnings(caplog)
    assert warning.startswith(
        "routing coverage (twice): an alert from alertmanager with severity=critical pages twice: 2 routes page for "
        "it: Production Alerts (engineering_on_call), Critical Copy (engineering_on_call); and is posted to Slack "
        "alerts 2 times, by Production Alerts, Critical Copy."
    )
    assert warning.endswith(
        "{alert: {source: alertmanager, attributes: {severity: critical}}, expect: {routes: [Critical Copy, "
        "Production Alerts]}}"
    )
    assert "Critical Copy" in run.outputs["routeIds"]  # a warning: the run goes on


def test_fail_on_makes_a_coverage_finding_an_error_before_any_resource(emulator: Emulator) -> None:
    config = _config("production", emulator, routingCoverage={"failOn": ["twice"]})
    config[ROUTES].append(copy.deepcopy(CRITICAL_COPY))
    _without_test(config, CRITICAL)

    message, run = _refused("production", config)

    assert run.resources == []
    assert "routing coverage findings that routingCoverage.failOn makes errors" in message
    assert "routing coverage (twice): an alert from alertmanager with severity=critical pages twice" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda config: _without_test(config, StackAlert("planetscale")),
            "routing coverage (dropped): an alert from planetscale with branch unset goes nowhere. If that is "
            "intended, say so with a routing test: {alert: {source: planetscale}, expect: {routes: []}}",
            id="an unacknowledged drop",
        ),
        pytest.param(
            lambda config: _route(config, "Database Alerts")["sources"][0]["when"].append(
                {"reference": "branch", "operation": "is_not_set"}
            ),
            "routing coverage (unreached): route 'Database Alerts' acts on no alert",
            id="a route nothing reaches",
        ),
        pytest.param(
            lambda config: config[f"{PROJECT}:alertSources"].update(checkly_staging={"name": "Checkly (Staging)"}),
            "routing coverage (dropped): an alert from checkly_staging goes nowhere.",
            id="a declared source no route lists",
        ),
    ],
)
def test_coverage_warns_of_what_no_test_acknowledges(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, change: Any, expected: str
) -> None:
    config = _config("production", emulator)
    change(config)
    # The route made unreachable is no longer tested either: its tests would stop the run first.
    config[TESTS] = [test for test in config[TESTS] if test["expect"].get("routes") != ["Database Alerts"]]
    with caplog.at_level(logging.WARNING):
        run_stack("production", config)
    warnings = _coverage_warnings(caplog)
    assert [warning for warning in warnings if warning.startswith(expected)] != [], warnings


# A route that takes critical alerts only if incident.io ignores case: for `severity: critical` it may
# or may not act (docs/routing.md, "Readings that warn").
MAYBE_CRITICAL = {
    "name": "Maybe Critical",
    "sources": [
        {"source": "alertmanager", "when": [{"reference": "severity", "operation": "one_of", "values": ["CRITICAL"]}]}
    ],
    "escalation": "engineering_on_call",
}


@pytest.mark.parametrize(
    ("expect", "failure"),
    [
        pytest.param(
            {"routes": ["Production Alerts"]},
            "expected routes [Production Alerts], which does not hold under every reading: [Production Alerts] "
            "for certain, [Maybe Critical] only under some readings",
            id="routes: the possible route may make two",
        ),
        pytest.param(
            {"routes": ["Maybe Critical", "Production Alerts"]},
            "expected routes [Maybe Critical, Production Alerts], which does not hold under every reading",
            id="routes: the possible route may not act",
        ),
        pytest.param(
            {"pages": ["engineering_on_call"], "slack": ["alerts"]},
            None,
            id="pages and slack: the same under every reading",
        ),
    ],
)
def test_a_test_passes_only_if_it_holds_under_every_reading(
    emulator: Emulator, expect: dict[str, list[str]], failure: str | None
) -> None:
    config = _config("production", emulator)
    config[ROUTES].append(copy.deepcopy(MAYBE_CRITICAL))
    config[TESTS][0]["expect"] = expect
    if failure is None:
        run = run_stack("production", config)
        (row,) = [row for row in run.outputs["routingMatrix"].values() if row["attributes"] == {"severity": "critical"}]
        assert row["routes"] == ["Maybe Critical", "Production Alerts"]
        assert row["doubts"] == [
            "Maybe Critical: alert_sources[0] (alertmanager): severity contains_one_of ['CRITICAL'] holds for "
            "'critical' only if contains_one_of ignores case"
        ]
        return
    message, _ = _refused("production", config)
    assert f"routingTests[0] (source=alertmanager severity=critical): {failure}" in message
    # the reading that breaks it, in the stack's names
    assert "severity contains_one_of ['CRITICAL'] holds for 'critical' only if contains_one_of ignores case" in message


def test_routing_tests_naming_what_the_stack_does_not_declare_are_config_problems_listed_at_once(
    emulator: Emulator,
) -> None:
    config = _config("production", emulator)
    config[TESTS] = [
        {"alert": {"source": "alertmanagr"}, "expect": {"routes": []}},
        {"alert": {"source": "alertmanager", "attributes": {"sev": "critical"}}, "expect": {"pages": ["on_call"]}},
        {"alert": {"source": "checkly"}, "expect": {"routes": ["Production Alert"], "slack": ["alert"]}},
    ]

    message, run = _refused("production", config)

    assert run.resources == []
    for problem in [
        "routingTests[0].alert.source: unknown source 'alertmanagr'; known: alertmanager, axiom, checkly, "
        "grafana_cloud, planetscale, sev0_email, status_page_views (the keys of alertSources)",
        "routingTests[1].alert.attributes.sev: unknown attribute 'sev'; known: branch, severity (the keys of "
        "references)",
        "routingTests[1].expect.pages: unknown escalation path 'on_call'; known: engineering_on_call",
        "routingTests[2].expect.routes: unknown route 'Production Alert'; known: Database Alerts, Informational, "
        "Production Alerts, Production Warnings, Unrouted Alerts (the names of routes)",
        "routingTests[2].expect.slack: unknown Slack channel 'alert'; known: alerts (the keys of slackChannels)",
    ]:
        assert problem in message


@pytest.mark.parametrize(
    ("tests", "problem"),
    [
        ([{"alert": {"source": "checkly"}, "expect": {}}], "routingTests[0].expect: {} should be non-empty"),
        (
            [{"alert": {"source": "alertmanager", "attributes": {"severity": 2}}, "expect": {"routes": []}}],
            "routingTests[0].alert.attributes.severity: 2 is not valid",
        ),
        ([{"alert": {"source": "checkly"}, "expects": {"routes": []}}], "routingTests[0]: 'expect' is a required"),
    ],
    ids=["nothing-expected", "not-a-text-value", "typo"],
)
def test_malformed_routing_tests_are_config_problems(
    emulator: Emulator, tests: list[dict[str, Any]], problem: str
) -> None:
    message, run = _refused("production", _config("production", emulator, routingTests=tests))
    assert run.resources == [] and problem in message


def test_a_routing_test_is_labelled_by_its_position_and_alert() -> None:
    test = RoutingTest(3, StackAlert.of("planetscale", {"branch": "main"}), Expectation(routes=frozenset()))
    assert test.label == "routingTests[3] (source=planetscale branch=main)"


def test_a_channel_posted_to_only_under_some_readings_fails_a_slack_expectation(emulator: Emulator) -> None:
    config = _config("production", emulator)
    # Production Warnings posts only when the channel's own condition holds, which needs case ignored.
    condition = {
        "subject": f"alert.attributes.{SEVERITY_ATTRIBUTE}",
        "operation": "contains_one_of",
        "param_bindings": [{"array_value": [{"literal": "WARNING"}]}],
    }
    _route(config, "Production Warnings")["raw"] = {
        "channel_config": [
            {
                "condition_groups": [{"conditions": [condition]}],
                "slack_targets": {
                    "binding": {"array_value": [{"literal": ALERTS_CHANNEL}]},
                    "channel_visibility": "public",
                },
            }
        ]
    }

    message, _ = _refused("production", config)

    assert "1 routing test of Pulumi.production.yaml (routingTests) fails; nothing was changed" in message
    (failure,) = [line for line in message.splitlines() if "routingTests[" in line]
    assert failure.startswith(
        "  - routingTests[4] (source=alertmanager severity=warning): expected slack [alerts], which does not hold "
        "under every reading: none for certain, [alerts] only under some readings."
    )
    assert "channel_config[0]: severity contains_one_of ['WARNING'] holds for 'warning' only if" in failure


def test_an_array_attribute_is_given_as_a_list(emulator: Emulator) -> None:
    alert = {"source": "alertmanager", "attributes": {"severity": ["info", "critical"]}}
    tests = [{"alert": alert, "expect": {"routes": ["Production Alerts"]}}]
    run = run_stack("production", _config("production", emulator, routingTests=tests))
    (row,) = [
        row for row in run.outputs["routingMatrix"].values() if row["attributes"] == {"severity": ["info", "critical"]}
    ]
    assert row["routes"] == ["Production Alerts"]

    tests[0]["expect"] = {"routes": []}
    message, _ = _refused("production", _config("production", emulator, routingTests=tests))
    assert (
        "routingTests[0] (source=alertmanager severity=[info, critical]): expected no routes, got [Production Alerts]"
        in message
    )


def test_a_doubt_about_opening_an_incident_does_not_fail_what_a_test_says_of_pages_and_slack(
    emulator: Emulator,
) -> None:
    config = _config("production", emulator)
    # Whether Production Alerts opens an incident rests on an operation the evaluator cannot decide
    # (`is_active`): the routes, pages and Slack of its routing tests are still known for certain.
    unknown = {
        "subject": f"alert.attributes.{SEVERITY_ATTRIBUTE}",
        "operation": "is_active",
        "param_bindings": [],
    }
    _route(config, "Production Alerts")["raw"] = {
        "incident_config": {"enabled": True, "condition_groups": [{"conditions": [unknown]}]}
    }
    run = run_stack("production", config)
    critical = [row for row in run.outputs["routingMatrix"].values() if row["attributes"] == {"severity": "critical"}]
    assert critical and critical[0]["pages"] == ["engineering_on_call"] and critical[0]["slack"] == ["alerts"]
