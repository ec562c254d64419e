"""`./scripts/sandbox.sh`, run as a newcomer runs it: one emulator however often `up` runs, the real workflow in
it through ./scripts/pulumi.sh once its environment is sourced (your stack files never written), a dashboard edit
seen as drift, `down` by its pid, `up` resuming the org, `reset` starting over."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, SCRUBBED_PREFIXES

SANDBOX = ROOT / "scripts" / "sandbox.sh"
STACK_FILES = ("Pulumi.production.yaml", "Pulumi.staging.yaml")


class SandboxUser:
    """Someone at a shell in this checkout, with the sandbox in a directory of the test's own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # None of this machine's Pulumi, incident.io or cloud settings, as in a newcomer's shell.
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES)}
        self.env.pop("ALERT_ROUTING_SANDBOX", None)
        self.env["SANDBOX_DIR"] = str(directory)

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        """A bash script, from the checkout's root."""
        return subprocess.run(  # noqa: S603 - our own commands
            ["bash", "-c", f"set -uo pipefail\n{script}"],  # noqa: S607 - bash from PATH
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def in_sandbox(self, command: str) -> subprocess.CompletedProcess[str]:
        """A command in a shell that sourced the sandbox's environment."""
        return self.run(f"source {self.directory / 'env'}\n{command}")

    def emulators(self) -> list[int]:
        """The processes serving this sandbox's emulator."""
        listed = subprocess.run(
            ["ps", "-ww", "-eo", "pid=,command="],  # noqa: S607 - ps from PATH
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        marker = f"tests.sandbox --dir {self.directory} serve"
        return [int(line.split()[0]) for line in listed.splitlines() if marker in line]


@pytest.fixture
def user(tmp_path: Path) -> Iterator[SandboxUser]:
    person = SandboxUser(tmp_path / "sandbox")
    yield person
    person.run(f"{SANDBOX} down")
    assert person.emulators() == [], "the test stops what it started"


def test_one_sandbox_runs_the_workflow_until_down_then_resumes_or_starts_over(user: SandboxUser) -> None:
    stack_files = {name: (ROOT / name).read_bytes() for name in STACK_FILES}

    up = user.run(f"{SANDBOX} up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "today's org" in up.stdout and "export INCIDENT_IO_API_URL=http://127.0.0.1:" in up.stdout
    (pid,) = user.emulators()
    again = user.run(f"{SANDBOX} up")
    assert again.returncode == 0 and "already up" in again.stdout
    assert user.emulators() == [pid], "a second `up` starts no second emulator"

    # Deployed as production is today: nothing to change, through the README's command.
    preview = user.in_sandbox("./scripts/pulumi.sh production preview --diff --expect-no-changes")
    assert preview.returncode == 0, up.stdout + up.stderr + preview.stdout + preview.stderr
    # Someone disables a route in the dashboard: a preview with a refresh shows it, as the PR preview would.
    disabled = user.run(f'{SANDBOX} dashboard disable "Production Warnings"')
    assert disabled.returncode == 0 and "enabled true -> false" in disabled.stdout, disabled.stderr
    drift = user.in_sandbox("./scripts/pulumi.sh production preview --refresh --diff --expect-no-changes")
    assert drift.returncode != 0 and "enabled          : false => true" in drift.stdout, drift.stdout + drift.stderr
    # The stack's config is the stack file: `config set` would change a copy, so it is refused.
    config = user.in_sandbox("./scripts/pulumi.sh production config set --path slackChannels.alerts C0OTHER")
    assert config.returncode == 1 and "edit Pulumi.production.yaml instead" in config.stderr

    down = user.run(f"{SANDBOX} down")
    assert down.returncode == 0 and f"pid {pid}" in down.stdout and user.emulators() == []
    stopped = user.in_sandbox("./scripts/pulumi.sh production preview")
    assert stopped.returncode == 1 and "which is down" in stopped.stderr

    resumed = user.run(f"{SANDBOX} up")
    assert resumed.returncode == 0 and "the org as you left it" in resumed.stdout, resumed.stderr
    listed = user.run(f"{SANDBOX} dashboard list")
    assert "Production Warnings  (disabled, version 2)" in listed.stdout, listed.stdout + listed.stderr

    reset = user.run(f"{SANDBOX} reset")
    assert reset.returncode == 0 and "deleted the sandbox" in reset.stdout and "today's org" in reset.stdout
    assert len(user.emulators()) == 1
    listed = user.run(f"{SANDBOX} dashboard list")
    assert "Production Warnings  (enabled, version 1)" in listed.stdout, listed.stdout + listed.stderr

    assert {name: (ROOT / name).read_bytes() for name in STACK_FILES} == stack_files, "stack files never written"
