"""An API that stops answering, through the real CLI: `pulumi refresh`, the pull request's preview and the
deploy end within seconds of the first timeouts, with a message that names the API URL setting and what was
seen, instead of retrying every route for hours (docs/configuration.md, "When incident.io does not answer").

Every request stalls past a shortened read timeout (INCIDENT_IO_READ_TIMEOUT, a setting users have too); the
emulator's request log shows how many attempts were made.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from providers.http import MAX_TIMED_OUT_ATTEMPTS, READ_TIMEOUT_ENV
from tests.e2e.conftest import emulator_state
from tests.e2e.harness import Mark, Workspace, configure_routes, generated_routes
from tests.emulator import Fault
from tests.workflows import pulumi_command, step, workflow

STACK = "production"
# More routes than the 4 reads the dynamic provider host makes at once.
ROUTES = 12
READ_TIMEOUT = "1"
STALL_SECONDS = 8.0  # how long the emulator holds each request: well past the read timeout


@pytest.fixture
def stalled(empty_org: Workspace) -> Workspace:
    """The stack with ROUTES routes, created; then every request to the API stalls."""
    workspace = empty_org
    production: dict[str, Any] = {}
    workspace.edit_config(STACK, production.update)
    configure_routes(workspace, STACK, generated_routes(ROUTES), production)
    workspace.up(STACK, "--skip-preview")
    assert len(emulator_state(workspace).routes) == ROUTES
    assert workspace.emulator is not None
    for method in ("GET", "POST", "PUT", "DELETE"):
        workspace.emulator.inject(Fault(method, ".*", times=100_000, delay=STALL_SECONDS))
    workspace.extra_env[READ_TIMEOUT_ENV] = READ_TIMEOUT
    return workspace


def route_reads_since(workspace: Workspace, mark: Mark) -> Counter[str]:
    return Counter(
        path
        for method, path in workspace.requests_since(mark)
        if method == "GET" and path.startswith("/v2/alert_routes/")
    )


def workflow_command(workflow_name: str, job: str, step_name: str) -> list[str]:
    return pulumi_command(step(workflow(workflow_name)["jobs"][job], step_name), {"STACK": STACK})[1:]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["refresh", "--yes", "--stack", STACK], id="pulumi-refresh"),
        pytest.param(workflow_command("preview", "preview", "pulumi preview"), id="pull-request-preview"),
        pytest.param(workflow_command("deploy", STACK, "pulumi up"), id="deploy"),
    ],
)
def test_a_stalled_api_ends_the_run_after_a_few_timeouts_saying_which_setting_to_check(
    stalled: Workspace, command: list[str]
) -> None:
    workspace = stalled
    assert workspace.emulator is not None
    before = workspace.mark()
    run = workspace.pulumi(*command, expect=None)
    assert run.returncode != 0

    # The reads that were sent: each at most twice, and only those the host had started before three of
    # them had timed out; the rest of the routes were never asked for.
    reads = route_reads_since(workspace, before)
    assert reads and max(reads.values()) <= MAX_TIMED_OUT_ATTEMPTS
    assert len(reads) <= ROUTES // 2
    assert [request for request in workspace.requests_since(before) if request[0] != "GET"] == []

    # What the user reads: those calls timed out, and every other one was not sent, with the setting to check.
    text = run.text
    assert f"no answer from {workspace.emulator.url} (no answer within {READ_TIMEOUT} s), also after retrying" in text
    assert f"requests timed out (no answer within {READ_TIMEOUT} s) at {workspace.emulator.url} in this run" in text
    assert "so no more are sent. Check INCIDENT_IO_API_URL and that incident.io is reachable from here" in text
