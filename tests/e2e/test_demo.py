"""README's first command, `./scripts/demo.sh`, run as a newcomer runs it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.e2e.demo import API_KEY
from tests.e2e.harness import ROOT

DEMO = ROOT / "scripts" / "demo.sh"
STEPS = ("1/3", "2/3", "3/3")


def run_demo(*args: str, demo_dir: Path) -> subprocess.CompletedProcess[str]:
    # DEMO_DIR keeps the test's workspace out of the repository's .cache/demo/.
    return subprocess.run(  # noqa: S603 - our own script
        [str(DEMO), *args],
        env={**os.environ, "DEMO_DIR": str(demo_dir)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_demo_runs_the_workflow_on_stand_ins_and_says_what_it_did(tmp_path: Path) -> None:
    demo = run_demo("staging", demo_dir=tmp_path / "demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    steps = [line for line in demo.stdout.splitlines() if line.startswith("==> ")]
    # Each step's heading names the command that runs under it.
    numbered = [(step, demo.stdout.split(step, 1)[1].splitlines()[1]) for step in steps if step[4:7] in STEPS]
    assert [step[4:7] for step, _ in numbered] == list(STEPS)
    for heading, command in numbered:
        shown = heading[8:].split(":")[0]
        assert command.startswith(f"$ pulumi {shown} "), (heading, command)
        # and no flag it mentions anywhere (`--diff: its adopt_id`) is missing from the command
        assert set(re.findall(r"--[\w-]+", heading)) <= set(command.split()), (heading, command)
    assert "$ pulumi config set --path aws.accountId 123456789012" in demo.stdout, (
        "the SET-ME values, as docs/configuration.md"
    )
    # The key from stdin, never on a command line; the stand-ins installed as plugins, so no warning about them.
    assert (
        "$ pulumi config set --secret incidentio:apiKey --non-interactive --stack staging   (the value on stdin)"
        in (demo.stdout)
    )
    assert API_KEY not in demo.stdout + demo.stderr
    # The stand-in plugins are installed as plugins: the CLI warns about none of them. Only the stand-in language
    # host, where the CLI has no real one, is found on PATH, and the demo says so once.
    warned = {line.split("from $PATH")[0].split()[-1] for line in demo.stdout.splitlines() if "from $PATH" in line}
    if "Python language host: the real one" in demo.stdout:
        assert warned == set()
    else:
        assert "Python language host: the stand-in" in demo.stdout
        assert warned == {"pulumi-language-python"} and "that is this stand-in" in demo.stdout
    assert "==> summary (staging): 1 route adopted with 0 writes to incident.io" in demo.stdout
    assert "Staging Notifications (" in demo.stdout
    assert (tmp_path / "demo" / "workspace" / "state").is_dir(), "its state is kept for a look afterwards"


def test_the_demo_says_what_it_uses_and_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    shown = run_demo("--help", demo_dir=tmp_path / "demo")
    assert shown.returncode == 0 and "only local stand-ins, never a real account" in shown.stdout
    refused = run_demo("prod", demo_dir=tmp_path / "demo")
    assert refused.returncode == 2 and "usage: ./scripts/demo.sh" in refused.stderr
    assert not (tmp_path / "demo").exists()
