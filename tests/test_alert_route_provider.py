"""The alert route provider against the emulator: what an on-call engineer would notice."""

from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest

from providers.incident_io import AlertRouteError, AlertRouteProvider, ConcurrentEditError
from providers.route_compare import same_spec
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, configured_provider, route_spec
from tests.emulator import Emulator, Fault
from tests.emulator.faults import echoing_error


def _as_engine_sends(value: Any) -> Any:
    """The engine hands every number to a dynamic provider as a float."""
    if isinstance(value, dict):
        return {key: _as_engine_sends(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_engine_sends(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _checked(
    provider: AlertRouteProvider, spec: dict[str, Any], olds: dict[str, Any] | None = None, **inputs: Any
) -> dict[str, Any]:
    """Check as the engine does: `olds` are the state's inputs of a route already managed, none for a new one."""
    result = provider.check(olds or {}, {"spec": _as_engine_sends(spec), **inputs})
    assert [(failure.property, failure.reason) for failure in result.failures] == []
    return result.inputs


def _create(provider: AlertRouteProvider, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = provider.create(_checked(provider, spec))
    return result.id, _outs(result.outs)


def _outs(outs: dict[str, Any] | None) -> dict[str, Any]:
    assert outs is not None
    return outs


def test_create_then_read_round_trips(provider: AlertRouteProvider, emulator: Emulator) -> None:
    spec = route_spec(incident_config={**route_spec()["incident_config"], "defer_time_seconds": 300})
    route_id, outs = _create(provider, spec)
    stored = emulator.state.routes[route_id]
    assert stored.payload["incident_config"]["defer_time_seconds"] == 300
    read = provider.read(route_id, outs)
    assert read.id == route_id
    assert read.outs == outs
    assert read.inputs == {"spec": outs["spec"]}
    assert same_spec(spec, read.outs["spec"])
    assert outs["version"] == 1


def test_no_diff_after_create_or_refresh(provider: AlertRouteProvider) -> None:
    inputs = _checked(provider, route_spec())
    route_id, outs = _create(provider, route_spec())
    assert provider.diff(route_id, outs, inputs).changes is False
    refreshed = _outs(provider.read(route_id, outs).outs)
    assert provider.diff(route_id, refreshed, inputs).changes is False
    # The next run's inputs come from the engine again, numbers as floats.
    assert provider.diff(route_id, refreshed, {"spec": _as_engine_sends(route_spec())}).changes is False


def test_out_of_band_edit_is_detected_and_reverted(provider: AlertRouteProvider, emulator: Emulator) -> None:
    inputs = _checked(provider, route_spec())
    route_id, outs = _create(provider, route_spec())
    emulator.state.edit_out_of_band(route_id, enabled=False)
    refreshed = provider.read(route_id, outs)
    assert _outs(refreshed.inputs)["spec"]["enabled"] is False  # the preview shows exactly this field
    diff = provider.diff(route_id, _outs(refreshed.outs), inputs)
    assert diff.changes is True and diff.replaces == []
    updated = provider.update(route_id, _outs(refreshed.outs), inputs)
    assert emulator.state.routes[route_id].payload["enabled"] is True
    assert _outs(updated.outs)["version"] == 3


def test_update_uses_detail_version_plus_one_while_list_is_stale(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    route_id, outs = _create(provider, route_spec())
    for _ in range(3):
        emulator.state.edit_out_of_band(route_id, enabled=True)
    refreshed = _outs(provider.read(route_id, outs).outs)
    assert emulator.state.listed_routes()[0]["version"] == 1
    new = _checked(provider, route_spec(enabled=False), outs)
    result = _outs(provider.update(route_id, refreshed, new).outs)
    assert result["version"] == 5 == emulator.state.routes[route_id].version
    assert emulator.state.count("PUT") == 1


def test_update_refuses_to_overwrite_an_edit_made_since_the_last_refresh(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    route_id, outs = _create(provider, route_spec())
    emulator.state.edit_out_of_band(route_id, name="Someone's rename")
    with pytest.raises(ConcurrentEditError, match=r"changed in incident\.io.*name.*pulumi refresh"):
        provider.update(route_id, outs, _checked(provider, route_spec(enabled=False), outs))
    assert emulator.state.routes[route_id].payload["name"] == "Someone's rename"
    assert emulator.state.count("PUT") == 0


def test_concurrent_edit_between_read_and_write_is_reported_not_overwritten(
    provider: AlertRouteProvider, emulator: Emulator
) -> None:
    route_id, outs = _create(provider, route_spec())
    emulator.inject(
        Fault(
            "PUT", f"/v2/alert_routes/{route_id}", before=lambda state: state.edit_out_of_band(route_id, name="Theirs")
        )
    )
    with pytest.raises(ConcurrentEditError) as raised:
        provider.update(route_id, outs, _checked(provider, route_spec(enabled=False), outs))
    message = str(raised.value)
    assert "edited by someone else" in message and "name" in message and "Nothing was overwritten" in message
    assert emulator.state.routes[route_id].payload["name"] == "Theirs"


def test_lost_put_answer_ends_in_success_not_a_version_error(provider: AlertRouteProvider, emulator: Emulator) -> None:
    route_id, outs = _create(provider, route_spec())
    emulator.inject(Fault("PUT", f"/v2/alert_routes/{route_id}", drop_after_acting=True))
    result = _outs(provider.update(route_id, outs, _checked(provider, route_spec(enabled=False), outs)).outs)
    assert result["spec"]["enabled"] is False
    assert emulator.state.routes[route_id].version == 2


def test_unchanged_spec_makes_no_write(provider: AlertRouteProvider, emulator: Emulator) -> None:
    route_id, outs = _create(provider, route_spec())
    provider.update(route_id, outs, _checked(provider, route_spec(), outs))
    assert emulator.state.count("PUT") == 0


@pytest.mark.parametrize(
    "fault",
    [
        Fault("POST", "/v2/alert_routes", drop_after_acting=True),
        Fault("POST", "/v2/alert_routes", status=503),
        Fault("POST", "/v2/alert_routes", status=429, headers={"Retry-After": "1"}),
    ],
    ids=["answer-lost-after-create", "503", "429-retry-after"],
)
def test_create_survives_faults_without_duplicates(
    provider: AlertRouteProvider, emulator: Emulator, fault: Fault
) -> None:
    emulator.inject(fault)
    route_id, _ = _create(provider, route_spec())
    assert list(emulator.state.routes) == [route_id]


def test_create_after_a_failed_run_adopts_the_identical_route(emulator: Emulator) -> None:
    existing = emulator.state.create_route(route_spec())
    route_id, _ = _create(configured_provider(emulator), route_spec())
    assert route_id == existing.id
    assert len(emulator.state.routes) == 1


def test_create_refuses_to_duplicate_a_differing_route_of_the_same_name(emulator: Emulator) -> None:
    existing = emulator.state.create_route(route_spec(enabled=False))
    refused = rf"already exists.*{existing.id}.*enabled.*`id:`"
    # At preview already: the check of a route new to the stack looks for one of that name.
    (failure,) = configured_provider(emulator).check({}, {"spec": route_spec()}).failures
    assert failure.property == "" and re.search(refused, failure.reason)  # not "spec": the engine would print it
    # And at `up`, should the route have appeared since the preview.
    with pytest.raises(AlertRouteError, match=refused):
        configured_provider(emulator).create({"spec": route_spec()})
    assert len(emulator.state.routes) == 1


def test_adopting_a_live_route_by_id_writes_nothing_and_has_no_diff(emulator: Emulator) -> None:
    existing = emulator.state.create_route(route_spec())
    provider = configured_provider(emulator)
    inputs = _checked(provider, route_spec(), adopt_id=existing.id)
    created = provider.create(inputs)
    assert created.id == existing.id
    assert emulator.state.count("POST", "/v2/alert_routes") == 0 and emulator.state.count("PUT") == 0
    assert provider.diff(existing.id, _outs(created.outs), inputs).changes is False


def test_adopting_a_route_that_says_something_else_changes_nothing(emulator: Emulator) -> None:
    existing = emulator.state.create_route(route_spec(enabled=False))
    provider = configured_provider(emulator)
    refused = rf"adopting {existing.id} would change it \(differs in enabled\)"
    (failure,) = provider.check({}, {"spec": route_spec(), "adopt_id": existing.id}).failures
    assert failure.property == "adopt_id" and re.search(refused, failure.reason)
    with pytest.raises(AlertRouteError, match=refused):
        provider.create({"spec": route_spec(), "adopt_id": existing.id})
    assert emulator.state.routes[existing.id].payload["enabled"] is False
    assert emulator.state.count("POST", "/v2/alert_routes") == 0 and emulator.state.count("PUT") == 0


def test_adopting_an_id_that_does_not_exist_says_what_to_do(provider: AlertRouteProvider) -> None:
    missing = "01KT0000000000000000000999"
    (failure,) = provider.check({}, {"spec": route_spec(), "adopt_id": missing}).failures
    assert re.search(r"no route with that id.*Remove `id:`", failure.reason)
    with pytest.raises(AlertRouteError, match=r"no route with that id.*Remove `id:`"):
        provider.create({"spec": route_spec(), "adopt_id": missing})


def test_route_deleted_outside_pulumi_reads_as_gone(provider: AlertRouteProvider, emulator: Emulator) -> None:
    route_id, outs = _create(provider, route_spec())
    emulator.state.delete_route(route_id)
    assert provider.read(route_id, outs).id == ""
    with pytest.raises(AlertRouteError, match=r"deleted outside Pulumi.*pulumi refresh"):
        provider.update(route_id, outs, _checked(provider, route_spec(enabled=False), outs))


def test_delete_twice_is_fine(provider: AlertRouteProvider, emulator: Emulator) -> None:
    route_id, outs = _create(provider, route_spec())
    later_run = configured_provider(emulator)
    later_run.delete(route_id, outs)
    later_run.delete(route_id, outs)
    assert emulator.state.routes == {}
    assert emulator.state.count("DELETE") == 2


def _invalid(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    spec = route_spec()
    mutate(spec)
    return spec


INVALID_SPECS = {
    "missing name": (_invalid(lambda s: s.pop("name")), "spec"),
    "name not a string": (_invalid(lambda s: s.update(name=7)), "spec.name"),
    "typo at top level": (_invalid(lambda s: s.update(enabeld=True)), "spec"),
    "enabled as string": (_invalid(lambda s: s.update(enabled="true")), "spec.enabled"),
    "alert_sources not a list": (_invalid(lambda s: s.update(alert_sources={})), "spec.alert_sources"),
    "source without id": (_invalid(lambda s: s["alert_sources"][0].pop("alert_source_id")), "spec.alert_sources[0]"),
    "typo in a condition": (
        _invalid(lambda s: s["alert_sources"][0]["condition_groups"][0]["conditions"][0].update(operaton="x")),
        "spec.alert_sources[0].condition_groups[0].conditions[0]",
    ),
    "fractional seconds": (
        _invalid(lambda s: s["incident_config"].update(defer_time_seconds=1.5)),
        "spec.incident_config.defer_time_seconds",
    ),
    "missing escalation_config": (_invalid(lambda s: s.pop("escalation_config")), "spec"),
    "bad merge strategy": (
        _invalid(
            lambda s: s["incident_template"].update(
                severity={"merge_strategy": "loudest-wins", "binding": {"value": {"literal": "x"}}}
            )
        ),
        "spec.incident_template.severity.merge_strategy",
    ),
    "server-owned version": (_invalid(lambda s: s.update(version=3)), "spec"),
    "slack target without visibility": (
        _invalid(lambda s: s["channel_config"][0]["slack_targets"].pop("channel_visibility")),
        "spec.channel_config[0].slack_targets",
    ),
    "spec not an object": ("Production Alerts", "spec"),
    "empty name": (_invalid(lambda s: s.update(name="  ")), "spec.name"),
    "attribute subject in brackets": (
        _invalid(
            lambda s: s["alert_sources"][0]["condition_groups"][0]["conditions"][0].update(
                subject='alert.attributes["severity"]'
            )
        ),
        "spec.alert_sources[0].condition_groups[0].conditions[0].subject",
    ),
    "attribute subject by name": (
        _invalid(
            lambda s: s["alert_sources"][0]["condition_groups"][0]["conditions"][0].update(
                subject="alert.attributes.severity"
            )
        ),
        "spec.alert_sources[0].condition_groups[0].conditions[0].subject",
    ),
    "operation the engine does not have": (
        _invalid(lambda s: s["alert_sources"][0]["condition_groups"][0]["conditions"][0].update(operation="is_blank")),
        "spec.alert_sources[0].condition_groups[0].conditions[0].operation",
    ),
    "is_not_set with a value": (
        _invalid(
            lambda s: s["alert_sources"][0]["condition_groups"][0]["conditions"][0].update(operation="is_not_set")
        ),
        "spec.alert_sources[0].condition_groups[0].conditions[0].param_bindings",
    ),
    "one_of without a value": (
        _invalid(lambda s: s["alert_sources"][0]["condition_groups"][0]["conditions"][0].update(param_bindings=[])),
        "spec.alert_sources[0].condition_groups[0].conditions[0].param_bindings",
    ),
}


@pytest.mark.parametrize(("spec", "path"), INVALID_SPECS.values(), ids=list(INVALID_SPECS))
def test_check_rejects_invalid_specs_before_any_request(emulator: Emulator, spec: Any, path: str) -> None:
    provider = configured_provider(emulator)
    failures = provider.check({}, {"spec": spec}).failures
    assert failures, "an invalid spec passed check"
    assert path in [failure.property for failure in failures]
    assert all(failure.reason for failure in failures)
    assert emulator.state.requests == []


def test_check_says_what_to_use_instead(emulator: Emulator) -> None:
    spec = route_spec()
    condition = spec["alert_sources"][0]["condition_groups"][0]["conditions"][0]
    condition.update(subject='alert.attributes["severity"]', operation="is_blank", param_bindings=[])
    reasons = {
        failure.property: failure.reason for failure in configured_provider(emulator).check({}, {"spec": spec}).failures
    }
    path = "spec.alert_sources[0].condition_groups[0].conditions[0]"
    assert "alert.attributes.<attribute id>" in reasons[f"{path}.subject"]
    assert "'is_not_set'" in reasons[f"{path}.operation"]


def test_check_reports_unknown_inputs_and_names_known_fields(emulator: Emulator) -> None:
    provider = configured_provider(emulator)
    failures = provider.check({}, {"spec": _invalid(lambda s: s.update(enabeld=True)), "specs": {}}).failures
    reasons = {failure.property: failure.reason for failure in failures}
    assert "specs" in reasons
    assert "enabeld" in reasons["spec"] and "enabled" in reasons["spec"]


def test_values_unknown_during_preview_pass_check(emulator: Emulator) -> None:
    from pulumi.runtime import rpc

    spec = route_spec()
    spec["alert_sources"][0]["alert_source_id"] = rpc.UNKNOWN
    assert configured_provider(emulator).check({}, {"spec": spec}).failures == []


def test_env_vars_are_the_fallback_when_config_is_absent(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_IO_TOKEN", CANARY_API_KEY)
    monkeypatch.setenv("INCIDENT_IO_API_URL", emulator.url)
    route_id, _ = _create(AlertRouteProvider(), route_spec())
    assert route_id in emulator.state.routes


def test_serialized_provider_holds_no_credentials(provider: AlertRouteProvider) -> None:
    provider.create(_checked(provider, route_spec()))  # configured and used: a session exists
    blob = pickle.dumps(provider)
    assert CANARY_API_KEY.encode() not in blob
    assert pickle.loads(blob)._configured == {}


def test_no_secret_in_errors_from_faults(provider: AlertRouteProvider, emulator: Emulator) -> None:
    token = emulator.state.get_source("01KHSNW67SZJ1KGWEMA9C0GPT7")["secret_token"]
    list(provider.api.list_sources())
    body = echoing_error(500, f"echo {CANARY_API_KEY} {token}")
    emulator.inject(Fault("POST", "/v2/alert_routes", times=5, status=500, body=body))
    with pytest.raises(AlertRouteError) as raised:
        _create(provider, route_spec())
    assert CANARY_API_KEY not in str(raised.value) and CANARY_TOKEN_PREFIX not in str(raised.value)
    assert emulator.state.routes == {}


def test_spec_sent_with_integers(provider: AlertRouteProvider, emulator: Emulator) -> None:
    spec = route_spec(incident_config={**route_spec()["incident_config"], "grouping_window_seconds": 600})
    route_id, _ = _create(provider, copy.deepcopy(spec))
    stored = json.dumps(emulator.state.routes[route_id].payload)
    assert '"grouping_window_seconds": 600' in stored
