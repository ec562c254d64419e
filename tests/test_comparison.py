"""The comparison runs both ways: a field the stack stopped declaring is removed by the next `up`,
and a field someone added in the dashboard shows after a refresh and is removed by the next `up`.
What the API fills in or echoes on its own (docs/api-behaviour.md) is still no change, and JSON
literals compare as the API stores them. Each `up` is a fresh provider, as with the engine."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from providers.alert_route_spec import from_live
from providers.incident_io import AlertRouteProvider, ConcurrentEditError
from providers.route_compare import differences, same_spec
from tests.conftest import configured_provider, route_spec
from tests.emulator import Emulator, EmulatorState

JsonDict = dict[str, Any]
TEMPLATE = {"value": {"literal": '{"content": "paged by {{ alert.title }}"}'}}
TEAMS = {"binding": {"array_value": [{"literal": "19:teams@thread.tacv2"}]}, "channel_visibility": "private"}
SEVERITY = {"merge_strategy": "max", "binding": {"value": {"literal": "01EMUSEVERITYMAJOR00000000"}}}


def _with_template(spec: JsonDict) -> JsonDict:
    return {**spec, "message_template": copy.deepcopy(TEMPLATE)}


def _with_teams(spec: JsonDict) -> JsonDict:
    channels = copy.deepcopy(spec["channel_config"])
    channels[0]["ms_teams_targets"] = copy.deepcopy(TEAMS)
    return {**spec, "channel_config": channels}


def _with_severity(spec: JsonDict) -> JsonDict:
    return {**spec, "incident_template": {**spec["incident_template"], "severity": copy.deepcopy(SEVERITY)}}


REMOVABLE: dict[str, tuple[Callable[[JsonDict], JsonDict], str]] = {
    "message template": (_with_template, "message_template"),
    "MS Teams target": (_with_teams, "channel_config"),
    "incident severity binding": (_with_severity, "incident_template"),
}


def _creating_incidents() -> JsonDict:
    """A route that creates incidents, so that its incident template means something (docs/api-behaviour.md
    B15: in an org on the new grouping engine, a route that creates none has no template to compare)."""
    spec = route_spec()
    return {**spec, "incident_config": {**spec["incident_config"], "enabled": True}}


def _live(emulator: Emulator, route_id: str) -> JsonDict:
    return from_live(emulator.state.render_route(emulator.state.routes[route_id]))


def _first_up(emulator: Emulator, spec: JsonDict) -> tuple[str, JsonDict, JsonDict]:
    provider = configured_provider(emulator)
    checked = provider.check({}, {"spec": spec})
    assert checked.failures == []
    created = provider.create(checked.inputs)
    return created.id, created.outs or {}, checked.inputs


@pytest.mark.parametrize(("declare", "field"), REMOVABLE.values(), ids=list(REMOVABLE))
def test_a_field_the_stack_no_longer_declares_is_removed_by_the_next_up(
    emulator: Emulator, declare: Callable[[JsonDict], JsonDict], field: str
) -> None:
    route_id, state, inputs = _first_up(emulator, declare(_creating_incidents()))

    up = configured_provider(emulator)
    news = up.check(inputs, {"spec": _creating_incidents()}).inputs
    # preview: a change, at exactly that field
    assert up.diff(route_id, state, news).changes is True
    assert {difference.path.split(".")[0].split("[")[0] for difference in differences(news["spec"], state["spec"])} == {
        field
    }
    # up: one write, after which the live route is the declaration, and nothing more changes
    updated = up.update(route_id, state, news).outs or {}
    assert emulator.state.count("PUT") == 1
    assert same_spec(_creating_incidents(), _live(emulator, route_id))
    assert configured_provider(emulator).diff(route_id, updated, news).changes is False


def test_a_field_added_in_the_dashboard_shows_after_refresh_and_goes_with_the_next_up(emulator: Emulator) -> None:
    route_id, state, inputs = _first_up(emulator, route_spec())
    emulator.state.edit_out_of_band(route_id, message_template=TEMPLATE)

    # Without a refresh, an `up` that changes the route stops rather than drop the field unseen.
    with pytest.raises(ConcurrentEditError, match=r"message_template.*pulumi refresh"):
        configured_provider(emulator).update(route_id, state, {"spec": route_spec(enabled=False)})

    refresh = configured_provider(emulator).read(route_id, state)
    refreshed = refresh.outs or {}
    assert refreshed["spec"]["message_template"] == TEMPLATE  # the state now records it...
    assert (refresh.inputs or {})["spec"]["message_template"] == TEMPLATE  # ...so the preview shows its removal

    up = configured_provider(emulator)
    assert up.diff(route_id, refreshed, inputs).changes is True
    updated = up.update(route_id, refreshed, inputs).outs or {}
    assert "message_template" not in emulator.state.routes[route_id].payload
    assert same_spec(route_spec(), _live(emulator, route_id))
    assert configured_provider(emulator).diff(route_id, updated, inputs).changes is False


def _literal(text: str) -> JsonDict:
    return _with_template(route_spec()) | {"message_template": {"value": {"literal": text}}}


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ('{"on": true}', '{"on": 1}', False),
        ('{"on": false}', '{"on": 0}', False),
        ('{"n": 1.0}', '{"n":1}', True),
        ('{"b": 2, "a": [true, 0]}', '{"a":[true,0],"b":2}', True),
        ('{"s": "<b>"}', '{"s":"\\u003cb\\u003e"}', True),
    ],
    ids=["true-is-not-1", "false-is-not-0", "1.0-is-1", "key-order-and-spacing", "escaped-html"],
)
def test_json_literals_compare_as_the_api_stores_them(first: str, second: str, same: bool) -> None:
    left, right = _literal(first), _literal(second)
    assert same_spec(left, right) is same
    # The field-by-field account (what a plan and a refusal name) agrees with the comparison.
    assert (differences(left, right) == []) is same


def test_a_dashboard_edit_of_true_to_1_is_a_change_for_diff_and_the_edit_check(emulator: Emulator) -> None:
    route_id, state, inputs = _first_up(emulator, _literal('{"notify": true}'))
    emulator.state.edit_out_of_band(route_id, message_template={"value": {"literal": '{"notify": 1}'}})
    with pytest.raises(ConcurrentEditError, match="message_template"):
        configured_provider(emulator).update(route_id, state, {"spec": {**inputs["spec"], "enabled": False}})
    refreshed = configured_provider(emulator).read(route_id, state).outs or {}
    assert configured_provider(emulator).diff(route_id, refreshed, inputs).changes is True


def test_a_literal_with_an_integral_float_round_trips_without_a_diff(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    route_id, state, inputs = _first_up(emulator, _literal('{"retries": 3.0}'))
    assert emulator.state.routes[route_id].payload["message_template"]["value"]["literal"] == '{"retries":3}'
    refreshed = provider.read(route_id, state).outs or {}
    assert provider.diff(route_id, refreshed, inputs).changes is False


def test_an_answer_that_differs_from_the_write_is_reported(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # A default the API would fill in that docs/api-behaviour.md does not know yet: every preview would
    # show it as a change, so the write says so rather than leave a mystery diff.
    stored = EmulatorState._stored

    def with_unknown_default(state: EmulatorState, payload: JsonDict) -> JsonDict:
        return {**stored(state, payload), "owning_team_ids": ["01EMUTEAMDEFAULT0000000000"]}

    monkeypatch.setattr(EmulatorState, "_stored", with_unknown_default)
    _, outs, _ = _first_up(emulator, route_spec())
    assert "owning_team_ids not as sent" in outs["answer_differs"] and "API_DEFAULTS" in outs["answer_differs"]
