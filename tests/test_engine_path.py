"""The provider as the Pulumi engine runs it: the real dynamic provider host, over gRPC."""

from __future__ import annotations

import base64
import json
import pickletools

import grpc
import pytest
from google.protobuf import json_format

from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, route_spec
from tests.emulator import Emulator, Fault
from tests.emulator.faults import echoing_error
from tests.engine_harness import DIFF_NONE, DIFF_SOME, EngineHost, provider_blob, without_provider

DOCUMENTED_PROVIDER = ("providers.incident_io", "AlertRouteProvider")


def _assert_no_canary(text: str) -> None:
    assert CANARY_API_KEY not in text
    assert CANARY_TOKEN_PREFIX not in text


def test_full_lifecycle_through_the_engine_path(host: EngineHost, emulator: Emulator) -> None:
    spec = route_spec()
    replies: list[str] = []

    # preview: Check + (nothing to diff yet)
    inputs, failures = host.check("warnings", {}, {"spec": spec})
    assert failures == []
    # up: Create
    route_id, state, reply = host.create("warnings", without_provider(inputs))
    replies.append(json_format.MessageToJson(reply))
    assert list(emulator.state.routes) == [route_id]
    assert emulator.state.routes[route_id].payload["name"] == "Production Warnings"
    # preview again: no change
    assert host.diff("warnings", route_id, without_provider(state), without_provider(inputs)) == DIFF_NONE
    # refresh: Read returns live outputs and inputs
    read = host.read("warnings", route_id, without_provider(state), without_provider(inputs))
    replies.append(json_format.MessageToJson(read))
    assert read.id == route_id
    # drift out of band, refresh, then a changed up: Diff + Update
    emulator.state.edit_out_of_band(route_id, enabled=False)
    refreshed = host.read("warnings", route_id, without_provider(state), without_provider(inputs))
    refreshed_state = without_provider(json_format.MessageToDict(refreshed.properties))
    new_inputs, _ = host.check("warnings", without_provider(inputs), {"spec": route_spec(name="Prod Warnings")})
    assert host.diff("warnings", route_id, refreshed_state, without_provider(new_inputs)) == DIFF_SOME
    updated = host.update("warnings", route_id, refreshed_state, without_provider(new_inputs))
    stored = emulator.state.routes[route_id]
    assert (stored.payload["name"], stored.payload["enabled"], stored.version) == ("Prod Warnings", True, 3)
    assert updated["version"] == 3
    # Resource.get: Read with the provider blob in the inputs, and no state
    fetched = host.read("fetched", route_id, None, {})
    assert fetched.id == route_id
    assert json_format.MessageToDict(fetched.inputs)["spec"]["name"] == "Prod Warnings"
    # destroy, twice: each its own run, so its own host
    for _ in range(2):
        destroy = EngineHost({"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url})
        try:
            destroy.delete("warnings", route_id, without_provider(updated))
            replies.append(destroy.logs())
        finally:
            destroy.close()
    assert emulator.state.routes == {}

    for text in [*replies, host.logs()]:
        _assert_no_canary(text)


def test_integers_reach_the_api_as_integers(host: EngineHost, emulator: Emulator) -> None:
    spec = route_spec(incident_config={**route_spec()["incident_config"], "defer_time_seconds": 300})
    inputs, _ = host.check("deferred", {}, {"spec": spec})
    route_id, _, _ = host.create("deferred", without_provider(inputs))
    assert emulator.state.routes[route_id].payload["incident_config"]["defer_time_seconds"] == 300


def test_check_failures_name_the_property_before_any_request(host: EngineHost, emulator: Emulator) -> None:
    bad = route_spec()
    bad["alert_sources"][0]["alert_source_idd"] = bad["alert_sources"][0].pop("alert_source_id")
    _, failures = host.check("bad", {}, {"spec": bad})
    assert {failure.property for failure in failures} == {"spec.alert_sources[0]"}
    assert emulator.state.requests == []


def test_errors_carry_no_credentials(host: EngineHost, emulator: Emulator) -> None:
    echo = echoing_error(500, f"echo {CANARY_API_KEY}")
    emulator.inject(Fault("POST", "/v2/alert_routes", times=3, status=500, body=echo))
    inputs, _ = host.check("failing", {}, {"spec": route_spec()})
    with pytest.raises(grpc.RpcError) as raised:
        host.create("failing", without_provider(inputs))
    details = raised.value.details() or ""
    assert "no answer from incident.io twice" in details
    _assert_no_canary(details)
    _assert_no_canary(host.logs())


def test_configure_is_the_only_credential_source(emulator: Emulator) -> None:
    engine = EngineHost({"incidentio:apiUrl": emulator.url})  # no key in config, none in the environment
    try:
        inputs, _ = engine.check("nokey", {}, {"spec": route_spec()})
        with pytest.raises(grpc.RpcError) as raised:
            engine.create("nokey", without_provider(inputs))
        assert "incidentio:apiKey" in (raised.value.details() or "")
        assert emulator.state.requests == []
    finally:
        engine.close()


def test_the_engine_cannot_import_a_dynamic_resource_so_routes_are_adopted_instead(
    host: EngineHost, emulator: Emulator
) -> None:
    """The engine imports (`import_`, `pulumi import`) with a Read that carries only the id, and the
    dynamic provider host cannot find the provider without its blob (pulumi/pulumi#16175). This is why
    the stack adopts live routes through `adopt_id` in Create. Here, the Read as the engine sends it, to
    the host directly; tests/e2e/test_refusals.py
    (test_the_engines_import_of_a_dynamic_route_fails_so_routes_are_adopted_instead) shows the real CLI
    failing the same way for both `pulumi import` and `import_` (KeyError '__provider'). If Pulumi fixes
    it, these tests fail: then `import_` becomes an option again."""
    existing = emulator.state.create_route(route_spec())
    with pytest.raises(grpc.RpcError) as raised:
        host.read_as_an_import("imported", existing.id)
    assert "__provider" in (raised.value.details() or "")
    inputs, _ = host.check("adopted", {}, {"spec": route_spec()})
    adopted_id, _, _ = host.create("adopted", {**without_provider(inputs), "adopt_id": existing.id})
    assert adopted_id == existing.id and emulator.state.count("POST", "/v2/alert_routes") == 0


def test_serialized_provider_is_a_small_module_reference() -> None:
    blob = provider_blob()
    raw = base64.b64decode(blob)
    globals_referenced = [arg for op, arg, _ in pickletools.genops(raw) if op.name == "SHORT_BINUNICODE"]
    assert tuple(globals_referenced) == DOCUMENTED_PROVIDER, (
        "the provider's module path is recorded in every stack's state; moving it breaks refresh and delete"
    )
    assert len(blob) < 100
    assert CANARY_API_KEY not in json.dumps(blob)
