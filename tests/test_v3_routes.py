"""Alert routes in an org on incident.io's new alert grouping engine (docs/api-behaviour.md, "v3 alert
routes" and "Which version this project uses"): what the v2 API cannot say (a fixed grouping window, a
summary message) is read through v3, written through v3, and never dropped by a write that no preview
showed; in an org not on the engine, a route that declares such settings is refused before any write."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import incident_io.models as sdk
import pytest

from providers.alert_route_v3 import unsayable_in_v3, v3_payload
from providers.incident_io import AlertRouteError, AlertRouteProvider, ConcurrentEditError
from tests.conftest import CANARY_API_KEY, MIGRATED, NOT_MIGRATED, configured_provider, route_spec
from tests.emulator import Emulator, Fault, running_emulator
from tests.emulator.seed import seed_directory
from tests.routes import every_field_route, stack_routes, v3_settings_route
from tests.sdk_oracle import shape_errors

JsonDict = dict[str, Any]
FIXED = {"grouping_config": {"default": {"window_type": "fixed"}}}
WINDOW_TYPE = 'grouping_config.default.window_type="fixed"'


@pytest.fixture
def not_migrated() -> Iterator[Emulator]:
    with running_emulator(api_key=CANARY_API_KEY, org_migrated=False) as emulator:
        seed_directory(emulator.state, base_url="https://api.incident.io")
        yield emulator


def _grouping() -> JsonDict:
    """A route that groups alerts and says nothing only v3 can say."""
    spec, _ = v3_settings_route("Grouped")
    return spec


def _created(provider: AlertRouteProvider, declared: JsonDict) -> tuple[str, JsonDict, JsonDict]:
    checked = provider.check({}, declared)
    assert checked.failures == [], checked.failures
    created = provider.create(checked.inputs)
    return created.id, created.outs or {}, checked.inputs


def _window_type(emulator: Emulator, route_id: str) -> str | None:
    """The route's grouping window type as the org holds it (None: v3's default, rolling)."""
    held: str | None = emulator.state.routes[route_id].payload["incident_config"].get("window_type")
    return held


def _writes(emulator: Emulator) -> list[tuple[str, str]]:
    return [(method, path) for method, path in emulator.state.requests if method in ("POST", "PUT", "DELETE")]


def _set_fixed_in_the_dashboard(emulator: Emulator, route_id: str) -> None:
    incident = emulator.state.routes[route_id].payload["incident_config"]
    emulator.state.edit_out_of_band(route_id, incident_config={**incident, "window_type": "fixed"})


# How a route is written


def test_a_route_that_declares_v3_settings_is_created_by_one_v3_write_and_holds_them(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    spec, v3 = v3_settings_route()
    route_id, outs, inputs = _created(provider, {"spec": spec, "v3": v3})

    assert [(method, path) for method, path in _writes(emulator) if "alert_routes" in path] == [
        ("POST", "/v3/alert_routes")
    ]
    held = emulator.state.routes[route_id].payload
    assert held["incident_config"]["window_type"] == "fixed"
    assert held["channel_config"][0]["slack_targets"]["group_alerts_summary"] is True
    # What v2 can say arrived too: the grace period before an alert joining a group escalates again.
    assert held["incident_config"]["defer_time_seconds"] == 120
    assert (outs["spec"], outs["v3"]) == (inputs["spec"], inputs["v3"])


def test_a_route_that_says_nothing_only_v3_can_say_is_still_written_through_v2(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    route_id, outs, inputs = _created(provider, {"spec": _grouping()})
    provider.update(route_id, outs, {"spec": {**inputs["spec"], "enabled": False}})

    assert [(method, path) for method, path in _writes(emulator) if "alert_routes" in path] == [
        ("POST", "/v2/alert_routes"),
        ("PUT", f"/v2/alert_routes/{route_id}"),
    ]
    assert "v3" not in outs


@pytest.mark.parametrize("spec", [route_spec(), _grouping(), v3_settings_route()[0]], ids=["plain", "grouping", "v3"])
def test_the_v3_payload_is_one_the_sdk_accepts_and_says_what_the_spec_says(spec: JsonDict) -> None:
    payload = v3_payload(spec, FIXED)
    assert shape_errors(sdk.AlertRoutesCreatePayloadV3, payload) == []
    grouping = payload["grouping_config"]["default"]
    incident = spec["incident_config"]
    if incident["grouping_keys"]:
        assert grouping == {
            "enabled": True,
            "grouping_keys": incident["grouping_keys"],
            "window_seconds": incident["grouping_window_seconds"],
            "window_type": "fixed",
            # Said either way: left out, an update would keep whatever the route had.
            "ai_enabled": False,
        }
        # defer_time_seconds is on_each_new_alert's grace period (TF CHANGELOG v5.41.0, "Migration").
        assert payload["escalation_config"]["when_alert_joins_group"] == {
            "mode": "on_each_new_alert",
            "grace_period_seconds": incident["defer_time_seconds"],
        }
    else:
        # Grouping details are refused while grouping is off; so is an escalation mode.
        assert grouping == {"enabled": False}
        assert "when_alert_joins_group" not in payload["escalation_config"]
    # A route that creates no incidents sends no incident settings ("the API drops them otherwise").
    assert payload["incident_config"] == {"enabled": False}
    assert [set(destination) for destination in payload["message_config"]["destinations"]] == [
        {"condition_groups", "slack_targets"}
    ]


def test_every_stack_route_and_the_every_field_route_map_to_a_payload_the_sdk_accepts(emulator: Emulator) -> None:
    every_field = every_field_route()
    # What v3 has no field for is refused before a v3 write; without it, the rest maps.
    assert unsayable_in_v3(every_field) == [
        ("incident_template.workspace", every_field["incident_template"]["workspace"]),
        ("incident_config.defer_time_seconds", 120),
    ]
    del every_field["incident_template"]["workspace"]
    every_field["incident_config"]["defer_time_seconds"] = 0
    for name, spec in {**stack_routes(emulator), "Every field": every_field}.items():
        assert shape_errors(sdk.AlertRoutesCreatePayloadV3, v3_payload(spec, {})) == [], name
    payload = v3_payload(every_field, {})
    assert payload["escalation_config"]["when_alert_joins_group"] == {"mode": "on_priority_increase"}
    assert payload["incident_config"]["template"] == {
        key: value for key, value in every_field["incident_template"].items() if key != "workspace"
    }


def test_a_route_written_through_v3_that_creates_no_incidents_shows_no_change(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    # v3 has no incident template for such a route; the v2 reading answers one anyway, in a form nobody
    # documents (the emulator: not autogenerated, where the declaration says autogenerated). B15.
    spec, v3 = v3_settings_route()
    route_id, outs, inputs = _created(provider, {"spec": spec, "v3": v3})
    answered = emulator.state.render_route(emulator.state.routes[route_id])["incident_template"]["name"]
    assert answered["autogenerated"] is not spec["incident_template"]["name"]["autogenerated"]

    refreshed = provider.read(route_id, outs).outs or {}
    assert provider.diff(route_id, refreshed, inputs).changes is False
    assert refreshed["spec"] == inputs["spec"]


def test_a_lost_v3_create_answer_leaves_exactly_one_route(provider: AlertRouteProvider, emulator: Emulator) -> None:
    emulator.inject(Fault("POST", "/v3/alert_routes", drop_after_acting=True))
    spec, v3 = v3_settings_route()
    route_id, outs, _ = _created(provider, {"spec": spec, "v3": v3})
    assert list(emulator.state.routes) == [route_id]
    assert emulator.state.count("POST", "/v3/alert_routes") == 1
    assert outs["v3"] == v3


# A setting only v3 can say, made in the dashboard


def test_a_window_type_set_in_the_dashboard_stops_an_up_that_has_not_seen_it(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    route_id, outs, inputs = _created(provider, {"spec": _grouping()})
    _set_fixed_in_the_dashboard(emulator, route_id)
    before = _writes(emulator)

    changed = {"spec": {**inputs["spec"], "enabled": False}}
    with pytest.raises(ConcurrentEditError, match=r"changed in incident\.io since Pulumi last read it") as refused:
        configured_provider(emulator).update(route_id, outs, changed)

    assert WINDOW_TYPE in str(refused.value) and "pulumi refresh" in str(refused.value)
    assert _writes(emulator) == before
    assert _window_type(emulator, route_id) == "fixed"


def test_a_window_type_the_state_never_recorded_is_not_dropped(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    # A state last refreshed before the provider read v3: the route's version is the one the state has,
    # but the window was fixed all along.
    route_id, outs, inputs = _created(provider, {"spec": _grouping()})
    emulator.state.routes[route_id].payload["incident_config"]["window_type"] = "fixed"

    with pytest.raises(ConcurrentEditError, match="Pulumi's state has not recorded") as refused:
        configured_provider(emulator).update(route_id, outs, {"spec": {**inputs["spec"], "enabled": False}})

    message = str(refused.value)
    assert WINDOW_TYPE in message and "declare them" in message and "pulumi refresh" in message
    assert emulator.state.count("PUT") == 0
    assert _window_type(emulator, route_id) == "fixed"


@pytest.mark.parametrize("keep", [True, False], ids=["declared: kept", "not declared: set back, as shown"])
def test_after_a_refresh_the_window_type_is_kept_when_declared_and_set_back_when_not(
    provider: AlertRouteProvider, emulator: Emulator, keep: bool
) -> None:
    route_id, outs, inputs = _created(provider, {"spec": _grouping()})
    _set_fixed_in_the_dashboard(emulator, route_id)

    refresh = configured_provider(emulator).read(route_id, outs)
    refreshed = refresh.outs or {}
    assert refreshed["v3"] == FIXED and (refresh.inputs or {})["v3"] == FIXED  # what the preview compares with

    declared: JsonDict = {"spec": {**inputs["spec"], "enabled": False}, **({"v3": FIXED} if keep else {})}
    up = configured_provider(emulator)
    news = up.check(inputs, declared).inputs
    assert up.diff(route_id, refreshed, news).changes is True
    updated = up.update(route_id, refreshed, news).outs or {}

    # One write, through v3, which says the window type either way.
    assert [(m, p) for m, p in _writes(emulator) if m == "PUT"] == [("PUT", f"/v3/alert_routes/{route_id}")]
    assert _window_type(emulator, route_id) == ("fixed" if keep else "rolling")
    assert emulator.state.routes[route_id].payload["enabled"] is False
    assert configured_provider(emulator).diff(route_id, updated, news).changes is False


# Adoption


@pytest.mark.parametrize("by_id", [True, False], ids=["id:", "by name"])
def test_adoption_takes_over_a_route_with_v3_settings_only_when_the_declaration_says_them(
    emulator: Emulator, by_id: bool
) -> None:
    spec, v3 = v3_settings_route()
    route_id, _, _ = _created(configured_provider(emulator), {"spec": spec, "v3": v3})
    adopt = {"adopt_id": route_id} if by_id else {}
    before = _writes(emulator)

    refused = configured_provider(emulator).check({}, {"spec": spec, **adopt}).failures
    assert len(refused) == 1
    assert WINDOW_TYPE in refused[0].reason and "group_alerts_summary=true" in refused[0].reason

    adopter = configured_provider(emulator)
    checked = adopter.check({}, {"spec": spec, "v3": v3, **adopt})
    assert checked.failures == [] and checked.inputs["adopt_id"] == route_id
    adopted = adopter.create(checked.inputs)
    assert adopted.id == route_id and _writes(emulator)[len(before) :] == [("POST", "/v2/managed_resources")]
    assert adopter.diff(route_id, adopted.outs or {}, checked.inputs).changes is False


# An org not on the new grouping engine, and one whose mode cannot be told


def test_in_an_org_not_migrated_a_route_declaring_v3_settings_is_refused_at_preview(not_migrated: Emulator) -> None:
    spec, v3 = v3_settings_route()
    failures = configured_provider(not_migrated).check({}, {"spec": spec, "v3": v3}).failures

    assert [failure.property for failure in failures] == ["v3"]
    assert "403 api_not_yet_available" in failures[0].reason and WINDOW_TYPE in failures[0].reason
    assert _writes(not_migrated) == []
    with pytest.raises(AlertRouteError, match="api_not_yet_available"):
        configured_provider(not_migrated).create({"spec": spec, "v3": v3})
    assert _writes(not_migrated) == []


@pytest.mark.parametrize("mode", [MIGRATED, NOT_MIGRATED])
def test_the_org_mode_is_asked_once_and_a_refresh_reads_v3_only_where_the_org_has_it(mode: str) -> None:
    with running_emulator(api_key=CANARY_API_KEY, org_migrated=mode == MIGRATED) as emulator:
        seed_directory(emulator.state, base_url="https://api.incident.io")
        ids = [emulator.state.create_route(route_spec(f"Route {n}")).id for n in range(3)]
        provider = configured_provider(emulator)
        for route_id in ids:
            provider.read(route_id, {})

        reads = {version: emulator.state.count("GET", f"/{version}/alert_routes/") for version in ("v2", "v3")}
        asked = emulator.state.count("GET", "/v3/alert_routes") - reads["v3"]
    assert asked == 1
    # Not migrated: one read per route, as before; migrated: a second one, through v3 (docs/benchmark.md).
    assert reads == {"v2": 3, "v3": 3 if mode == MIGRATED else 0}


@pytest.mark.parametrize(
    ("status", "code"), [(404, "not_found"), (403, "insufficient_permissions")], ids=["404", "403 other"]
)
def test_an_answer_that_does_not_tell_the_org_mode_stops_the_run(emulator: Emulator, status: int, code: str) -> None:
    body = {"type": "x", "status": status, "request_id": "r", "errors": [{"code": code, "message": "no"}]}
    emulator.inject(Fault("GET", "/v3/alert_routes", status=status, body=body))
    route_id = emulator.state.create_route(route_spec()).id
    provider = configured_provider(emulator)

    with pytest.raises(AlertRouteError, match=r"could not tell whether this incident\.io org is on the new alert"):
        provider.update(route_id, {"version": 1}, {"spec": route_spec(enabled=False)})
    assert _writes(emulator) == []


def test_a_route_declaring_v3_settings_cannot_also_say_what_v3_has_no_field_for(provider: AlertRouteProvider) -> None:
    spec, v3 = v3_settings_route()
    spec = copy.deepcopy(spec)
    spec["incident_config"].update(enabled=True, auto_decline_enabled=False)
    spec["incident_template"]["workspace"] = {"binding": {"value": {"literal": "T0EMUWORKSPACE"}}}

    failures = provider.check({}, {"spec": spec, "v3": v3}).failures

    assert [failure.property for failure in failures] == ["spec.incident_template.workspace"]
    assert "written through v3, which has no field for this" in failures[0].reason


def test_v3_settings_are_checked_against_the_spec(provider: AlertRouteProvider) -> None:
    spec, _ = v3_settings_route()
    not_grouping = {
        **spec,
        "incident_config": {**spec["incident_config"], "grouping_keys": [], "grouping_window_seconds": 0},
    }
    other_channel = {
        "message_config": {
            "destinations": [
                {"slack_targets": {"binding": {"array_value": [{"literal": "C0OTHER"}]}, "group_alerts_summary": True}}
            ]
        }
    }
    cases = [
        ({"spec": not_grouping, "v3": FIXED}, "v3.grouping_config.default", "only for a route that groups alerts"),
        ({"spec": spec, "v3": other_channel}, "v3.message_config.destinations[0].slack_targets.binding", "no slack"),
        (
            {"spec": spec, "v3": {"grouping_config": {"default": {"window_type": "sliding"}}}},
            "v3.grouping_config.default.window_type",
            "is not one of",
        ),
    ]
    for declared, where, reason in cases:
        failures = provider.check({}, declared).failures
        assert [(failure.property, reason in failure.reason) for failure in failures] == [(where, True)]
