"""The program resolves the stack config's names through the API and checks its key first: both
stacks under Pulumi's mocks, against the emulator."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import pulumi
import pytest

from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator
from tests.emulator.seed import ENGINEERING_ON_CALL, SEVERITY_ATTRIBUTE
from tests.stack_harness import OPERATOR_VALUES, PROJECT, StackRun, run_stack, stack_config

ROUTE = "pulumi-python:dynamic/incidentio:AlertRoute"


def _config(stack: str, emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    values = {**OPERATOR_VALUES[stack], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    config = stack_config(stack, values)
    for key, value in overrides.items():
        config[key if ":" in key else f"{PROJECT}:{key}"] = value
    return config


def _refused(stack: str, config: dict[str, Any]) -> tuple[str, StackRun]:
    run = StackRun()
    with pytest.raises(pulumi.RunError) as raised:
        run_stack(stack, config, run)
    return str(raised.value), run


def test_the_operator_sets_only_what_only_the_operator_can_know() -> None:
    assert {f"{group}.{key}" for group, values in OPERATOR_VALUES["production"].items() for key in values} == {
        "slackChannels.alerts",
        "aws.accountId",
        "externalSecret.storeName",
        "alertmanager.name",
    }


def test_names_resolve_with_one_list_per_kind_whatever_the_number_of_routes(emulator: Emulator) -> None:
    for index in range(30):  # more escalation paths than one page holds
        emulator.state.add_escalation_path(id_=f"01EMUESCALATIONFILLER{index:05d}", name=f"Team {index}")
    config = _config("production", emulator)
    many = [{**route, "name": f"{route['name']} {copy}"} for copy in range(4) for route in config[f"{PROJECT}:routes"]]
    config[f"{PROJECT}:routes"] = many
    del config[f"{PROJECT}:routingTests"]  # they name the stack file's routes, which this test replaces

    run = run_stack("production", config)

    assert len(run.of_type(ROUTE)) == 20
    assert emulator.state.count("GET", "/v1/identity") == 1
    assert emulator.state.count("GET", "/v2/alert_sources") == 1
    assert emulator.state.count("GET", "/v2/alert_attributes") == 1
    assert emulator.state.count("GET", "/v2/escalation_paths") == 2  # both pages, once
    subjects = {
        condition["subject"]
        for resource in run.of_type(ROUTE)
        for source in resource.plain()["spec"]["alert_sources"]
        for group in source["condition_groups"]
        for condition in group["conditions"]
    }
    assert f"alert.attributes.{SEVERITY_ATTRIBUTE}" in subjects


def test_an_id_is_accepted_wherever_a_name_is(emulator: Emulator) -> None:
    config = _config(
        "production",
        emulator,
        escalationPaths={"engineering_on_call": {"id": ENGINEERING_ON_CALL}},
        references={"severity": {"id": SEVERITY_ATTRIBUTE}, "branch": {"subject": "alert.title"}},
        slackChannels={"alerts": {"id": "C0EMUALERTS"}},
    )
    config[f"{PROJECT}:alertSources"]["axiom"] = {"id": "01EMU0000000000000000AXIOM"}
    routes = {
        resource.plain()["spec"]["name"]: resource.plain()["spec"]
        for resource in run_stack("production", config).of_type(ROUTE)
    }
    target = routes["Database Alerts"]["escalation_config"]["escalation_targets"][0]
    assert target["escalation_paths"]["array_value"][0]["literal"] == ENGINEERING_ON_CALL
    condition = routes["Database Alerts"]["alert_sources"][0]["condition_groups"][0]["conditions"][0]
    # A subject written out keeps the operation as written: its type is not known to the program.
    assert (condition["subject"], condition["operation"]) == ("alert.title", "one_of")


def test_missing_and_ambiguous_names_stop_the_program_before_any_resource(emulator: Emulator) -> None:
    emulator.state.add_escalation_path(id_="01EMUESCALATIONDUPLICATE00", name="Engineering On-Call")
    config = _config(
        "production", emulator, references={"severity": {"attribute": "Severity"}, "branch": {"attribute": "branch"}}
    )
    config[f"{PROJECT}:alertSources"]["axiom"] = {"name": "Axiom logs"}

    message, run = _refused("production", config)

    assert run.resources == []
    assert "references.severity: no alert attribute named 'Severity' in incident.io; candidates: 'severity'" in message
    ambiguous = re.search(
        r"escalationPaths\.engineering_on_call: 2 escalation paths named 'Engineering On-Call' "
        r"\((.*?)\); add `id:` to say which one",
        message,
    )
    assert ambiguous and set(ambiguous.group(1).split(", ")) == {ENGINEERING_ON_CALL, "01EMUESCALATIONDUPLICATE00"}
    assert "alertSources.axiom: no alert source named 'Axiom logs' in incident.io; candidates: 'Axiom'" in message
    assert CANARY_API_KEY not in message


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (("viewer",), r'lacks the scope\(s\) "Create and manage on-call resources"'),
        (("on_call_editor",), r'lacks the scope\(s\) "View data, like public incidents and organization settings"'),
    ],
    ids=["no-on-call-editor", "no-viewer"],
)
def test_a_key_without_the_runbook_scopes_is_stopped_first(
    emulator: Emulator, roles: tuple[str, ...], expected: str
) -> None:
    emulator.state.add_api_key(CANARY_API_KEY, roles=roles)

    message, run = _refused("staging", _config("staging", emulator))

    assert run.resources == []
    assert [path for _, path in emulator.state.requests] == ["/v1/identity"]
    assert re.search(expected, message)
    assert "https://app.incident.io/unkey/settings/api-keys" in message


def test_a_refused_key_is_stopped_first_without_being_shown(emulator: Emulator) -> None:
    wrong = "inc_wrong_key_0123456789abcdef"
    message, run = _refused("staging", _config("staging", emulator, **{"incidentio:apiKey": wrong}))
    assert run.resources == [] and [path for _, path in emulator.state.requests] == ["/v1/identity"]
    assert "API key was refused (HTTP 401)" in message and wrong not in message


def test_the_api_url_variable_points_the_program_at_another_api(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config("staging", emulator)
    del config["incidentio:apiUrl"]  # the committed stack files do not set it
    monkeypatch.setenv("INCIDENT_IO_API_URL", emulator.url)
    run = run_stack("staging", config)
    assert run.of_type(ROUTE) and emulator.state.count("GET", "/v1/identity") == 1


def test_an_api_url_that_is_not_a_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
    config = _config("staging", emulator)
    del config["incidentio:apiUrl"]
    monkeypatch.setenv("INCIDENT_IO_API_URL", "not-a-url")
    message, run = _refused("staging", config)
    assert run.resources == [] and "API URL in INCIDENT_IO_API_URL is not an http(s) URL" in message


def test_an_answer_that_differs_from_the_write_is_a_warning(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    run = StackRun(provider_outputs={ROUTE: {"answer_differs": "incident.io answered the write ... API_DEFAULTS"}})
    with caplog.at_level(logging.WARNING):
        run_stack("staging", _config("staging", emulator), run)
    assert any("API_DEFAULTS" in record.getMessage() for record in caplog.records)


def test_a_route_that_could_not_be_claimed_is_a_warning_not_a_failure(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    run = StackRun(provider_outputs={ROUTE: {"claimed": False, "claim_error": "could not be marked as managed"}})
    with caplog.at_level(logging.WARNING):
        run_stack("staging", _config("staging", emulator), run)
    assert run.outputs["routeIds"]
    assert any("could not be marked as managed" in record.getMessage() for record in caplog.records)


def test_an_unreachable_api_is_announced_and_its_setting_named(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with caplog.at_level(logging.WARNING):
        message, run = _refused("staging", _config("staging", emulator, **{"incidentio:apiUrl": closed}))
    retries = [record.getMessage() for record in caplog.records if "retrying" in record.getMessage()]
    assert retries and f"no answer (connection refused) from {closed}, retrying 1/5" in retries[0]
    assert run.resources == [] and "check `incidentio:apiUrl`" in message
    assert "HTTPConnectionPool" not in message and "Max retries" not in message
