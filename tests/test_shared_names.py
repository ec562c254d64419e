"""Two names in a stack file for one Slack channel or one escalation path: routing verdicts speak the
file's names. A route is shown with the name its own declaration uses; an expectation holds with either
name, since both are the same target. Under Pulumi's mocks (what `preview` and `up` decide), offline and
live through route-test.sh (what a pull request shows)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CANARY_API_KEY
from tests.emulator import Emulator
from tests.emulator.seed import ALERTS_CHANNEL, runbook_routes
from tests.stack_harness import OPERATOR_VALUES, PROJECT, ROOT, run_stack, stack_config
from tests.test_route_test_command import route_test_sh

WARNING_ALERT = {"source": "alertmanager", "attributes": {"severity": "warning"}}
DATABASE_ALERT = {"source": "planetscale", "attributes": {"branch": "main"}}


def _shared_names(config: dict[str, Any]) -> None:
    """`warnings` names the #alerts channel too, and `database_on_call` the Engineering On-Call path; the
    warnings route and the database route use the second names, their tests expect them."""
    config["slackChannels"]["warnings"] = config["slackChannels"]["alerts"]
    config["escalationPaths"]["database_on_call"] = {"name": "Engineering On-Call"}
    routes = {route["name"]: route for route in config["routes"]}
    routes["Production Warnings"]["slack"] = "warnings"
    routes["Database Alerts"]["escalation"] = "database_on_call"
    for test in config["routingTests"]:
        if test["alert"] == WARNING_ALERT:
            test["expect"]["slack"] = ["warnings"]
        if test["alert"] == DATABASE_ALERT:
            test["expect"]["pages"] = ["database_on_call"]


def _program_config(emulator: Emulator, change: Any = _shared_names) -> dict[str, Any]:
    values = {**OPERATOR_VALUES["production"], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    prefixed = stack_config("production", values)
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in prefixed.items()}
    change(config)
    return {key if ":" in key else f"{PROJECT}:{key}": value for key, value in config.items()}


def _rows(outputs: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]]:
    return {(row["source"], tuple(sorted(row["attributes"].items()))): row for row in outputs["routingMatrix"].values()}


def test_the_program_judges_and_shows_each_route_in_the_names_its_declaration_uses(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        result = run_stack("production", _program_config(emulator))
    assert [record.getMessage() for record in caplog.records if "routing coverage" in record.getMessage()] == []
    rows = _rows(result.outputs)
    assert rows[("alertmanager", (("severity", "warning"),))]["slack"] == ["warnings"]
    assert rows[("alertmanager", (("severity", "critical"),))]["slack"] == ["alerts"]
    assert rows[("planetscale", (("branch", "main"),))]["pages"] == ["database_on_call"]
    assert rows[("checkly", ())]["pages"] == ["engineering_on_call"]


def test_an_expectation_holds_with_either_name_of_a_target(emulator: Emulator) -> None:
    def expect_the_other_names(config: dict[str, Any]) -> None:
        _shared_names(config)
        for test in config["routingTests"]:
            if test["alert"] == WARNING_ALERT:
                test["expect"]["slack"] = ["alerts"]
            if test["alert"] == DATABASE_ALERT:
                test["expect"]["pages"] = ["engineering_on_call"]

    result = run_stack("production", _program_config(emulator, expect_the_other_names))
    assert "Production Warnings" in result.outputs["routeIds"]


def test_two_routes_posting_to_one_channel_under_two_names_post_twice(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    def second_route(config: dict[str, Any]) -> None:
        _shared_names(config)
        copy_ = copy.deepcopy(next(route for route in config["routes"] if route["name"] == "Production Warnings"))
        config["routes"].append({**copy_, "name": "Warnings Copy", "slack": "alerts"})
        for test in config["routingTests"]:
            if test["alert"] == WARNING_ALERT:
                del test["expect"]["routes"]

    with caplog.at_level(logging.WARNING):
        run_stack("production", _program_config(emulator, second_route))
    (warning,) = [record.getMessage() for record in caplog.records if "routing coverage (twice)" in record.getMessage()]
    assert "is posted to Slack alerts / warnings 2 times, by Production Warnings, Warnings Copy" in warning


# route-test.sh


@pytest.fixture
def shared_stack_file(tmp_path: Path) -> Path:
    document = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in document["config"].items()}
    config["slackChannels"] = {"alerts": ALERTS_CHANNEL}
    _shared_names(config)
    document["config"] = {key if ":" in key else f"{PROJECT}:{key}": value for key, value in config.items()}
    path = tmp_path / "Pulumi.production.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_route_test_offline_and_live_speak_the_declarations_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], emulator: Emulator, shared_stack_file: Path
) -> None:
    for route in runbook_routes():
        emulator.state.create_route(route)
    monkeypatch.setenv("INCIDENT_IO_TOKEN", CANARY_API_KEY)
    monkeypatch.setenv("INCIDENT_IO_API_URL", emulator.url)
    alert = ["source=alertmanager", "severity=warning"]

    for live in ([], ["--live"]):
        code, out, err = route_test_sh(
            monkeypatch, capsys, "--stack-file", shared_stack_file, *alert, *live, "--expect-slack", "warnings"
        )
        assert (code, out) == (0, "Production Warnings: slack warnings\n"), err
        code, _, _ = route_test_sh(
            monkeypatch, capsys, "--stack-file", shared_stack_file, *alert, *live, "--expect-slack", "alerts"
        )
        assert code == 0  # the same channel by its other name

    declared = route_test_sh(monkeypatch, capsys, "--stack-file", shared_stack_file, "--all", "--json")
    live_all = route_test_sh(monkeypatch, capsys, "--stack-file", shared_stack_file, "--all", "--json", "--live")
    assert declared[0] == live_all[0] == 0
    assert json.loads(live_all[1]) == json.loads(declared[1])
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", shared_stack_file, "--compare-live", "--json")
    assert code == 0 and json.loads(out)["summary"] == "No alert changes where it goes"
