"""The operations commands follow a stack's routes into its routes file (routes/<stack>.yaml): route-test reads
them (the pull request's routing matrix too), names a problem's file and line, and export --write writes the
routes there, the stack file keeping the names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ops import move_routes
from tests.commands import ROOT, run_command
from tests.emulator import Emulator
from tests.emulator.seed import runbook_routes
from tests.stack_harness import PROJECT
from tests.test_route_test_command import route_test_sh


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and nothing listening at the API URL: any call would fail."""
    monkeypatch.delenv("INCIDENT_IO_TOKEN", raising=False)
    monkeypatch.setenv("INCIDENT_IO_API_URL", "http://127.0.0.1:9")


@pytest.fixture
def moved(tmp_path: Path) -> Path:
    """A project whose production routes and routing tests were moved out: its stack file."""
    for name in ("Pulumi.yaml", "Pulumi.production.yaml", "Pulumi.staging.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    assert move_routes.main(["--stack", "production", "--project-dir", str(tmp_path)]) == 0
    return tmp_path / "Pulumi.production.yaml"


@pytest.mark.usefixtures("offline")
def test_route_test_reads_the_routes_file_beside_the_stack_file(
    moved: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", moved, "source=alertmanager", "severity=critical")
    assert (code, out) == (0, "Production Alerts: pages engineering_on_call, slack alerts\n")

    code, out, _ = route_test_sh(monkeypatch, capsys, "--stack-file", moved, "--all")
    tests = yaml.safe_load((moved.parent / "routes" / "production.yaml").read_text())["routingTests"]
    assert code == 0 and f"routing tests: {len(tests)} of {len(tests)} pass" in out


@pytest.mark.usefixtures("offline")
def test_route_test_names_the_line_of_a_problem_in_the_routes_file(
    moved: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = moved.parent / "routes" / "production.yaml"
    lines = path.read_text().splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "expect: { routes: [Production Warnings]" in text)
    lines[line - 1] = lines[line - 1].replace("Production Warnings", "Production Warning")
    path.write_text("\n".join(lines) + "\n")

    code, _, err = route_test_sh(monkeypatch, capsys, "--stack-file", moved, "source=checkly")

    assert code == 2
    assert f"routes/production.yaml:{line}: routingTests[4].expect.routes: unknown route 'Production Warning'" in err


def test_export_write_puts_the_routes_in_the_routes_file(emulator: Emulator, moved: Path, tmp_path: Path) -> None:
    for route in runbook_routes():
        emulator.state.create_route(route)
    old_layout = tmp_path / "old" / "Pulumi.production.yaml"
    old_layout.parent.mkdir()
    shutil.copy2(ROOT / "Pulumi.production.yaml", old_layout)
    routes_path = moved.parent / "routes" / "production.yaml"
    comments = [line for line in routes_path.read_text().splitlines() if line.lstrip().startswith("#")]

    for stack_file in (old_layout, moved):
        result = run_command(
            "export-incident-io.sh", "--stack-file", stack_file, "--match", "^Production", "--write", emulator=emulator
        )
        assert result.returncode == 0, result.stderr

    assert f"+++ {routes_path}" in result.stdout and "+    id: " in result.stdout
    written = yaml.safe_load(routes_path.read_text())
    before = yaml.safe_load(old_layout.read_text())["config"]
    # The same routes as the export writes into a stack file that holds them, and the same names beside them.
    assert written["routes"] == before[f"{PROJECT}:routes"]
    assert written["routingTests"] == before[f"{PROJECT}:routingTests"]
    stack_config = yaml.safe_load(moved.read_text())["config"]
    assert f"{PROJECT}:routes" not in stack_config
    assert stack_config[f"{PROJECT}:slackChannels"] == before[f"{PROJECT}:slackChannels"]
    assert [line for line in routes_path.read_text().splitlines() if line.lstrip().startswith("#")] == comments
