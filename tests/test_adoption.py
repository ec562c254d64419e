"""Adopting today's org: the runbook's six routes, live in incident.io as the dashboard stores them,
are exported, pasted into the two stack files, compiled by the program, and taken over through the
real dynamic provider host with no change; the next `up` writes nothing."""

from __future__ import annotations

from typing import Any

import yaml
from google.protobuf import json_format

from tests.commands import ROOT, run_command
from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator
from tests.emulator.seed import runbook_routes
from tests.engine_harness import DIFF_NONE, EngineHost, without_provider
from tests.stack_harness import OPERATOR_VALUES, run_stack, stack_config

ROUTE = "pulumi-python:dynamic/incidentio:AlertRoute"
STACK_ROUTES = {
    "production": "^(Production|Unrouted|Database|Informational)",
    "staging": "^Staging",
}


def _route_writes(emulator: Emulator) -> int:
    return sum(emulator.state.count(method, "/v2/alert_routes") for method in ("POST", "PUT", "DELETE"))


def _exported_stack(emulator: Emulator, stack: str) -> dict[str, Any]:
    """The stack file with the export pasted over its route keys, plus the operator's values."""
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    result = run_command(
        "export-incident-io.sh", "--stack-file", stack_file, "--match", STACK_ROUTES[stack], emulator=emulator
    )
    assert result.returncode == 0, result.stderr
    exported = yaml.safe_load(result.stdout)["config"]
    assert "raw" not in str(exported), "the runbook's routes fit the high-level form"
    operator = {key: value for key, value in OPERATOR_VALUES[stack].items() if key != "slackChannels"}
    values = {**operator, "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    return {**stack_config(stack, values), **exported}


def test_the_six_live_routes_are_adopted_with_no_change(emulator: Emulator) -> None:
    live_ids: dict[str, str] = {}
    for route in runbook_routes():
        stored = emulator.state.create_route(route)
        live_ids[stored.payload["name"]] = stored.id
    emulator.state.requests.clear()

    declared: list[tuple[str, dict[str, Any]]] = []
    for stack in STACK_ROUTES:
        config = _exported_stack(emulator, stack)
        run = run_stack(stack, config)
        declared += [(resource.name, resource.plain()) for resource in run.of_type(ROUTE)]
    assert sorted(inputs["adopt_id"] for _, inputs in declared) == sorted(live_ids.values())

    host = EngineHost({"incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url})
    try:
        states: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
        for name, program_inputs in declared:
            news = {key: program_inputs[key] for key in ("spec", "adopt_id")}
            inputs, failures = host.check(name, {}, news)
            assert failures == [], name
            inputs = without_provider(inputs)
            route_id, state, _ = host.create(name, inputs)  # `up`: adopts, writes no route
            assert route_id == inputs["adopt_id"]
            state = without_provider(state)
            assert state["claimed"] is True
            assert host.diff(name, route_id, state, inputs) == DIFF_NONE, f"{name}: adopt -> diff"
            states[name] = (route_id, state, inputs)
        assert _route_writes(emulator) == 0
        assert emulator.state.count("POST", "/v2/managed_resources") == len(declared)

        # The next `up` (and a `preview --refresh`): nothing to change, nothing written.
        for name, (route_id, state, inputs) in states.items():
            checked, _ = host.check(name, inputs, {key: inputs[key] for key in ("spec", "adopt_id")})
            assert host.diff(name, route_id, state, without_provider(checked)) == DIFF_NONE, name
            refreshed = host.read(name, route_id, state, inputs)
            refreshed_state = without_provider(json_format.MessageToDict(refreshed.properties))
            assert host.diff(name, route_id, refreshed_state, inputs) == DIFF_NONE, f"{name}: refresh -> diff"
        assert _route_writes(emulator) == 0
        assert emulator.state.count("POST", "/v2/managed_resources") == len(declared)
    finally:
        host.close()
