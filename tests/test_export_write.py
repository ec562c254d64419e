"""`export --write` edits the stack file as a person would: only the lines that change, comments, flow
style and key order kept, `id:` right after `name:`. A route renamed in the dashboard updates the
declaration that manages it (found through the stack's state, `--route-ids`) under the same resource
key, and never becomes a second declaration; what the export cannot pair is said, not written silently."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ops import stack_file as stack_file_yaml
from tests.commands import ROOT, run_command
from tests.emulator import Emulator
from tests.emulator.seed import ALERTS_CHANNEL, runbook_routes
from tests.stack_harness import PROJECT

PRODUCTION = ROOT / "Pulumi.production.yaml"
ROUTES = f"{PROJECT}:routes"


@pytest.fixture
def todays_org(emulator: Emulator) -> dict[str, str]:
    """The runbook's six routes, live: name -> id."""
    return {route["name"]: emulator.state.create_route(route).id for route in runbook_routes()}


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    """The committed production stack file, with the Slack channel an operator sets, beside staging's (which
    the export reads to leave staging's routes to it)."""
    path = tmp_path / "Pulumi.production.yaml"
    text = PRODUCTION.read_text()
    path.write_text(re.sub(r'alerts: "SET-ME: [^"]*"', f"alerts: {ALERTS_CHANNEL}", text, count=1))
    (tmp_path / "Pulumi.staging.yaml").write_text((ROOT / "Pulumi.staging.yaml").read_text())
    return path


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and the lines added, as a unified diff shows them."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def _write(emulator: Emulator, stack_file: Path, *args: str | Path) -> Any:
    return run_command("export-incident-io.sh", "--stack-file", stack_file, "--write", *args, emulator=emulator)


def test_adopting_todays_org_adds_only_id_lines_right_after_each_name(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path
) -> None:
    before = stack_file.read_text()

    result = _write(emulator, stack_file, "--match", "^(?!Staging)")

    assert result.returncode == 0, result.stderr
    after = stack_file.read_text()
    removed, added = _changed_lines(before, after)
    assert removed == []
    names = ["Production Alerts", "Production Warnings", "Unrouted Alerts", "Database Alerts", "Informational"]
    assert added == [f"      id: {todays_org[name]}" for name in names]
    lines = after.splitlines()
    for name in names:
        assert lines[lines.index(f"    - name: {name}") + 1] == f"      id: {todays_org[name]}"


def test_the_committed_file_gets_its_ids_and_its_slack_channel_and_nothing_else(
    emulator: Emulator, todays_org: dict[str, str], tmp_path: Path
) -> None:
    copy = tmp_path / "Pulumi.production.yaml"
    copy.write_text(PRODUCTION.read_text())
    result = _write(emulator, copy, "--match", "^(?!Staging)")
    assert result.returncode == 0, result.stderr
    removed, added = _changed_lines(PRODUCTION.read_text(), copy.read_text())
    assert removed == ['    alerts: "SET-ME: Slack channel id of #alerts (C...)"']
    assert added[0] == f"    alerts: {ALERTS_CHANNEL}" and len(added) == 6
    assert all(re.fullmatch(r"      id: 01KT\w{22}", line) for line in added[1:])
    # The file still reads as the committed one does, plus the values the org answered.
    written = yaml.safe_load(copy.read_text())["config"]
    committed = yaml.safe_load(PRODUCTION.read_text())["config"]
    assert {key: value for key, value in written.items() if key not in (ROUTES, f"{PROJECT}:slackChannels")} == {
        key: value for key, value in committed.items() if key not in (ROUTES, f"{PROJECT}:slackChannels")
    }


def _route_ids(tmp_path: Path, ids: dict[str, str]) -> Path:
    """What `pulumi stack output routeIds --json` prints after an `up` that adopted these routes."""
    path = tmp_path / "route-ids.json"
    path.write_text(json.dumps(ids, indent=2))
    return path


def test_a_route_renamed_in_the_dashboard_renames_its_declaration_in_place(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path, tmp_path: Path
) -> None:
    production = {name: id_ for name, id_ in todays_org.items() if name != "Staging Notifications"}
    route_ids = _route_ids(tmp_path, production)
    warnings_id = todays_org["Production Warnings"]
    emulator.state.edit_out_of_band(warnings_id, name="Warnings (production)")
    before = stack_file.read_text()

    result = _write(emulator, stack_file, "--match", "^(?!Staging)", "--route-ids", route_ids)

    assert result.returncode == 0, result.stderr
    removed, added = _changed_lines(before, stack_file.read_text())
    # The name changes, the resource key stays (the same Pulumi resource), and the routing test that
    # expects the route follows it; every other route only gets its id.
    assert removed == [
        "    - name: Production Warnings",
        "      expect: { routes: [Production Warnings], pages: [], slack: [alerts] }",
    ]
    assert added == [
        f"      id: {todays_org['Production Alerts']}",
        "    - name: Warnings (production)",
        f"      id: {warnings_id}",
        "      key: production-warnings",
        *(f"      id: {todays_org[name]}" for name in ("Unrouted Alerts", "Database Alerts", "Informational")),
        "      expect: { routes: [Warnings (production)], pages: [], slack: [alerts] }",
    ]
    routes = stack_file_yaml.read_config(stack_file, PROJECT)["routes"]
    assert [route["id"] for route in routes].count(warnings_id) == 1 and len(routes) == 5
    assert "named 'Warnings (production)' in incident.io: its declaration follows" in result.stderr

    again = _write(emulator, stack_file, "--match", "^(?!Staging)", "--route-ids", route_ids)
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_the_state_can_be_given_on_standard_input_or_as_a_stack_export(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path, tmp_path: Path
) -> None:
    warnings_id = todays_org["Production Warnings"]
    emulator.state.edit_out_of_band(warnings_id, name="Warnings (production)")
    route_type = "pulumi-python:dynamic/incidentio:AlertRoute"
    urn = f"urn:pulumi:production::unkey-alert-routing::unkey:incidentio:AlertRouting${route_type}::production-warnings"
    stack_export = tmp_path / "state.json"
    stack_export.write_text(
        json.dumps(
            {
                "version": 3,
                "deployment": {"resources": [{"urn": urn, "type": route_type, "id": warnings_id}]},
            }
        )
    )
    before = stack_file.read_text()
    result = _write(emulator, stack_file, "--match", "Warnings", "--route-ids", stack_export)
    assert result.returncode == 0, result.stderr
    routes = stack_file_yaml.read_config(stack_file, PROJECT)["routes"]
    assert [route["name"] for route in routes if route.get("id") == warnings_id] == ["Warnings (production)"]

    # `pulumi stack output routeIds --json | export-incident-io.sh ... --route-ids -`
    stack_file.write_text(before)
    piped = run_command(
        "export-incident-io.sh",
        *("--stack-file", stack_file, "--write", "--match", "Warnings", "--route-ids", "-"),
        emulator=emulator,
        stdin=json.dumps({"Production Warnings": warnings_id}),
    )
    assert piped.returncode == 0, piped.stderr
    routes = stack_file_yaml.read_config(stack_file, PROJECT)["routes"]
    assert [route["name"] for route in routes if route.get("id") == warnings_id] == ["Warnings (production)"]

    bad = tmp_path / "not-ids.json"
    bad.write_text("[1, 2]")
    refused = _write(emulator, stack_file, "--route-ids", bad)
    assert refused.returncode == 2 and "expected the stack's route ids" in refused.stderr


def test_without_the_state_a_renamed_route_is_never_declared_twice(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path
) -> None:
    warnings_id = todays_org["Production Warnings"]
    emulator.state.edit_out_of_band(warnings_id, name="Warnings (production)")
    before = stack_file.read_text()

    result = _write(emulator, stack_file)

    assert result.returncode == 1, "some route could not be exported"
    assert "WARNING: routes[1] (Production Warnings) has no live counterpart" in result.stderr
    assert re.search(
        rf"route 'Warnings \(production\)' \({warnings_id}\) was not exported: it matches no declaration of the "
        r"file, while routes\[1\] \(Production Warnings\) has no live counterpart: .* declare it twice\. Run again "
        r"with --route-ids",
        result.stderr,
    )
    routes = stack_file_yaml.read_config(stack_file, PROJECT)["routes"]
    assert [route["name"] for route in routes] == [
        route["name"] for route in yaml.safe_load(before)["config"][f"{PROJECT}:routes"]
    ], "no second declaration"
    assert not any(route.get("id") == warnings_id for route in routes)

    # With the state, the declaration follows the new name.
    followed = run_command(
        "export-incident-io.sh",
        *("--stack-file", stack_file, "--write", "--route-ids", "-"),
        emulator=emulator,
        stdin=json.dumps({"Production Warnings": warnings_id}),
    )
    assert (
        "route 'Staging Notifications' (01KT0000000000000000000005) is declared by stack 'staging'" in followed.stderr
    )
    assert followed.returncode == 0, followed.stderr
    routes = stack_file_yaml.read_config(stack_file, PROJECT)["routes"]
    assert [route["name"] for route in routes if route.get("id") == warnings_id] == ["Warnings (production)"]


def test_a_declared_route_with_no_live_counterpart_is_warned_about(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path
) -> None:
    emulator.state.delete_route(todays_org["Informational"])
    result = run_command("export-incident-io.sh", "--stack-file", stack_file, emulator=emulator)
    assert result.returncode == 0, result.stderr
    assert "WARNING: routes[4] (Informational) has no live counterpart" in result.stderr
    assert "the next `pulumi up` creates it" in result.stderr


def test_a_new_declaration_lands_before_the_comment_of_the_next_key(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path
) -> None:
    (informational,) = (route for route in runbook_routes() if route["name"] == "Informational")
    emulator.state.create_route({**informational, "name": "Made in the dashboard"})
    before = stack_file.read_text()
    result = _write(emulator, stack_file)  # a route no stack file declares: added
    assert result.returncode == 0, result.stderr
    after = stack_file.read_text()
    comment = "  # Where alerts must go: every row of the runbook's routes table, checked on the compiled routes by"
    added_at = after.index("    - name: Made in the dashboard")
    assert added_at < after.index(comment)
    assert after[after.index(comment) :].startswith(before[before.index(comment) :][:200])
    removed, _ = _changed_lines(before, after)
    assert removed == []
    assert "'Made in the dashboard'" in result.stderr and "added as a new one" in result.stderr
    assert "- name: Staging Notifications" not in after, "staging's route, left to Pulumi.staging.yaml"


def test_the_state_finds_a_declaration_renamed_in_the_file_since_the_last_up_by_its_previous_keys(
    emulator: Emulator, todays_org: dict[str, str], stack_file: Path, tmp_path: Path
) -> None:
    # The last `up` knew the route as "Production Warnings"; since then the file renamed it (keeping the
    # resource through previousKeys) and someone renamed it in the dashboard as well.
    text = stack_file.read_text().replace(
        "    - name: Production Warnings\n", "    - name: Warnings\n      previousKeys: [production-warnings]\n"
    )
    stack_file.write_text(text)
    warnings_id = todays_org["Production Warnings"]
    emulator.state.edit_out_of_band(warnings_id, name="Prod warnings")
    route_ids = _route_ids(tmp_path, {"Production Warnings": warnings_id})

    result = _write(emulator, stack_file, "--match", "warnings", "--route-ids", route_ids)

    assert result.returncode == 0, result.stderr
    (route,) = [
        route for route in stack_file_yaml.read_config(stack_file, PROJECT)["routes"] if "arnings" in route["name"]
    ]
    assert (route["name"], route["id"], route["key"], route["previousKeys"]) == (
        "Prod warnings",
        warnings_id,
        "warnings",
        ["production-warnings"],
    )


@settings(max_examples=300)
@given(st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)))
def test_any_value_is_written_so_that_it_reads_back_as_itself(value: Any) -> None:
    # What the export writes is read by ruamel.yaml (this tool), PyYAML and Pulumi: on one line, in a
    # mapping, in a flow mapping and in a flow sequence, every string and number reads back as itself.
    written = stack_file_yaml.scalar(value)
    assert "\n" not in written
    text = f"a: {written}\nb: {{ c: {written} }}\nd: [{written}]\n"
    for document in (yaml.safe_load(text), stack_file_yaml.plain(YAML(typ="rt").load(text))):
        assert document == {"a": value, "b": {"c": value}, "d": [value]}
