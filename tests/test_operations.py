"""backup, restore and export: run through their contrib/*.sh entry points against the emulator."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.alert_route_spec import from_live
from providers.route_compare import same_spec
from tests.commands import ROOT, run_command
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX, route_spec
from tests.emulator import Emulator, Fault
from tests.emulator.seed import ALERTS_CHANNEL, runbook_routes
from tests.emulator.state import EmulatorState

COMMANDS = ["backup-incident-io.sh", "restore-incident-io.sh", "export-incident-io.sh"]


def seed_routes(state: EmulatorState, count: int) -> list[str]:
    return [state.create_route(route_spec(f"Route {index:03d}")).id for index in range(count)]


def live_specs(state: EmulatorState) -> dict[str, dict[str, Any]]:
    return {route_id: from_live(state.render_route(route)) for route_id, route in state.routes.items()}


def tree(directory: Path) -> dict[str, bytes]:
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    return {str(path.relative_to(directory)): path.read_bytes() for path in files}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str, emulator: Emulator) -> None:
    result = run_command(command, "--help", emulator=emulator)
    assert result.returncode == 0
    assert "usage:" in result.stdout and "Exit codes" in result.stdout and "INCIDENT_IO_TOKEN" in result.stdout
    assert emulator.state.requests == []


# Backup


def test_backup_writes_every_route_in_detail_across_pages(emulator: Emulator, tmp_path: Path) -> None:
    ids = seed_routes(emulator.state, 130)  # more than one page of 100
    edited = emulator.state.edit_out_of_band(ids[7], enabled=False)  # list version stays stale
    target = tmp_path / "backup"
    result = run_command("backup-incident-io.sh", target, emulator=emulator)
    assert result.returncode == 0, result.stderr
    index = json.loads((target / "index.json").read_text())
    assert sorted(entry["id"] for entry in index["alert_routes"]) == sorted(ids)
    assert emulator.state.count("GET", "/v2/alert_routes/") == 130
    saved = json.loads((target / "alert_routes" / f"{edited.id}.json").read_text())
    assert saved["version"] == edited.version == 2 and saved["enabled"] is False
    assert "route 130 of 130: Route 129" in result.stderr
    assert len(index["alert_sources"]) == len(emulator.state.sources)


def test_backup_is_deterministic_so_commits_diff_cleanly(emulator: Emulator, tmp_path: Path) -> None:
    ids = seed_routes(emulator.state, 3)
    target = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", target, emulator=emulator).returncode == 0
    first = tree(target)
    assert run_command("backup-incident-io.sh", target, emulator=emulator).returncode == 0
    assert tree(target) == first
    text = first[f"alert_routes/{ids[0]}.json"].decode()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    emulator.state.edit_out_of_band(ids[1], name="Renamed")
    assert run_command("backup-incident-io.sh", target, emulator=emulator).returncode == 0
    changed = {name for name, data in tree(target).items() if first.get(name) != data}
    # The route's file changed, and in an org on the new grouping engine its v3 answer's too; no other.
    assert changed == {"index.json", f"alert_routes/{ids[1]}.json", f"alert_routes_v3/{ids[1]}.json"}


def test_backup_never_writes_a_secret(emulator: Emulator, tmp_path: Path) -> None:
    seed_routes(emulator.state, 2)
    target = tmp_path / "backup"
    result = run_command("backup-incident-io.sh", target, emulator=emulator)
    assert result.returncode == 0
    everything = b"".join(tree(target).values()).decode() + result.stdout + result.stderr
    assert CANARY_TOKEN_PREFIX not in everything and CANARY_API_KEY not in everything
    for source_file in (target / "alert_sources").iterdir():
        source = json.loads(source_file.read_text())
        assert source["secret_token"] == "[REDACTED]"
        if source["source_type"] == "email":
            assert source["email_options"]["email_address"] == "[REDACTED]"
        assert source["alert_events_url"].startswith("https://api.incident.io/v2/alert_events/")


def test_failed_backup_leaves_the_previous_one_untouched(emulator: Emulator, tmp_path: Path) -> None:
    ids = seed_routes(emulator.state, 5)
    target = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", target, emulator=emulator).returncode == 0
    before = tree(target)
    emulator.state.edit_out_of_band(ids[0], enabled=False)
    # The key is revoked while the backup runs: the third route's detail request is refused.
    emulator.inject(Fault("GET", f"/v2/alert_routes/{ids[2]}", status=401))
    result = run_command("backup-incident-io.sh", target, emulator=emulator)
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr and "API key" in result.stderr
    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["backup"]  # no temporary leftovers


def test_backup_refuses_to_replace_a_directory_it_did_not_write(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("mine")
    result = run_command("backup-incident-io.sh", tmp_path, emulator=emulator)
    assert result.returncode == 2
    assert "notes.md" in result.stderr and "refusing" in result.stderr
    assert (tmp_path / "notes.md").read_text() == "mine"
    assert emulator.state.requests == []


def test_backup_without_a_token_says_which_variable(emulator: Emulator, tmp_path: Path) -> None:
    result = run_command("backup-incident-io.sh", tmp_path / "b", emulator=emulator, api_key="")
    assert result.returncode == 2 and "INCIDENT_IO_TOKEN is not set" in result.stderr


# Restore


@pytest.fixture
def backed_up(emulator: Emulator, tmp_path: Path) -> tuple[Path, list[str]]:
    """Three routes and a backup of them; the backup's requests are forgotten."""
    ids = seed_routes(emulator.state, 3)
    target = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", target, emulator=emulator).returncode == 0
    emulator.state.requests.clear()
    return target, ids


def writes(state: EmulatorState) -> int:
    return sum(state.count(method) for method in ("POST", "PUT", "DELETE"))


def damage(state: EmulatorState, ids: list[str]) -> str:
    """Someone edits one route and deletes another. Returns the deleted route's name."""
    warning_binding = [{"array_value": [{"literal": "critical"}]}]
    spec = route_spec()
    spec["alert_sources"][0]["condition_groups"][0]["conditions"][0]["param_bindings"] = warning_binding
    state.edit_out_of_band(ids[0], enabled=False, alert_sources=spec["alert_sources"])
    name = str(state.routes[ids[2]].payload["name"])
    state.delete_route(ids[2])
    return name


def test_restore_shows_each_change_then_applies_it_when_confirmed(
    emulator: Emulator, backed_up: tuple[Path, list[str]]
) -> None:
    directory, ids = backed_up
    wanted = live_specs(emulator.state)
    deleted_name = damage(emulator.state, ids)
    version_before = emulator.state.routes[ids[0]].version

    result = run_command("restore-incident-io.sh", directory, emulator=emulator, stdin="yes\n")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"~ Route 000 ({ids[0]}): update, version {version_before} -> {version_before + 1}" in out
    assert "    enabled: false -> true" in out
    literal = "alert_sources[0].condition_groups[0].conditions[0].param_bindings[0].array_value[0].literal"
    assert f'    {literal}: "critical" -> "warning"' in out
    assert f"= Route 001 ({ids[1]}): unchanged" in out
    assert f"+ {deleted_name}: deleted since the backup" in out
    assert "Only 'yes' is accepted" in result.stderr
    assert emulator.state.routes[ids[0]].version == version_before + 1
    recreated = [route for route in emulator.state.routes.values() if route.payload["name"] == deleted_name]
    assert len(recreated) == 1 and recreated[0].id != ids[2]
    assert f"{ids[2]} -> {recreated[0].id}" in out and "pulumi refresh" in out
    assert same_spec(from_live(emulator.state.render_route(recreated[0])), wanted[ids[2]])
    assert same_spec(live_specs(emulator.state)[ids[0]], wanted[ids[0]])
    assert "writing route 2 of 2" in result.stderr

    again = run_command("restore-incident-io.sh", directory, emulator=emulator, stdin="")
    assert again.returncode == 0 and "Nothing to restore" in again.stdout
    assert f"matched by name; the backup had id {ids[2]}" in again.stdout
    assert emulator.state.count("POST") == 1 and emulator.state.count("PUT") == 1


@pytest.mark.parametrize(
    ("stdin", "extra", "code"),
    [("no\n", (), 3), ("y\n", (), 3), ("", (), 3), ("yes\n", ("--dry-run",), 0)],
    ids=["answered-no", "answered-y", "stdin-closed", "dry-run"],
)
def test_restore_changes_nothing_without_a_yes(
    emulator: Emulator, backed_up: tuple[Path, list[str]], stdin: str, extra: tuple[str, ...], code: int
) -> None:
    directory, ids = backed_up
    damage(emulator.state, ids)
    before = live_specs(emulator.state)

    result = run_command("restore-incident-io.sh", directory, *extra, emulator=emulator, stdin=stdin)

    assert result.returncode == code
    assert "Plan: 1 to update, 1 to recreate, 1 unchanged" in result.stdout
    assert "nothing was changed" in result.stdout
    assert writes(emulator.state) == 0 and live_specs(emulator.state) == before


def test_restore_does_not_overwrite_a_concurrent_edit(emulator: Emulator, backed_up: tuple[Path, list[str]]) -> None:
    directory, ids = backed_up
    for route_id in ids[:2]:
        emulator.state.edit_out_of_band(route_id, enabled=False)

    def colleague_edits(state: EmulatorState) -> None:
        state.edit_out_of_band(ids[0], name="Renamed by a colleague")

    # While restore writes the first route, a colleague changes it in the UI.
    emulator.inject(Fault("PUT", f"/v2/alert_routes/{ids[0]}", before=colleague_edits))
    result = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    assert result.returncode == 1
    assert re.search(rf"FAILED Route 000 \({ids[0]}\): someone changed it .*changed: name", result.stdout)
    assert "NOT overwritten" in result.stdout
    assert f"ok     Route 001 ({ids[1]}): restored" in result.stdout
    assert emulator.state.routes[ids[0]].payload["name"] == "Renamed by a colleague"
    assert emulator.state.routes[ids[1]].payload["enabled"] is True
    assert "Restored 1 of 2 routes" in result.stdout and "Running restore again is safe" in result.stdout


def test_restore_reports_partial_failure_route_by_route_and_a_rerun_finishes(
    emulator: Emulator, backed_up: tuple[Path, list[str]]
) -> None:
    directory, ids = backed_up
    for route_id in ids:
        emulator.state.edit_out_of_band(route_id, enabled=False)
    emulator.inject(Fault("PUT", f"/v2/alert_routes/{ids[1]}", status=422))

    first = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    assert first.returncode == 1
    assert f"FAILED Route 001 ({ids[1]}): PUT /v2/alert_routes/{ids[1]} failed: HTTP 422" in first.stdout
    assert [emulator.state.routes[i].payload["enabled"] for i in ids] == [True, False, True]
    second = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)
    assert second.returncode == 0 and "Plan: 1 to update, 0 to recreate, 2 unchanged" in second.stdout
    assert all(emulator.state.routes[i].payload["enabled"] for i in ids)


def test_restore_refuses_a_damaged_backup(emulator: Emulator, backed_up: tuple[Path, list[str]]) -> None:
    directory, ids = backed_up
    route_file = directory / "alert_routes" / f"{ids[0]}.json"
    route = json.loads(route_file.read_text())
    route["enabled"] = "sometimes"
    route_file.write_text(json.dumps(route))
    damage(emulator.state, ids)

    result = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    assert result.returncode == 1
    assert f"! Route 000 ({ids[0]}): cannot restore: alert_routes/{ids[0]}.json is not a valid route: spec.enabled" in (
        result.stdout
    )
    assert emulator.state.count("POST") == 1  # the deleted route still came back
    (directory / "index.json").unlink()
    missing = run_command("restore-incident-io.sh", directory, emulator=emulator)
    assert missing.returncode == 2 and "not a backup made by backup-incident-io.sh" in missing.stderr


# Export

ODD_ROUTE = "Odd: nothing high-level fits"


def odd_route(source_id: str) -> dict[str, Any]:
    """A route the high-level form cannot express: two condition groups, several targets, incidents on."""
    spec = route_spec(ODD_ROUTE, enabled=False)
    spec["alert_sources"][0]["alert_source_id"] = source_id
    condition = spec["alert_sources"][0]["condition_groups"][0]["conditions"][0]
    spec["condition_groups"] = [{"conditions": [condition]}, {"conditions": [condition]}]
    spec["escalation_config"] = {
        "auto_cancel_escalations": False,
        "escalation_targets": [
            {"escalation_paths": {"array_value": [{"literal": "01KESCALATIONPATHA00000000"}]}},
            {"users": {"array_value": [{"literal": "01KUSER0000000000000000000"}]}},
        ],
    }
    spec["incident_config"] = {**spec["incident_config"], "enabled": True, "grouping_window_seconds": 600}
    return spec


@pytest.fixture
def live_org(emulator: Emulator) -> dict[str, Any]:
    """The org as it is today (the runbook's six routes, as the dashboard stores them), plus one odd route."""
    from tests.stack_harness import OPERATOR_VALUES

    for route in runbook_routes():
        emulator.state.create_route(route)
    emulator.state.create_route(odd_route("01EMU0000000000000000AXIOM"))
    emulator.state.requests.clear()
    return {**OPERATOR_VALUES["production"], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}


def test_export_round_trips_through_the_stack(emulator: Emulator, live_org: dict[str, Any]) -> None:
    from tests.stack_harness import PROJECT, run_stack, stack_config

    result = run_command("export-incident-io.sh", "--stack-file", ROOT / "Pulumi.production.yaml", emulator=emulator)

    assert result.returncode == 0, result.stderr
    assert writes(emulator.state) == 0
    exported = yaml.safe_load(result.stdout)["config"]
    routes = {route["name"]: route for route in exported[f"{PROJECT}:routes"]}
    # Every live route but staging's own, which Pulumi.staging.yaml (beside the stack file) declares.
    assert sorted(routes) == sorted(
        route.payload["name"]
        for route in emulator.state.routes.values()
        if route.payload["name"] != "Staging Notifications"
    )
    assert "route 'Staging Notifications'" in result.stderr and "is declared by stack 'staging'" in result.stderr
    # The runbook's routes need nothing beyond the high-level form, and use the stack file's names.
    production_alerts = routes["Production Alerts"]
    assert "raw" not in production_alerts
    assert (production_alerts["escalation"], production_alerts["slack"]) == ("engineering_on_call", "alerts")
    assert production_alerts["sources"][0] == {
        "source": "alertmanager",
        "when": [{"reference": "severity", "operation": "one_of", "values": ["critical"]}],
    }
    assert routes["Unrouted Alerts"]["sources"][0]["when"] == [{"reference": "severity", "operation": "is_not_set"}]
    assert [name for name, route in routes.items() if "raw" in route] == [ODD_ROUTE]
    # Names, in the stack files' own form; only the Slack channel was a SET-ME the org could answer.
    assert exported[f"{PROJECT}:references"] == {
        "severity": {"attribute": "severity"},
        "branch": {"attribute": "branch"},
    }
    assert exported[f"{PROJECT}:escalationPaths"]["engineering_on_call"] == {"name": "Engineering On-Call"}
    assert exported[f"{PROJECT}:slackChannels"]["alerts"] == ALERTS_CHANNEL
    assert "raw" in result.stderr and "filled in slackChannels.alerts" in result.stderr

    # Paste the export into the stack file: the program compiles exactly the live routes and adopts them.
    non_route = {key: value for key, value in live_org.items() if key != "slackChannels"}
    config = {**stack_config("production", non_route), **exported}
    run = run_stack("production", config)
    declared = run.of_type("pulumi-python:dynamic/incidentio:AlertRoute")
    assert len(declared) == len(emulator.state.routes) - 1
    for resource in declared:
        live = emulator.state.routes[str(resource.inputs["adopt_id"])]
        assert same_spec(resource.plain()["spec"], from_live(emulator.state.render_route(live))), live.payload["name"]


def test_export_without_a_stack_file_names_things_after_their_labels(
    emulator: Emulator, live_org: dict[str, Any], tmp_path: Path
) -> None:
    output = tmp_path / "routes.yaml"
    result = run_command("export-incident-io.sh", "--match", "^Production", "--output", output, emulator=emulator)

    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(output.read_text())["config"]
    assert sorted(route["name"] for route in config["unkey-alert-routing:routes"]) == [
        "Production Alerts",
        "Production Warnings",
    ]
    assert config["unkey-alert-routing:alertSources"]["alertmanager_production"] == {
        "name": "Alertmanager (Production)"
    }
    assert config["unkey-alert-routing:slackChannels"] == {"alerts": ALERTS_CHANNEL}
    assert config["unkey-alert-routing:escalationPaths"] == {"engineering_on_call": {"name": "Engineering On-Call"}}
    again = run_command("export-incident-io.sh", "--output", output, emulator=emulator)
    assert again.returncode == 2 and "--force" in again.stderr
    nothing = run_command("export-incident-io.sh", "--match", "^No such route", emulator=emulator)
    assert nothing.returncode == 1 and "nothing to export" in nothing.stderr and nothing.stdout == ""


def test_rerunning_a_restore_of_routes_that_share_a_name_creates_nothing_twice(
    emulator: Emulator, tmp_path: Path
) -> None:
    first = emulator.state.create_route(route_spec("Shared name")).id
    second = emulator.state.create_route(route_spec("Shared name", enabled=False)).id
    directory = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", directory, emulator=emulator).returncode == 0
    emulator.state.delete_route(first)
    emulator.state.delete_route(second)

    restored = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)
    again = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    assert restored.returncode == 0 and "Plan: 0 to update, 2 to recreate" in restored.stdout
    assert again.returncode == 0 and "Nothing to restore" in again.stdout
    assert emulator.state.count("POST") == 2
    assert sorted(route.payload["enabled"] for route in emulator.state.routes.values()) == [False, True]


def test_restore_recreating_a_route_whose_answer_is_lost_creates_it_once(
    emulator: Emulator, backed_up: tuple[Path, list[str]]
) -> None:
    directory, ids = backed_up
    emulator.state.delete_route(ids[2])
    emulator.inject(Fault("POST", "/v2/alert_routes", drop_after_acting=True))

    result = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    assert result.returncode == 0, result.stdout + result.stderr
    assert emulator.state.count("POST") == 1 and len(emulator.state.routes) == 3
    assert "created again with new id" in result.stdout


def test_restore_sends_back_what_the_route_says_not_what_the_api_echoed(emulator: Emulator, tmp_path: Path) -> None:
    ids = {emulator.state.create_route(route).payload["name"]: route for route in runbook_routes()}
    directory = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", directory, emulator=emulator).returncode == 0
    before = live_specs(emulator.state)
    for route_id, route in list(emulator.state.routes.items()):
        if route.payload["escalation_config"]["escalation_targets"]:  # echoed under `users` too (B1)
            emulator.state.delete_route(route_id)

    result = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Plan: 0 to update, 2 to recreate, 4 unchanged" in result.stdout
    restored = {spec["name"]: spec for spec in live_specs(emulator.state).values()}
    for spec in before.values():
        assert same_spec(spec, restored[spec["name"]]) and same_spec(restored[spec["name"]], spec)
    assert set(restored) == set(ids)


# Mistakes a user makes: a message and the documented exit code, never a traceback


def _clean_failure(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_export_with_a_pattern_that_is_not_a_regular_expression(emulator: Emulator) -> None:
    result = run_command("export-incident-io.sh", "--match", "(", emulator=emulator)
    _clean_failure(result, 2, "'(' is not a regular expression")
    assert emulator.state.requests == []


def test_export_to_a_directory_that_does_not_exist_fails_before_any_call(emulator: Emulator) -> None:
    result = run_command("export-incident-io.sh", "--output", "/nonexistent/dir/x.yaml", emulator=emulator)
    _clean_failure(result, 2, "the directory /nonexistent/dir does not exist")
    assert emulator.state.requests == []


def test_an_api_url_that_is_not_a_url(emulator: Emulator, tmp_path: Path) -> None:
    result = run_command("backup-incident-io.sh", tmp_path / "b", emulator=emulator, api_url="not-a-url")
    _clean_failure(result, 2, "the incident.io API URL in INCIDENT_IO_API_URL is not an http(s) URL")


def test_a_backup_directory_that_cannot_be_created_fails_before_any_call(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = run_command("backup-incident-io.sh", tmp_path / "a-file" / "backup", emulator=emulator)
    _clean_failure(result, 2, "cannot create the backup directory here")
    assert emulator.state.requests == []


def test_the_benchmark_explains_itself() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.provider_benchmark", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "usage:" in result.stdout and "Traceback" not in result.stderr


def test_the_emulator_on_a_port_in_use_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "tests.emulator", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    _clean_failure(result, 1, f"cannot listen on 127.0.0.1:{port}")


def test_the_emulator_by_hand_serves_todays_org_and_injects_faults(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tests.emulator", "--port", "0", "--seed", "runbook", "--quiet"]
    emulator = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [*command, "--fault", "GET:/v2/alert_routes/.*:401:1"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert emulator.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+", emulator.stdout.readline())
        assert url, "the emulator did not say where it listens"
        env = {**os.environ, "INCIDENT_IO_TOKEN": "dev-key", "INCIDENT_IO_API_URL": url.group(0)}
        backups = [
            subprocess.run(  # noqa: S603 - our own script, fixed arguments
                [str(ROOT / "contrib" / "backup-incident-io.sh"), str(tmp_path / "backup")],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
            for _ in range(2)
        ]
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    assert backups[0].returncode == 1 and "HTTP 401" in backups[0].stderr  # the injected fault, once
    assert backups[1].returncode == 0, backups[1].stderr
    names = {json.loads(path.read_text())["name"] for path in (tmp_path / "backup" / "alert_routes").iterdir()}
    assert names == {route["name"] for route in runbook_routes()}
