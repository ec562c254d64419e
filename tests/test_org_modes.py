"""The emulator's two org modes (docs/api-behaviour.md, "v3 alert routes"): an org not yet on
incident.io's new alert grouping engine answers every /v3/alert_routes call with 403
api_not_yet_available; a migrated org serves each route through both /v2 and /v3, in each
version's shapes (checked against the official SDK's v2 and v3 models)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import incident_io.models as sdk
import pytest
import requests

from providers.alert_route_spec import from_live, validation_errors
from tests.conftest import CANARY_API_KEY, route_spec
from tests.emulator import Emulator, running_emulator
from tests.emulator.behaviour import ApiBehaviour
from tests.emulator.seed import ALERTS_CHANNEL, ENGINEERING_ON_CALL, SEVERITY_ATTRIBUTE, seed_directory
from tests.routes import every_field_route

JsonDict = dict[str, Any]
SEVERITY = f"alert.attributes.{SEVERITY_ATTRIBUTE}"
V3_PATHS: list[tuple[str, str, object]] = [
    ("GET", "/v3/alert_routes", None),
    ("POST", "/v3/alert_routes", {}),
    ("GET", "/v3/alert_routes/{id}", None),
    ("PUT", "/v3/alert_routes/{id}", {}),
    ("DELETE", "/v3/alert_routes/{id}", None),
]


def _org(*, migrated: bool) -> Iterator[Emulator]:
    with running_emulator(api_key=CANARY_API_KEY, org_migrated=migrated) as emulator:
        seed_directory(emulator.state, base_url=emulator.url)
        yield emulator


@pytest.fixture
def migrated() -> Iterator[Emulator]:
    yield from _org(migrated=True)


@pytest.fixture
def not_migrated() -> Iterator[Emulator]:
    yield from _org(migrated=False)


def _call(emulator: Emulator, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(
        method,
        f"{emulator.url}{path}",
        data=None if body is None else json.dumps(body),
        headers={"Authorization": f"Bearer {CANARY_API_KEY}", "Content-Type": "application/json"},
        timeout=5,
    )


def _ok(response: requests.Response, status: int = 200) -> JsonDict:
    assert response.status_code == status, response.text
    body: JsonDict = response.json()
    return body


def _v3_route(**changes: Any) -> JsonDict:
    """A v3 create payload with grouping on and the settings only v3 can say: a fixed window, a
    summary message in Slack, a grace period before re-escalating."""
    route: JsonDict = {
        "name": "Grouped database alerts",
        "enabled": True,
        "is_private": False,
        "alert_sources": [
            {
                "alert_source_id": "01KHSNW67SZJ1KGWEMA9C0GPT7",
                "condition_groups": [
                    {
                        "conditions": [
                            {
                                "subject": SEVERITY,
                                "operation": "one_of",
                                "param_bindings": [{"array_value": [{"literal": "critical"}]}],
                            }
                        ]
                    }
                ],
            }
        ],
        "condition_groups": [],
        "expressions": [],
        "escalation_config": {
            "auto_cancel_escalations": True,
            "escalation_targets": [{"escalation_paths": {"array_value": [{"literal": ENGINEERING_ON_CALL}]}}],
            "when_alert_joins_group": {"mode": "on_each_new_alert", "grace_period_seconds": 120},
        },
        "grouping_config": {
            "default": {
                "enabled": True,
                "grouping_keys": [{"reference": SEVERITY}],
                "window_seconds": 1800,
                "window_type": "fixed",
            }
        },
        "incident_config": {"enabled": False},
        "message_config": {
            "destinations": [
                {
                    "condition_groups": [],
                    "slack_targets": {
                        "binding": {"array_value": [{"literal": ALERTS_CHANNEL}]},
                        "channel_visibility": "public",
                        "group_alerts_summary": True,
                    },
                }
            ]
        },
    }
    route.update(copy.deepcopy(changes))
    return route


# An org not yet migrated


@pytest.mark.parametrize(("method", "path", "body"), V3_PATHS, ids=[f"{m} {p}" for m, p, _ in V3_PATHS])
def test_an_org_not_yet_migrated_answers_every_v3_route_call_with_api_not_yet_available(
    not_migrated: Emulator, method: str, path: str, body: object
) -> None:
    route_id = _ok(_call(not_migrated, "POST", "/v2/alert_routes", route_spec()), 201)["alert_route"]["id"]

    response = _call(not_migrated, method, path.format(id=route_id), body)

    # What incident.io's Terraform provider falls back to v2 on (isAPINotYetAvailable).
    assert response.status_code == 403
    error = sdk.ErrorResponse.from_dict(response.json())
    assert error.type_.value == "resource_forbidden"
    assert [item.code for item in error.errors] == ["api_not_yet_available"]
    # Nothing changed, and v2 still serves the route.
    assert _ok(_call(not_migrated, "GET", f"/v2/alert_routes/{route_id}"))["alert_route"]["version"] == 1


def test_the_migration_gate_comes_before_the_route_lookup(not_migrated: Emulator) -> None:
    response = _call(not_migrated, "GET", "/v3/alert_routes/01KTNOSUCHROUTE00000000000")
    assert response.status_code == 403


# A migrated org: routes written through v2


def test_a_route_written_through_v2_reads_through_v3_the_way_the_migration_guide_maps_it(migrated: Emulator) -> None:
    route_id = _ok(_call(migrated, "POST", "/v2/alert_routes", every_field_route()), 201)["alert_route"]["id"]

    body = _ok(_call(migrated, "GET", f"/v3/alert_routes/{route_id}"))
    route = sdk.AlertRoutesShowResultV3.from_dict(body).alert_route.to_dict()

    assert route["id"] == route_id and route["version"] == 1
    # incident_config.grouping_* → grouping_config.default, rolling like v2 grouping.
    assert route["grouping_config"]["default"] == {
        "enabled": True,
        "grouping_keys": [{"reference": "alert.title"}, {"reference": SEVERITY}],
        "window_seconds": 1800,
        "window_type": "rolling",
    }
    # auto_relate_grouped_alerts: true → on_priority_increase, which takes no grace period (answered 0).
    assert route["escalation_config"]["when_alert_joins_group"] == {
        "mode": "on_priority_increase",
        "grace_period_seconds": 0,
    }
    # channel_config and message_template → message_config.
    destinations = route["message_config"]["destinations"]
    assert sorted(destination.keys() - {"condition_groups"} for destination in destinations) == [
        {"ms_teams_targets"},
        {"slack_targets"},
    ]
    template_literal = route["message_config"]["template"]["value"]["literal"]
    assert json.loads(template_literal) == json.loads(every_field_route()["message_template"]["value"]["literal"])
    # incident_template → incident_config.template, without the workspace v3 has no field for.
    template = route["incident_config"]["template"]
    assert "workspace" not in template and template["incident_mode"] == {"binding": {"value": {"literal": "standard"}}}
    assert route["incident_config"]["auto_decline_enabled"] is True
    assert not {"channel_config", "incident_template", "message_template"} & route.keys()


def test_a_route_without_grouping_or_incidents_reads_through_v3_without_their_details(migrated: Emulator) -> None:
    route_id = _ok(_call(migrated, "POST", "/v2/alert_routes", route_spec()), 201)["alert_route"]["id"]

    route = _ok(_call(migrated, "GET", f"/v3/alert_routes/{route_id}"))["alert_route"]

    assert route["grouping_config"] == {"default": {"enabled": False}}
    assert "when_alert_joins_group" not in route["escalation_config"]
    assert route["incident_config"] == {"enabled": False}


# A migrated org: routes written through v3


def test_a_route_written_through_v3_reads_back_as_written(migrated: Emulator) -> None:
    sent = _v3_route()
    created = _ok(_call(migrated, "POST", "/v3/alert_routes", sent), 201)
    route = sdk.AlertRoutesCreateResultV3.from_dict(created).alert_route.to_dict()
    shown = _ok(_call(migrated, "GET", f"/v3/alert_routes/{route['id']}"))["alert_route"]

    assert shown == created["alert_route"]
    assert route["grouping_config"] == sent["grouping_config"]
    assert route["escalation_config"]["when_alert_joins_group"] == sent["escalation_config"]["when_alert_joins_group"]
    assert route["message_config"]["destinations"][0]["slack_targets"]["group_alerts_summary"] is True
    # Labels on subjects and operations, none on binding values (SDK ConditionV3, EngineParamBindingValueV3).
    condition = route["alert_sources"][0]["condition_groups"][0]["conditions"][0]
    assert condition["subject"] == {"label": "severity", "reference": SEVERITY}
    assert condition["param_bindings"] == [{"array_value": [{"literal": "critical"}]}]


def test_a_v2_read_of_a_v3_route_leaves_out_what_v2_cannot_say(migrated: Emulator) -> None:
    route_id = _ok(_call(migrated, "POST", "/v3/alert_routes", _v3_route()), 201)["alert_route"]["id"]

    answer = _ok(_call(migrated, "GET", f"/v2/alert_routes/{route_id}"))
    route = sdk.AlertRoutesShowResultV2.from_dict(answer).alert_route.to_dict()

    text = json.dumps(route)
    assert "window_type" not in text and "group_alerts_summary" not in text and "fixed" not in text
    incident = route["incident_config"]
    assert (incident["grouping_window_seconds"], incident["grouping_keys"]) == (1800, [{"reference": SEVERITY}])
    assert (incident["auto_relate_grouped_alerts"], incident["defer_time_seconds"]) == (False, 120)
    # v2 labels binding values (the channel's name); v3 does not.
    assert route["channel_config"][0]["slack_targets"]["binding"]["array_value"][0]["literal"] == ALERTS_CHANNEL
    assert "label" in route["channel_config"][0]["slack_targets"]["binding"]["array_value"][0]
    # What this project's provider reads it as is a payload its own schema accepts.
    assert validation_errors(from_live(route)) == []


@pytest.mark.parametrize("drops", [True, False], ids=["v3 settings lost (default)", "v3 settings kept"])
def test_a_v2_write_over_a_v3_route_loses_its_v3_only_settings_unless_told_otherwise(
    migrated: Emulator, drops: bool
) -> None:
    migrated.state.behaviour = ApiBehaviour(v2_write_drops_v3_only_settings=drops)
    route_id = _ok(_call(migrated, "POST", "/v3/alert_routes", _v3_route()), 201)["alert_route"]["id"]
    # A v2 client writes back exactly what it read, with the next version.
    read = from_live(_ok(_call(migrated, "GET", f"/v2/alert_routes/{route_id}"))["alert_route"])
    _ok(_call(migrated, "PUT", f"/v2/alert_routes/{route_id}", {**read, "version": 2}))

    route = _ok(_call(migrated, "GET", f"/v3/alert_routes/{route_id}"))["alert_route"]

    window_type = route["grouping_config"]["default"]["window_type"]
    summary = route["message_config"]["destinations"][0]["slack_targets"].get("group_alerts_summary")
    assert (window_type, summary) == (("rolling", None) if drops else ("fixed", True))
    # What v2 can say survives either way.
    assert route["grouping_config"]["default"]["window_seconds"] == 1800
    assert route["escalation_config"]["when_alert_joins_group"]["grace_period_seconds"] == 120


def test_with_team_grouping_an_escalation_mode_is_said_on_every_route(migrated: Emulator) -> None:
    # B14, behind `feature-alert-grouping-for-teams`: a route that does not group keeps an
    # escalation mode, which v3 answers and accepts (TF PR #590).
    migrated.state.behaviour = ApiBehaviour(when_alert_joins_group_on_every_route=True)
    v2_route = _ok(_call(migrated, "POST", "/v2/alert_routes", route_spec()), 201)["alert_route"]["id"]
    assert _ok(_call(migrated, "GET", f"/v3/alert_routes/{v2_route}"))["alert_route"]["escalation_config"][
        "when_alert_joins_group"
    ] == {"mode": "on_each_new_alert", "grace_period_seconds": 0}

    not_grouping = _v3_route(grouping_config={"default": {"enabled": False}})
    not_grouping["escalation_config"]["when_alert_joins_group"] = {"mode": "on_priority_increase"}
    created = _ok(_call(migrated, "POST", "/v3/alert_routes", not_grouping), 201)["alert_route"]

    assert created["escalation_config"]["when_alert_joins_group"]["mode"] == "on_priority_increase"
    v2 = _ok(_call(migrated, "GET", f"/v2/alert_routes/{created['id']}"))["alert_route"]
    assert v2["incident_config"]["auto_relate_grouped_alerts"] is True


def test_v2_and_v3_writes_share_one_version(migrated: Emulator) -> None:
    route_id = _ok(_call(migrated, "POST", "/v3/alert_routes", _v3_route()), 201)["alert_route"]["id"]
    stale = _call(migrated, "PUT", f"/v3/alert_routes/{route_id}", {**_v3_route(), "version": 1})
    assert stale.status_code == 422 and stale.json()["errors"][0]["source"]["field"] == "version"

    _ok(_call(migrated, "PUT", f"/v3/alert_routes/{route_id}", {**_v3_route(name="Renamed"), "version": 2}))

    v2 = _ok(_call(migrated, "GET", f"/v2/alert_routes/{route_id}"))["alert_route"]
    assert (v2["name"], v2["version"]) == ("Renamed", 2)


def test_the_v3_list_pages_through_slim_routes(migrated: Emulator) -> None:
    ids = [_ok(_call(migrated, "POST", "/v2/alert_routes", route_spec(f"Route {n}")), 201) for n in range(3)]
    first = sdk.AlertRoutesListResultV3.from_dict(_ok(_call(migrated, "GET", "/v3/alert_routes?page_size=2")))
    after = first.pagination_meta.after
    rest = _ok(_call(migrated, "GET", f"/v3/alert_routes?page_size=2&after={after}"))

    listed = [route.id for route in first.alert_routes] + [route["id"] for route in rest["alert_routes"]]
    assert listed == [body["alert_route"]["id"] for body in ids]
    assert set(rest["alert_routes"][0]) == {"id", "name", "enabled"}


def test_deleting_through_v3_deletes_the_route_for_v2_too(migrated: Emulator) -> None:
    route_id = _ok(_call(migrated, "POST", "/v2/alert_routes", route_spec()), 201)["alert_route"]["id"]
    assert _call(migrated, "DELETE", f"/v3/alert_routes/{route_id}").status_code == 204
    assert _call(migrated, "GET", f"/v2/alert_routes/{route_id}").status_code == 404


REFUSED = {
    "a grouping window type missing while grouping is on": (
        lambda route: route["grouping_config"]["default"].pop("window_type"),
        "grouping_config.default.window_type",
    ),
    "grouping details while grouping is off": (
        lambda route: route.update(
            grouping_config={"default": {"enabled": False, "window_seconds": 600}},
            escalation_config={**route["escalation_config"], "when_alert_joins_group": None},
        ),
        "grouping_config.default.window_seconds",
    ),
    "a grouping window over 48 hours": (
        lambda route: route["grouping_config"]["default"].update(window_seconds=172801),
        "grouping_config.default.window_seconds",
    ),
    "a grace period with on_priority_increase": (
        lambda route: route["escalation_config"]["when_alert_joins_group"].update(mode="on_priority_increase"),
        "escalation_config.when_alert_joins_group.grace_period_seconds",
    ),
    "when_alert_joins_group without grouping": (
        lambda route: route.update(grouping_config={"default": {"enabled": False}}),
        "escalation_config.when_alert_joins_group",
    ),
    "an incident template while incident creation is off": (
        lambda route: route["incident_config"].update(template={"name": {"autogenerated": True}}),
        "incident_config.template",
    ),
    "incident creation on without auto_decline_enabled": (
        lambda route: route["incident_config"].update(enabled=True),
        "incident_config.auto_decline_enabled",
    ),
    "a v2 field": (lambda route: route.update(channel_config=[]), "channel_config"),
}


@pytest.mark.parametrize(("mutate", "field"), REFUSED.values(), ids=list(REFUSED))
def test_the_v3_api_refuses_what_its_models_say_it_rejects(migrated: Emulator, mutate: Any, field: str) -> None:
    route = _v3_route()
    mutate(route)
    route["escalation_config"] = {key: value for key, value in route["escalation_config"].items() if value is not None}

    response = _call(migrated, "POST", "/v3/alert_routes", route)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["source"]["field"] == field
    assert migrated.state.routes == {}
