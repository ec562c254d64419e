"""Fixtures of the end-to-end tests: the CLI, a configured project, and per-test workspaces with an emulator."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CANARY_API_KEY, CANARY_TOKEN_PREFIX
from tests.e2e.harness import Workspace
from tests.emulator import running_emulator
from tests.emulator.seed import seed_directory, seed_runbook
from tests.emulator.state import EmulatorState

# The base URL the emulated sources' alert event URLs carry (what the stack outputs show).
SOURCES_BASE_URL = "https://api.incident.io"


@pytest.fixture(scope="session")
def configured_project(pulumi_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Both stacks initialised and configured with the CLI once per session (the API key with `config set
    --secret`, the SET-ME values with `config set --path`); each test works on a copy."""
    # The canary key: what the tests' emulators accept, and what must never show anywhere.
    return Workspace.create(tmp_path_factory.mktemp("configured-project"), pulumi_cli, api_key=CANARY_API_KEY)


def leaked_credentials(workspace: Workspace) -> list[str]:
    """Where the API key or a source token shows in plain text: CLI output, state, stack files, stand-in log."""
    texts = {
        f"output of command {index} ({' '.join(run.command)})": run.output for index, run in enumerate(workspace.runs)
    }
    texts.update({str(path): path.read_text(errors="replace") for path in workspace.state_files()})
    texts.update({str(path): path.read_text() for path in workspace.project.glob("Pulumi.*.yaml")})
    if workspace.log.exists():
        texts[str(workspace.log)] = workspace.log.read_text()
    return [where for where, text in texts.items() if CANARY_API_KEY in text or CANARY_TOKEN_PREFIX in text]


Seed = Callable[..., object]


@contextlib.contextmanager
def workspace_with(template: Workspace, root: Path, seed: Seed, *, org_migrated: bool = True) -> Iterator[Workspace]:
    """A copy of the configured project against an emulated org seeded by `seed`, on incident.io's new alert
    grouping engine (the emulator's default) or, with `org_migrated=False`, not yet."""
    with running_emulator(api_key=CANARY_API_KEY, org_migrated=org_migrated) as emulator:
        seed(emulator.state, base_url=SOURCES_BASE_URL, token_prefix=CANARY_TOKEN_PREFIX)
        workspace = template.copy_to(root, emulator)
        yield workspace
        # What each command cost (shown with `pytest -s`, or with a failure): the suite's time is these.
        for run in workspace.runs:
            print(f"{run.seconds:5.1f}s {' '.join(run.command)}")
        # Every test, whatever it checks, also checks that no credential reached a user-visible place.
        assert leaked_credentials(workspace) == []


@pytest.fixture
def empty_org(configured_project: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    """An org with the sources, alert attributes and escalation path the stacks name, and no route."""
    with workspace_with(configured_project, tmp_path / "workspace", seed_directory) as workspace:
        yield workspace


@pytest.fixture
def empty_org_not_migrated(configured_project: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    """`empty_org` in an org not yet on incident.io's new alert grouping engine (/v3/alert_routes answers 403)."""
    with workspace_with(configured_project, tmp_path / "workspace", seed_directory, org_migrated=False) as workspace:
        yield workspace


@pytest.fixture
def todays_org(configured_project: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    """The org as it is today: the runbook's six routes live, the stack files without ids."""
    with workspace_with(configured_project, tmp_path / "workspace", seed_runbook) as workspace:
        yield workspace


def emulator_state(workspace: Workspace) -> EmulatorState:
    assert workspace.emulator is not None
    return workspace.emulator.state
