"""A stack's routes in routes/<stack>.yaml: read like the stack config, errors with file and line, one place
per key, the other stacks' routes files read too, and the move out of the stack file changing no value."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.ownership import OwnershipError, declared_elsewhere
from components.routes_file import ROUTES_FILE_KEYS
from components.routing_tests import RoutingTestsError, symbolic_routes, verify
from components.settings import RoutingCoverage, SettingsError
from components.stack import settings_of
from ops import move_routes
from ops.cli import InputError
from tests.stack_harness import OPERATOR_VALUES, PROJECT, ROOT

STACKS = ("production", "staging")


def _config(stack: str, project_dir: Path = ROOT) -> dict[str, Any]:
    """The stack file's own keys, unprefixed, with the values an operator sets."""
    document = yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text())
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in document["config"].items() if PROJECT in key}
    for group, values in OPERATOR_VALUES[stack].items():
        config[group] = {**config[group], **values}
    return config


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.production.yaml", "Pulumi.staging.yaml"):
        shutil.copy2(ROOT / name, project / name)
    return project


def _move(project: Path, stack: str, *extra: str) -> int:
    return move_routes.main(["--stack", stack, "--project-dir", str(project), *extra])


def _write_routes(project: Path, stack: str, text: str) -> None:
    (project / "routes").mkdir(exist_ok=True)
    (project / "routes" / f"{stack}.yaml").write_text(text)


@pytest.mark.parametrize("stack", STACKS)
def test_the_moved_routes_read_as_the_same_settings(stack: str, tmp_path: Path) -> None:
    before = settings_of(stack, _config(stack), tmp_path / "no-routes-file")
    project = _project(tmp_path)

    assert _move(project, stack) == 0

    config = _config(stack, project)
    assert not set(ROUTES_FILE_KEYS) & set(config)  # the stack file no longer holds them
    after = settings_of(stack, config, project)
    assert after.routes == before.routes
    assert [(test.alert, test.expect) for test in after.routing_tests] == [
        (test.alert, test.expect) for test in before.routing_tests
    ]
    assert after.routes_file == f"routes/{stack}.yaml"
    # Everything else is read from the stack file as before.
    assert after.names == before.names and after.aws_secret_name == before.aws_secret_name


def test_the_move_keeps_comments_and_the_rest_of_the_stack_file(tmp_path: Path) -> None:
    project = _project(tmp_path)
    original = (project / "Pulumi.production.yaml").read_text()

    _move(project, "production")

    routes = (project / "routes" / "production.yaml").read_text()
    stack_file = (project / "Pulumi.production.yaml").read_text()
    assert "  # Nowhere, as the table says: only main's PlanetScale alerts are routed" in routes
    assert "# Where alerts must go: every row of the runbook's routes table" in routes
    assert routes.count("\nroutes:\n") == 1 and "\nroutingTests:\n" in routes
    assert "unkey-alert-routing:routes" not in stack_file
    assert "# routes, routingTests: in routes/production.yaml" in stack_file
    # Every line the move did not take is still there, in order.
    kept = [line for line in original.splitlines() if line in stack_file.splitlines()]
    assert kept == [line for line in stack_file.splitlines() if line in original.splitlines()]
    assert "  unkey-alert-routing:alertmanager:" in stack_file


def test_the_move_refuses_a_second_time_and_a_dry_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    original = (project / "Pulumi.staging.yaml").read_text()

    assert _move(project, "staging", "--dry-run") == 0
    assert (project / "Pulumi.staging.yaml").read_text() == original
    assert not (project / "routes").exists()
    assert "-  unkey-alert-routing:routes:" in capsys.readouterr().out

    _move(project, "staging")
    with pytest.raises(InputError, match=r"routes/staging\.yaml exists already"):
        _move(project, "staging")


def test_a_problem_in_the_routes_file_names_its_file_and_line(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _move(project, "production")
    path = project / "routes" / "production.yaml"
    lines = path.read_text().splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "- source: sev0_email" in text)
    lines[line - 1] = lines[line - 1].replace("sev0_email", "sev0_mail")
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(SettingsError) as raised:
        settings_of("production", _config("production", project), project)

    assert raised.value.problems == [
        f"routes/production.yaml:{line}: routes[0] (Production Alerts).sources[2].source: unknown source "
        "'sev0_mail'; declare it under alertSources (known: alertmanager, axiom, checkly, grafana_cloud, planetscale, "
        "sev0_email, status_page_views)"
    ]
    assert "the stack config (Pulumi.production.yaml and routes/production.yaml) needs fixing" in str(raised.value)


def test_a_schema_problem_and_a_duplicate_name_in_the_routes_file_name_their_lines(tmp_path: Path) -> None:
    project = tmp_path
    _write_routes(
        project,
        "staging",
        "routes:\n"  # 1
        "  - name: One\n"  # 2
        "    sources: [{source: alertmanager}]\n"  # 3
        "    slack: alerts\n"  # 4
        "  - name: One\n"  # 5
        "    sources: [{source: alertmanager}]\n"  # 6
        "  - name: Two\n"  # 7
        "    sources: []\n",  # 8
    )
    config = {key: value for key, value in _config("staging").items() if key not in ROUTES_FILE_KEYS}

    with pytest.raises(SettingsError) as raised:
        settings_of("staging", config, project)
    assert raised.value.problems == ["routes/staging.yaml:8: routes[2] (Two).sources: [] should be non-empty"]

    (project / "routes" / "staging.yaml").write_text(
        "routes:\n  - name: One\n    sources: [{source: alertmanager}]\n"
        "  - name: One\n    sources: [{source: checkly}]\n"
    )
    with pytest.raises(SettingsError) as raised:
        settings_of("staging", config, project)
    assert raised.value.problems[0].startswith("routes/staging.yaml:4: routes: the name 'One' is used twice")


def test_a_failing_routing_test_of_the_routes_file_names_its_line(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _move(project, "production")
    path = project / "routes" / "production.yaml"
    text = path.read_text().replace(
        "expect: { routes: [Production Warnings], pages: [], slack: [alerts] }",
        "expect: { routes: [Production Warnings], pages: [engineering_on_call], slack: [alerts] }",
    )
    path.write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "attributes: { severity: warning } }" in t)
    config = _config("production", project)
    settings = settings_of("production", config, project)
    merged = {**config, **yaml.safe_load(text)}

    with pytest.raises(RoutingTestsError) as raised:
        verify(
            "production",
            symbolic_routes(merged),
            settings.routing_tests,
            RoutingCoverage(),
            warn=lambda _: None,
            tests_file=settings.file_of_routing_tests(),
        )

    assert "routing test of routes/production.yaml (routingTests) fails" in str(raised.value)
    (failure,) = raised.value.problems
    assert failure.startswith(f"routes/production.yaml:{line}: routingTests[4] (source=alertmanager severity=warning)")


def test_a_key_declared_in_both_files_is_refused_naming_both(tmp_path: Path) -> None:
    _write_routes(tmp_path, "staging", "# the staging routes\nroutes: []\n")
    with pytest.raises(SettingsError) as raised:
        settings_of("staging", _config("staging"), tmp_path)
    (problem,) = raised.value.problems
    assert problem.startswith("routes/staging.yaml:2: routes is declared here and in Pulumi.staging.yaml too")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("routes: []\naws: {}\n", "routes/staging.yaml:2: 'aws' is not a routes-file key"),
        ("routes:\n  - name: [\n", "routes/staging.yaml:3: not valid YAML"),
        ("- routes\n", "routes/staging.yaml: must be a mapping with the keys routes, routingTests, routingCoverage"),
    ],
)
def test_a_routes_file_that_cannot_be_read_is_named(tmp_path: Path, text: str, problem: str) -> None:
    _write_routes(tmp_path, "staging", text)
    config = {key: value for key, value in _config("staging").items() if key not in ROUTES_FILE_KEYS}
    with pytest.raises(SettingsError) as raised:
        settings_of("staging", config, tmp_path)
    assert raised.value.problems[0].startswith(problem)


def test_the_other_stacks_routes_file_is_read_for_ownership(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _move(project, "staging")
    staging_route = yaml.safe_load((project / "routes" / "staging.yaml").read_text())["routes"][0]["name"]
    production = settings_of("production", _config("production", project), project)
    taken = [*production.routes, type(production.routes[0])(name=staging_route, key="x", sources=())]

    declared = declared_elsewhere("production", PROJECT, production.routes, project)
    assert {item.name for item in declared} == {staging_route}  # read from routes/staging.yaml
    with pytest.raises(OwnershipError) as raised:
        declared_elsewhere("production", PROJECT, taken, project)
    assert "take it out of routes/staging.yaml in the same change" in raised.value.problems[0]
