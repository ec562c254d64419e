"""README's "Day one: change a route", run as written: every block marked `<!-- day-one ... -->`, in order, in one
shell, in a copy of this checkout (the walkthrough edits a stack file and starts a sandbox in .cache/sandbox/).
A `diff` block is the edit a person makes in their editor: its `-` and context lines must be in the file exactly
once, and become its `+` and context lines. What the README says each step shows is checked in the output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, SCRUBBED_PREFIXES

BLOCK = re.compile(r"<!-- day-one(?P<marker>[^>]*)-->\n```(?P<kind>bash|diff)\n(?P<text>.*?)\n```", re.DOTALL)
EDITS = re.compile(r":\s*edits\s+(?P<file>\S+)")
# What the walkthrough's prose says the commands show.
SAID = (
    "Production Warnings: slack alerts",
    "routing tests: 13 of 13 pass",
    "~ 1 to update",
    '+ literal: "error"',
    "1 alert changes where it goes",
    "| `source=alertmanager severity=error` | *nowhere* | Production Warnings: slack alerts |",
    "~ 1 updated",
    "enabled          : false => true",
)


def apply_edit(text: str, diff: str) -> str:
    """A diff without line numbers, hunks apart by `@@` lines: each hunk's old text, found once, becomes its new."""
    for hunk in re.split(r"^@@.*\n", diff + "\n", flags=re.MULTILINE):
        lines = hunk.splitlines()
        old = "".join(f"{line[1:]}\n" for line in lines if line[:1] in (" ", "-"))
        new = "".join(f"{line[1:]}\n" for line in lines if line[:1] in (" ", "+"))
        assert text.count(old) == 1, f"the README's edit does not fit the stack file; this should be there once:\n{old}"
        text = text.replace(old, new)
    return text


def walkthrough(readme: str, checkout: Path) -> str:
    """The marked blocks as one bash script; each edit prepared beside the checkout and copied in at its place."""
    script = ["set -eo pipefail"]
    for index, block in enumerate(BLOCK.finditer(readme)):
        if block["kind"] == "bash":
            script.append(block["text"])
            continue
        edits = EDITS.search(block["marker"])
        assert edits, f"the README's diff block {index} does not say which file it edits"
        target = checkout / edits["file"]
        edited = checkout.parent / f"edit-{index}"
        edited.write_text(apply_edit(target.read_text(), block["text"]))
        script.append(f"cp {edited} {edits['file']}   # the edit of README's block {index}")
    return "\n".join(script) + "\n"


def copy_of_checkout(destination: Path) -> Path:
    """What a clone holds (tracked files, and new ones not ignored), with .venv pointing at this one's."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    return destination


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    copy = copy_of_checkout(tmp_path / "checkout")
    yield copy
    subprocess.run(  # noqa: S603 - the copy's own script
        [str(copy / "scripts" / "sandbox.sh"), "down"], cwd=copy, capture_output=True, timeout=120, check=False
    )


def test_the_day_one_walkthrough_works_as_written_in_the_sandbox(checkout: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    script = walkthrough(readme, checkout)
    assert script.count("./scripts/pulumi.sh") >= 6, "the walkthrough's blocks were found"
    # A shell as a newcomer has it: none of this machine's Pulumi, incident.io or cloud settings. The CLI that
    # scripts/pulumi-cli.sh built for this checkout is reused (the copy's go.mod is the same).
    env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES)}
    env = {key: value for key, value in env.items() if key not in ("ALERT_ROUTING_SANDBOX", "SANDBOX_DIR")}
    env["PULUMI_CLI_CACHE"] = str(ROOT / ".cache" / "pulumi-cli")
    result = subprocess.run(  # noqa: S603 - the README's own commands
        ["bash", "-c", script],  # noqa: S607 - bash from PATH
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert [said for said in SAID if said not in output] == [], output
    assert (checkout / "Pulumi.production.yaml").read_text() != (ROOT / "Pulumi.production.yaml").read_text()
