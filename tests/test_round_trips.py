"""Round trips against the emulator in its default (real-API) behaviour, in both org modes, for every
route both stack files declare, for a route that sets every payload field, and (in an org on the new
grouping engine) for a route that says what only the v3 API can: after create, refresh, update and
adoption the next preview shows no change, and the state says exactly what was declared. Once
in-process, once through the real dynamic provider host over gRPC, as the engine drives it."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from providers.incident_io import AlertRouteProvider
from tests.conftest import configured_provider, in_both_org_modes, route_spec
from tests.emulator import Emulator, Fault
from tests.engine_harness import DIFF_NONE, DIFF_SOME, EngineHost, without_provider
from tests.routes import every_field_route, stack_routes, uncovered_fields, v3_settings_route

JsonDict = dict[str, Any]
EXPECTED_STACK_ROUTES = {
    "Production Alerts",
    "Production Warnings",
    "Unrouted Alerts",
    "Database Alerts",
    "Informational",
    "Staging Notifications",
}


def _declarations(emulator: Emulator) -> dict[str, JsonDict]:
    """Each route's resource inputs: its spec, and its `v3` settings where it has any."""
    specs = stack_routes(emulator)
    assert set(specs) == EXPECTED_STACK_ROUTES
    declarations = {name: {"spec": spec} for name, spec in {**specs, "Every field": every_field_route()}.items()}
    if emulator.state.org_migrated:
        spec, v3 = v3_settings_route()
        declarations["Every v3 setting"] = {"spec": spec, "v3": v3}
    return declarations


def writes(emulator: Emulator) -> int:
    return sum(
        emulator.state.count(method, f"/{version}/alert_routes")
        for method in ("POST", "PUT", "DELETE")
        for version in ("v2", "v3")
    )


def test_the_every_field_route_sets_every_field_of_the_payload() -> None:
    assert uncovered_fields(every_field_route()) == set()


def _toggled(spec: JsonDict) -> JsonDict:
    return {**spec, "enabled": not spec["enabled"]}


@in_both_org_modes
def test_round_trips_in_process(emulator: Emulator) -> None:
    for name, declared in _declarations(emulator).items():
        provider = configured_provider(emulator)
        checked = provider.check({}, declared)
        assert checked.failures == [], name
        inputs = checked.inputs

        created = provider.create(inputs)
        outs = created.outs or {}
        # The API's answer to the write means what was written: every echo and default it adds is known.
        assert outs["answer_differs"] == "", f"{name}: {outs['answer_differs']}"
        assert outs["spec"] == inputs["spec"], f"{name}: state after create differs from the declaration"
        assert outs.get("v3") == inputs.get("v3"), f"{name}: v3-only settings after create differ"
        assert provider.diff(created.id, outs, inputs).changes is False, f"{name}: create -> diff"

        refreshed = provider.read(created.id, outs)
        assert refreshed.outs is not None and refreshed.outs["spec"] == inputs["spec"], name
        assert refreshed.outs.get("v3") == inputs.get("v3") and refreshed.inputs == inputs, name
        assert provider.diff(created.id, refreshed.outs, inputs).changes is False, f"{name}: refresh -> diff"

        changed = provider.check(inputs, {**declared, "spec": _toggled(inputs["spec"])}).inputs
        assert provider.diff(created.id, refreshed.outs, changed).changes is True
        updated = provider.update(created.id, refreshed.outs, changed).outs or {}
        assert updated["answer_differs"] == "", f"{name}: {updated['answer_differs']}"
        assert provider.diff(created.id, updated, changed).changes is False, f"{name}: update -> diff"
        assert provider.update(created.id, updated, inputs).outs is not None  # and back

        before = writes(emulator)
        adopter = configured_provider(emulator)  # another run, which finds the route by its id
        adopted = adopter.create({**inputs, "adopt_id": created.id})
        assert adopted.id == created.id and writes(emulator) == before, f"{name}: adoption wrote"
        assert adopter.diff(created.id, adopted.outs or {}, inputs).changes is False, f"{name}: adopt -> diff"


def _plain(message: Any) -> JsonDict:
    return without_provider(json_format.MessageToDict(message))


@in_both_org_modes
def test_round_trips_through_the_engine_path(host: EngineHost, emulator: Emulator) -> None:
    for name, declared in _declarations(emulator).items():
        key = name.lower().replace(" ", "-")
        inputs, failures = host.check(key, {}, declared)
        assert failures == [], name
        inputs = without_provider(inputs)

        route_id, state, _ = host.create(key, inputs)
        state = without_provider(state)
        assert host.diff(key, route_id, state, inputs) == DIFF_NONE, f"{name}: create -> diff"

        read = host.read(key, route_id, state, inputs)
        refreshed, refreshed_inputs = _plain(read.properties), _plain(read.inputs)
        assert refreshed_inputs == inputs, f"{name}: refresh changed the inputs"
        assert host.diff(key, route_id, refreshed, inputs) == DIFF_NONE, f"{name}: refresh -> diff"

        changed, _ = host.check(key, refreshed_inputs, {**declared, "spec": _toggled(inputs["spec"])})
        changed = without_provider(changed)
        assert host.diff(key, route_id, refreshed, changed) == DIFF_SOME
        updated = without_provider(host.update(key, route_id, refreshed, changed))
        assert host.diff(key, route_id, updated, changed) == DIFF_NONE, f"{name}: update -> diff"
        host.update(key, route_id, updated, inputs)

        before = writes(emulator)
        adopted_id, adopted, _ = host.create(f"{key}-adopted", {**inputs, "adopt_id": route_id})
        assert adopted_id == route_id and writes(emulator) == before, f"{name}: adoption wrote"
        assert host.diff(key, route_id, without_provider(adopted), inputs) == DIFF_NONE, f"{name}: adopt -> diff"


def test_a_lost_create_answer_leaves_exactly_one_route(provider: AlertRouteProvider, emulator: Emulator) -> None:
    emulator.inject(Fault("POST", "/v2/alert_routes", drop_after_acting=True))
    spec = every_field_route()
    created = provider.create(provider.check({}, {"spec": spec}).inputs)
    assert list(emulator.state.routes) == [created.id]
    assert emulator.state.count("POST", "/v2/alert_routes") == 1


def test_a_save_that_changed_nothing_is_not_refused(provider: AlertRouteProvider, emulator: Emulator) -> None:
    inputs = provider.check({}, {"spec": route_spec()}).inputs
    created = provider.create(inputs)
    emulator.state.edit_out_of_band(created.id)  # someone pressed save: new version, same content
    changed = provider.check(inputs, {"spec": route_spec(enabled=False)}).inputs
    updated = provider.update(created.id, created.outs or {}, changed).outs or {}
    assert updated["version"] == 3 and emulator.state.routes[created.id].payload["enabled"] is False


def test_a_change_outside_the_declaration_is_not_overwritten(provider: AlertRouteProvider, emulator: Emulator) -> None:
    inputs = provider.check({}, {"spec": route_spec()}).inputs
    created = provider.create(inputs)
    template = {"value": {"literal": '{"content": "paged by {{ alert.title }}"}'}}
    emulator.state.edit_out_of_band(created.id, message_template=template)  # a field the stack does not declare
    changed = provider.check(inputs, {"spec": route_spec(enabled=False)}).inputs
    with pytest.raises(Exception, match=r"changed in incident\.io since Pulumi last read it.*message_template"):
        provider.update(created.id, created.outs or {}, changed)
    assert emulator.state.routes[created.id].payload["message_template"] == template
