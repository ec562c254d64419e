"""The operations commands in an org on incident.io's new alert grouping engine (docs/api-behaviour.md,
"Which version this project uses"): export prints the settings only v3 can say as the stack file's options,
so that the export adopts the route; a backup keeps them; a restore puts them back, and never drops them
with a v2 write, whether or not its backup knew them."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from ops import restore, snapshot
from ops.cli import Progress
from providers.api import IncidentIoApi
from providers.http import ApiClient, Credentials
from tests.commands import ROOT, run_command
from tests.conftest import CANARY_API_KEY, configured_provider, in_both_org_modes
from tests.emulator import Emulator, Fault
from tests.routes import v3_settings_route
from tests.stack_harness import OPERATOR_VALUES, PROJECT, run_stack, stack_config

JsonDict = dict[str, Any]
ROUTE = "Every v3 setting"
ROUTE_TYPE = "pulumi-python:dynamic/incidentio:AlertRoute"


def _create(emulator: Emulator, declared: JsonDict) -> str:
    provider = configured_provider(emulator, claimRoutes="false")
    checked = provider.check({}, declared)
    assert checked.failures == []
    return provider.create(checked.inputs).id


def _held(emulator: Emulator, route_id: str) -> JsonDict:
    payload: JsonDict = emulator.state.routes[route_id].payload
    return payload


def _route_writes(emulator: Emulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p in emulator.state.requests if m in ("POST", "PUT", "DELETE") and "alert_routes" in p]


def _exported_routes(stdout: str) -> dict[str, JsonDict]:
    config = yaml.safe_load(stdout)["config"]
    return {route["name"]: route for route in config[f"{PROJECT}:routes"]}


def test_export_prints_v3_settings_as_options_and_the_export_adopts_the_route(
    emulator: Emulator, tmp_path: Path
) -> None:
    spec, v3 = v3_settings_route(ROUTE)
    route_id = _create(emulator, {"spec": spec, "v3": v3})
    # The state of a stack that manages no route yet: the live route is a new one (not held back as maybe one
    # of the file's declarations renamed in the dashboard).
    route_ids = tmp_path / "route-ids.json"
    route_ids.write_text("{}")

    result = run_command(
        "export-incident-io.sh",
        *("--stack-file", ROOT / "Pulumi.production.yaml", "--route-ids", route_ids),
        emulator=emulator,
    )

    assert result.returncode == 0, result.stderr
    exported = yaml.safe_load(result.stdout)["config"]
    route = _exported_routes(result.stdout)[ROUTE]
    assert route["grouping"] == {"keys": ["severity"], "windowSeconds": 1800, "windowType": "fixed"}
    assert route["whenAlertJoinsGroup"] == {"mode": "on_each_new_alert", "gracePeriodSeconds": 120}
    assert route["slackGroupAlertsSummary"] is True
    assert "raw" not in route  # not even the incident template a v2 read answers for it (B15)
    # No warning about this route (the file's own declarations, with no live counterpart here, are warned of).
    assert f"WARNING: route {ROUTE}" not in result.stderr
    assert "only incident.io's v3 API can say" not in result.stderr

    # Pasted into the stack file, the program declares exactly the live route, to adopt by its id.
    values = {**OPERATOR_VALUES["production"], "incidentio:apiKey": CANARY_API_KEY, "incidentio:apiUrl": emulator.url}
    config = {**stack_config("production", values), **exported}
    config[f"{PROJECT}:routes"] = [route]
    del config[f"{PROJECT}:routingTests"]  # the stack file's tests are about its own routes
    (resource,) = run_stack("production", config).of_type(ROUTE_TYPE)
    declared = resource.plain()
    assert (declared["adopt_id"], declared["v3"]) == (route_id, v3)
    adopter = configured_provider(emulator)
    checked = adopter.check({}, {key: declared[key] for key in ("spec", "v3", "adopt_id")})
    assert checked.failures == [] and checked.inputs["adopt_id"] == route_id


def test_export_warns_of_a_v3_setting_no_option_says(emulator: Emulator) -> None:
    spec, _ = v3_settings_route(ROUTE)
    route_id = _create(emulator, {"spec": spec})
    # AI grouping, switched on in the dashboard: the stack file has no option for it.
    incident = _held(emulator, route_id)["incident_config"]
    emulator.state.edit_out_of_band(route_id, incident_config={**incident, "ai_enabled": True})

    result = run_command("export-incident-io.sh", "--match", ROUTE, emulator=emulator)

    assert result.returncode == 0, result.stderr
    assert "grouping_config.default.ai_enabled=true" in result.stderr
    assert "`pulumi up` refuses to adopt it until they are changed in the incident.io dashboard" in result.stderr


@in_both_org_modes
def test_export_prints_the_escalation_mode_only_where_the_stack_file_may_say_it(emulator: Emulator) -> None:
    spec, _ = v3_settings_route(ROUTE)
    _create(emulator, {"spec": spec})

    route = _exported_routes(run_command("export-incident-io.sh", emulator=emulator).stdout)[ROUTE]

    assert route["grouping"] == {"keys": ["severity"], "windowSeconds": 1800}
    if emulator.state.org_migrated:
        assert route["whenAlertJoinsGroup"] == {"mode": "on_each_new_alert", "gracePeriodSeconds": 120}
        assert "raw" not in route
    else:
        # In v2 terms, as the org not on the new grouping engine has it.
        assert "whenAlertJoinsGroup" not in route
        assert route["raw"] == {"incident_config": {"defer_time_seconds": 120}}


def _backup(emulator: Emulator, directory: Path) -> None:
    result = run_command("backup-incident-io.sh", directory, emulator=emulator)
    assert result.returncode == 0, result.stderr


def _backed_up_v3_route(emulator: Emulator, directory: Path) -> str:
    """A route with every v3-only setting, created and then backed up into `directory`; its id."""
    spec, v3 = v3_settings_route(ROUTE)
    route_id = _create(emulator, {"spec": spec, "v3": v3})
    _backup(emulator, directory)
    return route_id


def test_a_backup_keeps_what_only_v3_says_and_a_restore_puts_it_back(emulator: Emulator, tmp_path: Path) -> None:
    route_id = _backed_up_v3_route(emulator, tmp_path / "backup")
    answer = json.loads((tmp_path / "backup" / "alert_routes_v3" / f"{route_id}.json").read_text())
    assert answer["grouping_config"]["default"]["window_type"] == "fixed"

    # Someone sets the window back to rolling and switches the summary off in the dashboard.
    held = _held(emulator, route_id)
    channels = [{**channel, "slack_targets": {**channel["slack_targets"]}} for channel in held["channel_config"]]
    del channels[0]["slack_targets"]["group_alerts_summary"]
    incident = {key: value for key, value in held["incident_config"].items() if key != "window_type"}
    emulator.state.edit_out_of_band(route_id, incident_config=incident, channel_config=channels)
    before = len(emulator.state.requests)

    result = run_command("restore-incident-io.sh", tmp_path / "backup", "--yes", emulator=emulator)

    assert result.returncode == 0, result.stdout + result.stderr
    assert '"window_type": "fixed"' in result.stdout  # the plan shows it going back
    writes = [(m, p) for m, p in emulator.state.requests[before:] if m != "GET" and "alert_routes" in p]
    assert writes == [("PUT", f"/v3/alert_routes/{route_id}")]
    restored = _held(emulator, route_id)
    assert restored["incident_config"]["window_type"] == "fixed"
    assert restored["channel_config"][0]["slack_targets"]["group_alerts_summary"] is True


def test_a_restore_from_a_backup_without_v3_answers_keeps_the_live_v3_settings(
    emulator: Emulator, tmp_path: Path
) -> None:
    route_id = _backed_up_v3_route(emulator, tmp_path / "backup")
    # A backup taken before backups held v3 answers (or of the org before it moved to the new engine).
    shutil.rmtree(tmp_path / "backup" / "alert_routes_v3")
    index_path = tmp_path / "backup" / "index.json"
    index = json.loads(index_path.read_text())
    del index["alert_routes_v3"]
    index_path.write_text(json.dumps(index))
    emulator.state.edit_out_of_band(route_id, enabled=False)  # what the restore is for

    result = run_command("restore-incident-io.sh", tmp_path / "backup", "--yes", emulator=emulator)

    assert result.returncode == 0, result.stdout + result.stderr
    restored = _held(emulator, route_id)
    assert restored["enabled"] is True
    # Not dropped by a v2 write: written through v3, with what the live route had.
    assert restored["incident_config"]["window_type"] == "fixed"
    assert restored["channel_config"][0]["slack_targets"]["group_alerts_summary"] is True
    assert _route_writes(emulator)[-1] == ("PUT", f"/v3/alert_routes/{route_id}")


def test_a_restore_recreates_a_deleted_route_with_its_v3_settings(emulator: Emulator, tmp_path: Path) -> None:
    route_id = _backed_up_v3_route(emulator, tmp_path / "backup")
    emulator.state.delete_route(route_id)

    result = run_command("restore-incident-io.sh", tmp_path / "backup", "--yes", emulator=emulator)

    assert result.returncode == 0, result.stdout + result.stderr
    (recreated,) = emulator.state.routes.values()
    assert recreated.payload["incident_config"]["window_type"] == "fixed"
    assert _route_writes(emulator)[-1] == ("POST", "/v3/alert_routes")
    again = run_command("restore-incident-io.sh", tmp_path / "backup", "--yes", emulator=emulator)
    assert "Nothing to restore" in again.stdout, again.stdout


def _window_reset_in_the_dashboard(emulator: Emulator, route_id: str) -> None:
    """The route's fixed window set back to rolling (v3's default): nothing v2 can see changes."""
    held = _held(emulator, route_id)
    incident = {key: value for key, value in held["incident_config"].items() if key != "window_type"}
    emulator.state.edit_out_of_band(route_id, incident_config=incident)


def _restore_with_v3_put(emulator: Emulator, tmp_path: Path, route_id: str, *faults: Fault) -> restore.Outcome:
    """The route restored from its backup, with `faults` on its v3 PUT (the client retries once)."""
    for fault in faults:
        emulator.inject(fault)
    api = IncidentIoApi(ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=emulator.url), max_retries=1))
    plans, _ = restore.make_plan(api, snapshot.read(tmp_path / "backup"), Progress(io.StringIO()))
    (plan,) = plans
    assert plan.action is restore.Action.UPDATE
    return restore.apply(api, plan)


def test_a_v3_put_whose_answer_is_lost_is_read_again_through_v3(emulator: Emulator, tmp_path: Path) -> None:
    route_id = _backed_up_v3_route(emulator, tmp_path / "backup")
    _window_reset_in_the_dashboard(emulator, route_id)
    put = f"/v3/alert_routes/{route_id}"

    # The PUT lands, its answer is lost, and its retry is answered 503.
    outcome = _restore_with_v3_put(
        emulator, tmp_path, route_id, Fault("PUT", put, drop_after_acting=True), Fault("PUT", put, status=503)
    )

    assert _held(emulator, route_id)["incident_config"]["window_type"] == "fixed"
    assert outcome.ok and "its answer never arrived, the route read again says so" in outcome.message


def test_a_v3_put_that_never_landed_is_not_reported_restored_because_v2_looks_the_same(
    emulator: Emulator, tmp_path: Path
) -> None:
    route_id = _backed_up_v3_route(emulator, tmp_path / "backup")
    _window_reset_in_the_dashboard(emulator, route_id)

    # Every try answered 503: nothing written, and the v2 reading was the backup's all along.
    outcome = _restore_with_v3_put(
        emulator, tmp_path, route_id, Fault("PUT", f"/v3/alert_routes/{route_id}", status=503, times=10)
    )

    assert "window_type" not in _held(emulator, route_id)["incident_config"]
    assert not outcome.ok and "the route read again is not restored" in outcome.message
