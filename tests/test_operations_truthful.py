"""The operations commands never mislead, run as a user runs them against the emulator: an export
pasted as its header says keeps the whole stack, restore returns each route exactly to the backup
and reports what it did whatever stops it, and a connection problem is announced while retrying and
explained by the setting to check."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import restore, snapshot
from ops import stack_file as stack_file_yaml
from ops.cli import OperationError, Progress
from ops.export import Export, write_into
from providers.alert_route_spec import from_live
from providers.api import IncidentIoApi
from providers.http import ApiClient, Credentials
from providers.route_compare import same_spec
from tests.commands import ROOT, run_command
from tests.conftest import CANARY_API_KEY, route_spec
from tests.emulator import Emulator, Fault
from tests.emulator.seed import ENGINEERING_ON_CALL, runbook_routes
from tests.emulator.state import EmulatorState
from tests.stack_harness import PROJECT

PRODUCTION_ROUTES = ["Production Alerts", "Production Warnings", "Unrouted Alerts", "Database Alerts", "Informational"]
TEMPLATE = {"value": {"literal": '{"content": "paged by {{ alert.title }}"}'}}


def _live(state: EmulatorState, route_id: str) -> dict[str, Any]:
    return from_live(state.render_route(state.routes[route_id]))


@pytest.fixture
def todays_org(emulator: Emulator) -> Emulator:
    for route in runbook_routes():
        emulator.state.create_route(route)
    emulator.state.requests.clear()
    return emulator


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    copy = tmp_path / "Pulumi.production.yaml"
    copy.write_text((ROOT / "Pulumi.production.yaml").read_text())
    return copy


def _route_names(config: dict[str, Any]) -> list[str]:
    return [route["name"] for route in config[f"{PROJECT}:routes"]]


# Export


def test_a_partial_export_pasted_as_its_header_says_keeps_every_route(todays_org: Emulator, stack_file: Path) -> None:
    result = run_command(
        "export-incident-io.sh", "--stack-file", stack_file, "--match", "^Production", emulator=todays_org
    )
    assert result.returncode == 0, result.stderr
    assert "is the whole list of Pulumi.production.yaml: 5 routes, of which 2 replace" in result.stdout
    assert "Paste these keys over the keys of the same name" in result.stdout

    # Paste: each printed key replaces the stack file's key of the same name.
    pasted = yaml.safe_load(stack_file.read_text())
    pasted["config"].update(yaml.safe_load(result.stdout)["config"])
    assert _route_names(pasted["config"]) == PRODUCTION_ROUTES
    routes = {route["name"]: route for route in pasted["config"][f"{PROJECT}:routes"]}
    assert routes["Production Alerts"]["id"] in todays_org.state.routes  # exported: adopted on the next up
    assert "id" not in routes["Database Alerts"]  # not matched: as the file has it

    # --write gives the same file as the paste, keeps the file's comments, and shows what it changed.
    comments = [line for line in stack_file.read_text().splitlines() if line.lstrip().startswith("#")]
    written = run_command(
        "export-incident-io.sh", "--stack-file", stack_file, "--match", "^Production", "--write", emulator=todays_org
    )
    assert written.returncode == 0, written.stderr
    assert yaml.safe_load(stack_file.read_text()) == pasted
    assert [line for line in stack_file.read_text().splitlines() if line.lstrip().startswith("#")] == comments
    assert f"+++ {stack_file}" in written.stdout and "+      id: " in written.stdout
    again = run_command(
        "export-incident-io.sh", "--stack-file", stack_file, "--match", "^Production", "--write", emulator=todays_org
    )
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_write_refuses_a_result_that_would_lose_a_route(stack_file: Path) -> None:
    # The export keeps every route of the file by construction; this guard catches it if that ever breaks.
    config = stack_file_yaml.read_config(stack_file, PROJECT)
    shrunk = Export({"routes": config["routes"][1:]}, [], exported=0, whole_stack=True)
    before = stack_file.read_text()
    with pytest.raises(OperationError, match=r"refusing to write: the routes 'Production Alerts' would no longer"):
        write_into(stack_file, PROJECT, shrunk)
    assert stack_file.read_text() == before


def test_an_escalation_path_missing_from_the_list_is_written_by_id_with_a_warning(
    todays_org: Emulator, stack_file: Path
) -> None:
    del todays_org.state.escalation_paths[ENGINEERING_ON_CALL]  # deleted, or hidden from this key

    result = run_command(
        "export-incident-io.sh", "--stack-file", stack_file, "--match", "^(?!Staging)", emulator=todays_org
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"WARNING: escalationPaths\.\w+: no escalation path with this id", result.stderr)
    entry_line = next(line for line in result.stdout.splitlines() if ENGINEERING_ON_CALL in line)
    assert "# no escalation path with this id in GET /v2/escalation_paths" in entry_line
    assert _route_names(yaml.safe_load(result.stdout)["config"]) == PRODUCTION_ROUTES


def test_an_entry_the_export_fills_in_warns_about_the_other_routes_that_use_it(
    todays_org: Emulator, stack_file: Path
) -> None:
    del todays_org.state.escalation_paths[ENGINEERING_ON_CALL]
    result = run_command(
        "export-incident-io.sh", "--stack-file", stack_file, "--match", "^Database", emulator=todays_org
    )
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"WARNING: escalationPaths\.engineering_on_call did not resolve .*\(Production Alerts\)", result.stderr
    )


# Restore


@pytest.fixture
def backed_up(emulator: Emulator, tmp_path: Path) -> tuple[Path, list[str]]:
    ids = [emulator.state.create_route(route_spec(f"Route {index:03d}")).id for index in range(3)]
    directory = tmp_path / "backup"
    assert run_command("backup-incident-io.sh", directory, emulator=emulator).returncode == 0
    emulator.state.requests.clear()
    return directory, ids


def test_restore_returns_a_route_exactly_to_the_backup(emulator: Emulator, backed_up: tuple[Path, list[str]]) -> None:
    directory, ids = backed_up
    backed = _live(emulator.state, ids[1])
    emulator.state.edit_out_of_band(ids[1], message_template=TEMPLATE)  # added in the dashboard after the backup

    plan = run_command("restore-incident-io.sh", directory, "--dry-run", emulator=emulator)
    assert plan.returncode == 0
    assert re.search(r"message_template: \{.*paged by.*\} -> \(absent\)", plan.stdout)
    assert "Plan: 1 to update" in plan.stdout

    result = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "message_template" not in emulator.state.routes[ids[1]].payload
    assert same_spec(backed, _live(emulator.state, ids[1]))


def test_restore_reports_a_create_whose_answer_was_lost(emulator: Emulator, backed_up: tuple[Path, list[str]]) -> None:
    directory, ids = backed_up
    emulator.state.delete_route(ids[2])
    emulator.inject(Fault("POST", "/v2/alert_routes", drop_after_acting=True))

    result = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)

    (created,) = [route.id for route in emulator.state.routes.values() if route.payload["name"] == "Route 002"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restored 1 of 1 routes." in result.stdout
    assert f"ok     Route 002 ({created}): created again with new id {created}" in result.stdout
    assert f"Route 002 {ids[2]} -> {created}" in result.stdout


def _plan_of(api: IncidentIoApi, directory: Path, route_id: str) -> tuple[restore.RoutePlan, list[restore.RoutePlan]]:
    plans, _ = restore.make_plan(api, snapshot.read(directory), Progress(io.StringIO()))
    (plan,) = [plan for plan in plans if plan.live_id == route_id]
    return plan, plans


def _answer_lost_after_every_retry(emulator: Emulator, route_id: str, then: Any = None) -> IncidentIoApi:
    """The PUT lands but its answer is lost, and every retry of it is answered 503, until the retries run
    out (one here, to keep the test short: how many does not matter). `then` runs as the PUT arrives."""
    emulator.inject(Fault("PUT", f"/v2/alert_routes/{route_id}", drop_after_acting=True, before=then))
    emulator.inject(Fault("PUT", f"/v2/alert_routes/{route_id}", status=503, times=10))
    return IncidentIoApi(ApiClient(Credentials(api_key=CANARY_API_KEY, api_url=emulator.url), max_retries=1))


def test_restore_reads_again_a_route_whose_put_answer_never_came(
    emulator: Emulator, backed_up: tuple[Path, list[str]]
) -> None:
    directory, ids = backed_up
    emulator.state.edit_out_of_band(ids[0], enabled=False)
    api = _answer_lost_after_every_retry(emulator, ids[0])
    plan, plans = _plan_of(api, directory, ids[0])

    outcome = restore.apply(api, plan)

    assert emulator.state.routes[ids[0]].payload["enabled"] is True  # the write landed
    assert outcome.ok and "its answer never arrived, the route read again says so" in outcome.message
    assert restore.report([outcome], [], plans)[:2] == [
        "Restored 1 of 1 routes.",
        f"  ok     Route 000 ({ids[0]}): {outcome.message}",
    ]


def test_restore_says_it_cannot_tell_when_the_route_cannot_be_read_again_either(
    emulator: Emulator, backed_up: tuple[Path, list[str]]
) -> None:
    directory, ids = backed_up
    emulator.state.edit_out_of_band(ids[0], enabled=False)
    # Once the write is under way, reading the route fails too.
    reads_fail = Fault("GET", f"/v2/alert_routes/{ids[0]}", status=503, times=10)
    api = _answer_lost_after_every_retry(emulator, ids[0], then=lambda _: emulator.inject(reads_fail))
    plan, _ = _plan_of(api, directory, ids[0])

    outcome = restore.apply(api, plan)

    assert not outcome.ok and "it may or may not be restored; run restore again" in outcome.message


def _restore_in_background(emulator: Emulator, directory: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "INCIDENT_IO_TOKEN": CANARY_API_KEY, "INCIDENT_IO_API_URL": emulator.url}
    return subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [str(ROOT / "contrib" / "restore-incident-io.sh"), str(directory), "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Any, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, "the command ended before the moment the test waits for"
        assert time.monotonic() < deadline, "waited 60 s"
        time.sleep(0.01)


def test_restore_interrupted_during_a_create_reports_everything_it_did(
    emulator: Emulator, backed_up: tuple[Path, list[str]]
) -> None:
    directory, ids = backed_up
    emulator.state.edit_out_of_band(ids[0], enabled=False)  # restored first (routes go in name order)
    emulator.state.delete_route(ids[2])  # recreated next: interrupted while its answer is awaited
    emulator.inject(Fault("POST", "/v2/alert_routes", answer_delay=60))

    process = _restore_in_background(emulator, directory)
    _wait_for(lambda: any(route.payload["name"] == "Route 002" for route in emulator.state.routes.values()), process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    (created,) = [route.id for route in emulator.state.routes.values() if route.payload["name"] == "Route 002"]
    assert process.returncode == 130, out + err
    assert "Interrupted." in out and "Restored 2 of 2 routes." in out
    assert f"ok     Route 000 ({ids[0]}): restored" in out
    assert f"Route 002 ({created}): created again with new id {created}" in out and "answer never arrived" in out
    assert f"Route 002 {ids[2]} -> {created}" in out

    # A re-run changes nothing, and still names every route that lives on under a new id.
    again = run_command("restore-incident-io.sh", directory, "--yes", emulator=emulator)
    assert again.returncode == 0 and "Nothing to restore" in again.stdout
    assert f"Recreated routes have new ids: Route 002 {ids[2]} -> {created}" in again.stdout
    assert emulator.state.count("POST", "/v2/alert_routes") == 1


# Connection problems


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_api_is_announced_while_retrying_and_explained_at_the_end(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = {**os.environ, "INCIDENT_IO_TOKEN": CANARY_API_KEY, "INCIDENT_IO_API_URL": url}
    process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [str(ROOT / "contrib" / "backup-incident-io.sh"), str(tmp_path / "backup")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    # Said while the command still waits, not afterwards.
    assert process.poll() is None
    assert f"no answer (connection refused) from {url}, retrying 1/5" in first
    rest = process.stderr.read()
    process.wait(timeout=120)

    assert process.returncode == 1
    last = rest.strip().splitlines()[-1]
    assert last.startswith("error: ") and "no answer from" in last and "check INCIDENT_IO_API_URL" in last
    for internal in ("HTTPConnectionPool", "Max retries exceeded", "NewConnectionError", "urllib3"):
        assert internal not in first + rest


# The benchmark


def test_the_benchmark_never_prints_a_negative_time() -> None:
    # At tiny sizes one route's timings are mostly noise: the split must still add up without going below 0.
    tiny = ["--routes", "2", "--call-counts", "1", "--latency-ms", "0", "--concurrency", "1", "--rate-limit", "4/1"]
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "benchmarks.provider_benchmark", *tiny],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    cells = [cell.strip() for line in result.stdout.splitlines() if line.startswith("|") for cell in line.split("|")]
    numbers = [cell for cell in cells if re.fullmatch(r"-?\d+(\.\d+)?x?", cell)]
    assert numbers and not [cell for cell in numbers if cell.startswith("-")]


# The by-hand section of docs/tests.md (moved there from the README)


def _by_hand_block() -> str:
    text = (ROOT / "docs" / "tests.md").read_text()
    after = text[text.index("<!-- by-hand:") :]
    return after[after.index("```bash\n") + len("```bash\n") : after.index("\n```", after.index("```bash"))]


def test_the_docs_by_hand_section_works_as_written(tmp_path: Path) -> None:
    # As written, but on a free port and into a temporary directory, so that it cannot disturb this machine.
    written_dir = "/tmp/incident-io-backup"  # noqa: S108 - what the docs write, replaced here
    script = _by_hand_block().replace("8099", str(_closed_port())).replace(written_dir, str(tmp_path / "backup"))
    result = subprocess.run(  # noqa: S603 - the docs' own commands
        ["/bin/bash", "-e", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={key: value for key, value in os.environ.items() if not key.startswith("INCIDENT_IO_")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backed up 6 alert routes" in result.stdout
    assert "is the whole list of Pulumi.production.yaml: 5 routes" in result.stdout
    assert "Nothing to restore" in result.stdout and "Traceback" not in result.stderr
