"""One route, one owner: edits to a route's key, name or id never leave incident.io without the
route, and what `up` does is what the preview said. Each `pulumi up` is its own dynamic provider
host, driven in the engine's order: Check and Create of a resource new to the stack, then, once
every create is done, Delete of the resources the program no longer declares."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from providers.alert_route_spec import from_live
from providers.ownership import Declaration
from providers.route_compare import same_spec
from tests.conftest import engine_run, route_spec
from tests.emulator import Emulator
from tests.engine_harness import DIFF_SOME, without_provider

JsonDict = dict[str, Any]


def _created(emulator: Emulator, key: str, spec: JsonDict) -> tuple[str, JsonDict, JsonDict]:
    """A first `up` that creates the route under `key`: its id, state and inputs."""
    with engine_run(emulator) as up:
        inputs, failures = up.check(key, {}, {"spec": spec})
        assert failures == []
        route_id, state, _ = up.create(key, without_provider(inputs))
    return route_id, without_provider(state), without_provider(inputs)


def _writes(emulator: Emulator) -> dict[str, int]:
    return {method: emulator.state.count(method, "/v2/alert_routes") for method in ("POST", "PUT", "DELETE")}


def test_a_changed_key_keeps_the_route_and_the_preview_says_it_is_adopted(emulator: Emulator) -> None:
    route_id, old_state, _ = _created(emulator, "production-warnings", route_spec())
    before = _writes(emulator)

    with engine_run(emulator) as up:
        # preview and up: the resource under its new key is new to the stack
        inputs, failures = up.check("warnings", {}, {"spec": route_spec()})
        assert failures == []
        assert without_provider(inputs)["adopt_id"] == route_id  # what the preview shows for the create
        new_id, _, _ = up.create("warnings", without_provider(inputs))
        # then the engine deletes the resource of the old key
        up.delete("production-warnings", route_id, old_state)

    assert new_id == route_id
    assert list(emulator.state.routes) == [route_id]
    assert same_spec(route_spec(), from_live(emulator.state.render_route(emulator.state.routes[route_id])))
    assert _writes(emulator) == before  # no create, no update, no delete


def test_a_changed_name_and_key_replace_the_route_without_a_moment_with_none(emulator: Emulator) -> None:
    old_id, old_state, _ = _created(emulator, "production-warnings", route_spec())
    renamed = route_spec(name="Warnings (production)")

    with engine_run(emulator) as up:
        inputs, failures = up.check("warnings-production", {}, {"spec": renamed})
        assert failures == [] and "adopt_id" not in without_provider(inputs)
        new_id, _, _ = up.create("warnings-production", without_provider(inputs))
        assert set(emulator.state.routes) == {old_id, new_id}  # both route alerts until the old one goes
        up.delete("production-warnings", old_id, old_state)

    assert list(emulator.state.routes) == [new_id]
    assert emulator.state.routes[new_id].payload["name"] == "Warnings (production)"


def test_delete_removes_a_route_no_create_of_the_run_took_over(emulator: Emulator) -> None:
    route_id, state, _ = _created(emulator, "production-warnings", route_spec())
    with engine_run(emulator) as destroy:
        destroy.delete("production-warnings", route_id, state)
    assert emulator.state.routes == {}


def test_a_changed_id_is_a_replacement_the_preview_shows(emulator: Emulator) -> None:
    route_id, state, inputs = _created(emulator, "production-warnings", route_spec())
    duplicate = emulator.state.create_route(route_spec())  # the same route made again by hand

    with engine_run(emulator) as up:
        news, failures = up.check("production-warnings", inputs, {"spec": route_spec(), "adopt_id": duplicate.id})
        assert failures == []
        response = up.stub.Diff(up.diff_request("production-warnings", route_id, state, without_provider(news)))
        assert response.changes == DIFF_SOME and list(response.replaces) == ["adopt_id"]
        assert not response.deleteBeforeReplace  # the new owner first, then the old route goes
        adopted_id, _, _ = up.create("production-warnings", without_provider(news))
        up.delete("production-warnings", route_id, state)

    assert adopted_id == duplicate.id and list(emulator.state.routes) == [duplicate.id]


def test_the_same_id_as_the_managed_route_is_no_change(emulator: Emulator) -> None:
    route_id, state, inputs = _created(emulator, "production-warnings", route_spec())
    with engine_run(emulator) as up:
        news, _ = up.check("production-warnings", inputs, {"spec": route_spec(), "adopt_id": route_id})
        response = up.stub.Diff(up.diff_request("production-warnings", route_id, state, without_provider(news)))
    assert response.changes != DIFF_SOME and list(response.replaces) == []


def test_an_id_naming_a_route_that_says_something_else_stops_the_preview(emulator: Emulator) -> None:
    route_id, state, inputs = _created(emulator, "production-warnings", route_spec())
    other = emulator.state.create_route(route_spec(name="Someone else's route"))

    with engine_run(emulator) as preview:
        news, _ = preview.check("production-warnings", inputs, {"spec": route_spec(), "adopt_id": other.id})
        with pytest.raises(grpc.RpcError) as raised:
            preview.diff("production-warnings", route_id, state, without_provider(news))
    assert "would change it" in (raised.value.details() or "")
    # And should `up` meet it anyway, its create fails before the engine deletes the replaced route.
    with engine_run(emulator) as up, pytest.raises(grpc.RpcError):
        up.create("production-warnings", without_provider(news))
    assert set(emulator.state.routes) == {route_id, other.id}


def test_a_route_taken_over_by_a_new_key_survives_a_run_that_failed_before_its_delete(emulator: Emulator) -> None:
    route_id, old_state, _ = _created(emulator, "production-warnings", route_spec())
    with engine_run(emulator) as failed_up:  # adopts under the new key, then stops before any delete
        inputs, _ = failed_up.check("warnings", {}, {"spec": route_spec()})
        failed_up.create("warnings", without_provider(inputs))

    with engine_run(emulator) as next_up:  # checks what the program declares, then deletes the old key
        next_up.check("warnings", without_provider(inputs), {"spec": route_spec()})
        next_up.delete("production-warnings", route_id, old_state)

    assert list(emulator.state.routes) == [route_id]
    assert emulator.state.count("DELETE") == 0


def test_a_route_the_program_no_longer_declares_is_deleted_even_after_a_refresh(emulator: Emulator) -> None:
    route_id, state, inputs = _created(emulator, "production-warnings", route_spec())
    with engine_run(emulator) as up:  # `up --refresh`: the refresh reads and diffs every resource first
        read = up.read("production-warnings", route_id, state, inputs)
        assert read.id == route_id
        up.diff("production-warnings", route_id, state, inputs)
        up.delete("production-warnings", route_id, state)
    assert emulator.state.routes == {}


@pytest.mark.parametrize("failed_runs", [1, 2, 3])
def test_a_route_taken_over_by_a_new_key_survives_any_number_of_failed_runs(
    emulator: Emulator, failed_runs: int
) -> None:
    route_id, old_state, _ = _created(emulator, "production-warnings", route_spec())
    inputs: JsonDict = {}
    for _ in range(failed_runs):  # each takes the route over under the new key, or keeps it, and stops
        with engine_run(emulator) as failed_up:
            inputs, failures = failed_up.check("warnings", without_provider(inputs), {"spec": route_spec()})
            assert failures == [] and without_provider(inputs)["adopt_id"] == route_id, "recorded in the inputs"
            if not emulator.state.managed_resources:
                failed_up.create("warnings", without_provider(inputs))

    with engine_run(emulator) as next_up:
        next_up.check("warnings", without_provider(inputs), {"spec": route_spec()})
        next_up.delete("production-warnings", route_id, old_state)

    assert list(emulator.state.routes) == [route_id]
    assert emulator.state.count("DELETE") == 0


PRODUCTION = Declaration("stack 'production' (Pulumi.production.yaml)", "Production Warnings")


def test_a_dropped_route_another_stack_declares_by_name_is_handed_over(emulator: Emulator) -> None:
    route_id, state, _ = _created(emulator, "production-warnings", route_spec())
    with engine_run(emulator) as up:
        up.declare_elsewhere(PRODUCTION)
        up.delete("production-warnings", route_id, state)
    assert list(emulator.state.routes) == [route_id] and emulator.state.count("DELETE") == 0


def test_a_dropped_route_another_stack_pins_by_id_is_handed_over_whatever_its_name(emulator: Emulator) -> None:
    route_id, state, _ = _created(emulator, "production-warnings", route_spec())
    with engine_run(emulator) as up:
        up.declare_elsewhere(Declaration(PRODUCTION.owner, "Renamed there", route_id))
        up.delete("production-warnings", route_id, state)
    assert list(emulator.state.routes) == [route_id]


def test_a_dropped_route_is_deleted_when_the_other_stack_pins_another_route_of_its_name(emulator: Emulator) -> None:
    route_id, state, _ = _created(emulator, "production-warnings", route_spec())
    theirs = emulator.state.create_route(route_spec())
    with engine_run(emulator) as up:
        up.declare_elsewhere(Declaration(PRODUCTION.owner, PRODUCTION.name, theirs.id))
        up.delete("production-warnings", route_id, state)
    assert list(emulator.state.routes) == [theirs.id]


def test_a_dropped_route_whose_name_two_live_routes_carry_is_neither_deleted_nor_handed_over(
    emulator: Emulator,
) -> None:
    route_id, state, _ = _created(emulator, "production-warnings", route_spec())
    copy = emulator.state.create_route(route_spec(enabled=False))
    with engine_run(emulator) as up:
        up.declare_elsewhere(PRODUCTION)
        with pytest.raises(grpc.RpcError) as raised:
            up.delete("production-warnings", route_id, state)
    message = raised.value.details() or ""
    assert f"2 live alert routes are named 'Production Warnings': {route_id}, {copy.id}" in message
    assert "differs from it in enabled" in message and "Set `id:` in stack 'production'" in message
    assert set(emulator.state.routes) == {route_id, copy.id}


def test_a_route_another_stack_declares_is_never_adopted(emulator: Emulator) -> None:
    theirs = emulator.state.create_route(route_spec())
    with engine_run(emulator) as preview:
        preview.declare_elsewhere(Declaration(PRODUCTION.owner, "Warnings", theirs.id))
        _, failures = preview.check("production-warnings", {}, {"spec": route_spec()})
    (failure,) = failures
    assert f"is declared by {PRODUCTION.owner}" in failure.reason and theirs.id in failure.reason
    assert emulator.state.count("POST") == 0


def test_an_error_raised_on_purpose_reaches_the_engine_without_a_traceback(emulator: Emulator) -> None:
    route_id, state, inputs = _created(emulator, "production-warnings", route_spec())
    emulator.state.edit_out_of_band(route_id, enabled=False)
    with engine_run(emulator) as up, pytest.raises(grpc.RpcError) as raised:
        up.update("production-warnings", route_id, state, {**inputs, "spec": route_spec(name="Warnings")})
    message = raised.value.details() or ""
    assert message.startswith("providers.incident_io.ConcurrentEditError: alert route 'Warnings' (live name")
    assert "Traceback" not in message and "File " not in message
